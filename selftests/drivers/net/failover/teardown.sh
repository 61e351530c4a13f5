#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 10: teardown. Unbinding the virtio device from virtio_net destroys
# the master while the primary is enslaved: the master and the standby go
# away, the primary is released completely (no master/upper links, addrconf
# allowed again, its rx_handler free so a bridge can take it) and works on its
# own. Binding again rebuilds the topology and enslaves the already-present
# primary (but not a same-MAC dummy created meanwhile). net_failover cannot be
# unloaded while virtio_net uses it; "rmmod virtio_net net_failover" then a
# fresh bring-up gives the topology back.
#
# No case differs for the C reference.

ALL_TESTS="
	unbind_releases_primary
	rebind_restores_topology
	module_in_use_refused
	rmmod_and_reload
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

VIRTIO_NET_DRV=/sys/bus/virtio/drivers/virtio_net

virtio_dev_of_master() { basename "$(readlink -f "/sys/class/net/$NF_M/device")"; }
master_gone() { ! nf_dev_exists "$1"; }
rebind() { [ -e "/sys/bus/virtio/devices/$1/driver" ] || echo "$1" > "$VIRTIO_NET_DRV/bind"; }
has_ll() { ip -6 addr show dev "$1" scope link 2> /dev/null | grep -q fe80; }

unbind_releases_primary()
{
	local vdev pri=$NF_PRI m=$NF_M sby=$NF_SBY out
	vdev=$(virtio_dev_of_master)
	nf_defer rebind "$vdev"
	nf_defer ip link del nftd-br0
	nf_defer ip addr flush dev "$pri"
	echo "$vdev" > "$VIRTIO_NET_DRV/unbind"
	nf_check_err $? "cannot unbind $vdev from virtio_net"
	nf_wait "$NF_TIMEOUT" master_gone "$m"
	nf_check_err $? "master $m still there after unbind"
	nf_wait "$NF_TIMEOUT" master_gone "$sby"
	nf_check_err $? "standby $sby still there after unbind"
	nf_dev_exists "$pri"
	nf_check_err $? "primary $pri vanished"
	[ -z "$(nf_master_of "$pri")" ]
	nf_check_err $? "primary still has master $(nf_master_of "$pri")"
	! ls -d /sys/class/net/"$pri"/upper_* > /dev/null 2>&1
	nf_check_err $? "primary still has upper links"
	# usable on its own
	ip link set dev "$pri" up
	nf_run ip addr add "$NF_ADDR4/$NF_PREFIX4" dev "$pri"
	nf_check_err $? "cannot add $NF_ADDR4 to the released primary"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$pri" 1
	nf_check_err $? "released primary has no carrier"
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping through the released primary alone"
	# IFF_NO_ADDRCONF cleared: a link-local address appears
	nf_wait "$NF_TIMEOUT" has_ll "$pri"
	nf_check_err $? "no IPv6 link-local on the released primary (IFF_NO_ADDRCONF left set?)"
	ip addr flush dev "$pri"
	ip link set dev "$pri" down
	# rx_handler released: a bridge can take the device
	modprobe -q bridge
	if out=$(ip link add nftd-br0 type bridge 2>&1); then
		nf_run ip link set dev "$pri" master nftd-br0
		nf_check_err $? "released primary cannot join a bridge (rx_handler/upper left behind?)"
		ip link set dev "$pri" nomaster
		ip link del nftd-br0
	else
		nf_skip_part "rx_handler release (cannot create a bridge: $out)"
	fi
	rebind "$vdev"
	nf_check_err $? "cannot bind $vdev again"
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "topology not back after rebinding: $(nf_roles)"
	nf_log_test
}

rebind_restores_topology()
{
	local vdev pri=$NF_PRI out
	vdev=$(virtio_dev_of_master)
	nf_defer rebind "$vdev"
	nf_defer ip link del nftd-dum0
	echo "$vdev" > "$VIRTIO_NET_DRV/unbind"
	nf_check_err $? "cannot unbind $vdev"
	nf_wait "$NF_TIMEOUT" master_gone "$NF_M"
	nf_check_err $? "master still there after unbind"
	# an impostor exists before the master: the creation-time scan must skip it
	modprobe -q dummy
	out=$(ip link add nftd-dum0 address "$NF_MAC" type dummy 2>&1) && ip link set dev nftd-dum0 up ||
		nf_skip_part "same-MAC dummy present at creation (cannot create it: $out)"
	ip link set dev "$pri" up
	rebind "$vdev"
	nf_check_err $? "cannot bind $vdev again"
	nf_wait "$NF_TIMEOUT" nf_has_standby
	nf_check_err $? "no master+standby after rebinding"
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "existing primary $pri not enslaved by the new master: $(nf_roles)"
	nf_discover
	nf_check_eq "primary after rebind" "$NF_PRI" "$pri"
	if nf_dev_exists nftd-dum0; then
		[ -z "$(nf_master_of nftd-dum0)" ]
		nf_check_err $? "same-MAC dummy enslaved by the new master"
	fi
	nf_check_eq "number of lowers" "$(nf_lowers "$NF_M" | wc -l)" 2
	nf_bringup
	nf_check_err $? "bring-up after rebind failed"
	nf_log_test
}

module_in_use_refused()
{
	local out
	out=$(rmmod net_failover 2>&1)
	nf_check_fail $? "rmmod net_failover succeeded while virtio_net uses it"
	nf_diag "rmmod net_failover: $out"
	[ -d /sys/module/net_failover ]
	nf_check_err $? "net_failover module gone"
	nf_has_primary
	nf_check_err $? "topology changed: $(nf_roles)"
	nf_ping_peer 3
	nf_check_err $? "no ping afterwards"
	nf_log_test
}

rmmod_and_reload()
{
	local m=$NF_M pri=$NF_PRI
	if [ ! -e /sys/module/virtio_net/initstate ]; then
		nf_log_test_skip "$NF_CUR_TEST" "virtio_net is built in"
		return
	fi
	if [ ! -e /sys/module/net_failover/initstate ]; then
		nf_log_test_skip "$NF_CUR_TEST" "net_failover is built in"
		return
	fi
	nf_run rmmod virtio_net
	nf_check_err $? "rmmod virtio_net failed"
	nf_wait "$NF_TIMEOUT" master_gone "$m"
	nf_check_err $? "master $m still there after rmmod virtio_net"
	[ -z "$(nf_master_of "$pri")" ]
	nf_check_err $? "primary still enslaved after rmmod virtio_net"
	# released as the C driver releases it: closed, left to its admin
	nf_is_up "$pri"
	nf_check_fail $? "primary $pri still UP after its release"
	nf_run rmmod net_failover
	nf_check_err $? "rmmod net_failover failed"
	[ ! -d /sys/module/net_failover ]
	nf_check_err $? "net_failover still loaded"
	if [ "$NF_MODULE" = c ]; then
		nf_run rmmod failover
		nf_check_err $? "rmmod failover failed"
	fi
	nf_bringup
	nf_check_err $? "topology not back after reloading the modules"
	nf_discover
	nf_check_eq "primary after reload" "$NF_PRI" "$pri"
	nf_log_test
}

nf_main
