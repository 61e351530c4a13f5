#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make netstack: the network-stack tier (selftests/.../netstack.sh) for both
# modules, with and without our fix (NF_NETSTACK_FIX: the udev rules, the
# networkd file and the ifupdown guard of Documentation/networking/), one
# 2 GiB debug guest each, two at a time; then the matrix stack x module x
# moment -> leases, master's address, addresses on slaves, frames the
# slaves sent on their own, pings.
#
#   netstack-matrix.sh [RUN...]   (RUN...: print the matrix of earlier runs)
#
# Only make test's run (our module, with the fix) is a verdict; here the
# runs without the fix are expected to fail, and the exit status says only
# whether every guest ran.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
{

runs=("$@")
rc=0
if [ "${#runs[@]}" = 0 ]; then
	"$REPO/scripts/setup.sh"
	"$REPO/scripts/build-kernel.sh" debug
	"$REPO/scripts/build-cref.sh" debug
	root=$("$REPO/scripts/netstack-root.sh")
	pids=()
	for m in rust c; do
		for f in 1 0; do
			r=$(nf_new_run_dir "netstack-$m-fix$f-")
			runs+=("$r")
			log "netstack tier: $m module, fix=$f -> $r"
			"$REPO/scripts/vm.sh" --flavour debug --module "$m" --memory 2G --timeout 3000 \
				--results "$r" -- env NF_NETSTACK_FIX="$f" NF_NETSTACK_ROOT="$root" NF_NETSTACK_FULL=1 \
				NF_TEST_TIMEOUT=2700 \
				NF_TESTS=netstack bash "$REPO/selftests/drivers/net/failover/run_all.sh" \
				>"$r/vm.out" 2>&1 &
			pids+=($!)
			# virtme-ng prepares the modules directory at the first boot
			for _ in $(seq 300); do [ -s "$r/kmsg.txt" ] && break; sleep 1; done
		done
		# two guests at a time (one per host core)
		for p in "${pids[@]}"; do wait "$p" || true; done
		pids=()
	done
	for r in "${runs[@]}"; do
		[ -s "$r/ktap.txt" ] || { log "no results in $r"; rc=1; }
	done
fi

# the figure lines: one per moment
printf '%-6s %-4s %-9s %-9s | %-6s %-16s %-11s %-9s %-5s %s\n' module fix stack moment leases master slave_addrs slave_own ping route
for r in "${runs[@]}"; do
	grep -h '# figure: [a-z_]*: netstack: module=.* moment=' "$r/ktap.txt" 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
			printf "%-6s %-4s %-9s %-9s | %-6s %-16s %-11s %-9s %-5s %s\n", v["module"], v["fix"],
				v["stack"], v["moment"], v["leases"], v["master"], v["slave_addrs"], v["slave_own"],
				v["ping"], v["route"] }' || true
	grep -h 'names:' "$r/ktap.txt" 2>/dev/null | sed 's/.*figure: stack_boot: netstack: /  /' || true
	grep -h '^  \(not \)\?ok ' "$r/ktap.txt" 2>/dev/null | tr '\n' ' ' | sed "s|^|  ${r##*/}: |; s/\$/\\n/" || true
done
exit "$rc"
}
