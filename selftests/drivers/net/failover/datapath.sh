#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Datapath and lower state rows that other scripts do not assert, each with
# traffic or state seen in the guest and at the peer's per-device taps
# (tap-sb carries what the standby sends, tap-pf what the primary sends; a
# tap's rx_packets in the peer namespace counts the frames the guest sent
# through that device):
#   tx_dropped_no_lower_ready   both lowers down: frames sent on the master
#                               (also straight to ndo_start_xmit with
#                               PACKET_QDISC_BYPASS) are counted in the
#                               master's tx_dropped and none leaves either tap
#   carrier_loss_primary_admin_up
#                               QMP set_link pf0 off: the primary loses its
#                               carrier but stays UP; tx moves to tap-sb, and
#                               back to tap-pf with set_link pf0 on
#   rx_via_standby_follows_tx_path
#                               frames the peer sends out of tap-sb reach the
#                               master only while the master transmits through
#                               the standby (primary down); while the primary
#                               is active they go only to listeners bound to
#                               the standby (RX_HANDLER_EXACT), the grace of
#                               1 s after a switch to the primary over
#   rx_standby_grace_unicast_only
#                               the peer streams unicast frames for the guest
#                               and broadcasts out of tap-sb while the primary
#                               comes back: received in the first second after
#                               the switch, the unicast ones go up to the
#                               master and broadcasts and multicasts do not;
#                               after it, neither does (timed by the kernel's receive
#                               stamps against the switch's, whatever the
#                               guest's speed; a socket on the standby shows
#                               what arrived)
#   peer_notified_on_switch     a gratuitous ARP and an unsolicited NA leave
#                               through the new lower's tap after each switch
#   promisc_allmulti_handover   the master's promisc/allmulti counts are given
#                               to a lower when it is enslaved and given back
#                               when it is released (netns move out and back)
#   master_queue_count          tx/rx queues of the master: num_possible_cpus()
#                               clamped to 16..256 (C: 16), never fewer than
#                               a lower's
# ethtool -S values of the master (tx_path, path_switches, primary_present,
# lowers_linked, lowers_released) are asserted where they move.
#
# With NF_MODULE=c: rx_standby_grace_unicast_only, peer_notified_on_switch
# and promisc_allmulti_handover SKIP (C has no grace, neither notifies peers
# nor has ndo_change_rx_flags); the ethtool -S
# checks are left out (C has none); in rx_via_standby_follows_tx_path the
# "primary down" half is a diagnostic: C hands standby frames to the master
# only while no primary is registered.

ALL_TESTS="
	tx_dropped_no_lower_ready
	carrier_loss_primary_admin_up
	rx_via_standby_follows_tx_path
	rx_standby_grace_unicast_only
	peer_notified_on_switch
	promisc_allmulti_handover
	master_queue_count
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

TAP_PRI=tap-pf
TAP_SBY=tap-sb

rust() { nf_rust_only; }
# es KEY: a value of "ethtool -S <master>"
es() { ethtool -S "$NF_M" 2> /dev/null | awk -v k="$1:" '$1 == k { print $2 }'; }
es_is() { [ "$(es "$1")" = "$2" ]; }
# ip -d -j link field of DEV in netns NS (empty NS: this one)
link_field_ns() {
	ip ${1:+-n "$1"} -d -j link show dev "$2" 2> /dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get(sys.argv[1], ""))' "$3"
}
rawframe() { python3 "$NF_LIB_DIR/rawframe.py" "$@"; }
oper_up() { [ "$(nf_read "/sys/class/net/$1/operstate")" = up ]; }
# the primary carries tx now: its link watcher has run (operstate up, set
# just before dev_activate() gives it a working qdisc; until then C sends into
# noop_qdisc and the Rust module keeps to the standby), and with the Rust
# module the master says so
primary_carries()
{
	oper_up "$NF_PRI" || return 1
	[ "${NF_MODULE:-rust}" = c ] || es_is tx_path 2
}

tx_dropped_no_lower_ready()
{
	nf_require_host_ctl || return
	local d0 d p0 s0 dp ds t0 t1 out1 out2 tok=drop$RANDOM
	nf_defer ip link set dev "$NF_PRI" up
	nf_defer ip link set dev "$NF_SBY" up
	ip link set dev "$NF_PRI" down && ip link set dev "$NF_SBY" down
	nf_check_err $? "cannot take both lowers down"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 0
	nf_check_err $? "master keeps carrier with both lowers down"
	nf_is_up "$NF_M"
	nf_check_err $? "master not UP"
	if rust; then
		nf_check_eq "ethtool -S tx_path with no lower ready" "$(es tx_path)" 0
	fi
	sleep 0.5
	d0=$(nf_stat "$NF_M" tx_dropped)
	p0=$(nf_stat "$NF_PRI" tx_packets)
	s0=$(nf_stat "$NF_SBY" tx_packets)
	t0=$(nf_tap_rx)
	# 50 frames straight to the driver's transmit, 20 through the qdisc layer
	out1=$(rawframe send --dev "$NF_M" --token "$tok" --count 50 --bypass 2>&1)
	out2=$(rawframe send --dev "$NF_M" --token "$tok" --count 20 2>&1)
	nf_diag "bypass: $out1; qdisc: $out2"
	sleep 0.5
	d=$(nf_stat_delta "$NF_M" tx_dropped "$d0")
	[ "${d:-0}" -ge 70 ]
	nf_check_err $? "master tx_dropped moved by ${d:-?} for 70 frames sent with no lower ready"
	dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
	ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s0")
	nf_check_eq "frames sent by the primary/standby (both down)" "$dp/$ds" 0/0
	t1=$(nf_tap_rx)
	nf_check_eq "frames at $TAP_PRI,$TAP_SBY" "$(nf_num_diff "${t0%,*}" "${t1%,*}"),$(nf_num_diff "${t0#*,}" "${t1#*,}")" 0,0
	nf_figure "tx_dropped+=$d for 70 frames"

	ip link set dev "$NF_SBY" up && ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master carrier not back with the lowers up"
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping after the lowers came back"
	nf_log_test
}

carrier_loss_primary_admin_up()
{
	nf_require_host_ctl || return
	local sw0 sw1
	sw0=$(es path_switches)
	nf_defer host_do set_link "$NF_PRIMARY_QDEV" on
	host_do set_link "$NF_PRIMARY_QDEV" off > /dev/null
	nf_check_err $? "host set_link $NF_PRIMARY_QDEV off failed"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 0
	nf_check_err $? "primary $NF_PRI keeps its carrier after set_link off"
	nf_is_up "$NF_PRI"
	nf_check_err $? "primary $NF_PRI not admin-up any more"
	nf_carrier_is "$NF_M" 1
	nf_check_err $? "master lost carrier with the standby ready"
	if rust; then
		nf_wait "$NF_TIMEOUT" es_is tx_path 1
		nf_check_err $? "ethtool -S tx_path '$(es tx_path)' with the primary's carrier off (want 1)"
	fi
	nf_carried_by standby

	host_do set_link "$NF_PRIMARY_QDEV" on > /dev/null
	nf_check_err $? "host set_link $NF_PRIMARY_QDEV on failed"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "primary $NF_PRI has no carrier after set_link on"
	if ! nf_wait "$NF_TIMEOUT" primary_carries; then
		nf_check_err 1 "primary not carrying after set_link on: operstate $(nf_read "/sys/class/net/$NF_PRI/operstate"), ethtool -S tx_path '$(es tx_path)' (want 2)"
	fi
	if rust; then
		sw1=$(es path_switches)
		[ -n "$sw0" ] && [ -n "$sw1" ] && [ $((sw1 - sw0)) -ge 2 ]
		nf_check_err $? "ethtool -S path_switches ${sw0:-?} -> ${sw1:-?} (want +2)"
	fi
	nf_carried_by primary
	nf_log_test
}

# the master's last path switch was at least $1 ms ago
switch_older_than() { local a; a=$(es ms_since_last_switch); [ -n "$a" ] && [ "$a" -ge "$1" ]; }

# rx_counts TAP WANT_M: the peer sends 20 tagged frames to our MAC out of TAP
# while the guest counts them on sockets bound to the master and to the
# standby; sets RX_M and RX_S. No fixed wait: the standby's socket gets every
# frame (also when the master does: the core hands the frame to both in the
# same __netif_receive_skb_core() pass), so once it has all 20, and the
# master's has WANT_M, the receivers stop and count what was queued, frames
# beyond those included.
rx_counts()
{
	local tap=$1 want_m=$2 tok=rx$RANDOM$RANDOM out
	RX_M=? RX_S=?
	rm -f "$NF_TMP/rx-stop"
	rawframe recv --dev "$NF_M" --token "$tok" --duration 600 --stop-file "$NF_TMP/rx-stop" \
		--expect "$want_m" > "$NF_TMP/rx-m" 2>&1 &
	local pm=$!
	rawframe recv --dev "$NF_SBY" --token "$tok" --duration 600 --stop-file "$NF_TMP/rx-stop" \
		--expect 20 > "$NF_TMP/rx-s" 2>&1 &
	local ps=$!
	if ! nf_wait 60 grep -q READY "$NF_TMP/rx-m" || ! nf_wait 60 grep -q READY "$NF_TMP/rx-s"; then
		nf_check_err 1 "guest receivers not ready"
	fi
	out=$(host_do peer "python3 $(printf %q "$(nf_host_path rawframe.py)") send --dev $tap --dst $NF_MAC --token $tok --count 20 --interval 0.01")
	nf_check_err $? "peer could not send out of $tap: $out"
	_rx_done() { ! kill -0 "$1" 2> /dev/null; }
	nf_wait "$NF_TIMEOUT" _rx_done "$ps"
	[ "$want_m" -gt 0 ] && nf_wait "$NF_TIMEOUT" _rx_done "$pm"
	touch "$NF_TMP/rx-stop"
	wait "$pm" "$ps"
	RX_M=$(sed -n 's/^received=//p' "$NF_TMP/rx-m")
	RX_S=$(sed -n 's/^received=//p' "$NF_TMP/rx-s")
	nf_diag "20 frames out of $tap: master got ${RX_M:-?}, standby socket ${RX_S:-?}"
}

rx_via_standby_follows_tx_path()
{
	nf_require_host_ctl || return
	if ! cp "$NF_LIB_DIR/rawframe.py" "$NF_RESULTS/rawframe.py" 2> /dev/null; then
		nf_check_err 1 "cannot copy rawframe.py into $NF_RESULTS"
		nf_log_test
		return
	fi
	# primary active: the standby's frames stop at the standby (once the
	# grace after a switch to the primary is over: its unicast frames for us
	# go up for 1 s after the switch, as the hypervisor's switch may still
	# send them there; the migration rig's mig_loss asserts that part)
	if rust; then
		nf_wait "$NF_TIMEOUT" switch_older_than 1100
		nf_check_err $? "ethtool -S ms_since_last_switch did not pass 1100 ms: $(es ms_since_last_switch)"
	fi
	rx_counts "$TAP_SBY" 0
	nf_check_eq "frames from $TAP_SBY at the standby's socket" "$RX_S" 20
	nf_check_eq "frames from $TAP_SBY at the master, primary active" "$RX_M" 0
	# primary down: the master transmits and receives through the standby
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_check_err $? "cannot take the primary down"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master lost carrier with the standby ready"
	if rust; then
		rx_counts "$TAP_SBY" 20
	else
		rx_counts "$TAP_SBY" 0
	fi
	nf_check_eq "frames from $TAP_SBY at the standby's socket, primary down" "$RX_S" 20
	if rust; then
		nf_check_eq "frames from $TAP_SBY at the master, primary down" "$RX_M" 20
	else
		nf_diag "C reference: master got $RX_M of 20 with the primary down (not asserted)"
	fi
	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "primary carrier not back"
	nf_log_test
}

# stamps_in FILE TOKEN FROM TO: frames of TOKEN in a receiver's stamps file
# (rawframe.py --stamps) received at a time in [FROM, TO) (CLOCK_REALTIME, s)
stamps_in() {
	awk -v t="$2" -v a="$3" -v b="$4" '$1 == t && $3 != "-" && $3 >= a && $3 < b { n++ } END { print n + 0 }' "$1"
}
has_stamps() { [ "$(stamps_in "$1" "$2" 0 1e12)" -ge "$3" ]; }
# none_up MASTER_STAMPS STANDBY_STAMPS TOKEN FROM FRAMES KIND WHEN: no frame of
# TOKEN received from FROM on reached the master (FRAMES "broadcasts", KIND
# "broadcast", WHEN "after the switch", for the messages); not judged when
# neither socket got one then (the standby's socket gets every frame)
none_up() {
	local nm ns
	nm=$(stamps_in "$1" "$3" "$4" 1e12) ns=$(stamps_in "$2" "$3" "$4" 1e12)
	if [ $((nm + ns)) -gt 0 ]; then
		nf_check_eq "$5 from $TAP_SBY at the master $7 (standby's socket: $ns)" "$nm" 0
	else
		nf_skip_part "no $6 of the stream received $7"
	fi
}

rx_standby_grace_unicast_only()
{
	nf_skip_if_c "the standby's rx grace after a switch to the primary" && return
	nf_require_host_ctl || return
	if ! cp "$NF_LIB_DIR/rawframe.py" "$NF_RESULTS/rawframe.py" 2> /dev/null; then
		nf_check_err 1 "cannot copy rawframe.py into $NF_RESULTS"
		nf_log_test
		return
	fi
	local tok=gr$RANDOM$RANDOM name=grace$RANDOM lo='' hi='' pm ps rf sw0 sw1
	local tu=${tok}u tb=${tok}b tm=${tok}m m=$NF_TMP/gr-m s=$NF_TMP/gr-s
	rf=$(printf %q "$(nf_host_path rawframe.py)")
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_check_err $? "cannot take the primary down"
	nf_wait "$NF_TIMEOUT" es_is tx_path 1
	nf_check_err $? "tx not through the standby with the primary down (tx_path $(es tx_path))" || {
		nf_log_test
		return
	}
	rm -f "$NF_TMP/gr-stop"
	rawframe recv --dev "$NF_M" --token "$tu,$tb,$tm" --duration 600 --stop-file "$NF_TMP/gr-stop" \
		--stamps "$m" > "$m.out" 2>&1 &
	pm=$!
	rawframe recv --dev "$NF_SBY" --token "$tu,$tb,$tm" --duration 600 --stop-file "$NF_TMP/gr-stop" \
		--stamps "$s" > "$s.out" 2>&1 &
	ps=$!
	if ! nf_wait 60 grep -q READY "$m.out" || ! nf_wait 60 grep -q READY "$s.out"; then
		nf_check_err 1 "guest receivers not ready"
	fi
	# 100 unicast frames for us, 100 broadcasts and 100 multicasts to all
	# IPv6 nodes (in every interface's filter) a second, until stopped
	host_do peer_bg "$name" "python3 $rf send --dev $TAP_SBY --dst $NF_MAC --token $tu --count 30000 --interval 0.01 &" \
		"python3 $rf send --dev $TAP_SBY --token $tb --count 30000 --interval 0.01 &" \
		"python3 $rf send --dev $TAP_SBY --dst 33:33:00:00:00:01 --token $tm --count 30000 --interval 0.01 & wait" \
		> /dev/null
	nf_check_err $? "peer senders not started"
	nf_defer host_do peer_kill "$name"
	# the stream arrives (through the standby, the tx path: to the master)
	nf_wait 60 has_stamps "$m" "$tu" 10
	nf_check_err $? "no unicast frames from $TAP_SBY at the master before the switch"
	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" es_is tx_path 2
	nf_check_err $? "tx not back on the primary (tx_path $(es tx_path))"
	sw0=$(es path_switches)
	# the grace over, and a second of frames after it
	nf_wait 60 switch_older_than 2500
	nf_check_err $? "ms_since_last_switch did not pass 2500: $(es ms_since_last_switch)"
	host_do peer_kill "$name"
	touch "$NF_TMP/gr-stop"
	wait "$pm" "$ps"
	# the switch's time on the receivers' clock (rawframe.py switched: one
	# ioctl between two clock reads), once no frame can come after it
	read -r lo hi < <(rawframe switched --dev "$NF_M")
	sw1=$(es path_switches)
	if [ -n "$sw0" ] && [ "$sw0" != "$sw1" ]; then
		# another switch (e1000e's carrier drop after a probe, say): the
		# windows would mix two grace periods
		nf_skip_part "the path switched again ($sw0 -> $sw1 switches) while the stream ran"
		nf_log_test
		return
	fi
	# the switch at [lo, hi]; 20 ms kept clear of each boundary
	[ -n "$hi" ]
	nf_check_err $? "the switch's time not read from $NF_M" || {
		nf_log_test
		return
	}
	nf_diag "switch between $lo and $hi"
	local g0 g1 a0
	g0=$(awk -v x="$hi" 'BEGIN { printf "%.6f", x + 0.02 }')
	g1=$(awk -v x="$lo" 'BEGIN { printf "%.6f", x + 0.98 }')
	a0=$(awk -v x="$hi" 'BEGIN { printf "%.6f", x + 1.02 }')
	nf_diag "received: master unicast $(stamps_in "$m" "$tu" 0 1e12), broadcast $(stamps_in "$m" "$tb" 0 1e12);" \
		"standby's socket unicast $(stamps_in "$s" "$tu" 0 1e12), broadcast $(stamps_in "$s" "$tb" 0 1e12)"
	# The standby's socket gets every frame the standby received, passed up
	# or not (the core delivers to the original device's protocol handlers
	# either way): it shows what arrived. A window in which the guest
	# processed none of the stream, which a stalled guest may leave, is not
	# judged.
	local gm gs
	none_up "$m" "$s" "$tb" "$g0" broadcasts broadcast "after the switch"
	none_up "$m" "$s" "$tm" "$g0" multicasts multicast "after the switch"
	gm=$(stamps_in "$m" "$tu" "$g0" "$g1") gs=$(stamps_in "$s" "$tu" "$g0" "$g1")
	if [ $((gm + gs)) -gt 0 ]; then
		# all of them (3 in 4: either receiver may drop frames when it
		# lags a loaded guest; a grace a tenth as long gives 1 in 10)
		[ $((gm * 4)) -ge $((gs * 3)) ]
		nf_check_err $? "unicast frames from $TAP_SBY in the grace after the switch: $gm at the master of $gs at the standby's socket"
	else
		nf_skip_part "no unicast frame of the stream received in the grace"
	fi
	none_up "$m" "$s" "$tu" "$a0" "unicast frames" "unicast frame" "after the grace"
	nf_figure "in the grace: $gm unicast frames up to the master"
	nf_log_test
}

# garp_in/na_in pf|sb: a gratuitous ARP (broadcast "who-has A tell A") for
# our IPv4 address, an unsolicited NA for our IPv6 address, in the capture of
# one tap
NOTIF_CAP=
garp_in() {
	# (no glob characters: the host splits the request line into words)
	host_do peer "grep -F 'who-has $NF_ADDR4 tell $NF_ADDR4,' $NOTIF_CAP-$1.txt | grep -qF '> ff:ff:ff:ff:ff:ff,'" > /dev/null 2>&1
}
# (unsolicited: to all nodes; the comma ends the address)
na_in() {
	host_do peer "grep -qiF '> ff02::1: ICMP6, neighbor advertisement, tgt is $NF_ADDR6,' $NOTIF_CAP-$1.txt" > /dev/null 2>&1
}
cap_lines() { host_do peer "grep -cE 'ARP|ICMP6' $NOTIF_CAP-$1.txt" 2> /dev/null; }

peer_notified_on_switch()
{
	nf_skip_if_c "peer notification on a path switch" && return
	nf_require_host_ctl || return
	local v6=0 name=notif$RANDOM
	# the runner gives the master an IPv6 address: the NA check is part of
	# the case, never dropped (DAD may still be running after bring-up)
	_v6_usable() {
		local a
		a=$(ip -6 -o addr show dev "$NF_M" to "$NF_ADDR6/128" 2> /dev/null)
		[ -n "$a" ] && [[ "$a" != *tentative* ]]
	}
	if [ -n "${NF_ADDR6:-}" ]; then
		nf_wait "$NF_TIMEOUT" _v6_usable
		nf_check_err $? "no usable IPv6 address $NF_ADDR6 on $NF_M" || { nf_log_test; return; }
		v6=1
	fi
	NOTIF_CAP=$(nf_host_path "$name")
	# frames the guest sent through each device (-Q in: not the bridge's floods)
	host_do peer_bg "$name" "tcpdump -Q in -i $TAP_PRI -l -nn -e 'arp or icmp6' > $NOTIF_CAP-pf.txt 2>&1 &" \
		"tcpdump -Q in -i $TAP_SBY -l -nn -e 'arp or icmp6' > $NOTIF_CAP-sb.txt 2>&1 & wait" > /dev/null
	nf_defer host_do peer_kill "$name"
	_caps_ready() { host_do peer "grep -q 'listening on' $NOTIF_CAP-pf.txt && grep -q 'listening on' $NOTIF_CAP-sb.txt" > /dev/null 2>&1; }
	if ! nf_wait 30 _caps_ready; then
		nf_check_err 1 "tcpdump on the taps not ready"
		nf_log_test
		return
	fi
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_check_err $? "cannot take the primary down"
	nf_wait "$NF_TIMEOUT" garp_in sb
	nf_check_err $? "no gratuitous ARP for $NF_ADDR4 through $TAP_SBY after the switch to the standby"
	if [ "$v6" = 1 ]; then
		nf_wait "$NF_TIMEOUT" na_in sb
		nf_check_err $? "no unsolicited NA for $NF_ADDR6 through $TAP_SBY after the switch to the standby"
	fi
	garp_in pf
	nf_check_fail $? "gratuitous ARP through $TAP_PRI while the primary is down"
	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "primary carrier not back"
	nf_wait "$NF_TIMEOUT" garp_in pf
	nf_check_err $? "no gratuitous ARP for $NF_ADDR4 through $TAP_PRI after the switch back to the primary"
	if [ "$v6" = 1 ]; then
		nf_wait "$NF_TIMEOUT" na_in pf
		nf_check_err $? "no unsolicited NA for $NF_ADDR6 through $TAP_PRI after the switch back"
	fi
	nf_diag "ARP/ICMPv6 lines: $TAP_PRI $(cap_lines pf), $TAP_SBY $(cap_lines sb)"
	nf_log_test
}

# counts DEV [NS]: "promiscuity/allmulti" of DEV
counts() { echo "$(link_field_ns "${2:-}" "$1" promiscuity)/$(link_field_ns "${2:-}" "$1" allmulti)"; }
split_counts() { echo "$((${1%/*} + $2))/$((${1#*/} + $2))"; }

promisc_allmulti_handover()
{
	nf_skip_if_c "promisc/allmulti hand-over (ndo_change_rx_flags)" && return
	local pri=$NF_PRI sby=$NF_SBY ns=nfho$$ p0 s0 l0 r0 c
	p0=$(counts "$pri")
	s0=$(counts "$sby")
	case "$p0$s0" in
	*[!0-9/]* | "") nf_check_err 1 "no promiscuity/allmulti counts in ip -d -j link: '$p0' '$s0'"; nf_log_test; return ;;
	esac
	l0=$(es lowers_linked) r0=$(es lowers_released)
	nf_defer ip link set dev "$NF_M" promisc off allmulticast off
	nf_run ip link set dev "$NF_M" promisc on allmulticast on
	nf_check_err $? "cannot set promisc and allmulticast on $NF_M"
	nf_check_eq "primary promiscuity/allmulti with the master's counts" "$(counts "$pri")" "$(split_counts "$p0" 1)"
	nf_check_eq "standby promiscuity/allmulti with the master's counts" "$(counts "$sby")" "$(split_counts "$s0" 1)"

	# release: the primary leaves for another namespace and gives them back
	ip netns add "$ns" || { nf_check_err 1 "cannot create netns $ns"; nf_log_test; return; }
	nf_defer ip netns del "$ns"
	nf_defer ip -n "$ns" link set dev "$pri" netns 1
	ip link set dev "$pri" netns "$ns"
	nf_check_err $? "cannot move $pri to netns $ns"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still enslaved after leaving the namespace"
	c=$(counts "$pri" "$ns")
	nf_check_eq "released primary's promiscuity/allmulti (in $ns)" "$c" "$p0"
	nf_check_eq "ethtool -S primary_present after the release" "$(es primary_present)" 0
	nf_check_eq "ethtool -S lowers_released moved by" "$(nf_num_diff "$r0" "$(es lowers_released)")" 1

	# enslave: back in this namespace it is enslaved again and gets them
	ip -n "$ns" link set dev "$pri" netns 1
	nf_check_err $? "cannot move $pri back"
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "primary not enslaved again after coming back"
	nf_discover
	nf_check_eq "re-enslaved primary's promiscuity/allmulti" "$(counts "$NF_PRI")" "$(split_counts "$p0" 1)"
	nf_check_eq "ethtool -S primary_present after the enslave" "$(es primary_present)" 1
	nf_check_eq "ethtool -S lowers_linked moved by" "$(nf_num_diff "$l0" "$(es lowers_linked)")" 1

	nf_run ip link set dev "$NF_M" promisc off allmulticast off
	nf_check_eq "primary promiscuity/allmulti after the master's are off" "$(counts "$NF_PRI")" "$p0"
	nf_check_eq "standby promiscuity/allmulti after the master's are off" "$(counts "$sby")" "$s0"
	nf_log_test
}

master_queue_count()
{
	local pos ncpu=0 want n d r part
	pos=$(nf_read /sys/devices/system/cpu/possible)
	# "0-1,4-5" -> 4
	for part in ${pos//,/ }; do
		if [[ "$part" == *-* ]]; then
			ncpu=$((ncpu + ${part#*-} - ${part%-*} + 1))
		else
			ncpu=$((ncpu + 1))
		fi
	done
	want=$ncpu
	[ "$want" -lt 16 ] && want=16
	[ "$want" -gt 256 ] && want=256
	# the C driver allocates 16, whatever the CPUs
	nf_rust_only || want=16
	# run-tests.sh boots the lanes with 24 possible CPUs (2 online), where a
	# count sized on the CPUs differs from a fixed 16; the guest must have
	# what vm.sh was asked for
	if [ -n "${NF_POSSIBLE_CPUS:-}" ]; then
		nf_check_eq "possible CPUs (vm.sh --possible-cpus)" "$ncpu" "$NF_POSSIBLE_CPUS"
	fi
	[ "$ncpu" -gt 16 ] ||
		nf_skip_part "only $ncpu possible CPUs: a master sized on them has 16 queues, as a fixed count (vm.sh --possible-cpus 24)"
	n=$(ls -d /sys/class/net/"$NF_M"/queues/tx-* 2> /dev/null | wc -l)
	nf_check_eq "master tx queues in sysfs (possible CPUs $pos)" "$n" "$want"
	n=$(ls -d /sys/class/net/"$NF_M"/queues/rx-* 2> /dev/null | wc -l)
	nf_check_eq "master rx queues in sysfs" "$n" "$want"
	nf_check_eq "master num_tx_queues" "$(nf_link_field "$NF_M" num_tx_queues)" "$want"
	for d in "$NF_PRI" "$NF_SBY"; do
		r=$(ls -d /sys/class/net/"$d"/queues/tx-* 2> /dev/null | wc -l)
		[ "$r" -ge 1 ] && [ "$r" -le "$want" ]
		nf_check_err $? "lower $d has $r tx queues, the master $want"
	done
	nf_log_test
}

nf_main
