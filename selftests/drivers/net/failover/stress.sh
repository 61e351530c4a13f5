#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 12: NF_STRESS_CYCLES (default 100) unplug/replug cycles of the
# primary under a UDP stream, ping, and raw frames from AF_PACKET sockets with
# PACKET_QDISC_BYPASS in two processes (their sendmsg() calls the master's
# ndo_select_queue preemptible and outside RCU: pktbypass.py; with PROVE_RCU
# the Rust abstractions report a transmit context minted outside a read-side
# critical section), then: the senders ran throughout, the stream still reaches the peer,
# master counters never decreased, no leaked device reference ("waiting for ...
# to become free", ref_tracker), no splat in dmesg, kmemleak clean after a scan
# (when /sys/kernel/debug/kmemleak exists).
#
# NF_STRESS_MODE: qmp (QMP device_del/device_add), pci (in-guest PCI
# remove/rescan) or mix (alternate; default when host actions are available,
# otherwise pci).
#
# The same assertions for the C reference; C fails counters_monotonic (its
# totals fall at a release). Counts for both: Documentation/networking/
# net_failover_rust_results.rst, "Selftest results against both modules".

ALL_TESTS="
	replug_cycles
	qdisc_bypass_senders
	stream_survives
	counters_monotonic
	no_leaked_references
	kmemleak_clean
"
NF_BRINGUP_EACH=0

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_STRESS_CYCLES:=100}"
: "${NF_STRESS_RATE:=100}"
# NF_STRESS_MODE defaults to mix, decided in replug_cycles once topology.env
# (NF_HOST_CTL) has been read.

SAMPLES=
BYPASS_PID=
STRESS_DONE=0
STREAM_OK=0
# SECONDS when the last cycle had ended (its release was before that)
STRESS_END=

cycle_once()
{
	local how=$1 bdf
	case "$how" in
	qmp)
		host_do device_del "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1 || return 1
		nf_wait "$NF_TIMEOUT" nf_no_primary || return 2
		host_do device_add "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1 || return 3
		;;
	pci)
		nf_discover
		bdf=$(nf_pci_of "$NF_PRI") || return 1
		nf_pci_remove "$bdf" || return 1
		nf_wait "$NF_TIMEOUT" nf_no_primary || return 2
		nf_pci_rescan_parent || return 3
		;;
	esac
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved || return 4
	nf_discover
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1 || return 5
	return 0
}

replug_cycles()
{
	local i how rc t0=$SECONDS fails=0
	: "${NF_STRESS_MODE:=mix}"
	if [ "$NF_STRESS_MODE" != pci ] && ! nf_host_ctl; then
		NF_STRESS_MODE=pci
	fi
	nf_dmesg_mark STRESS_MARK
	nf_stream_start stress "$NF_STRESS_RATE"
	nf_check_err $? "cannot start the UDP stream"
	[ "$RET" -eq 0 ] && STREAM_OK=1
	SAMPLES=$NF_TMP/stress-samples.json
	nf_sampler_start "$SAMPLES" 0.5
	ping -q -i 0.2 -w $((NF_STRESS_CYCLES * 120 + 60)) "$NF_PEER4" > "$NF_TMP/ping.txt" 2>&1 &
	PING_PID=$!
	python3 "$NF_LIB_DIR/pktbypass.py" "$NF_M" --procs 2 --pps 10 \
		--out "$NF_TMP/bypass.json" > "$NF_TMP/bypass.err" 2>&1 &
	BYPASS_PID=$!
	for ((i = 1; i <= NF_STRESS_CYCLES; i++)); do
		case "$NF_STRESS_MODE" in
		mix) if [ $((i % 2)) -eq 1 ]; then how=qmp; else how=pci; fi ;;
		*) how=$NF_STRESS_MODE ;;
		esac
		cycle_once "$how"
		rc=$?
		if [ "$rc" -ne 0 ]; then
			fails=$((fails + 1))
			nf_check_err 1 "cycle $i ($how) failed at step $rc: $(nf_roles) $(cat "$NF_TMP/host.out" 2> /dev/null)"
			# one more try to get back to a sane state, else stop
			nf_bringup > /dev/null 2>&1 || break
			[ "$fails" -ge 3 ] && break
		fi
		[ $((i % 10)) -eq 0 ] && nf_diag "cycle $i/$NF_STRESS_CYCLES done ($((SECONDS - t0))s)"
	done
	STRESS_DONE=$((i - 1))
	STRESS_END=$SECONDS
	nf_figure "cycles=$STRESS_DONE mode=$NF_STRESS_MODE failed=$fails seconds=$((SECONDS - t0))"
	nf_log_test
}

# the AF_PACKET senders ran through every cycle: both still running at the
# end, both sent, and the only errors are the drops of a master without a
# usable lower (ENOBUFS) or down (ENETDOWN)
qdisc_bypass_senders()
{
	local res
	if [ -z "$BYPASS_PID" ]; then
		RET=1 RET_MSG="the AF_PACKET senders were not started"
		nf_log_test
		return
	fi
	kill -0 "$BYPASS_PID" 2> /dev/null
	nf_check_err $? "the AF_PACKET senders ended during the cycles: $(head -c 300 "$NF_TMP/bypass.err")"
	kill -TERM "$BYPASS_PID" 2> /dev/null
	wait "$BYPASS_PID"
	BYPASS_PID=
	res=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = {k: v for k, v in d["errors"].items() if k not in ("ENOBUFS", "ENETDOWN")}
ok = d["finished"] == d["procs"] and len(d["per_proc"]) == d["procs"] and min(d["per_proc"]) > 0 and not bad
print("ok" if ok else "bad", json.dumps(d))' "$NF_TMP/bypass.json" 2>&1)
	nf_figure "qdisc bypass senders: ${res#* }"
	[ "${res%% *}" = ok ]
	nf_check_err $? "AF_PACKET senders: ${res:-no result} $(head -c 300 "$NF_TMP/bypass.err")"
	nf_log_test
}

stream_survives()
{
	if [ "$STREAM_OK" != 1 ]; then
		RET=1 RET_MSG="stream was not started"
		nf_log_test
		return
	fi
	nf_stream_advances stress 200 "$NF_STREAM_WAIT"
	nf_check_err $? "stream no longer reaches the peer after $STRESS_DONE cycles"
	# a slave whose tx queue stalled holds the sender's socket buffer
	[ "$RET" -ne 0 ] && nf_diag "$(nf_dmesg_since_mark STRESS_MARK | grep -E 'NETDEV WATCHDOG|TX timeout' | head -n 3)"
	nf_stream_stop stress
	nf_check_err $? "no stream result"
	[ "$STREAM_LAST" -ge $((STREAM_SENT - STREAM_SENT / 20 - 1)) ]
	nf_check_err $? "end of the stream missing: last_seq $STREAM_LAST of $STREAM_SENT"
	if [ -n "${PING_PID:-}" ]; then
		kill -INT "$PING_PID" 2> /dev/null
		wait "$PING_PID" 2> /dev/null
		nf_figure "ping over the whole run: $(grep 'packets transmitted' "$NF_TMP/ping.txt")"
	fi
	nf_ping_peer 3
	nf_check_err $? "no ping after the cycles"
	nf_log_test
}

counters_monotonic()
{
	nf_sampler_stop
	local res
	res=$(nf_counters_monotonic "$SAMPLES" 2)
	nf_check_err $? "master counters went backwards or too few samples: $res"
	nf_diag "$res"
	nf_log_test
}

no_leaked_references()
{
	local bad log left=12
	# give pending unregisters time to complete (netdev_wait_allrefs warns
	# 10 s after it starts waiting): 20 s since the last cycle's release,
	# which the cases since then (the stream's end alone takes 10 s) have
	# mostly spent already
	[ -n "$STRESS_END" ] && left=$((STRESS_END + 20 - SECONDS))
	[ "$left" -gt 0 ] && sleep "$left"
	nf_klog_sync
	if ! log=$(nf_dmesg_since_mark STRESS_MARK); then
		nf_check_err 1 "stress start marker not found in the kernel log: cannot check"
	fi
	bad=$(echo "$log" | grep -E 'waiting for .* to become free|unregister_netdevice: waiting|ref_tracker|leaked' | head -n 10)
	[ -z "$bad" ]
	nf_check_err $? "leaked device references"
	[ -n "$bad" ] && nf_diag "$bad"
	nf_log_test
}

kmemleak_clean()
{
	if ! nf_kmemleak_check; then
		nf_log_test_skip kmemleak_clean "no kmemleak in this kernel"
		return
	fi
	nf_log_test
}

stress_exit()
{
	nf_sampler_stop
	[ -n "${PING_PID:-}" ] && kill "$PING_PID" 2> /dev/null
	[ -n "$BYPASS_PID" ] && kill "$BYPASS_PID" 2> /dev/null
	nf_stream_kill stress
}
nf_defer_exit stress_exit

nf_main
