// SPDX-License-Identifier: GPL-2.0
/*
 * Exports of the Rust net_failover driver (net_failover_rust.rs).
 *
 * The functions are defined in Rust with the C ABI and the prototypes of
 * include/net/net_failover.h; a Rust module cannot emit EXPORT_SYMBOL_GPL
 * itself in 6.12, so this file does it.
 */

#include <linux/export.h>
#include <net/net_failover.h>

EXPORT_SYMBOL_GPL(net_failover_create);
EXPORT_SYMBOL_GPL(net_failover_destroy);
