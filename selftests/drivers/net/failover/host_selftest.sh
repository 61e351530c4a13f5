#!/bin/bash
# shellcheck disable=SC2015
# SPDX-License-Identifier: GPL-2.0
#
# Host-side check of lib.sh and udpseq.py without a guest (not a kselftest;
# not in TEST_PROGS). Needs root and veth. Builds two private netns joined by
# a veth pair (192.0.2.2 "guest" <-> 192.0.2.1 "peer", nothing else), runs a
# fake host responder implementing the host_do verbs the runner provides
# (peer, peer_bg, peer_kill; device_del/device_add/tap answered with 0), and
# exercises: KTAP helpers and exit codes, the skip path of every script and of
# run_all.sh without NF_RESULTS, host_do, and a udpseq stream across a 1 s
# link outage (loss and gap must be reported).
#
# The responder (fake_host) doubles as a reference for the handshake:
#   guest: req.N.tmp -> mv req.N ; host: runs it, writes ack.N.tmp -> mv ack.N
#   ack.N line 1 = exit status, rest = output.

set -u
dir=$(dirname "$(readlink -f "$0")")
G=nft-g P=nft-p
R=$(mktemp -d /tmp/nf-host-selftest.XXXXXX)
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

cleanup()
{
	[ -n "${HOST_PID:-}" ] && kill "$HOST_PID" 2> /dev/null
	ip netns pids "$P" 2> /dev/null | xargs -r kill 2> /dev/null
	ip netns del "$G" 2> /dev/null
	ip netns del "$P" 2> /dev/null
	rm -rf "$R"
}
trap cleanup EXIT

fake_host()
{
	local n=1 line verb rest st out name cmd
	declare -A bg
	while :; do
		if [ ! -e "$R/ctl/req.$n" ]; then
			sleep 0.05
			continue
		fi
		line=$(cat "$R/ctl/req.$n")
		verb=${line%% *}
		rest=${line#* }
		[ "$rest" = "$line" ] && rest=
		case "$verb" in
		peer)
			out=$(NF_RESULTS=$R ip netns exec "$P" bash -c "$rest" 2>&1)
			st=$?
			;;
		peer_bg)
			name=${rest%% *}
			cmd=${rest#* }
			NF_RESULTS=$R ip netns exec "$P" bash -c "$cmd" > "$R/peer-$name.log" 2>&1 &
			bg[$name]=$!
			out='' st=0
			;;
		peer_kill)
			[ -n "${bg[$rest]:-}" ] && kill "${bg[$rest]}" 2> /dev/null
			out='' st=0
			;;
		device_del | device_add | tap)
			out="fake: $line" st=0
			;;
		*)
			out="unknown verb $verb" st=2
			;;
		esac
		printf '%s\n%s\n' "$st" "$out" > "$R/ctl/ack.$n.tmp"
		mv "$R/ctl/ack.$n.tmp" "$R/ctl/ack.$n"
		n=$((n + 1))
	done
}

[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 4; }
ip netns add "$G" && ip netns add "$P" || exit 1
ip -n "$G" link add gv type veth peer name pv netns "$P" || { echo "no veth"; exit 4; }
ip -n "$G" addr add 192.0.2.2/24 dev gv
ip -n "$P" addr add 192.0.2.1/24 dev pv
ip -n "$G" link set gv up
ip -n "$P" link set pv up
ip -n "$G" link set lo up
ip -n "$P" link set lo up

mkdir -p "$R/ctl"
cat > "$R/topology.env" << EOF
NF_MAC=52:54:00:12:34:56
NF_ADDR4=192.0.2.2
NF_PREFIX4=24
NF_PEER4=192.0.2.1
NF_ADDR6=2001:db8::2
NF_PEER6=2001:db8::1
NF_MODULE=rust
NF_HOST_CTL=1
EOF
fake_host &
HOST_PID=$!

# 1. every script skips cleanly without the runner
for t in "$dir"/*.sh; do
	case "${t##*/}" in host_selftest.sh | lib.sh | run_all.sh | bench_guest.sh) continue ;; esac
	out=$(env -u NF_RESULTS bash "$t" 2>&1)
	rc=$?
	if [ $rc -eq 4 ] && echo "$out" | grep -q '^1..0 # SKIP'; then
		ok "${t##*/} skips without NF_RESULTS"
	else
		bad "${t##*/} without NF_RESULTS: rc=$rc out=$out"
	fi
done
out=$(env -u NF_RESULTS bash "$dir/run_all.sh" 2>&1)
rc=$?
n=$(sed -n '/^TEST_PROGS/,/^$/p' "$dir/Makefile" | grep -c '\.sh')
if [ $rc -eq 0 ] && echo "$out" | grep -q "^ok $n [a-z_]* # SKIP" &&
   echo "$out" | grep -q "pass:0 fail:0 xfail:0 xpass:0 skip:$n "; then
	ok "run_all.sh: $n scripts, all SKIP, exit 0"
else
	bad "run_all.sh without NF_RESULTS: rc=$rc"
	echo "$out" | tail -5
fi
out=$(NF_TESTS="topology traffic.sh" bash "$dir/run_all.sh" 2>&1)
echo "$out" | grep -q '^1..2$' && ok "run_all.sh honours NF_TESTS" || bad "NF_TESTS: $out"

# 2. KTAP helpers and exit codes
ktap_case()
{
	bash -c "source '$dir/lib.sh'; $1" 2>&1
	echo "rc=$?"
}
out=$(ktap_case 'ktap_print_header; ktap_set_plan 3; RET=0; NF_LOGGED=0; nf_log_test a;
	NF_LOGGED=0; nf_log_test_skip b why; NF_LOGGED=0; RET=0; nf_check_err 1 boom; nf_log_test c; nf_ktap_finished')
if echo "$out" | grep -q '^ok 1 a$' && echo "$out" | grep -q '^ok 2 b # SKIP why$' &&
   echo "$out" | grep -q '^not ok 3 c$' && echo "$out" | grep -q '^# FAIL: boom$' &&
   echo "$out" | grep -q 'pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0' &&
   echo "$out" | grep -q '^rc=1$'; then
	ok "KTAP pass/skip/fail lines, totals, exit 1"
else
	bad "KTAP: $out"
fi
out=$(ktap_case 'ktap_set_plan 2; NF_LOGGED=0; nf_log_test_skip a x; NF_LOGGED=0; nf_log_test_skip b y; nf_ktap_finished')
echo "$out" | grep -q '^rc=4$' && ok "all skipped -> exit 4" || bad "all skipped: $out"
out=$(ktap_case 'ktap_set_plan 2; RET=0; NF_LOGGED=0; nf_log_test a; nf_ktap_finished')
echo "$out" | grep -q '^rc=1$' && ok "missing result -> exit 1" || bad "missing result: $out"
out=$(ktap_case 'ktap_set_plan 1; RET=0; NF_LOGGED=0; nf_log_test a; nf_log_test a; nf_ktap_finished')
echo "$out" | grep -q '^rc=0$' && echo "$out" | grep -q 'second result' &&
	ok "duplicate result ignored" || bad "duplicate result: $out"

out=$(ktap_case 'ktap_set_plan 2; RET=0; NF_LOGGED=0; NF_SKIP_PART=; nf_skip_part "no bridge"; nf_log_test a;
	RET=0; NF_LOGGED=0; NF_SKIP_PART=; nf_skip_part "no bond"; nf_check_err 1 boom; nf_log_test b; nf_ktap_finished')
echo "$out" | grep -q '^ok 1 a # SKIP not all checks ran: no bridge$' && echo "$out" | grep -q '^not ok 2 b$' &&
	ok "a check that could not run makes the case SKIP, a failure still fails" || bad "nf_skip_part: $out"
out=$(ktap_case 'v=$(nf_stat nft-no-such-dev tx_packets); echo "st=$? v=[$v]";
	d=$(nf_stat_delta nft-no-such-dev tx_packets 5); echo "dst=$? d=[$d]"; nf_stat lo tx_packets > /dev/null; echo "lo=$?"')
echo "$out" | grep -q '^st=1 v=\[\]$' && echo "$out" | grep -q '^dst=1 d=\[\]$' && echo "$out" | grep -q '^lo=0$' &&
	ok "nf_stat/nf_stat_delta print nothing and fail for a vanished device" || bad "nf_stat: $out"
printf '%s\n' '6,1,10,-;early WARNING: before the mark' '12,2,20,-;nf_selftest: mark x 1 42' ' SUBSYSTEM=x' \
	'4,3,30,-;WARNING: after the mark' > "$R/kmsg.txt"
out=$(ktap_case "NF_RESULTS='$R'; NF_DMESG_MARK='nf_selftest: mark x 1 42'; nf_dmesg_since_mark; echo st=\$?;
	NF_DMESG_MARK='nf_selftest: mark gone'; nf_dmesg_since_mark; echo gone=\$?")
[ "$(echo "$out" | grep -c WARNING)" = 1 ] && echo "$out" | grep -q '^WARNING: after the mark$' &&
	echo "$out" | grep -q '^st=0$' && echo "$out" | grep -q '^gone=1$' &&
	ok "kernel log after a marker, from kmsg.txt; a lost marker fails" || bad "nf_dmesg_since_mark: $out"
rm -f "$R/kmsg.txt"

# 2b. installed in a kernel tree (tools/testing/selftests/drivers/net/failover),
# lib.sh uses the tree's kselftest/ktap_helpers.sh and net/lib.sh (a stand-in
# here whose log_test prints net/lib.sh's "TEST:" line); SKIP still carries
# its reason and every case still gives one KTAP result
T=$R/tree
mkdir -p "$T/kselftest" "$T/net" "$T/drivers/net/failover"
cp "$dir/lib.sh" "$T/drivers/net/failover/"
sed -n '/^else$/,/^fi$/{p;/^fi$/q}' "$dir/lib.sh" | sed '1d;$d' > "$T/kselftest/ktap_helpers.sh"
echo 'KTAP_FROM_TREE=1' >> "$T/kselftest/ktap_helpers.sh"
# shellcheck disable=SC2016 # the stand-in's code, expanded when sourced
printf '%s\n' 'ksft_pass=0 ksft_fail=1 ksft_xfail=2 ksft_skip=4 RET=0' \
	'log_test() { echo "TEST: $1 [ OK ]"; }' 'NET_LIB_FROM_TREE=1' > "$T/net/lib.sh"
tree_case()
{
	bash -c "source '$1/lib.sh'; echo helpers=\$NF_KTAP_HELPERS net=\$NF_NET_LIB tree=\${KTAP_FROM_TREE:-0}\${NET_LIB_FROM_TREE:-0};
	ktap_set_plan 3; NF_LOGGED=0; nf_log_test_skip a x; NF_LOGGED=0; nf_log_test_skip b y;
	RET=0; NF_LOGGED=0; nf_check_eq c 1 1; nf_log_test c; nf_ktap_finished" 2>&1
	echo "rc=$?"
}
tree_ok()
{
	echo "$1" | grep -q "^helpers=$T/kselftest/ktap_helpers.sh net=$T/net/lib.sh tree=11$" &&
		echo "$1" | grep -q '^ok 1 a # SKIP x$' && echo "$1" | grep -q '^ok 3 c$' &&
		! echo "$1" | grep -q '^TEST:' && echo "$1" | grep -q '^rc=0$'
}
out=$(tree_case "$T/drivers/net/failover")
tree_ok "$out" && ok "in a kernel tree lib.sh sources kselftest/ktap_helpers.sh and net/lib.sh, KTAP unchanged" ||
	bad "tree helpers: $out"
# from the repository layout, NF_KERNEL_SELFTESTS names the tree's selftests
out=$(NF_KERNEL_SELFTESTS=$T tree_case "$dir")
tree_ok "$out" && ok "NF_KERNEL_SELFTESTS: lib.sh outside a tree uses that tree's helpers" ||
	bad "NF_KERNEL_SELFTESTS: $out"
rm -rf "$T"

# 2c. no function of the suite has the name of one of the kernel's net
# selftest libraries (which behave otherwise: "TEST:" lines, not KTAP);
# NF_KERNEL_SELFTESTS=<tree>/tools/testing/selftests to check against a tree
ours=$(sed -nE 's/^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)\(\).*/\1/p' "$dir"/*.sh | sort -u)
theirs="log_test log_test_skip log_test_xfail log_info check_err check_fail check_err_fail busywait slowwait
	defer defer_scope_push defer_scope_pop defer_prog tests_run setup_ns cleanup_ns"
K=${NF_KERNEL_SELFTESTS:-}
if [ -n "$K" ]; then
	theirs="$theirs $(sed -nE 's/^([A-Za-z_][A-Za-z0-9_]*)\(\).*/\1/p' "$K"/net/lib.sh \
		"$K"/net/forwarding/lib.sh "$K"/net/lib/sh/*.sh 2> /dev/null)"
fi
# shellcheck disable=SC2086 # one name a word
clash=$(comm -12 <(echo "$ours") <(printf '%s\n' $theirs | sort -u) | tr '\n' ' ')
[ -z "$clash" ] && ok "no suite function shadows a net/lib.sh helper${K:+ of $K}" ||
	bad "suite functions named like net/lib.sh helpers: $clash"

# 3. host_do and the stream helpers, from inside the "guest" netns
out=$(ip netns exec "$G" env NF_RESULTS="$R" NF_CTL_SEQ="$R/ctl-seq" bash -c '
	source "'"$dir"'/lib.sh"
	nf_load_env || { echo "env load failed"; exit 1; }
	NF_TMP=$(mktemp -d)
	o=$(host_do peer "echo hello; exit 3"); rc=$?
	[ "$rc" = 3 ] && [ "$o" = hello ] || { echo "host_do: rc=$rc out=$o"; exit 1; }
	echo "host_do ok"
	nf_stream_start t1 5000 || { echo "stream start failed"; exit 1; }
	nf_stream_advances t1 2000 20 || { echo "stream does not advance"; exit 1; }
	host_do peer "ip link set pv down; sleep 1; ip link set pv up" > /dev/null
	nf_stream_advances t1 2000 20 || { echo "stream does not resume"; exit 1; }
	nf_stream_stop t1 || { echo "stream stop failed"; exit 1; }
	echo "result sent=$STREAM_SENT rate=$STREAM_RATE received=$STREAM_RECEIVED lost=$STREAM_LOST gap=$STREAM_MAXGAP last=$STREAM_LAST"
	nf_run_defers
	rm -rf "$NF_TMP"
' 2>&1)
echo "$out" | sed 's/^/    /'
if echo "$out" | grep -q "host_do ok" && echo "$out" | grep -q "^# figure:"; then
	read -r sent received lost gap last <<< "$(echo "$out" | sed -n 's/^result sent=\([0-9]*\) rate=[0-9]* received=\([0-9]*\) lost=\([0-9]*\) gap=\([0-9.]*\) last=\([0-9]*\).*/\1 \2 \3 \4 \5/p')"
	# every datagram sent is counted (the last one received is the last one
	# sent, on a quiet veth), and nothing is counted twice
	if [ -n "${lost:-}" ] && [ "$lost" -gt 0 ] && [ "${gap%.*}" -ge 900 ] &&
	   [ $((received + lost)) -le "$sent" ] && [ "$last" = $((sent - 1)) ]; then
		ok "stream across a 1 s outage: lost=$lost gap=${gap}ms"
	else
		bad "stream figures implausible: sent=$sent received=$received lost=$lost gap=$gap"
	fi
else
	bad "host_do/stream"
fi

echo "host_selftest: $fails failure(s)"
[ "$fails" -eq 0 ]
