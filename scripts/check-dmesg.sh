#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fail (exit 1) if a guest run's dmesg or kmemleak report shows a kernel splat
# or a leak. Usage: check-dmesg.sh RESULTS_DIR
RUN=$1
bad='WARNING:|BUG:|KASAN|UBSAN|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|refcount_t:|ref_tracker:|leaked reference|unregister_netdevice: waiting for|Call Trace:|Kernel panic|Oops|detected stall|NETDEV WATCHDOG'
fail=0
if [ ! -s "$RUN/dmesg.txt" ]; then
	echo "check-dmesg: no dmesg saved" >&2
	exit 1
fi
if grep -E "$bad" "$RUN/dmesg.txt" >"$RUN/splats.txt"; then
	echo "check-dmesg: kernel splat in guest dmesg ($RUN/dmesg.txt):" >&2
	head -20 "$RUN/splats.txt" >&2
	fail=1
fi
if [ -s "$RUN/kmemleak.txt" ] && grep -q 'unreferenced object' "$RUN/kmemleak.txt"; then
	echo "check-dmesg: kmemleak reports leaks ($RUN/kmemleak.txt):" >&2
	head -30 "$RUN/kmemleak.txt" >&2
	fail=1
fi
[ $fail = 0 ] && echo "check-dmesg: dmesg clean ($(wc -l <"$RUN/dmesg.txt") lines), no kmemleak report" >&2
exit $fail
