#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# "make soak" (issue 17; not part of "make test"): the reliability soak of
# selftests/drivers/net/failover/soak.sh in guests booted by vm.sh, then a
# summary. Parameters (environment, or make variables):
#   SEED=S             the storm's seed (default: a fresh one, printed first);
#                      the same seed and SOAK_OPS replay the same operations
#   SOAK_CYCLES=N      planned-removal cycles of the e1000e primary (1000)
#   SOAK_OPS=N         storm operations (10000)
#   SOAK_VF_CYCLES=N   SR-IOV VF cycles in a second, 1 GiB guest (default
#                      SOAK_CYCLES / 4; 0: no second guest)
#   SOAK_RATE=PPS      the stream's rate during the cycles (500)
#   SOAK_KERNEL=debug|bench  the kernel (debug: KASAN, lockdep, kmemleak;
#                      bench: no debug options, faster; built here if absent)
#   SOAK_MODULE=rust|c the module under test (rust)
#   SOAK_BREAK=...     deliberate breakage, to watch the soak fail (soak.py:
#                      "loss", "deaf@N", "unbind@N")
#   SOAK_EXEC=1        the storm's link, address and ethtool operations
#                      through ip(8)/ethtool(8) execs, not in-process (nlops.py)
# Exits non-zero on a storm violation, a lost datagram, a failed
# enslavement, a kernel splat or a kmemleak report (vm.sh and check-dmesg.sh
# judge the kernel log).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# The whole script is one block, which bash reads before running any of it.
{

seed=${SEED:-}
[ -n "$seed" ] || seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
case "$seed" in '' | *[!0-9]*) die "SEED must be a number, not '$seed'" ;; esac
cycles=${SOAK_CYCLES:-1000}
ops=${SOAK_OPS:-10000}
vf_cycles=${SOAK_VF_CYCLES:-$((cycles / 4))}
rate=${SOAK_RATE:-500}
kernel=${SOAK_KERNEL:-debug}
module=${SOAK_MODULE:-rust}
echo "soak: seed=$seed cycles=$cycles ops=$ops vf_cycles=$vf_cycles kernel=$kernel module=$module"
echo "soak: replay the storm with: make soak SEED=$seed SOAK_OPS=$ops SOAK_CYCLES=0 SOAK_VF_CYCLES=0"
case "$kernel" in debug | bench) ;; *) die "SOAK_KERNEL is debug or bench, not '$kernel'" ;; esac
export NF_KEEP_RUNS=${NF_KEEP_RUNS:-500}

t0=$(date +%s)
if [ ! -f "$(build_dir "$kernel")/arch/x86/boot/bzImage" ]; then
	"$REPO/scripts/setup.sh"
	"$REPO/scripts/build-kernel.sh" "$kernel"
fi
if [ "$module" = c ] && [ ! -f "$(build_dir "$kernel")-cref/net_failover.ko" ]; then
	"$REPO/scripts/build-cref.sh" "$kernel"
fi

# A soak runs for an hour or more: it boots a copy of the build, so that a
# rebuild meanwhile (the next change being tested) does not change the kernel
# or the modules under soak (vm.sh honours NF_BUILD_DIR).
bdir=$(build_dir "$kernel")
snap=$(mktemp -d "$CACHE/soak-build.XXXXXX")
trap 'rm -rf "$snap" "$snap-cref"' EXIT
cp -a "$bdir/." "$snap/"
if [ "$module" = c ]; then
	mkdir "$snap-cref"
	cp -a "$bdir-cref/." "$snap-cref/"
fi
export NF_BUILD_DIR=$snap
echo "soak: kernel and modules copied from $bdir ($(git -C "$REPO" describe --always --dirty 2> /dev/null || echo unknown))"

tb=$(date +%s)
suite=$REPO/selftests/drivers/net/failover
runs=() rcs=()
# guest PREFIX MEMORY TIMEOUT ENV...: one vm.sh run of soak.sh
guest() {
	local prefix=$1 mem=$2 tmo=$3 run rc
	shift 3
	run=$(nf_new_run_dir "$prefix")
	set +e
	"$REPO/scripts/vm.sh" --flavour "$kernel" --module "$module" --memory "$mem" --timeout "$tmo" \
		--results "$run" -- env NF_SOAK_SEED="$seed" NF_SOAK_RATE="$rate" NF_SOAK_BREAK="${SOAK_BREAK:-}" \
		NF_SOAK_EXEC="${SOAK_EXEC:-}" \
		"$@" bash "$suite/soak.sh"
	rc=$?
	set -e
	runs+=("$run") rcs+=("$rc")
}
# Time limits from the measured costs on the debug kernel (Documentation:
# "Reliability soak": 36 s a cycle, 6.6 s an op, on a loaded machine),
# about doubled, plus boot and bring-up; VF cycles unmeasured.
if [ "$cycles" -gt 0 ] || [ "$ops" -gt 0 ]; then
	guest soak- 3G $((cycles * 75 + ops * 15 + 1800)) \
		NF_SOAK_PHASES="cycles storm" NF_SOAK_CYCLES="$cycles" NF_SOAK_OPS="$ops"
fi
t1=$(date +%s)
if [ "$vf_cycles" -gt 0 ]; then
	guest soak-vf- 1G $((vf_cycles * 120 + 1800)) NF_SOAK_PHASES=vf NF_SOAK_VF_CYCLES="$vf_cycles" \
		NF_SOAK_CYCLES="$cycles" NF_SOAK_OPS="$ops"
fi
t2=$(date +%s)

echo
echo "== soak summary (seed $seed, $kernel kernel, $module module)"
fail=0
for i in "${!runs[@]}"; do
	r=${runs[$i]}
	echo "-- ${r##*/}: vm exit ${rcs[$i]}"
	grep -E '^(ok|not ok) [0-9]+ |^# figure: |^# FAIL: |VIOLATION|^# cycle [0-9]+ .*(lost|failed)|^# kernel splat' \
		"$r/output.txt" 2>/dev/null | grep -v '^# figure: dmesg_clean' || echo "(no KTAP in $r/output.txt)"
	[ -s "$r/soak-ops.txt" ] && echo "storm op log: $r/soak-ops.txt ($(($(wc -l <"$r/soak-ops.txt") - 1)) ops)"
	[ "${rcs[$i]}" = 0 ] || fail=1
done
echo "timing: build $((tb - t0)) s, cycles+storm guest $((t1 - tb)) s, VF guest $((t2 - t1)) s, total $((t2 - t0)) s"
if [ "$fail" != 0 ]; then
	echo "soak FAILED (seed $seed): see ${runs[*]}"
	exit 1
fi
echo "soak passed (seed $seed)"
exit 0
}
