#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The mutation suite (make mutants; not part of make test): every driver
# mutant in tests/mutants/ is built as a module against the cached debug
# kernel and run in a guest on the cases it names; each must be killed (one
# of its "Must fail:" cases fails, with a "# FAIL:" line that its "Fails
# with:" regex matches). Prints a table: mutant, expected case, result.
#
#   mutants.sh [NAME...]     (default: every tests/mutants/*.patch)
#
# A mutant's header (tests/mutants/README) names the cases, as SCRIPT:CASE:
#   Must fail: SCRIPT:CASE ...   one of these must fail ("not ok")
#   Run: SCRIPT:CASE ...         also run these, before (cases that set up
#                                the state, in scripts whose cases build on
#                                each other)
#   Fails with: REGEX            what the failure must say: an extended regex
#                                that one of the failing case's "# FAIL:"
#                                lines matches (the behaviour seen broken, not
#                                a set-up step or a timeout of the case)
# A mutant whose cases are all "sriov:CASE" runs in a guest of 1 GiB (QEMU
# loses the VF BARs above 4 GiB: scripts/run-tests.sh), after the first
# lane's guest; sriov.sh cases mixed with others make a mutant invalid.
# A mutant whose cases are all "netstack:CASE" runs in a 2 GiB guest of its
# own (netstack.sh mounts a network stack over the guest's root and needs
# the drivers unloaded), one after the other once the lanes are done, with
# netstack.sh's stack_boot before its cases and a baseline guest first;
# netstack.sh cases mixed with others make it invalid.
# A mutant whose cases are all "migration:CASE" runs in the migration rig
# instead (scripts/migrate.sh --ko: two QEMUs, a real live migration,
# NF_MUTANT_MIG_ROUNDS round trips, default 1; 120 s for a primary to come
# back), after the guests, one rig at a time, with a baseline rig run on the
# unmodified driver first.
# Mutants of the driver (drivers/net/) are built out of tree in seconds
# (the repository's Kbuild). Mutants of the abstractions (rust/) change the
# kernel crate, which is part of the kernel image: they are listed as "needs
# a kernel build" and run by hand (tests/mutants/README).
#
# Before the mutants, every guest runs the same cases on the unmodified
# driver built the same way ("baseline"): a mutant counts as killed only if
# the cases it fails pass there. NF_MUTANT_LANES guests (default 2) share the
# mutants; NF_MUTANT_BASELINE=0 skips the baseline. NF_MUTANT_RUNS="DIR..."
# builds and boots nothing: it judges the results kept in those run
# directories of an earlier make mutants again (after a header changed); a
# mutant found in several is judged on the last one listed, against that
# run's baseline (a run made with NF_MUTANT_BASELINE=0 has none: INVALID).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/mutant-results.sh"
nf_paths
B=$(build_dir debug)
M=$REPO/tests/mutants
lanes=${NF_MUTANT_LANES:-2}
baseline=${NF_MUTANT_BASELINE:-1}

reuse=${NF_MUTANT_RUNS:-}
[ -n "$reuse" ] || "$REPO/scripts/build-kernel.sh" debug

names=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n%.patch}
		[ -f "$M/$n.patch" ] || die "no mutant $M/$n.patch"
		names+=("$n")
	done
else
	for p in "$M"/*.patch; do names+=("$(basename "$p" .patch)"); done
fi

# header_field PATCH FIELD: the SCRIPT:CASE words after "FIELD:" (the text
# before the diff only)
header_field() {
	sed -n '/^diff --git /q;p' "$1" | sed -n "s/^$2: *//p" | tr ' ' '\n' | grep -E '^[a-z_]+:[a-z0-9_]+$' || true
}
# header_line PATCH FIELD: the rest of the line "FIELD: ..." as it is
header_line() { sed -n '/^diff --git /q;p' "$1" | sed -n "s/^$2: *//p" | head -n 1; }

W=$CACHE/mutants
mkdir -p "$W"
declare -A must=() kind=() cases_of=() fails_with=()
exec 8>"$KTREE/.build.lock"
build_one() { # NAME PATCH-or-empty
	local d=$W/$1
	rm -rf "$d"
	mkdir -p "$d/drivers/net"
	cp "$REPO"/drivers/net/net_failover_rust.rs "$REPO"/drivers/net/net_failover_policy.rs \
		"$REPO"/drivers/net/net_failover_export.c "$d/drivers/net/"
	cp "$REPO/Kbuild" "$d/"
	if [ -n "$2" ] && ! (cd "$d" && git apply "$2") 2>"$d/apply.log"; then
		echo "apply failed"
		return 1
	fi
	flock 8
	if ! kmake "$B" M="$d" modules >"$d/build.log" 2>&1; then
		flock -u 8
		echo "build failed"
		return 1
	fi
	flock -u 8
	[ -f "$d/net_failover.ko" ] || { echo "no module"; return 1; }
}

bad=0
runnable=()
for n in "${names[@]}"; do
	p=$M/$n.patch
	must[$n]=$(header_field "$p" 'Must fail' | tr '\n' ' ')
	if [ -z "${must[$n]}" ]; then
		log "$n: no \"Must fail: SCRIPT:CASE\" in its header"
		kind[$n]=invalid bad=1
		continue
	fi
	fails_with[$n]=$(header_line "$p" 'Fails with')
	if git -C "$REPO" apply --numstat "$p" | awk '{print $3}' | grep -qv '^drivers/net/'; then
		kind[$n]=kernel
		continue
	fi
	kind[$n]=driver
	if [ -z "${fails_with[$n]}" ]; then
		log "$n: no \"Fails with: REGEX\" in its header"
		kind[$n]=invalid bad=1
		continue
	fi
	cases_of[$n]=$( { header_field "$p" Run; header_field "$p" 'Must fail'; } | tr '\n' ' ')
	[ -z "$reuse" ] || { runnable+=("$n"); continue; }
	if ! why=$(build_one "$n" "$p"); then
		log "$n: $why (see $W/$n/)"
		kind[$n]=broken bad=1
		continue
	fi
	runnable+=("$n")
done
[ -n "$reuse" ] || log "built ${#runnable[@]} driver mutants"
[ "${#runnable[@]}" -gt 0 ] || die "no driver mutant to run"
# the guest mutants and the rig's (every case "migration:...")
# (a mutant with both kinds of cases is invalid)
# and those of sriov.sh, which need a guest of 1 GiB (scripts/run-tests.sh
# says why): a lane of their own
guest_mutants=() rig_mutants=() sriov_mutants=() netstack_mutants=()
declare -A own_guest=([sriov]="a 1 GiB guest" [netstack]="a guest of its own")
for n in "${runnable[@]}"; do
	g=0 r=0
	for sc in ${cases_of[$n]}; do
		case $sc in migration:*) r=1 ;; *) g=1 ;; esac
	done
	if [ "$g$r" = 11 ]; then
		log "$n: cases of the migration rig and of guest scripts together"
		kind[$n]=invalid bad=1
	elif [ "$r" = 1 ]; then
		rig_mutants+=("$n")
	else
		# a script that needs a guest of its own: all the cases its, or invalid
		own=
		for s in netstack sriov; do
			[[ " ${cases_of[$n]}" == *" $s:"* ]] && { own=$s; break; }
		done
		# shellcheck disable=SC2086
		if [ -z "$own" ]; then
			guest_mutants+=("$n")
		elif [ "$(printf '%s\n' ${cases_of[$n]} | cut -d: -f1 | sort -u)" != "$own" ]; then
			log "$n: cases of $own.sh (${own_guest[$own]}) and of other scripts together"
			kind[$n]=invalid bad=1
		elif [ "$own" = sriov ]; then
			sriov_mutants+=("$n")
		else
			netstack_mutants+=("$n")
		fi
	fi
done

# plan_lines NAME KO SCRIPT:CASE...: one plan line per script, in the
# Makefile's script order, cases in the given order
plan_lines() {
	local name=$1 ko=$2 s
	shift 2
	local -a specs=("$@")
	local scripts
	scripts=$(printf '%s\n' "${specs[@]}" | cut -d: -f1 | awk '!seen[$0]++')
	for s in $scripts; do
		local cs=()
		for sc in "${specs[@]}"; do
			[ "${sc%%:*}" = "$s" ] || continue
			[ "${sc#*:}" = dmesg_clean ] && continue # runs after every script
			cs+=("${sc#*:}")
		done
		# "-": no case of the script but dmesg_clean
		echo "$name $ko $s ${cs[*]:--}"
	done
}

t0=$(date +%s)
runs=()
if [ -n "$reuse" ]; then
	# shellcheck disable=SC2206
	runs=($reuse)
	for run in "${runs[@]}"; do [ -s "$run/mutants/results" ] || die "no mutants results in $run"; done
else
# Lanes: mutants dealt round-robin; each lane starts with the baseline of
# the cases its mutants run.
if [ "$baseline" = 1 ]; then
	why=$(build_one _baseline "") || die "baseline: $why"
fi
[ "$lanes" -gt "${#guest_mutants[@]}" ] && lanes=${#guest_mutants[@]}
declare -a lane_plan=() lane_mem=()
for ((l = 0; l < lanes; l++)); do lane_plan[l]= lane_mem[l]=3G; done
i=0
for n in "${guest_mutants[@]}"; do
	l=$((i % lanes))
	# shellcheck disable=SC2086
	lane_plan[l]+=$(plan_lines "$n" "$W/$n/net_failover.ko" ${cases_of[$n]})$'\n'
	i=$((i + 1))
done
if [ "${#sriov_mutants[@]}" -gt 0 ]; then
	lane_plan[lanes]= lane_mem[lanes]=1G
	for n in "${sriov_mutants[@]}"; do
		# shellcheck disable=SC2086
		lane_plan[lanes]+=$(plan_lines "$n" "$W/$n/net_failover.ko" ${cases_of[$n]})$'\n'
	done
	lanes=$((lanes + 1))
fi
for ((l = 0; l < lanes; l++)); do
	run=$(nf_new_run_dir "mutants-l$l-")
	runs+=("$run")
	mkdir -p "$run/mutants"
	echo "${lane_mem[l]}" >"$run/mutants/memory"
	{
		if [ "$baseline" = 1 ]; then
			# every case of the lane, once, on the unmodified driver
			# shellcheck disable=SC2046
			plan_lines _baseline "$W/_baseline/net_failover.ko" \
				$(printf '%s' "${lane_plan[l]}" | awk '{for (i = 4; i <= NF; i++) if ($i != "-") print $3 ":" $i; print $3 ":dmesg_clean"}' | awk '!seen[$0]++')
		fi
		printf '%s' "${lane_plan[l]}"
	} >"$run/mutants/plan"
done

# guest_lane RUN: runs the plan's mutants not done yet, in fresh guests
# until none is left or a guest made no progress
guest_lane() {
	local run=$1 left prev=-1 tries=0 n
	while :; do
		left=$run/mutants/plan.left
		: >"$left"
		while read -r n rest; do
			[ -e "$run/mutants/$n.done" ] || echo "$n $rest" >>"$left"
		done <"$run/mutants/plan"
		n=$(awk '{print $1}' "$left" | sort -u | wc -l)
		[ "$n" -gt 0 ] || return 0
		[ "$n" != "$prev" ] || return 1
		tries=$((tries + 1))
		[ "$tries" -le 3 ] || return 1
		prev=$n
		# a failed mutant's partial results are redone
		while read -r n _; do sed -i "/^$n /d" "$run/mutants/results" 2>/dev/null || true; done <"$left"
		"$REPO/scripts/vm.sh" --flavour debug --module rust --memory "$(cat "$run/mutants/memory")" --possible-cpus 24 \
			--timeout $((600 + 400 * $(wc -l <"$left"))) --results "$run" -- \
			bash "$REPO/scripts/mutants-guest.sh" "$left" "$run/mutants" \
			>>"$run/mutants/vm.out" 2>&1 || true
	done
}
# The sriov lane (1 GiB) runs after the first lane's guest, in the same
# background job (one guest per host core; scripts/run-tests.sh puts sriov.sh
# after its least loaded lane).
pids=()
sriov_run=
if [ "${#sriov_mutants[@]}" -gt 0 ] && [ "${#runs[@]}" -gt 1 ]; then
	sriov_run=${runs[-1]}
fi
for run in "${runs[@]}"; do
	[ "$run" != "$sriov_run" ] || continue
	if [ -n "$sriov_run" ] && [ "$run" = "${runs[0]}" ]; then
		{
			guest_lane "$run" || true
			guest_lane "$sriov_run"
		} &
	else
		guest_lane "$run" &
	fi
	pids+=($!)
	for _ in $(seq 600); do
		[ -s "$run/kmsg.txt" ] && break
		sleep 1
	done
done
for p in "${pids[@]}"; do wait "$p" || true; done

# netstack_one RUN NAME CASE...: netstack.sh in a guest of its own on NAME's
# module, stack_boot and the CASEs; its KTAP becomes
# RUN/mutants/NAME/netstack.ktap and result lines like a guest script's
netstack_one() {
	local run=$1 n=$2 rc=0
	shift 2
	mkdir -p "$run/mutants/$n"
	log "netstack guest: $n"
	"$REPO/scripts/vm.sh" --flavour debug --module rust --memory 2G --timeout 2400 \
		--results "$run/mutants/$n/guest" -- env NF_KO="$W/$n/net_failover.ko" \
		NF_NETSTACK_ROOT="$netstack_root" NF_CASES="stack_boot $*" \
		bash "$REPO/selftests/drivers/net/failover/netstack.sh" >"$run/mutants/$n/guest.out" 2>&1 || rc=$?
	cp "$run/mutants/$n/guest/output.txt" "$run/mutants/$n/netstack.ktap" 2>/dev/null || :
	mutant_results "$run/mutants" "$n" netstack "$run/mutants/$n/netstack.ktap" "$rc"
}
if [ "${#netstack_mutants[@]}" -gt 0 ]; then
	netstack_root=$("$REPO/scripts/netstack-root.sh") || netstack_root=
	run=$(nf_new_run_dir "mutants-netstack-")
	runs+=("$run")
	mkdir -p "$run/mutants"
	: >"$run/mutants/results"
	if [ "$baseline" = 1 ]; then
		# shellcheck disable=SC2046
		netstack_one "$run" _baseline $(for n in "${netstack_mutants[@]}"; do
			printf '%s\n' ${cases_of[$n]}; done | sed 's/^netstack://' | awk '!seen[$0]++')
	fi
	for n in "${netstack_mutants[@]}"; do
		# shellcheck disable=SC2046
		netstack_one "$run" "$n" $(printf '%s\n' ${cases_of[$n]} | sed 's/^netstack://')
	done
fi

# rig_one RUN NAME: the migration rig on NAME's module; its KTAP becomes
# RUN/mutants/NAME/migration.ktap and result lines like a guest script's
rig_one() {
	local run=$1 n=$2 rc=0
	mkdir -p "$run/mutants/$n"
	log "rig: $n"
	timeout -k 150 3600 "$REPO/scripts/migrate.sh" --ko "$W/$n/net_failover.ko" \
		--rounds "${NF_MUTANT_MIG_ROUNDS:-1}" --replug-timeout 120 --results "$run/mutants/$n/rig" \
		>"$run/mutants/$n/rig.out" 2>&1 || rc=$?
	cp "$run/mutants/$n/rig/output.txt" "$run/mutants/$n/migration.ktap" 2>/dev/null || :
	mutant_results "$run/mutants" "$n" migration "$run/mutants/$n/migration.ktap" "$rc"
}
if [ "${#rig_mutants[@]}" -gt 0 ]; then
	run=$(nf_new_run_dir "mutants-rig-")
	runs+=("$run")
	mkdir -p "$run/mutants"
	: >"$run/mutants/results"
	if [ "$baseline" = 1 ]; then
		rig_one "$run" _baseline
	fi
	for n in "${rig_mutants[@]}"; do rig_one "$run" "$n"; done
fi
fi

# results of every lane, each line prefixed with its lane: "LANE NAME SCRIPT
# CASE RESULT" (CASE "-" for the whole script: timeout, no-result,
# load-failed)
: >"$W/results"
for ((l = 0; l < ${#runs[@]}; l++)); do
	sed "s/^/$l /" "${runs[l]}/mutants/results" >>"$W/results" 2>/dev/null || true
done
# lane_of NAME: the lane that ran a mutant (with NF_MUTANT_RUNS, the last
# run listed that has it: a targeted rerun after a full run overrides it)
lane_of() { awk -v n="$1" '$2 == n {l = $1} END {print l}' "$W/results"; }
# result LANE NAME SCRIPT CASE: the case's own result (ok, fail, skip), else
# what happened to the whole script (timeout, no-result, load-failed), else
# none
result() {
	local r
	r=$(awk -v l="$1" -v n="$2" -v s="$3" -v c="$4" '$1 == l && $2 == n && $3 == s && $4 == c {r = $5} END {print r}' "$W/results")
	[ -n "$r" ] || r=$(awk -v l="$1" -v n="$2" -v s="$3" '$1 == l && $2 == n && ($3 == s || $3 == "-") && $4 == "-" {r = $5} END {print r}' "$W/results")
	echo "${r:-none}"
}
# fail_lines LANE NAME SCRIPT CASE: the "# FAIL:" lines of the case's failed
# run (between the previous result line and its own "not ok")
fail_lines() {
	awk -v c="$4" '
		/^# FAIL: / { buf = buf $0 "\n"; next }
		/^(not )?ok [0-9]+ / {
			if ($1 == "not" && $4 == c) { printf "%s", buf; exit }
			buf = ""
		}' "${runs[$1]}/mutants/$2/$3.ktap" 2>/dev/null || true
}
printf '\n%-40s %-40s %s\n' MUTANT "MUST FAIL" RESULT
killed=0 survived=0 other=0
for n in "${names[@]}"; do
	case ${kind[$n]} in
	kernel)
		printf '%-40s %-40s %s\n' "$n" "${must[$n]}" "not run: needs a kernel build (tests/mutants/README)"
		continue
		;;
	invalid | broken)
		printf '%-40s %-40s %s\n' "$n" "${must[$n]:--}" "ERROR: ${kind[$n]} (see $W/$n/)"
		other=$((other + 1))
		continue
		;;
	esac
	verdict=survived by=
	lane=$(lane_of "$n")
	for sc in ${must[$n]}; do
		r=$(result "$lane" "$n" "${sc%%:*}" "${sc#*:}")
		# the baseline of the same guest (lane)
		b=$(result "$lane" _baseline "${sc%%:*}" "${sc#*:}")
		case $r in
		fail)
			if [ "$baseline" = 1 ] && [ "$b" != ok ]; then
				verdict="INVALID (baseline $b)" by=$sc
			elif fl=$(fail_lines "$lane" "$n" "${sc%%:*}" "${sc#*:}") &&
				grep -Eq -- "${fails_with[$n]}" <<<"$fl"; then
				verdict=killed by=$sc
				break
			else
				# failed, but not by what the mutant breaks
				verdict="FAILED OTHERWISE: $(head -n 1 <<<"$fl" | cut -c1-120)"
				by=$sc
			fi
			;;
		timeout)
			# a hang is not the failure the mutant must cause
			[ "$verdict" = survived ] && verdict="TIMEOUT" by=$sc
			;;
		load-failed)
			[ "$verdict" = survived ] && verdict="NOT RUN (module did not load)" by=$sc
			;;
		none | no-result)
			[ "$verdict" = survived ] && verdict="NOT RUN" by=$sc
			;;
		esac
	done
	case $verdict in
	killed) killed=$((killed + 1)) ;;
	survived) survived=$((survived + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
	printf '%-40s %-40s %s\n' "$n" "${must[$n]}" "$verdict${by:+ ($by)}"
done
log "mutants: $killed killed, $survived survived, $other not run or invalid ($(($(date +%s) - t0)) s of guests; runs: ${runs[*]})"
[ "$survived" = 0 ] && [ "$other" = 0 ] && [ "$bad" = 0 ]
