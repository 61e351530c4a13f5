#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The README's test command: set up, build, run host unit tests, then the
# guest selftests (KTAP) against our Rust module on the debug kernel, with
# dmesg/kmemleak checked. Exits non-zero on any failure; the last lines say why.
#   run-tests.sh [--module rust|c]   (c: the same suite against the C reference)
# NF_STRESS_CYCLES (default 30 here, 100 in stress.sh itself) bounds the
# unplug/replug stress so that CI stays well inside its time limit.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

module=rust
[ "${1:-}" = --module ] && module=$2

t0=$(date +%s)
"$REPO/scripts/setup.sh"
t_setup=$(date +%s)

"$REPO/scripts/build-kernel.sh" debug
"$REPO/scripts/build-cref.sh" debug
t_build=$(date +%s)

log "host unit tests (cargo test, tests/host)"
host_rc=0
(cd "$REPO/tests/host" && NF_KERNEL_SRC=$PRISTINE cargo test --offline) >"$CACHE/host-tests.log" 2>&1 || host_rc=$?
grep -E '^test result:' "$CACHE/host-tests.log"
[ "$host_rc" = 0 ] || { tail -30 "$CACHE/host-tests.log"; die "host unit tests failed"; }

# sriov.sh is left out by default: QEMU 10.0.2 maps VF BARs without the
# upper 32 bits of their address (the guest puts them above 4 GB), so igbvf
# cannot reach its registers and comes up with a random MAC; no VF can match the
# standby yet (a known failure, tracked in the issue notes). NF_TESTS=all
# runs everything.
tests=${NF_TESTS:-topology traffic impostors rename mtu_vlan_rxmode stats bad_input hotplug teardown stress}
[ "$tests" = all ] && tests=
[ -z "$tests" ] || log "guest selftests: $tests (not run: sriov.sh unless NF_TESTS=all)"
mkdir -p "$CACHE/runs"
RUN=$(mktemp -d "$CACHE/runs/test-$(date +%Y%m%d-%H%M%S)-XXXX")
set +e
"$REPO/scripts/vm.sh" --flavour debug --module "$module" --timeout "${NF_TEST_TIMEOUT:-3600}" --results "$RUN" \
	-- env NF_STRESS_CYCLES="${NF_STRESS_CYCLES:-30}" NF_TESTS="$tests" bash "$REPO/selftests/drivers/net/failover/run_all.sh"
vm_rc=$?
set -e
t_guest=$(date +%s)

# KUnit: the kernel crate's doctests (rust_doctests_kernel) run at boot.
kunit=$(grep -E '\] (not )?ok [0-9]+ rust_doctests_kernel' "$RUN/dmesg.txt" 2>/dev/null | tail -1 || true)
kunit_rc=0
case "$kunit" in
*'not ok'*) kunit_rc=1 ;;
*ok*) ;;
*) kunit="(no KUnit result in dmesg)"; kunit_rc=1 ;;
esac

pass=$(grep -cE '^ok [0-9]+' "$RUN/ktap.txt" 2>/dev/null || true)
fail=$(grep -cE '^not ok [0-9]+' "$RUN/ktap.txt" 2>/dev/null || true)
skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$RUN/ktap.txt" 2>/dev/null || true)
pass=$((pass - skip))
echo
echo "results: $RUN"
echo "timing: setup $((t_setup - t0)) s, build $((t_build - t_setup)) s, guest $((t_guest - t_build)) s"
echo "KUnit: $kunit"
echo "guest selftests ($module module, top-level scripts): pass $pass, fail $fail, skip $skip; vm exit $vm_rc"
total_fail=$fail
[ "$vm_rc" = 0 ] || total_fail=$((total_fail + (fail == 0)))
[ "$kunit_rc" = 0 ] || total_fail=$((total_fail + 1))
echo "$pass passed, $total_fail failed, $skip skipped"
[ "$total_fail" = 0 ] || die "tests failed: see $RUN (ktap.txt, dmesg.txt, console.log)"
