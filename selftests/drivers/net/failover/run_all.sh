#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest suite runner for the net_failover selftests.
#
#   NF_RESULTS=/path/to/shared/results [NF_TESTS="topology.sh traffic.sh"] ./run_all.sh
#
# Runs every TEST_PROGS script of the Makefile in order (or those named in
# NF_TESTS, with or without ".sh"), nests each script's KTAP under a top-level
# KTAP plan (subtest lines indented by 2 spaces), prints the top level to stdout
# and writes it to $NF_RESULTS/ktap.txt; each script's raw output also goes to
# $NF_RESULTS/logs/<script>.log. Exit 0 when no script failed, 1 otherwise.
# Per-script time limit: NF_TEST_TIMEOUT seconds (default 1800; stress.sh gets
# NF_STRESS_TIMEOUT, default 7200); a script that runs over is "not ok".

dir=$(dirname "$(readlink -f "$0")")
cd "$dir" || exit 1

all=$(sed -n '/^TEST_PROGS/,/^$/p' Makefile | grep -o '[A-Za-z0-9_-]*\.sh')
if [ -n "${NF_TESTS:-}" ]; then
	list=
	for t in $NF_TESTS; do
		t=${t%.sh}.sh
		if ! echo "$all" | grep -qx "$t"; then
			echo "run_all.sh: unknown test $t (known: $(echo "$all" | tr '\n' ' '))" >&2
			exit 1
		fi
		list="$list $t"
	done
else
	list=$all
fi

out=/dev/null
logs=
if [ -n "${NF_RESULTS:-}" ] && [ -d "$NF_RESULTS" ] && [ -w "$NF_RESULTS" ]; then
	out=$NF_RESULTS/ktap.txt
	logs=$NF_RESULTS/logs
	mkdir -p "$logs"
fi
: > "$out"

emit() { printf '%s\n' "$*" | tee -a "$out"; }

n=0
for t in $list; do n=$((n + 1)); done
emit "TAP version 13"
emit "1..$n"
i=0 pass=0 fail=0 skip=0
for t in $list; do
	i=$((i + 1))
	name=${t%.sh}
	limit=${NF_TEST_TIMEOUT:-1800}
	[ "$t" = stress.sh ] && limit=${NF_STRESS_TIMEOUT:-7200}
	log=${logs:+$logs/$name.log}
	log=${log:-/dev/null}
	emit "# running $t (limit ${limit}s)"
	start=$SECONDS
	timeout -k 30 "$limit" bash "./$t" < /dev/null 2>&1 | tee "$log" |
		sed -u 's/^/  /' | tee -a "$out"
	rc=${PIPESTATUS[0]}
	took=$((SECONDS - start))
	case $rc in
	0) emit "ok $i $name"; pass=$((pass + 1)) ;;
	4) emit "ok $i $name # SKIP"; skip=$((skip + 1)) ;;
	124 | 137) emit "not ok $i $name # TIMEOUT ${limit}s"; fail=$((fail + 1)) ;;
	*) emit "not ok $i $name # exit=$rc"; fail=$((fail + 1)) ;;
	esac
	emit "# $name took ${took}s"
done
if [ -n "${NF_RESULTS:-}" ] && [ -w "${NF_RESULTS:-/nonexistent}" ]; then
	dmesg > "$NF_RESULTS/dmesg-guest.txt" 2> /dev/null
fi
emit "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
