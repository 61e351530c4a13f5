#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of the migration rig's control channel (scripts/migrig.py),
# on the virtio-serial port named nf.ctl. A request is one line,
# "REQ <n> <bash command>", with the command's newlines sent as \x1f; the
# answer is its output as "OUT <n> <line>" lines, then "RES <n> <exit
# status>". Builtins only, apart from the one subshell that runs the command
# (every fork costs a debug guest under TCG). On start the agent says
# "HELLO". The port's state migrates with the guest; while no host is
# connected (the source QEMU has quit, the destination's host side not yet
# attached) reads return end-of-file, so the agent waits and reads again.
# The port is fd 3 here, closed for every command, so that background jobs
# do not hold it.
port=
for _ in $(seq 100); do
	for n in /sys/class/virtio-ports/vport*/name; do
		[ "$(cat "$n" 2>/dev/null)" = nf.ctl ] && port=/dev/$(basename "$(dirname "$n")")
	done
	[ -n "$port" ] && [ -c "$port" ] && break
	sleep 0.2
done
[ -c "$port" ] || { echo "mig-agent: no nf.ctl port"; exit 1; }
exec 3<>"$port"
echo "mig-agent: serving on $port"
echo HELLO >&3
partial=
while :; do
	if ! IFS= read -r line <&3; then
		partial+=$line
		sleep 0.2
		continue
	fi
	line=$partial$line
	partial=
	[ "${line%% *}" = REQ ] || continue
	rest=${line#REQ }
	n=${rest%% *}
	cmd=${rest#* }
	cmd=${cmd//$'\x1f'/$'\n'}
	out=$(cd /tmp && eval "$cmd" 2>&1 3>&- </dev/null)
	rc=$?
	{
		while IFS= read -r l; do
			printf 'OUT %s %s\n' "$n" "$l"
		done <<<"$out"
		printf 'RES %s %s\n' "$n" "$rc"
	} >&3
done
