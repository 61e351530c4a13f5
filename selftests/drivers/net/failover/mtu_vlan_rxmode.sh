#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 8: MTU propagation, refusal and rollback; the MTU range follows the
# primary while present and the standby otherwise; VLAN on the master passes
# traffic through either slave (the slaves filter VLANs in QEMU, so the vid
# must have reached them), also for a primary that joins later; uc/mc address
# lists and promisc/allmulti reach both slaves.
#
# Cases that SKIP with the C reference (NF_MODULE=c):
#   promisc_propagates    C has no ndo_change_rx_flags
#   allmulti_propagates   C has no ndo_change_rx_flags
# mtu_rollback_on_slave_refusal SKIPs unless the standby's max_mtu is below the
# primary's (the runner gives sb0 host_mtu=..., e.g. 4000).

ALL_TESTS="
	mtu_propagates
	mtu_out_of_range_refused
	mtu_rollback_on_slave_refusal
	mtu_range_follows_primary
	vlan_traffic_both_slaves
	vlan_vids_to_new_primary
	mc_uc_lists_synced
	promisc_propagates
	allmulti_propagates
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

VID=42
VLAN_DEV=nfvlan$VID
VLAN_ADDR=198.51.100.2
VLAN_PEER=198.51.100.1

mtu_of() { cat "/sys/class/net/$1/mtu" 2> /dev/null; }
mtus() { echo "$(mtu_of "$NF_M")/$(mtu_of "$NF_PRI")/$(mtu_of "$NF_SBY")"; }

mtu_propagates()
{
	nf_defer ip link set dev "$NF_M" mtu 1500
	nf_run ip link set dev "$NF_M" mtu 1400
	check_err $? "cannot set master MTU 1400"
	check_eq "MTUs master/primary/standby" "$(mtus)" 1400/1400/1400
	nf_ping_peer 3
	check_err $? "no ping at MTU 1400"
	nf_run ip link set dev "$NF_M" mtu 1500
	check_err $? "cannot set master MTU back to 1500"
	check_eq "MTUs master/primary/standby" "$(mtus)" 1500/1500/1500
	log_test
}

mtu_out_of_range_refused()
{
	local max min
	max=$(nf_link_field "$NF_M" max_mtu)
	min=$(nf_link_field "$NF_M" min_mtu)
	nf_diag "master MTU range $min..$max"
	[[ "$max" =~ ^[0-9]+$ ]] && [[ "$min" =~ ^[0-9]+$ ]]
	check_err $? "master MTU range unknown"
	nf_defer ip link set dev "$NF_M" mtu 1500
	if [ "$RET" -eq 0 ]; then
		ip link set dev "$NF_M" mtu $((max + 1)) 2> /dev/null
		check_fail $? "MTU $((max + 1)) above max_mtu accepted"
		ip link set dev "$NF_M" mtu $((min - 1)) 2> /dev/null
		check_fail $? "MTU $((min - 1)) below min_mtu accepted"
		check_eq "MTUs after refusals" "$(mtus)" 1500/1500/1500
	fi
	log_test
}

mtu_rollback_on_slave_refusal()
{
	local mmax smax
	mmax=$(nf_link_field "$NF_M" max_mtu)
	smax=$(nf_link_field "$NF_SBY" max_mtu)
	nf_diag "max_mtu master $mmax primary $(nf_link_field "$NF_PRI" max_mtu) standby $smax"
	if ! [ "$smax" -lt "$mmax" ] 2> /dev/null; then
		log_test_skip "$NF_CUR_TEST" "standby max_mtu $smax not below the master's $mmax (set host_mtu on $NF_STANDBY_QDEV)"
		return
	fi
	nf_defer ip link set dev "$NF_M" mtu 1500
	ip link set dev "$NF_M" mtu $((smax + 1)) 2> /dev/null
	check_fail $? "MTU $((smax + 1)) accepted though the standby refuses it"
	check_eq "MTUs after the refused change (rollback)" "$(mtus)" 1500/1500/1500
	nf_run ip link set dev "$NF_M" mtu "$smax"
	check_err $? "MTU $smax (the standby's max) refused"
	check_eq "MTUs at the standby's max" "$(mtus)" "$smax/$smax/$smax"
	log_test
}

mtu_range_follows_primary()
{
	local pmax smax bdf
	pmax=$(nf_link_field "$NF_PRI" max_mtu)
	smax=$(nf_link_field "$NF_SBY" max_mtu)
	check_eq "master max_mtu with primary" "$(nf_link_field "$NF_M" max_mtu)" "$pmax"
	check_eq "master min_mtu with primary" "$(nf_link_field "$NF_M" min_mtu)" "$(nf_link_field "$NF_PRI" min_mtu)"
	nf_defer ip link set dev "$NF_M" mtu 1500
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	nf_run ip link set dev "$NF_M" mtu 1400
	check_err $? "cannot set MTU 1400"
	bdf=$(nf_pci_of "$NF_PRI")
	echo 1 > "/sys/bus/pci/devices/$bdf/remove"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	check_err $? "primary still there after PCI remove"
	check_eq "master max_mtu without primary (= standby's)" "$(nf_link_field "$NF_M" max_mtu)" "$smax"
	check_eq "master MTU without primary" "$(mtu_of "$NF_M")" 1400
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	check_err $? "e1000e not enslaved after rescan: $(nf_roles)"
	nf_discover
	check_eq "new primary MTU (aligned to the master)" "$(mtu_of "$NF_PRI")" 1400
	check_eq "master max_mtu with primary back" "$(nf_link_field "$NF_M" max_mtu)" "$pmax"
	log_test
}

peer_dev()
{
	if [ -n "${NF_PEER_DEV:-}" ]; then
		echo "$NF_PEER_DEV"
		return
	fi
	host_do peer "ip -o -4 addr show to $NF_PEER4/32 | awk '{print \$2; exit}'" 2> /dev/null
}

# peer side VLAN device on the bridge that holds NF_PEER4
peer_vlan_up()
{
	local pd
	# The runner may provide the VLAN end point itself (NF_PEER_VLAN_ADDR on
	# NF_PEER_VLAN: an access port of a VLAN-filtering bridge, for hosts
	# without the 8021q module).
	if [ "${NF_PEER_VLAN:-}" = "$VID" ] && [ "${NF_PEER_VLAN_ADDR:-}" = "$VLAN_PEER" ]; then
		return 0
	fi
	pd=$(peer_dev)
	if [ -z "$pd" ]; then
		nf_diag "cannot find the peer's device for $NF_PEER4"
		return 1
	fi
	host_do peer "ip link del pv$VID 2>/dev/null; ip link add link $pd name pv$VID type vlan id $VID && ip addr add $VLAN_PEER/24 dev pv$VID && ip link set pv$VID up" > /dev/null
	local rc=$?
	nf_defer host_do peer "ip link del pv$VID"
	return "$rc"
}

guest_vlan_up()
{
	nf_defer ip link del "$VLAN_DEV"
	ip link add link "$NF_M" name "$VLAN_DEV" type vlan id "$VID" &&
		ip addr add "$VLAN_ADDR/24" dev "$VLAN_DEV" &&
		ip link set dev "$VLAN_DEV" up
}

vlan_ping() { ping -q -c "${1:-1}" -W 2 "$VLAN_PEER" > /dev/null 2>&1; }

# Without the 8021q module on the host (seen on the project's machines) the
# peer cannot terminate VLAN $VID; then only the tx side is checked: tagged
# frames from our MAC must reach the peer's bridge (tcpdump there).
PEER_VLAN=1
vlan_peer_setup()
{
	PEER_VLAN=1
	if ! peer_vlan_up; then
		PEER_VLAN=0
		nf_diag "peer cannot terminate VLAN $VID (no 8021q on the host): checking tagged tx at the peer only"
	fi
}
vlan_tx_seen()
{
	local n
	(sleep 2; ping -q -c 4 -i 0.5 -W 1 "$VLAN_PEER" > /dev/null 2>&1) &
	n=$(host_do peer "timeout 15 tcpdump -nei ${NF_PEER_DEV:-nfbr0} -c 2 'vlan $VID and ether src $NF_MAC' 2>/dev/null | wc -l")
	wait $!
	[ "${n:-0}" -ge 2 ]
}
# VLAN $VID works end to end (or, see above, leaves us tagged)
vlan_ok()
{
	if [ "$PEER_VLAN" = 1 ]; then
		vlan_ok
	else
		vlan_tx_seen
	fi
}

vlan_traffic_both_slaves()
{
	nf_require_host_ctl || return
	modprobe -q 8021q
	vlan_peer_setup
	guest_vlan_up
	check_err $? "cannot create $VLAN_DEV on $NF_M"
	nf_diag "rx-vlan-filter: primary $(ethtool -k "$NF_PRI" | awk '/rx-vlan-filter/{print $2}') standby $(ethtool -k "$NF_SBY" | awk '/rx-vlan-filter/{print $2}')"
	vlan_ok
	check_err $? "no ping over VLAN $VID via the primary"
	vlan_ping 5 &
	nf_tx_grows "$NF_PRI" 3 10
	check_err $? "VLAN traffic not sent by the primary"
	wait $!
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	vlan_ok
	check_err $? "no ping over VLAN $VID via the standby (vid not on the standby?)"
	vlan_ping 5 &
	nf_tx_grows "$NF_SBY" 3 10
	check_err $? "VLAN traffic not sent by the standby"
	wait $!
	ip link set dev "$NF_PRI" up
	log_test
}

vlan_vids_to_new_primary()
{
	nf_require_host_ctl || return
	modprobe -q 8021q
	local bdf
	bdf=$(nf_pci_of "$NF_PRI")
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	echo 1 > "/sys/bus/pci/devices/$bdf/remove"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	check_err $? "primary still there after PCI remove"
	vlan_peer_setup
	guest_vlan_up
	check_err $? "cannot create $VLAN_DEV without a primary"
	vlan_ok
	check_err $? "no ping over VLAN $VID via the standby"
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	check_err $? "e1000e not enslaved after rescan"
	nf_discover
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	check_err $? "new primary has no carrier"
	# the peer's bridge learns the new port from our first frames
	vlan_ping 3
	vlan_ok
	check_err $? "no ping over VLAN $VID via the new primary (vid not synced to it?)"
	vlan_ping 5 &
	nf_tx_grows "$NF_PRI" 3 10
	check_err $? "VLAN traffic not sent by the new primary"
	wait $!
	log_test
}

has_maddr() { ip maddr show dev "$1" | grep -qi "link  *$2"; }
has_uc() { bridge fdb show dev "$1" 2> /dev/null | grep -qi "^$2 "; }

mc_uc_lists_synced()
{
	local mc=01:00:5e:4e:46:01 uc=02:4e:46:00:00:99 s
	nf_defer ip maddr del "$mc" dev "$NF_M"
	nf_run ip maddr add "$mc" dev "$NF_M"
	check_err $? "cannot add multicast $mc to $NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		has_maddr "$s" "$mc"
		check_err $? "multicast $mc not on $s"
	done
	ip maddr del "$mc" dev "$NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		! has_maddr "$s" "$mc"
		check_err $? "multicast $mc still on $s after removal"
	done
	if command -v bridge > /dev/null && modprobe -q macvlan; then
		nf_defer ip link del nfmv0
		nf_run ip link add link "$NF_M" name nfmv0 address "$uc" type macvlan mode private
		check_err $? "cannot add a macvlan on $NF_M"
		ip link set dev nfmv0 up
		for s in "$NF_PRI" "$NF_SBY"; do
			has_uc "$s" "$uc"
			check_err $? "unicast $uc not in $s's address list"
			[ $(($(nf_flags "$s") & 0x100)) -eq 0 ]
			check_err $? "$s went promiscuous instead of filtering $uc"
		done
		ip link del nfmv0
		for s in "$NF_PRI" "$NF_SBY"; do
			! has_uc "$s" "$uc"
			check_err $? "unicast $uc still on $s after removal"
		done
	else
		nf_diag "bridge(8) or macvlan missing: unicast list not checked"
	fi
	log_test
}

# rx_flag_propagates FLAG_BIT IP_KEYWORD
rx_flag_propagates()
{
	local bit=$1 kw=$2 s
	for s in "$NF_PRI" "$NF_SBY"; do
		if [ $(($(nf_flags "$s") & bit)) -ne 0 ]; then
			log_test_skip "$NF_CUR_TEST" "$s already has $kw set"
			return
		fi
	done
	nf_defer ip link set dev "$NF_M" "$kw" off
	nf_run ip link set dev "$NF_M" "$kw" on
	check_err $? "cannot set $kw on $NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		[ $(($(nf_flags "$s") & bit)) -ne 0 ]
		check_err $? "$kw not propagated to $s"
	done
	nf_ping_peer 3
	check_err $? "no ping with $kw on"
	nf_run ip link set dev "$NF_M" "$kw" off
	for s in "$NF_PRI" "$NF_SBY"; do
		[ $(($(nf_flags "$s") & bit)) -eq 0 ]
		check_err $? "$kw still set on $s after turning it off"
	done
	log_test
}

promisc_propagates()
{
	nf_skip_if_c "promisc propagation (ndo_change_rx_flags)" && return
	rx_flag_propagates 0x100 promisc
}

allmulti_propagates()
{
	nf_skip_if_c "allmulti propagation (ndo_change_rx_flags)" && return
	rx_flag_propagates 0x200 allmulticast
}

nf_main
