#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest userspace of the network-stack tier (selftests/.../netstack.sh):
# Debian's systemd-udevd, NetworkManager, ifupdown with isc-dhcp-client and
# cloud-init, with what apt would install with them on this machine, as one
# tarball that the tier's guest unpacks over its own writable overlays.
# Nothing is installed on the host: virtme-ng's guest init starts
# systemd-udevd in every guest if the host has it, and udev renames the
# interfaces that the other tiers know as eth0..eth3.
#
#   netstack-root.sh        print the tarball's path, building it if needed
#
# The tarball is keyed by the exact package versions apt resolves here
# ($CACHE/netstack/<key>/root.tar); the .debs come from Debian's archive
# through apt (setup.sh runs this once).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
{

PKGS=(udev network-manager ifupdown isc-dhcp-client cloud-init)
# name=version of every package apt would install, in a stable order
want=$(apt-get install -s --no-install-recommends "${PKGS[@]}" 2>/dev/null |
	awk '$1 == "Inst" { v = ($3 ~ /^\[/) ? $4 : $3; sub(/^\(/, "", v); print $2 "=" v }' | sort)
if [ -z "$want" ]; then
	# All installed on the host already: the guest sees them as they are.
	mkdir -p "$CACHE/netstack"
	: >"$CACHE/netstack/empty.tar"
	echo "$CACHE/netstack/empty.tar"
	exit 0
fi
# (and by this script: a change of what goes in makes a new tarball)
key=$({ echo "$want"; cat "$0"; } | sha256sum | cut -c1-12)
dir=$CACHE/netstack/$key
if [ -s "$dir/root.tar" ]; then
	echo "$dir/root.tar"
	exit 0
fi
log "netstack: fetching $(echo "$want" | wc -l) Debian packages for the tier's guest"
rm -rf "$dir"
mkdir -p "$dir/debs/partial" "$dir/root"
apt-get install -y -qq --no-install-recommends --download-only \
	-o APT::Sandbox::User=root -o Dir::Cache::archives="$dir/debs" "${PKGS[@]}" >/dev/null
n=0
for d in "$dir"/debs/*.deb; do
	dpkg-deb -x "$d" "$dir/root"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "netstack: apt downloaded no package"
# /var/lib/dpkg is the host's (read through the guest's overlay): the
# packages' own lists are not needed to run them.
echo "$want" >"$dir/packages.txt"
# without what the guest never reads (hardware database sources, documents,
# translations): a debug guest unpacks every byte
(cd "$dir/root" && tar -cf "$dir/root.tar.tmp" --exclude=./lib/udev/hwdb.d \
	--exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale -- ./*)
mv "$dir/root.tar.tmp" "$dir/root.tar"
rm -rf "$dir/root" "$dir/debs"
# earlier versions' tarballs
find "$CACHE/netstack" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
log "netstack: $n packages in $dir/root.tar ($(du -h "$dir/root.tar" | cut -f1))"
echo "$dir/root.tar"
exit 0
}
