#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Real live migration of a failover guest between two QEMUs on this host
# (issue 25; tests/migration/DESIGN.md):
#
#   migrate.sh [--module rust|c|c-lockinit] [--rounds N] [--takeover-delay MS]
#              [--results DIR] [--flavour debug|bench] [--ko PATH]
#              [--replug-timeout S] [--demo] [--boot-only]
#
# --demo (make demo): one round trip, no cancel and no destination without a
# primary, then the per-phase table of scripts/mig-report.py for it.
# --boot-only: mig_topology alone (the boot-time enslave latency and the
# guest's CPU as figures), for repeated boots.
#
# c-lockinit: the C reference with its stats_lock initialised
# (build-cref.sh), so that lockdep stays on in its guest as in ours: the one
# to compare timings with.
# --ko: the net_failover.ko to load instead of the build's (a mutant of the
# Rust driver: tests/mutants/, scripts/mutants.sh). --replug-timeout: how
# long the rig waits for a primary after a migration or a cancel (migrig.py,
# default 240 s).
#
# Builds the initramfs root (mk-initramfs.sh), makes a network namespace
# with a bridge holding the peer addresses 192.0.2.1/24 and 2001:db8::1/64
# and one pair of taps per QEMU slot (tap-sb-a/tap-pf-a, tap-sb-b/tap-pf-b),
# and runs the rig (migrig.py: N round trips, NF_MIG_ROUNDS, default 10,
# then the cancel and no-primary cases) in it. KTAP on stdout and in
# DIR/output.txt; per migration DIR/mig-N.json; QMP events
# DIR/events-<slot>.jsonl; tap samples DIR/taps.txt; consoles
# DIR/<slot>-console.log; the guest's kernel log DIR/dmesg.txt (checked
# like every guest's by check-dmesg.sh). Exit status: 0 when every case
# passed.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

module=rust rounds=${NF_MIG_ROUNDS:-10} RUN='' flavour=debug delay=${NF_MIG_TAKEOVER_DELAY:-} ko='' replug=''
demo='' boot_only=''
while [ $# -gt 0 ]; do
	case "$1" in
	--demo) demo=1; shift; continue ;;
	--boot-only) boot_only=1; shift; continue ;;
	--module | --rounds | --results | --flavour | --takeover-delay | --ko | --replug-timeout)
		[ $# -ge 2 ] || die "$1 needs a value (usage: see the head of $0)" ;;&
	--module) module=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--results) RUN=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--takeover-delay) delay=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--replug-timeout) replug=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -z "$demo" ] || rounds=1
B=$(build_dir "$flavour")
[ -f "$B/arch/x86/boot/bzImage" ] || die "no kernel in $B: make kernel first"
case "$module" in
rust) ko=${ko:-$B/drivers/net/net_failover.ko} ;;
c) [ -z "$ko" ] || die "--ko is for the Rust module"; ko=$B-cref/net_failover.ko ;;
c-lockinit) [ -z "$ko" ] || die "--ko is for the Rust module"; ko=$B-cref/lockinit/net_failover.ko ;;
*) die "--module rust|c|c-lockinit" ;;
esac
[ -f "$ko" ] || die "missing $ko"
[ -n "$RUN" ] || RUN=$(nf_new_run_dir "migrate-$module-")
mkdir -p "$RUN"
echo "$module" >"$RUN/module" # (for mig-report.py)
"$REPO/scripts/mk-initramfs.sh" --build-dir "$B" --ko "$ko" --module "${module%-lockinit}" "$RUN/initrd"

NS=nfmig$$
trap 'nf_peer_del "$NS"' EXIT
nf_peer_del "$NS" # one left by a killed run whose pid this one reuses
nf_peer_add "$NS" tap-sb-a tap-pf-a tap-sb-b tap-pf-b
log "migration rig: $module module, $rounds round trip(s), results in $RUN"
# The rig runs in the background so that a TERM or INT reaches it at once
# (bash defers a trap until the foreground command ends): it quits both
# QEMUs on the way out, then the namespace goes.
set +e
: >"$RUN/output.txt"
ip netns exec "$NS" python3 "$REPO/scripts/migrig.py" --run "$RUN" --kernel "$B/arch/x86/boot/bzImage" \
	--initrd "$RUN/initrd" --rounds "$rounds" ${delay:+--takeover-delay "$delay"} \
	${replug:+--replug-timeout "$replug"} ${demo:+--demo} \
	${boot_only:+--boot-only} >"$RUN/output.txt" &
rig=$!
tail -n +1 -f --pid="$rig" "$RUN/output.txt" &
tailer=$!
trap 'kill -TERM "$rig" 2>/dev/null; wait "$rig"; kill "$tailer" 2>/dev/null; exit 143' TERM
trap 'kill -TERM "$rig" 2>/dev/null; wait "$rig"; kill "$tailer" 2>/dev/null; exit 130' INT
wait "$rig"
rc=$?
wait "$tailer"
set -e
log "migration rig exit status $rc (results: $RUN)"
if [ -n "$demo" ]; then
	printf '\n=== the migration, phase by phase (scripts/mig-report.py %s)\n' "$RUN"
	python3 "$REPO/scripts/mig-report.py" "$RUN" || rc=1
fi
exit "$rc"
