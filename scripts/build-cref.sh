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
