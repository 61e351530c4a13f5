#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What ip -d link, rtnetlink and sysfs tell about the master virtio_net made:
#   no_link_kind_as_c           ip -d link: no link kind on the master and no
#                               slave kind on its lower devices, as with the
#                               C driver (which has no rtnl_link_ops):
#                               NetworkManager manages a kindless Ethernet
#                               device as Ethernet, one of a kind it does not
#                               know as an unmanaged generic device
#                               (netstack.sh); "ip link del" of this master
#                               stays refused. Masters made by hand have the
#                               kind and slave data (explicit_pair.sh).
#   sysfs_follows_tx_path       /sys/class/net/<master>/failover/{primary,
#                               standby,tx_path} before, during and after the
#                               primary is down
#
# With NF_MODULE=c sysfs_follows_tx_path SKIPs: the C driver has no sysfs
# group.

ALL_TESTS="
	no_link_kind_as_c
	sysfs_follows_tx_path
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

fo_attr() { nf_read "/sys/class/net/$NF_M/failover/$1"; }
fo_attr_is() { [ "$(fo_attr "$1")" = "$2" ]; }
# link_json DEV KEY: linkinfo.KEY of "ip -d -j link show DEV"
link_json() {
	ip -d -j link show dev "$1" 2> /dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get("linkinfo", {}).get(sys.argv[1], ""))' "$2"
}

no_link_kind_as_c()
{
	local d out
	ip -d -j link show dev "$NF_M" > /dev/null 2>&1
	nf_check_err $? "ip -d -j link show $NF_M failed"
	nf_check_eq "ip -d -j link: info_kind of master $NF_M" "$(link_json "$NF_M" info_kind)" ""
	for d in "$NF_PRI" "$NF_SBY"; do
		nf_check_eq "ip -d -j link: info_slave_kind of $d" "$(link_json "$d" info_slave_kind)" ""
		nf_check_eq "master of $d" "$(nf_master_of "$d")" "$NF_M"
	done
	out=$(ip link del "$NF_M" 2>&1)
	nf_check_fail $? "ip link del $NF_M succeeded"
	nf_diag "ip link del $NF_M: $out"
	nf_log_test
}

sysfs_follows_tx_path()
{
	nf_skip_if_c "sysfs group" && return
	nf_wait "$NF_TIMEOUT" fo_attr_is tx_path primary
	nf_check_err $? "sysfs tx_path '$(fo_attr tx_path)' with the primary up"
	nf_check_eq "sysfs primary" "$(fo_attr primary)" "$NF_PRI"
	nf_check_eq "sysfs standby" "$(fo_attr standby)" "$NF_SBY"

	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	nf_wait "$NF_TIMEOUT" fo_attr_is tx_path standby
	nf_check_err $? "sysfs tx_path '$(fo_attr tx_path)' with the primary down"
	nf_check_eq "sysfs primary while down" "$(fo_attr primary)" "$NF_PRI"

	ip link set dev "$NF_PRI" up
	nf_wait "$NF_TIMEOUT" fo_attr_is tx_path primary
	nf_check_err $? "sysfs tx_path '$(fo_attr tx_path)' with the primary up again"
	nf_log_test
}

nf_main
