#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fail (exit 1) if a guest run's kernel log or kmemleak report shows a kernel
# splat or a leak. Usage: check-dmesg.sh RESULTS_DIR
#
# The log read is the guest's live copy kmsg.txt (guest-run.sh: every record
# from boot on, however far the ring buffer wrapped), once it holds the
# guest's end-of-run line; else the end-of-run dmesg.txt (which may have lost
# its beginning), said so on stderr.
. "$(dirname "$0")/lib/common.sh"
RUN=$1
bad='WARNING:|BUG:|KASAN|UBSAN|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|refcount_t:|ref_tracker:|leaked reference|unregister_netdevice: waiting for|Call Trace:|Kernel panic|Oops|detected stall|NETDEV WATCHDOG|nf_kmsg_copy: kernel log records lost'
fail=0
log_in=$RUN/klog.txt
if [ -s "$RUN/kmsg.txt" ] && grep -q ';nf_guest_run: end of run' "$RUN/kmsg.txt"; then
	# "prio,seq,usec,flags;text" -> "[sec.usec] text"; continuation lines
	# (" KEY=value" device properties) dropped
	awk '/^[0-9]+,[0-9]+,[0-9]+,[^;]*;/ {
		i = index($0, ";"); split(substr($0, 1, i - 1), h, ",")
		printf "[%5d.%06d] %s\n", int(h[3] / 1000000), h[3] % 1000000, substr($0, i + 1)
	}' "$RUN/kmsg.txt" >"$log_in"
	src=kmsg.txt
elif [ -s "$RUN/dmesg.txt" ]; then
	echo "check-dmesg: no complete live copy (kmsg.txt); checking the end-of-run dmesg.txt" >&2
	cp "$RUN/dmesg.txt" "$log_in"
	src=dmesg.txt
else
	echo "check-dmesg: no kernel log saved" >&2
	exit 1
fi
dmesg=$log_in
# An RCU stall report (with its NMI backtraces) is a host-side stall, not a
# kernel splat, when vm.sh's stall watchdog answered it with a QEMU stop/cont
# that revived the guest: a kick in kicks.txt whose rcu_reports count (stall
# reports seen in kmsg.txt when it kicked) includes it. Reports no kick
# followed stay, as does everything else.
if [ -s "$RUN/kicks.txt" ] && [ "$src" = kmsg.txt ]; then
	covered=$(sed -n 's/.* rcu_reports=\([0-9][0-9]*\).*/\1/p' "$RUN/kicks.txt" | sort -n | tail -1)
	covered=${covered:-0}
	dmesg=$RUN/klog-nostall.txt
	awk -v stall="^$RCU_STALL_RE" -v covered="$covered" '
		{ line = $0; sub(/^\[ *[0-9.]+\] /, "", line) }
		line ~ stall { n++; if (n <= covered) { skip = 1; next } }
		skip && line ~ /^(rcu: |Sending NMI|NMI backtrace|INFO: NMI handler|CPU: |Tainted: |Hardware name|RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R10: |R13: |FS: |CS: |CR2: |PKRU: |Call Trace:|Task dump|task:| *<\/?(TASK|IRQ|NMI)>| \? | [A-Za-z0-9_.]+\+0x)/ { next }
		{ skip = 0; print }
	' "$log_in" >"$dmesg"
	total=$(grep -cE "$RCU_STALL_RE" "$log_in")
	echo "check-dmesg: RCU stall reports: $total, of which $((covered < total ? covered : total)) followed by a watchdog stop/cont (kicks.txt) and ignored" >&2
fi
if grep -E "$bad" "$dmesg" >"$RUN/splats.txt"; then
	echo "check-dmesg: kernel splat in the guest's kernel log ($RUN/$src):" >&2
	head -20 "$RUN/splats.txt" >&2
	fail=1
fi
if [ -s "$RUN/kmemleak.txt" ] && grep -q 'unreferenced object' "$RUN/kmemleak.txt"; then
	echo "check-dmesg: kmemleak reports leaks ($RUN/kmemleak.txt):" >&2
	head -30 "$RUN/kmemleak.txt" >&2
	fail=1
fi
[ $fail = 0 ] && echo "check-dmesg: kernel log clean ($src, $(wc -l <"$dmesg") lines), no kmemleak report" >&2
exit $fail
