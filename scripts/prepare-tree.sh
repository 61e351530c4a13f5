#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Extract the pristine kernel source once into the cache, then lay the
# repository's overlay (new files under rust/ and drivers/) and its patch
# series (patches/series, edits to existing kernel files) over a working copy.
# Only files whose content changes are rewritten, so rebuilds stay incremental.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

[ -f "$SRC_TARBALL" ] || die "$SRC_TARBALL missing (run scripts/setup.sh)"
mkdir -p "$KTREE"
exec 9>"$KTREE/.prepare.lock"
flock 9

if [ ! -f "$PRISTINE/.complete" ]; then
	log "extracting $SRC_TARBALL (once)"
	rm -rf "$PRISTINE" "$SRC"
	mkdir -p "$PRISTINE"
	tar -xJf "$SRC_TARBALL" -C "$PRISTINE" --strip-components=1
	touch "$PRISTINE/.complete"
fi
if [ ! -f "$SRC/.complete" ]; then
	log "creating the working source tree"
	rm -rf "$SRC"
	cp -a "$PRISTINE" "$SRC"
	touch "$SRC/.complete"
fi

# install_if_changed SRCFILE DSTFILE: copy only when the content differs.
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2.tmp.$$" && mv "$2.tmp.$$" "$2"
		echo "  updated ${2#"$SRC"/}" >&2
	fi
}

manifest_new=$(mktemp)
trap 'rm -rf "$manifest_new" "${work:-}"' EXIT

# 1. The overlay: every file the repository has under these kernel dirs.
(cd "$REPO" && git ls-files -co --exclude-standard -- rust drivers include 2>/dev/null ||
	find rust drivers include -type f 2>/dev/null) | sort -u >"$manifest_new.overlay"
while read -r f; do
	[ -f "$REPO/$f" ] || continue
	[ -e "$PRISTINE/$f" ] && die "overlay file $f exists in the kernel: edit it with a patch"
	install_if_changed "$REPO/$f" "$SRC/$f"
	echo "$f" >>"$manifest_new"
done <"$manifest_new.overlay"

# 2. The patch series, applied to pristine copies of the files it touches.
work=$(mktemp -d)
if [ -f "$REPO/patches/series" ]; then
	files=$(grep -v '^#' "$REPO/patches/series" | while read -r p; do
		[ -n "$p" ] && grep -E '^\+\+\+ ' "$REPO/patches/$p" | awk '{print $2}' | sed 's|^b/||'
	done | sort -u)
	for f in $files; do
		mkdir -p "$work/$(dirname "$f")"
		[ -f "$PRISTINE/$f" ] && cp "$PRISTINE/$f" "$work/$f"
	done
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		patch -s -p1 -d "$work" --no-backup-if-mismatch <"$REPO/patches/$p" ||
			die "patch $p does not apply"
	done <"$REPO/patches/series"
	for f in $files; do
		install_if_changed "$work/$f" "$SRC/$f"
		echo "$f" >>"$manifest_new"
	done
fi

# 3. Files we laid down last time but no longer do: back to pristine.
if [ -f "$SRC/.overlay-manifest" ]; then
	sort -u "$manifest_new" -o "$manifest_new"
	comm -23 <(sort -u "$SRC/.overlay-manifest") "$manifest_new" | while read -r f; do
		if [ -f "$PRISTINE/$f" ]; then
			install_if_changed "$PRISTINE/$f" "$SRC/$f"
		else
			rm -f "$SRC/$f"
			echo "  removed $f" >&2
		fi
	done
fi
sort -u "$manifest_new" >"$SRC/.overlay-manifest"
log "source tree ready: $SRC"
