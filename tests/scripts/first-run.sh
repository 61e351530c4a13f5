#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host-side test of the scripts' first-run paths: what a fresh machine with
# an empty cache goes through before and around the first guest boot, with
# NF_CACHE pointing at a new temporary directory (issue 11: "make demo" died
# in vm.sh on a cache without runs/, an "ls runs/*/" under pipefail). No root,
# no build, no QEMU; a few seconds. KTAP on stdout, exit 1 on any failure.
# Also the plans of scripts/run-tests.sh --plan (which lane runs what).
# Run by scripts/run-tests.sh (make test) and make host-test.
# shellcheck disable=SC2016 # the in_script snippets expand in their own shell
set -euo pipefail
# the defaults are what is tested, whatever the caller's environment says
unset NF_KEEP_RUNS NF_CACHE
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

TESTS=(
	common_sh_before_setup
	paths_after_setup
	run_tests_paths_after_setup
	prune_without_runs_dir
	prune_empty_runs_dir
	prune_keeps_newest
	new_run_dir_fresh_cache
	vm_dry_run_fresh_cache
	vm_dry_run_empty_runs_dir
	vm_dry_run_memory
	vm_c_module_without_cref
	make_clean_runs_fresh_cache
	make_demo_needs_no_cref
	make_demo_migrates
	run_tests_plan_every_job_once
	run_tests_plan_nf_tests
	pktorigin_kinds
)

# A shell like the scripts' own: "set -euo pipefail", then common.sh (with
# its ERR trap), then CODE; NF_CACHE is the (not yet existing) cache.
in_script() {
	local cache=$1 code=$2
	NF_CACHE=$cache bash -c 'set -euo pipefail; . "$1/scripts/lib/common.sh"; '"$code" _ "$REPO"
}

# A dpkg-query that answers like a fresh machine (linux-source not installed)
# until $T/fake/version exists, then prints its content as the version.
mkdir -p "$T/fake"
cat >"$T/fake/dpkg-query" <<'EOF'
#!/bin/sh
v=$(dirname "$0")/version
[ -f "$v" ] || exit 1
cat "$v"
EOF
chmod +x "$T/fake/dpkg-query"

common_sh_before_setup() {
	PATH=$T/fake:$PATH in_script "$T/c0" 'case $KTREE in "$CACHE"/linux-unknown) ;; *) echo "KTREE=$KTREE"; exit 1 ;; esac'
}

# run-tests.sh sources common.sh before it runs setup.sh, then hands
# $PRISTINE to the host tests: nf_paths must see the version installed since.
paths_after_setup() {
	PATH=$T/fake:$PATH in_script "$T/c0" '
		echo "6.12.117-1~deb12u1" >"$(dirname "$(command -v dpkg-query)")/version"
		nf_paths
		rm -f "$(dirname "$(command -v dpkg-query)")/version"
		[ "$PRISTINE" = "$CACHE/linux-6.12.117-1_deb12u1/pristine" ] || { echo "PRISTINE=$PRISTINE"; exit 1; }'
}

# ... and run-tests.sh does call it between setup.sh and the host tests
# (before, cargo test got NF_KERNEL_SRC=.../linux-unknown/pristine on a
# fresh machine).
run_tests_paths_after_setup() {
	awk '/scripts\/setup\.sh"/ { s = NR } /^nf_paths$/ && s && !p { p = NR }
		/NF_KERNEL_SRC=/ { k = NR } END { exit !(s && p && k && s < p && p < k) }' \
		"$REPO/scripts/run-tests.sh"
}

prune_without_runs_dir() {
	in_script "$T/c1" 'nf_prune_runs; nf_prune_runs 0; [ ! -e "$CACHE" ]'
}

prune_empty_runs_dir() {
	mkdir -p "$T/c2/runs"
	in_script "$T/c2" 'nf_prune_runs; nf_prune_runs 0; [ -d "$CACHE/runs" ]'
}

# 35 runs (one of them a plain file, which stays) in a cache path with a
# blank: the 29 newest directories remain.
prune_keeps_newest() {
	local c="$T/c 3" i
	mkdir -p "$c/runs"
	for i in $(seq -w 1 35); do
		mkdir "$c/runs/r$i"
		touch -d "2026-01-01 00:00:$i" "$c/runs/r$i"
	done
	touch "$c/runs/notes.txt"
	in_script "$c" 'nf_prune_runs' || return 1
	[ "$(find "$c/runs" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 29 ] || { ls "$c/runs"; return 1; }
	[ -d "$c/runs/r35" ] && [ -d "$c/runs/r07" ] && [ ! -e "$c/runs/r06" ] && [ -f "$c/runs/notes.txt" ]
}

new_run_dir_fresh_cache() {
	in_script "$T/c4" 'r=$(nf_new_run_dir test-); [ -d "$r" ] && case $r in "$CACHE"/runs/test-*) ;; *) exit 1 ;; esac'
}

# vm.sh up to the boot, with a stand-in bzImage in the fresh cache's build
# directory (where build-kernel.sh puts it) and no C reference module.
fake_kernel() {
	local b
	b=$(in_script "$1" 'build_dir debug')
	mkdir -p "$b/arch/x86/boot"
	: >"$b/arch/x86/boot/bzImage"
}
# vm_dry CACHE [vm.sh options]: prints the run directory
vm_dry() {
	local cache=$1 run
	shift
	run=$(NF_CACHE=$cache "$REPO/scripts/vm.sh" --dry-run "$@" -- true 2>"$T/vm.err") || {
		cat "$T/vm.err" >&2
		return 1
	}
	if grep -q ERROR "$T/vm.err"; then
		cat "$T/vm.err" >&2
		return 1
	fi
	[ -f "$run/topology.env" ] && [ -d "$run/ctl" ] || { echo "no run dir: '$run'" >&2; return 1; }
	echo "$run"
}

vm_dry_run_fresh_cache() {
	local run
	fake_kernel "$T/c5" || return 1
	[ ! -e "$T/c5/runs" ] || return 1
	run=$(vm_dry "$T/c5") || return 1
	grep -qx NF_MODULE=rust "$run/topology.env" && grep -qx NF_GUEST_MEMORY=3G "$run/topology.env"
}

vm_dry_run_empty_runs_dir() {
	fake_kernel "$T/c6" || return 1
	mkdir -p "$T/c6/runs"
	vm_dry "$T/c6" >/dev/null
}

vm_dry_run_memory() {
	local run
	fake_kernel "$T/c7" || return 1
	run=$(vm_dry "$T/c7" --memory 1G) || return 1
	grep -qx NF_GUEST_MEMORY=1G "$run/topology.env"
}

# test-cref builds the C reference first; vm.sh alone says what is missing.
vm_c_module_without_cref() {
	fake_kernel "$T/c8" || return 1
	! NF_CACHE=$T/c8 "$REPO/scripts/vm.sh" --dry-run --module c -- true >"$T/vm.out" 2>&1 &&
		grep -q 'no C reference module' "$T/vm.out"
}

make_clean_runs_fresh_cache() {
	NF_CACHE=$T/c9 make -s -C "$REPO" clean-runs
}

make_demo_needs_no_cref() {
	local cmds
	cmds=$(make -n -C "$REPO" demo)
	grep -q 'vm.sh' <<<"$cmds" && ! grep -q 'build-cref' <<<"$cmds"
}

# the demo ends with one real live migration of the Rust module's guest
make_demo_migrates() {
	local cmds
	cmds=$(make -n -C "$REPO" demo)
	grep -q 'migrate.sh --demo' <<<"$cmds" && bash -n "$REPO/scripts/migrate.sh"
}

# run-tests.sh --plan with 1-3 lanes: every script of the suite's Makefile
# runs in exactly one lane, in a 3G guest except sriov.sh (a 1G guest after
# a lane) and netstack.sh (a 2G guest after a lane), every script has a time
# estimate, and the migration rig runs once, after the lanes
plan_jobs() { sed -n "s/^$1//p" "$T/plan" | tr ' ' '\n' | grep -v '^$' | sort; }
run_tests_plan_every_job_once() {
	local all l t
	all=$(sed -n '/^TEST_PROGS/,/^$/p' "$REPO/selftests/drivers/net/failover/Makefile" |
		grep -o '[A-Za-z0-9_-]*\.sh' | sed 's/\.sh$//')
	for t in $all; do
		grep -Eq "\[$t\]=[0-9]+" "$REPO/scripts/run-tests.sh" || { echo "no estimate for $t"; return 1; }
	done
	for l in 1 2 3; do
		NF_LANES=$l NF_TESTS= "$REPO/scripts/run-tests.sh" --plan >"$T/plan" 2>&1 || return 1
		[ "$(grep -c '^lane ' "$T/plan")" = "$l" ] || { cat "$T/plan"; return 1; }
		diff <(printf '%s\n' $all | grep -vx -e sriov -e netstack | sort) \
			<(sed -n 's/^lane [0-9]*: guest:\(.*\) | then:.*/\1/p' "$T/plan" | tr ' ' '\n' | grep -v '^$' | sort) ||
			return 1
		[ "$(sed -n 's/^lane [0-9]*: guest:.* | then:\(.*\)/\1/p' "$T/plan" | tr ' ' '\n' | grep -v '^$' |
			sort | tr '\n' ' ')" = "netstack sriov " ] || { cat "$T/plan"; return 1; }
		[ "$(plan_jobs 'after the lanes:')" = migration ] || { cat "$T/plan"; return 1; }
	done
}

# NF_TESTS picks scripts; the rig runs only when named (or for all); an
# unknown name is refused
run_tests_plan_nf_tests() {
	NF_LANES=2 NF_TESTS="topology sriov" "$REPO/scripts/run-tests.sh" --plan >"$T/plan" 2>&1 || return 1
	[ "$(sed -n 's/^lane [0-9]*: guest:\(.*\) | then:\(.*\)/\1 \2/p' "$T/plan" | tr ' ' '\n' | grep -v '^$' |
		sort | tr '\n' ' ')" = "sriov topology " ] && [ -z "$(plan_jobs 'after the lanes:')" ] ||
		{ cat "$T/plan"; return 1; }
	NF_LANES=2 NF_TESTS=migration "$REPO/scripts/run-tests.sh" --plan >"$T/plan" 2>&1 || return 1
	[ -z "$(sed -n 's/^lane [0-9]*: guest:\(.*\) | then:\(.*\)/\1\2/p' "$T/plan" | tr -d ' \n')" ] &&
		[ "$(plan_jobs 'after the lanes:')" = migration ] || { cat "$T/plan"; return 1; }
	! NF_TESTS=nosuch "$REPO/scripts/run-tests.sh" --plan >"$T/plan" 2>&1 &&
		grep -q 'unknown script nosuch' "$T/plan"
}

# netstack.sh's frame counter tells each kind of address-configuration
# frame from look-alikes (made-up frames)
pktorigin_kinds() {
	python3 "$REPO/selftests/drivers/net/failover/pktorigin.py" --self-test
}

echo "TAP version 13"
echo "1..${#TESTS[@]}"
i=0 fail=0
for t in "${TESTS[@]}"; do
	i=$((i + 1))
	if "$t" >"$T/out" 2>&1; then
		echo "ok $i $t"
	else
		echo "not ok $i $t"
		sed 's/^/# /' "$T/out"
		fail=$((fail + 1))
	fi
done
echo "# Totals: pass:$((i - fail)) fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" = 0 ]
