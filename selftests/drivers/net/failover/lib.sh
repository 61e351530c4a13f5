#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the net_failover guest selftests.
#
# The tests run inside a QEMU guest built by the project's runner (scripts/vm.sh):
#   virtio-net-pci id=sb0 failover=on  -> failover master + standby netdev
#   e1000e id=pf0 failover_pair_id=sb0 -> primary (hot-plugged by QEMU once the
#                                         guest negotiated VIRTIO_NET_F_STANDBY)
#   igb id=igb0                         -> SR-IOV PF for igbvf VF scenarios
# all on tap backends bridged in a host netns where the peer lives.
#
# Environment (from "$NF_RESULTS/topology.env", written by the runner):
#   NF_MAC NF_ADDR4 NF_PREFIX4 NF_PEER4 NF_ADDR6 NF_PEER6 NF_MODULE (rust|c)
#   NF_CREF_DIR NF_PRIMARY_QDEV NF_STANDBY_QDEV NF_IGB_QDEV NF_HOST_CTL
#   NF_HOST_RESULTS  optional: the host-side path of $NF_RESULTS (default: same path);
#                    used in commands that the host runs in the peer netns.
# Knobs: NF_TIMEOUT (generic wait, s, default 60), NF_HOST_TIMEOUT (host_do ack, default 90).
#   NF_CASES: run only these cases of the script. NF_KO: insmod this net_failover.ko instead
#   of the installed one (scripts/mutants.sh: a mutant of the driver).
#
# Without NF_RESULTS (plain kselftest install, no runner) every script skips (exit 4).
#
# Each script: set ALL_TESTS, source this file, call nf_main. Every test function
# reports exactly one result through nf_log_test / nf_log_test_skip.

NF_LIB_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
: "${NF_TIMEOUT:=60}"
: "${NF_HOST_TIMEOUT:=90}"
# how long a stream may take to move the packets a check waits for: waits
# end when the packets are there, only a stalled stream runs into this
: "${NF_STREAM_WAIT:=120}"

# PCI ids (QEMU models)
NF_PCI_E1000E=8086:10d3
NF_PCI_IGB=8086:10c9
NF_PCI_IGBVF=8086:10ca

# ---------------------------------------------------------------------------
# The kernel tree's selftests. Installed in a kernel tree (tools/testing/
# selftests/drivers/net/failover, scripts/prepare-tree.sh), the suite uses
# the tree's kselftest/ktap_helpers.sh and net/lib.sh; run from elsewhere (the
# repository layout), those of NF_KERNEL_SELFTESTS (a tools/testing/selftests
# directory) when it is set, else none: the KTAP functions are then defined
# here with the same behaviour, and net/lib.sh is not needed.
#
# KTAP output: what we need beyond ktap_helpers.sh is named nf_ktap_*:
# nf_ktap_skip (a SKIP with a reason) and nf_ktap_finished (exit 4 when every
# case skipped, 1 on a failure or a missing result).

NF_KSFT_DIR=$(readlink -f "$NF_LIB_DIR/../../..")
if [ ! -r "$NF_KSFT_DIR/kselftest/ktap_helpers.sh" ] && [ -n "${NF_KERNEL_SELFTESTS:-}" ]; then
	NF_KSFT_DIR=$(readlink -f "$NF_KERNEL_SELFTESTS")
fi
if [ -r "$NF_KSFT_DIR/kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=/dev/null
	. "$NF_KSFT_DIR/kselftest/ktap_helpers.sh"
	NF_KTAP_HELPERS=$NF_KSFT_DIR/kselftest/ktap_helpers.sh
else
	NF_KTAP_HELPERS=
	KTAP_TESTNO=1
	KTAP_CNT_PASS=0
	KTAP_CNT_FAIL=0
	KTAP_CNT_SKIP=0
	KSFT_PASS=0
	KSFT_FAIL=1
	KSFT_XFAIL=2
	KSFT_XPASS=3
	KSFT_SKIP=4
	KSFT_NUM_TESTS=0
	ktap_print_header() { echo "TAP version 13"; }
	# shellcheck disable=SC2048,SC2086 # as in ktap_helpers.sh
	ktap_print_msg() { echo "#" $*; }
	ktap_set_plan() { KSFT_NUM_TESTS=$1; echo "1..$KSFT_NUM_TESTS"; }
	# shellcheck disable=SC2048,SC2086
	ktap_skip_all() { echo -n "1..0 # SKIP "; echo $*; }
	__ktap_test() {
		local result=$1 description=$2 directive=${3:-} directive_str=
		[ -n "$directive" ] && directive_str="# $directive"
		# shellcheck disable=SC2086 # word splitting as in ktap_helpers.sh
		echo $result $KTAP_TESTNO $description $directive_str
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
	}
	ktap_test_pass() { __ktap_test "ok" "$1"; KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1)); }
	ktap_test_skip() { __ktap_test "ok" "$1" "SKIP"; KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1)); }
	ktap_test_fail() { __ktap_test "not ok" "$1"; KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1)); }
	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
	}
	ktap_finished() {
		ktap_print_totals
		if [ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -eq "$KSFT_NUM_TESTS" ]; then
			exit "$KSFT_PASS"
		else
			exit "$KSFT_FAIL"
		fi
	}
fi
# net/lib.sh gives the exit codes by their lower-case names (ksft_pass,
# ksft_fail, ksft_skip), which this file uses. Its other helpers do not fit:
# its log_test/log_test_skip print "TEST: name [ OK ]" lines, not one KTAP
# result per case (which run_all.sh and scripts/run-tests.sh count), and its
# busywait/slowwait run the command in a command substitution (a subshell)
# and fork date(1) at every poll (0.25 s an exec under TCG). So no function
# of this suite has the name of one of net/lib.sh or net/forwarding/lib.sh:
# ours are nf_log_test, nf_log_test_skip, nf_check_err, nf_check_fail,
# nf_check_eq and nf_wait (RET is shared: 0 = pass, as there).
if [ -r "$NF_KSFT_DIR/net/lib.sh" ]; then
	# shellcheck source=/dev/null
	. "$NF_KSFT_DIR/net/lib.sh"
	NF_NET_LIB=$NF_KSFT_DIR/net/lib.sh
else
	NF_NET_LIB=
	ksft_pass=$KSFT_PASS
	ksft_fail=$KSFT_FAIL
	ksft_skip=$KSFT_SKIP
fi

# nf_ktap_skip NAME REASON: "ok N NAME # SKIP REASON"
nf_ktap_skip() {
	__ktap_test "ok" "$1" "SKIP${2:+ $2}"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}
# exit 0 all passed (skips allowed), 1 any failure or missing result, 4 all skipped
nf_ktap_finished() {
	ktap_print_totals
	if [ "$KTAP_CNT_FAIL" -ne 0 ] ||
	   [ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -ne "$KSFT_NUM_TESTS" ]; then
		exit "$ksft_fail"
	fi
	if [ "$KSFT_NUM_TESTS" -gt 0 ] && [ "$KTAP_CNT_SKIP" -eq "$KSFT_NUM_TESTS" ]; then
		exit "$ksft_skip"
	fi
	exit "$ksft_pass"
}

# ---------------------------------------------------------------------------
# Per-case reporting in the manner of net/forwarding/lib.sh (RET, check_err,
# log_test), but one KTAP result per case: nf_check_err, nf_log_test

RET=0
RET_MSG=
NF_LOGGED=0

# diagnostics, one "# " per line (ktap_print_msg prefixes only the first)
nf_diag() { local l; while IFS= read -r l; do echo "# $l"; done <<< "$*"; }
# a measured value for the report: "# figure: <test>: key=value ..."
nf_figure() { echo "# figure: ${NF_CUR_TEST:-?}: $*"; }

# nf_check_err STATUS MSG: the case fails with MSG unless STATUS is 0;
# returns 1 when it failed, so that "nf_check_err ... || return" stops a case
# whose later checks would make no sense (nf_check_fail: the other way round)
nf_check_err() {
	local err=$1 msg=$2
	if [ "$err" -ne 0 ]; then
		[ "$RET" -eq 0 ] && RET_MSG=$msg
		RET=1
		nf_diag "FAIL: $msg"
		return 1
	fi
	return 0
}
nf_check_fail() {
	local err=$1 msg=$2
	if [ "$err" -eq 0 ]; then
		[ "$RET" -eq 0 ] && RET_MSG=$msg
		RET=1
		nf_diag "FAIL: $msg"
		return 1
	fi
	return 0
}
# nf_check_eq WHAT GOT WANT
nf_check_eq() {
	[ "$2" = "$3" ]
	nf_check_err $? "$1: got '$2', want '$3'"
}

# nf_skip_part REASON: a check of the current case could not be run (a
# missing module, a device that cannot be created): unless something failed,
# the case reports SKIP with REASON instead of a pass.
NF_SKIP_PART=
nf_skip_part() {
	nf_diag "not checked: $*"
	NF_SKIP_PART="${NF_SKIP_PART:+$NF_SKIP_PART; }$*"
}

nf_log_test() {
	local name=${1:-$NF_CUR_TEST}
	if [ "$NF_LOGGED" -ne 0 ]; then
		nf_diag "BUG in test script: second result for $name ignored"
		return
	fi
	NF_LOGGED=1
	if [ "$RET" -eq 0 ] && [ -n "$NF_SKIP_PART" ]; then
		nf_ktap_skip "$name" "not all checks ran: $NF_SKIP_PART"
	elif [ "$RET" -eq 0 ]; then
		ktap_test_pass "$name"
	else
		nf_diag "$name: $RET_MSG"
		ktap_test_fail "$name"
	fi
}
nf_log_test_skip() {
	local name=${1:-$NF_CUR_TEST} reason=${2:-}
	[ "$NF_LOGGED" -ne 0 ] && return
	NF_LOGGED=1
	nf_ktap_skip "$name" "$reason"
}
# For behaviour where the C reference legitimately differs (listed per script).
# NF_C_ASSERT_ALL=1 asserts it against the C reference anyway (to watch the
# Rust-only assertions fail there).
nf_rust_only() { [ "${NF_MODULE:-rust}" != c ] || [ "${NF_C_ASSERT_ALL:-0}" = 1 ]; }
nf_skip_if_c() {
	if ! nf_rust_only; then
		nf_log_test_skip "$NF_CUR_TEST" "C reference lacks $*"
		return 0
	fi
	return 1
}

# ---------------------------------------------------------------------------
# deferred cleanup (LIFO), run after each test and on exit

NF_DEFERS=()
nf_defer() { NF_DEFERS+=("$(printf '%q ' "$@")"); }
nf_run_defers() {
	local i
	for ((i = ${#NF_DEFERS[@]} - 1; i >= 0; i--)); do
		eval "${NF_DEFERS[$i]}" > /dev/null 2>&1 || true
	done
	NF_DEFERS=()
}

# script-level cleanup, run once before the final bring-up and on exit
NF_EXIT_HOOKS=()
nf_defer_exit() { NF_EXIT_HOOKS+=("$(printf '%q ' "$@")"); }
nf_run_exit_hooks() {
	local i
	for ((i = ${#NF_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${NF_EXIT_HOOKS[$i]}" > /dev/null 2>&1 || true
	done
	NF_EXIT_HOOKS=()
}

# ---------------------------------------------------------------------------
# generic helpers

# nf_sleep SECONDS: sleep without starting a process. A fork and exec of
# sleep(1) costs a loaded debug guest up to a few tenths of a second, and the
# polling loops below sleep thousands of times per script; a read with a
# timeout on a pipe nobody writes to is a builtin. Falls back to sleep(1)
# when the pipe is missing (a read that does not time out).
# (braces: a redirection on exec itself would stay on the shell for good)
{ exec {NF_SLEEP_FD}<> <(:); } 2> /dev/null || NF_SLEEP_FD=
nf_sleep() {
	local _
	if [ -n "$NF_SLEEP_FD" ]; then
		read -rt "$1" -u "$NF_SLEEP_FD" _ 2> /dev/null
		[ $? -gt 128 ] && return 0
	fi
	sleep "$1"
}

# nf_wait TIMEOUT_S CMD... : poll CMD every 0.2 s until it succeeds
nf_wait() {
	local timeout=$1 end
	shift
	end=$((SECONDS + timeout))
	while :; do
		"$@" && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		nf_sleep 0.2
	done
}
# like nf_wait but CMD must keep failing (true if it never succeeded)
nf_never() {
	local timeout=$1 end
	shift
	end=$((SECONDS + timeout))
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 1
		nf_sleep 0.2
	done
	return 0
}

# run CMD; on failure print its output as diagnostics; status of CMD
nf_run() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && [ -n "$out" ] && nf_diag "$* -> rc=$rc: $out"
	return $rc
}

# Fork-free helpers: under TCG with the debug kernel every exec costs about
# 0.25 s, so sysfs is read with the "read" builtin wherever possible.
# nf_read FILE: first line of FILE (status 1 if unreadable)
nf_read() {
	local v
	read -r v < "$1" 2>/dev/null || [ -n "$v" ] || return 1
	echo "$v"
}
# nf_uevent FILE KEY: value of KEY= in a sysfs uevent file
nf_uevent() {
	local k v
	# (stderr redirected around the loop: a missing FILE is not an error)
	{
		while IFS='=' read -r k v; do
			[ "$k" = "$2" ] && { echo "$v"; return 0; }
		done < "$1"
	} 2> /dev/null
	return 1
}
nf_dev_exists() { [ -e "/sys/class/net/$1" ]; }
nf_carrier() { nf_read "/sys/class/net/$1/carrier"; }
nf_carrier_is() {
	local v
	read -r v < "/sys/class/net/$1/carrier" 2>/dev/null
	[ "$v" = "$2" ]
}
# nf_stat DEV COUNTER: the counter's value; prints nothing and fails when DEV
# (or the counter) does not exist, so that a vanished device is never "0"
nf_stat() {
	local v
	read -r v < "/sys/class/net/$1/statistics/$2" 2> /dev/null
	[[ "$v" =~ ^[0-9]+$ ]] || return 1
	echo "$v"
}
# nf_stat_delta DEV COUNTER BASE: increase of COUNTER since BASE; prints
# nothing and fails (with a diagnostic on stderr) when DEV is gone or BASE is
# not a number, so that comparisons on the result fail
nf_stat_delta() {
	local v
	if ! v=$(nf_stat "$1" "$2") || ! [[ "$3" =~ ^[0-9]+$ ]]; then
		nf_diag "$1 $2 unreadable (device gone?): now '${v:-}' base '$3'" >&2
		return 1
	fi
	echo $((v - $3))
}
# nf_num_diff A B: B - A, or "?" when either is not a number (a vanished device)
nf_num_diff() {
	if [[ "$1" =~ ^[0-9]+$ ]] && [[ "$2" =~ ^[0-9]+$ ]]; then echo $(($2 - $1)); else echo "?"; fi
}
nf_mac() { nf_read "/sys/class/net/$1/address"; }
nf_flags() { nf_read "/sys/class/net/$1/flags" || echo 0; }
# nf_admin_up DEV: 1 if DEV is administratively up, 0 if down, "gone" if it
# does not exist (for nf_check_eq: a vanished device is neither)
nf_admin_up() {
	local f
	read -r f < "/sys/class/net/$1/flags" 2> /dev/null || { echo gone; return; }
	echo $((f & 0x1))
}
nf_is_up() {
	local f=0
	read -r f < "/sys/class/net/$1/flags" 2>/dev/null
	[ $((f & 0x1)) -ne 0 ]
}
nf_master_of() { nf_uevent "/sys/class/net/$1/master/uevent" INTERFACE; }
# sorted lower names of a master (globs expand sorted)
nf_lowers() {
	local l
	for l in /sys/class/net/"$1"/lower_*; do
		[ -e "$l" ] || continue
		echo "${l##*/lower_}"
	done
}
nf_lowers_str() { nf_lowers "$1" | tr '\n' ' '; }
nf_pci_of() { nf_uevent "/sys/class/net/$1/device/uevent" PCI_SLOT_NAME; }
nf_driver_of() { nf_uevent "/sys/class/net/$1/device/uevent" DRIVER; }
# value of a key of "ip -d -j link show dev DEV"
nf_link_field() {
	ip -d -j link show dev "$1" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)[0]
except Exception:
    sys.exit(1)
v = d.get(sys.argv[1], "")
print(" ".join(v) if isinstance(v, list) else v)' "$2"
}
nf_ethtool_field() { ethtool -i "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

# BDFs of PCI functions VENDOR:DEVICE (e.g. 8086:10d3)
nf_pci_find() {
	local d v=0x${1%%:*} i=0x${1##*:} rv ri
	for d in /sys/bus/pci/devices/*; do
		read -r rv < "$d/vendor" 2>/dev/null && [ "$rv" = "$v" ] || continue
		read -r ri < "$d/device" 2>/dev/null && [ "$ri" = "$i" ] || continue
		echo "${d##*/}"
	done
}
nf_e1000e_bdf() {
	local d rv ri
	for d in /sys/bus/pci/devices/*; do
		read -r rv < "$d/vendor" 2>/dev/null && [ "$rv" = 0x8086 ] || continue
		read -r ri < "$d/device" 2>/dev/null && [ "$ri" = 0x10d3 ] || continue
		echo "${d##*/}"
		return 0
	done
	return 1
}
nf_pci_netdev() {
	local n
	for n in /sys/bus/pci/devices/"$1"/net/*; do
		[ -e "$n" ] && { echo "${n##*/}"; return 0; }
	done
	return 1
}
nf_pci_driver() { nf_uevent "/sys/bus/pci/devices/$1/uevent" DRIVER; }

nf_ping() { ping -q -c "${2:-1}" -W 2 "$1" > /dev/null 2>&1; }
nf_ping_peer() { nf_ping "$NF_PEER4" "${1:-1}"; }

# The peer's per-device taps: what the primary (tap-pf) and the standby
# (tap-sb) send arrives there, so a tap's rx_packets in the peer namespace
# counts the frames the guest sent through that lower device.
NF_TAP_PRI=${NF_TAP_PRI:-tap-pf}
NF_TAP_SBY=${NF_TAP_SBY:-tap-sb}
# nf_tap_rx: "<primary tap rx_packets>,<standby tap rx_packets>"
nf_tap_rx() {
	host_do peer "echo \$(cat /sys/class/net/$NF_TAP_PRI/statistics/rx_packets),\$(cat /sys/class/net/$NF_TAP_SBY/statistics/rx_packets)"
}
# nf_carried_by_ok ROLE: 10 pings to the peer, all answered, sent through
# ROLE's tap (at least 10 frames there, at most 2 at the other: the peer's
# own traffic may add a frame or two); needs host control. A status, with
# what was seen in NF_VIA_MSG; nf_carried_by ROLE checks it (nf_check_err).
nf_carried_by_ok() {
	local role=$1 t0 t1 pf sb out rc
	t0=$(nf_tap_rx)
	out=$(ping -c 10 -i 0.2 -W 10 "$NF_PEER4" 2>&1)
	nf_pings_all_answered "$out"
	rc=$?
	t1=$(nf_tap_rx)
	pf=$(nf_num_diff "${t0%,*}" "${t1%,*}")
	sb=$(nf_num_diff "${t0#*,}" "${t1#*,}")
	NF_VIA_MSG="pings via the $role: $(echo "$out" | grep 'packet loss'); $pf frames at $NF_TAP_PRI, $sb at $NF_TAP_SBY"
	[ "$rc" -eq 0 ] || return 1
	if [ "$role" = primary ]; then
		[ "$pf" != "?" ] && [ "$pf" -ge 10 ] && [ "$sb" != "?" ] && [ "$sb" -le 2 ]
	else
		[ "$sb" != "?" ] && [ "$sb" -ge 10 ] && [ "$pf" != "?" ] && [ "$pf" -le 2 ]
	fi
}
nf_carried_by() {
	nf_carried_by_ok "$1"
	nf_check_err $? "tx not through the $1, or pings lost: $NF_VIA_MSG"
	nf_diag "$NF_VIA_MSG"
}

# ---------------------------------------------------------------------------
# role discovery: NF_M (master), NF_SBY (standby), NF_PRI (primary, may be empty)

nf_is_master() { [ "$(nf_ethtool_field "$1" driver)" = net_failover ]; }

nf_find_master() {
	local d n p v m sby
	# master and standby are both children of the virtio device; the standby
	# names its port "sby" (virtio_net): the master is the other netdev of a
	# virtio device that has a standby (not a plain virtio-net device, such as
	# an impostor without failover=on)
	for v in /sys/bus/virtio/drivers/virtio_net/virtio*; do
		m= sby=0
		for d in "$v"/net/*; do
			[ -e "$d" ] || continue
			p=
			read -r p < "$d/phys_port_name" 2>/dev/null
			if [ "$p" = sby ]; then sby=1; else m=${d##*/}; fi
		done
		[ "$sby" = 1 ] && [ -n "$m" ] && { echo "$m"; return 0; }
	done
	for d in /sys/bus/virtio/drivers/virtio_net/virtio*/net/*; do
		[ -e "$d" ] || continue
		n=${d##*/}
		if nf_is_master "$n"; then
			echo "$n"
			return 0
		fi
	done
	# fallback: any netdev whose drvinfo says net_failover
	for d in /sys/class/net/*; do
		n=${d##*/}
		[ "$n" = lo ] && continue
		if [ -e "$d/device" ] && nf_is_master "$n"; then
			echo "$n"
			return 0
		fi
	done
	return 1
}

nf_is_standby_of() {
	local m=$1 s=$2 p=
	read -r p < "/sys/class/net/$s/phys_port_name" 2>/dev/null
	[ "$p" = sby ] && return 0
	[ "$(readlink -f "/sys/class/net/$s/device")" = "$(readlink -f "/sys/class/net/$m/device")" ]
}

nf_discover() {
	local l
	NF_M='' NF_SBY='' NF_PRI=''
	NF_M=$(nf_find_master) || { NF_M=; return 1; }
	for l in $(nf_lowers "$NF_M"); do
		if [ -z "$NF_SBY" ] && nf_is_standby_of "$NF_M" "$l"; then
			NF_SBY=$l
		elif [ -z "$NF_PRI" ]; then
			NF_PRI=$l
		else
			nf_diag "unexpected third lower $l of $NF_M"
		fi
	done
	return 0
}
nf_has_master() { nf_discover; }
nf_has_standby() { nf_discover && [ -n "$NF_SBY" ]; }
nf_has_primary() { nf_discover && [ -n "$NF_PRI" ]; }
nf_no_primary() { nf_discover && [ -z "$NF_PRI" ]; }
# the e1000e function is enslaved as primary
nf_e1000e_enslaved() {
	local b
	b=$(nf_e1000e_bdf) || return 1
	nf_discover && [ -n "$NF_PRI" ] && [ "$(nf_pci_of "$NF_PRI")" = "$b" ]
}
nf_roles() { echo "master=${NF_M:-none} standby=${NF_SBY:-none} primary=${NF_PRI:-none}"; }

# ---------------------------------------------------------------------------
# environment

nf_load_env() {
	[ -n "${NF_RESULTS:-}" ] && [ -r "$NF_RESULTS/topology.env" ] || return 1
	# shellcheck disable=SC1091
	. "$NF_RESULTS/topology.env"
	: "${NF_HOST_RESULTS:=$NF_RESULTS}"
	: "${NF_MODULE:=rust}"
	: "${NF_PRIMARY_QDEV:=pf0}"
	: "${NF_STANDBY_QDEV:=sb0}"
	: "${NF_IGB_QDEV:=igb0}"
	: "${NF_HOST_CTL:=0}"
	: "${NF_PREFIX4:=24}"
	[ -n "${NF_MAC:-}" ] && [ -n "${NF_ADDR4:-}" ] && [ -n "${NF_PEER4:-}" ]
}

nf_require_topology() {
	local why=
	if [ "$(id -u)" -ne 0 ]; then
		why="must run as root"
	elif ! nf_load_env; then
		why="needs the net_failover QEMU topology (NF_RESULTS/topology.env from the project runner)"
	else
		local t
		for t in ip ethtool ping python3 modprobe; do
			command -v "$t" > /dev/null || why="$why $t missing"
		done
	fi
	if [ -n "$why" ]; then
		ktap_print_header
		ktap_skip_all "$why"
		exit "$ksft_skip"
	fi
	NF_TMP=$(mktemp -d /tmp/nf-selftest.XXXXXX)
}
nf_host_ctl() { [ "${NF_HOST_CTL:-0}" = 1 ]; }
nf_require_host_ctl() {
	nf_host_ctl && return 0
	nf_log_test_skip "$NF_CUR_TEST" "host actions unavailable (NF_HOST_CTL!=1)"
	return 1
}

# ---------------------------------------------------------------------------
# host actions: one request line in $NF_RESULTS/ctl/req.N, answer in ack.N
# (first line = exit status, rest = output). Prints the output, returns the status.
host_do() {
	if ! nf_host_ctl || [ -z "${NF_RESULTS:-}" ]; then
		echo "host_do: host actions unavailable" >&2
		return 125
	fi
	local ctl=$NF_RESULTS/ctl n= end status line
	# builtins where they do: this runs for every host round trip, and each
	# process started costs a loaded debug guest a few tenths of a second
	[ -d "$ctl" ] || mkdir -p "$ctl" || return 125
	# The request counter lives in the guest (/tmp): a file rewritten in the
	# shared dir may be read back stale through the 9p cache, and a reused N
	# would pick up an old ack.
	: "${NF_CTL_SEQ:=/tmp/nf-ctl-seq}"
	[ -r "$NF_CTL_SEQ" ] && read -r n < "$NF_CTL_SEQ"
	[[ "$n" =~ ^[0-9]+$ ]] || n=0
	n=$((n + 1))
	echo "$n" > "$NF_CTL_SEQ"
	printf '%s\n' "$*" > "$ctl/req.$n.tmp" && mv -f "$ctl/req.$n.tmp" "$ctl/req.$n" || return 125
	end=$((SECONDS + NF_HOST_TIMEOUT))
	while [ ! -e "$ctl/ack.$n" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "host_do: no ack.$n within ${NF_HOST_TIMEOUT}s for: $*" >&2
			return 124
		fi
		nf_sleep 0.1
	done
	# first line the status, the rest the output
	{
		IFS= read -r status
		while IFS= read -r line || [ -n "$line" ]; do
			printf '%s\n' "$line"
		done
	} < "$ctl/ack.$n"
	case "$status" in
	'' | *[!0-9]*) return 1 ;;
	esac
	return "$status"
}

# ---------------------------------------------------------------------------
# bring-up (idempotent): modules, master, e1000e primary enslaved, addresses, ping

nf_modules_load() {
	modprobe -q virtio_pci 2> /dev/null
	if [ "${NF_MODULE:-rust}" = c ] && [ ! -d /sys/module/net_failover ]; then
		modprobe failover || return 1
		insmod "$NF_CREF_DIR/net_failover.ko" || return 1
	elif [ -n "${NF_KO:-}" ] && [ ! -d /sys/module/net_failover ]; then
		# another build of our module (a mutant: tests/mutants/), before
		# virtio_net would load the installed one
		insmod "$NF_KO" || return 1
	fi
	if [ ! -d /sys/bus/virtio/drivers/virtio_net ]; then
		modprobe virtio_net || return 1
	fi
	# a virtio-net device left unbound (teardown tests) is bound again
	local d
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d" ] || continue
		[ "$(cat "$d/device" 2>/dev/null)" = 0x0001 ] || continue
		[ -e "$d/driver" ] && continue
		echo "${d##*/}" > /sys/bus/virtio/drivers/virtio_net/bind 2> /dev/null
	done
	return 0
}

# Tracing in tracefs instances of our own (so that nothing else clears or
# reads our record). nf_kprobes_add GROUP DEF...: defines kprobe events (in
# kprobe_events syntax) unless GROUP already exists (a script run twice in a
# guest). nf_trace_instance DIR [CLOCK]: the instance DIR, made if missing,
# with trace clock CLOCK if given (counter: a global order across CPUs), its
# record cleared; the caller enables (and filters) the events it wants.
nf_tracefs=/sys/kernel/tracing
nf_kprobes_add()
{
	local group=$1
	shift
	[ -d "$nf_tracefs/events" ] || mount -t tracefs nodev "$nf_tracefs" 2> /dev/null
	[ -d "$nf_tracefs/events/$group" ] && return 0
	printf '%s\n' "$@" >> "$nf_tracefs/kprobe_events"
}
nf_trace_instance()
{
	[ -d "$nf_tracefs/events" ] || mount -t tracefs nodev "$nf_tracefs" 2> /dev/null
	[ -d "$1" ] || mkdir "$1" || return 1
	if [ -n "${2:-}" ]; then
		echo "$2" > "$1/trace_clock" || return 1
	fi
	: > "$1/trace"
}

# VID filter calls that reach the lower devices' drivers, seen through
# kprobes on their ndo_vlan_rx_add_vid / ndo_vlan_rx_kill_vid (e1000e: the
# primary, virtio_net: the standby; named with their module, as e1000 has
# functions of the same names). QEMU delivers VLAN frames whether a VID
# is in the device's filter or not, so traffic alone cannot show that the
# master passed a VID on. nf_vid_trace_start clears the record and starts
# it (in a tracefs instance of our own); nf_vid_seen EVENT VID says whether
# EVENT (pri_add, pri_kill, sby_add, sby_kill) happened for VID since.
NF_VID_TRACE=/sys/kernel/tracing/instances/nf_vid
nf_vid_trace_start()
{
	nf_kprobes_add nf_vid \
		'p:nf_vid/pri_add e1000e:e1000_vlan_rx_add_vid vid=%dx:u16' \
		'p:nf_vid/pri_kill e1000e:e1000_vlan_rx_kill_vid vid=%dx:u16' \
		'p:nf_vid/sby_add virtio_net:virtnet_vlan_rx_add_vid vid=%dx:u16' \
		'p:nf_vid/sby_kill virtio_net:virtnet_vlan_rx_kill_vid vid=%dx:u16' || return 1
	nf_trace_instance "$NF_VID_TRACE" || return 1
	echo 1 > "$NF_VID_TRACE/events/nf_vid/enable"
}
nf_vid_seen()
{
	grep -Eq " $1: \(.*\) vid=$2\$" "$NF_VID_TRACE/trace"
}
# nf_vid_calls: the record, one "EVENT VID" per call (diagnostics)
nf_vid_calls()
{
	sed -nE 's/.* (pri_add|pri_kill|sby_add|sby_kill): \(.*\) vid=([0-9]+)$/\1 \2/p' \
		"$NF_VID_TRACE/trace" | tr '\n' ' '
}

# In-guest PCI remove of BDF, remembering the bridge above it, and the
# rescan of that bridge's bus only (what an admin re-plugging one function
# does). The whole-hierarchy /sys/bus/pci/rescan is kept for bring-up, where
# the function may never have been seen.
NF_PCI_REMOVED_PARENT=
nf_pci_remove() {
	local path
	path=$(readlink -f "/sys/bus/pci/devices/$1") || return 1
	NF_PCI_REMOVED_PARENT=${path%/*}
	echo 1 > "$path/remove"
}
nf_pci_rescan_parent() {
	if [ -n "$NF_PCI_REMOVED_PARENT" ] && [ -e "$NF_PCI_REMOVED_PARENT/rescan" ]; then
		echo 1 > "$NF_PCI_REMOVED_PARENT/rescan"
	else
		echo 1 > /sys/bus/pci/rescan
	fi
}
nf_igb_pf_bdf() { nf_pci_find "$NF_PCI_IGB" | head -n1; }
# drop igb VFs left behind (they would compete for the primary slot)
nf_sriov_reset() {
	local pf
	pf=$(nf_igb_pf_bdf)
	[ -n "$pf" ] || return 0
	if [ "$(cat "/sys/bus/pci/devices/$pf/sriov_numvfs" 2>/dev/null || echo 0)" != 0 ]; then
		echo 0 > "/sys/bus/pci/devices/$pf/sriov_numvfs"
	fi
}

nf_e1000e_bound() {
	local b
	b=$(nf_e1000e_bdf) || return 1
	[ "$(nf_pci_driver "$b")" = e1000e ] && [ -n "$(nf_pci_netdev "$b")" ]
}

nf_master_ready() {
	nf_carrier_is "$NF_M" 1
}

# where the bring-up's pings left: each lower device's tx_packets over three
# more pings (for the reason of a failed bring-up)
nf_bringup_paths() {
	local p0 s0
	p0=$(nf_stat "$NF_PRI" tx_packets 2> /dev/null) s0=$(nf_stat "$NF_SBY" tx_packets 2> /dev/null)
	nf_ping_peer 3
	echo "tx over 3 pings: primary $NF_PRI +$(nf_num_diff "${p0:-?}" "$(nf_stat "$NF_PRI" tx_packets 2> /dev/null)")," \
		"standby $NF_SBY +$(nf_num_diff "${s0:-?}" "$(nf_stat "$NF_SBY" tx_packets 2> /dev/null)")"
}

# everything nf_bringup sets up is already in place (cheap: two execs)
nf_bringup_done() {
	local mtu
	nf_discover && [ -n "$NF_SBY" ] && [ -n "$NF_PRI" ] || return 1
	[ "$(nf_driver_of "$NF_PRI")" = e1000e ] || return 1
	nf_is_up "$NF_M" && nf_is_up "$NF_PRI" && nf_is_up "$NF_SBY" || return 1
	nf_carrier_is "$NF_M" 1 || return 1
	read -r mtu < "/sys/class/net/$NF_M/mtu" && [ "$mtu" = 1500 ] || return 1
	[ -n "$(ip -4 -o addr show dev "$NF_M" to "$NF_ADDR4/32" 2>/dev/null)" ] || return 1
	# (a master set down loses its IPv6 addresses: keep_addr_on_down is 0)
	[ -z "${NF_ADDR6:-}" ] ||
		[ -n "$(ip -6 -o addr show dev "$NF_M" to "$NF_ADDR6/128" 2>/dev/null)" ] || return 1
	nf_ping_peer
}

nf_bringup() {
	local b
	nf_bringup_done && return 0
	nf_modules_load || { nf_diag "bring-up: loading modules failed"; return 1; }
	nf_wait "$NF_TIMEOUT" nf_has_master || { nf_diag "bring-up: no failover master"; return 1; }
	nf_sriov_reset
	if ! nf_e1000e_bdf > /dev/null; then
		echo 1 > /sys/bus/pci/rescan
		if ! nf_wait 30 nf_e1000e_bdf && nf_host_ctl; then
			nf_diag "bring-up: primary PCI function absent, host device_add $NF_PRIMARY_QDEV"
			host_do device_add "$NF_PRIMARY_QDEV" > /dev/null 2>&1
		fi
		nf_wait "$NF_TIMEOUT" nf_e1000e_bdf || { nf_diag "bring-up: no e1000e PCI function"; return 1; }
	fi
	modprobe e1000e || { nf_diag "bring-up: modprobe e1000e failed"; return 1; }
	b=$(nf_e1000e_bdf)
	if [ -z "$(nf_pci_driver "$b")" ]; then
		echo "$b" > /sys/bus/pci/drivers/e1000e/bind 2> /dev/null
	fi
	nf_wait "$NF_TIMEOUT" nf_e1000e_bound || { nf_diag "bring-up: e1000e $b has no netdev"; return 1; }
	if ! nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved; then
		nf_discover
		nf_diag "bring-up: e1000e $b ($(nf_pci_netdev "$b")) not enslaved: $(nf_roles)"
		return 1
	fi
	nf_discover
	if [ -z "$NF_SBY" ]; then
		nf_diag "bring-up: no standby: $(nf_roles)"
		return 1
	fi
	[ "$(cat "/sys/class/net/$NF_M/mtu")" = 1500 ] || ip link set dev "$NF_M" mtu 1500
	ip link set dev "$NF_M" up || return 1
	nf_is_up "$NF_PRI" || ip link set dev "$NF_PRI" up
	nf_is_up "$NF_SBY" || ip link set dev "$NF_SBY" up
	ip addr replace "$NF_ADDR4/$NF_PREFIX4" dev "$NF_M" || return 1
	if [ -n "${NF_ADDR6:-}" ]; then
		ip -6 addr replace "$NF_ADDR6/64" dev "$NF_M" nodad 2> /dev/null ||
			nf_diag "bring-up: cannot add $NF_ADDR6 (IPv6 disabled?)"
	fi
	nf_wait "$NF_TIMEOUT" nf_master_ready || {
		NF_BRINGUP_WHY="no carrier on $NF_M"
		nf_diag "bring-up: $NF_BRINGUP_WHY"
		return 1
	}
	nf_wait "$NF_TIMEOUT" nf_ping_peer || {
		NF_BRINGUP_WHY="peer $NF_PEER4 unreachable through $NF_M ($(nf_bringup_paths))"
		nf_diag "bring-up: $NF_BRINGUP_WHY"
		return 1
	}
	return 0
}

# ---------------------------------------------------------------------------
# traffic: paced UDP stream guest -> peer, measured on the peer (udpseq.py)

declare -A NF_STREAM_PID NF_STREAM_PORT
NF_STREAM_NEXT_PORT=9100

nf_host_path() { echo "$NF_HOST_RESULTS/$1"; }

nf_peer_log_tail() {
	host_do peer "tail -n 1 $(printf %q "$(nf_host_path "peer-$1.log")") 2>/dev/null"
}
nf_peer_log_has() {
	host_do peer "grep -q $(printf %q "$2") $(printf %q "$(nf_host_path "peer-$1.log")")" > /dev/null 2>&1
}

# prints the receiver's running count of packets (from its progress line)
nf_stream_received() {
	nf_peer_log_tail "udp-$1" 2> /dev/null | sed -n 's/.*received=\([0-9]*\).*/\1/p'
}

# nf_json_nums FILE KEY...: the numbers under KEYs of udpseq.py's one-line
# JSON results, on one line; fails when one is missing. Builtins only: a
# python3 (or sed) start costs a loaded debug guest tenths of a second.
nf_json_nums() {
	local line k out=
	[ -s "$1" ] || return 1
	# (a last line without a newline makes read return 1, with the line read)
	IFS= read -r line < "$1"
	[ -n "$line" ] || return 1
	shift
	for k in "$@"; do
		[[ "$line" =~ \"$k\":\ *(-?[0-9][0-9.eE+-]*) ]] || return 1
		out="$out ${BASH_REMATCH[1]}"
	done
	echo "${out# }"
}

# nf_stream_start NAME RATE_PPS [SIZE]
# (NF_STREAM_RECV_ARGS / NF_STREAM_SEND_ARGS: extra udpseq.py options for the
# receiver / sender, split on blanks; NF_STREAM_MAX_S: duration, default 7200;
# NF_STREAM_IDLE_EXIT: the receiver ends this many seconds after the last
# datagram, default 10, 0 = only on peer_kill or NF_STREAM_MAX_S, as soak.sh)
nf_stream_start() {
	local name=$1 rate=$2 size=${3:-64} port
	if ! cp "$NF_LIB_DIR/udpseq.py" "$NF_RESULTS/udpseq.py" 2> /dev/null; then
		nf_diag "cannot copy udpseq.py into $NF_RESULTS"
		return 1
	fi
	port=$NF_STREAM_NEXT_PORT
	NF_STREAM_NEXT_PORT=$((NF_STREAM_NEXT_PORT + 1))
	NF_STREAM_PORT[$name]=$port
	rm -f "$NF_RESULTS/udp-$name.json"
	# shellcheck disable=SC2086 # the extra options are split on purpose
	host_do peer_bg "udp-$name" python3 "$(nf_host_path udpseq.py)" recv \
		--bind "$NF_PEER4" --port "$port" --duration "${NF_STREAM_MAX_S:-7200}" \
		--idle-exit "${NF_STREAM_IDLE_EXIT:-10}" --progress 0.5 \
		--out "$(nf_host_path "udp-$name.json")" ${NF_STREAM_RECV_ARGS:-} > /dev/null || {
		nf_diag "peer_bg receiver for $name failed"
		return 1
	}
	nf_defer host_do peer_kill "udp-$name"
	if ! nf_wait 30 nf_peer_log_has "udp-$name" READY; then
		nf_diag "receiver udp-$name never became ready"
		return 1
	fi
	# shellcheck disable=SC2086
	python3 "$NF_LIB_DIR/udpseq.py" send --dst "$NF_PEER4" --port "$port" \
		--rate "$rate" --duration "${NF_STREAM_MAX_S:-7200}" --size "$size" ${NF_STREAM_SEND_ARGS:-} \
		> "$NF_TMP/send-$name.json" 2> "$NF_TMP/send-$name.err" &
	NF_STREAM_PID[$name]=$!
	nf_defer nf_stream_kill "$name"
	return 0
}
nf_stream_kill() {
	local pid=${NF_STREAM_PID[$1]:-}
	[ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
	NF_STREAM_PID[$1]=
}
nf_stream_result_ready() { [ -s "$NF_RESULTS/udp-$1.json" ]; }

# stop the sender, wait for the receiver's JSON, set STREAM_* and print figures.
# The receiver ends by itself NF_STREAM_IDLE_EXIT after the last datagram;
# when it has not yet, it is not waited for: once the peer has counted
# everything sent, or its count has stood still over 20 polls (datagrams
# lost for good), it is told to finish (on SIGTERM it reads what is queued,
# then writes its result).
nf_stream_stop() {
	local name=$1 vals now prev=-1 still=0
	STREAM_SENT=0 STREAM_RATE=0 STREAM_RECEIVED=0 STREAM_LOST=0 STREAM_REORDERED=0
	STREAM_MAXGAP=0 STREAM_FIRST=-1 STREAM_LAST=-1
	nf_stream_kill "$name"
	vals=$(nf_json_nums "$NF_TMP/send-$name.json" sent rate_pps)
	if [ -n "$vals" ]; then
		read -r STREAM_SENT STREAM_RATE <<< "$vals"
		LC_ALL=C printf -v STREAM_RATE '%.0f' "$STREAM_RATE"
		while [ "$still" -lt 20 ]; do
			# the receiver may have finished on its own already (its
			# idle exit, NF_STREAM_IDLE_EXIT after the last datagram,
			# comes first in a slow guest): its last line is then no
			# count, and polling it would only run out the 20 polls
			nf_stream_result_ready "$name" && break
			now=$(nf_stream_received "$name")
			[[ "$now" =~ ^[0-9]+$ ]] && [ "$now" -ge "$STREAM_SENT" ] && break
			if [ "$now" = "$prev" ]; then still=$((still + 1)); else still=0; fi
			prev=$now
			nf_sleep 0.5
		done
		nf_stream_result_ready "$name" || host_do peer_kill "udp-$name" > /dev/null 2>&1
	else
		nf_diag "sender $name reported nothing: $(head -c 300 "$NF_TMP/send-$name.err" 2> /dev/null)"
	fi
	if ! nf_wait 60 nf_stream_result_ready "$name"; then
		nf_diag "no receiver result for $name"
		host_do peer_kill "udp-$name" > /dev/null 2>&1
		return 1
	fi
	vals=$(nf_json_nums "$NF_RESULTS/udp-$name.json" received lost reordered max_gap_ms \
		first_seq last_seq) || {
		nf_diag "bad receiver result for $name: $(head -c 300 "$NF_RESULTS/udp-$name.json")"
		return 1
	}
	read -r STREAM_RECEIVED STREAM_LOST STREAM_REORDERED STREAM_MAXGAP STREAM_FIRST STREAM_LAST <<< "$vals"
	LC_ALL=C printf -v STREAM_MAXGAP '%.1f' "$STREAM_MAXGAP"
	nf_figure "stream=$name sent=$STREAM_SENT rate_pps=$STREAM_RATE received=$STREAM_RECEIVED" \
		"lost=$STREAM_LOST reordered=$STREAM_REORDERED max_gap_ms=$STREAM_MAXGAP" \
		"first_seq=$STREAM_FIRST last_seq=$STREAM_LAST"
	return 0
}

# true when the peer's received count grows by at least MIN within TIMEOUT
nf_stream_advances() {
	local name=$1 min=$2 timeout=$3 base now end
	base=$(nf_stream_received "$name")
	base=${base:-0}
	end=$((SECONDS + timeout))
	while [ "$SECONDS" -lt "$end" ]; do
		nf_sleep 0.5
		now=$(nf_stream_received "$name")
		[ -n "$now" ] && [ $((now - base)) -ge "$min" ] && return 0
	done
	nf_diag "stream $name: peer count ${base} -> ${now:-?} within ${timeout}s (want +$min)"
	return 1
}

# tx_packets of DEV grows by at least MIN within TIMEOUT (fails if DEV is gone)
nf_tx_grows() {
	local dev=$1 min=$2 timeout=$3 base
	base=$(nf_stat "$dev" tx_packets) || { nf_diag "$dev has no counters (gone?)"; return 1; }
	_nf_tx_grew() { local d; d=$(nf_stat_delta "$1" tx_packets "$2" 2> /dev/null) && [ "$d" -ge "$3" ]; }
	nf_wait "$timeout" _nf_tx_grew "$dev" "$base" "$min"
}
# nf_pings_all_answered OUTPUT: ping's summary says every request was
# answered (ping -c exits 0 when any reply came; -W 10 above lets a slow
# guest's late replies count)
nf_pings_all_answered() {
	local line tx rx
	line=$(echo "$1" | grep "packets transmitted")
	tx=$(echo "$line" | awk '{print $1}')
	rx=$(echo "$line" | awk '{print $4}')
	[[ "$tx" =~ ^[0-9]+$ ]] && [ "$tx" -gt 0 ] && [ "$tx" = "$rx" ]
}
# nf_tx_only_via DEV OTHER MIN WAIT: DEV carries the traffic, OTHER not: while
# DEV sends its next MIN packets (however long that takes, up to WAIT
# seconds), OTHER sends at most MIN/50 + 5 (neighbour traffic)
nf_tx_only_via() {
	local dev=$1 other=$2 min=$3 wait=$4 b d
	b=$(nf_stat "$other" tx_packets) || { nf_diag "$other has no counters (gone?)"; return 1; }
	if ! nf_tx_grows "$dev" "$min" "$wait"; then
		nf_diag "$dev did not send $min more packets within ${wait}s"
		return 1
	fi
	d=$(nf_stat_delta "$other" tx_packets "$b") || return 1
	nf_diag "$other sent $d packets while $dev sent $min"
	[ "$d" -le $((min / 50 + 5)) ]
}
# tx_packets of DEV grows by less than MAX over SECS (fails if DEV is gone)
nf_tx_quiet() {
	local dev=$1 max=$2 secs=$3 base d
	base=$(nf_stat "$dev" tx_packets) || { nf_diag "$dev has no counters (gone?)"; return 1; }
	sleep "$secs"
	d=$(nf_stat_delta "$dev" tx_packets "$base") || return 1
	[ "$d" -lt "$max" ] || { nf_diag "$dev sent $d packets in ${secs}s (want < $max)"; return 1; }
}

# master counter sampler: appends `ip -s -j link show` of the master to OUT
# every INTERVAL seconds until nf_sampler_stop; nf_counters_monotonic OUT MIN
# succeeds when every rx/tx counter is non-decreasing over at least MIN samples
# (prints the sample count)
NF_SAMPLER_PID=
nf_sampler_start() {
	local out=$1 interval=${2:-0.1}
	: > "$out"
	(
		while :; do
			ip -s -j link show dev "$NF_M" >> "$out" 2> /dev/null
			nf_sleep "$interval"
		done
	) &
	NF_SAMPLER_PID=$!
}
nf_sampler_stop() {
	[ -n "$NF_SAMPLER_PID" ] || return 0
	kill "$NF_SAMPLER_PID" 2> /dev/null
	wait "$NF_SAMPLER_PID" 2> /dev/null
	NF_SAMPLER_PID=
}
# one `ip -s -j link` line per sample
nf_sampler_count() { grep -c . "$1" 2> /dev/null; }
nf_sampler_has() { [ "$(nf_sampler_count "$1")" -ge "$2" ]; }
nf_counters_monotonic() { python3 "$NF_LIB_DIR/stats_monotonic.py" "$1" "$2"; }

# ---------------------------------------------------------------------------
# dmesg

NF_DMESG_BAD='WARNING:|BUG:|KASAN|UBSAN|general protection|Oops|kernel BUG|possible circular locking|possible recursive locking|suspicious RCU usage|lockdep|unreferenced object|unregister_netdevice: waiting for|waiting for .* to become free|ref_tracker|refcount_t:|list_add corruption|list_del corruption|rcu_sched self-detected stall|rcu: INFO'
# Positions in the kernel log are marked by a unique line written to
# /dev/kmsg (a line count would shift once the ring buffer wraps). The log is
# read from the runner's complete live copy ($NF_RESULTS/kmsg.txt, written by
# guest-run.sh) when there is one, else from dmesg.
# nf_dmesg_mark [VAR]: write a marker, remember it in VAR (default NF_DMESG_MARK)
nf_dmesg_mark() {
	local var=${1:-NF_DMESG_MARK} tok
	tok="nf_selftest: mark ${0##*/} $$ $RANDOM$RANDOM"
	echo "$tok" > /dev/kmsg 2> /dev/null || nf_diag "cannot write a marker to /dev/kmsg"
	printf -v "$var" '%s' "$tok"
}
nf_kmsg_copy() { [ -n "${NF_RESULTS:-}" ] && [ -s "$NF_RESULTS/kmsg.txt" ] && echo "$NF_RESULTS/kmsg.txt"; }
# the kernel log (message text only)
nf_klog() {
	local f
	if f=$(nf_kmsg_copy); then
		sed -n 's/^[0-9]*,[0-9]*,[0-9]*,[^;]*;//p' "$f"
	else
		dmesg 2> /dev/null
	fi
}
# nf_dmesg_since_mark [VAR]: the kernel log after the marker in VAR; fails
# (printing nothing) when the marker is not in the log (lost to a wrapped ring
# buffer without a live copy, or never written)
nf_dmesg_since_mark() {
	local var=${1:-NF_DMESG_MARK} tok
	tok=${!var:-}
	[ -n "$tok" ] || return 1
	nf_klog | awk -v t="$tok" 'found { print; next } index($0, t) { found = 1 } END { exit !found }'
}
# wait until everything logged so far has reached the live copy
nf_klog_sync() {
	local tok f
	f=$(nf_kmsg_copy) || return 0
	tok="nf_selftest: sync ${0##*/} $$ $RANDOM$RANDOM"
	echo "$tok" > /dev/kmsg 2> /dev/null || return 1
	nf_wait 20 grep -qF "$tok" "$f"
}

dmesg_clean() {
	local bad log
	nf_klog_sync || nf_diag "kernel log copy lags behind; checking what it has"
	if ! log=$(nf_dmesg_since_mark); then
		nf_check_err 1 "start marker not found in the kernel log (wrapped ring buffer?): cannot check"
	else
		bad=$(echo "$log" | grep -E "$NF_DMESG_BAD" | head -n 20)
		[ -z "$bad" ]
		nf_check_err $? "kernel log has splats since the script started: ${bad%%$'\n'*}"
		[ -n "$bad" ] && nf_diag "$bad"
	fi
	nf_log_test dmesg_clean
}

# ---------------------------------------------------------------------------
# main loop

nf_exit_trap() {
	nf_run_defers
	nf_run_exit_hooks
	[ "${NF_BRINGUP:-1}" = 0 ] || nf_bringup > /dev/null 2>&1
	[ -n "${NF_TMP:-}" ] && rm -rf "$NF_TMP"
}

# nf_kmemleak_check: two kmemleak scans (an object must stay unreferenced
# over both to be reported), then nf_check_err on any report; prints the count
# as a figure. Returns 4 (nothing checked) when the kernel has no kmemleak.
nf_kmemleak_check() {
	local k=/sys/kernel/debug/kmemleak n
	[ -e "$k" ] || mount -t debugfs none /sys/kernel/debug 2> /dev/null
	[ -e "$k" ] || return 4
	echo scan > "$k"
	sleep 6
	echo scan > "$k"
	n=$(grep -c "unreferenced object" "$k")
	nf_figure "kmemleak unreferenced objects: $n"
	[ "$n" -eq 0 ]
	nf_check_err $? "kmemleak reports $n unreferenced objects"
	[ "$n" -ne 0 ] && nf_diag "$(head -n 40 "$k")"
	return 0
}

nf_main() {
	local t n=0 extra=dmesg_clean t_case t_body
	nf_require_topology
	# stray stderr becomes KTAP diagnostics
	exec 2> >(sed -u 's/^/# /')
	trap nf_exit_trap EXIT
	trap 'exit 1' INT TERM
	# NF_CASES: run only these cases (in the script's order); a case of a
	# script whose cases build on each other needs the ones before it named too
	if [ -n "${NF_CASES:-}" ]; then
		local keep=
		for t in $ALL_TESTS; do
			case " $NF_CASES " in *" $t "*) keep="$keep $t" ;; esac
		done
		ALL_TESTS=$keep
	fi
	for t in $ALL_TESTS $extra; do n=$((n + 1)); done
	ktap_print_header
	ktap_set_plan "$n"
	nf_diag "module=${NF_MODULE} mac=${NF_MAC} host_ctl=${NF_HOST_CTL}"
	nf_diag "kernel helpers: ${NF_KTAP_HELPERS:-none (own KTAP functions)} ${NF_NET_LIB:-(no net/lib.sh)}"
	nf_dmesg_mark
	local first=1
	for t in $ALL_TESTS; do
		RET=0 RET_MSG='' NF_LOGGED=0 NF_SKIP_PART='' NF_CUR_TEST=$t
		t_case=$SECONDS
		# scripts whose cases build on each other set NF_BRINGUP_EACH=0;
		# those that bring the topology up their own way NF_BRINGUP=0
		if [ "${NF_BRINGUP:-1}" = 0 ]; then
			nf_discover
		elif [ "$first" = 1 ] || [ "${NF_BRINGUP_EACH:-1}" = 1 ]; then
			NF_BRINGUP_WHY=
			if ! nf_bringup; then
				nf_check_err 1 "topology not ready before the test${NF_BRINGUP_WHY:+: $NF_BRINGUP_WHY}"
				nf_log_test "$t"
				continue
			fi
			first=0
		else
			nf_discover
		fi
		nf_diag "$t: $(nf_roles)"
		t_body=$SECONDS
		"$t"
		# dependent cases (NF_BRINGUP_EACH=0) keep their state until the end
		[ "${NF_BRINGUP_EACH:-1}" = 1 ] && nf_run_defers
		if [ "$NF_LOGGED" -eq 0 ]; then
			RET=1 RET_MSG="test reported no result"
			nf_log_test "$t"
		fi
		# where the suite's time goes (run-tests.sh sums these lines)
		nf_diag "time: $t $((SECONDS - t_case)) s (bring-up $((t_body - t_case)) s)"
	done
	nf_run_defers
	nf_run_exit_hooks
	[ "${NF_BRINGUP:-1}" = 0 ] || nf_bringup > /dev/null 2>&1 ||
		nf_diag "warning: topology not restored at the end"
	RET=0 RET_MSG='' NF_LOGGED=0 NF_SKIP_PART='' NF_CUR_TEST=$extra
	"$extra"
	nf_ktap_finished
}
