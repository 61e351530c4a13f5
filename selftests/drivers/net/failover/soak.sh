#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reliability soak (issue 17), not part of the suite: "make soak" boots it
# through scripts/soak.sh. The work is done by soak.py, one long-lived
# Python process per phase (a fork/exec costs about 0.25 s under TCG with
# the debug kernel):
#   soak_cycles      NF_SOAK_CYCLES (default 1000) planned removals of the
#                    e1000e primary, QMP device_del/device_add, PCI
#                    remove/rescan and ip link down/up in turn, under one
#                    sequenced UDP stream (NF_SOAK_RATE pps, default 500)
#                    and a ping for the whole phase; per-cycle loss and
#                    longest gap from the stream's sequence numbers (the
#                    sender marks each cycle's first sequence number). Fails
#                    on a failed cycle (no re-enslavement within 90 s), a
#                    broken invariant or splat after a cycle, or any lost
#                    datagram.
#   soak_vf_cycles   NF_SOAK_VF_CYCLES (default 0) igb SR-IOV cycles
#                    (sriov_numvfs 0/2, VF0 with the standby's MAC) under
#                    the same kind of stream; needs a 1 GiB guest (see
#                    sriov.sh), so scripts/soak.sh runs it in a second guest.
#   soak_storm       NF_SOAK_OPS (default 10000) random operations from
#                    NF_SOAK_SEED (default: a fresh one, printed first),
#                    the invariants checked after each (soak.py --help);
#                    stops at the first violation with the seed and op
#                    number. The op log is $NF_RESULTS/soak-ops.txt.
#   counters_monotonic  the master's counters never decreased in either
#                    phase (sampled at every check).
#   memory           slab at the start and the end, kmemleak after a scan
#                    (debug kernel).
# NF_SOAK_PHASES selects the phases (default "cycles storm"; "vf"): the
# others SKIP.
#
# No case differs for the C reference (NF_MODULE=c).

ALL_TESTS="
	soak_cycles
	soak_vf_cycles
	soak_storm
	counters_monotonic
	memory
"
NF_BRINGUP_EACH=1

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_SOAK_CYCLES:=1000}"
: "${NF_SOAK_VF_CYCLES:=0}"
: "${NF_SOAK_OPS:=10000}"
: "${NF_SOAK_RATE:=500}"
: "${NF_SOAK_PHASES:=cycles storm}"
if [ -z "${NF_SOAK_SEED:-}" ]; then
	NF_SOAK_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
echo "# soak: seed=$NF_SOAK_SEED cycles=$NF_SOAK_CYCLES vf_cycles=$NF_SOAK_VF_CYCLES ops=$NF_SOAK_OPS phases=$NF_SOAK_PHASES"
export NF_DMESG_BAD
SOAK_PY=$lib_dir/soak.py
COUNTER_JSONS=

phase_on() { case " $NF_SOAK_PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
slab() { awk '/^(Slab|SUnreclaim):/ { printf "%s%s=%skB", s, $1, $2; s = " " }' /proc/meminfo | tr -d :; }
SLAB_START=$(slab)

# true once the peer's count of stream NAME stayed the same for a second
# (or its receiver has ended)
stream_settled()
{
	local a b
	nf_peer_log_has "udp-$1" '^DONE' && return 0
	a=$(nf_stream_received "$1")
	sleep 1
	b=$(nf_stream_received "$1")
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# cycles_phase NAME SUBCOMMAND COUNT: soak.py SUBCOMMAND under a marked
# stream and a ping, then the per-cycle report
cycles_phase()
{
	local name=$1 sub=$2 count=$3 out=$NF_RESULTS/soak-$1.json ping_pid lost
	rm -f "$NF_TMP/marks" "$out" "$NF_RESULTS/udp-$name-detail.json"
	# the receiver lives as long as the phase (no idle exit: a sender
	# stalled under TCG, or SOAK_BREAK=loss, must not end it); it is
	# stopped below, once the datagrams in flight have arrived
	NF_STREAM_MAX_S=$((count * 300 + 600)) NF_STREAM_IDLE_EXIT=0 \
		NF_STREAM_SEND_ARGS="--mark-file $NF_TMP/marks" \
		NF_STREAM_RECV_ARGS="--detail-out $(nf_host_path "udp-$name-detail.json") --gap-min-ms 20" \
		nf_stream_start "$name" "$NF_SOAK_RATE"
	nf_check_err $? "cannot start the UDP stream"
	[ "$RET" -ne 0 ] && return
	nf_stream_advances "$name" 100 60
	nf_check_err $? "stream not reaching the peer before the first cycle"
	ping -q -i 0.5 -w $((count * 300 + 600)) "$NF_PEER4" > "$NF_TMP/ping-$name.txt" 2>&1 &
	ping_pid=$!
	nf_defer kill "$ping_pid"
	python3 "$SOAK_PY" "$sub" --cycles "$count" --sender-pid "${NF_STREAM_PID[$name]}" \
		--mark-file "$NF_TMP/marks" --out "$out"
	nf_check_err $? "soak.py $sub: a cycle failed, an invariant broke or the kernel complained"
	kill -INT "$ping_pid" 2> /dev/null
	wait "$ping_pid" 2> /dev/null
	nf_figure "ping over the phase: $(grep 'packets transmitted' "$NF_TMP/ping-$name.txt")"
	nf_stream_kill "$name"
	nf_wait 30 stream_settled "$name"
	host_do peer_kill "udp-$name" > /dev/null 2>&1
	nf_stream_stop "$name"
	nf_check_err $? "no stream result"
	[ "$STREAM_LAST" -ge $((STREAM_SENT - STREAM_SENT / 20 - 1)) ]
	nf_check_err $? "end of the stream missing at the peer: last_seq $STREAM_LAST of $STREAM_SENT"
	nf_wait 30 test -s "$NF_RESULTS/udp-$name-detail.json"
	python3 "$SOAK_PY" report --cycles-json "$out" --marks "$NF_TMP/marks" \
		--detail "$NF_RESULTS/udp-$name-detail.json" --out "$NF_RESULTS/soak-$name-report.json"
	nf_check_err $? "no per-cycle report"
	lost=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["lost"])' \
		"$NF_RESULTS/soak-$name-report.json" 2> /dev/null)
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("cycles=%d failed=%d seconds=%s per_cycle_s=%.1f counter_samples=%d" % (
    len(d["cycles"]), d["failed"], d["seconds"],
    d["seconds"] / max(1, len(d["cycles"])), d["counter_samples"]))' "$out" > "$NF_TMP/c.txt" 2>&1
	nf_figure "$name: $(cat "$NF_TMP/c.txt")"
	[ "$STREAM_LOST" -eq 0 ] && [ "${lost:-x}" = 0 ]
	nf_check_err $? "datagrams lost over the phase: ${lost:-?} in the cycles (receiver: $STREAM_LOST between its first and last)"
	COUNTER_JSONS="$COUNTER_JSONS $out"
}

soak_cycles()
{
	phase_on cycles || { nf_log_test_skip soak_cycles "not in NF_SOAK_PHASES"; return; }
	[ "$NF_SOAK_CYCLES" -gt 0 ] || { nf_log_test_skip soak_cycles "NF_SOAK_CYCLES=0"; return; }
	nf_require_host_ctl || return
	cycles_phase cycles cycles "$NF_SOAK_CYCLES"
	nf_log_test
}

soak_vf_cycles()
{
	phase_on vf || { nf_log_test_skip soak_vf_cycles "not in NF_SOAK_PHASES"; return; }
	[ "$NF_SOAK_VF_CYCLES" -gt 0 ] || { nf_log_test_skip soak_vf_cycles "NF_SOAK_VF_CYCLES=0"; return; }
	[ -n "$(nf_igb_pf_bdf)" ] || { nf_log_test_skip soak_vf_cycles "no igb PF"; return; }
	nf_require_host_ctl || return
	cycles_phase vf vfcycles "$NF_SOAK_VF_CYCLES"
	nf_log_test
}

soak_storm()
{
	phase_on storm || { nf_log_test_skip soak_storm "not in NF_SOAK_PHASES"; return; }
	[ "$NF_SOAK_OPS" -gt 0 ] || { nf_log_test_skip soak_storm "NF_SOAK_OPS=0"; return; }
	nf_require_host_ctl || return
	local out=$NF_RESULTS/soak-storm.json
	python3 "$SOAK_PY" storm --ops "$NF_SOAK_OPS" --seed "$NF_SOAK_SEED" \
		--log "$NF_RESULTS/soak-ops.txt" --out "$out"
	nf_check_err $? "storm stopped: replay with make soak SEED=$NF_SOAK_SEED (see soak-ops.txt)"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("seed=%d ops_done=%d/%d seconds=%s per_op_s=%.2f digest=%s counter_samples=%d"
      " ran_s=%s settle_s=%s" % (
    d["seed"], d["done"], d["ops"], d["seconds"], d["seconds"] / max(1, d["done"]),
    d["digest"], d["counter_samples"], d.get("ran_seconds"), d.get("settle_seconds")))
print("op counts: " + " ".join("%s=%d" % kv for kv in sorted(d["op_counts"].items())))' \
		"$out" > "$NF_TMP/s.txt" 2>&1
	nf_figure "storm: $(head -n 1 "$NF_TMP/s.txt")"
	nf_diag "$(tail -n +2 "$NF_TMP/s.txt")"
	COUNTER_JSONS="$COUNTER_JSONS $out"
	nf_log_test
}

counters_monotonic()
{
	local res
	if [ -z "$COUNTER_JSONS" ]; then
		nf_log_test_skip counters_monotonic "no phase ran"
		return
	fi
	# shellcheck disable=SC2086
	res=$(python3 -c '
import json, sys
n = bad = 0
for f in sys.argv[1:]:
    d = json.load(open(f))
    n += d.get("counter_samples", 0)
    bad += len(d.get("counter_decreases", []))
    for v in d.get("counter_decreases", []) + [
            p for p in (d.get("violation") or {}).get("problems", []) if "went" in p]:
        print("decrease: " + v)
print("samples=%d decreases=%d" % (n, bad))
sys.exit(1 if bad or n == 0 else 0)' $COUNTER_JSONS)
	nf_check_err $? "master counters went backwards (or never sampled)"
	nf_figure "master counters: $(echo "$res" | tail -n 1)"
	nf_log_test
}

memory()
{
	nf_figure "slab at start: $SLAB_START; at end: $(slab)"
	# pending unregisters first (netdev_wait_allrefs warns after 10 s)
	sleep 12
	if ! nf_kmemleak_check; then
		nf_log_test_skip memory "no kmemleak in this kernel"
		return
	fi
	nf_log_test
}

nf_main
