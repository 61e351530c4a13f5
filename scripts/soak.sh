#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# "make soak" (issues 17 and 26; not part of "make test"): the reliability
# soak of selftests/drivers/net/failover/soak.sh in two guests booted by
# vm.sh side by side (one per host core), then a summary:
#   guest 1 (3 GiB)  planned-removal cycles of the e1000e primary, then the
#                    storm (random operations, memory checked at the end);
#                    without either, half the fuzzer's messages (below)
#   guest 2 (1 GiB)  SR-IOV VF cycles, then the rtnetlink fuzzer (nlfuzz.py)
# Parameters (environment, or make variables); the defaults depend on the
# kernel: the debug kernel's are sized to about two hours here, the bench
# kernel's are the long run.
#   SEED=S             the seed of the storm and of the fuzzer (default: a
#                      fresh one, printed first); the same seed and
#                      SOAK_OPS / SOAK_FUZZ replay the same operations
#                      (the printed replay commands say how)
#   SOAK_CYCLES=N      planned-removal cycles of the e1000e primary
#                      (debug 100, bench 1000)
#   SOAK_OPS=N         storm operations (debug 2000, bench 10000)
#   SOAK_VF_CYCLES=N   SR-IOV VF cycles (debug 50, bench 250)
#   SOAK_FUZZ=N        rtnetlink messages of the fuzzer (debug 25000,
#                      bench 100000; 0: none)
#   SOAK_FUZZ_SPLIT=0|1 with SOAK_CYCLES=0 and SOAK_OPS=0, the fuzzer runs
#                      in both guests, half the messages each, the first
#                      guest with SEED+1 (1, the default); 0: one guest
#   SOAK_FUZZ_ARGS=... nlfuzz.py options (default: bursts of 3 x 400
#                      concurrent messages after every 400 sequential ones)
#   SOAK_RATE=PPS      the stream's rate during the cycles (500)
#   SOAK_KERNEL=debug|bench  the kernel (debug: KASAN, lockdep, kmemleak;
#                      bench: no debug options, faster; built here if absent)
#   SOAK_MODULE=rust|c the module under test (rust)
#   SOAK_BREAK=...     deliberate breakage, to watch the soak fail (soak.py:
#                      "loss", "deaf@N", "unbind@N")
#   SOAK_EXEC=1        the storm's link, address and ethtool operations
#                      through ip(8)/ethtool(8) execs, not in-process (nlops.py)
# Exits non-zero on a storm violation, a lost datagram, a failed
# enslavement, a fuzzer violation, memory left behind, a kernel splat or a
# kmemleak report (vm.sh and check-dmesg.sh judge the kernel log).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# The whole script is one block, which bash reads before running any of it.
{

seed=${SEED:-}
[ -n "$seed" ] || seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
case "$seed" in '' | *[!0-9]*) die "SEED must be a number, not '$seed'" ;; esac
kernel=${SOAK_KERNEL:-debug}
case "$kernel" in
debug) d_cycles=100 d_ops=2000 d_vf=50 d_fuzz=25000 ;;
bench) d_cycles=1000 d_ops=10000 d_vf=250 d_fuzz=100000 ;;
*) die "SOAK_KERNEL is debug or bench, not '$kernel'" ;;
esac
cycles=${SOAK_CYCLES:-$d_cycles}
ops=${SOAK_OPS:-$d_ops}
vf_cycles=${SOAK_VF_CYCLES:-$d_vf}
fuzz=${SOAK_FUZZ:-$d_fuzz}
# three in four messages from three concurrent senders (bursts of 3 x 400
# after every 400 sequential ones). Debug kernel, beside another guest: a
# sequential message ~0.15 s (its own time, a dump of the namespace after
# it, repairs of the pool; creating a master takes 0.4 s, deleting one
# 0.8 s), a concurrent one ~0.1 s: 25000 messages in about an hour
fuzz_args=${SOAK_FUZZ_ARGS:---burst-every 400 --burst 400}
rate=${SOAK_RATE:-500}
module=${SOAK_MODULE:-rust}
for v in cycles ops vf_cycles fuzz; do
	case "${!v}" in '' | *[!0-9]*) die "$v must be a number, not '${!v}'" ;; esac
done
# Without cycles and storm, the first guest would idle: the fuzzer runs in
# both guests (one per host core), the second guest with the seed and half
# the messages, the first with seed+1 and the other half.
split=${SOAK_FUZZ_SPLIT:-1}
case "$split" in 0 | 1) ;; *) die "SOAK_FUZZ_SPLIT is 0 or 1, not '$split'" ;; esac
[ "$fuzz" -gt 1 ] && [ "$cycles" -eq 0 ] && [ "$ops" -eq 0 ] || split=0
fuzz1=0
if [ "$split" = 1 ]; then
	fuzz1=$((fuzz / 2))
	fuzz=$((fuzz - fuzz1))
fi
also=
[ "$fuzz1" -gt 0 ] && also=" (and $fuzz1 with seed $((seed + 1)) in the first guest)"
echo "soak: seed=$seed cycles=$cycles ops=$ops vf_cycles=$vf_cycles fuzz=$fuzz$also kernel=$kernel module=$module"
echo "soak: replay the storm with: make soak SEED=$seed SOAK_OPS=$ops SOAK_CYCLES=0 SOAK_VF_CYCLES=0 SOAK_FUZZ=0"
replay_fuzz="SOAK_OPS=0 SOAK_CYCLES=0 SOAK_VF_CYCLES=0 SOAK_FUZZ_SPLIT=0"
echo "soak: replay the fuzzer with: make soak SEED=$seed SOAK_FUZZ=$fuzz $replay_fuzz"
if [ "$fuzz1" -gt 0 ]; then
	echo "soak: and the first guest's fuzzer (seed $((seed + 1)), $fuzz1 messages) with:" \
		"make soak SEED=$((seed + 1)) SOAK_FUZZ=$fuzz1 $replay_fuzz"
fi
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
runs=() rcs=() pids=() names=()
# guest NAME PREFIX MEMORY TIMEOUT ENV...: one vm.sh run of soak.sh, in the
# background (its exit status in $run/soak-rc)
guest() {
	local name=$1 prefix=$2 mem=$3 tmo=$4 run
	shift 4
	run=$(nf_new_run_dir "$prefix")
	(
		set +e
		"$REPO/scripts/vm.sh" --flavour "$kernel" --module "$module" --memory "$mem" --timeout "$tmo" \
			--results "$run" -- env NF_SOAK_SEED="$seed" NF_SOAK_RATE="$rate" NF_SOAK_BREAK="${SOAK_BREAK:-}" \
			NF_SOAK_EXEC="${SOAK_EXEC:-}" NF_SOAK_CYCLES="$cycles" NF_SOAK_OPS="$ops" \
			NF_SOAK_VF_CYCLES="$vf_cycles" NF_SOAK_FUZZ="$fuzz" NF_SOAK_FUZZ_ARGS="$fuzz_args" \
			"$@" bash "$suite/soak.sh" > "$run/vm-stdout.txt" 2>&1
		echo $? > "$run/soak-rc"
	) &
	pids+=($!) runs+=("$run") names+=("$name")
	echo "soak: $name guest started: $run"
}
# Time limits from the measured costs (Documentation/networking/
# net_failover_rust_results.rst, "Reliability soak"), two to three times
# over, plus boot and bring-up: debug kernel 36 s a cycle (75), 0.8 s an op
# (5 s with hot-plug and reloads; 4), 37 s a VF cycle (120), 0.15 s a fuzz
# message (0.4). The bench kernel is faster and gets the same limits.
if [ "$cycles" -gt 0 ] || [ "$ops" -gt 0 ]; then
	guest "cycles+storm" soak- 3G $((cycles * 75 + ops * 4 + 1800)) NF_SOAK_PHASES="cycles storm"
elif [ "$fuzz1" -gt 0 ]; then
	guest "fuzz" soak-fz- 1G $((fuzz1 * 2 / 5 + 1800)) NF_SOAK_PHASES="fuzz" \
		NF_SOAK_SEED=$((seed + 1)) NF_SOAK_FUZZ="$fuzz1"
fi
if [ "$vf_cycles" -gt 0 ] || [ "$fuzz" -gt 0 ]; then
	guest "vf+fuzz" soak-vf- 1G $((vf_cycles * 120 + fuzz * 2 / 5 + 1800)) NF_SOAK_PHASES="vf fuzz"
fi
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || true
	rcs+=("$(cat "${runs[$i]}/soak-rc" 2> /dev/null || echo 1)")
	echo "soak: ${names[$i]} guest ended after $(($(date +%s) - tb)) s, exit ${rcs[$i]}"
done
t1=$(date +%s)

echo
echo "== soak summary (seed $seed, $kernel kernel, $module module)"
fail=0
for i in "${!runs[@]}"; do
	r=${runs[$i]}
	echo "-- ${r##*/}: vm exit ${rcs[$i]}"
	grep -E '^(ok|not ok) [0-9]+ |^# figure: |^# FAIL: |VIOLATION|^# cycle [0-9]+ .*(lost|failed)|^# kernel splat|^# (grown|shrunk|kmemleak scans|fuzz grown)' \
		"$r/output.txt" 2>/dev/null | grep -v '^# figure: dmesg_clean' || echo "(no KTAP in $r/output.txt)"
	[ -s "$r/soak-ops.txt" ] && echo "storm op log: $r/soak-ops.txt ($(($(wc -l <"$r/soak-ops.txt") - 1)) ops)"
	[ -s "$r/fuzz-msgs.txt" ] && echo "fuzzer message log: $r/fuzz-msgs.txt"
	[ "${rcs[$i]}" = 0 ] || fail=1
done
echo "timing: build $((tb - t0)) s, guests $((t1 - tb)) s (side by side), total $((t1 - t0)) s"
if [ "$fail" != 0 ]; then
	echo "soak FAILED (seed $seed): see ${runs[*]}"
	exit 1
fi
echo "soak passed (seed $seed)"
exit 0
}
