#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static checks on our sources: rustfmt, clippy (a CLIPPY=1 kernel build) and
# checkpatch on the driver, the abstractions, the helpers and the patch series.
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"
cd "$REPO"
fail=0
rs=$(git ls-files -co --exclude-standard -- 'rust/*.rs' 'drivers/*.rs' 'tests/host/src/*.rs')
c=$(git ls-files -co --exclude-standard -- 'rust/*.c' 'drivers/*.c')

log "rustfmt"
# shellcheck disable=SC2086
rustfmt --edition 2021 --check $rs || fail=1

log "checkpatch"
for f in $rs $c; do
	ign=
	# the functions it exports are defined in Rust, so no EXPORT_SYMBOL can
	# follow its definition (6.12's Rust modules cannot export themselves)
	[ "$f" = drivers/net/net_failover_export.c ] && ign="--ignore EXPORT_SYMBOL"
	# shellcheck disable=SC2086
	"$SRC/scripts/checkpatch.pl" --no-tree --terse --show-types $ign -f "$f" || fail=1
done
# The series is read from stdin: given a path inside a git work tree,
# checkpatch checks the file as a source file, not as a patch.
for p in patches/*.patch; do
	[ -f "$p" ] || continue
	"$SRC/scripts/checkpatch.pl" --no-tree --terse - <"$p" | sed "s|^-:|$p:|" || fail=1
done

log "clippy (every build uses CLIPPY=1; warnings fail)"
"$REPO/scripts/build-kernel.sh" debug || fail=1
B=$(build_dir debug)
if grep -E '^(warning|error)' "$B/build.log"; then
	fail=1
fi
log "host crate clippy"
(cd tests/host && cargo clippy --offline --all-targets --quiet -- -D warnings) || fail=1
[ $fail = 0 ] && log "all checks clean" || die "checks failed"
