#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 11: things an admin may try by hand.
#   - "ip link set X master MASTER" for a foreign device: refused, nothing changes
#   - "ip link set SLAVE nomaster" / "master OTHER": refused, still enslaved
#   - "ip link del" of the master or a slave: refused
#   - moving the master to another netns: refused (netns-immutable)
#   - moving a slave to another netns and back: either refused, or the slave is
#     released cleanly (not enslaved across namespaces) and re-enslaved on return
#   - MAC change on the master: recorded; if refused nothing may change, if
#     accepted traffic must still work and the change must be reversible
#
# Cases that SKIP with the C reference (NF_MODULE=c):
#   slave_netns_move_primary / slave_netns_move_standby, only the "not
#   enslaved across namespaces" assertion: C matches slaves by MAC in every
#   namespace (failover_get_bymac has no netns check) and may re-enslave the
#   moved slave from the other namespace; reported as a diagnostic instead.

ALL_TESTS="
	enslave_foreign_refused
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

enslave_foreign_refused()
{
	local before out
	modprobe -q dummy
	before=$(state)
	nf_defer ip link del nfbad-dum0
	nf_run ip link add nfbad-dum0 type dummy
	check_err $? "cannot create a dummy"
	out=$(ip link set dev nfbad-dum0 master "$NF_M" 2>&1)
	check_fail $? "enslaving a dummy by hand succeeded"
	nf_diag "ip link set dummy master $NF_M: $out"
	[ -z "$(nf_master_of nfbad-dum0)" ]
	check_err $? "dummy got master $(nf_master_of nfbad-dum0)"
	# same with a device carrying the standby's MAC
	ip link set dev nfbad-dum0 address "$NF_MAC"
	ip link set dev nfbad-dum0 master "$NF_M" > /dev/null 2>&1
	check_fail $? "enslaving a same-MAC dummy by hand succeeded"
	check_eq "state" "$(state)" "$before"
	# re-enslaving the current primary is a no-op at most
	ip link set dev "$NF_PRI" master "$NF_M" > /dev/null 2>&1
	check_eq "state after 'master' on an enslaved slave" "$(state)" "$before"
	nf_ping_peer 3
	check_err $? "no ping afterwards"
	log_test
}

nomaster_refused()
{
	local before s out
	before=$(state)
	for s in "$NF_PRI" "$NF_SBY"; do
		out=$(ip link set dev "$s" nomaster 2>&1)
		check_fail $? "'ip link set $s nomaster' succeeded"
		nf_diag "nomaster $s: $out"
	done
	check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	check_err $? "no ping afterwards"
	log_test
}

slave_to_other_master_refused()
{
	local before s kind
	before=$(state)
	modprobe -q bridge
	modprobe -q bonding
	nf_defer ip link del nfbad-br0
	nf_defer ip link del nfbad-bond0
	ip link add nfbad-br0 type bridge 2> /dev/null
	ip link add nfbad-bond0 type bond mode active-backup 2> /dev/null
	for kind in nfbad-br0 nfbad-bond0; do
		nf_dev_exists "$kind" || { nf_diag "$kind not available"; continue; }
		for s in "$NF_PRI" "$NF_SBY"; do
			ip link set dev "$s" master "$kind" > /dev/null 2>&1
			check_fail $? "moving $s under $kind succeeded"
		done
	done
	check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	check_err $? "no ping afterwards"
	log_test
}

delete_refused()
{
	local before d
	before=$(state)
	for d in "$NF_M" "$NF_PRI" "$NF_SBY"; do
		ip link del dev "$d" > /dev/null 2>&1
		check_fail $? "'ip link del $d' succeeded"
		nf_dev_exists "$d"
		check_err $? "$d vanished"
	done
	check_eq "state" "$(state)" "$before"
	log_test
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
	check_err $? "cannot create netns $NS"
	out=$(ip link set dev "$NF_M" netns "$NS" 2>&1)
	check_fail $? "moving the master to netns $NS succeeded"
	nf_diag "master netns move: $out"
	nf_dev_exists "$NF_M"
	check_err $? "master vanished from the init netns"
	check_eq "state" "$(state)" "$before"
	nf_ping_peer 3
	check_err $? "no ping afterwards"
	log_test
}

# slave_netns_move ROLE DEV
slave_netns_move()
{
	local role=$1 dev=$2 out nsmaster
	ns_setup
	check_err $? "cannot create netns $NS"
	if ! out=$(ip link set dev "$dev" netns "$NS" 2>&1); then
		nf_diag "moving the $role to $NS refused: $out"
		check_eq "$role master" "$(nf_master_of "$dev")" "$NF_M"
		check_eq "lowers" "$(nf_lowers "$NF_M" | wc -l)" 2
		return
	fi
	nf_diag "moving the $role to $NS accepted"
	nf_dev_exists "$dev" && check_err 1 "$dev still in the init netns"
	nf_discover
	[ "$role" = primary ] && [ -n "$NF_PRI" ] && check_err 1 "a primary is still enslaved: $(nf_roles)"
	[ "$role" = standby ] && [ -n "$NF_SBY" ] && check_err 1 "a standby is still enslaved: $(nf_roles)"
	nsmaster=$(ip netns exec "$NS" sh -c "readlink /sys/class/net/$dev/master" 2> /dev/null)
	nf_diag "$role in $NS: $(ip -n "$NS" -d link show dev "$dev" 2>&1 | head -n 2 | tr '\n' ' ') master link '${nsmaster}'"
	if [ -n "$nsmaster" ] || ip -n "$NS" -d link show dev "$dev" 2> /dev/null | grep -q " master "; then
		if [ "$NF_MODULE" = c ]; then
			nf_diag "C reference: $role enslaved across namespaces (known, not asserted)"
		else
			check_err 1 "$role enslaved from another namespace"
		fi
	fi
	# with the primary gone the standby carries on, and vice versa
	nf_wait 30 nf_ping_peer
	check_err $? "no ping with the $role in another netns"
	nf_run ip -n "$NS" link set dev "$dev" netns 1
	check_err $? "cannot move the $role back"
	nf_wait "$NF_TIMEOUT" nf_dev_exists "$dev"
	check_err $? "$dev not back in the init netns"
	_re() { [ "$(nf_master_of "$1")" = "$NF_M" ]; }
	nf_wait "$NF_TIMEOUT" _re "$dev"
	check_err $? "$role $dev not re-enslaved after returning: $(nf_roles)"
	nf_discover
	if [ "$role" = primary ]; then
		check_eq "primary after return" "$NF_PRI" "$dev"
	else
		check_eq "standby after return" "$NF_SBY" "$dev"
	fi
	ip link set dev "$dev" up
	nf_wait "$NF_TIMEOUT" nf_ping_peer
	check_err $? "no ping after the $role returned"
}

slave_netns_move_primary()
{
	slave_netns_move primary "$NF_PRI"
	log_test
}

slave_netns_move_standby()
{
	slave_netns_move standby "$NF_SBY"
	log_test
}

master_mac_change()
{
	local new=02:4e:46:00:00:42 before_m out rc
	before_m=$(nf_mac "$NF_M")
	nf_defer ip link set dev "$NF_M" address "$before_m"
	out=$(ip link set dev "$NF_M" address "$new" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		nf_figure "master MAC change refused: $out"
		check_eq "master MAC after refusal" "$(nf_mac "$NF_M")" "$before_m"
		check_eq "primary MAC" "$(nf_mac "$NF_PRI")" "$before_m"
		check_eq "standby MAC" "$(nf_mac "$NF_SBY")" "$before_m"
		check_eq "lowers" "$(nf_lowers "$NF_M" | wc -l)" 2
	else
		nf_figure "master MAC change accepted: master $(nf_mac "$NF_M") primary $(nf_mac "$NF_PRI") standby $(nf_mac "$NF_SBY")"
		check_eq "master MAC" "$(nf_mac "$NF_M")" "$new"
		check_eq "lowers after MAC change" "$(nf_lowers "$NF_M" | wc -l)" 2
		ip neigh flush dev "$NF_M" 2> /dev/null
		nf_wait 30 nf_ping_peer
		check_err $? "no ping with the new master MAC"
		nf_run ip link set dev "$NF_M" address "$before_m"
		check_err $? "cannot restore the master MAC"
	fi
	nf_wait 30 nf_ping_peer
	check_err $? "no ping afterwards"
	log_test
}

nf_main
