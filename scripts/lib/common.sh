# SPDX-License-Identifier: GPL-2.0
# Shared settings for the project's scripts. Source, don't execute.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KVER_SERIES=6.12
CACHE=${NF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-net-failover}
VENV=$CACHE/venv
export PATH="$HOME/.cargo/bin:$VENV/bin:$PATH"
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
LLVM_SUFFIX=-19
JOBS=${JOBS:-$(nproc)}

# An RCU CPU-stall report in a guest's kernel log (vm.sh's watchdog,
# check-dmesg.sh).
RCU_STALL_RE='rcu: INFO: rcu_(preempt|sched) (self-)?detected stall'

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
# Under "set -e" a failing command ends the script; say which one, so that
# the reason is in the last lines of the output rather than a bare exit 1
# (not in "set +e" stretches, where the script handles the status itself).
if [[ $- == *e* ]]; then
	set -E
	trap 'nf_st=$?; [[ $- != *e* ]] || printf "[%s] ERROR: %s:%s: \"%s\" failed (status %s)\n" "$(date +%H:%M:%S)" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND" "$nf_st" >&2' ERR
fi

# The kernel source: Debian's linux-source-6.12 tarball.
SRC_TARBALL=/usr/src/linux-source-$KVER_SERIES.tar.xz
# Prints nothing and fails when the package is not installed yet (a fresh
# machine before setup.sh): it must not exit, this file is sourced under
# "set -e" by setup.sh itself.
src_version() {
	dpkg-query -W -f='${Version}' "linux-source-$KVER_SERIES" 2>/dev/null
}
# The kernel tree in the cache, keyed by that version. On a fresh machine
# this file is sourced before setup.sh has installed the package, and KTREE
# then ends in "linux-unknown": a script that runs setup.sh itself and uses
# these paths afterwards calls nf_paths again.
nf_paths() {
	KTREE=$CACHE/linux-$({ src_version || echo unknown; } | tr "~+:" "___")
	PRISTINE=$KTREE/pristine   # the tarball as shipped, never modified
	SRC=$KTREE/src             # pristine + our overlay + our patch series
}
nf_paths

# Build flavours: "debug" (KASAN, lockdep, kmemleak... for tests) and
# "bench" (no debug options, for benchmarks). Each has its own build dir,
# keyed by the hash of its config inputs.
flavour_frags() {
	case "$1" in
	debug) echo "$REPO/scripts/config/common.config $REPO/scripts/config/debug.config" ;;
	bench) echo "$REPO/scripts/config/common.config" ;;
	*) die "unknown flavour $1" ;;
	esac
}
build_dir() {
	local f=$1 h
	# shellcheck disable=SC2046
	h=$(cat $(flavour_frags "$f") | sha256sum | cut -c1-12)
	echo "$KTREE/build-$f-$h"
}
kmake() {
	local b=$1
	shift
	# Rust is always compiled through clippy-driver (CLIPPY=1): the kernel's
	# WERROR turns its lints into errors, and switching CLIPPY on and off
	# would rebuild every Rust object each time.
	make -s -C "$SRC" O="$b" LLVM="$LLVM_SUFFIX" CLIPPY=1 -j"$JOBS" "$@"
}

# Guest run directories, $CACHE/runs/<PREFIX><date>-XXXX. Both functions
# work on a fresh cache (no runs/ yet, or an empty one): an unmatched glob
# or an empty listing must not fail a caller running under
# "set -euo pipefail" (tests/scripts/first-run.sh checks it).
NF_KEEP_RUNS=${NF_KEEP_RUNS:-30}
# nf_prune_runs [KEEP]: delete all but the KEEP newest run directories
# (default NF_KEEP_RUNS - 1, room for the run about to start).
nf_prune_runs() {
	local keep=${1:-$((NF_KEEP_RUNS - 1))} d n=0
	local -a dirs=()
	for d in "$CACHE"/runs/*/; do
		if [ -d "$d" ]; then dirs+=("${d%/}"); fi
	done
	[ "${#dirs[@]}" -gt "$keep" ] || return 0
	while IFS= read -r d; do
		n=$((n + 1))
		if [ "$n" -gt "$keep" ]; then
			rm -rf -- "$d"
		fi
	done < <(ls -1dt -- "${dirs[@]}") # newest first
	return 0
}
# nf_new_run_dir [PREFIX]: create a new run directory, print its path.
nf_new_run_dir() {
	mkdir -p "$CACHE/runs" || return 1
	mktemp -d "$CACHE/runs/${1:-}$(date +%Y%m%d-%H%M%S)-XXXX"
}

# The peer side of a guest topology (vm.sh, migrate.sh): network namespace
# NS with a learning bridge nfbr0 (MTU 9000) holding the peer addresses
# 192.0.2.1/24 and 2001:db8::1/64, and the taps named after NS (MTU 9000)
# enslaved to it. nf_peer_del NS kills what runs in NS and deletes it.
nf_peer_add() {
	local ns=$1 t
	shift
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add nfbr0 type bridge
	for t in "$@"; do
		ip -n "$ns" tuntap add dev "$t" mode tap
		ip -n "$ns" link set "$t" mtu 9000 master nfbr0 up
	done
	ip -n "$ns" link set nfbr0 mtu 9000
	ip -n "$ns" link set nfbr0 up
	ip -n "$ns" addr add 192.0.2.1/24 dev nfbr0
	ip -n "$ns" addr add 2001:db8::1/64 dev nfbr0 nodad
}
nf_peer_del() {
	# (also for a namespace that does not exist: no failing pipeline under
	# the callers' "set -e -o pipefail")
	[ -e "/run/netns/$1" ] || return 0
	{ ip netns pids "$1" 2>/dev/null || :; } | xargs -r kill 2>/dev/null || :
	ip netns del "$1" 2>/dev/null || :
}

# matplotlib for the benchmark charts, pinned, in the project's venv
# (idempotent; bench.sh, migrate-both.sh)
MATPLOTLIB_VERSION=3.10.8
ensure_matplotlib() {
	"$VENV/bin/python3" -c 'import matplotlib' 2>/dev/null && return 0
	log "pip: installing matplotlib $MATPLOTLIB_VERSION into $VENV (for the chart)"
	"$VENV/bin/pip" install -q "matplotlib==$MATPLOTLIB_VERSION" ||
		log "warning: matplotlib did not install; the table is written without a chart"
}
