#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scenario 5: SR-IOV. With the e1000e primary gone, the igb PF makes two real
# igbvf VFs. VF0 gets the standby's MAC from the PF and must be auto-enslaved
# as primary and carry the tx (its own counters move, the standby's do not);
# VF1 with another MAC must be ignored; VF1 with the standby's MAC while VF0 is
# enslaved must be refused (the driver's refusal line in dmesg, not enslaved);
# a VF MAC changed by the PF after probe takes effect (as with the C driver)
# only when the VF driver reloads: until then the VF stays enslaved,
# afterwards it is a stranger, and setting the MAC back and reloading
# enslaves it again; removing the VFs (sriov_numvfs 0) under a UDP stream
# falls back to the standby, and re-creating them (sriov_numvfs 2) brings the
# stream back onto the new VF0, which the master uses only once igbvf's probe
# has finished.
#
# Guest memory: QEMU 10.0.2 drops the upper 32 bits of igbvf VF BAR
# addresses, so the VFs only work while the firmware keeps the PF's windows
# below 4 GiB: a 1 GiB guest (scripts/run-tests.sh boots this script apart
# with vm.sh --memory 1G); with 3 GiB VF0 comes up with a random MAC.
#
# The cases build on each other (NF_BRINGUP_EACH=0); the last one restores the
# e1000e primary.
#
# The same assertions for the C reference; with C, vf_mac_change_after_probe
# hangs the guest (failover.c looks the VF up by a perm_addr igbvf has
# rewritten and never releases it). Documentation/networking/
# net_failover_rust_results.rst, "Selftest results against both modules".

ALL_TESTS="
	vf_setup
	vf_enslaved_as_primary
	vf_other_mac_not_enslaved
	second_matching_vf_refused
	vf_mac_change_after_probe
	vfs_recreated_under_stream
	e1000e_primary_back
"
NF_BRINGUP_EACH=0

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

# 100 pps: a debug guest under TCG sent 150-170 pps with 200 asked (and
# with 10000): a stream it cannot keep up with starves every other step
: "${NF_STREAM_RATE:=100}"
# packets that must move through a path to call it "carrying the stream"
: "${NF_STREAM_MIN:=200}"

OTHER_MAC=02:4e:46:00:00:01
PF_BDF=
PF_DEV=
VF0=
VF1=
SETUP_OK=0
E1000E_REMOVED=

vf_bdf() { basename "$(readlink -f "/sys/bus/pci/devices/$PF_BDF/virtfn$1")"; }
vf_dev() { nf_pci_netdev "$1"; }
vf_has_dev() { [ -n "$(vf_dev "$1")" ]; }
pf_carrier() { nf_carrier_is "$PF_DEV" 1; }

vf_rebind()
{
	local bdf=$1
	if [ -e "/sys/bus/pci/devices/$bdf/driver" ]; then
		echo "$bdf" > "/sys/bus/pci/devices/$bdf/driver/unbind" || return 1
	fi
	# with sriov_drivers_autoprobe off, a VF probes only for its
	# driver_override (pci_device_can_probe())
	echo igbvf > "/sys/bus/pci/devices/$bdf/driver_override" || return 1
	echo "$bdf" > /sys/bus/pci/drivers/igbvf/bind || return 1
	nf_wait "$NF_TIMEOUT" vf_has_dev "$bdf"
}

vf_enslaved() { nf_discover && [ -n "$NF_PRI" ] && [ "$(nf_pci_of "$NF_PRI")" = "$1" ]; }
std_mac() { echo "$NF_MAC" | tr 'A-F' 'a-f'; }
# (not nf_master_of: a device without a master is the usual case here)
has_master() { [ -e "/sys/class/net/$1/master" ]; }

# VF BDF's netdev is a real VF: bound to igbvf, with the standby's MAC; says
# why not (the QEMU VF BAR bug shows as a random MAC)
vf_is_real_match()
{
	local bdf=$1 v mac
	v=$(vf_dev "$bdf")
	nf_check_eq "driver of $bdf ($v)" "$(nf_pci_driver "$bdf")" igbvf
	mac=$(nf_mac "$v")
	nf_check_eq "address of $bdf ($v)" "$mac" "$(std_mac)"
	if [ "$mac" != "$(std_mac)" ]; then
		nf_diag "a VF without the PF-assigned MAC: QEMU 10.0.2 loses VF BARs above 4 GiB; $(mem_bars)"
	fi
}
mem_bars()
{
	echo "guest memory $(sed -n 's/^MemTotal: *//p' /proc/meminfo)," \
		"PF $(dmesg | grep "$PF_BDF: VF BAR 0" | tail -n 1 | sed 's/^\[[^]]*\] //')"
}

# the failover driver refused DEV in the kernel log since the marker in
# variable $2 (nf_dmesg_mark: a line count would shift once the ring buffer
# wraps): ours ("refusing to enslave DEV to ...") or the C reference's ("DEV
# attempting to register as slave dev when primary already present")
refused_since()
{
	nf_dmesg_since_mark "$2" | grep -qE "refusing to enslave $1 |$1 attempting to register as slave dev"
}

# In the kernel log since the marker in variable $1, the new VF $3 (BDF $2):
# the master's first switch to a primary ("tx via DEV (primary)") came after
# the last line igbvf_probe() logs ("Address: ...") and after the failover
# noted the end of that probe ("primary $3: probe finished", logged before
# it recomputes the path; ours only: the C reference logs neither this nor
# its switches). igbvf_probe() registers the netdev with the carrier on and
# turns it off only afterwards, so a primary used before is a packet queued
# to a device about to drop it. (The switch lines are rate-limited, 10 in
# 5 s; a re-plug makes two.) Prints why not.
tx_after_probe()
{
	local log tx probed noted
	log=$(nf_dmesg_since_mark "$1") || { echo "marker not in the kernel log"; return 1; }
	tx=$(grep -nE ': tx via [^ ]+ \(primary\)$' <<< "$log" | head -n 1 | cut -d: -f1)
	probed=$(grep -nE "igbvf $2: Address: " <<< "$log" | head -n 1 | cut -d: -f1)
	noted=$(grep -nF ": primary $3: probe finished" <<< "$log" | head -n 1 | cut -d: -f1)
	if [ -z "$probed" ]; then
		echo "no end of igbvf's probe of $2 ('igbvf $2: Address: ...') in the log"
		return 1
	fi
	if [ -z "$tx" ]; then
		echo "no 'tx via ... (primary)' in the log with the stream on $3"
		return 1
	fi
	# tx_after LINE WHAT EVENT: the switch came after LINE, where EVENT was logged
	tx_after()
	{
		[ "$tx" -ge "$1" ] && return 0
		echo "the master sent through the new VF before $2" \
			"(log line $tx: $(sed -n "${tx}p" <<< "$log"); line $1: $3)"
		return 1
	}
	tx_after "$probed" "its driver's probe had finished" "end of the probe" || return 1
	if [ -z "$noted" ] || [ "$noted" -lt "$probed" ]; then
		echo "no 'primary $3: probe finished' after igbvf's probe (line ${noted:-none}, probe end $probed)"
		return 1
	fi
	tx_after "$noted" "the failover saw its probe finish" "probe finished"
}

need_setup()
{
	[ "$SETUP_OK" = 1 ] && return 0
	if [ -z "$PF_BDF" ]; then
		nf_log_test_skip "$NF_CUR_TEST" "no igb PF in this guest"
		return 1
	fi
	RET=1 RET_MSG="SR-IOV setup failed earlier"
	nf_log_test
	return 1
}

vf_setup()
{
	PF_BDF=$(nf_igb_pf_bdf)
	if [ -z "$PF_BDF" ]; then
		nf_log_test_skip vf_setup "no igb PF ($NF_PCI_IGB) in this guest"
		return
	fi
	nf_run modprobe igb
	nf_check_err $? "modprobe igb failed"
	nf_run modprobe igbvf
	nf_check_err $? "modprobe igbvf failed"
	_pf_dev() { PF_DEV=$(nf_pci_netdev "$PF_BDF"); [ -n "$PF_DEV" ]; }
	nf_wait "$NF_TIMEOUT" _pf_dev
	nf_check_err $? "igb PF $PF_BDF has no netdev"
	[ "$RET" -ne 0 ] && { nf_log_test; return; }

	# the e1000e primary leaves first
	if nf_host_ctl; then
		host_do device_del "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1
		nf_check_err $? "device_del $NF_PRIMARY_QDEV: $(cat "$NF_TMP/host.out")"
		E1000E_REMOVED=qmp
	else
		echo 1 > "/sys/bus/pci/devices/$(nf_e1000e_bdf)/remove"
		nf_check_err $? "PCI remove of the e1000e failed"
		E1000E_REMOVED=pci
	fi
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still enslaved after removing the e1000e: $(nf_roles)"

	nf_run ip link set dev "$PF_DEV" up
	nf_check_err $? "cannot set the PF $PF_DEV up"
	nf_wait "$NF_TIMEOUT" pf_carrier
	nf_check_err $? "PF $PF_DEV has no carrier"
	echo 0 > "/sys/bus/pci/devices/$PF_BDF/sriov_drivers_autoprobe"
	echo 2 > "/sys/bus/pci/devices/$PF_BDF/sriov_numvfs"
	nf_check_err $? "cannot create 2 VFs"
	VF0=$(vf_bdf 0)
	VF1=$(vf_bdf 1)
	[ -n "$VF0" ] && [ -n "$VF1" ]
	nf_check_err $? "VFs not found under $PF_BDF"
	nf_run ip link set dev "$PF_DEV" vf 0 mac "$NF_MAC"
	nf_check_err $? "cannot set VF0 MAC"
	nf_run ip link set dev "$PF_DEV" vf 1 mac "$OTHER_MAC"
	nf_check_err $? "cannot set VF1 MAC"
	[ "$RET" -eq 0 ] && SETUP_OK=1
	nf_diag "PF $PF_BDF ($PF_DEV) VF0 $VF0 VF1 $VF1 e1000e removed via $E1000E_REMOVED"
	nf_diag "$(mem_bars)"
	nf_log_test
}

vf_enslaved_as_primary()
{
	need_setup || return
	local v s0 c0 ds
	vf_rebind "$VF0"
	nf_check_err $? "igbvf did not bind VF0 $VF0"
	[ "$RET" -ne 0 ] && { nf_log_test; return; }
	v=$(vf_dev "$VF0")
	vf_is_real_match "$VF0"
	nf_diag "VF0 $VF0 $v driver $(nf_pci_driver "$VF0") address $(nf_mac "$v")"
	nf_wait "$NF_TIMEOUT" vf_enslaved "$VF0"
	nf_check_err $? "VF0 $v not enslaved as primary: $(nf_roles)"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$v" 1
	nf_check_err $? "VF0 $v has no carrier"
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping with VF0 as primary"
	s0=$(nf_stat "$NF_SBY" tx_packets)
	c0=$(nf_stat "$v" tx_packets)
	ping -q -c 20 -i 0.1 -W 2 "$NF_PEER4" > /dev/null 2>&1
	nf_check_err $? "ping through VF0 lost packets"
	# 20 echo requests were sent: at least half of them counted by VF0 (igbvf
	# counts a frame when its transmit completes)
	_vf_sent() { local d; d=$(nf_stat_delta "$1" tx_packets "$2" 2> /dev/null) && [ "$d" -ge 10 ]; }
	nf_wait "$NF_TIMEOUT" _vf_sent "$v" "$c0"
	nf_check_err $? "VF0 $v did not carry the tx: tx_packets +$(nf_stat_delta "$v" tx_packets "$c0") for 20 pings"
	ds=$(nf_stat_delta "$NF_SBY" tx_packets "$s0")
	[ "$ds" -le 2 ]
	nf_check_err $? "standby sent $ds packets while VF0 was primary"
	nf_figure "VF0 $v tx_packets +$(nf_stat_delta "$v" tx_packets "$c0"), standby +$ds over 20 pings"
	nf_log_test
}

vf_other_mac_not_enslaved()
{
	need_setup || return
	local v before
	before=$(nf_lowers_str "$NF_M")
	vf_rebind "$VF1"
	nf_check_err $? "igbvf did not bind VF1 $VF1"
	[ "$RET" -ne 0 ] && { nf_log_test; return; }
	v=$(vf_dev "$VF1")
	nf_run ip link set dev "$v" up
	nf_never 5 has_master "$v"
	nf_check_err $? "VF1 $v with MAC $OTHER_MAC got master $(nf_master_of "$v" 2> /dev/null)"
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	nf_log_test
}

second_matching_vf_refused()
{
	need_setup || return
	local v before
	before=$(nf_lowers_str "$NF_M")
	nf_run ip link set dev "$PF_DEV" vf 1 mac "$NF_MAC"
	nf_check_err $? "cannot set VF1 MAC to the standby's"
	nf_dmesg_mark SR_MARK
	vf_rebind "$VF1"
	nf_check_err $? "igbvf did not rebind VF1"
	v=$(vf_dev "$VF1")
	vf_is_real_match "$VF1"
	# (the kernel log copy is written by the runner: it may lag behind)
	nf_wait "$NF_TIMEOUT" refused_since "$v" SR_MARK
	nf_check_err $? "no refusal of the second matching VF $v in dmesg"
	nf_diag "$(nf_dmesg_since_mark SR_MARK | grep -E "refusing to enslave $v |$v attempting to register" | head -n 1)"
	nf_run ip link set dev "$v" up
	nf_never 5 has_master "$v"
	nf_check_err $? "second matching VF $v was enslaved"
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$before"
	vf_enslaved "$VF0"
	nf_check_err $? "VF0 no longer the primary: $(nf_roles)"
	nf_ping_peer 3
	nf_check_err $? "no ping with a second matching VF around"
	# VF1 goes back to a foreign MAC and off the driver for the next cases
	ip link set dev "$v" down
	echo "$VF1" > "/sys/bus/pci/devices/$VF1/driver/unbind"
	nf_run ip link set dev "$PF_DEV" vf 1 mac "$OTHER_MAC"
	nf_log_test
}

vf_mac_change_after_probe()
{
	need_setup || return
	local v v2 want
	want=$(echo "$NF_MAC" | tr 'A-F' 'a-f')
	v=$(vf_dev "$VF0")
	# 1. the PF changes VF0's MAC: igb only records it ("Reload the VF driver
	#    to make this change effective"); the enslaved VF0 is untouched
	nf_run ip link set dev "$PF_DEV" vf 0 mac "$OTHER_MAC"
	nf_check_err $? "cannot change VF0 MAC through the PF"
	nf_diag "after PF set: VF0 $v address $(nf_mac "$v") master $(nf_master_of "$v")"
	nf_never 3 nf_no_primary
	nf_check_err $? "VF0 released right after the PF changed its MAC"
	vf_enslaved "$VF0"
	nf_check_err $? "VF0 not primary after the PF changed its MAC"
	# 2. reloading the VF driver applies the new MAC: VF0 is now a stranger
	vf_rebind "$VF0"
	nf_check_err $? "igbvf did not rebind VF0"
	v2=$(vf_dev "$VF0")
	nf_check_eq "VF0 address after reload" "$(nf_mac "$v2")" "$OTHER_MAC"
	nf_never 5 has_master "$v2"
	nf_check_err $? "VF0 with a foreign MAC was enslaved"
	nf_discover
	[ -z "$NF_PRI" ]
	nf_check_err $? "a primary remains after VF0 changed its MAC: $(nf_roles)"
	nf_wait 30 nf_ping_peer
	nf_check_err $? "no ping via the standby"
	# 3. back to the standby's MAC and reload: enslaved again
	nf_run ip link set dev "$PF_DEV" vf 0 mac "$NF_MAC"
	vf_rebind "$VF0"
	nf_check_err $? "igbvf did not rebind VF0"
	nf_check_eq "VF0 address after restore" "$(nf_mac "$(vf_dev "$VF0")")" "$want"
	nf_wait "$NF_TIMEOUT" vf_enslaved "$VF0"
	nf_check_err $? "VF0 not enslaved again after restoring its MAC: $(nf_roles)"
	nf_log_test
}

vfs_recreated_under_stream()
{
	need_setup || return
	local v t0 probe_mark why
	v=$(vf_dev "$VF0")
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$v" 1
	nf_check_err $? "VF0 $v has no carrier"
	nf_stream_start sriov "$NF_STREAM_RATE"
	nf_check_err $? "cannot start the UDP stream"
	[ "$RET" -ne 0 ] && { nf_log_test; return; }
	# the sender (python3 under TCG) can take many seconds to start on a
	# loaded host: wait for the peer to see the stream first
	nf_stream_advances sriov "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "stream not reaching the peer before the VFs were removed"
	if ! nf_tx_grows "$v" "$NF_STREAM_MIN" "$NF_STREAM_WAIT"; then
		nf_check_err 1 "stream not carried by VF0 $v before the VFs were removed (tx_packets: $v $(nf_stat "$v" tx_packets), standby $(nf_stat "$NF_SBY" tx_packets))"
	fi
	nf_tx_only_via "$v" "$NF_SBY" "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "standby transmitting a share of the stream with VF0 enslaved"

	# 1. the VFs go away: VF0 is released, the standby takes the stream
	t0=$SECONDS
	echo 0 > "/sys/bus/pci/devices/$PF_BDF/sriov_numvfs"
	nf_check_err $? "cannot remove the VFs"
	nf_wait "$NF_TIMEOUT" nf_no_primary
	nf_check_err $? "primary still enslaved after removing the VFs: $(nf_roles)"
	nf_check_eq "lowers of $NF_M" "$(nf_lowers_str "$NF_M")" "$NF_SBY "
	nf_carrier_is "$NF_M" 1
	nf_check_err $? "master without carrier on the standby alone"
	nf_tx_grows "$NF_SBY" "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "stream did not move to the standby $NF_SBY"
	nf_figure "standby carrying the stream $((SECONDS - t0))s after sriov_numvfs 0"
	nf_stream_advances sriov "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "stream stopped reaching the peer with the VFs gone"

	# 2. new VFs: igb forgot the MACs with the old ones, the PF sets them
	#    again; VF0 is enslaved and takes the stream back
	t0=$SECONDS
	echo 2 > "/sys/bus/pci/devices/$PF_BDF/sriov_numvfs"
	nf_check_err $? "cannot create the VFs again"
	VF0=$(vf_bdf 0)
	VF1=$(vf_bdf 1)
	nf_run ip link set dev "$PF_DEV" vf 0 mac "$NF_MAC"
	nf_check_err $? "cannot set the new VF0's MAC"
	nf_run ip link set dev "$PF_DEV" vf 1 mac "$OTHER_MAC"
	nf_check_err $? "cannot set the new VF1's MAC"
	nf_dmesg_mark probe_mark
	vf_rebind "$VF0"
	nf_check_err $? "igbvf did not bind the new VF0 $VF0"
	v=$(vf_dev "$VF0")
	vf_is_real_match "$VF0"
	nf_wait "$NF_TIMEOUT" vf_enslaved "$VF0"
	nf_check_err $? "new VF0 $v not enslaved as primary: $(nf_roles)"
	nf_wait "$NF_TIMEOUT" nf_carrier_is "$v" 1
	nf_check_err $? "new VF0 $v has no carrier"
	nf_tx_grows "$v" "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "stream not back on the new VF0 $v"
	nf_figure "new VF0 carrying the stream $((SECONDS - t0))s after sriov_numvfs 2"
	if nf_rust_only; then
		nf_klog_sync
		nf_check_err $? "the kernel log's live copy lags"
		why=$(tx_after_probe probe_mark "$VF0" "$v")
		nf_check_err $? "$why"
	fi
	nf_tx_only_via "$v" "$NF_SBY" "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "standby still transmitting a share of the stream with the new VF0 enslaved"
	nf_stream_advances sriov "$NF_STREAM_MIN" "$NF_STREAM_WAIT"
	nf_check_err $? "stream not reaching the peer through the new VF0"

	nf_stream_stop sriov
	nf_check_err $? "no stream result"
	[ "$STREAM_RECEIVED" -gt 0 ] && [ "$STREAM_LAST" -ge $((STREAM_SENT - STREAM_SENT / 20 - 1)) ]
	nf_check_err $? "end of the stream missing at the peer: last_seq $STREAM_LAST of $STREAM_SENT sent"
	nf_figure "sriov: loss=$STREAM_LOST/$STREAM_SENT max_gap_ms=$STREAM_MAXGAP rate_pps=$STREAM_RATE"
	nf_log_test
}

e1000e_primary_back()
{
	if [ -z "$E1000E_REMOVED" ]; then
		nf_log_test_skip e1000e_primary_back "e1000e was not removed"
		return
	fi
	[ -n "$PF_BDF" ] && echo 0 > "/sys/bus/pci/devices/$PF_BDF/sriov_numvfs"
	[ -n "$PF_BDF" ] && echo 1 > "/sys/bus/pci/devices/$PF_BDF/sriov_drivers_autoprobe"
	[ -n "$PF_DEV" ] && ip link set dev "$PF_DEV" down
	if [ "$E1000E_REMOVED" = qmp ]; then
		host_do device_add "$NF_PRIMARY_QDEV" > "$NF_TMP/host.out" 2>&1
		nf_check_err $? "device_add $NF_PRIMARY_QDEV: $(cat "$NF_TMP/host.out")"
	else
		echo 1 > /sys/bus/pci/rescan
	fi
	nf_wait "$NF_TIMEOUT" nf_e1000e_enslaved
	nf_check_err $? "e1000e not enslaved again: $(nf_roles)"
	E1000E_REMOVED=
	nf_bringup
	nf_check_err $? "topology not restored"
	nf_log_test
}

nf_main
