#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The README's test command: set up, build, run host unit tests, then the
# guest selftests (KTAP) against our Rust module on the debug kernel, with
# dmesg/kmemleak checked: one guest for the suite, a second one (1 GiB) for
# sriov.sh; the summary adds both up. Exits non-zero on any failure; the last
# lines say why.
#   run-tests.sh [--module rust|c]   (c: the same suite against the C reference)
# NF_STRESS_CYCLES (default 30 here, 100 in stress.sh itself) bounds the
# unplug/replug stress so that CI stays well inside its time limit.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# The whole script is one block, which bash reads before running any of it:
# an edit of this file while it runs (a long guest run) cannot derail it.
{

module=rust
[ "${1:-}" = --module ] && module=$2

t0=$(date +%s)
"$REPO/scripts/setup.sh"
t_setup=$(date +%s)

"$REPO/scripts/build-kernel.sh" debug
"$REPO/scripts/build-cref.sh" debug
t_build=$(date +%s)

# On a fresh machine common.sh was sourced before setup.sh installed
# linux-source: recompute the kernel paths ($PRISTINE) from the version now
# installed.
nf_paths

log "host unit tests (cargo test, tests/host)"
mkdir -p "$CACHE"
host_rc=0
(cd "$REPO/tests/host" && NF_KERNEL_SRC=$PRISTINE cargo test --offline) >"$CACHE/host-tests.log" 2>&1 || host_rc=$?
grep -E '^test result:' "$CACHE/host-tests.log" || true
[ "$host_rc" = 0 ] || { tail -30 "$CACHE/host-tests.log"; die "host unit tests failed"; }

log "host script tests (tests/scripts/first-run.sh: first-run paths on an empty cache)"
"$REPO/tests/scripts/first-run.sh" >"$CACHE/first-run.log" 2>&1 ||
	{ cat "$CACHE/first-run.log"; die "first-run script tests failed"; }
grep -E '^# Totals' "$CACHE/first-run.log" || true

# The guest selftests: every TEST_PROGS script of the suite's Makefile (or
# those in NF_TESTS; "all" is every one), in one guest with 3 GiB, except
# sriov.sh, which boots a guest of its own with 1 GiB: QEMU 10.0.2 drops the
# upper 32 bits of igbvf VF BAR addresses, and with 3 GiB the firmware puts
# the igb PF's 64-bit window above 4 GiB (Documentation: "A failover guest in
# QEMU").
suite=$REPO/selftests/drivers/net/failover
all=$(sed -n '/^TEST_PROGS/,/^$/p' "$suite/Makefile" | grep -o '[A-Za-z0-9_-]*\.sh' | sed 's/\.sh$//' | tr '\n' ' ')
want=${NF_TESTS:-all}
[ "$want" = all ] && want=$all
tests= sriov_tests= not_run=
for t in $want; do
	case "${t%.sh}" in
	sriov) sriov_tests=sriov ;;
	*) tests="$tests ${t%.sh}" ;;
	esac
done
tests=${tests# }
for t in $all; do
	case " $want " in *" $t "* | *" $t.sh "*) ;; *) not_run="$not_run $t" ;; esac
done
log "guest selftests${tests:+: $tests (3G guest)}${sriov_tests:+; $sriov_tests (1G guest)}${not_run:+; not run (NF_TESTS):$not_run}"
runs=() mems=() vm_rcs=()
# guest_suite PREFIX MEMORY TESTS: one guest, run_all.sh on TESTS. The whole
# suite takes ~2900 s in the 3G guest on a quiet 2-core host (the SR-IOV guest
# ~300 s more); the default limit leaves ~45 % for a slower host and still
# fits CI's 90 minutes with a built kernel in the cache.
guest_suite() {
	local run rc
	run=$(nf_new_run_dir "$1")
	set +e
	"$REPO/scripts/vm.sh" --flavour debug --module "$module" --memory "$2" --timeout "${NF_TEST_TIMEOUT:-4200}" \
		--results "$run" -- env NF_STRESS_CYCLES="${NF_STRESS_CYCLES:-30}" NF_TESTS="$3" bash "$suite/run_all.sh"
	rc=$?
	set -e
	runs+=("$run") mems+=("$2") vm_rcs+=("$rc")
}
[ -z "$tests" ] || guest_suite test- 3G "$tests"
t_guest=$(date +%s)
[ -z "$sriov_tests" ] || guest_suite test-sriov- 1G "$sriov_tests"
t_sriov=$(date +%s)

# KUnit: the kernel crate's doctests (rust_doctests_kernel) run at boot
# (looked up in the live kernel log copy first: dmesg.txt may have wrapped).
kunit=$(grep -hE '(\]|;) *(not )?ok [0-9]+ rust_doctests_kernel' "${runs[0]:-/nonexistent}/kmsg.txt" \
	"${runs[0]:-/nonexistent}/dmesg.txt" 2>/dev/null | head -1 || true)
kunit_rc=0
case "$kunit" in
*'not ok'*) kunit_rc=1 ;;
*ok*) ;;
*) kunit="(no KUnit result in dmesg)"; kunit_rc=1 ;;
esac

echo
echo "results: ${runs[*]}"
echo "timing: setup $((t_setup - t0)) s, build $((t_build - t_setup)) s, guest $((t_guest - t_build)) s, sriov guest $((t_sriov - t_guest)) s"
echo "KUnit: $kunit"
# Counted per test case (the scripts' KTAP lines, nested two spaces deep in
# ktap.txt): a case-level SKIP is a skip, not a pass; a script that skipped as
# a whole ("1..0 # SKIP") is one skip; a script that failed without a failing
# case (time-out, crash, missing results) is one failure. A run in which no
# case passed fails, and so does a full run with fewer cases than the suite
# had when this was written (NF_MIN_CASES, default 112: every script but
# sriov.sh, which may skip as a whole, each with its dmesg_clean).
count_cases() {
	awk '
		/^# running / { cf = 0 }
		/^  ok [0-9]+ / { if ($0 ~ /# SKIP/) s++; else p++ }
		/^  not ok [0-9]+ / { f++; cf++ }
		/^  1\.\.0 # SKIP/ { s++ }
		/^not ok [0-9]+ / { if (!cf) f++ }
		END { printf "%d %d %d\n", p, f, s }' "$1" 2>/dev/null || echo "0 0 0"
}
pass=0 fail=0 skip=0 total_fail=0
for i in "${!runs[@]}"; do
	k=${runs[$i]}/ktap.txt
	read -r p f s <<<"$(count_cases "$k")"
	echo "guest selftests ($module module, ${mems[$i]} guest, test cases): pass $p, fail $f, skip $s; vm exit ${vm_rcs[$i]}"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	total_fail=$((total_fail + f))
	[ "${vm_rcs[$i]}" = 0 ] || total_fail=$((total_fail + (f == 0)))
done
[ "$kunit_rc" = 0 ] || total_fail=$((total_fail + 1))
if [ "$pass" = 0 ]; then
	echo "no test case passed"
	total_fail=$((total_fail + 1))
fi
min_cases=1
[ -n "$not_run" ] || min_cases=${NF_MIN_CASES:-112}
if [ $((pass + fail + skip)) -lt "$min_cases" ]; then
	echo "only $((pass + fail + skip)) test cases ran, want at least $min_cases"
	total_fail=$((total_fail + 1))
fi
echo "$pass passed, $total_fail failed, $skip skipped${not_run:+ (not run, NF_TESTS:$not_run)}"
[ "$total_fail" = 0 ] || die "tests failed: see ${runs[*]} (ktap.txt, dmesg.txt, console.log)"
exit
}
