// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sch_generic.h>

int rust_helper_dev_queue_xmit(struct sk_buff *skb)
{
	return dev_queue_xmit(skb);
}

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

u16 rust_helper_skb_qdisc_slave_queue_mapping(struct sk_buff *skb)
{
	return qdisc_skb_cb(skb)->slave_dev_queue_mapping;
}

void rust_helper_skb_set_qdisc_slave_queue_mapping(struct sk_buff *skb,
						   u16 mapping)
{
	qdisc_skb_cb(skb)->slave_dev_queue_mapping = mapping;
}

struct net_device *rust_helper_skb_dev(const struct sk_buff *skb)
{
	return skb->dev;
}

void rust_helper_skb_set_dev(struct sk_buff *skb, struct net_device *dev)
{
	skb->dev = dev;
}
