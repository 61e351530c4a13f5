#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The README's test command: set up, build, run host unit tests, then the
# guest selftests (KTAP) against our Rust module on the debug kernel, with
# dmesg/kmemleak checked: the suite split over NF_LANES (default 2) guests
# running side by side, plus a 1 GiB guest for sriov.sh, a 2 GiB guest for
# netstack.sh (the guest's own network stack from Debian's packages:
# scripts/netstack-root.sh) and a real live
# migration between two QEMUs (migrate.sh, NF_MIG_ROUNDS round trips,
# default 2 here); the summary adds them up. Exits non-zero on any failure;
# the last lines say why.
#   run-tests.sh [--module rust|c] [--plan]   (c: the same suite against the
#   C reference; --plan: print which lane runs what, then stop)
# NF_STRESS_CYCLES (default 8 here, 100 in stress.sh itself) bounds the
# unplug/replug stress so that CI stays well inside its time limit (a cycle
# takes 25-45 s in the debug guest; make soak runs the long loops).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# The whole script is one block, which bash reads before running any of it:
# an edit of this file while it runs (a long guest run) cannot derail it.
{

module=rust plan=0
while [ $# -gt 0 ]; do
	case "$1" in
	--module) module=${2:?--module rust|c}; shift 2 ;;
	--plan) plan=1; shift ;;
	*) die "usage: run-tests.sh [--module rust|c] [--plan]" ;;
	esac
done

# --plan: print which lane runs what, then stop (no set-up, build or guest;
# tests/scripts/first-run.sh checks the plans)
t0=$(date +%s)
[ "$plan" = 1 ] || "$REPO/scripts/setup.sh"
t_setup=$(date +%s)

[ "$plan" = 1 ] || "$REPO/scripts/build-kernel.sh" debug
[ "$plan" = 1 ] || "$REPO/scripts/build-cref.sh" debug
t_build=$(date +%s)

# On a fresh machine common.sh was sourced before setup.sh installed
# linux-source: recompute the kernel paths ($PRISTINE) from the version now
# installed.
nf_paths

if [ "$plan" = 0 ]; then
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
fi

# The guest selftests: every TEST_PROGS script of the suite's Makefile (or
# those in NF_TESTS; "all" is every one). sriov.sh boots a guest of its own
# with 1 GiB: QEMU 10.0.2 drops the upper 32 bits of igbvf VF BAR addresses,
# and with 3 GiB the firmware puts the igb PF's 64-bit window above 4 GiB
# (Documentation: "A failover guest in QEMU"). The other scripts are split
# over NF_LANES guests of 3 GiB that run at the same time: vm.sh runs both
# vCPUs of a guest on one host thread, so one guest per host core. Each lane
# runs its scripts in the Makefile's order (destructive ones last); the split
# is greedy on the seconds per script below (measured 2026-12-07, CI of
# 5b0935e, two lanes and the sriov guest on a 2-core machine: Documentation/
# networking/net_failover_rust_results.rst, "Test run times"); the sriov
# guest goes after the lane with the least to do, then netstack.sh's 2 GiB
# guest (udev renames its interfaces and it mounts packages over its root:
# no other script may share it) after the lane with the least to do then.
# The migration rig runs
# last, alone: its loss windows are fixed times (Documentation, "The
# migration rig"), and its QEMUs have none of vm.sh's stall watchdog, so it
# does not share the machine with the lanes.
suite=$REPO/selftests/drivers/net/failover
all=$(sed -n '/^TEST_PROGS/,/^$/p' "$suite/Makefile" | grep -o '[A-Za-z0-9_-]*\.sh' | sed 's/\.sh$//' | tr '\n' ' ')
want=${NF_TESTS:-all}
[ "$want" = all ] && want=$all
# "migration" (in NF_TESTS, or all) is the host-side migration rig, not a
# guest script.
[ "${NF_TESTS:-all}" = all ] && want="$want migration"
tests= sriov_tests= netstack_tests= mig= not_run=
for t in $all migration; do
	case " $want " in
	*" $t "* | *" $t.sh "*)
		case $t in
		sriov) sriov_tests=sriov ;;
		netstack) netstack_tests=netstack ;;
		migration) mig=migration ;;
		*) tests="$tests $t" ;;
		esac
		;;
	*) not_run="$not_run $t" ;;
	esac
done
for t in $want; do
	case " $all migration " in *" ${t%.sh} "*) ;; *) die "NF_TESTS: unknown script $t (known: $all migration)" ;; esac
done
tests=${tests# }
declare -A est=(
	[topology]=150 [traffic]=130 [datapath]=390 [impostors]=280 [rename]=80
	[mtu_vlan_rxmode]=420 [stats]=520 [bad_input]=190 [hotplug]=370 [flap]=160
	[ethtool_stats]=70 [uevents]=140 [takeover_delay]=300 [link_info]=80
	[explicit_pair]=610 [standby_mtu]=210 [soak_slice]=900 [teardown]=150 [stress]=700 [sriov]=420
	[netstack]=750
)
# the migration rig: boot, the cancel and no-primary cases, then about 100 s
# per round trip
est[migration]=$((250 + 100 * ${NF_MIG_ROUNDS:-2}))
lanes=${NF_LANES:-2}
[[ "$lanes" =~ ^[1-9]$ ]] || die "NF_LANES must be 1-9"
declare -a lane_tests lane_load
for ((l = 0; l < lanes; l++)); do lane_tests[l]= lane_load[l]=0; done
# least_loaded VAR: VAR is set to the lane with the least to do so far (the
# first of equals)
least_loaded() {
	local l b=0
	for ((l = 1; l < lanes; l++)); do
		[ "${lane_load[l]}" -lt "${lane_load[b]}" ] && b=$l
	done
	printf -v "$1" %s "$b"
}
# longest first onto the least loaded lane, then each lane in Makefile order
for t in $(for t in $tests; do echo "${est[$t]:-300} $t"; done | sort -rn | awk '{print $2}'); do
	least_loaded best
	lane_tests[best]="${lane_tests[best]} $t"
	lane_load[best]=$((lane_load[best] + ${est[$t]:-300}))
done
for ((l = 0; l < lanes; l++)); do
	ordered=
	for t in $all; do
		case " ${lane_tests[l]} " in *" $t "*) ordered="$ordered $t" ;; esac
	done
	lane_tests[l]=${ordered# }
done
sriov_lane=-1 netstack_lane=-1
if [ -n "$sriov_tests" ]; then
	least_loaded sriov_lane
	lane_load[sriov_lane]=$((lane_load[sriov_lane] + est[sriov]))
fi
if [ -n "$netstack_tests" ]; then
	least_loaded netstack_lane
	lane_load[netstack_lane]=$((lane_load[netstack_lane] + est[netstack]))
fi
# then_of L: what lane L runs after its 3G guest (" sriov", " netstack",
# both or nothing)
then_of() {
	local t=
	[ "$1" != "$sriov_lane" ] || t=" sriov"
	[ "$1" != "$netstack_lane" ] || t="$t netstack"
	echo "$t"
}
for ((l = 0; l < lanes; l++)); do
	[ -n "${lane_tests[l]}" ] && log "lane $l, guest (3G): ${lane_tests[l]}"
	[ "$l" != "$sriov_lane" ] || log "lane $l then: sriov (a 1G guest)"
	[ "$l" != "$netstack_lane" ] || log "lane $l then: netstack (a 2G guest)"
	[ -z "${lane_tests[l]}$(then_of "$l")" ] || log "lane $l: ~${lane_load[l]} s"
done
[ -z "$mig" ] || log "then, alone: the migration rig, ${NF_MIG_ROUNDS:-2} round trip(s) (~${est[migration]} s)"
[ -z "$not_run" ] || log "not run (NF_TESTS):$not_run"
if [ "$plan" = 1 ]; then
	for ((l = 0; l < lanes; l++)); do
		echo "lane $l: guest:${lane_tests[l]:+ ${lane_tests[l]}} | then:$(then_of "$l")"
	done
	echo "after the lanes:${mig:+ $mig}"
	exit 0
fi

# Each guest's limit: NF_TEST_TIMEOUT, else three times its estimate plus 5
# minutes for boot and bring-up. With a third guest on the 2 cores the
# lanes ran 2.4 times slower than alone; a guest that hangs is stopped
# earlier by vm.sh's stall watchdog.
guest_limit() {
	local t sum=0
	for t in $1; do sum=$((sum + ${est[$t]:-300})); done
	echo "${NF_TEST_TIMEOUT:-$((sum * 3 + 300))}"
}
# guest_suite NAME RUN MEMORY TESTS [POSSIBLE_CPUS]: one guest, run_all.sh on
# TESTS, results in RUN; writes "RUN MEMORY STATUS TESTS" to $lane_dir/NAME.res. Every
# guest planned has its name in $lane_dir/planned: one without a .res (its
# lane died) fails the run.
lane_dir=$(mktemp -d "$CACHE/lanes.XXXXXX")
# the packages netstack.sh mounts in its guest (fetched the first time)
netstack_root=
# (none if apt cannot fetch them: netstack.sh then says so)
[ -z "$netstack_tests" ] || netstack_root=$("$REPO/scripts/netstack-root.sh") || netstack_root=
guest_suite() {
	local run=$2 rc limit t=$(date +%s)
	limit=$(guest_limit "$4")
	log "guest $1: $4 (limit $limit s) -> $run"
	set +e
	"$REPO/scripts/vm.sh" --flavour debug --module "$module" --memory "$3" --timeout "$limit" \
		${5:+--possible-cpus "$5"} --results "$run" -- env NF_STRESS_CYCLES="${NF_STRESS_CYCLES:-8}" NF_TESTS="$4" \
		NF_NETSTACK_ROOT="$netstack_root" \
		bash "$suite/run_all.sh" >"$lane_dir/$1.out" 2>&1
	rc=$?
	set -e
	printf '%s %s %s %s\n' "$run" "$3" "$rc" "$4" >"$lane_dir/$1.res"
	log "guest $1 done (vm exit $rc, $(($(date +%s) - t)) s)"
}
# migration_job RUN: the migration rig (two QEMUs on initramfs roots of
# their own: scripts/migrate.sh) with NF_MIG_ROUNDS (default 2) round trips;
# writes "RUN - STATUS migration" to $lane_dir/migration.res. Its limit:
# NF_MIG_TIMEOUT, else three times its estimate plus 5 minutes, and never
# past NF_TEST_DEADLINE seconds (default 5100: CI stops a job at 90 minutes)
# from the start of make test: a rig that cannot get its estimate before then
# is not started, and counts as a failure that says so, rather than a job
# killed with nothing in its log. A TERM makes migrate.sh quit both QEMUs and
# its namespace; timeout's KILL, 150 s later, goes to the whole process
# group. The tuning variables of make migrate do not reach it.
migration_job() {
	local run=$1 rc limit left t
	t=$(date +%s)
	limit=${NF_MIG_TIMEOUT:-$((est[migration] * 3 + 300))}
	left=$((t0 + ${NF_TEST_DEADLINE:-5100} - t - 180))
	[ "$left" -ge "$limit" ] || limit=$left
	if [ "$limit" -lt "${est[migration]}" ]; then
		mkdir -p "$run"
		echo "migration rig not started: $((left + 180)) s left before NF_TEST_DEADLINE, it needs about ${est[migration]} s" |
			tee "$run/output.txt" >"$lane_dir/migration.out"
		printf '%s %s %s %s\n' "$run" - 125 migration >"$lane_dir/migration.res"
		return
	fi
	log "migration rig: $module module, ${NF_MIG_ROUNDS:-2} round trip(s) (limit $limit s) -> $run"
	set +e
	env -u NF_MIG_TAKEOVER_DELAY -u NF_MIG_TAP_MS timeout -k 150 "$limit" "$REPO/scripts/migrate.sh" \
		--module "$module" --rounds "${NF_MIG_ROUNDS:-2}" --results "$run" >"$lane_dir/migration.out" 2>&1
	rc=$?
	set -e
	printf '%s %s %s %s\n' "$run" - "$rc" migration >"$lane_dir/migration.res"
	log "migration rig done (exit $rc, $(($(date +%s) - t)) s)"
}
# guest_booted RUN: the guest of RUN is up (virtme-ng has prepared the
# modules directory: two vng starts at once could both rebuild it)
guest_booted() { [ -s "$1/kmsg.txt" ]; }
lane_pids=()
for ((l = 0; l < lanes; l++)); do
	[ -n "${lane_tests[l]}" ] || [ "$l" = "$sriov_lane" ] || [ "$l" = "$netstack_lane" ] || continue
	run3=
	if [ -n "${lane_tests[l]}" ]; then
		run3=$(nf_new_run_dir "test-l$l-")
		echo "l$l" >>"$lane_dir/planned"
	fi
	run1=
	if [ "$l" = "$sriov_lane" ]; then
		run1=$(nf_new_run_dir "test-sriov-")
		echo sriov >>"$lane_dir/planned"
	fi
	run2=
	if [ "$l" = "$netstack_lane" ]; then
		run2=$(nf_new_run_dir "test-netstack-")
		echo netstack >>"$lane_dir/planned"
	fi
	(
		# 24 possible CPUs (2 online): master_queue_count can tell a
		# master sized on the CPUs from a fixed 16
		[ -z "$run3" ] || guest_suite "l$l" "$run3" 3G "${lane_tests[l]}" 24
		[ -z "$run1" ] || guest_suite sriov "$run1" 1G sriov
		[ -z "$run2" ] || guest_suite netstack "$run2" 2G netstack
	) &
	lane_pids+=($!)
	first=${run3:-${run1:-$run2}}
	for _ in $(seq 600); do
		guest_booted "$first" && break
		kill -0 "$!" 2>/dev/null || break
		sleep 1
	done
done
lanes_rc=0
for p in "${lane_pids[@]}"; do wait "$p" || lanes_rc=$?; done
t_lanes=$(date +%s)
# show_outs: print the jobs' outputs not printed yet: the guests' KTAP
# before the rig (a job stopped during the rig still shows them), the
# rig's after it
show_outs() {
	local f
	for f in "$lane_dir"/*.out; do
		[ -e "$f" ] || continue
		echo "--- ${f##*/}"
		cat "$f"
		rm -f "$f"
	done
}
show_outs
if [ -n "$mig" ]; then
	echo migration >>"$lane_dir/planned"
	migration_job "$(nf_new_run_dir "test-migration-")"
fi
t_guest=$(date +%s)
runs=() mems=() vm_rcs=() guest_tests=() missing=
while read -r g; do
	if [ ! -s "$lane_dir/$g.res" ]; then
		missing="$missing $g"
		continue
	fi
	read -r r m c t <"$lane_dir/$g.res"
	runs+=("$r") mems+=("$m") vm_rcs+=("$c") guest_tests+=("$t")
done <"$lane_dir/planned"
show_outs
rm -rf "$lane_dir"

# KUnit: the kernel crate's doctests (rust_doctests_kernel) run at boot
# (looked up in the live kernel log copy first: dmesg.txt may have wrapped),
# in the first guest of the suite (the migration rig's guests boot an
# initramfs without KUnit's output kept).
krun=
for i in "${!runs[@]}"; do
	[ "${guest_tests[$i]}" = migration ] || { krun=${runs[$i]}; break; }
done
kunit=$(grep -hE '(\]|;) *(not )?ok [0-9]+ rust_doctests_kernel' "${krun:-/nonexistent}/kmsg.txt" \
	"${krun:-/nonexistent}/dmesg.txt" 2>/dev/null | head -1 || true)
kunit_rc=0
case "$kunit" in
*'not ok'*) kunit_rc=1 ;;
*ok*) ;;
*)
	if [ -n "$krun" ]; then
		kunit="(no KUnit result in dmesg)" kunit_rc=1
	else
		# only the rig ran (NF_TESTS=migration); a planned guest that
		# left no result fails the run below
		kunit="not run (no vng guest in this run)"
	fi
	;;
esac

echo
echo "results: ${runs[*]}"
echo "timing: setup $((t_setup - t0)) s, build $((t_build - t_setup)) s, guests $((t_lanes - t_build)) s ($lanes lanes)${mig:+, migration rig $((t_guest - t_lanes)) s}"
echo "KUnit: $kunit"
# Counted per test case (the scripts' KTAP lines, nested two spaces deep in
# ktap.txt): a case-level SKIP is a skip, not a pass; a script that skipped as
# a whole ("1..0 # SKIP") is one skip; a script that failed without a failing
# case (time-out, crash, missing results) is one failure. A run in which no
# case passed fails, and so does a guest in which fewer cases passed or
# failed than its scripts declare (ALL_TESTS plus dmesg_clean each): a skip
# is not a case that ran (for the C reference, whose Rust-only cases skip by
# design, skips count).
count_cases() {
	awk '
		/^# running / { cf = 0 }
		/^  ok [0-9]+ / { if ($0 ~ /# SKIP/) s++; else p++ }
		/^  not ok [0-9]+ / { f++; cf++ }
		/^  1\.\.0 # SKIP/ { s++ }
		/^not ok [0-9]+ / { if (!cf) f++ }
		END { printf "%d %d %d\n", p, f, s }' "$1" 2>/dev/null || echo "0 0 0"
}
# declared_cases "SCRIPT...": the cases the scripts declare
declared_cases() {
	local t n=0
	for t in $1; do
		n=$((n + 1 + $(awk '/^ALL_TESTS="/ { f = 1; next } f && /^"/ { f = 0 } f { c += NF } END { print c + 0 }' "$suite/$t.sh")))
	done
	echo "$n"
}
# count_flat KTAP: the same counts for a one-level KTAP (the migration
# rig's output.txt); declared_flat KTAP: its plan ("1..N"; 1 if it has
# none, so that a rig that never started counts as a failure)
count_flat() {
	awk '
		/^ok [0-9]+ / { if ($0 ~ /# SKIP/) s++; else p++ }
		/^not ok [0-9]+ / { f++ }
		END { printf "%d %d %d\n", p, f, s }' "$1" 2>/dev/null || echo "0 0 0"
}
declared_flat() { sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1 | grep . || echo 1; }
# per-script and per-case times of one guest (the "# time:" lines of lib.sh
# and run_all.sh's "# NAME took Ns")
times_of() {
	sed -n 's/^# \([a-z_]*\) took \([0-9]*\)s$/\1 \2/p' "$1" 2>/dev/null | tr '\n' ' '
}
pass=0 fail=0 skip=0 total_fail=0
for i in "${!runs[@]}"; do
	if [ "${guest_tests[$i]}" = migration ]; then
		k=${runs[$i]}/output.txt
		read -r p f s <<<"$(count_flat "$k")"
		want_cases=$(declared_flat "$k")
		# the rig's own plan, but never fewer than it had when this was
		# written (a case dropped from migrig.py shrinks both sides)
		[ "$want_cases" -ge "${NF_MIN_MIG_CASES:-7}" ] || want_cases=${NF_MIN_MIG_CASES:-7}
		echo "migration rig ($module module, one 1G guest moved between two QEMUs): pass $p, fail $f, skip $s of $want_cases cases; exit ${vm_rcs[$i]}"
		grep -E '^# (figure: mig_roundtrip|figure: mig_loss: lost in all)' "$k" | sed 's/^/ /' || true
	else
		k=${runs[$i]}/ktap.txt
		read -r p f s <<<"$(count_cases "$k")"
		want_cases=$(declared_cases "${guest_tests[$i]}")
		echo "guest selftests ($module module, ${mems[$i]} guest: ${guest_tests[$i]}): pass $p, fail $f, skip $s of $want_cases cases; vm exit ${vm_rcs[$i]}"
		echo "  seconds per script: $(times_of "$k")"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	total_fail=$((total_fail + f))
	[ "${vm_rcs[$i]}" = 0 ] || total_fail=$((total_fail + (f == 0)))
	ran=$((p + f))
	# skips count as run for the C reference (its Rust-only cases skip by
	# design) and for the rig (a cancel case skips when QEMU's 30 s eject
	# wait left the primary half-unplugged: QEMU's limit, not the driver's)
	[ "$module" = rust ] && [ "${guest_tests[$i]}" != migration ] || ran=$((ran + s))
	if [ "$ran" -lt "$want_cases" ]; then
		echo "  only $ran of the $want_cases declared cases ran in this guest ($s skipped)"
		total_fail=$((total_fail + 1))
	fi
done
[ "${#runs[@]}" -gt 0 ] || { echo "no guest ran"; total_fail=$((total_fail + 1)); }
if [ -n "$missing" ] || [ "$lanes_rc" != 0 ]; then
	echo "guests that left no result:${missing:- none}; a lane exited with status $lanes_rc"
	total_fail=$((total_fail + 1))
fi
# A full run also declares at least as many cases as the suite had when this
# was written (a script dropped from TEST_PROGS shrinks both sides above).
declared=$(declared_cases "$all")
if [ -z "$not_run" ] && [ "$declared" -lt "${NF_MIN_CASES:-137}" ]; then
	echo "the suite declares $declared cases, want at least ${NF_MIN_CASES:-137}"
	total_fail=$((total_fail + 1))
fi
[ "$kunit_rc" = 0 ] || total_fail=$((total_fail + 1))
if [ "$pass" = 0 ]; then
	echo "no test case passed"
	total_fail=$((total_fail + 1))
fi
echo "$pass passed, $total_fail failed, $skip skipped${not_run:+ (not run, NF_TESTS:$not_run)}"
[ "$total_fail" = 0 ] || die "tests failed: see ${runs[*]} (ktap.txt, dmesg.txt, console.log; the rig: output.txt, dmesg.txt, a-console.log)"
exit
}
