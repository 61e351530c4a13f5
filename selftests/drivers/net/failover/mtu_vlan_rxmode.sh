#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 8: MTU propagation and refusal; the MTU range is what the standby
# (present or not: it must be able to come back) and the primary accept; VLAN
# on the master carries traffic
# both ways through whichever slave is active, also for a primary that joins
# later (checked per tap at the peer: which lower device sent each tagged
# request and received each tagged reply); uc/mc address lists and
# promisc/allmulti reach both slaves.
#
# That the VLAN ids reach the slaves' filters is not visible in traffic:
# QEMU 10's virtio-net reports every vid in its filter (query-rx-filter) and
# its e1000e delivered vid-42 frames to a primary the driver had not given
# vid 42. So the VLAN cases also watch the lower drivers' own
# ndo_vlan_rx_add_vid / ndo_vlan_rx_kill_vid through kprobes (lib.sh
# nf_vid_trace_start): the VID is added to both filters with the VLAN,
# removed from both with it, and added to a primary that joins later
# (tests/mutants/vlan-*.patch fail without that). vlan_features_from_lowers:
# a VLAN on the master offers no offload that VLANs on both lower devices
# lack, and every one VLANs on both offer (the master's vlan_features come
# from theirs).
#
# Cases that SKIP with the C reference (NF_MODULE=c):
#   promisc_propagates    C has no ndo_change_rx_flags
#   allmulti_propagates   C has no ndo_change_rx_flags
# mtu_standby_refusal_touches_nothing SKIPs unless the standby's max_mtu is
# below the primary's (the runner gives sb0 host_mtu=..., e.g. 4000).

ALL_TESTS="
	mtu_propagates
	mtu_out_of_range_refused
	mtu_standby_refusal_touches_nothing
	mtu_range_without_primary
	mtu_standby_back_from_netns
	vlan_traffic_both_slaves
	vlan_vids_to_new_primary
	vlan_features_from_lowers
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
# A lower device's links show in sysfs as soon as the enslave starts, its MTU
# only once the enslave set it (same RTNL section, a little later): after an
# enslave the MTU is waited for, then asserted.
mtu_is() { [ "$(mtu_of "$1")" = "$2" ]; }
mtus_are() { [ "$(mtus)" = "$1" ]; }
oper_up() { [ "$(nf_read "/sys/class/net/$1/operstate")" = up ]; }
# the primary carries tx: its link watcher has run (operstate up, set just
# before dev_activate() gives it a working qdisc) and, with the Rust module,
# the master says so
primary_carries()
{
	oper_up "$NF_PRI" || return 1
	[ "${NF_MODULE:-rust}" = c ] || [ "$(nf_read "/sys/class/net/$NF_M/failover/tx_path")" = primary ]
}

mtu_propagates()
{
	nf_defer ip link set dev "$NF_M" mtu 1500
	nf_run ip link set dev "$NF_M" mtu 1400
	nf_check_err $? "cannot set master MTU 1400"
	nf_check_eq "MTUs master/primary/standby" "$(mtus)" 1400/1400/1400
	nf_ping_peer 3
	nf_check_err $? "no ping at MTU 1400"
	nf_run ip link set dev "$NF_M" mtu 1500
	nf_check_err $? "cannot set master MTU back to 1500"
	nf_check_eq "MTUs master/primary/standby" "$(mtus)" 1500/1500/1500
	nf_log_test
}

mtu_out_of_range_refused()
{
	local max min
	max=$(nf_link_field "$NF_M" max_mtu)
	min=$(nf_link_field "$NF_M" min_mtu)
	nf_diag "master MTU range $min..$max"
	[[ "$max" =~ ^[0-9]+$ ]] && [[ "$min" =~ ^[0-9]+$ ]]
	nf_check_err $? "master MTU range unknown"
	nf_defer ip link set dev "$NF_M" mtu 1500
	if [ "$RET" -eq 0 ]; then
		ip link set dev "$NF_M" mtu $((max + 1)) 2> /dev/null
		nf_check_fail $? "MTU $((max + 1)) above max_mtu accepted"
		ip link set dev "$NF_M" mtu $((min - 1)) 2> /dev/null
		nf_check_fail $? "MTU $((min - 1)) below min_mtu accepted"
		nf_check_eq "MTUs after refusals" "$(mtus)" 1500/1500/1500
	fi
	nf_log_test
}

# An MTU the primary takes but the standby (host_mtu) cannot is refused with
# EINVAL and changes nothing. In this topology the core refuses it: the
# master's range is what both lower devices accept, so its max_mtu is the
# standby's (asserted here: a master that published the primary's range would
# hand the MTU to the driver). The driver's own range check and its rollback
# (a lower device that refuses after the other took the new MTU) are reached
# in explicit_pair.sh explicit_mtu_rollback, with a lower device whose
# ndo_change_mtu refuses inside its advertised range.
mtu_standby_refusal_touches_nothing()
{
	local pmax smax out rc
	pmax=$(nf_link_field "$NF_PRI" max_mtu)
	smax=$(nf_link_field "$NF_SBY" max_mtu)
	nf_diag "max_mtu master $(nf_link_field "$NF_M" max_mtu) primary $pmax standby $smax"
	if ! [ "$smax" -lt "$pmax" ] 2> /dev/null; then
		nf_log_test_skip "$NF_CUR_TEST" "standby max_mtu $smax not below the primary's $pmax (set host_mtu on $NF_STANDBY_QDEV)"
		return
	fi
	nf_check_eq "master max_mtu (the standby's, below the primary's)" "$(nf_link_field "$NF_M" max_mtu)" "$smax"
	nf_defer ip link set dev "$NF_M" mtu 1500
	out=$(ip link set dev "$NF_M" mtu $((smax + 1)) 2>&1)
	rc=$?
	nf_diag "MTU $((smax + 1)): rc=$rc $out"
	[ "$rc" -ne 0 ] && [[ "$out" == *"Invalid argument"* || "$out" == *"greater than device maximum"* ]]
	nf_check_err $? "MTU $((smax + 1)) (the standby cannot take it): want EINVAL, got rc=$rc '$out'"
	nf_check_eq "MTUs master/primary/standby after the refusal" "$(mtus)" 1500/1500/1500
	nf_run ip link set dev "$NF_M" mtu "$smax"
	nf_check_err $? "MTU $smax (the standby's max) refused"
	nf_check_eq "MTUs at the standby's max" "$(mtus)" "$smax/$smax/$smax"
	nf_log_test
}

# The range without the primary (the standby's: the primary must be able to
# come back), the MTU kept across the primary's removal, and a new primary
# aligned to the master's MTU. (That the range also follows the primary is
# not visible here, where the standby is the narrower one:
# explicit_pair.sh explicit_mtu_rollback has a narrower primary.)
mtu_range_without_primary()
{
	local pmax smax bmax bmin bdf
	pmax=$(nf_link_field "$NF_PRI" max_mtu)
	smax=$(nf_link_field "$NF_SBY" max_mtu)
	# both present: what both accept (the standby's maximum caps the primary's)
	bmax=$((pmax < smax ? pmax : smax))
	bmin=$(nf_link_field "$NF_PRI" min_mtu)
	[ "$(nf_link_field "$NF_SBY" min_mtu)" -gt "$bmin" ] && bmin=$(nf_link_field "$NF_SBY" min_mtu)
	nf_check_eq "master max_mtu with primary" "$(nf_link_field "$NF_M" max_mtu)" "$bmax"
	nf_check_eq "master min_mtu with primary" "$(nf_link_field "$NF_M" min_mtu)" "$bmin"
	nf_defer ip link set dev "$NF_M" mtu 1500
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	nf_run ip link set dev "$NF_M" mtu 1400
	nf_check_err $? "cannot set MTU 1400"
	bdf=$(nf_pci_of "$NF_PRI")
	echo 1 > "/sys/bus/pci/devices/$bdf/remove"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still there after PCI remove"
	nf_check_eq "master max_mtu without primary (= standby's)" "$(nf_link_field "$NF_M" max_mtu)" "$smax"
	nf_check_eq "master MTU without primary" "$(mtu_of "$NF_M")" 1400
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "e1000e not enslaved after rescan: $(nf_roles)"
	nf_discover
	nf_wait "$NF_TIMEOUT" mtu_is "$NF_PRI" 1400
	nf_check_eq "new primary MTU (aligned to the master)" "$(mtu_of "$NF_PRI")" 1400
	nf_check_eq "master max_mtu with primary back" "$(nf_link_field "$NF_M" max_mtu)" "$bmax"
	nf_log_test
}

# The soak's storm (seed 20261128, op 2802) moved the standby to another
# namespace, set the master's MTU above the standby's maximum (only the
# primary's range applied then) and moved the standby back: it was refused for
# good ("the master's MTU 4001 is outside its range 68..4000"). The standby's
# maximum must cap the master's while the standby is away, and the standby
# must be enslaved again when it comes back.
mtu_standby_back_from_netns()
{
	local ns=nfmtuns sby=$NF_SBY pmax smax bmax out rc
	pmax=$(nf_link_field "$NF_PRI" max_mtu)
	smax=$(nf_link_field "$NF_SBY" max_mtu)
	bmax=$((pmax < smax ? pmax : smax))
	ip netns add "$ns" || { nf_check_err 1 "cannot create netns $ns"; nf_log_test; return; }
	nf_defer ip netns del "$ns"
	nf_defer ip -n "$ns" link set dev "$sby" netns 1
	nf_defer ip link set dev "$NF_M" mtu 1500
	ip link set dev "$sby" netns "$ns"
	nf_check_err $? "cannot move the standby $sby to netns $ns"
	nf_wait "$NF_TIMEOUT" eval '! nf_dev_exists "$sby"'
	nf_check_err $? "standby $sby still here after leaving the namespace"
	nf_check_eq "master max_mtu with the standby away (the standby's caps the primary's)" \
		"$(nf_link_field "$NF_M" max_mtu)" "$bmax"
	if [ "$smax" -lt "$pmax" ] 2> /dev/null; then
		out=$(ip link set dev "$NF_M" mtu $((smax + 1)) 2>&1)
		rc=$?
		nf_diag "MTU $((smax + 1)) with the standby away: rc=$rc $out"
		[ "$rc" -ne 0 ]
		nf_check_err $? "MTU $((smax + 1)), above the absent standby's max $smax, accepted"
	else
		nf_diag "standby max_mtu $smax not below the primary's $pmax: no MTU to refuse"
	fi
	nf_run ip link set dev "$NF_M" mtu "$bmax"
	nf_check_err $? "MTU $bmax (the highest both accept) refused with the standby away"
	ip -n "$ns" link set dev "$sby" netns 1
	nf_check_err $? "cannot move $sby back"
	nf_wait "$NF_TIMEOUT" nf_has_standby
	nf_check_err $? "standby $sby not enslaved to $NF_M again after coming back: $(dmesg | grep -E 'refusing to enslave' | tail -n1)"
	nf_check_eq "standby after coming back" "$NF_SBY" "$sby"
	nf_wait "$NF_TIMEOUT" mtus_are "$bmax/$bmax/$bmax"
	nf_check_eq "MTUs master/primary/standby after it came back" "$(mtus)" "$bmax/$bmax/$bmax"
	nf_log_test
}

# The peer's VLAN end point: vlanpeer.py on the peer's bridge answers ARP and
# ping for $VLAN_PEER in VLAN $VID with tagged replies (no 8021q needed on the
# host). Which lower device carried the tagged frames is seen on the per-device
# taps in the peer namespace (tap-sb for the standby, tap-pf for the primary):
# frames from our MAC on a tap were sent by that guest device, frames to our
# MAC were delivered to it.
VLAN_TAP_PRI=tap-pf
VLAN_TAP_SBY=tap-sb
VLAN_PINGS=5

# vlan_cap_counts CAP: tagged ICMP frames sent by our MAC and sent to it, in
# the captures of tap-pf and tap-sb: "<pf sent> <pf received> <sb sent> <sb received>"
vlan_cap_counts()
{
	host_do peer "for t in pf sb; do echo \$(grep -c ' $NF_MAC > ' $1-\$t.txt) \$(grep -c '> $NF_MAC, ' $1-\$t.txt); done"
}
# vlan_captured CAP N: the captures hold at least N such frames in all
vlan_captured()
{
	local out v n=0
	out=$(vlan_cap_counts "$1") || return 1
	for v in $out; do
		[[ "$v" =~ ^[0-9]+$ ]] && n=$((n + v))
	done
	[ "$n" -ge "$2" ]
}

vlan_peer_start()
{
	if ! cp "$NF_LIB_DIR/vlanpeer.py" "$NF_RESULTS/vlanpeer.py" 2> /dev/null; then
		nf_diag "cannot copy vlanpeer.py into $NF_RESULTS"
		return 1
	fi
	host_do peer_bg vlanpeer python3 "$(nf_host_path vlanpeer.py)" --dev "${NF_PEER_DEV:-nfbr0}" \
		--vid "$VID" --ip "$VLAN_PEER" --duration 1200 > /dev/null || return 1
	nf_defer host_do peer_kill vlanpeer
	nf_wait 30 nf_peer_log_has vlanpeer READY || { nf_diag "vlanpeer.py not ready"; return 1; }
}

guest_vlan_up()
{
	nf_defer ip link del "$VLAN_DEV"
	ip link add link "$NF_M" name "$VLAN_DEV" type vlan id "$VID" &&
		ip addr add "$VLAN_ADDR/24" dev "$VLAN_DEV" &&
		ip link set dev "$VLAN_DEV" up
}

# vlan_carried_by ROLE: $VLAN_PINGS pings over VLAN $VID must all be answered,
# and every tagged echo request (guest tx) and reply (guest rx) must have gone
# through ROLE's tap (primary|standby), none through the other one.
vlan_carried_by()
{
	local role=$1 cap pf sb got want_pf want_sb out name
	# a fresh name per capture: a reused log could still show the last
	# capture's "listening on" lines. Each tcpdump has its own stderr file:
	# the two start-up lines interleave when they share one.
	VLAN_CAP_N=$((${VLAN_CAP_N:-0} + 1))
	name=vlancap$VLAN_CAP_N
	cap=$(nf_host_path "$name")
	host_do peer_bg "$name" "tcpdump --immediate-mode -i $VLAN_TAP_PRI -l -nn -e 'vlan $VID and icmp' > $cap-pf.txt 2> $cap-pf.err &" \
		"tcpdump --immediate-mode -i $VLAN_TAP_SBY -l -nn -e 'vlan $VID and icmp' > $cap-sb.txt 2> $cap-sb.err & wait" > /dev/null
	nf_defer host_do peer_kill "$name"
	_nf_caps_ready() { host_do peer "grep -q 'listening on' $cap-pf.err && grep -q 'listening on' $cap-sb.err" > /dev/null 2>&1; }
	if ! nf_wait 30 _nf_caps_ready; then
		nf_check_err 1 "tcpdump on the taps not ready"
		return 1
	fi
	out=$(ping -c "$VLAN_PINGS" -i 0.2 -W 2 "$VLAN_PEER" 2>&1)
	got=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	[ "${got:-0}" -eq "$VLAN_PINGS" ]
	nf_check_err $? "VLAN $VID via the $role: ${got:-0} of $VLAN_PINGS pings answered"
	# tcpdump hands frames over in blocks: wait until every request and reply
	# of the answered pings is in the captures, whichever tap it crossed
	nf_wait "$NF_TIMEOUT" vlan_captured "$cap" $((2 * ${got:-0})) ||
		nf_diag "the captures hold fewer than $((2 * ${got:-0})) tagged frames"
	host_do peer_kill "$name" > /dev/null
	# per tap: frames sent by our MAC, frames delivered to our MAC
	out=$(vlan_cap_counts "$cap")
	# shellcheck disable=SC2086 # four numbers
	set -- $out
	pf="${1:-?}/${2:-?}" sb="${3:-?}/${4:-?}"
	nf_diag "tagged ICMP (sent/received by the guest) on $VLAN_TAP_PRI: $pf, on $VLAN_TAP_SBY: $sb"
	if [ "$role" = primary ]; then
		want_pf="$VLAN_PINGS/$VLAN_PINGS" want_sb=0/0
	else
		want_pf=0/0 want_sb="$VLAN_PINGS/$VLAN_PINGS"
	fi
	nf_check_eq "tagged echo requests/replies through the primary ($VLAN_TAP_PRI)" "$pf" "$want_pf"
	nf_check_eq "tagged echo requests/replies through the standby ($VLAN_TAP_SBY)" "$sb" "$want_sb"
}

vlan_traffic_both_slaves()
{
	nf_require_host_ctl || return
	modprobe -q 8021q
	vlan_peer_start
	nf_check_err $? "cannot start the peer's VLAN end point"
	nf_vid_trace_start
	nf_check_err $? "cannot trace the lower devices' VID filter calls (kprobes)"
	guest_vlan_up
	nf_check_err $? "cannot create $VLAN_DEV on $NF_M"
	[ "$RET" -eq 0 ] || { nf_log_test; return; }
	nf_diag "rx-vlan-filter: primary $(ethtool -k "$NF_PRI" | awk '/rx-vlan-filter/{print $2}') standby $(ethtool -k "$NF_SBY" | awk '/rx-vlan-filter/{print $2}')"
	# both filters get the VID when the VLAN is added
	nf_vid_seen pri_add "$VID"
	nf_check_err $? "VID $VID did not reach the primary's filter (calls: $(nf_vid_calls))"
	nf_vid_seen sby_add "$VID"
	nf_check_err $? "VID $VID did not reach the standby's filter (calls: $(nf_vid_calls))"
	vlan_carried_by primary
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	vlan_carried_by standby
	ip link set dev "$NF_PRI" up
	# and both lose it when the VLAN goes
	ip link del "$VLAN_DEV"
	nf_check_err $? "cannot delete $VLAN_DEV"
	nf_vid_seen pri_kill "$VID"
	nf_check_err $? "VID $VID not removed from the primary's filter (calls: $(nf_vid_calls))"
	nf_vid_seen sby_kill "$VID"
	nf_check_err $? "VID $VID not removed from the standby's filter (calls: $(nf_vid_calls))"
	nf_log_test
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
	nf_check_err $? "primary still there after PCI remove"
	vlan_peer_start
	nf_check_err $? "cannot start the peer's VLAN end point"
	guest_vlan_up
	nf_check_err $? "cannot create $VLAN_DEV without a primary"
	[ "$RET" -eq 0 ] || { nf_log_test; return; }
	vlan_carried_by standby
	nf_vid_trace_start
	nf_check_err $? "cannot trace the lower devices' VID filter calls (kprobes)"
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "e1000e not enslaved after rescan"
	# the VID of the VLAN already on the master reaches the new primary's
	# filter when it is enslaved
	nf_wait "$NF_TIMEOUT" nf_vid_seen pri_add "$VID"
	nf_check_err $? "VID $VID not added to the new primary's filter (calls: $(nf_vid_calls))"
	nf_discover
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "new primary has no carrier"
	# tx moves to it once the link watcher has given it its qdisc
	if ! nf_wait "$NF_TIMEOUT" primary_carries; then
		nf_check_err 1 "new primary $NF_PRI not carrying: operstate $(nf_read "/sys/class/net/$NF_PRI/operstate"), tx_path $(nf_read "/sys/class/net/$NF_M/failover/tx_path")"
	fi
	# VLAN traffic through the new primary (whether its VID filter has the
	# vid is checked above, through the kprobes: QEMU's e1000e delivered
	# tagged frames without it, see the header)
	vlan_carried_by primary
	nf_log_test
}

has_maddr() { ip maddr show dev "$1" | grep -qi "link  *$2"; }
has_uc() { bridge fdb show dev "$1" 2> /dev/null | grep -qi "^$2 "; }

mc_uc_lists_synced()
{
	local mc=01:00:5e:4e:46:01 uc=02:4e:46:00:00:99 s
	nf_defer ip maddr del "$mc" dev "$NF_M"
	nf_run ip maddr add "$mc" dev "$NF_M"
	nf_check_err $? "cannot add multicast $mc to $NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		has_maddr "$s" "$mc"
		nf_check_err $? "multicast $mc not on $s"
	done
	ip maddr del "$mc" dev "$NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		! has_maddr "$s" "$mc"
		nf_check_err $? "multicast $mc still on $s after removal"
	done
	if command -v bridge > /dev/null && modprobe -q macvlan; then
		nf_defer ip link del nfmv0
		nf_run ip link add link "$NF_M" name nfmv0 address "$uc" type macvlan mode private
		nf_check_err $? "cannot add a macvlan on $NF_M"
		ip link set dev nfmv0 up
		for s in "$NF_PRI" "$NF_SBY"; do
			has_uc "$s" "$uc"
			nf_check_err $? "unicast $uc not in $s's address list"
			[ $(($(nf_flags "$s") & 0x100)) -eq 0 ]
			nf_check_err $? "$s went promiscuous instead of filtering $uc"
		done
		ip link del nfmv0
		for s in "$NF_PRI" "$NF_SBY"; do
			! has_uc "$s" "$uc"
			nf_check_err $? "unicast $uc still on $s after removal"
		done
	else
		nf_skip_part "unicast list (bridge(8) or macvlan missing)"
	fi
	nf_log_test
}

# rx_flag_propagates FLAG_BIT IP_KEYWORD
rx_flag_propagates()
{
	local bit=$1 kw=$2 s
	for s in "$NF_PRI" "$NF_SBY"; do
		if [ $(($(nf_flags "$s") & bit)) -ne 0 ]; then
			nf_log_test_skip "$NF_CUR_TEST" "$s already has $kw set"
			return
		fi
	done
	nf_defer ip link set dev "$NF_M" "$kw" off
	nf_run ip link set dev "$NF_M" "$kw" on
	nf_check_err $? "cannot set $kw on $NF_M"
	for s in "$NF_PRI" "$NF_SBY"; do
		[ $(($(nf_flags "$s") & bit)) -ne 0 ]
		nf_check_err $? "$kw not propagated to $s"
	done
	nf_ping_peer 3
	nf_check_err $? "no ping with $kw on"
	nf_run ip link set dev "$NF_M" "$kw" off
	for s in "$NF_PRI" "$NF_SBY"; do
		[ $(($(nf_flags "$s") & bit)) -eq 0 ]
		nf_check_err $? "$kw still set on $s after turning it off"
	done
	nf_log_test
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

# feature_state DEV FEATURE: on, off, or "missing" (ethtool -k indents the
# features that belong to a group, e.g. tx-scatter-gather-fraglist)
feature_state()
{
	ethtool -k "$1" 2> /dev/null | awk -v f="$2" '
		{ sub(/^[ \t]+/, "") }
		index($0, f ": ") == 1 { print $2; found = 1; exit }
		END { if (!found) print "missing" }'
}

vlan_features_from_lowers()
{
	modprobe -q 8021q
	local f m p s bad= missing= lost=
	nf_defer ip link del nfvf-m
	nf_defer ip link del nfvf-p
	nf_defer ip link del nfvf-s
	ip link add link "$NF_M" name nfvf-m type vlan id 2001 &&
		ip link add link "$NF_PRI" name nfvf-p type vlan id 2002 &&
		ip link add link "$NF_SBY" name nfvf-s type vlan id 2003
	nf_check_err $? "cannot create VLANs on the master and its lower devices"
	[ "$RET" -eq 0 ] || { nf_log_test; return; }
	# A VLAN's offloads come from its real device's vlan_features. The
	# master's are what its lower devices offer VLANs (one of them suffices
	# for these "one for all" features), so a VLAN on the master offers none
	# that VLANs on both lower devices lack, and all that VLANs on both
	# offer.
	for f in tx-scatter-gather-fraglist highdma scatter-gather tx-checksum-ip-generic; do
		m=$(feature_state nfvf-m "$f")
		p=$(feature_state nfvf-p "$f")
		s=$(feature_state nfvf-s "$f")
		nf_diag "$f: VLAN on master $m, on primary $p, on standby $s"
		case "$m $p $s" in
		*missing*) missing="$missing $f" ;;
		"on off off") bad="$bad $f" ;;
		"off on on") lost="$lost $f" ;;
		esac
	done
	[ -z "$missing" ]
	nf_check_err $? "ethtool -k does not list:$missing"
	[ -z "$bad" ]
	nf_check_err $? "a VLAN on the master offers what neither lower device offers VLANs:$bad"
	[ -z "$lost" ]
	nf_check_err $? "a VLAN on the master lacks what both lower devices offer VLANs:$lost"
	nf_log_test
}

nf_main
