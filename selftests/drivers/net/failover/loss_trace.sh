#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Diagnosis, not part of the suite: where do the packets of a guest -> peer UDP
# stream die across planned removals of the primary?
#   loss_trace_MODE  for each MODE in NF_LOSS_MODE (default "qmp"; any of
#                qmp: QMP device_del/device_add, pci: PCI remove/rescan, link:
#                ip link set down/up), NF_LOSS_CYCLES (default 20) cycles
#                under a NF_STREAM_RATE pps stream (default 4000: more than
#                the debug guest sustains under TCG); per cycle it prints the
#                loss, the longest gap, and every IPv4 skb the guest kernel
#                dropped (tracefs skb:kfree_skb: location and reason), and at
#                the end min/median/max of the loss and of the longest gap,
#                and the drop locations summed over all cycles.
# Run it through the runner:
#   scripts/vm.sh [--module c] -- bash selftests/drivers/net/failover/loss_trace.sh
# The case fails when any cycle lost a packet, so that "0 lost in N of N" is
# what a pass means.

: "${NF_LOSS_MODE:=qmp}"
ALL_TESTS=$(for m in $NF_LOSS_MODE; do echo "loss_trace_$m"; done)
NF_BRINGUP_EACH=1

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_LOSS_CYCLES:=20}"
: "${NF_STREAM_RATE:=4000}"
TRACE=/sys/kernel/tracing

trace_on() {
	mountpoint -q "$TRACE" || mount -t tracefs nodev "$TRACE" 2> /dev/null
	echo 0 > "$TRACE/tracing_on"
	echo > "$TRACE/trace"
	echo 8192 > "$TRACE/buffer_size_kb"
	# IPv4 packets only (protocol is in host order in the event)
	echo 'protocol == 2048' > "$TRACE/events/skb/kfree_skb/filter"
	# with the kernel stack of each drop: "location" alone names a helper
	# (dev_kfree_skb_any_reason) shared by the drivers involved
	echo 1 > "$TRACE/options/stacktrace"
	echo 1 > "$TRACE/events/skb/kfree_skb/enable"
	echo 1 > "$TRACE/tracing_on"
}
trace_off() {
	echo 0 > "$TRACE/tracing_on"
	echo 0 > "$TRACE/events/skb/kfree_skb/enable"
	echo 0 > "$TRACE/options/stacktrace"
}

primary_gone() { nf_discover && [ -z "$NF_PRI" ]; }
primary_down() { ! nf_is_up "$PRI_NAME"; }

# min/median/max of the numbers in $*
nf_spread() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "none"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "min %s median %s max %s\n", v[1], m, v[NR] }'
}

loss_trace_qmp() { loss_trace qmp; }
loss_trace_pci() { loss_trace pci; }
loss_trace_link() { loss_trace link; }

loss_trace()
{
	local NF_LOSS_MODE=$1
	[ -d /sys/kernel/tracing ] || [ -d /sys/kernel/debug/tracing ] || { nf_log_test_skip "$NF_CUR_TEST" "no tracefs"; return; }
	local i lost_cycles=0 total_lost=0 total_sent=0 gaps= losses= unplug replug gone
	case $NF_LOSS_MODE in
	qmp)
		nf_require_host_ctl || return
		unplug() { host_do device_del "$NF_PRIMARY_QDEV" > /dev/null 2>&1; }
		replug() { host_do device_add "$NF_PRIMARY_QDEV" > /dev/null 2>&1; }
		gone=primary_gone ;;
	pci)
		unplug() { nf_pci_remove "$PRI_BDF"; }
		replug() { nf_pci_rescan_parent; }
		gone=primary_gone ;;
	link)
		unplug() { ip link set dev "$PRI_NAME" down; }
		replug() { ip link set dev "$PRI_NAME" up; }
		gone=primary_down ;;
	*) nf_check_err 1 "unknown NF_LOSS_MODE $NF_LOSS_MODE"; nf_log_test; return ;;
	esac
	: > "$NF_TMP/drops.all"
	# A cycle counts only when the stream was seen going through the primary
	# right before the removal (else it measures nothing); such cycles are
	# reported and replaced, up to NF_LOSS_CYCLES more attempts.
	local tries=0 unmeasured=0
	for ((i = 1; i <= NF_LOSS_CYCLES && tries < 2 * NF_LOSS_CYCLES; tries++)); do
		nf_bringup > /dev/null 2>&1
		nf_discover
		PRI_NAME=$NF_PRI PRI_BDF=$(nf_pci_of "$NF_PRI")
		[ -n "$PRI_NAME" ] || { nf_check_err 1 "cycle $i: no primary"; break; }
		nf_stream_start "c$i" "$NF_STREAM_RATE" || { nf_check_err 1 "cycle $i: no stream"; break; }
		if ! nf_tx_grows "$PRI_NAME" 200 60; then
			nf_diag "cycle $i: stream not on the primary before the removal: not measured, repeated"
			unmeasured=$((unmeasured + 1))
			nf_stream_stop "c$i" > /dev/null
			nf_run_defers
			continue
		fi
		trace_on
		unplug
		nf_wait "$NF_TIMEOUT" "$gone" || nf_diag "cycle $i: primary not gone"
		nf_stream_advances "c$i" 200 20 > /dev/null
		trace_off
		cp "$TRACE/trace" "$NF_TMP/trace.$i"
		replug
		nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved || nf_diag "cycle $i: primary not back"
		nf_discover
		[ -n "$NF_PRI" ] && nf_tx_grows "$NF_PRI" 200 30 > /dev/null
		nf_stream_stop "c$i" > /dev/null
		grep -o 'location=[^ ]* .*' "$NF_TMP/trace.$i" | sed 's/skbaddr=[^ ]* //' | sort | uniq -c > "$NF_TMP/drops.$i"
		nf_diag "cycle $i: lost $STREAM_LOST of $STREAM_SENT, max gap ${STREAM_MAXGAP} ms, rate ${STREAM_RATE} pps; guest IPv4 drops during the unplug:"
		if [ -s "$NF_TMP/drops.$i" ]; then
			nf_diag "$(cat "$NF_TMP/drops.$i")"
			# the stack of the first drop of the cycle
			nf_diag "$(awk '/kfree_skb:/ { n++ } n == 1 && /=>/ { print } n > 1 { exit }' "$NF_TMP/trace.$i" | head -n 14)"
			awk '/kfree_skb:/ { n++ } n >= 1 && /=>/ { c++; if (c <= 14) print } /kfree_skb:/ && n > 1 { c = 0 }' "$NF_TMP/trace.$i" | sed -n '2,6p' >> "$NF_TMP/callers.all"
		fi
		grep -o 'location=[^ ]*.*' "$NF_TMP/trace.$i" >> "$NF_TMP/drops.all"
		total_lost=$((total_lost + STREAM_LOST)) total_sent=$((total_sent + STREAM_SENT))
		[ "$STREAM_LOST" -gt 0 ] && lost_cycles=$((lost_cycles + 1))
		losses="$losses $STREAM_LOST" gaps="$gaps $STREAM_MAXGAP"
		nf_run_defers
		i=$((i + 1))
	done
	[ $((i - 1)) = "$NF_LOSS_CYCLES" ] || nf_check_err 1 "only $((i - 1)) of $NF_LOSS_CYCLES cycles measured"
	nf_figure "mode=$NF_LOSS_MODE module=$NF_MODULE cycles=$((i - 1)) unmeasured=$unmeasured lost_cycles=$lost_cycles lost=$total_lost sent=$total_sent"
	nf_figure "per-cycle lost:$losses"
	nf_figure "per-cycle max gap ms:$gaps"
	# shellcheck disable=SC2086 # word splitting wanted
	nf_figure "mode=$NF_LOSS_MODE module=$NF_MODULE lost per cycle: $(nf_spread $losses); longest gap ms: $(nf_spread $gaps)"
	[ -s "$NF_TMP/callers.all" ] && nf_diag "callers of the drops (first frames after the location), all cycles:" &&
		nf_diag "$(sort "$NF_TMP/callers.all" | uniq -c | sort -rn | head -n 12)"
	nf_diag "guest IPv4 drops by location over all cycles:"
	nf_diag "$(sed 's/ reason: / /' "$NF_TMP/drops.all" | awk '{print $1, $NF}' | sort | uniq -c | sort -rn)"
	[ "$lost_cycles" = 0 ]
	nf_check_err $? "$lost_cycles of $NF_LOSS_CYCLES cycles lost packets ($total_lost of $total_sent)"
	nf_log_test
}

nf_main
