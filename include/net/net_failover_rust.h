/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Rust net_failover module's parameters, defined in C
 * (drivers/net/net_failover_export.c: 6.12's Rust modules cannot declare
 * module parameters) and read from Rust through the bindings, so that both
 * sides agree on their types.
 */
#ifndef _NET_FAILOVER_RUST_H
#define _NET_FAILOVER_RUST_H

/* takeover_delay_ms: see Documentation/networking/net_failover_rust.rst */
extern unsigned int net_failover_takeover_delay_ms;

#endif /* _NET_FAILOVER_RUST_H */
