#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the migration rig (scripts/migrate.sh): a guest root
# that lives in guest RAM, so that nothing the guest uses is shared with the
# host and QEMU can migrate it (vng's 9p root is a migration blocker).
#
#   mk-initramfs.sh --build-dir B --ko NET_FAILOVER.KO --module rust|c OUT
#
# Contents: the host's static busybox (sh, mount, insmod, base64, ...),
# bash, ip, ethtool, ping and python3.11 (with most of its standard library)
# with their shared libraries, the modules the failover topology needs
# (failover.ko for the C reference, net_failover.ko, virtio_net.ko,
# e1000e.ko), the selftests' udpseq.py, the control agent
# (scripts/mig-agent.sh) and /init (scripts/mig-init.sh). Loaded with insmod in dependency order: there
# is no udev in the guest, so every driver is loaded before its device
# appears (the primary is hot-added after virtio_net negotiates STANDBY).
# The result is cached in $CACHE/initramfs by the hash of its inputs.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

B='' ko='' module=rust out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--build-dir) B=$2; shift 2 ;;
	--ko) ko=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	-*) die "unknown option $1" ;;
	*) out=$1; shift ;;
	esac
done
[ -n "$B" ] && [ -n "$ko" ] && [ -n "$out" ] || die "usage: mk-initramfs.sh --build-dir B --ko KO [--module rust|c] OUT"
mods=("$B/drivers/net/virtio_net.ko" "$B/drivers/net/ethernet/intel/e1000e/e1000e.ko")
[ "$module" = c ] && mods=("$B/net/core/failover.ko" "${mods[@]}")
tools=(/usr/bin/bash /usr/sbin/ip /usr/sbin/ethtool /usr/bin/ping /usr/bin/python3.11)
sel=$REPO/selftests/drivers/net/failover
guest_files=("$REPO/scripts/mig-init.sh" "$REPO/scripts/mig-agent.sh" "$sel/udpseq.py")
for f in /usr/bin/busybox "$ko" "${mods[@]}" "${tools[@]}" "${guest_files[@]}"; do
	[ -e "$f" ] || die "missing $f"
done

key=$( {
	echo "$module"
	sha256sum "$0"
	for f in /usr/bin/busybox "$ko" "${mods[@]}" "${tools[@]}" "${guest_files[@]}"; do
		sha256sum "$(readlink -f "$f")"
	done
} | sha256sum | cut -c1-16)
cdir=$CACHE/initramfs
cached=$cdir/$key.cpio.zst
if [ ! -s "$cached" ]; then
	mkdir -p "$cdir"
	stage=$(mktemp -d "$cdir/stage.XXXXXX")
	tmp=$(mktemp "$cdir/$key.XXXXXX")
	trap 'rm -rf "$stage" "$tmp"' EXIT
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,nf/results,lib/nf,etc}
	cp /usr/bin/busybox "$stage/bin/busybox"
	for a in $(/usr/bin/busybox --list); do
		case "$a" in busybox | bash) continue ;; esac
		ln -sf busybox "$stage/bin/$a"
	done
	# the full tools the selftests' lib.sh uses, with their ldd closure at
	# the same paths (the dynamic loader included)
	for t in "${tools[@]}"; do
		cp "$t" "$stage$t"
		for l in $(ldd "$t" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}'); do
			[ -e "$stage$l" ] && continue
			mkdir -p "$stage$(dirname "$l")"
			cp -L "$l" "$stage$l"
		done
	done
	# busybox's applets must not shadow the full tools
	for t in "${tools[@]}"; do
		rm -f "$stage/bin/$(basename "$t")"
	done
	ln -s /usr/bin/bash "$stage/bin/bash"
	ln -s bash "$stage/bin/sh.bash"
	# insmod order: failover (C), net_failover, virtio_net, e1000e
	order=
	for m in "${mods[@]}"; do
		cp -L "$m" "$stage/lib/nf/"
		case "$m" in */failover.ko) order="failover.ko $order" ;; esac
	done
	cp -L "$ko" "$stage/lib/nf/net_failover.ko"
	echo "$order net_failover.ko virtio_net.ko e1000e.ko" >"$stage/lib/nf/order"
	cp "$REPO/scripts/mig-init.sh" "$stage/init"
	chmod 755 "$stage/init"
	cp "$REPO/scripts/mig-agent.sh" "$stage/nf/agent.sh"
	cp "$sel/udpseq.py" "$stage/nf/"
	ln -s python3.11 "$stage/usr/bin/python3"
	# the standard library without what a test never imports (with its
	# byte code: compiling imports costs seconds under TCG)
	mkdir -p "$stage/usr/lib"
	tar -C /usr/lib -c --exclude='python3.11/config-*' --exclude=python3.11/test \
		--exclude=python3.11/idlelib --exclude=python3.11/tkinter --exclude=python3.11/ensurepip \
		--exclude=python3.11/lib2to3 --exclude=python3.11/distutils --exclude=python3.11/pydoc_data \
		--exclude=python3.11/site-packages --exclude=python3.11/dist-packages python3.11 |
		tar -C "$stage/usr/lib" -x
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) |
		zstd -q -f -3 -T1 -o "$tmp"
	mv "$tmp" "$cached"
	log "initramfs built: $cached ($(du -h "$cached" | cut -f1))"
	# keep the 6 newest (not ones used in the last hour: another run may
	# be about to copy one)
	# (an if, not "&&": a last file too young must not fail the pipeline)
	ls -t "$cdir"/*.cpio.zst 2>/dev/null | tail -n +7 | while read -r f; do
		if [ -n "$(find "$f" -mmin +60)" ]; then
			rm -f "$f"
		fi
	done
fi
touch "$cached"
cp "$cached" "$out"
