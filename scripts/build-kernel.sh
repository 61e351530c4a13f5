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
if [ "$mode" = --module-only ] && [ -f "$B/vmlinux" ]; then
	log "building drivers/net/net_failover.ko ($flavour)"
	# A single-module target makes kbuild delete modules.order, and without
	# it vng installs no modules into the guest: keep the full build's copy.
	cp "$B/modules.order" "$B/modules.order.full" 2>/dev/null || true
	kmake "$B" drivers/net/net_failover.ko >"$B/build.log" 2>&1 ||
		{ tail -40 "$B/build.log" >&2; die "module build failed"; }
	if [ -f "$B/modules.order" ]; then
		rm -f "$B/modules.order.full"
	elif [ -f "$B/modules.order.full" ]; then
		mv "$B/modules.order.full" "$B/modules.order"
	fi
else
	log "building kernel and modules ($flavour); a cold build takes ~12-20 min on 2 cores"
	if ! kmake "$B" bzImage modules >"$B/build.log" 2>&1; then
		grep -v '^  [A-Z]' "$B/build.log" | tail -40 >&2
		die "kernel build failed (full log: $B/build.log)"
	fi
fi
log "build done in $(($(date +%s) - start)) s: $B"
