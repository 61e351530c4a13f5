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
#   soak_fuzz        NF_SOAK_FUZZ (default 0) rtnetlink messages of
#                    nlfuzz.py (seed NF_SOAK_SEED) at kind net_failover and
#                    its lower devices, in namespaces of their own, from a
#                    user namespace and from concurrent senders; fails on a
#                    missing answer, a refused request that changed
#                    something, a request that did not do what it said, a
#                    broken invariant, a splat, a kmemleak report or a
#                    net_device left alive (nlfuzz.py --help).
#   counters_monotonic  the master's counters never decreased in either
#                    phase (sampled at every check).
#   memory           slab at the start and the end, kmemleak after a scan
#                    (debug kernel); after the storm: each slab cache's
#                    active objects, live net_devices and skbs against the
#                    start (memacct.py), kmemleak every 500 ops.
# NF_SOAK_PHASES selects the phases (default "cycles storm"; "vf", "fuzz"):
# the others SKIP.
#
# No case differs for the C reference (NF_MODULE=c).

ALL_TESTS="
	soak_cycles
	soak_vf_cycles
	soak_storm
	soak_fuzz
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
: "${NF_SOAK_FUZZ:=0}"
: "${NF_SOAK_PHASES:=cycles storm}"
if [ -z "${NF_SOAK_SEED:-}" ]; then
	NF_SOAK_SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
echo "# soak: seed=$NF_SOAK_SEED cycles=$NF_SOAK_CYCLES vf_cycles=$NF_SOAK_VF_CYCLES ops=$NF_SOAK_OPS fuzz=$NF_SOAK_FUZZ phases=$NF_SOAK_PHASES"
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

soak_fuzz()
{
	phase_on fuzz || { nf_log_test_skip soak_fuzz "not in NF_SOAK_PHASES"; return; }
	[ "$NF_SOAK_FUZZ" -gt 0 ] || { nf_log_test_skip soak_fuzz "NF_SOAK_FUZZ=0"; return; }
	python3 "$lib_dir/nlfuzz.py" --seed "$NF_SOAK_SEED" --messages "$NF_SOAK_FUZZ" \
		--log "$NF_RESULTS/fuzz-msgs.txt" --out "$NF_RESULTS/soak-fuzz.json" \
		${NF_SOAK_FUZZ_ARGS:-}
	nf_check_err $? "fuzzer: see the FAIL lines above; replay with NF_SOAK_SEED=$NF_SOAK_SEED NF_SOAK_FUZZ=$NF_SOAK_FUZZ NF_SOAK_FUZZ_ARGS='${NF_SOAK_FUZZ_ARGS:-}' (fuzz-msgs.txt)"
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

# storm_memory_verdict JSON: the storm's memory section judged (memacct.py)
storm_memory_verdict()
{
	python3 - "$1" "$NF_SOAK_OPS" <<'PY'
import json, sys
SKB_SLACK = 64          # skbs queued at the end (sockets, neighbours)
# objects any cache may gain: the processes alive at the end (udev
# workers, the soak's own children) and the caches the storm warmed gave up
# to +487 (kmalloc-32) and +320 (page->ptl) after 200 operations on the
# debug kernel; kmemleak is the check of every single object
CACHE_SLACK = 1000
PER_OP = 0.5            # and per op: a leak of one object per two ops shows in long storms
d = json.load(open(sys.argv[1]))
ops = max(1, int(sys.argv[2]))
m = d.get("memory") or {}
bad = []
if m.get("error"):
    bad.append(m["error"])
if m.get("probes_error"):
    bad.append("no net_device count: " + m["probes_error"])
c = m.get("compare")
if c:
    mi = lambda d: " ".join("%s=%s->%skB" % (k, v[0], v[1]) for k, v in sorted(d.items()))
    print("# figure: storm memory, teardown vs start: slab %+.1f kB in active objects;"
          " net_device %s; skb %+d; meminfo as read %s; after dropping caches and shrinking %s" % (
              c["total_kb"], "n/a" if c["netdev"] is None else "%+d" % c["netdev"], c["skb"],
              mi(c.get("meminfo_raw") or {}), mi(c["meminfo"])))
    print("# grown (cache objects kB): " + ", ".join("%s %+d %+.1f" % tuple(g) for g in c["grown"]))
    print("# shrunk: " + ", ".join("%s %+d %+.1f" % tuple(g) for g in c["shrunk"] if g[1] < 0))
    print("# debug facilities' caches and receive-ring heads (not judged): " + ", ".join("%s %+d %+.1f" % tuple(g) for g in c.get("debug", [])))
    if c.get("netns", 0) > 0:
        # (the struct net that 6.12 keeps until the next cleanup round is
        # not counted: memacct's snapshots make that round)
        bad.append("%+d network namespace(s) alive after the teardown (named, processes: %s)" % (
            c["netns"], c.get("netns_holders")))
    if c["netdev"]:
        bad.append("%+d net_device(s) alive after the teardown" % c["netdev"])
    if c["skb"] > SKB_SLACK:
        bad.append("%+d skbs after the teardown (at most %d)" % (c["skb"], SKB_SLACK))
    for cache, objs, kb in c.get("all", c["grown"]):
        if objs > max(CACHE_SLACK, ops * PER_OP):
            bad.append("%s: %+d objects (%+.1f kB) over %d ops" % (cache, objs, kb, ops))
elif not m.get("error"):
    bad.append("no memory comparison")
scans = m.get("kmemleak") or []
if scans:
    print("# kmemleak scans (after op: unreferenced): " + " ".join("%s:%s" % tuple(k) for k in scans))
    if any(k[1] for k in scans):
        bad.append("kmemleak: %s" % scans)
        print("# " + (m.get("kmemleak_report") or "").replace("\n", "\n# "))
for b in bad:
    print("# FAIL: " + b)
sys.exit(1 if bad else 0)
PY
}

memory()
{
	nf_figure "slab at start: $SLAB_START; at end: $(slab)"
	if [ -s "$NF_RESULTS/soak-storm.json" ]; then
		storm_memory_verdict "$NF_RESULTS/soak-storm.json"
		nf_check_err $? "the storm left memory behind (see above)"
	fi
	# pending unregisters first (netdev_wait_allrefs warns after 10 s)
	sleep 12
	if ! nf_kmemleak_check && [ "$RET" -eq 0 ]; then
		nf_log_test_skip memory "no kmemleak in this kernel"
		return
	fi
	nf_log_test
}

nf_main
