// SPDX-License-Identifier: GPL-2.0

#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/sched/signal.h>
#include <linux/sysfs.h>
#include <net/sch_generic.h>

#include "nf_compat.h"

void rust_helper_netdev_hold(struct net_device *dev,
			     netdevice_tracker *tracker, gfp_t gfp)
{
	netdev_hold(dev, tracker, gfp);
}

void rust_helper_netdev_put(struct net_device *dev, netdevice_tracker *tracker)
{
	netdev_put(dev, tracker);
}

void rust_helper_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rust_helper_netif_tx_wake_all_queues(struct net_device *dev)
{
	netif_tx_wake_all_queues(dev);
}

void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

struct net_device *
rust_helper_netdev_notifier_info_to_dev(const struct netdev_notifier_info *info)
{
	return netdev_notifier_info_to_dev(info);
}

bool rust_helper_ether_addr_equal(const u8 *addr1, const u8 *addr2)
{
	return ether_addr_equal(addr1, addr2);
}

bool rust_helper_dev_is_pci(const struct device *dev)
{
	return dev_is_pci(dev);
}

void rust_helper_netif_addr_lock_bh(struct net_device *dev)
{
	netif_addr_lock_bh(dev);
}

void rust_helper_netif_addr_unlock_bh(struct net_device *dev)
{
	netif_addr_unlock_bh(dev);
}

void rust_helper_dev_core_stats_tx_dropped_inc(struct net_device *dev)
{
	dev_core_stats_tx_dropped_inc(dev);
}

struct net *rust_helper_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

void rust_helper_dev_net_set(struct net_device *dev, struct net *net)
{
	dev_net_set(dev, net);
}

void rust_helper_dev_addr_set(struct net_device *dev, const u8 *addr)
{
	dev_addr_set(dev, addr);
}

void rust_helper_netdev_set_lltx(struct net_device *dev, bool on)
{
	dev->lltx = on;
}

/*
 * NF_NETNS_IMMUTABLE names the field: netns_immutable, or netns_local in
 * 6.12.y releases before the upstream rename was backported.
 */
void rust_helper_netdev_set_netns_immutable(struct net_device *dev, bool on)
{
	dev->NF_NETNS_IMMUTABLE = on;
}

int rust_helper_vlan_vids_add_by_dev(struct net_device *dev,
				     const struct net_device *by_dev)
{
	return vlan_vids_add_by_dev(dev, by_dev);
}

void rust_helper_vlan_vids_del_by_dev(struct net_device *dev,
				      const struct net_device *by_dev)
{
	vlan_vids_del_by_dev(dev, by_dev);
}

bool rust_helper_vlan_uses_dev(const struct net_device *dev)
{
	return vlan_uses_dev(dev);
}

int rust_helper_vlan_vid_add(struct net_device *dev, __be16 proto, u16 vid)
{
	return vlan_vid_add(dev, proto, vid);
}

void rust_helper_vlan_vid_del(struct net_device *dev, __be16 proto, u16 vid)
{
	vlan_vid_del(dev, proto, vid);
}

unsigned long rust_helper_netdev_priv_flags(const struct net_device *dev)
{
	return dev->priv_flags;
}

void rust_helper_netdev_update_priv_flags(struct net_device *dev,
					  unsigned long set, unsigned long clear)
{
	dev->priv_flags = (dev->priv_flags & ~clear) | set;
}

const char *rust_helper_dev_name(const struct device *dev)
{
	return dev_name(dev);
}

unsigned int rust_helper_num_possible_cpus(void)
{
	return num_possible_cpus();
}

struct net_device *rust_helper_first_net_device(struct net *net)
{
	return first_net_device(net);
}

struct net_device *rust_helper_next_net_device(struct net_device *dev)
{
	return next_net_device(dev);
}

void rust_helper_ratelimit_state_init(struct ratelimit_state *rs, int interval,
				      int burst)
{
	ratelimit_state_init(rs, interval, burst);
}

void rust_helper_sysfs_attr_init(struct attribute *attr)
{
	sysfs_attr_init(attr);
}

int rust_helper_restart_syscall(void)
{
	return restart_syscall();
}
