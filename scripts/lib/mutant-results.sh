# SPDX-License-Identifier: GPL-2.0
# Sourced by scripts/mutants-guest.sh (in the guest) and scripts/mutants.sh
# (the migration rig's mutants): the result lines of one script's run.
#
# mutant_results OUT NAME SCRIPT KTAP RC: appends to OUT/results one line
# "NAME SCRIPT CASE RESULT" per result line of KTAP that is not indented
# (RESULT ok, fail or skip); "NAME SCRIPT - timeout" when RC is timeout's
# (124, or 137 after its KILL: the cases that finished before still count,
# each with its own result; the rest is a timeout, never a kill); and
# "NAME SCRIPT - no-result" when there is neither.
mutant_results() {
	local out=$1 name=$2 script=$3 ktap=$4 rc=$5 got=0 res case_
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "$name $script - timeout" >>"$out/results"
		got=1
	fi
	while read -r res case_; do
		echo "$name $script $case_ $res" >>"$out/results"
		got=1
	done < <(sed -nE \
		-e 's/^ok [0-9]+ ([A-Za-z0-9_]+) # SKIP.*/skip \1/p' \
		-e 's/^ok [0-9]+ ([A-Za-z0-9_]+)( .*)?$/ok \1/p' \
		-e 's/^not ok [0-9]+ ([A-Za-z0-9_]+).*/fail \1/p' "$ktap" 2>/dev/null)
	[ "$got" = 1 ] || echo "$name $script - no-result" >>"$out/results"
}
