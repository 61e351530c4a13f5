#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 7: rename the primary and the standby while UP under a continuous
# ping (20/s): no request lost, still enslaved, the new names show in ip -d link and
# in the sysfs master/lower links; tx keeps using the renamed primary; rename
# back; renaming onto a taken name fails with "File exists" and changes
# nothing; the master can be renamed while UP too.
#
# The first five cases share one ping (NF_BRINGUP_EACH=0), started by the
# first and stopped by zero_loss_under_renames after it has seen 20 replies
# past the last rename: its length follows the cases, not a fixed count.
#
# No case differs for the C reference.

ALL_TESTS="
	rename_primary_up
	rename_standby_up
	renamed_primary_carries_tx
	rename_back
	zero_loss_under_renames
	rename_to_taken_name
	rename_master_up
"
NF_BRINGUP_EACH=0

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

PRI_ORIG=
SBY_ORIG=
PING_PID=
PING_OUT=

# rename_checked OLD NEW ROLE
rename_checked()
{
	local old=$1 new=$2 role=$3
	nf_run ip link set dev "$old" name "$new"
	nf_check_err $? "renaming $role $old -> $new while UP failed"
	nf_dev_exists "$new" && ! nf_dev_exists "$old"
	nf_check_err $? "$role not renamed in sysfs ($old -> $new)"
	nf_is_up "$new"
	nf_check_err $? "$role $new not UP after the rename"
	[ -L "/sys/class/net/$NF_M/lower_$new" ]
	nf_check_err $? "/sys/class/net/$NF_M/lower_$new missing"
	[ ! -e "/sys/class/net/$NF_M/lower_$old" ]
	nf_check_err $? "/sys/class/net/$NF_M/lower_$old still there"
	nf_check_eq "$new master link" "$(nf_master_of "$new")" "$NF_M"
	[ -L "/sys/class/net/$new/upper_$NF_M" ]
	nf_check_err $? "/sys/class/net/$new/upper_$NF_M missing"
	ip -d link show dev "$new" 2> /dev/null | grep -q "master $NF_M "
	nf_check_err $? "ip -d link show $new does not show master $NF_M"
	nf_check_eq "number of lowers" "$(nf_lowers "$NF_M" | wc -l)" 2
	nf_carrier_is "$NF_M" 1
	nf_check_err $? "master lost carrier"
}

# The background ping runs until zero_loss_under_renames stops it, however
# slowly the guest runs the cases in between; its reply lines (icmp_seq=N)
# tell which requests were answered.
# (replies only: "From ... icmp_seq=N Destination Host Unreachable" is none)
ping_replies() { sed -n 's/^[0-9]* bytes from .* icmp_seq=\([0-9]*\) .*/\1/p' "$PING_OUT"; }
ping_replied_max() { ping_replies | sort -n | tail -n 1; }
ping_replied_past() { local m; m=$(ping_replied_max); [ "${m:-0}" -ge "$1" ]; }
ping_running() { [ -n "$PING_PID" ] && kill -0 "$PING_PID" 2> /dev/null; }
# what the master, both lowers and the ping looked like (for a failure)
rename_state()
{
	local d
	nf_diag "ping: $(ping_running && echo running || echo ended), last reply seq $(ping_replied_max)," \
		"tail: $(tail -n 2 "$PING_OUT" | tr '\n' '|')"
	nf_diag "master $NF_M: tx_path $(ethtool -S "$NF_M" 2> /dev/null | sed -n 's/^ *tx_path: //p')," \
		"tx_dropped $(nf_stat "$NF_M" tx_dropped), carrier $(nf_carrier "$NF_M")"
	for d in nfpri0 nfsby0 "$PRI_ORIG" "$SBY_ORIG"; do
		nf_dev_exists "$d" || continue
		nf_diag "$d: tx_packets $(nf_stat "$d" tx_packets) operstate $(nf_read "/sys/class/net/$d/operstate")"
	done
}

rename_primary_up()
{
	PRI_ORIG=$NF_PRI
	SBY_ORIG=$NF_SBY
	PING_OUT=$NF_TMP/ping.txt
	# -w: a bound for a script that dies; the case that checks stops it
	ping -i 0.05 -W 2 -w 7200 "$NF_PEER4" > "$PING_OUT" 2>&1 &
	PING_PID=$!
	nf_wait 60 ping_replied_past 1
	nf_check_err $? "the background ping gets no reply before the renames"
	rename_checked "$PRI_ORIG" nfpri0 primary
	nf_discover
	nf_check_eq "primary role after rename" "$NF_PRI" nfpri0
	nf_log_test
}

rename_standby_up()
{
	rename_checked "$SBY_ORIG" nfsby0 standby
	nf_discover
	nf_check_eq "standby role after rename" "$NF_SBY" nfsby0
	nf_check_eq "standby phys_port_name" "$(cat /sys/class/net/nfsby0/phys_port_name 2> /dev/null)" sby
	nf_log_test
}

renamed_primary_carries_tx()
{
	nf_dev_exists nfpri0
	nf_check_err $? "nfpri0 missing"
	ping_running
	nf_check_err $? "the background ping is not running"
	# 100 of the ping's requests leave through the primary, however long the
	# guest needs to send them, and at most 10 frames through the standby
	nf_tx_only_via nfpri0 nfsby0 100 120
	nf_check_err $? "the renamed primary does not carry the ping alone"
	[ "$RET" -eq 0 ] || rename_state
	nf_log_test
}

rename_back()
{
	rename_checked nfpri0 "$PRI_ORIG" primary
	rename_checked nfsby0 "$SBY_ORIG" standby
	nf_discover
	nf_check_eq "roles after renaming back" "$NF_SBY/$NF_PRI" "$SBY_ORIG/$PRI_ORIG"
	nf_log_test
}

zero_loss_under_renames()
{
	local last want missing line
	if ! ping_running; then
		RET=1 RET_MSG="the background ping is not running"
		rename_state
		nf_log_test
		return
	fi
	# every request up to 20 past the last rename must be answered; the
	# ones still in flight when the ping is stopped are not part of the test
	last=$(ping_replied_max)
	want=$((${last:-0} + 20))
	nf_wait 120 ping_replied_past "$want"
	nf_check_err $? "no ping reply up to icmp_seq $want after the renames"
	kill -INT "$PING_PID"
	wait "$PING_PID"
	PING_PID=
	line=$(grep "packets transmitted" "$PING_OUT")
	nf_figure "ping during renames: $line"
	missing=$(ping_replies | sort -nu |
		awk -v w="$want" '$1 <= w { seen[$1] = 1 } END { for (i = 1; i <= w; i++) if (!(i in seen)) { printf "%s%d", sep, i; sep = " " } }')
	[ -z "$missing" ]
	nf_check_err $? "ping requests lost during the renames (icmp_seq): $(echo "$missing" | cut -c 1-200)"
	[ "$RET" -eq 0 ] || rename_state
	nf_log_test
}

rename_to_taken_name()
{
	local out before
	before=$(nf_lowers_str "$NF_M")
	out=$(ip link set dev "$NF_PRI" name "$NF_SBY" 2>&1)
	nf_check_fail $? "renaming $NF_PRI onto $NF_SBY succeeded"
	echo "$out" | grep -q "File exists"
	nf_check_err $? "rename onto a taken name: expected 'File exists', got '$out'"
	out=$(ip link set dev "$NF_SBY" name "$NF_M" 2>&1)
	nf_check_fail $? "renaming $NF_SBY onto $NF_M succeeded"
	echo "$out" | grep -q "File exists"
	nf_check_err $? "rename onto the master's name: expected 'File exists', got '$out'"
	nf_dev_exists "$NF_PRI" && nf_dev_exists "$NF_SBY" && nf_dev_exists "$NF_M"
	nf_check_err $? "a device vanished"
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	nf_check_eq "primary master" "$(nf_master_of "$NF_PRI")" "$NF_M"
	nf_check_eq "standby master" "$(nf_master_of "$NF_SBY")" "$NF_M"
	nf_ping_peer 3
	nf_check_err $? "no ping after the failed renames"
	nf_log_test
}

rename_master_up()
{
	local orig=$NF_M
	nf_defer ip link set dev nfmaster0 name "$orig"
	nf_run ip link set dev "$orig" name nfmaster0
	nf_check_err $? "renaming the master while UP failed"
	nf_check_eq "primary master link" "$(nf_master_of "$NF_PRI")" nfmaster0
	nf_check_eq "standby master link" "$(nf_master_of "$NF_SBY")" nfmaster0
	[ -L "/sys/class/net/$NF_PRI/upper_nfmaster0" ] && [ -L "/sys/class/net/$NF_SBY/upper_nfmaster0" ]
	nf_check_err $? "slaves' upper_nfmaster0 links missing"
	nf_ping_peer 3
	nf_check_err $? "no ping through the renamed master"
	nf_run ip link set dev nfmaster0 name "$orig"
	nf_check_err $? "renaming the master back failed"
	nf_check_eq "primary master link after renaming back" "$(nf_master_of "$NF_PRI")" "$orig"
	nf_log_test
}

rename_exit()
{
	[ -n "$PING_PID" ] && kill "$PING_PID" 2> /dev/null
	nf_dev_exists nfpri0 && [ -n "$PRI_ORIG" ] && ip link set dev nfpri0 name "$PRI_ORIG"
	nf_dev_exists nfsby0 && [ -n "$SBY_ORIG" ] && ip link set dev nfsby0 name "$SBY_ORIG"
}
nf_defer_exit rename_exit

nf_main
