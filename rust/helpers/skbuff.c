// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sch_generic.h>

void rust_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

bool rust_helper_skb_shared(const struct sk_buff *skb)
{
	return skb_shared(skb);
}

struct sk_buff *rust_helper_skb_share_check(struct sk_buff *skb, gfp_t pri)
{
	return skb_share_check(skb, pri);
}

