#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Uevents for userspace hooks: the master sends a KOBJ_CHANGE uevent
# (ACTION=change SUBSYSTEM=net INTERFACE=<master>) with FAILOVER_EVENT=...
# on every enslave, release and transmit path change. A netlink listener
# (NETLINK_KOBJECT_UEVENT, the kernel's multicast group, as udevd uses) must
# see each:
#   uevent_tx_path           primary down: tx_path TX=standby LOWER=<standby>;
#                            up again: tx_path TX=primary LOWER=<primary>
#   tx_path_switch_precedes_close
#                            primary down: the master switches away at the
#                            primary's NETDEV_GOING_DOWN, so the tx_path
#                            uevent comes before the primary driver's
#                            ndo_stop (e1000e_close) runs, in one trace
#                            with a global event counter as its clock
#   uevent_primary_left_joined
#                            PCI remove of the primary: primary_left
#                            ROLE=primary LOWER=<primary> and tx_path
#                            TX=standby; rescan: primary_joined with the new
#                            primary's name, then tx_path TX=primary
#   uevent_standby_left_joined
#                            unbind the virtio device from virtio_net:
#                            primary_left and standby_left on the old master;
#                            bind again: standby_joined and primary_joined on
#                            the new master
#
# C reference: SKIP (it sends no uevents).

ALL_TESTS="
	uevent_tx_path
	tx_path_switch_precedes_close
	uevent_primary_left_joined
	uevent_standby_left_joined
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

VIRTIO_NET_DRV=/sys/bus/virtio/drivers/virtio_net

# ue_start: a listener writing one line per failover uevent into $UE_LOG
ue_start()
{
	UE_LOG=$NF_TMP/uevents-$NF_CUR_TEST.log
	: > "$UE_LOG"
	python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)  # NETLINK_KOBJECT_UEVENT
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((0, 1))  # the kernel group
out = open(sys.argv[1], "a", buffering=1)
out.write("READY\n")
keys = ("ACTION", "SUBSYSTEM", "INTERFACE", "FAILOVER_EVENT", "FAILOVER_ROLE",
        "FAILOVER_LOWER", "FAILOVER_TX")
while True:
    parts = s.recv(1 << 16).split(b"\0")
    env = dict(p.decode(errors="replace").split("=", 1) for p in parts[1:] if b"=" in p)
    if "FAILOVER_EVENT" in env:
        out.write(" ".join(k + "=" + env[k] for k in keys if k in env) + "\n")
' "$UE_LOG" 2> "$NF_TMP/uevents-$NF_CUR_TEST.err" &
	UE_PID=$!
	nf_defer ue_stop
	# python starts slowly under TCG with the machine busy
	nf_wait "$NF_TIMEOUT" grep -q READY "$UE_LOG"
}
ue_stop() { [ -n "${UE_PID:-}" ] && kill "$UE_PID" 2> /dev/null && wait "$UE_PID" 2> /dev/null; UE_PID=; }

# ue_line FIELD...: number of the first event line holding every FIELD (k=v)
ue_line()
{
	awk -v want="$*" 'BEGIN { n = split(want, w, " ") }
		{ ok = 1; for (i = 1; i <= n; i++) if (index(" " $0 " ", " " w[i] " ") == 0) ok = 0
		  if (ok) { print NR; found = 1; exit } }
		END { exit !found }' "$UE_LOG"
}
ue_seen() { ue_line "$@" > /dev/null; }
# ue_expect WHAT FIELD...: wait for an event with every FIELD, fail with WHAT
ue_expect()
{
	local what=$1
	shift
	nf_wait "$NF_TIMEOUT" ue_seen "$@"
	nf_check_err $? "no uevent $what ($*); seen: $(tr '\n' ';' < "$UE_LOG")"
}

uevent_tx_path()
{
	nf_skip_if_c "uevents" && return
	local pri=$NF_PRI sby=$NF_SBY base="ACTION=change SUBSYSTEM=net INTERFACE=$NF_M"
	if ! ue_start; then
		nf_check_err 1 "uevent listener not ready: $(head -c 300 "$NF_TMP/uevents-$NF_CUR_TEST.err")"
		nf_log_test
		return
	fi
	nf_defer ip link set dev "$pri" up
	ip link set dev "$pri" down
	nf_check_err $? "cannot take the primary $pri down"
	ue_expect "for the switch to the standby" $base FAILOVER_EVENT=tx_path FAILOVER_TX=standby \
		FAILOVER_ROLE=standby "FAILOVER_LOWER=$sby"
	ip link set dev "$pri" up
	nf_check_err $? "cannot bring the primary $pri up"
	ue_expect "for the switch back to the primary" $base FAILOVER_EVENT=tx_path FAILOVER_TX=primary \
		FAILOVER_ROLE=primary "FAILOVER_LOWER=$pri"
	# nothing else happened: no lower device joined or left
	! grep -qE "FAILOVER_EVENT=(primary|standby)_(joined|left)" "$UE_LOG"
	nf_check_err $? "join/leave uevents without a join or leave: $(tr '\n' ';' < "$UE_LOG")"
	nf_diag "$(cat "$UE_LOG")"
	nf_log_test
}

# The order of two kernel events, from kprobes in a tracefs instance of our
# own whose clock is a global counter (so the order does not depend on which
# CPU either ran on): the master's tx_path uevent (kobject_uevent_env() on
# the master's kobject, whose first environment string our driver makes
# FAILOVER_EVENT=...) and the primary driver's ndo_stop.
NF_ORDER_TRACE=/sys/kernel/tracing/instances/nf_order
order_trace_start()
{
	nf_kprobes_add nf_order \
		'p:nf_order/pri_close e1000e:e1000e_close' \
		'p:nf_order/uevent kobject_uevent_env obj=+0(+0(%di)):string env=+0(+0(%dx)):string tx=+0(+8(%dx)):string' || return 1
	nf_trace_instance "$NF_ORDER_TRACE" counter || return 1
	echo 1 > "$NF_ORDER_TRACE/events/nf_order/enable"
}
order_trace_stop() { echo 0 > "$NF_ORDER_TRACE/events/nf_order/enable"; }
# order_events: one word per event, in order: close, or the master's
# uevent's FAILOVER_EVENT, with ":" and its FAILOVER_TX when the second
# environment string is one (our driver sends FAILOVER_EVENT first, then
# FAILOVER_TX for a tx_path event)
order_events()
{
	awk -v m="$NF_M" '
	/ pri_close: / { print "close"; next }
	/ uevent: / && index($0, "obj=\"" m "\"") && match($0, /env="FAILOVER_EVENT=[a-z_]+"/) {
		w = substr($0, RSTART + 20, RLENGTH - 21)
		if (match($0, /tx="FAILOVER_TX=[a-z]+"/))
			w = w ":" substr($0, RSTART + 16, RLENGTH - 17)
		print w
	}' "$NF_ORDER_TRACE/trace" | tr '\n' ' '
}

tx_path_switch_precedes_close()
{
	nf_skip_if_c "uevents" && return
	local pri=$NF_PRI ev
	if ! order_trace_start; then
		nf_check_err 1 "cannot trace e1000e_close and kobject_uevent_env (kprobes)"
		nf_log_test
		return
	fi
	nf_defer order_trace_stop
	nf_defer ip link set dev "$pri" up
	ip link set dev "$pri" down
	nf_check_err $? "cannot take the primary $pri down"
	order_trace_stop
	ev=$(order_events)
	nf_diag "events in order: $ev"
	# the uevent and the close are both synchronous in the RTNL section of
	# "ip link set down": the trace is complete when the command returns
	# the switch to the standby, then the close, and no other path change
	# before the close
	case " $ev" in
	" tx_path:standby close "*) ;;
	*" close "*"tx_path:standby "*)
		nf_check_err 1 "the master switched away only after $pri closed (at NETDEV_DOWN, not NETDEV_GOING_DOWN): $ev" ;;
	*) nf_check_err 1 "want the switch to the standby, then the close of $pri, and nothing else before: $ev" ;;
	esac
	nf_log_test
}

uevent_primary_left_joined()
{
	nf_skip_if_c "uevents" && return
	local pri=$NF_PRI base="ACTION=change SUBSYSTEM=net INTERFACE=$NF_M" bdf new lj lt
	bdf=$(nf_pci_of "$pri")
	if ! ue_start; then
		nf_check_err 1 "uevent listener not ready: $(head -c 300 "$NF_TMP/uevents-$NF_CUR_TEST.err")"
		nf_log_test
		return
	fi
	nf_defer nf_pci_rescan_parent
	nf_pci_remove "$bdf"
	nf_check_err $? "cannot remove PCI function $bdf"
	ue_expect "for the primary leaving" $base FAILOVER_EVENT=primary_left FAILOVER_ROLE=primary \
		"FAILOVER_LOWER=$pri"
	ue_expect "for the switch to the standby" $base FAILOVER_EVENT=tx_path FAILOVER_TX=standby
	nf_pci_rescan_parent
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "the rescanned e1000e was not enslaved"
	new=$NF_PRI
	ue_expect "for the primary joining" $base FAILOVER_EVENT=primary_joined FAILOVER_ROLE=primary \
		"FAILOVER_LOWER=$new"
	ue_expect "for the switch to the new primary" $base FAILOVER_EVENT=tx_path FAILOVER_TX=primary \
		"FAILOVER_LOWER=$new"
	lj=$(ue_line FAILOVER_EVENT=primary_joined)
	lt=$(ue_line FAILOVER_EVENT=tx_path FAILOVER_TX=primary)
	[ -n "$lj" ] && [ -n "$lt" ] && [ "$lj" -lt "$lt" ]
	nf_check_err $? "primary_joined (line ${lj:-?}) not before tx_path primary (line ${lt:-?})"
	nf_diag "$(cat "$UE_LOG")"
	nf_log_test
}

uevent_standby_left_joined()
{
	nf_skip_if_c "uevents" && return
	local m=$NF_M sby=$NF_SBY pri=$NF_PRI vdev nm
	vdev=$(basename "$(readlink -f "/sys/class/net/$m/device")")
	if ! ue_start; then
		nf_check_err 1 "uevent listener not ready: $(head -c 300 "$NF_TMP/uevents-$NF_CUR_TEST.err")"
		nf_log_test
		return
	fi
	nf_defer nf_rebind_virtio "$vdev"
	echo "$vdev" > "$VIRTIO_NET_DRV/unbind"
	nf_check_err $? "cannot unbind $vdev from virtio_net"
	ue_expect "for the primary leaving the old master" "INTERFACE=$m" FAILOVER_EVENT=primary_left \
		"FAILOVER_LOWER=$pri"
	ue_expect "for the standby leaving the old master" "INTERFACE=$m" FAILOVER_EVENT=standby_left \
		"FAILOVER_LOWER=$sby"
	echo "$vdev" > "$VIRTIO_NET_DRV/bind"
	nf_check_err $? "cannot bind $vdev to virtio_net again"
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "no master with the e1000e enslaved after the rebind"
	nm=$NF_M
	ue_expect "for the standby joining the new master" "INTERFACE=$nm" FAILOVER_EVENT=standby_joined \
		FAILOVER_ROLE=standby "FAILOVER_LOWER=$NF_SBY"
	ue_expect "for the primary joining the new master" "INTERFACE=$nm" FAILOVER_EVENT=primary_joined \
		FAILOVER_ROLE=primary "FAILOVER_LOWER=$NF_PRI"
	nf_diag "$(cat "$UE_LOG")"
	nf_log_test
}
nf_rebind_virtio() { [ -e "/sys/bus/virtio/devices/$1/driver" ] || echo "$1" > "$VIRTIO_NET_DRV/bind"; }

nf_main
