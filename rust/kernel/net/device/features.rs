// SPDX-License-Identifier: GPL-2.0

//! Feature bits (`netdev_features_t`), private flags (`enum netdev_priv_flags`) and interface
//! flags (`enum net_device_flags`).
//!
//! C header: [`include/linux/netdev_features.h`](srctree/include/linux/netdev_features.h),
//! [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//!
//! Both [`Features`] and [`PrivFlags`] are sets that safe code can only build from the named
//! constants below: some kernel bits promise things a driver must back with code (a feature
//! whose callbacks the core then calls, a private flag under which C reinterprets the device's
//! private data), so arbitrary bit patterns never reach a device through a safe function. The
//! exception is a set read from another registered device ([`Device::features`] and friends,
//! bits its own driver backs): [`NetDev::update_stacking`] stores such sets as what the device
//! offers devices stacked on it (VLANs, tunnels), and the core intersects them with those
//! devices' own features before anything relies on them.
//!
//! [`Device::features`]: crate::net::device::Device::features
//! [`NetDev::update_stacking`]: crate::net::driver::NetDev::update_stacking

use crate::bindings;

/// A set of `NETIF_F_*` feature bits (`netdev_features_t`).
///
/// Safe code builds sets from the constants of this type and combines them with `|`, `&` and
/// [`Features::without`]; there is no complement, so a set never holds a bit that is not named
/// here unless it was read from a device.
///
/// # Examples
///
/// ```
/// use kernel::net::device::Features;
///
/// let f = Features::SG | Features::HW_CSUM;
/// assert!(f.contains(Features::SG));
/// assert!(!f.contains(Features::LRO));
/// assert_eq!(f.without(Features::SG), Features::HW_CSUM);
/// assert!(Features::EMPTY.is_empty());
/// assert!(Features::DRIVER_SETTABLE.contains(f));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Features(u64);

impl Features {
    /// No features.
    pub const EMPTY: Self = Self(0);
    /// Scatter/gather.
    pub const SG: Self = Self(bindings::NETIF_F_SG);
    /// Checksum offload of any protocol.
    pub const HW_CSUM: Self = Self(bindings::NETIF_F_HW_CSUM);
    /// Fragment lists.
    pub const FRAGLIST: Self = Self(bindings::NETIF_F_FRAGLIST);
    /// DMA to high memory.
    pub const HIGHDMA: Self = Self(bindings::NETIF_F_HIGHDMA);
    /// Large receive offload.
    pub const LRO: Self = Self(bindings::NETIF_F_LRO);
    /// Receive checksum offload.
    pub const RXCSUM: Self = Self(bindings::NETIF_F_RXCSUM);
    /// All TSO flavours (`NETIF_F_ALL_TSO`).
    pub const ALL_TSO: Self = Self(bindings::NETIF_F_ALL_TSO);
    /// Features that upper devices always accumulate (`NETIF_F_ALL_FOR_ALL`).
    pub const ALL_FOR_ALL: Self = Self(bindings::NETIF_F_ALL_FOR_ALL);
    /// All encapsulation GSO types (`NETIF_F_GSO_ENCAP_ALL`).
    pub const GSO_ENCAP_ALL: Self = Self(bindings::NETIF_F_GSO_ENCAP_ALL);
    /// The device cannot handle VLAN packets.
    pub const VLAN_CHALLENGED: Self = Self(bindings::NETIF_F_VLAN_CHALLENGED);
    /// CTAG VLAN tx offload.
    pub const HW_VLAN_CTAG_TX: Self = Self(bindings::NETIF_F_HW_VLAN_CTAG_TX);
    /// CTAG VLAN rx offload.
    pub const HW_VLAN_CTAG_RX: Self = Self(bindings::NETIF_F_HW_VLAN_CTAG_RX);
    /// CTAG VLAN filtering.
    pub const HW_VLAN_CTAG_FILTER: Self = Self(bindings::NETIF_F_HW_VLAN_CTAG_FILTER);

    /// Every feature a driver may claim for its own device through a safe function: offloads
    /// whose absence in hardware costs correctness of the frames at worst, never the kernel's
    /// memory safety (unlike, say, `NETIF_F_HW_TLS_TX` or `NETIF_F_HW_ESP`, which make the core
    /// call driver callbacks).
    pub const DRIVER_SETTABLE: Self = Self(
        bindings::NETIF_F_SG
            | bindings::NETIF_F_HW_CSUM
            | bindings::NETIF_F_FRAGLIST
            | bindings::NETIF_F_HIGHDMA
            | bindings::NETIF_F_LRO
            | bindings::NETIF_F_RXCSUM
            | bindings::NETIF_F_ALL_TSO
            | bindings::NETIF_F_GSO_ENCAP_ALL
            | bindings::NETIF_F_VLAN_CHALLENGED
            | bindings::NETIF_F_HW_VLAN_CTAG_TX
            | bindings::NETIF_F_HW_VLAN_CTAG_RX
            | bindings::NETIF_F_HW_VLAN_CTAG_FILTER,
    );

    /// Wraps bits read from the kernel.
    pub(crate) const fn from_raw(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self` minus the features of `other`.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Accumulates the features of one lower device into those of an upper device, the way
    /// bonding and failover do (`netdev_increment_features()`): `mask` selects what `one` may
    /// add; checksum and `ALL_FOR_ALL` rules are those of the C function. The result holds no
    /// bit outside `all | (one & mask)` and the checksum bits.
    ///
    /// Context: any.
    pub fn increment(all: Self, one: Self, mask: Self) -> Self {
        // SAFETY: pure function of its arguments.
        Self(unsafe { bindings::netdev_increment_features(all.0, one.0, mask.0) })
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl core::ops::BitAnd for Features {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// A set of private flags (`IFF_*` of `enum netdev_priv_flags`), for testing a device's flags
/// ([`Device::priv_flags`](super::Device::priv_flags)).
///
/// Setting them is not offered for arbitrary sets: a driver changes its own device's flags
/// through the named methods of [`Builder`](crate::net::driver::Builder), and the flags that
/// mark a lower device are set by [`LowerLink`](crate::net::lower::LowerLink) together with
/// what they promise.
///
/// # Examples
///
/// ```
/// use kernel::net::device::PrivFlags;
///
/// let f = PrivFlags::FAILOVER | PrivFlags::NO_QUEUE;
/// assert!(f.contains(PrivFlags::FAILOVER));
/// assert!(f.intersects(PrivFlags::NO_QUEUE | PrivFlags::EBRIDGE));
/// assert!(!f.intersects(PrivFlags::EBRIDGE | PrivFlags::TEAM));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrivFlags(u64);

impl PrivFlags {
    /// Device is a failover master.
    pub const FAILOVER: Self = Self(bindings::netdev_priv_flags_IFF_FAILOVER as u64);
    /// Device is a lower device of a failover master (`IFF_FAILOVER_SLAVE`).
    pub const FAILOVER_SLAVE: Self = Self(bindings::netdev_priv_flags_IFF_FAILOVER_SLAVE as u64);
    /// No IPv6 address configuration on the device.
    pub const NO_ADDRCONF: Self = Self(bindings::netdev_priv_flags_IFF_NO_ADDRCONF as u64);
    /// Device supports unicast filtering.
    pub const UNICAST_FLT: Self = Self(bindings::netdev_priv_flags_IFF_UNICAST_FLT as u64);
    /// Device has no qdisc.
    pub const NO_QUEUE: Self = Self(bindings::netdev_priv_flags_IFF_NO_QUEUE as u64);
    /// The core may drop the dst of skbs before transmit.
    pub const XMIT_DST_RELEASE: Self =
        Self(bindings::netdev_priv_flags_IFF_XMIT_DST_RELEASE as u64);
    /// As `XMIT_DST_RELEASE`, permanently.
    pub const XMIT_DST_RELEASE_PERM: Self =
        Self(bindings::netdev_priv_flags_IFF_XMIT_DST_RELEASE_PERM as u64);
    /// Device can transmit shared skbs.
    pub const TX_SKB_SHARING: Self = Self(bindings::netdev_priv_flags_IFF_TX_SKB_SHARING as u64);
    /// `IFF_DISABLE_NETPOLL`: netpoll (netconsole) must not use the device.
    pub const DISABLE_NETPOLL: Self = Self(bindings::netdev_priv_flags_IFF_DISABLE_NETPOLL as u64);
    /// Device is a team master.
    pub const TEAM: Self = Self(bindings::netdev_priv_flags_IFF_TEAM as u64);
    /// Device is a bridge.
    pub const EBRIDGE: Self = Self(bindings::netdev_priv_flags_IFF_EBRIDGE as u64);
    /// Device is an Open vSwitch master.
    pub const OPENVSWITCH: Self = Self(bindings::netdev_priv_flags_IFF_OPENVSWITCH as u64);

    /// Wraps bits read from the kernel.
    pub(crate) const fn from_raw(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every flag of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether some flag of `other` is in `self`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both sets (`|` in constant expressions).
    pub const fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl core::ops::BitOr for PrivFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// `IFF_*` interface flags (`enum net_device_flags`) used by this crate.
pub mod flags {
    use crate::bindings;

    /// Interface is administratively up.
    pub const UP: u32 = bindings::net_device_flags_IFF_UP;
    /// Promiscuous mode.
    pub const PROMISC: u32 = bindings::net_device_flags_IFF_PROMISC;
    /// Receives all multicast.
    pub const ALLMULTI: u32 = bindings::net_device_flags_IFF_ALLMULTI;
    /// Master of a load balancer (bonding).
    pub const MASTER: u32 = bindings::net_device_flags_IFF_MASTER;
}
