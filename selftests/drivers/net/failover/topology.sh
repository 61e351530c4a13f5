#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 1: the 3-netdev topology is found by role and looks right from
# sysfs, iproute2 and ethtool.
#
# Cases that SKIP with the C reference (NF_MODULE=c):
#   ethtool_bus_info   C fills only driver/version in get_drvinfo (no bus-info)
# C fails master_carrier_follows_slaves (no ping with the primary admin-down:
# it drops standby rx while a primary is registered) and dmesg_clean (lockdep:
# its stats_lock is never initialised).

ALL_TESTS="
	roles_found
	sysfs_links
	parents_and_drivers
	mac_addresses
	no_addrconf_on_slaves
	master_flags
	module_identity
	ethtool_drvinfo
	ethtool_bus_info
	ethtool_link
	master_carrier_follows_slaves
	master_down_closes_lowers
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

roles_found()
{
	[ -n "$NF_M" ]
	nf_check_err $? "no failover master"
	[ -n "$NF_SBY" ]
	nf_check_err $? "no standby lower"
	[ -n "$NF_PRI" ]
	nf_check_err $? "no primary lower"
	[ "$NF_M" != "$NF_SBY" ] && [ "$NF_M" != "$NF_PRI" ] && [ "$NF_SBY" != "$NF_PRI" ]
	nf_check_err $? "roles not distinct: $(nf_roles)"
	nf_check_eq "number of lowers of $NF_M" "$(nf_lowers "$NF_M" | wc -l)" 2
	nf_check_eq "standby phys_port_name" "$(cat "/sys/class/net/$NF_SBY/phys_port_name" 2> /dev/null)" sby
	nf_log_test
}

sysfs_links()
{
	local s
	for s in "$NF_SBY" "$NF_PRI"; do
		[ -L "/sys/class/net/$NF_M/lower_$s" ]
		nf_check_err $? "/sys/class/net/$NF_M/lower_$s missing"
		nf_check_eq "$s master link" "$(nf_master_of "$s")" "$NF_M"
		[ -L "/sys/class/net/$s/upper_$NF_M" ]
		nf_check_err $? "/sys/class/net/$s/upper_$NF_M missing"
		ip -d link show dev "$s" | grep -q "master $NF_M "
		nf_check_err $? "ip -d link show $s does not name master $NF_M"
	done
	# the master itself has no upper
	! ls -d /sys/class/net/"$NF_M"/upper_* > /dev/null 2>&1
	nf_check_err $? "$NF_M has an upper device"
	nf_log_test
}

parents_and_drivers()
{
	local mdev sdev
	nf_check_eq "master device/driver" "$(nf_driver_of "$NF_M")" virtio_net
	mdev=$(readlink -f "/sys/class/net/$NF_M/device")
	sdev=$(readlink -f "/sys/class/net/$NF_SBY/device")
	[ -n "$mdev" ] && [ "$mdev" = "$sdev" ]
	nf_check_err $? "master and standby parents differ ($mdev vs $sdev)"
	nf_check_eq "master parent bus" "$(basename "$(readlink -f "$mdev/subsystem")")" virtio
	nf_pci_of "$NF_PRI" > /dev/null
	nf_check_err $? "primary $NF_PRI is not on a PCI device"
	nf_check_eq "primary PCI function" "$(nf_pci_of "$NF_PRI")" "$(nf_e1000e_bdf)"
	nf_check_eq "primary driver" "$(nf_driver_of "$NF_PRI")" e1000e
	nf_log_test
}

mac_addresses()
{
	local d want
	want=$(echo "$NF_MAC" | tr 'A-F' 'a-f')
	for d in "$NF_M" "$NF_SBY" "$NF_PRI"; do
		nf_check_eq "$d address" "$(nf_mac "$d")" "$want"
	done
	for d in "$NF_SBY" "$NF_PRI"; do
		nf_check_eq "$d permanent address" \
			"$(ethtool -P "$d" 2> /dev/null | awk '{print tolower($3)}')" "$want"
	done
	nf_log_test
}

no_addrconf_on_slaves()
{
	local s n
	for s in "$NF_SBY" "$NF_PRI"; do
		n=$(ip -6 -o addr show dev "$s" | wc -l)
		nf_check_eq "IPv6 addresses on $s (IFF_NO_ADDRCONF)" "$n" 0
		n=$(ip -4 -o addr show dev "$s" | wc -l)
		nf_check_eq "IPv4 addresses on $s" "$n" 0
	done
	ip -6 -o addr show dev "$NF_M" scope link | grep -q fe80
	nf_check_err $? "master $NF_M has no IPv6 link-local address"
	nf_log_test
}

txq() { local q n=0; for q in /sys/class/net/"$1"/queues/tx-*; do [ -e "$q" ] && n=$((n + 1)); done; echo "$n"; }

master_flags()
{
	nf_check_eq "master qdisc (IFF_NO_QUEUE)" "$(nf_link_field "$NF_M" qdisc)" noqueue
	nf_check_eq "master operstate" "$(cat "/sys/class/net/$NF_M/operstate")" up
	nf_check_eq "master carrier" "$(nf_carrier "$NF_M")" 1
	nf_check_eq "master type" "$(cat "/sys/class/net/$NF_M/type")" 1
	nf_is_up "$NF_SBY" && nf_is_up "$NF_PRI"
	nf_check_err $? "slaves not UP with the master"
	nf_diag "tx queues: master $(txq "$NF_M"), primary $(txq "$NF_PRI"), standby $(txq "$NF_SBY")"
	nf_log_test
}

module_identity()
{
	[ -d /sys/module/net_failover ]
	nf_check_err $? "net_failover module not loaded"
	if [ "$NF_MODULE" = c ]; then
		[ -d /sys/module/failover ]
		nf_check_err $? "C reference: failover module not loaded"
	else
		# the Rust module is self-contained: the C failover core is not used
		[ ! -d /sys/module/failover ]
		nf_check_err $? "failover (C core) module is loaded with the Rust net_failover"
	fi
	nf_diag "net_failover: $(modinfo -F description net_failover 2> /dev/null | head -n1)"
	nf_log_test
}

ethtool_drvinfo()
{
	nf_check_eq "master ethtool driver" "$(nf_ethtool_field "$NF_M" driver)" net_failover
	[ -n "$(nf_ethtool_field "$NF_M" version)" ]
	nf_check_err $? "master ethtool version empty"
	nf_check_eq "standby ethtool driver" "$(nf_ethtool_field "$NF_SBY" driver)" virtio_net
	nf_check_eq "primary ethtool driver" "$(nf_ethtool_field "$NF_PRI" driver)" e1000e
	nf_log_test
}

ethtool_bus_info()
{
	nf_skip_if_c "bus-info in ethtool drvinfo" && return
	local bi
	bi=$(nf_ethtool_field "$NF_M" bus-info)
	nf_diag "master bus-info: '$bi'"
	[ -n "$bi" ]
	nf_check_err $? "master ethtool bus-info empty"
	nf_log_test
}

ethtool_link()
{
	local ms ps
	ethtool "$NF_M" | grep -q "Link detected: yes"
	nf_check_err $? "ethtool $NF_M: link not detected"
	ms=$(ethtool "$NF_M" 2> /dev/null | sed -n 's/^[[:space:]]*Speed: //p')
	ps=$(ethtool "$NF_PRI" 2> /dev/null | sed -n 's/^[[:space:]]*Speed: //p')
	nf_diag "speed: master '$ms' primary '$ps'"
	nf_check_eq "master speed (active slave = primary)" "$ms" "$ps"
	# with the primary down the master reports the standby's settings (the
	# runner gives the standby 10000 Mb/s, the e1000e has 1000: a master
	# that kept reporting the primary, or nothing, would differ)
	ip link set dev "$NF_PRI" down
	nf_defer ip link set dev "$NF_PRI" up
	ms=$(ethtool "$NF_M" 2> /dev/null | sed -n 's/^[[:space:]]*Speed: //p')
	ps=$(ethtool "$NF_SBY" 2> /dev/null | sed -n 's/^[[:space:]]*Speed: //p')
	nf_diag "speed with the primary down: master '$ms' standby '$ps'"
	[[ "$ps" == *Mb/s ]]
	nf_check_err $? "the standby reports no speed ('$ps'): the case cannot tell it from the primary"
	nf_check_eq "master speed with primary down (= standby)" "$ms" "$ps"
	nf_log_test
}

# as in C: the master's ndo_stop closes both lower devices and its ndo_open
# opens them again (an admin who sets the master down takes the guest off
# the network through both paths)
master_down_closes_lowers()
{
	local d
	nf_defer ip link set dev "$NF_M" up
	# the master loses its IPv6 address while down (keep_addr_on_down 0);
	# the next bring-up restores it too (nf_bringup_done checks it)
	[ -z "${NF_ADDR6:-}" ] || nf_defer ip -6 addr replace "$NF_ADDR6/64" dev "$NF_M" nodad
	ip link set dev "$NF_M" down
	nf_check_err $? "ip link set $NF_M down failed"
	for d in "$NF_PRI" "$NF_SBY"; do
		nf_check_eq "$d admin up with the master down" "$(nf_admin_up "$d")" 0
	done
	ip link set dev "$NF_M" up
	nf_check_err $? "ip link set $NF_M up failed"
	for d in "$NF_PRI" "$NF_SBY"; do
		nf_check_eq "$d admin up with the master up again" "$(nf_admin_up "$d")" 1
	done
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master without carrier after up"
	if nf_host_ctl; then
		# the primary's link watcher has run (operstate up) and, for
		# ours, the master sends through it (ethtool -S tx_path 2)
		_pri_carries() {
			[ "$(nf_read "/sys/class/net/$NF_PRI/operstate")" = up ] || return 1
			[ "${NF_MODULE:-rust}" = c ] ||
				ethtool -S "$NF_M" 2> /dev/null | grep -qE '^ *tx_path: 2$'
		}
		nf_wait "$NF_TIMEOUT" _pri_carries
		nf_check_err $? "the primary does not carry again after the master came up"
		nf_carried_by primary
	else
		nf_ping_peer 3
		nf_check_err $? "no ping after the master came up again"
	fi
	nf_log_test
}

master_carrier_follows_slaves()
{
	nf_defer ip link set dev "$NF_SBY" up
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master lost carrier with the standby still up"
	nf_ping_peer 3
	nf_check_err $? "no ping with the primary down"
	ip link set dev "$NF_SBY" down
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 0
	nf_check_err $? "master keeps carrier with both slaves down"
	ip link set dev "$NF_SBY" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master carrier not back with the standby up"
	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "primary carrier not back"
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping after restoring both slaves"
	nf_log_test
}

nf_main
