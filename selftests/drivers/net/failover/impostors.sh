#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 6: devices carrying the standby's MAC that may not be enslaved.
#
# Candidates (their *permanent* MAC is the standby's, so the driver looks at
# them and must refuse them), hot-plugged by the host through QMP on the
# spare root port:
#   - second_primary_refused: a second e1000e while the primary is present
#     ("would be the primary, but a primary is already present");
#   - virtio_net_impostor_refused: a virtio-net-pci without failover=on, with
#     the primary slot free (PCI-removed): its parent is a virtio device, not
#     a PCI function ("is not the standby and its parent is not a PCI
#     device"), so it must not take the free slot; the e1000e gets it back.
#   Each must stay without a master, log the driver's refusal line and count
#   in "ethtool -S <master>" candidates_refused (Rust module only: C has no
#   ethtool stats, logs a different line for the first and none for the
#   second; there only "not enslaved" is asserted).
#
# Non-candidates: dummy, veth, macvlan, VLAN on the standby / primary, bond
# given the standby's MAC get a random or no permanent address, so the driver
# never even considers them (ethtool -P in the diagnostics). Each is created,
# brought up and removed; the master's lower set must not change, the
# impostor must never get a master, and traffic must go on; also with the
# primary slot free, after which the e1000e must get it back.

ALL_TESTS="
	dummy_same_mac
	veth_same_mac
	macvlan_same_mac
	vlan_on_slaves
	bond_same_mac
	impostors_with_primary_slot_free
	second_primary_refused
	virtio_net_impostor_refused
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
		nf_log_test_skip "$NF_CUR_TEST" "module $m not available"
		return 1
	done
}

# any_has_master DEV...: one of them has a master
any_has_master()
{
	local d
	for d in "$@"; do
		nf_master_of "$d" > /dev/null && return 0
	done
	return 1
}

# impostors_check BEFORE_LOWERS DEV...
impostors_check()
{
	local before=$1 d
	shift
	for d in "$@"; do
		nf_dev_exists "$d"
		nf_check_err $? "impostor $d was not created"
		nf_diag "impostor $d: addr $(nf_mac "$d") perm $(ethtool -P "$d" 2> /dev/null | awk '{print $3}')"
		ip link set dev "$d" up 2> /dev/null
	done
	# one 3 s window for all of them (each had it since it was created and
	# brought up), not one after the other
	if ! nf_never 3 any_has_master "$@"; then
		nf_check_err 1 "an impostor got a master"
		for d in "$@"; do
			nf_diag "impostor $d: master '$(nf_master_of "$d")'"
		done
	fi
	for d in "$@"; do
		[ $(($(nf_flags "$d") & 0x1)) -ne 0 ] || nf_diag "impostor $d is not UP"
	done
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping with impostors around"
}

# impostors_gone BEFORE_LOWERS: after deleting the impostors nothing moved
impostors_gone()
{
	nf_check_eq "lowers of $NF_M after removing impostors" "$(nf_lowers_str "$NF_M")" "$1"
	nf_e1000e_enslaved
	nf_check_err $? "e1000e no longer primary: $(nf_roles)"
	nf_ping_peer 3
	nf_check_err $? "no ping after removing impostors"
}

dummy_same_mac()
{
	need_mod dummy || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-dum0
	nf_run ip link add nfimp-dum0 address "$NF_MAC" type dummy
	nf_check_err $? "cannot create dummy"
	impostors_check "$before" nfimp-dum0
	ip link del nfimp-dum0
	impostors_gone "$before"
	nf_log_test
}

veth_same_mac()
{
	need_mod veth || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-veth0
	nf_run ip link add nfimp-veth0 address "$NF_MAC" type veth \
		peer name nfimp-veth1 address "$NF_MAC"
	nf_check_err $? "cannot create veth pair"
	impostors_check "$before" nfimp-veth0 nfimp-veth1
	ip link del nfimp-veth0
	impostors_gone "$before"
	nf_log_test
}

macvlan_same_mac()
{
	need_mod dummy macvlan || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-dum1
	nf_run ip link add nfimp-dum1 type dummy
	nf_check_err $? "cannot create dummy lower"
	ip link set dev nfimp-dum1 up
	nf_run ip link add link nfimp-dum1 name nfimp-mvl0 address "$NF_MAC" type macvlan mode bridge
	nf_check_err $? "cannot create macvlan"
	impostors_check "$before" nfimp-mvl0
	ip link del nfimp-dum1
	impostors_gone "$before"
	nf_log_test
}

vlan_on_slaves()
{
	need_mod 8021q || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-vs
	nf_defer ip link del nfimp-vp
	nf_run ip link add link "$NF_SBY" name nfimp-vs type vlan id 1977
	nf_check_err $? "cannot create a VLAN on the standby $NF_SBY"
	nf_run ip link add link "$NF_PRI" name nfimp-vp type vlan id 1978
	nf_check_err $? "cannot create a VLAN on the primary $NF_PRI"
	impostors_check "$before" nfimp-vs nfimp-vp
	nf_check_eq "VLAN on standby address" "$(nf_mac nfimp-vs)" "$(nf_mac "$NF_SBY")"
	ip link del nfimp-vs
	ip link del nfimp-vp
	impostors_gone "$before"
	nf_log_test
}

bond_same_mac()
{
	need_mod bonding dummy || return
	local before
	before=$(nf_lowers_str "$NF_M")
	nf_defer ip link del nfimp-bond0
	nf_defer ip link del nfimp-dum2
	nf_run ip link add nfimp-bond0 address "$NF_MAC" type bond mode active-backup
	nf_check_err $? "cannot create bond"
	nf_run ip link add nfimp-dum2 address "$NF_MAC" type dummy
	nf_check_err $? "cannot create bond slave dummy"
	nf_run ip link set dev nfimp-dum2 master nfimp-bond0
	nf_check_err $? "cannot enslave the dummy to the bond"
	impostors_check "$before" nfimp-bond0
	nf_check_eq "dummy's master" "$(nf_master_of nfimp-dum2)" nfimp-bond0
	ip link del nfimp-bond0
	ip link del nfimp-dum2
	impostors_gone "$before"
	nf_log_test
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
	nf_check_err $? "PCI remove of the primary failed"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still enslaved after PCI remove: $(nf_roles)"
	nf_run ip link add nfimp-dum3 address "$NF_MAC" type dummy
	nf_check_err $? "cannot create dummy"
	nf_run ip link add nfimp-veth2 address "$NF_MAC" type veth peer name nfimp-veth3 address "$NF_MAC"
	nf_check_err $? "cannot create veth"
	impostors_check "$NF_SBY " nfimp-dum3 nfimp-veth2 nfimp-veth3
	# the real primary comes back with the impostors still there
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "e1000e not enslaved with impostors around: $(nf_roles)"
	local d
	for d in nfimp-dum3 nfimp-veth2 nfimp-veth3; do
		[ -z "$(nf_master_of "$d")" ]
		nf_check_err $? "impostor $d enslaved after the rescan"
	done
	nf_log_test
}

# --- candidates hot-plugged through QMP ------------------------------------

# (named slaves_refused in builds before the lowers_* rename)
refused_count() { ethtool -S "$NF_M" 2> /dev/null | awk '$1 == "candidates_refused:" || $1 == "slaves_refused:" { print $2 }'; }

# netdev of the hot-plugged impostor: an e1000e function other than the
# primary's, or a virtio_net netdev of another virtio device than the master's
imp_netdev()
{
	local b d pb
	case "$1" in
	e1000e)
		pb=$(nf_pci_of "$NF_PRI" 2> /dev/null)
		for b in $(nf_pci_find "$NF_PCI_E1000E"); do
			[ "$b" = "$pb" ] && continue
			nf_pci_netdev "$b" && return 0
		done ;;
	virtio)
		for d in /sys/bus/virtio/drivers/virtio_net/virtio*/net/*; do
			[ -e "$d" ] || continue
			case "${d##*/}" in "$NF_M" | "$NF_SBY") continue ;; esac
			[ "$(readlink -f "$d/device")" = "$(readlink -f "/sys/class/net/$NF_M/device")" ] && continue
			echo "${d##*/}"
			return 0
		done ;;
	esac
	return 1
}
imp_gone() { ! imp_netdev "$1" > /dev/null; }

# imp_refused KIND REASON BEFORE_LOWERS: hot-plug a KIND impostor with the
# standby's MAC, assert that the driver refuses it for REASON; sets IMP
imp_refused()
{
	local kind=$1 reason=$2 before=$3 r0 r1 line
	r0=$(refused_count)
	nf_dmesg_mark IMP_MARK
	nf_defer host_do device_del imp0
	nf_run host_do device_add_impostor "$kind"
	nf_check_err $? "host could not hot-plug a $kind impostor"
	IMP=
	nf_wait "$NF_TIMEOUT" imp_netdev "$kind" > /dev/null
	nf_check_err $? "no netdev for the hot-plugged $kind"
	IMP=$(imp_netdev "$kind")
	[ -n "$IMP" ] || return 1
	nf_diag "impostor $IMP ($kind): addr $(nf_mac "$IMP") perm $(ethtool -P "$IMP" 2> /dev/null | awk '{print $3}')"
	nf_check_eq "permanent MAC of the $kind impostor" "$(ethtool -P "$IMP" 2> /dev/null | awk '{print $3}')" "$NF_MAC"
	# refused at its registration: left as it came, closed (nobody else
	# opens a new device in this guest)
	nf_check_eq "impostor $IMP admin state after its registration" "$(nf_admin_up "$IMP")" 0
	ip link set dev "$IMP" up 2> /dev/null
	nf_never 3 nf_master_of "$IMP" > /dev/null
	nf_check_err $? "impostor $IMP got master $(nf_master_of "$IMP")"
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	if [ "$NF_MODULE" = c ]; then
		nf_diag "C reference: refusal line and counter not asserted"
		return 0
	fi
	line="refusing to enslave $IMP to $NF_M: it $reason"
	_imp_logged() { nf_dmesg_since_mark IMP_MARK | grep -qF "$1"; }
	# (the kernel log copy is written by the runner: it may lag behind)
	nf_wait "$NF_TIMEOUT" _imp_logged "$line"
	nf_check_err $? "no '$line' in the kernel log"
	r1=$(refused_count)
	[[ "$r0" =~ ^[0-9]+$ ]] && [ "$r1" = $((r0 + 1)) ]
	nf_check_err $? "ethtool -S $NF_M candidates_refused: $r0 -> $r1 (want +1)"
}

# unplug the impostor through QMP (the guest acks the hot-unplug)
imp_unplug()
{
	nf_run host_do device_del imp0
	nf_check_err $? "host could not unplug the impostor"
	nf_wait "$NF_TIMEOUT" imp_gone "$1"
	nf_check_err $? "impostor netdev still there after device_del"
}

second_primary_refused()
{
	nf_require_host_ctl || return
	local before
	before=$(nf_lowers_str "$NF_M")
	imp_refused e1000e "would be the primary, but a primary is already present" "$before"
	nf_ping_peer 3
	nf_check_err $? "no ping with a second e1000e around"
	imp_unplug e1000e
	impostors_gone "$before"
	nf_log_test
}

virtio_net_impostor_refused()
{
	nf_require_host_ctl || return
	local bdf
	bdf=$(nf_pci_of "$NF_PRI")
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	echo 1 > "/sys/bus/pci/devices/$bdf/remove"
	nf_check_err $? "PCI remove of the primary failed"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still enslaved after PCI remove: $(nf_roles)"
	imp_refused virtio "is not the standby and its parent is not a PCI device" "$NF_SBY "
	nf_ping_peer 3
	nf_check_err $? "no ping through the standby with the impostor around"
	# the real primary comes back with the impostor still there
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "e1000e not enslaved with a virtio-net impostor around: $(nf_roles)"
	[ -z "$IMP" ] || [ -z "$(nf_master_of "$IMP")" ]
	nf_check_err $? "impostor $IMP enslaved after the rescan"
	imp_unplug virtio
	impostors_gone "$(nf_lowers_str "$NF_M")"
	nf_log_test
}

nf_main
