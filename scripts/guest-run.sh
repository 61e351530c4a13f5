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
# watchdog (vm.sh) reads it, check-dmesg.sh and the selftests' dmesg checks
# read it (complete, unlike a ring buffer that wraps), and it survives a
# guest that never finishes. /dev/kmsg records as they are ("prio,seq,usec,
# flags;text"); when the reader falls behind the ring buffer (EPIPE) it goes
# on and writes a line saying so (check-dmesg.sh fails the run on it).
python3 -c '
import os, sys
fd = os.open("/dev/kmsg", os.O_RDONLY)
out = open(sys.argv[1], "ab", 0)
while True:
    try:
        out.write(os.read(fd, 65536))
    except BrokenPipeError:
        out.write(b"0,0,0,-;nf_kmsg_copy: kernel log records lost (ring buffer overrun)\n")
' "$RUN/kmsg.txt" 2>/dev/null &
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
# Everything logged so far reaches kmsg.txt before the run ends: check-dmesg.sh
# reads kmsg.txt only when it holds this line.
echo "nf_guest_run: end of run" >/dev/kmsg
for _ in $(seq 50); do
	grep -q ';nf_guest_run: end of run' "$RUN/kmsg.txt" 2>/dev/null && break
	sleep 0.2
done
dmesg >"$RUN/dmesg.txt"
echo "$rc" >"$RUN/rc.tmp" && mv "$RUN/rc.tmp" "$RUN/rc"
sync
