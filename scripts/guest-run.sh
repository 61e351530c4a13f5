#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest (started by vm.sh): prepares debugfs/kmemleak, runs the
# command with NF_RESULTS set, then saves its exit status, dmesg and kmemleak
# report into the results dir shared with the host.
RUN=$1
shift
export NF_RESULTS=$RUN
rm -f /tmp/nf-ctl-seq # host_do request counter, per boot
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
# Live copy of the kernel log on the shared results dir: the host's stall
# watchdog (vm.sh) reads it, and it survives a guest that never finishes.
cat /dev/kmsg >"$RUN/kmsg.txt" 2>/dev/null &
(while sleep 5; do date +%s >"$RUN/heartbeat"; done) &
KML=/sys/kernel/debug/kmemleak
if [ -w $KML ]; then
	echo scan >$KML
	echo clear >$KML # boot-time suspects are not ours
fi
"$@" >"$RUN/output.txt" 2>&1 </dev/null
rc=$?
if [ -w $KML ]; then
	echo scan >$KML
	sleep 6
	echo scan >$KML
	cat $KML >"$RUN/kmemleak.txt"
fi
dmesg >"$RUN/dmesg.txt"
echo "$rc" >"$RUN/rc.tmp" && mv "$RUN/rc.tmp" "$RUN/rc"
sync
