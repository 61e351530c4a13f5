#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Inside the guest (scripts/mutants.sh runs it through vm.sh): run the
# selftest cases of each driver mutant, one mutant module after the other.
#
#   mutants-guest.sh PLAN OUT
#
# PLAN has one line per (mutant, script): "NAME KO SCRIPT CASE...". Lines of
# one mutant are consecutive. Before a mutant's first line the runner unloads
# virtio_net and net_failover and insmods KO (the mutant's net_failover.ko;
# lib.sh's NF_KO makes the scripts' own reloads take it too), then runs
# SCRIPT with NF_CASES="CASE..." (dmesg_clean runs after them, as always).
# OUT/NAME/SCRIPT.ktap is the script's KTAP; OUT/results gets one line
# "NAME SCRIPT CASE RESULT" per case (RESULT: ok, fail, skip), or
# "NAME SCRIPT - timeout|no-result" / "NAME - - load-failed"; OUT/NAME.done
# marks a mutant whose every line ran. Exit 0 unless the runner itself failed.
REPO=$(cd "$(dirname "$0")/.." && pwd)
suite=$REPO/selftests/drivers/net/failover
. "$REPO/scripts/lib/mutant-results.sh"
plan=$1 out=$2
[ -r "$plan" ] && [ -d "$out" ] || { echo "usage: mutants-guest.sh PLAN OUT" >&2; exit 2; }
# a script over this many seconds is stopped and counts as failed
limit=${NF_MUTANT_SCRIPT_TIMEOUT:-900}

unload() {
	if [ -d /sys/module/virtio_net ]; then rmmod virtio_net || return 1; fi
	if [ -d /sys/module/net_failover ]; then rmmod net_failover || return 1; fi
	return 0
}

cur='' cur_ok=0
finish() { [ -n "$cur" ] && [ "$cur_ok" = 1 ] && : >"$out/$cur.done"; }
while read -r name ko script cases; do
	[ -n "$name" ] || continue
	if [ "$name" != "$cur" ]; then
		finish
		cur=$name cur_ok=1
		mkdir -p "$out/$name"
		echo "=== mutant $name ($ko)"
		echo "nf-mutant: $name" >/dev/kmsg
		if ! unload || ! modprobe -q virtio_pci || ! insmod "$ko"; then
			echo "$name - - load-failed" >>"$out/results"
			lsmod >"$out/$name/lsmod.txt"
			# a module that cannot be unloaded poisons every later mutant
			exit 1
		fi
	fi
	[ "$cur_ok" = 1 ] || continue
	echo "--- $name: $script ($cases)"
	export NF_KO=$ko
	NF_CASES="$cases" timeout -k 30 "$limit" bash "$suite/$script.sh" >"$out/$name/$script.ktap" 2>&1
	rc=$?
	unset NF_KO
	# the script's own KTAP result lines (not indented)
	mutant_results "$out" "$name" "$script" "$out/$name/$script.ktap" "$rc"
done <"$plan"
finish
unload
exit 0
