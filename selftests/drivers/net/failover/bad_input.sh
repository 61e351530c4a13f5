#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 11: things an admin may try by hand.
#   - "ip link set X master MASTER": refused by the core with EOPNOTSUPP,
#     because the master has no ndo_add_slave (the driver's part is not to
#     offer one); nothing changes, also for a device with the standby's MAC
#   - "ip link set SLAVE nomaster" / "master OTHER": refused, still enslaved
#   - "ip link del" of the master or a slave: refused
#   - moving the master to another netns: refused (netns-immutable)
#   - moving a slave to another netns and back: accepted by the core; the
#     slave is released (not enslaved across namespaces) and re-enslaved on
#     its return (Documentation: "What is refused")
#   - MAC change on the master: refused with EOPNOTSUPP (no
#     ndo_set_mac_address), nothing changes
#
# Cases that assert less with the C reference (NF_MODULE=c):
#   slave_netns_move_primary / slave_netns_move_standby, only the "not
#   enslaved across namespaces" assertion: C matches slaves by MAC in every
#   namespace (failover_get_bymac has no netns check) and may re-enslave the
#   moved slave from the other namespace; reported as a diagnostic instead.

ALL_TESTS="
	manual_enslave_unsupported
	nomaster_refused
	slave_to_other_master_refused
	delete_refused
	master_netns_move_refused
	slave_netns_move_primary
	slave_netns_move_standby
	master_mac_change
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

NS=nf-badns

state() { echo "lowers=[$(nf_lowers_str "$NF_M")] pri_master=$(nf_master_of "$NF_PRI") sby_master=$(nf_master_of "$NF_SBY")"; }

# The refusal is the core's (no ndo_add_slave): what is checked of the driver
# is that it offers none (the error is EOPNOTSUPP, not a driver's own) and that
# its state does not move, also for a device with the standby's current MAC.
manual_enslave_unsupported()
{
	local before out rc
	if ! modprobe -q dummy && [ ! -d /sys/module/dummy ]; then
		nf_log_test_skip "$NF_CUR_TEST" "module dummy not available"
		return
	fi
	before=$(state)
	nf_defer ip link del nfbad-dum0
	nf_run ip link add nfbad-dum0 type dummy
	nf_check_err $? "cannot create a dummy"
	out=$(ip link set dev nfbad-dum0 master "$NF_M" 2>&1)
	rc=$?
	nf_diag "ip link set dummy master $NF_M: rc=$rc $out"
	[ "$rc" -ne 0 ] && [[ "$out" == *"Operation not supported"* ]]
	nf_check_err $? "enslaving a dummy by hand: want EOPNOTSUPP, got rc=$rc '$out'"
	[ -z "$(nf_master_of nfbad-dum0)" ]
	nf_check_err $? "dummy got master $(nf_master_of nfbad-dum0)"
	# same with a device carrying the standby's MAC
	ip link set dev nfbad-dum0 address "$NF_MAC"
	out=$(ip link set dev nfbad-dum0 master "$NF_M" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && [[ "$out" == *"Operation not supported"* ]]
	nf_check_err $? "enslaving a same-MAC dummy by hand: want EOPNOTSUPP, got rc=$rc '$out'"
	nf_check_eq "state" "$(state)" "$before"
	# re-enslaving the current primary is a no-op at most
	ip link set dev "$NF_PRI" master "$NF_M" > /dev/null 2>&1
	nf_check_eq "state after 'master' on an enslaved slave" "$(state)" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

nomaster_refused()
{
	local before s out
	before=$(state)
	for s in "$NF_PRI" "$NF_SBY"; do
		out=$(ip link set dev "$s" nomaster 2>&1)
		nf_check_fail $? "'ip link set $s nomaster' succeeded"
		nf_diag "nomaster $s: $out"
	done
	nf_check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

slave_to_other_master_refused()
{
	local before s kind out
	before=$(state)
	modprobe -q bridge
	modprobe -q bonding
	nf_defer ip link del nfbad-br0
	nf_defer ip link del nfbad-bond0
	out=$(ip link add nfbad-br0 type bridge 2>&1) || nf_skip_part "no bridge: $out"
	out=$(ip link add nfbad-bond0 type bond mode active-backup 2>&1) || nf_skip_part "no bond: $out"
	for kind in nfbad-br0 nfbad-bond0; do
		nf_dev_exists "$kind" || continue
		for s in "$NF_PRI" "$NF_SBY"; do
			ip link set dev "$s" master "$kind" > /dev/null 2>&1
			nf_check_fail $? "moving $s under $kind succeeded"
		done
	done
	nf_check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

delete_refused()
{
	local before d
	before=$(state)
	for d in "$NF_M" "$NF_PRI" "$NF_SBY"; do
		ip link del dev "$d" > /dev/null 2>&1
		nf_check_fail $? "'ip link del $d' succeeded"
		nf_dev_exists "$d"
		nf_check_err $? "$d vanished"
	done
	nf_check_eq "state" "$(state)" "$before"
	nf_log_test
}

ns_setup()
{
	ip netns del "$NS" 2> /dev/null
	ip netns add "$NS" || return 1
	nf_defer ip netns del "$NS"
}

master_netns_move_refused()
{
	local before out
	before=$(state)
	ns_setup
	nf_check_err $? "cannot create netns $NS"
	out=$(ip link set dev "$NF_M" netns "$NS" 2>&1)
	nf_check_fail $? "moving the master to netns $NS succeeded"
	nf_diag "master netns move: $out"
	nf_dev_exists "$NF_M"
	nf_check_err $? "master vanished from the init netns"
	nf_check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

# slave_netns_move ROLE DEV
slave_netns_move()
{
	local role=$1 dev=$2 out nsmaster
	ns_setup
	nf_check_err $? "cannot create netns $NS"
	out=$(ip link set dev "$dev" netns "$NS" 2>&1)
	nf_check_err $? "moving the $role to $NS refused ($out); the core allows it"
	if [ "$RET" -ne 0 ]; then
		return
	fi
	nf_dev_exists "$dev" && nf_check_err 1 "$dev still in the init netns"
	# released on the way out (NETDEV_UNREGISTER)
	nf_discover
	[ "$role" = primary ] && [ -n "$NF_PRI" ] && nf_check_err 1 "a primary is still enslaved: $(nf_roles)"
	[ "$role" = standby ] && [ -n "$NF_SBY" ] && nf_check_err 1 "a standby is still enslaved: $(nf_roles)"
	[ "$NF_MODULE" = c ] || nf_check_eq "lowers with the $role away" "$(nf_lowers "$NF_M" | wc -l)" 1
	nsmaster=$(ip netns exec "$NS" sh -c "readlink /sys/class/net/$dev/master" 2> /dev/null)
	nf_diag "$role in $NS: $(ip -n "$NS" -d link show dev "$dev" 2>&1 | head -n 2 | tr '\n' ' ') master link '${nsmaster}'"
	if [ -n "$nsmaster" ] || ip -n "$NS" -d link show dev "$dev" 2> /dev/null | grep -q " master "; then
		if [ "$NF_MODULE" = c ]; then
			nf_diag "C reference: $role enslaved across namespaces (known, not asserted)"
		else
			nf_check_err 1 "$role enslaved from another namespace"
		fi
	fi
	# with the primary gone the standby carries on, and vice versa
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping with the $role in another netns"
	nf_run ip -n "$NS" link set dev "$dev" netns 1
	nf_check_err $? "cannot move the $role back"
	nf_wait "$NF_TIMEOUT" nf_dev_exists "$dev"
	nf_check_err $? "$dev not back in the init netns"
	_re() { [ "$(nf_master_of "$1")" = "$NF_M" ]; }
	nf_wait "$NF_TIMEOUT" _re "$dev"
	nf_check_err $? "$role $dev not re-enslaved after returning: $(nf_roles)"
	nf_discover
	if [ "$role" = primary ]; then
		nf_check_eq "primary after return" "$NF_PRI" "$dev"
	else
		nf_check_eq "standby after return" "$NF_SBY" "$dev"
	fi
	ip link set dev "$dev" up
	nf_wait "$NF_TIMEOUT" nf_ping_peer
	nf_check_err $? "no ping after the $role returned"
}

slave_netns_move_primary()
{
	slave_netns_move primary "$NF_PRI"
	nf_log_test
}

slave_netns_move_standby()
{
	slave_netns_move standby "$NF_SBY"
	nf_log_test
}

master_mac_change()
{
	local new=02:4e:46:00:00:42 before_m out rc
	before_m=$(nf_mac "$NF_M")
	nf_defer ip link set dev "$NF_M" address "$before_m"
	out=$(ip link set dev "$NF_M" address "$new" 2>&1)
	rc=$?
	nf_diag "master MAC change: rc=$rc $out"
	[ "$rc" -ne 0 ] && [[ "$out" == *"Operation not supported"* ]]
	nf_check_err $? "MAC change on the master: want EOPNOTSUPP (no ndo_set_mac_address), got rc=$rc '$out'"
	nf_check_eq "master MAC after the refusal" "$(nf_mac "$NF_M")" "$before_m"
	nf_check_eq "primary MAC" "$(nf_mac "$NF_PRI")" "$before_m"
	nf_check_eq "standby MAC" "$(nf_mac "$NF_SBY")" "$before_m"
	nf_check_eq "lowers" "$(nf_lowers "$NF_M" | wc -l)" 2
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

nf_main
