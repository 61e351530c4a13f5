#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Explicit pairing (the FreeBSD lagg way): a master made by hand with
# "ip link add NAME type net_failover", lower devices given to it with
# "ip link set DEV master NAME", whatever their MACs. Run in a network
# namespace of its own (nf-xns) with the igb PF (a PCI device whose MAC is not
# the standby's) as the primary and a veth as the standby:
#   explicit_create_delete      ip link add/del; kind net_failover in
#                               ip -d link, random locally administered MAC
#                               or the one asked for, no lower devices
#   explicit_pair_traffic       the veth becomes the standby and the master
#                               takes its MAC; the igb becomes the primary
#                               and takes the master's MAC; pings to the peer
#                               go through the igb; with the igb down, frames
#                               arrive at the veth's peer instead; back up,
#                               the igb again; each lower device's slave
#                               data (IFLA_INFO_SLAVE_DATA: role, active,
#                               held) follows; "nomaster" gives the igb its
#                               own MAC back, and the master's tx counter
#                               keeps what the igb sent since its last read
#   explicit_refusals           a second standby, a non-Ethernet device (tun)
#                               and another master are refused, each with
#                               the extack message of its reason; nothing
#                               changes
#   explicit_delete_releases    "ip link del" of a master with both lower
#                               devices releases them (MAC restored), and
#                               deleting a namespace holding a master is clean
#                               (the igb comes back, released)
#   explicit_tx_queue_from_primary
#                               32 UDP flows through the master use both tx
#                               queues of the igb (ethtool -S), not one (the
#                               e1000e of the other scripts has a single
#                               queue), and the master picks for each packet
#                               the queue the igb then uses (tracepoint
#                               net_dev_start_xmit on both, paired by skb)
#   explicit_mtu_rollback       with a VLAN-on-dummy standby (MTU range up to
#                               65535, but it refuses more than its dummy's
#                               MTU): the master's maximum is the igb's; an
#                               MTU the primary takes and the standby then
#                               refuses is refused, and the primary gets its
#                               MTU back (the rollback); once the dummy allows
#                               it, all three take it
# The master made by virtio_net keeps refusing all of this (bad_input.sh).
# With NF_MODULE=c every case SKIPs: the C driver has no rtnl_link_ops.

ALL_TESTS="
	explicit_create_delete
	explicit_pair_traffic
	explicit_refusals
	explicit_delete_releases
	explicit_tx_queue_from_primary
	explicit_mtu_rollback
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

XNS=nf-xns
XM=nfxfo0
XADDR=192.0.2.77

xn() { ip netns exec "$XNS" "$@"; }
# xread DEV FILE: /sys/class/net/DEV/FILE inside the namespace
xread() { xn cat "/sys/class/net/$1/$2" 2> /dev/null; }
xstat() { xread "$1" "statistics/$2"; }
# xfield DEV FIELD: a field of "ip -d -j link show" inside the namespace
xfield() { xn bash -c "$(declare -f nf_link_field); nf_link_field $1 $2"; }
# xmtus: MTUs of the master, the igb and the VLAN standby, as A/B/C
xmtus() { echo "$(xread "$XM" mtu)/$(xread "$XIGB" mtu)/$(xread nfxsb1 mtu)"; }
x_tx_path_is() { [ "$(xread "$XM" failover/tx_path)" = "$1" ]; }
xmaster() { xn ip -j link show dev "$1" 2> /dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get("master", ""))'; }
# IFLA_INFO_SLAVE_DATA of both lower devices (slaveinfo.py: stock iproute2
# does not decode it); x_roles_are PRI_ACTIVE SBY_ACTIVE
x_roles() { echo "$(xn python3 "$NF_LIB_DIR/slaveinfo.py" "$XIGB" 2>&1) / $(xn python3 "$NF_LIB_DIR/slaveinfo.py" nfxsb0 2>&1)"; }
# (each line starts with the device's own kind: none for the igb, veth)
x_roles_are()
{
	[[ "$(x_roles)" == "kind= slave_kind=net_failover role=primary active=$1 held=0 / kind=veth slave_kind=net_failover role=standby active=$2 held=0" ]]
}
xkind() {
	xn ip -d -j link show dev "$1" 2> /dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get("linkinfo", {}).get(sys.argv[1], ""))' "$2"
}

# The igb PF's netdev in the default namespace (before it is moved).
igb_dev() {
	local bdf
	bdf=$(nf_igb_pf_bdf) || return 1
	[ -n "$bdf" ] || return 1
	nf_pci_netdev "$bdf"
}

# xns_up: namespace with the igb PF (as $XIGB, its MAC in $XIGB_MAC) and a
# veth pair nfxsb0 (for the standby) / nfxpeer0 (up, counts what arrives).
xns_up() {
	local igb
	[ -n "$(nf_igb_pf_bdf)" ] || { nf_diag "no igb PF in this guest"; return 1; }
	modprobe -q igb
	# (the namespace of the case before gives it back from a work queue)
	igb=$(nf_wait "$NF_TIMEOUT" igb_dev) || { nf_diag "no igb PF netdev"; return 1; }
	nf_sriov_reset > /dev/null 2>&1
	XIGB=$igb
	XIGB_MAC=$(nf_mac "$igb")
	nf_defer xns_down
	ip netns add "$XNS" || return 1
	ip link set dev "$igb" netns "$XNS" || return 1
	xn ip link set lo up
	xn ip link add nfxsb0 type veth peer name nfxpeer0 || return 1
	xn ip link set nfxpeer0 up
	xn ip link set "$XIGB" up
}

# The igb comes back to the default namespace when the namespace goes.
xns_down() {
	ip netns del "$XNS" 2> /dev/null
	nf_wait "$NF_TIMEOUT" igb_dev > /dev/null || nf_diag "igb PF netdev not back after deleting $XNS"
}

explicit_create_delete()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local mac out
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	out=$(xn ip link add "$XM" type net_failover 2>&1)
	nf_check_err $? "ip link add $XM type net_failover: $out"
	nf_check_eq "kind" "$(xkind "$XM" info_kind)" net_failover
	nf_check_eq "driver" "$(xn ethtool -i "$XM" 2> /dev/null | sed -n 's/^driver: //p')" net_failover
	mac=$(xread "$XM" address)
	# random, unicast, locally administered: second hex digit 2, 6, a or e
	[[ "$mac" =~ ^.[26ae]: ]] && [ "$mac" != "$XIGB_MAC" ]
	nf_check_err $? "MAC '$mac' is not a random locally administered one"
	nf_check_eq "primary" "$(xread "$XM" failover/primary)" ""
	nf_check_eq "standby" "$(xread "$XM" failover/standby)" ""
	nf_check_eq "tx_path" "$(xread "$XM" failover/tx_path)" none
	xn ip link set "$XM" up
	nf_check_eq "carrier without lower devices" "$(xread "$XM" carrier)" 0
	out=$(xn ip link del "$XM" 2>&1)
	nf_check_err $? "ip link del $XM: $out"
	xn ip link show dev "$XM" > /dev/null 2>&1
	nf_check_fail $? "$XM still exists after ip link del"
	# the address asked for is kept
	xn ip link add nfxfo9 address 02:11:22:33:44:55 type net_failover
	nf_check_eq "MAC asked for" "$(xread nfxfo9 address)" 02:11:22:33:44:55
	xn ip link del nfxfo9
	nf_log_test
}

# x_ping N: pings from the namespace's master to the peer
x_ping() { xn ping -q -c "${1:-3}" -i 0.3 -W 2 "$NF_PEER4" > /dev/null 2>&1; }

explicit_pair_traffic()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local sb_mac tx0 peer0 d out m0 dm leak b0 db
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	xn ip link add "$XM" type net_failover
	nf_check_err $? "cannot create $XM" || { nf_log_test; return; }
	sb_mac=$(xread nfxsb0 address)

	out=$(xn ip link set dev nfxsb0 master "$XM" 2>&1)
	nf_check_err $? "enslaving the veth: $out"
	nf_check_eq "standby" "$(xread "$XM" failover/standby)" nfxsb0
	nf_check_eq "master MAC after the standby joined" "$(xread "$XM" address)" "$sb_mac"
	out=$(xn ip link set dev "$XIGB" master "$XM" 2>&1)
	nf_check_err $? "enslaving the igb: $out"
	nf_check_eq "primary" "$(xread "$XM" failover/primary)" "$XIGB"
	nf_check_eq "igb MAC while enslaved" "$(xread "$XIGB" address)" "$sb_mac"
	nf_check_eq "master MAC" "$(xread "$XM" address)" "$sb_mac"
	for d in nfxsb0 "$XIGB"; do
		nf_check_eq "master of $d" "$(xmaster "$d")" "$XM"
		nf_check_eq "slave kind of $d" "$(xkind "$d" info_slave_kind)" net_failover
	done
	nf_wait "$NF_TIMEOUT" x_roles_are 1 0
	nf_check_err $? "slave data with both enslaved: $(x_roles)"

	xn ip addr add "$XADDR/${NF_PREFIX4:-24}" dev "$XM"
	xn ip link set "$XM" up
	nf_wait 30 x_ping 1
	nf_check_err $? "no ping to $NF_PEER4 through $XM with the igb as primary"
	nf_check_eq "tx_path" "$(xread "$XM" failover/tx_path)" primary
	tx0=$(xstat "$XIGB" tx_packets)
	peer0=$(xstat nfxpeer0 rx_packets)
	x_ping 5
	nf_check_err $? "pings through the primary lost"
	d=$(nf_num_diff "$tx0" "$(xstat "$XIGB" tx_packets)")
	[[ "$d" =~ ^[0-9]+$ ]] && [ "$d" -ge 5 ]
	nf_check_err $? "igb sent $d frames for 5 pings"
	# nothing leaks to the standby meanwhile (2 frames of slack for what
	# the stack sends on its own, e.g. an IPv6 report)
	leak=$(nf_num_diff "$peer0" "$(xstat nfxpeer0 rx_packets)")
	nf_diag "via the primary: igb tx +$d, veth peer rx +$leak"
	[[ "$leak" =~ ^[0-9]+$ ]] && [ "$leak" -le 2 ]
	nf_check_err $? "the standby sent $leak frames while the primary carried 5 pings"

	# the primary down: the standby carries (no reply: the veth's peer is
	# not the network)
	xn ip link set "$XIGB" down
	nf_wait "$NF_TIMEOUT" x_tx_path_is standby
	nf_check_err $? "tx_path '$(xread "$XM" failover/tx_path)' with the igb down"
	nf_wait "$NF_TIMEOUT" x_roles_are 0 1
	nf_check_err $? "slave data with the igb down: $(x_roles)"
	# big pings (1200 bytes of data, 1242-byte frames): the bytes tell them
	# from the small frames the path switch sends (gratuitous ARP, NA)
	peer0=$(xstat nfxpeer0 rx_packets)
	b0=$(xstat nfxpeer0 rx_bytes)
	xn ping -q -c 5 -i 0.3 -W 1 -s 1200 "$NF_PEER4" > /dev/null 2>&1
	d=$(nf_num_diff "$peer0" "$(xstat nfxpeer0 rx_packets)")
	db=$(nf_num_diff "$b0" "$(xstat nfxpeer0 rx_bytes)")
	[[ "$d" =~ ^[0-9]+$ ]] && [ "$d" -ge 5 ] && [[ "$db" =~ ^[0-9]+$ ]] && [ "$db" -ge $((5 * 1242)) ]
	nf_check_err $? "the veth's peer got $d frames ($db bytes) for 5 pings of 1242-byte frames through the standby"
	nf_diag "via the standby: veth peer rx +$d frames, +$db bytes"

	xn ip link set "$XIGB" up
	nf_wait 60 x_ping 1
	nf_check_err $? "no ping through the igb once it is up again"
	nf_check_eq "tx_path with the igb up again" "$(xread "$XM" failover/tx_path)" primary
	nf_wait "$NF_TIMEOUT" x_roles_are 1 0
	nf_check_err $? "slave data with the igb up again: $(x_roles)"

	# what the primary sent after the master's last read is folded into the
	# master's counters when it is released ("nomaster" calls ndo_del_slave
	# directly: nothing reads the master's counters in between, unlike an
	# unplug, whose path switch notifies peers and so reads them first)
	m0=$(xstat "$XM" tx_packets)
	tx0=$(xstat "$XIGB" tx_packets)
	x_ping 20
	d=$(nf_num_diff "$tx0" "$(xstat "$XIGB" tx_packets)")
	out=$(xn ip link set dev "$XIGB" nomaster 2>&1)
	nf_check_err $? "ip link set $XIGB nomaster: $out"
	dm=$(nf_num_diff "$m0" "$(xstat "$XM" tx_packets)")
	nf_figure "igb sent $d since the master's last read; master tx +$dm once it was released"
	[[ "$d" =~ ^[0-9]+$ ]] && [ "$d" -ge 20 ] && [[ "$dm" =~ ^[0-9]+$ ]] && [ "$dm" -ge "$d" ]
	nf_check_err $? "master tx_packets +$dm after releasing the igb, which had sent $d frames since the master's last read"
	nf_check_eq "master of the igb after nomaster" "$(xmaster "$XIGB")" ""
	nf_check_eq "igb MAC after nomaster" "$(xread "$XIGB" address)" "$XIGB_MAC"
	nf_check_eq "primary after nomaster" "$(xread "$XM" failover/primary)" ""
	nf_check_eq "tx_path after nomaster" "$(xread "$XM" failover/tx_path)" standby
	nf_log_test
}

# x_refused WHAT DEV: "ip link set DEV master $XM" must fail with an
# extack message ("Error: net_failover: ...")
# x_refused WHAT DEV [MESSAGE]: enslaving DEV to the master fails with the
# driver's extack message (MESSAGE, the reason, when given)
# x_refused WHAT DEV REASON [MASTER]: enslaving DEV to MASTER (default $XM)
# fails with REASON in the extack message, and DEV stays without a master
x_refused() {
	local out rc
	out=$(xn ip link set dev "$2" master "${4:-$XM}" 2>&1)
	rc=$?
	nf_diag "$1: rc=$rc $out"
	[ "$rc" -ne 0 ] && [[ "$out" == *"Error: net_failover: ${3:-}"* ]]
	nf_check_err $? "$1: want the extack error 'net_failover: ${3:-...}', got rc=$rc '$out'"
	nf_check_eq "$1: master of $2" "$(xmaster "$2")" ""
}

explicit_refusals()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local before
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	xn ip link add "$XM" type net_failover
	xn ip link set dev nfxsb0 master "$XM"
	nf_check_err $? "cannot enslave the standby"
	before="$(xread "$XM" failover/standby) $(xread "$XM" address)"
	xn ip link add nfxsb1 type veth peer name nfxpeer1
	x_refused "a second non-PCI device" nfxsb1 "the master already has a standby"
	modprobe -q tun
	if xn ip tuntap add dev nfxtun0 mode tun 2> /dev/null; then
		x_refused "a tun device (not Ethernet)" nfxtun0 "not an Ethernet device"
	else
		nf_skip_part "the refusal of a tun device (cannot create one)"
	fi
	xn ip link add nfxfo1 type net_failover
	x_refused "another failover master" nfxfo1 "a master cannot be a lower device"
	# and to a master with both roles free, where nothing else would
	# refuse it (it is not PCI: it would be taken as the standby)
	xn ip link add nfxfo2 type net_failover
	x_refused "another failover master, to a master without lowers" nfxfo1 \
		"a master cannot be a lower device" nfxfo2
	xn ip link del nfxfo2
	nf_check_eq "standby and MAC" "$(xread "$XM" failover/standby) $(xread "$XM" address)" "$before"
	# the master cannot be enslaved to itself either
	x_refused "the master itself" "$XM"
	# released by hand: the master keeps the standby's MAC, the veth is free
	xn ip link set dev nfxsb0 nomaster
	nf_check_err $? "ip link set nfxsb0 nomaster failed"
	nf_check_eq "standby after nomaster" "$(xread "$XM" failover/standby)" ""
	nf_check_eq "master of nfxsb0 after nomaster" "$(xmaster nfxsb0)" ""
	nf_log_test
}

explicit_delete_releases()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local out
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	xn ip link add "$XM" type net_failover
	xn ip link set dev nfxsb0 master "$XM" && xn ip link set dev "$XIGB" master "$XM"
	nf_check_err $? "cannot enslave both" || { nf_log_test; return; }
	xn ip link set "$XM" up
	nf_dmesg_mark X_MARK
	out=$(xn ip link del "$XM" 2>&1)
	nf_check_err $? "ip link del $XM: $out"
	nf_check_eq "master of the igb" "$(xmaster "$XIGB")" ""
	nf_check_eq "master of the veth" "$(xmaster nfxsb0)" ""
	nf_check_eq "igb MAC" "$(xread "$XIGB" address)" "$XIGB_MAC"
	# released lower devices are closed, as bonding does
	nf_check_eq "igb closed" "$(( $(xread "$XIGB" flags) & 1 ))" 0
	# this deletion's line (explicit_create_delete logged one too; the kernel
	# log copy may lag behind)
	_x_deleted() { nf_dmesg_since_mark X_MARK | grep -qF "$XM: failover master $XM deleted"; }
	nf_wait "$NF_TIMEOUT" _x_deleted
	nf_check_err $? "no 'deleted' line in the kernel log"
	# a namespace holding a master with lower devices goes away cleanly: the
	# veth goes with it, the igb comes back
	xn ip link add "$XM" type net_failover
	xn ip link set dev nfxsb0 master "$XM" && xn ip link set dev "$XIGB" master "$XM"
	nf_check_err $? "cannot enslave both again"
	ip netns del "$XNS"
	nf_wait "$NF_TIMEOUT" igb_dev > /dev/null
	nf_check_err $? "the igb did not come back after deleting $XNS"
	nf_check_eq "igb master after the namespace went" "$(nf_master_of "$(igb_dev)")" ""
	# it left the namespace before the master was deleted: released like a
	# device that goes away, it keeps the master's MAC (documented)
	nf_diag "igb MAC after the namespace went: $(nf_mac "$(igb_dev)") (own $XIGB_MAC)"
	ip link set dev "$(igb_dev)" address "$XIGB_MAC"
	nf_log_test
}

# The queue each packet was given by the master and then by the igb:
# net_dev_start_xmit fires for the master's ndo_start_xmit and again for the
# igb's, each time with the device's queue_mapping; the two events of one
# packet share its skbaddr. A tracefs instance of our own, counter clock.
NF_Q_TRACE=/sys/kernel/tracing/instances/nf_queue
q_trace_start()
{
	nf_trace_instance "$NF_Q_TRACE" counter || return 1
	echo "name == \"$XM\" || name == \"$XIGB\"" > "$NF_Q_TRACE/events/net/net_dev_start_xmit/filter" || return 1
	echo 1 > "$NF_Q_TRACE/events/net/net_dev_start_xmit/enable"
}
q_trace_stop() { echo 0 > "$NF_Q_TRACE/events/net/net_dev_start_xmit/enable"; }
# q_pairs: "PAIRS MISMATCHES": packets seen at the master and then at the igb,
# and how many of them the igb sent on another queue than the master chose
q_pairs()
{
	awk -v m="$XM" -v p="$XIGB" '
	match($0, / dev=[^ ]+ queue_mapping=[0-9]+ skbaddr=[^ ]+/) {
		split(substr($0, RSTART + 1, RLENGTH - 1), f, /[ =]/)
		if (f[2] == m) { q[f[6]] = f[4]; next }
		if (f[2] == p && (f[6] in q)) {
			n++
			if (q[f[6]] != f[4]) bad++
			delete q[f[6]]
		}
	}
	END { printf "%d %d\n", n, bad }' "$NF_Q_TRACE/trace"
}

# igb_txq N: packets the igb sent on its tx queue N (ethtool -S)
igb_txq() { xn ethtool -S "$XIGB" 2> /dev/null | awk -v k="tx_queue_$1_packets:" '$1 == k {print $2}'; }

explicit_tx_queue_from_primary()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local q0 q1 d0 d1 nq pairs bad
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	xn ip link add "$XM" type net_failover &&
		xn ip link set "$XIGB" master "$XM" &&
		xn ip addr add "$XADDR/${NF_PREFIX4:-24}" dev "$XM" &&
		xn ip link set "$XM" up
	nf_check_err $? "cannot make a master with the igb as primary" || { nf_log_test; return; }
	# (the glob in the namespace's own sysfs, which "ip netns exec" mounts)
	nq=$(xn sh -c "ls -d /sys/class/net/$XIGB/queues/tx-*" 2> /dev/null | wc -l)
	[ "$nq" -ge 2 ]
	nf_check_err $? "the igb has $nq tx queues, the case needs 2 or more" || { nf_log_test; return; }
	nf_wait 30 x_ping 1
	nf_check_err $? "no ping to $NF_PEER4 through $XM"
	q0=$(igb_txq 0)
	q1=$(igb_txq 1)
	q_trace_start
	nf_check_err $? "cannot trace net_dev_start_xmit" || { nf_log_test; return; }
	nf_defer q_trace_stop
	# one socket per flow: each gets its own hash, which the primary maps
	# to one of its queues
	xn python3 -c '
import socket, sys
for i in range(32):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 0))
    for _ in range(5):
        s.sendto(b"nf-queue", (sys.argv[2], 9))
    s.close()
' "$XADDR" "$NF_PEER4"
	nf_check_err $? "cannot send the UDP flows"
	d0=$(nf_num_diff "$q0" "$(igb_txq 0)")
	d1=$(nf_num_diff "$q1" "$(igb_txq 1)")
	nf_figure "igb tx queue 0 +$d0, queue 1 +$d1 for 32 flows of 5 datagrams"
	# all 32 flows on one queue by chance: 2 in 2^32 with two queues
	[[ "$d0" =~ ^[0-9]+$ ]] && [[ "$d1" =~ ^[0-9]+$ ]] && [ "$d0" -gt 0 ] && [ "$d1" -gt 0 ]
	nf_check_err $? "the flows did not spread over the igb's queues (queue 0 +$d0, queue 1 +$d1)"
	# the igb's queuing is asynchronous: wait until its events are in
	_q_all_paired() { local r; r=$(q_pairs); [ "${r% *}" -ge 150 ]; }
	nf_wait "$NF_TIMEOUT" _q_all_paired
	q_trace_stop
	read -r pairs bad <<< "$(q_pairs)"
	nf_figure "$pairs packets traced at the master and the igb, $bad on another igb queue than the master chose"
	[ "$pairs" -ge 150 ] && [ "$bad" = 0 ]
	nf_check_err $? "the master's queue differs from the igb's for $bad of $pairs packets (want 0 of at least 150 of the 160 datagrams)"
	xn ip link del "$XM"
	nf_log_test
}

explicit_mtu_rollback()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local out rc pmax cc0 cc1
	xns_up
	nf_check_err $? "namespace set-up failed" || { nf_log_test; return; }
	# the standby: a VLAN on a dummy, whose range is wide but whose
	# ndo_change_mtu refuses more than the dummy's MTU (ERANGE): a refusal
	# inside the range, which only the driver's rollback can undo
	xn ip link add nfxdum0 type dummy &&
		xn ip link set nfxdum0 up &&
		xn ip link add link nfxdum0 name nfxsb1 type vlan id 7 &&
		xn ip link add "$XM" type net_failover &&
		xn ip link set nfxsb1 master "$XM" &&
		xn ip link set "$XIGB" master "$XM" &&
		xn ip link set "$XM" up
	nf_check_err $? "cannot pair the igb and a VLAN on a dummy" || { nf_log_test; return; }
	pmax=$(xfield "$XIGB" max_mtu)
	nf_diag "max_mtu master $(xfield "$XM" max_mtu) primary $pmax standby $(xfield nfxsb1 max_mtu)"
	# what both accept: the primary's maximum caps the standby's wider range
	[ -n "$pmax" ] && [ "$pmax" -lt "$(xfield nfxsb1 max_mtu)" ]
	nf_check_err $? "the primary's max_mtu ($pmax) is not the narrower one here"
	nf_check_eq "master max_mtu (the primary's)" "$(xfield "$XM" max_mtu)" "$pmax"
	nf_check_eq "MTUs master/primary/standby" "$(xmtus)" 1500/1500/1500
	cc0=$(xread "$XIGB" carrier_changes)
	out=$(xn ip link set dev "$XM" mtu 2000 2>&1)
	rc=$?
	nf_diag "MTU 2000: rc=$rc $out"
	[ "$rc" -ne 0 ]
	nf_check_err $? "MTU 2000 accepted although the standby refuses it"
	# the primary took 2000 (an e1000e-style reset: its carrier changed) and
	# was given 1500 back
	cc1=$(xread "$XIGB" carrier_changes)
	nf_diag "primary carrier_changes $cc0 -> $cc1"
	nf_check_eq "MTUs after the refusal (primary rolled back)" "$(xmtus)" 1500/1500/1500
	xn ip link set nfxdum0 mtu 2000
	out=$(xn ip link set dev "$XM" mtu 2000 2>&1)
	nf_check_err $? "MTU 2000 refused with the dummy at 2000: $out"
	nf_check_eq "MTUs at 2000" "$(xmtus)" 2000/2000/2000
	out=$(xn ip link del "$XM" 2>&1)
	nf_check_err $? "ip link del $XM: $out"
	nf_log_test
}

nf_main
