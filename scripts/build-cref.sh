#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the C reference net_failover.ko from the pristine 6.12 source as an
# out-of-tree module against a flavour's kernel build, into <build>-cref/.
# It is never loaded together with ours: the test runner picks one.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

flavour=${1:-debug}
B=$(build_dir "$flavour")
[ -f "$B/Module.symvers" ] || die "build the $flavour kernel first"
# put DIR < CONTENT: DIR/net_failover.c from stdin, and its Kbuild; a file
# whose content did not change keeps its time, so kbuild rebuilds nothing
put() {
	local f
	mkdir -p "$1"
	cat >"$1/net_failover.c.new"
	echo 'obj-m := net_failover.o' >"$1/Kbuild.new"
	for f in net_failover.c Kbuild; do
		if cmp -s "$1/$f.new" "$1/$f"; then
			rm "$1/$f.new"
		else
			mv "$1/$f.new" "$1/$f"
		fi
	done
}
C=$B-cref
put "$C" <"$PRISTINE/drivers/net/net_failover.c"
exec 8>"$KTREE/.build.lock"
flock 8
kmake "$B" M="$C" modules >"$C/build.log" 2>&1 || { tail -20 "$C/build.log" >&2; die "C reference build failed"; }
log "C reference module: $C/net_failover.ko"

# The same with one line added, for timing comparisons on the debug kernel
# only (migrate.sh --module c-lockinit): the pristine module never
# initialises its stats_lock, so its first ndo_get_stats64 makes lockdep
# report a "non-static key" and switch itself off for the rest of the boot,
# after which that guest runs everything (the PCI core and e1000e included)
# without lockdep's cost while a guest with ours keeps paying it.
L=$C/lockinit
src=$(sed '/failover_dev = alloc_etherdev_mq(/,/^\t}$/{/^\t}$/a\
\tspin_lock_init(\&((struct net_failover_info *)netdev_priv(failover_dev))->stats_lock);
}' "$PRISTINE/drivers/net/net_failover.c")
[ "$(grep -c 'spin_lock_init' <<<"$src")" = 1 ] || die "C reference (lockinit): the patch did not apply"
put "$L" <<<"$src"
kmake "$B" M="$L" modules >"$L/build.log" 2>&1 || { tail -20 "$L/build.log" >&2; die "C reference (lockinit) build failed"; }
log "C reference with stats_lock initialised: $L/net_failover.ko"
