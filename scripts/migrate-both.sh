#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Live migration, both modules in one invocation (make migrate, make bench):
#
#   migrate-both.sh [--rounds N] [--flavour debug|bench] [--tap-ms MS]
#
# Runs the migration rig (migrate.sh) for the Rust module, then for the C
# reference, with N round trips each (default 10: 20 migrations per module),
# the taps sampled every MS ms (default 10, for the timeline), then
# mig-report.py on both runs: per phase median [min..max] and the datagrams
# lost per phase class, Rust and C side by side, in
# $CACHE/bench/migration-<time>/migration.txt, and a timeline of the first
# Rust round trip in timeline.png. The Rust run decides the exit status; the
# C reference's follows for comparison (it fails mig_loss and dmesg_clean:
# Documentation, "Live migration: measured"). Prints figures, asserts no
# timings.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

rounds=${MIG_ROUNDS:-10} flavour=debug tap_ms=10
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds | --flavour | --tap-ms)
		[ $# -ge 2 ] || die "$1 needs a value" ;;&
	--rounds) rounds=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--tap-ms) tap_ms=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
out=$CACHE/bench/migration-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
rust=$(nf_new_run_dir "migrate-rust-")
c=$(nf_new_run_dir "migrate-c-")
rc=0
NF_MIG_TAP_MS=$tap_ms "$REPO/scripts/migrate.sh" --module rust --flavour "$flavour" --rounds "$rounds" \
	--results "$rust" || rc=$?
NF_MIG_TAP_MS=$tap_ms NF_MIG_TAKEOVER_DELAY='' "$REPO/scripts/migrate.sh" --module c --flavour "$flavour" \
	--rounds "$rounds" --results "$c" || true
py=python3
[ -x "$CACHE/venv/bin/python3" ] && "$CACHE/venv/bin/python3" -c 'import matplotlib' 2>/dev/null &&
	py=$CACHE/venv/bin/python3
"$py" "$REPO/scripts/mig-report.py" --png "$out/timeline.png" "$rust" "$c" | tee "$out/migration.txt" || true
log "migration figures: $out/migration.txt, $out/timeline.png (runs: $rust $c)"
exit "$rc"
