// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of the Rust net_failover driver (net_failover_rust.rs).
 *
 * The functions are defined in Rust with the C ABI and the prototypes of
 * include/net/net_failover.h; a Rust module cannot emit EXPORT_SYMBOL_GPL
 * itself in 6.12, so this file does it.
 */

#include <linux/export.h>
#include <linux/moduleparam.h>
#include <net/net_failover.h>
#include <net/net_failover_rust.h>

EXPORT_SYMBOL_GPL(net_failover_create);
EXPORT_SYMBOL_GPL(net_failover_destroy);

/*
 * Module parameters: Rust modules cannot declare them in 6.12. The Rust side
 * reads each variable (READ_ONCE()) when net_failover_create() makes a master;
 * changing a parameter affects masters created afterwards.
 */
unsigned int net_failover_takeover_delay_ms;
module_param_named(takeover_delay_ms, net_failover_takeover_delay_ms, uint, 0644);
MODULE_PARM_DESC(takeover_delay_ms,
		 "Milliseconds a new primary waits before it carries traffic while the standby is ready (0: at once, the default; at most 60000)");

/* "ip link add NAME type net_failover" loads the module (rtnl_link_ops kind). */
#include <net/rtnetlink.h>
MODULE_ALIAS_RTNL_LINK("net_failover");
