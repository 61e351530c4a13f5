// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sch_generic.h>

void rust_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

bool rust_helper_skb_rx_queue_recorded(const struct sk_buff *skb)
{
	return skb_rx_queue_recorded(skb);
}

u16 rust_helper_skb_get_rx_queue(const struct sk_buff *skb)
{
	return skb_get_rx_queue(skb);
}
