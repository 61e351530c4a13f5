#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job, inside the guest (scripts/vm.sh runs it): bring up the
# failover topology with our Rust net_failover and show it working.
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../selftests/drivers/net/failover/lib.sh
. "$REPO/selftests/drivers/net/failover/lib.sh"
nf_load_env || { echo "demo: no topology.env (run through scripts/vm.sh)"; exit 1; }
step() { printf '\n=== %s\n' "$*"; }
# per-slave counters of the current roles; a device that has gone (the
# primary after its device_del) is not read
counters() {
	local d
	nf_discover
	for d in "$NF_M" "$NF_PRI" "$NF_SBY"; do
		[ -n "$d" ] && nf_dev_exists "$d" || continue
		printf '  %-8s tx_packets %-8s rx_packets %s\n' "$d" \
			"$(nf_stat "$d" tx_packets)" "$(nf_stat "$d" rx_packets)"
	done
}

step "PCI before virtio_net loads (QEMU hides the primary until STANDBY is negotiated)"
lspci -nn | grep -i ethernet
step "bring-up: modprobe virtio_net (pulls net_failover), e1000e after its hot-plug"
nf_bringup || { echo "demo: bring-up failed: $(nf_roles)"; exit 1; }
step "PCI after: the e1000e primary was hot-plugged"
lspci -nn | grep -i ethernet
step "modules: net_failover is ours (Rust), virtio_net depends on it"
lsmod | grep -E '^(net_failover|virtio_net|failover|e1000e) '
modinfo net_failover | grep -E '^(filename|description|author|license|depends):'
echo "  virtio_net depends: $(modinfo -F depends virtio_net)"
[ -d /sys/module/failover ] && echo "  (failover.ko is loaded)" || echo "  (C failover.ko is not loaded)"
step "roles: $(nf_roles)"
ip -d link show dev "$NF_M" | head -4
for d in "$NF_PRI" "$NF_SBY"; do ip -br link show dev "$d"; done
echo "  $NF_M device/driver: $(basename "$(readlink "/sys/class/net/$NF_M/device/driver")")"
ethtool -i "$NF_M" | head -3
step "traffic: 20 pings to the peer $NF_PEER4 go out through the primary"
counters
ping -c 20 -i 0.05 -q "$NF_PEER4" | tail -2
counters
step "live-migration path: QMP device_del of the primary while pinging"
ping -i 0.05 -c 200 -q "$NF_PEER4" >/tmp/demo-ping.txt &
sleep 1
host_do device_del "$NF_PRIMARY_QDEV" >/dev/null
wait
tail -2 /tmp/demo-ping.txt
nf_discover
echo "  roles now: $(nf_roles)"
counters
step "QMP device_add: the primary comes back and is enslaved again"
host_do device_add "$NF_PRIMARY_QDEV" >/dev/null
nf_bringup || { echo "demo: re-enslave failed: $(nf_roles)"; exit 1; }
echo "  roles now: $(nf_roles)"
ping -c 20 -i 0.05 -q "$NF_PEER4" | tail -2
counters
step "rename the primary while UP"
old=$NF_PRI
ip link set dev "$old" name vf0 && echo "  $old -> vf0: master is $(basename "$(readlink /sys/class/net/vf0/master)")"
ping -c 10 -i 0.05 -q "$NF_PEER4" | tail -1
ip link set dev vf0 name "$old"
step "kernel log of the driver"
dmesg | grep -E "$NF_M: |net_failover" | grep -v 'command line' | tail -20
