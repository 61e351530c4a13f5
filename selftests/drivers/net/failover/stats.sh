#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 9: the master's counters never go backwards. A sampler reads
# "ip -s -j link show dev MASTER" every ~0.1 s while UDP traffic runs and the
# primary is unplugged/replugged (QMP, PCI), set down/up, and both slaves are
# renamed; every rx/tx counter must be non-decreasing across all samples, and
# the master's tx must account for what the peer received.
#
# The same assertions for the C reference; C fails the two replug cases
# (its totals fall when the primary is released). Counts for both:
# Documentation/networking/net_failover_rust_results.rst, "Selftest results
# against both modules".

ALL_TESTS="
	monotonic_qmp_replug
	monotonic_pci_replug
	monotonic_link_down_up
	monotonic_rename
	master_counts_stream
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"


# samples_more N: N more samples of the sampler writing SAMPLES
samples_more() { nf_wait "$NF_TIMEOUT" nf_sampler_has "$SAMPLES" $(($(nf_sampler_count "$SAMPLES") + $1)); }

# monotonic_around ACTION...: traffic + sampler around ACTION
SAMPLES=
monotonic_around()
{
	local res
	SAMPLES=$NF_TMP/samples-$NF_CUR_TEST.json
	nf_stream_start "$NF_CUR_TEST" 100
	nf_check_err $? "cannot start the UDP stream"
	# the counters move from the first sample on, however long python3
	# takes to start sending
	if [ "$RET" -eq 0 ]; then
		nf_stream_advances "$NF_CUR_TEST" 100 "$NF_STREAM_WAIT"
		nf_check_err $? "stream not reaching the peer"
	fi
	nf_sampler_start "$SAMPLES" 0.1
	nf_defer nf_sampler_stop
	# samples before and after the action, however slow the guest runs
	nf_wait "$NF_TIMEOUT" nf_sampler_has "$SAMPLES" 3
	"$@"
	nf_check_err $? "action '$*' failed"
	samples_more 3
	nf_sampler_stop
	nf_stream_stop "$NF_CUR_TEST"
	res=$(nf_counters_monotonic "$SAMPLES" 5)
	nf_check_err $? "master counters went backwards or too few samples: $res"
	nf_diag "$res"
}

qmp_replug()
{
	host_do device_del "$NF_PRIMARY_QDEV" > /dev/null || return 1
	nf_wait "$NF_TIMEOUT" nf_no_primary || return 1
	# samples while the primary is away
	samples_more 2
	host_do device_add "$NF_PRIMARY_QDEV" > /dev/null || return 1
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
}

pci_replug()
{
	echo 1 > "/sys/bus/pci/devices/$(nf_pci_of "$NF_PRI")/remove" || return 1
	nf_wait "$NF_TIMEOUT" nf_no_primary || return 1
	samples_more 2
	echo 1 > /sys/bus/pci/rescan
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
}

link_down_up()
{
	ip link set dev "$NF_PRI" down || return 1
	samples_more 2
	ip link set dev "$NF_PRI" up || return 1
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$NF_PRI" 1
}

renames()
{
	local p=$NF_PRI s=$NF_SBY
	ip link set dev "$p" name nfstp0 || return 1
	ip link set dev "$s" name nfsts0 || return 1
	samples_more 2
	ip link set dev nfstp0 name "$p" || return 1
	ip link set dev nfsts0 name "$s"
}

monotonic_qmp_replug()
{
	nf_require_host_ctl || return
	monotonic_around qmp_replug
	nf_log_test
}

monotonic_pci_replug()
{
	nf_defer sh -c 'echo 1 > /sys/bus/pci/rescan'
	monotonic_around pci_replug
	nf_log_test
}

monotonic_link_down_up()
{
	nf_defer ip link set dev "$NF_PRI" up
	monotonic_around link_down_up
	nf_log_test
}

monotonic_rename()
{
	nf_defer ip link set dev nfstp0 name "$NF_PRI"
	nf_defer ip link set dev nfsts0 name "$NF_SBY"
	monotonic_around renames
	nf_log_test
}

master_counts_stream()
{
	local m0 dm
	m0=$(nf_stat "$NF_M" tx_packets)
	nf_stream_start count 100
	nf_check_err $? "cannot start the UDP stream"
	# a stream of some size, whatever rate the guest manages
	nf_stream_advances count 500 "$NF_STREAM_WAIT"
	nf_check_err $? "stream not reaching the peer"
	nf_stream_stop count
	nf_check_err $? "no stream result"
	dm=$(nf_stat_delta "$NF_M" tx_packets "$m0")
	nf_figure "master tx +$dm, peer received $STREAM_RECEIVED of $STREAM_SENT"
	[ "$dm" -ge "$STREAM_RECEIVED" ] && [ "$STREAM_RECEIVED" -gt 0 ]
	nf_check_err $? "master tx_packets +$dm < $STREAM_RECEIVED packets received by the peer"
	nf_log_test
}

nf_main
