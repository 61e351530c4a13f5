#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the kernel + modules for a flavour (debug|bench) in a
# cache directory keyed by kernel version and config. Incremental: re-running
# after an edit rebuilds only what changed.
#   build-kernel.sh [debug|bench] [--module-only]
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

flavour=${1:-debug}
mode=${2:-full}
B=$(build_dir "$flavour")
mkdir -p "$B"
exec 8>"$KTREE/.build.lock"
flock 8 # one kernel build at a time on this machine

"$REPO/scripts/prepare-tree.sh"

if [ ! -f "$B/.config.done" ]; then
	log "configuring $flavour kernel in $B"
	kmake "$B" x86_64_defconfig >/dev/null
	kmake "$B" kvm_guest.config >/dev/null
	# shellcheck disable=SC2046
	(cd "$B" && KCONFIG_CONFIG=.config "$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" \
		.config $(flavour_frags "$flavour") >/dev/null)
	kmake "$B" olddefconfig >/dev/null
	# Every option the fragments ask for must have survived olddefconfig.
	bad=0
	# shellcheck disable=SC2046
	while IFS= read -r line; do
		case "$line" in '#'* | '') continue ;; esac
		opt=${line%%=*} val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$opt=" "$B/.config" && { echo "  $opt: wanted n" >&2; bad=1; }
		else
			grep -qx "$line" "$B/.config" || { echo "  $opt: wanted $val, got $(grep "^$opt=" "$B/.config" || echo unset)" >&2; bad=1; }
		fi
	done < <(cat $(flavour_frags "$flavour"))
	[ $bad = 0 ] || die "config fragments not honoured (see above)"
	touch "$B/.config.done"
fi

start=$(date +%s)
# A single-module target (make drivers/net/net_failover.ko) would be faster,
# but kbuild then rewrites Module.symvers from that module alone, losing every
# other module's exports (the C reference then fails modpost on
# failover_register). --module-only therefore builds all modules, skipping
# only bzImage; a warm incremental run is seconds either way.
targets="bzImage modules"
[ "$mode" = --module-only ] && [ -f "$B/arch/x86/boot/bzImage" ] && targets=modules
# Heal a cache damaged by such a single-module build (sessions before this fix).
if [ -f "$B/Module.symvers" ] && grep -q '^CONFIG_FAILOVER=m' "$B/.config" &&
	! grep -qw failover_register "$B/Module.symvers"; then
	log "Module.symvers lacks module exports; regenerating it"
	rm -f "$B/Module.symvers"
fi
log "building $targets ($flavour); a cold build takes ~12-20 min on 2 cores"
# shellcheck disable=SC2086
if ! kmake "$B" $targets >"$B/build.log" 2>&1; then
	grep -v '^  [A-Z]' "$B/build.log" | tail -40 >&2
	die "kernel build failed (full log: $B/build.log)"
fi
log "build done in $(($(date +%s) - start)) s: $B"
