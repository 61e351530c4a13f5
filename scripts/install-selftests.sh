#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the guest selftests into a kernel tree, where kselftest expects
# them:
#
#   selftests/drivers/net/failover/ -> TREE/tools/testing/selftests/drivers/net/failover/
#
#   install-selftests.sh [TREE]     (default: the prepared source tree, $SRC)
#
# Then, in a guest of the topology (scripts/vm.sh; NF_RESULTS is the run
# directory, see the environment contract in lib.sh):
#
#   NF_RESULTS=... make -C TREE/tools/testing/selftests \
#       TARGETS=drivers/net/failover run_tests
#
# The directory belongs to this suite alone: files that are no longer in the
# repository are deleted, unchanged files are not rewritten.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

tree=${1:-$SRC}
ksft=$tree/tools/testing/selftests
[ -r "$ksft/kselftest/ktap_helpers.sh" ] && [ -r "$ksft/lib.mk" ] ||
	die "$tree has no kselftest (tools/testing/selftests/kselftest/ktap_helpers.sh)"
from=$REPO/selftests/drivers/net/failover
dst=$ksft/drivers/net/failover
mkdir -p "$dst"

# the suite's files (tracked or new, not ignored), or all of them outside git
files=$(cd "$from" && { git ls-files -co --exclude-standard -- . 2>/dev/null || ls -1; } |
	grep -v / | sort -u)
for f in $files; do
	[ -f "$from/$f" ] || continue
	if ! cmp -s "$from/$f" "$dst/$f"; then
		cp "$from/$f" "$dst/$f.tmp.$$"
		mv "$dst/$f.tmp.$$" "$dst/$f"
		echo "  installed ${dst#"$tree"/}/$f" >&2
	fi
	# the mode too (kselftest runs TEST_PROGS as executables)
	chmod "$(stat -c %a "$from/$f")" "$dst/$f"
done
for f in "$dst"/* "$dst"/.[!.]*; do
	[ -e "$f" ] || continue
	if ! printf '%s\n' $files | grep -qxF "${f##*/}"; then
		rm -rf "$f"
		echo "  removed ${f#"$tree"/}" >&2
	fi
done
log "selftests installed in $dst"
