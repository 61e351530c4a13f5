#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "ethtool -S <master>" per-lower counters and path-switch figures move as the
# traffic and the transmit path do.
#   per_lower_counters   200 fast pings to the peer through the primary:
#                        primary_tx_packets/bytes and primary_rx_packets move
#                        by (about) 200, the standby's tx does not; primary
#                        down, 200 more: now the standby's move and the
#                        primary's tx stays put. The per-lower tx packets
#                        add up to the master's own tx_packets.
#   switch_count_and_age primary down: path_switches +1 and
#                        ms_since_last_switch restarts (below the time since
#                        the command), then grows as the guest's clock does
#                        between two reads; primary up: +1 again and it
#                        restarts again (below the time since that command).
# candidates_refused is asserted by impostors.sh (second_primary_refused,
# virtio_net_impostor_refused).
#
# C reference: SKIP (it has no ethtool -S).

ALL_TESTS="
	per_lower_counters
	switch_count_and_age
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

declare -A ES
# es_snap: all of "ethtool -S $NF_M" into ES[name]
es_snap()
{
	local k v
	ES=()
	while read -r k v; do
		k=${k%:}
		[[ "$v" =~ ^[0-9]+$ ]] && ES[$k]=$v
	done < <(ethtool -S "$NF_M" 2> /dev/null)
	[ -n "${ES[tx_path]:-}" ]
}
es_get() { es_snap && echo "${ES[$1]:-}"; }
es_tx_path_is() { [ "$(es_get tx_path)" = "$1" ]; }
# es_delta NAME: increase of NAME from the snapshot in ES0 to the one in ES
es_delta() { nf_num_diff "${ES0[$1]:-}" "${ES[$1]:-}"; }
# the guest's clock in ms, without an exec (bash's EPOCHREALTIME)
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t / 1000)); }

ES_PINGS=200
es_pings() { ping -q -c "$ES_PINGS" -i 0.01 -W 2 "$NF_PEER4" > /dev/null 2>&1; }

# es_check NAME OP VALUE: the delta of NAME since ES0 compared with VALUE
es_check()
{
	local d
	d=$(es_delta "$1")
	[[ "$d" =~ ^-?[0-9]+$ ]] && test "$d" "$2" "$3"
	nf_check_err $? "ethtool -S $NF_M $1 moved by $d (want $2 $3)"
}

# es_pings_via ROLE: ES_PINGS pings with ES0 = the counters before and ES after
es_pings_via()
{
	local k
	ES0=(); for k in "${!ES[@]}"; do ES0[$k]=${ES[$k]}; done
	es_pings
	nf_check_err $? "pings through the $1 failed"
	es_snap
	nf_diag "via $1: primary tx +$(es_delta primary_tx_packets) rx +$(es_delta primary_rx_packets)," \
		"standby tx +$(es_delta standby_tx_packets) rx +$(es_delta standby_rx_packets)"
}

per_lower_counters()
{
	nf_skip_if_c "ethtool -S" && return
	local pri=$NF_PRI e1 e2 m
	declare -gA ES0

	es_snap
	nf_check_err $? "no ethtool -S tx_path on $NF_M"
	for k in primary_tx_packets primary_tx_bytes primary_rx_packets primary_rx_bytes \
		standby_tx_packets standby_tx_bytes standby_rx_packets standby_rx_bytes ms_since_last_switch; do
		[ -n "${ES[$k]:-}" ]
		nf_check_err $? "ethtool -S $NF_M has no $k"
	done
	nf_check_eq "tx_path with the primary up" "${ES[tx_path]:-}" 2
	es_pings_via primary
	es_check primary_tx_packets -ge "$ES_PINGS"
	es_check primary_tx_bytes -ge $((ES_PINGS * 98))
	es_check primary_rx_packets -ge $((ES_PINGS * 9 / 10))
	es_check primary_rx_bytes -ge $((ES_PINGS * 9 / 10 * 98))
	es_check standby_tx_packets -le 5

	nf_defer ip link set dev "$pri" up
	ip link set dev "$pri" down
	nf_check_err $? "cannot take the primary $pri down"
	nf_wait "$NF_TIMEOUT" es_tx_path_is 1
	nf_check_err $? "tx_path is $(es_get tx_path), not 1 (standby) with the primary down"
	nf_wait 20 nf_ping_peer
	es_snap
	es_pings_via standby
	es_check standby_tx_packets -ge "$ES_PINGS"
	es_check standby_tx_bytes -ge $((ES_PINGS * 98))
	es_check standby_rx_packets -ge $((ES_PINGS * 9 / 10))
	es_check primary_tx_packets -eq 0
	nf_diag "$(ethtool -S "$NF_M")"

	# the per-lower tx counts are the master's, split by role
	es_snap
	e1=$((ES[primary_tx_packets] + ES[standby_tx_packets]))
	m=$(nf_stat "$NF_M" tx_packets)
	es_snap
	e2=$((ES[primary_tx_packets] + ES[standby_tx_packets]))
	[[ "$m" =~ ^[0-9]+$ ]] && [ "$e1" -le "$m" ] && [ "$m" -le "$e2" ]
	nf_check_err $? "master tx_packets $m not between the per-lower sums $e1 and $e2"
	nf_log_test
}

switch_count_and_age()
{
	nf_skip_if_c "ethtool -S" && return
	local pri=$NF_PRI s0 t0 ts ta tb tc a1 a2 a3 el

	s0=$(es_get path_switches)
	nf_check_err $? "no ethtool -S path_switches on $NF_M"
	nf_defer ip link set dev "$pri" up
	t0=$(now_ms)
	ip link set dev "$pri" down
	nf_check_err $? "cannot take the primary $pri down"
	nf_wait "$NF_TIMEOUT" es_tx_path_is 1
	nf_check_err $? "tx_path is $(es_get tx_path), not 1 (standby) with the primary down"
	ts=$(now_ms)
	es_snap
	a1=${ES[ms_since_last_switch]:-}
	ta=$(now_ms)
	el=$((ta - t0))
	nf_check_eq "path_switches after the primary went down" "${ES[path_switches]:-}" $((s0 + 1))
	[[ "$a1" =~ ^[0-9]+$ ]] && [ "$a1" -le "$el" ]
	nf_check_err $? "ms_since_last_switch $a1 after the switch, but the switch began ${el} ms ago"
	# the age grows as the guest's clock does: between the two reads, by more
	# than the time from after the first to before the second, by less than
	# the time from before the first to after the second (20 ms of rounding).
	# The sleep makes it a clear change (and gives a non-restarting age a
	# head start that the check below sees).
	sleep 2
	tb=$(now_ms)
	a2=$(es_get ms_since_last_switch)
	tc=$(now_ms)
	[[ "$a2" =~ ^[0-9]+$ ]] && [ $((a2 - a1)) -ge $((tb - ta - 20)) ] && [ $((a2 - a1)) -le $((tc - ts + 20)) ]
	nf_check_err $? "ms_since_last_switch $a1 -> $a2 (+$((a2 - a1))), the clock moved $((tb - ta))..$((tc - ts)) ms between the reads"

	t0=$(now_ms)
	ip link set dev "$pri" up
	nf_check_err $? "cannot bring the primary $pri up"
	nf_wait "$NF_TIMEOUT" es_tx_path_is 2
	nf_check_err $? "tx_path is $(es_get tx_path), not 2 (primary) with the primary up"
	es_snap
	a3=${ES[ms_since_last_switch]:-}
	el=$(($(now_ms) - t0))
	nf_check_eq "path_switches after the primary came back" "${ES[path_switches]:-}" $((s0 + 2))
	# restarted: below the time since the command (an age that did not
	# restart would be above a2 plus that time)
	[[ "$a3" =~ ^[0-9]+$ ]] && [ "$a3" -le "$el" ]
	nf_check_err $? "ms_since_last_switch $a3 did not restart (was $a2) when the primary came back ${el} ms ago"
	nf_diag "path_switches $s0 -> ${ES[path_switches]:-?}; ms_since_last_switch $a1 -> $a2 -> $a3"
	nf_log_test
}

nf_main
