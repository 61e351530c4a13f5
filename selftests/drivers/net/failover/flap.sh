#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A lower device flapping must not flood the kernel log or the wire.
#   flap_ratelimited   with the primary down, the standby is taken down and up
#                      NF_FLAP_CYCLES times (default 500) in one ip -batch: every
#                      cycle switches the master's tx path twice (standby ->
#                      none -> standby), as ethtool -S path_switches shows. The
#                      path-switch log lines ("tx via", "tx dropped") and the
#                      gratuitous ARPs seen at the peer stay within the
#                      driver's rate limit (10 per 5 s), and the limiter says
#                      how many it suppressed.
#
# C reference: SKIP (it neither logs path switches nor notifies peers, and has
# no ethtool -S to count the switches with).

ALL_TESTS="
	flap_ratelimited
"
NF_BRINGUP_EACH=1

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_FLAP_CYCLES:=500}"
# the driver's limit: SWITCH_BURST events per SWITCH_WINDOW_MS
FLAP_BURST=10
FLAP_WINDOW_S=5

path_switches() { ethtool -S "$NF_M" 2> /dev/null | awk '$1 == "path_switches:" { print $2 }'; }

flap_ratelimited()
{
	nf_skip_if_c "path-switch logging, peer notification and ethtool -S" && return
	nf_require_host_ctl || return
	local sby=$NF_SBY pri=$NF_PRI s0 s1 t0 took lines garps allowed batch=$NF_TMP/flap.batch i

	# gratuitous ARPs from the master's MAC, as the peer's bridge sees them
	host_do peer_bg garp "exec tcpdump -l -n -e -i nfbr0 arp and ether src $NF_MAC" > /dev/null
	nf_check_err $? "cannot start tcpdump at the peer"
	nf_defer host_do peer_kill garp
	nf_wait "$NF_TIMEOUT" grep -q "listening on" "$NF_RESULTS/peer-garp.log"
	nf_check_err $? "tcpdump at the peer not listening"

	nf_defer ip link set dev "$pri" up
	nf_defer ip link set dev "$sby" up
	ip link set dev "$pri" down
	nf_check_err $? "cannot take the primary $pri down"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master has no carrier on the standby alone"

	for ((i = 0; i < NF_FLAP_CYCLES; i++)); do
		printf 'link set dev %s down\nlink set dev %s up\n' "$sby" "$sby"
	done > "$batch"
	nf_dmesg_mark FLAP_MARK
	s0=$(path_switches)
	t0=$SECONDS
	ip -batch "$batch"
	nf_check_err $? "ip -batch flapping $sby failed"
	took=$((SECONDS - t0))
	s1=$(path_switches)
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_M" 1
	nf_check_err $? "master has no carrier after the flapping"
	# let the last notifications reach the peer's capture (an upper bound
	# is checked on them: a wait for the first would end at once)
	sleep 2
	nf_klog_sync > /dev/null

	[ -n "$s0" ] && [ -n "$s1" ] && [ $((s1 - s0)) -ge "$NF_FLAP_CYCLES" ]
	nf_check_err $? "path_switches moved ${s0:-?} -> ${s1:-?}: the standby did not flap ($NF_FLAP_CYCLES cycles)"

	# one burst per started window, plus one window of slack for the edges
	allowed=$((FLAP_BURST * (took / FLAP_WINDOW_S + 2)))
	lines=$(nf_dmesg_since_mark FLAP_MARK | grep -cE "$NF_M: (tx via|tx dropped)")
	[ "${lines:-0}" -ge 1 ] && [ "${lines:-0}" -le "$allowed" ]
	nf_check_err $? "$lines path-switch log lines for $((s1 - s0)) switches in ${took}s (allowed 1..$allowed)"
	nf_dmesg_since_mark FLAP_MARK | grep -q "callbacks suppressed"
	nf_check_err $? "no 'callbacks suppressed' line from the limiter"

	garps=$(grep -c "ARP" "$NF_RESULTS/peer-garp.log")
	[ "${garps:-0}" -ge 1 ] && [ "${garps:-0}" -le "$allowed" ]
	nf_check_err $? "$garps ARPs from the master at the peer for $((s1 - s0)) switches in ${took}s (allowed 1..$allowed)"
	nf_figure "cycles=$NF_FLAP_CYCLES switches=$((s1 - s0)) seconds=$took log_lines=$lines arps=$garps allowed=$allowed"

	ip link set dev "$pri" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$pri" 1
	nf_check_err $? "primary $pri has no carrier after coming back up"
	nf_log_test
}

nf_main
