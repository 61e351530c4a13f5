#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What ip -d link, rtnetlink and sysfs tell about the roles:
#   link_kind_shown             ip -d link: the master's kind is net_failover,
#                               each lower device's slave kind net_failover
#                               ("net_failover_slave" in the text output);
#                               "ip link del" of this master stays refused
#                               (masters made by hand: explicit_pair.sh)
#   slave_info_follows_tx_path  IFLA_INFO_SLAVE_DATA of each lower device
#                               (read with slaveinfo.py: stock iproute2 has no
#                               decoder for it): role, and which one is active
#                               before, during and after the primary is down;
#                               /sys/class/net/<master>/failover/{primary,
#                               standby,tx_path} agree
#
# With NF_MODULE=c both SKIP: the C driver has no rtnl_link_ops and no sysfs
# group.

ALL_TESTS="
	link_kind_shown
	slave_info_follows_tx_path
"

lib_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$lib_dir/lib.sh"

slaveinfo() { python3 "$NF_LIB_DIR/slaveinfo.py" "$1" 2>&1; }
fo_attr() { nf_read "/sys/class/net/$NF_M/failover/$1"; }
fo_attr_is() { [ "$(fo_attr "$1")" = "$2" ]; }
# link_json DEV KEY: linkinfo.KEY of "ip -d -j link show DEV"
link_json() {
	ip -d -j link show dev "$1" 2> /dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0].get("linkinfo", {}).get(sys.argv[1], ""))' "$2"
}

link_kind_shown()
{
	nf_skip_if_c "rtnl_link_ops" && return
	local d out
	nf_check_eq "ip -d -j link: info_kind of master $NF_M" "$(link_json "$NF_M" info_kind)" net_failover
	for d in "$NF_PRI" "$NF_SBY"; do
		nf_check_eq "ip -d -j link: info_slave_kind of $d" "$(link_json "$d" info_slave_kind)" net_failover
		ip -d link show dev "$d" | grep -qw net_failover_slave
		nf_check_err $? "ip -d link show $d lacks net_failover_slave: $(ip -d link show dev "$d" | tr '\n' ' ')"
	done
	out=$(ip link del "$NF_M" 2>&1)
	nf_check_fail $? "ip link del $NF_M succeeded"
	nf_diag "ip link del $NF_M: $out"
	nf_log_test
}

# roles_are PRI_ACTIVE SBY_ACTIVE: slave data of both lowers
roles_are()
{
	local p s
	p=$(slaveinfo "$NF_PRI")
	s=$(slaveinfo "$NF_SBY")
	[ "$p" = "kind= slave_kind=net_failover role=primary active=$1 held=0" ] &&
		[ "$s" = "kind= slave_kind=net_failover role=standby active=$2 held=0" ]
}

slave_info_follows_tx_path()
{
	nf_skip_if_c "rtnl_link_ops" && return
	nf_diag "primary $NF_PRI: $(slaveinfo "$NF_PRI")"
	nf_diag "standby $NF_SBY: $(slaveinfo "$NF_SBY")"
	# (the message runs slaveinfo.py twice: only on failure)
	if ! nf_wait "$NF_TIMEOUT" roles_are 1 0; then
		nf_check_err 1 "slave data with the primary up: $(slaveinfo "$NF_PRI") / $(slaveinfo "$NF_SBY")"
	fi
	nf_check_eq "sysfs primary" "$(fo_attr primary)" "$NF_PRI"
	nf_check_eq "sysfs standby" "$(fo_attr standby)" "$NF_SBY"
	nf_check_eq "sysfs tx_path" "$(fo_attr tx_path)" primary

	nf_defer ip link set dev "$NF_PRI" up
	ip link set dev "$NF_PRI" down
	if ! nf_wait "$NF_TIMEOUT" roles_are 0 1; then
		nf_check_err 1 "slave data with the primary down: $(slaveinfo "$NF_PRI") / $(slaveinfo "$NF_SBY")"
	fi
	nf_check_eq "sysfs tx_path with the primary down" "$(fo_attr tx_path)" standby

	ip link set dev "$NF_PRI" up
	if ! nf_wait "$NF_TIMEOUT" roles_are 1 0; then
		nf_check_err 1 "slave data with the primary up again: $(slaveinfo "$NF_PRI") / $(slaveinfo "$NF_SBY")"
	fi
	nf_wait "$NF_TIMEOUT" fo_attr_is tx_path primary
	nf_check_err $? "sysfs tx_path '$(fo_attr tx_path)' with the primary up again"
	nf_log_test
}

nf_main
