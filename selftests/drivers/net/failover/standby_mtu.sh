#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The master starts at the standby's MTU. A second failover standby is
# hot-plugged through QMP (virtio-net-pci failover=on, its own MAC, no
# primary, no backend) with host_mtu 1400, 1450 and 9000 in turn:
#   standby_host_mtu_1400, _1450, _9000
#                      the new master exists, has the standby as its lower
#                      device, and both have the host's MTU (the master's
#                      maximum is the standby's); unplugging the standby
#                      destroys the master.
#
# C reference: 1400 and 1450 fail (its master starts at 1500, which the
# standby's maximum refuses, so the standby is never enslaved: the bug this
# checks); 9000 fails too (master at 1500).

ALL_TESTS="
	standby_host_mtu_1400
	standby_host_mtu_1450
	standby_host_mtu_9000
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

SB2_ID=sbmtu0
SB2_MAC=52:54:00:12:34:57

# devices whose current address is SB2_MAC
sb2_devs() {
	local d
	for d in /sys/class/net/*; do
		[ "$(nf_read "$d/address")" = "$SB2_MAC" ] && echo "${d##*/}"
	done
}
sb2_master() {
	local d
	for d in $(sb2_devs); do
		nf_is_master "$d" && { echo "$d"; return 0; }
	done
	return 1
}
sb2_standby() {
	local d m
	m=$(sb2_master) || return 1
	for d in $(sb2_devs); do
		[ "$d" != "$m" ] && [ "$(nf_master_of "$d")" = "$m" ] && { echo "$d"; return 0; }
	done
	return 1
}
sb2_gone() { [ -z "$(sb2_devs)" ]; }
sb2_has_master() { sb2_master > /dev/null; }
sb2_has_standby() { sb2_standby > /dev/null; }

standby_host_mtu()
{
	local mtu=$1 m s maxmtu
	nf_require_host_ctl || return
	host_do device_add_standby "$SB2_ID" "$SB2_MAC" "$mtu" > "$NF_TMP/host.out" 2>&1
	nf_check_err $? "QMP device_add of a standby with host_mtu=$mtu failed: $(cat "$NF_TMP/host.out")"
	nf_defer host_do device_del "$SB2_ID"
	nf_wait "$NF_TIMEOUT" sb2_has_master
	nf_check_err $? "no failover master for the hot-plugged standby ($SB2_MAC)"
	m=$(sb2_master)
	nf_wait "$NF_TIMEOUT" sb2_has_standby
	nf_check_err $? "the standby with host_mtu=$mtu is not enslaved to ${m:-the master}: $(sb2_devs | tr '\n' ' ')"
	s=$(sb2_standby)
	if [ -n "$m" ]; then
		nf_check_eq "master $m MTU" "$(nf_read "/sys/class/net/$m/mtu")" "$mtu"
		maxmtu=$(ip -d -j link show dev "$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("max_mtu",""))')
		nf_check_eq "master $m max_mtu" "$maxmtu" "$mtu"
	fi
	[ -n "$s" ] && nf_check_eq "standby $s MTU" "$(nf_read "/sys/class/net/$s/mtu")" "$mtu"
	nf_diag "host_mtu=$mtu: master=${m:-none} standby=${s:-none}"

	host_do device_del "$SB2_ID" > "$NF_TMP/host.out" 2>&1
	nf_check_err $? "QMP device_del of the standby failed: $(cat "$NF_TMP/host.out")"
	nf_wait "$NF_TIMEOUT" sb2_gone
	nf_check_err $? "master or standby left after the standby's unplug: $(sb2_devs | tr '\n' ' ')"
	nf_log_test
}

standby_host_mtu_1400() { standby_host_mtu 1400; }
standby_host_mtu_1450() { standby_host_mtu 1450; }
standby_host_mtu_9000() { standby_host_mtu 9000; }

nf_main
