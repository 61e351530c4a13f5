#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 2: traffic through the master. ping v4/v6, iperf3 TCP both
# directions and UDP; per-slave counters prove the primary carries tx while it
# is up and the standby takes over when it is down; rx is counted on the master.
#
# The same assertions for the C reference; C fails
# tx_via_standby_when_primary_down (it drops standby rx while a primary is
# registered). Counts for both: Documentation/networking/
# net_failover_rust_results.rst, "Selftest results against both modules".

ALL_TESTS="
	ping4
	ping6
	tcp_tx_via_primary
	tcp_rx_on_master
	udp_iperf
	udpseq_baseline
	tx_via_standby_when_primary_down
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

: "${NF_IPERF_BYTES:=4000000}"

ping4()
{
	local out
	out=$(ping -c 10 -i 0.2 -W 2 "$NF_PEER4" 2>&1)
	nf_check_err $? "ping $NF_PEER4 failed"
	echo "$out" | grep -q " 0% packet loss"
	nf_check_err $? "ping $NF_PEER4 lost packets: $(echo "$out" | grep 'packet loss')"
	nf_log_test
}

ping6()
{
	if [ -z "${NF_PEER6:-}" ]; then
		nf_log_test_skip ping6 "NF_PEER6 not set"
		return
	fi
	local out
	# the peer may still be doing DAD/ND: allow a warm-up
	nf_wait 30 ping -6 -q -c 1 -W 2 "$NF_PEER6" > /dev/null 2>&1
	out=$(ping -6 -c 10 -i 0.2 -W 2 "$NF_PEER6" 2>&1)
	nf_check_err $? "ping -6 $NF_PEER6 failed"
	echo "$out" | grep -q " 0% packet loss"
	nf_check_err $? "ping -6 $NF_PEER6 lost packets: $(echo "$out" | grep 'packet loss')"
	nf_log_test
}

# iperf3 -J FILE: print "bytes_sent bytes_received mbps" of the end summary
iperf_sum()
{
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    print("ERR", d["error"].replace(" ", "_")); sys.exit(0)
e = d["end"]
if "sum_sent" in e:
    s, r = e["sum_sent"], e["sum_received"]
    print(s["bytes"], r["bytes"], round(r["bits_per_second"] / 1e6, 1))
else:
    s = e["sum"]
    print(s["bytes"], s["bytes"], round(s["bits_per_second"] / 1e6, 1),
          s.get("lost_packets", 0), s.get("packets", 0), round(s.get("lost_percent", 0), 2))' "$1"
}

need_iperf()
{
	command -v iperf3 > /dev/null && return 0
	nf_log_test_skip "$NF_CUR_TEST" "iperf3 not installed"
	return 1
}

# The TCP and UDP runs send a fixed amount of data (not for a fixed time):
# the checks are about which lower carried it, whatever rate the guest gets.
tcp_tx_via_primary()
{
	need_iperf || return
	local p0 pb0 s0 m0 dp dpb ds dm sum sent got
	# the master's window encloses the lowers' (read first, and last), so
	# that a lower's packet between two reads cannot count for it alone
	m0=$(nf_stat "$NF_M" tx_packets)
	p0=$(nf_stat "$NF_PRI" tx_packets)
	pb0=$(nf_stat "$NF_PRI" tx_bytes)
	s0=$(nf_stat "$NF_SBY" tx_packets)
	iperf3 -c "$NF_PEER4" -n "$NF_IPERF_BYTES" -J > "$NF_TMP/tcp.json" 2>&1
	nf_check_err $? "iperf3 TCP to $NF_PEER4 failed: $(head -c 300 "$NF_TMP/tcp.json")"
	dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
	dpb=$(nf_stat_delta "$NF_PRI" tx_bytes "$pb0")
	ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s0")
	dm=$(nf_stat_delta "$NF_M" tx_packets "$m0")
	sum=$(iperf_sum "$NF_TMP/tcp.json")
	sent=$(echo "$sum" | awk '{print $1}')
	got=$(echo "$sum" | awk '{print $2}')
	nf_figure "tcp_tx bytes_sent/bytes_recv/mbps=$sum tx primary=$dp pkts $dpb bytes standby=$ds master=$dm"
	[[ "$sent" =~ ^[0-9]+$ ]] && [ "$sent" -ge "$NF_IPERF_BYTES" ]
	nf_check_err $? "iperf3 sent $sent bytes, want $NF_IPERF_BYTES"
	# every payload byte the peer received left through the primary (headers
	# on top); "sent" counts what reached the socket, part of which a slow
	# guest may still hold in its queues when iperf3 ends
	[[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -gt 0 ] && [ "$dpb" -ge "$got" ]
	nf_check_err $? "primary sent $dpb bytes, the peer received $got"
	[ "$ds" -le $((20 + dp / 100)) ]
	nf_check_err $? "standby sent $ds packets while the primary was up (primary $dp)"
	[ "$dm" -ge "$dp" ]
	nf_check_err $? "master tx_packets grew by $dm, less than the primary's $dp"
	nf_log_test
}

tcp_rx_on_master()
{
	need_iperf || return
	local m0 p0 dm dp sum got
	m0=$(nf_stat "$NF_M" rx_bytes)
	p0=$(nf_stat "$NF_PRI" rx_bytes)
	iperf3 -c "$NF_PEER4" -R -n "$NF_IPERF_BYTES" -J > "$NF_TMP/tcpr.json" 2>&1
	nf_check_err $? "iperf3 -R from $NF_PEER4 failed: $(head -c 300 "$NF_TMP/tcpr.json")"
	dm=$(nf_stat_delta "$NF_M" rx_bytes "$m0")
	dp=$(nf_stat_delta "$NF_PRI" rx_bytes "$p0")
	sum=$(iperf_sum "$NF_TMP/tcpr.json")
	got=$(echo "$sum" | awk '{print $2}')
	nf_figure "tcp_rx bytes_sent/bytes_recv/mbps=$sum rx_bytes master=$dm primary=$dp"
	[[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -gt 0 ]
	nf_check_err $? "iperf3 received nothing"
	[[ "$got" =~ ^[0-9]+$ ]] && [ "$dm" -ge "$got" ]
	nf_check_err $? "master rx_bytes grew by $dm, less than the $got bytes delivered"
	[ "$dp" -ge $((dm * 9 / 10)) ]
	nf_check_err $? "primary received $dp of the master's $dm bytes (peer should reach us via the primary)"
	nf_log_test
}

udp_iperf()
{
	need_iperf || return
	local p0 dp sum pkts
	p0=$(nf_stat "$NF_PRI" tx_packets)
	iperf3 -c "$NF_PEER4" -u -b 20M -n "$NF_IPERF_BYTES" -J > "$NF_TMP/udp.json" 2>&1
	nf_check_err $? "iperf3 UDP to $NF_PEER4 failed: $(head -c 300 "$NF_TMP/udp.json")"
	dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
	sum=$(iperf_sum "$NF_TMP/udp.json")
	# datagrams the peer received: what the server counted, less its losses
	# (iperf3 3.12 reports them in sum_received, older versions in sum);
	# what the sender counted may still sit in a slow guest's queues
	pkts=$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
r = e.get("sum_received", e.get("sum", {}))
print(r["packets"] - r.get("lost_packets", 0))' "$NF_TMP/udp.json" 2> /dev/null)
	nf_figure "udp bytes/bytes/mbps/lost/packets/lost%=$sum primary_tx=$dp"
	echo "$sum" | grep -qv '^ERR'
	nf_check_err $? "iperf3 UDP reported an error: $sum"
	# the datagrams the peer received all left through the primary
	[[ "$pkts" =~ ^[0-9]+$ ]] && [ "$pkts" -gt 0 ] && [ "$dp" -ge "$pkts" ]
	nf_check_err $? "primary sent $dp packets for the $pkts datagrams the peer received"
	nf_log_test
}

udpseq_baseline()
{
	local p0 dp
	p0=$(nf_stat "$NF_PRI" tx_packets)
	nf_stream_start base 1000
	nf_check_err $? "cannot start the UDP stream"
	if [ "$RET" -eq 0 ]; then
		nf_stream_advances base 1000 120
		nf_check_err $? "stream does not reach the peer"
		sleep 3
		nf_stream_stop base
		nf_check_err $? "no stream result"
		dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
		[ "$STREAM_RECEIVED" -gt 0 ] && [ "$STREAM_LAST" -ge $((STREAM_SENT * 9 / 10 - 1)) ]
		nf_check_err $? "stream tail missing: last_seq $STREAM_LAST of $STREAM_SENT sent"
		[ "$dp" -ge "$STREAM_RECEIVED" ]
		nf_check_err $? "primary tx $dp < packets received by the peer $STREAM_RECEIVED"
		nf_figure "baseline loss without failover: lost=$STREAM_LOST of $STREAM_SENT"
	fi
	nf_log_test
}

tx_via_standby_when_primary_down()
{
	local p0 dp
	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_check_err $? "cannot set $NF_PRI down"
	nf_wait 10 nf_carrier_is "$NF_M" 1
	nf_check_err $? "master lost carrier with the primary down"
	local s0 ds
	p0=$(nf_stat "$NF_PRI" tx_packets)
	s0=$(nf_stat "$NF_SBY" tx_packets)
	ping -c 10 -i 0.2 -W 2 "$NF_PEER4" > "$NF_TMP/ping.txt" 2>&1
	nf_check_err $? "ping via the standby failed: $(grep 'packet loss' "$NF_TMP/ping.txt")"
	ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s0")
	dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
	[ "$ds" -ge 10 ]
	nf_check_err $? "standby sent only $ds packets with the primary down"
	[ "$dp" -eq 0 ]
	nf_check_err $? "primary (down) sent $dp packets"
	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
	nf_check_err $? "primary carrier not back"
	s0=$(nf_stat "$NF_SBY" tx_packets)
	p0=$(nf_stat "$NF_PRI" tx_packets)
	ping -c 10 -i 0.2 -W 2 "$NF_PEER4" > /dev/null 2>&1
	nf_check_err $? "ping after primary up failed"
	ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s0")
	dp=$(nf_stat_delta "$NF_PRI" tx_packets "$p0")
	[ "$dp" -ge 10 ] && [ "$ds" -le 2 ]
	nf_check_err $? "tx not back on the primary (primary +$dp, standby +$ds)"
	nf_log_test
}

nf_main
