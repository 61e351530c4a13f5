#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Live migration, both modules in one invocation (make migrate, make bench):
#
#   migrate-both.sh [--rounds N] [--tap-ms MS]
#
# Runs the migration rig (migrate.sh) for the Rust module (with
# MIG_TAKEOVER_DELAY ms of takeover delay if set), then for the C reference
# with its stats_lock initialised (c-lockinit: lockdep stays on in its guest
# as in ours, so its times compare with ours), then for the pristine C
# reference (whose first stats read switches lockdep off, after which every
# step of its guest runs faster), each
# with N round trips (default MIG_ROUNDS, else 10: 2N + 4 migrations per
# module) and the taps sampled every MS ms (default 10, for the timeline;
# migrate.sh's default is 100, so the host does more work here than in make
# test), then mig-report.py on the three runs: per phase median [min..max] and
# the datagrams lost per phase class, the three side by side, in
# $CACHE/bench/migration-<time>/migration.txt, and a timeline of the Rust
# run's first round trip in timeline.png. Always the debug kernel: the rig
# checks kmemleak. The Rust run decides the exit status (and a report that
# could not be made fails it); the C reference's follow for comparison (they
# fail mig_loss and dmesg_clean, the one with stats_lock initialised on a
# suspicious rcu_dereference() that lockdep, staying on, reports:
# Documentation/networking/net_failover_rust_results.rst, "Live migration:
# measured").
# Prints figures, asserts no timings.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

rounds=${MIG_ROUNDS:-10} tap_ms=10
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds | --tap-ms)
		[ $# -ge 2 ] || die "$1 needs a value" ;;&
	--rounds) rounds=$2; shift 2 ;;
	--tap-ms) tap_ms=$2; shift 2 ;;
	*) die "usage: migrate-both.sh [--rounds N] [--tap-ms MS]" ;;
	esac
done
"$REPO/scripts/build-kernel.sh" debug
"$REPO/scripts/build-cref.sh" debug
ensure_matplotlib
out=$CACHE/bench/migration-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
modules=(rust c-lockinit c)
runs=() rcs=()
for m in "${modules[@]}"; do
	runs+=("$(nf_new_run_dir "migrate-$m-")")
	delay=
	[ "$m" != rust ] || delay=${MIG_TAKEOVER_DELAY:-}
	r=0
	NF_MIG_TAP_MS=$tap_ms NF_MIG_TAKEOVER_DELAY=$delay "$REPO/scripts/migrate.sh" --module "$m" \
		--rounds "$rounds" --results "${runs[-1]}" || r=$?
	rcs+=("$r")
done
rc=${rcs[0]}
py=python3
"$VENV/bin/python3" -c 'import matplotlib' 2>/dev/null && py=$VENV/bin/python3
png=
[ "$py" = python3 ] || png=$out/timeline.png
report_rc=0
"$py" "$REPO/scripts/mig-report.py" ${png:+--png "$png"} "${runs[@]}" >"$out/migration.txt" 2>&1 ||
	report_rc=$?
cat "$out/migration.txt"
log "rig exit status per module: ${modules[*]}: ${rcs[*]} (runs: ${runs[*]})"
if [ "$report_rc" != 0 ]; then
	log "mig-report.py failed (status $report_rc): see $out/migration.txt"
	[ "$rc" != 0 ] || rc=$report_rc
fi
log "migration figures: $out/migration.txt${png:+, $png}"
[ -z "$png" ] || [ -s "$png" ] || log "warning: no timeline was drawn"
exit "$rc"
