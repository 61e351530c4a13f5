#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fail (exit 1) if a guest run's dmesg or kmemleak report shows a kernel splat
# or a leak. Usage: check-dmesg.sh RESULTS_DIR
. "$(dirname "$0")/lib/common.sh"
RUN=$1
bad='WARNING:|BUG:|KASAN|UBSAN|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|refcount_t:|ref_tracker:|leaked reference|unregister_netdevice: waiting for|Call Trace:|Kernel panic|Oops|detected stall|NETDEV WATCHDOG'
fail=0
if [ ! -s "$RUN/dmesg.txt" ]; then
	echo "check-dmesg: no dmesg saved" >&2
	exit 1
fi
dmesg=$RUN/dmesg.txt
# An RCU stall report (with its NMI backtraces) that vm.sh's stall watchdog
# answered with a QEMU stop/cont that revived the guest is a host-side stall
# (kicks.txt), not a kernel splat: drop those reports, keep everything else.
if [ -s "$RUN/kicks.txt" ]; then
	dmesg=$RUN/dmesg-nostall.txt
	awk -v stall="^$RCU_STALL_RE" '
		{ line = $0; sub(/^\[ *[0-9.]+\] /, "", line) }
		line ~ stall { skip = 1; next }
		skip && line ~ /^(rcu: |Sending NMI|NMI backtrace|INFO: NMI handler|CPU: |Tainted: |Hardware name|RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R10: |R13: |FS: |CS: |CR2: |PKRU: |Call Trace:|Task dump|task:| *<\/?(TASK|IRQ|NMI)>| \? | [A-Za-z0-9_.]+\+0x)/ { next }
		{ skip = 0; print }
	' "$RUN/dmesg.txt" >"$dmesg"
	echo "check-dmesg: ignoring $(grep -cE "$RCU_STALL_RE" "$RUN/dmesg.txt") RCU stall report(s) resumed by stop/cont (kicks.txt)" >&2
fi
if grep -E "$bad" "$dmesg" >"$RUN/splats.txt"; then
	echo "check-dmesg: kernel splat in guest dmesg ($RUN/dmesg.txt):" >&2
	head -20 "$RUN/splats.txt" >&2
	fail=1
fi
if [ -s "$RUN/kmemleak.txt" ] && grep -q 'unreferenced object' "$RUN/kmemleak.txt"; then
	echo "check-dmesg: kmemleak reports leaks ($RUN/kmemleak.txt):" >&2
	head -30 "$RUN/kmemleak.txt" >&2
	fail=1
fi
[ $fail = 0 ] && echo "check-dmesg: dmesg clean ($(wc -l <"$dmesg") lines), no kmemleak report" >&2
exit $fail
