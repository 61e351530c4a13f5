#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the migration rig's initramfs (scripts/mk-initramfs.sh): mount the
# kernel file systems, load the failover modules in dependency order (no
# udev here: each driver before its device appears; the primary is hot-added
# once virtio_net has negotiated STANDBY), then serve the host's requests
# (/nf/agent.sh) until the host quits QEMU. Everything the guest uses is in
# guest RAM, so it migrates (tests/migration/DESIGN.md).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
exec </dev/console >/dev/console 2>&1
# the kernel log stamps the boot-time enslave latency's start (migrig.py)
echo "nf-init: loading modules $(cat /lib/nf/order)" >/dev/kmsg
for m in $(cat /lib/nf/order); do
	insmod "/lib/nf/$m" || echo "nf-init: insmod $m failed"
done
echo "nf-init: modules loaded" >/dev/kmsg
ip link set lo up
/nf/agent.sh
echo "nf-init: the agent ended ($?)"
poweroff -f
