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
C=$B-cref
mkdir -p "$C"
cmp -s "$PRISTINE/drivers/net/net_failover.c" "$C/net_failover.c" ||
	cp "$PRISTINE/drivers/net/net_failover.c" "$C/net_failover.c"
echo 'obj-m := net_failover.o' >"$C/Kbuild.new"
cmp -s "$C/Kbuild.new" "$C/Kbuild" || mv "$C/Kbuild.new" "$C/Kbuild"
rm -f "$C/Kbuild.new"
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
mkdir -p "$L"
sed '/failover_dev = alloc_etherdev_mq(/,/^\t}$/{/^\t}$/a\
\tspin_lock_init(\&((struct net_failover_info *)netdev_priv(failover_dev))->stats_lock);
}' "$PRISTINE/drivers/net/net_failover.c" >"$L/net_failover.c.new"
[ "$(grep -c 'spin_lock_init' "$L/net_failover.c.new")" = 1 ] || die "C reference (lockinit): the patch did not apply"
if cmp -s "$L/net_failover.c.new" "$L/net_failover.c"; then
	rm "$L/net_failover.c.new"
else
	mv "$L/net_failover.c.new" "$L/net_failover.c"
fi
cmp -s "$C/Kbuild" "$L/Kbuild" || cp "$C/Kbuild" "$L/Kbuild"
kmake "$B" M="$L" modules >"$L/build.log" 2>&1 || { tail -20 "$L/build.log" >&2; die "C reference (lockinit) build failed"; }
log "C reference with stats_lock initialised: $L/net_failover.ko"
