#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest userspace of the network-stack tier (selftests/.../netstack.sh):
# Debian's systemd-udevd, NetworkManager, ifupdown with isc-dhcp-client and
# cloud-init, with what apt would install with them on this machine, unpacked
# into a directory of the cache that the tier's guest mounts as the top layer
# of overlays on its /etc, /usr and /var. Nothing is installed on the host:
# virtme-ng's guest init starts systemd-udevd in every guest if the host has
# it, and udev renames the interfaces that the other tiers know as eth0..eth3.
#
#   netstack-root.sh        print the directory, making it if needed
#
# The directory holds etc/, usr/ and var/ (the packages' /lib, /bin and /sbin
# merged into usr/, as on the host), and is keyed by the exact package
# versions apt resolves here and by this script ($CACHE/netstack/<key>/root);
# the .debs come from Debian's archive through apt, the first time a run
# needs them (run-tests.sh, netstack-matrix.sh, mutants.sh). Directories of
# other keys are left alone: a guest of another checkout may have one
# mounted.
# A guest overlays the directory instead of unpacking it: a debug guest took
# 200 s to write its 1600 files over 9p.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
{

PKGS=(udev network-manager ifupdown isc-dhcp-client cloud-init)
# name=version of every package apt would install, in a stable order
want=$(apt-get install -s --no-install-recommends "${PKGS[@]}" 2>/dev/null |
	awk '$1 == "Inst" { v = ($3 ~ /^\[/) ? $4 : $3; sub(/^\(/, "", v); print $2 "=" v }' | sort)
if [ -z "$want" ]; then
	# All installed on the host already: the guest sees them as they are.
	mkdir -p "$CACHE/netstack/host"
	echo "$CACHE/netstack/host"
	exit 0
fi
# (and by this script: a change of what goes in makes a new directory)
key=$({ echo "$want"; cat "$0"; } | sha256sum | cut -c1-12)
dir=$CACHE/netstack/$key
# one maker at a time (two runs starting together)
mkdir -p "$CACHE/netstack"
exec 9>"$CACHE/netstack/.lock"
flock 9
if [ -e "$dir/root/.complete" ]; then
	echo "$dir/root"
	exit 0
fi
log "netstack: fetching $(echo "$want" | wc -l) Debian packages for the tier's guest"
rm -rf "$dir"
mkdir -p "$dir/debs/partial" "$dir/root.tmp"
apt-get install -y -qq --no-install-recommends --download-only \
	-o APT::Sandbox::User=root -o Dir::Cache::archives="$dir/debs" "${PKGS[@]}" >/dev/null
n=0
for d in "$dir"/debs/*.deb; do
	dpkg-deb -x "$d" "$dir/root.tmp"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "netstack: apt downloaded no package"
r=$dir/root.tmp
# merged /usr, as the host's /lib, /bin and /sbin are links into /usr
for t in lib bin sbin; do
	[ -d "$r/$t" ] || continue
	mkdir -p "$r/usr/$t"
	cp -a "$r/$t/." "$r/usr/$t/"
	rm -rf "${r:?}/$t"
done
# what the guest never reads (hardware database sources, documents,
# translations)
rm -rf "$r/usr/lib/udev/hwdb.d" "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/locale"
for t in "$r"/*; do
	case ${t##*/} in etc | usr | var) ;; *) die "netstack: unexpected top directory ${t##*/} in the packages" ;; esac
done
echo "$want" >"$dir/packages.txt"
: >"$r/.complete"
mv "$r" "$dir/root"
rm -rf "$dir/debs"
log "netstack: $n packages in $dir/root ($(du -sh "$dir/root" | cut -f1), $(find "$dir/root" -type f | wc -l) files)"
echo "$dir/root"
exit 0
}
