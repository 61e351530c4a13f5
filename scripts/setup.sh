#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install everything the project needs, from package registries only.
# Idempotent: a second run with everything present takes seconds.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

BINDGEN_VERSION=0.73.2
VIRTME_NG_VERSION=1.42

APT_PKGS=(
	linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio xz-utils zstd busybox-static rsync
	qemu-system-x86 iproute2 ethtool iperf3 iputils-ping pciutils kmod
	python3 python3-venv socat tcpdump procps linux-perf dnsmasq-base
)

need_apt=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need_apt+=("$p")
done
qemu_ok() { qemu-system-x86_64 --version 2>/dev/null | grep -Eq 'version (1[0-9])\.'; }
if ((${#need_apt[@]})) || ! qemu_ok; then
	log "apt: installing ${need_apt[*]:-qemu-system-x86 (backports)}"
	if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq -t bookworm-backports \
		linux-source-6.12 qemu-system-x86 clang-19 lld-19 llvm-19 libclang-19-dev >/dev/null
	apt-get install -y -qq "${APT_PKGS[@]}" >/dev/null
	qemu_ok || die "QEMU 10 from bookworm-backports did not install"
fi

# Rust: the machine's rustup toolchain plus rust-src, and a pinned bindgen-cli.
command -v rustup >/dev/null || die "rustup not found (the machine's Rust toolchain is required)"
rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy || true
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt || true
if ! bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	log "cargo: installing bindgen-cli $BINDGEN_VERSION"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION"
fi

# virtme-ng, pinned, in a venv under the cache.
if ! "$VENV/bin/vng" --version 2>/dev/null | grep -q "$VIRTME_NG_VERSION"; then
	log "pip: installing virtme-ng $VIRTME_NG_VERSION"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION"
fi
log "setup complete"
