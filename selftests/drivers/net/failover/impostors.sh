#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 6: devices carrying the standby's MAC that are not PCI functions are
# never enslaved: dummy, veth, macvlan, VLAN on the standby / primary, bond.
# Each impostor is created, brought up and removed; the master's lower set must
# not change, the impostor must never get a master, and traffic must go on.
# Also with the primary slot free (e1000e PCI-removed): impostors must not take
# it, and the e1000e must get it back after a rescan.
#
# Note: most virtual devices get a *random/set* address, so their permanent
# address (ethtool -P) is not the standby's; a driver matching by permanent MAC
# skips them early, one matching by current MAC must refuse them by bus type.
# Both are accepted; the diagnostics show which addresses each impostor had.
#
# No case differs for the C reference.

ALL_TESTS="
	dummy_same_mac
	veth_same_mac
	macvlan_same_mac
	vlan_on_slaves
	bond_same_mac
	impostors_with_primary_slot_free
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

need_mod()
{
	local m
	for m in "$@"; do
		modprobe -q "$m" 2> /dev/null && continue
		[ -d "/sys/module/$m" ] && continue
		log_test_skip "$NF_CUR_TEST" "module $m not available"
		return 1
	done
}

# impostors_check BEFORE_LOWERS DEV...
impostors_check()
{
	local before=$1 d
	shift
	for d in "$@"; do
		nf_dev_exists "$d"
		check_err $? "impostor $d was not created"
		nf_diag "impostor $d: addr $(nf_mac "$d") perm $(ethtool -P "$d" 2> /dev/null | awk '{print $3}')"
		ip link set dev "$d" up 2> /dev/null
	done
	for d in "$@"; do
		nf_never 3 nf_master_of "$d"
		check_err $? "impostor $d got master $(nf_master_of "$d")"
		[ $(($(nf_flags "$d") & 0x1)) -ne 0 ] || nf_diag "impostor $d is not UP"
	done
	check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	nf_ping_peer 3
	check_err $? "no ping with impostors around"
}

# impostors_gone BEFORE_LOWERS: after deleting the impostors nothing moved
impostors_gone()
{
	check_eq "lowers of $NF_M after removing impostors" "$(nf_lowers_str "$NF_M")" "$1"
	nf_e1000e_enslaved
	check_err $? "e1000e no longer primary: $(nf_roles)"
	nf_ping_peer 3
	check_err $? "no ping after removing impostors"
}

dummy_same_mac()
{
	need_mod dummy || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-dum0
	nf_run ip link add nfimp-dum0 address "$NF_MAC" type dummy
	check_err $? "cannot create dummy"
	impostors_check "$before" nfimp-dum0
	ip link del nfimp-dum0
	impostors_gone "$before"
	log_test
}

veth_same_mac()
{
	need_mod veth || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-veth0
	nf_run ip link add nfimp-veth0 address "$NF_MAC" type veth \
		peer name nfimp-veth1 address "$NF_MAC"
	check_err $? "cannot create veth pair"
	impostors_check "$before" nfimp-veth0 nfimp-veth1
	ip link del nfimp-veth0
	impostors_gone "$before"
	log_test
}

macvlan_same_mac()
{
	need_mod dummy macvlan || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-dum1
	nf_run ip link add nfimp-dum1 type dummy
	check_err $? "cannot create dummy lower"
	ip link set dev nfimp-dum1 up
	nf_run ip link add link nfimp-dum1 name nfimp-mvl0 address "$NF_MAC" type macvlan mode bridge
	check_err $? "cannot create macvlan"
	impostors_check "$before" nfimp-mvl0
	ip link del nfimp-dum1
	impostors_gone "$before"
	log_test
}

vlan_on_slaves()
{
	need_mod 8021q || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-vs
	nf_defer ip link del nfimp-vp
	nf_run ip link add link "$NF_SBY" name nfimp-vs type vlan id 1977
	check_err $? "cannot create a VLAN on the standby $NF_SBY"
	nf_run ip link add link "$NF_PRI" name nfimp-vp type vlan id 1978
	check_err $? "cannot create a VLAN on the primary $NF_PRI"
	impostors_check "$before" nfimp-vs nfimp-vp
	check_eq "VLAN on standby address" "$(nf_mac nfimp-vs)" "$(nf_mac "$NF_SBY")"
	ip link del nfimp-vs
	ip link del nfimp-vp
	impostors_gone "$before"
	log_test
}

bond_same_mac()
{
	need_mod bonding dummy || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-bond0
	nf_defer ip link del nfimp-dum2
	nf_run ip link add nfimp-bond0 address "$NF_MAC" type bond mode active-backup
	check_err $? "cannot create bond"
	nf_run ip link add nfimp-dum2 address "$NF_MAC" type dummy
	check_err $? "cannot create bond slave dummy"
	nf_run ip link set dev nfimp-dum2 master nfimp-bond0
	check_err $? "cannot enslave the dummy to the bond"
	impostors_check "$before" nfimp-bond0
	check_eq "dummy's master" "$(nf_master_of nfimp-dum2)" nfimp-bond0
	ip link del nfimp-bond0
	ip link del nfimp-dum2
	impostors_gone "$before"
	log_test
}

impostors_with_primary_slot_free()
{
	need_mod dummy veth || return
	local bdf
	bdf=$(nf_pci_of "$NF_PRI")
	nf_defer ip link del nfimp-dum3
	nf_defer ip link del nfimp-veth2
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	echo 1 > "/sys/bus/pci/devices/$bdf/remove"
	check_err $? "PCI remove of the primary failed"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	check_err $? "primary still enslaved after PCI remove: $(nf_roles)"
	nf_run ip link add nfimp-dum3 address "$NF_MAC" type dummy
	check_err $? "cannot create dummy"
	nf_run ip link add nfimp-veth2 address "$NF_MAC" type veth peer name nfimp-veth3 address "$NF_MAC"
	check_err $? "cannot create veth"
	impostors_check "$NF_SBY " nfimp-dum3 nfimp-veth2 nfimp-veth3
	# the real primary comes back with the impostors still there
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	check_err $? "e1000e not enslaved with impostors around: $(nf_roles)"
	local d
	for d in nfimp-dum3 nfimp-veth2 nfimp-veth3; do
		[ -z "$(nf_master_of "$d")" ]
		check_err $? "impostor $d enslaved after the rescan"
	done
	log_test
}

nf_main
