// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) seen from outside their driver.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/if_vlan.h`](srctree/include/linux/if_vlan.h).
//!
//! [`Device`] is a reference to any network device: its accessors are safe in any context, and
//! the operations that change it (open, MTU, links, VLAN filters, ...) demand proof of RTNL
//! ([`Rtnl`]). [`ARef<Device>`] holds an untracked reference (`dev_hold`), [`DevRef`] a tracked
//! one (`netdev_hold` with a `netdevice_tracker`, visible to `NET_DEV_REFCNT_TRACKER`), and
//! [`DeviceSlot`] publishes an optional device to RCU readers.

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::{to_result, Result},
    net::rtnl::Rtnl,
    net::stats::Stats64,
    str::CStr,
    sync::rcu,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{
    cell::UnsafeCell,
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};

/// Length of an Ethernet (MAC-48) address.
pub const ETH_ALEN: usize = 6;

/// Length of an Ethernet header.
pub const ETH_HLEN: u16 = bindings::ETH_HLEN as u16;

/// A set of `NETIF_F_*` feature bits (`netdev_features_t`).
///
/// # Examples
///
/// ```
/// use kernel::net::dev::Features;
///
/// let f = Features::SG | Features::HW_CSUM;
/// assert!(f.contains(Features::SG));
/// assert!(!f.contains(Features::LRO));
/// assert_eq!((f & !Features::SG), Features::HW_CSUM);
/// assert!(Features::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Features(pub u64);

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

    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Accumulates the features of one lower device into those of an upper device, the way
    /// bonding and failover do (`netdev_increment_features()`): `mask` selects what `one` may
    /// add; checksum and `ALL_FOR_ALL` rules are those of the C function.
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

impl core::ops::Not for Features {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0)
    }
}

/// `IFF_*` private flags (`enum netdev_priv_flags`) used by this crate.
pub mod priv_flags {
    use crate::bindings;

    /// Device is a failover master.
    pub const FAILOVER: u64 = bindings::netdev_priv_flags_IFF_FAILOVER as u64;
    /// Device is a failover slave.
    pub const FAILOVER_SLAVE: u64 = bindings::netdev_priv_flags_IFF_FAILOVER_SLAVE as u64;
    /// Do not run IPv6 address configuration on the device.
    pub const NO_ADDRCONF: u64 = bindings::netdev_priv_flags_IFF_NO_ADDRCONF as u64;
    /// Device supports unicast filtering.
    pub const UNICAST_FLT: u64 = bindings::netdev_priv_flags_IFF_UNICAST_FLT as u64;
    /// Device has no qdisc.
    pub const NO_QUEUE: u64 = bindings::netdev_priv_flags_IFF_NO_QUEUE as u64;
    /// The core may drop the dst of skbs before transmit.
    pub const XMIT_DST_RELEASE: u64 = bindings::netdev_priv_flags_IFF_XMIT_DST_RELEASE as u64;
    /// As `XMIT_DST_RELEASE`, permanently.
    pub const XMIT_DST_RELEASE_PERM: u64 =
        bindings::netdev_priv_flags_IFF_XMIT_DST_RELEASE_PERM as u64;
    /// Device can transmit shared skbs.
    pub const TX_SKB_SHARING: u64 = bindings::netdev_priv_flags_IFF_TX_SKB_SHARING as u64;
    /// Device is a team master.
    pub const TEAM: u64 = bindings::netdev_priv_flags_IFF_TEAM as u64;
    /// Device is a bridge.
    pub const EBRIDGE: u64 = bindings::netdev_priv_flags_IFF_EBRIDGE as u64;
    /// Device is an Open vSwitch master.
    pub const OPENVSWITCH: u64 = bindings::netdev_priv_flags_IFF_OPENVSWITCH as u64;
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

/// A network device.
///
/// Context: the accessors may be called in any context; methods that take a [`Rtnl`] need RTNL
/// (process context, may sleep) unless documented otherwise.
///
/// # Invariants
///
/// A `&Device` points to a valid, initialised `struct net_device` for its whole lifetime: the
/// reference was derived from a counted reference ([`ARef`], [`DevRef`]), from an RCU-protected
/// publication read inside an RCU read-side critical section, or from a callback argument that
/// the kernel keeps alive for the duration of the callback.
#[repr(transparent)]
pub struct Device(Opaque<bindings::net_device>);

// SAFETY: `net_device` is a kernel object designed to be used from any task; its reference count
// is atomic and the mutable state is protected by locks (RTNL, addr lock, ...) that the methods of
// this type take or demand.
unsafe impl Send for Device {}
// SAFETY: see `Send`; `&Device` methods are safe to call concurrently.
unsafe impl Sync for Device {}

// SAFETY: `dev_hold`/`dev_put` keep the device allocated while the count is non-zero.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: by the type invariant, the device is valid.
        unsafe { bindings::dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // CAST: `Device` is a transparent wrapper of `net_device`.
        // SAFETY: the caller owns a reference obtained from `inc_ref`.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

impl Device {
    /// Creates a reference to a `struct net_device` owned by someone else.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid, initialised `net_device` that stays valid for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Device` is a transparent wrapper around `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw `struct net_device` pointer.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The interface name.
    ///
    /// The name may change under RTNL (`dev_change_name`), hence the proof.
    pub fn name<'a>(&'a self, _rtnl: &'a Rtnl) -> &'a CStr {
        // SAFETY: the name is a NUL-terminated array inside the valid device, and RTNL keeps it
        // from being rewritten while borrowed.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: the device is valid (type invariant); `ifindex` is set at registration.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).ifindex)) }
    }

    /// The link-layer type (`ARPHRD_*`).
    pub fn type_(&self) -> u16 {
        // SAFETY: the device is valid; `type` is constant after registration.
        unsafe { (*self.as_raw()).type_ }
    }

    /// Whether this is an Ethernet device (`ARPHRD_ETHER`).
    pub fn is_ethernet(&self) -> bool {
        u32::from(self.type_()) == bindings::ARPHRD_ETHER
    }

    /// The permanent hardware address (first [`ETH_ALEN`] bytes).
    ///
    /// Drivers set it before registration and never change it afterwards.
    pub fn perm_addr(&self) -> [u8; ETH_ALEN] {
        let mut a = [0u8; ETH_ALEN];
        // SAFETY: the device is valid; `perm_addr` has `MAX_ADDR_LEN >= ETH_ALEN` bytes.
        let src = unsafe { &(*self.as_raw()).perm_addr };
        a.copy_from_slice(&src[..ETH_ALEN]);
        a
    }

    /// The current hardware address (first [`ETH_ALEN`] bytes).
    pub fn dev_addr(&self) -> [u8; ETH_ALEN] {
        let mut a = [0u8; ETH_ALEN];
        // SAFETY: the device is valid; `dev_addr` points to at least `addr_len` bytes, and
        // Ethernet devices have `addr_len == ETH_ALEN`; non-Ethernet devices get zeroes.
        unsafe {
            let d = self.as_raw();
            if (*d).addr_len as usize >= ETH_ALEN && !(*d).dev_addr.is_null() {
                ptr::copy_nonoverlapping((*d).dev_addr, a.as_mut_ptr(), ETH_ALEN);
            }
        }
        a
    }

    /// Interface flags (`IFF_*`, see [`flags`]).
    pub fn flags(&self) -> u32 {
        // SAFETY: the device is valid; a racy read of a word is what the C code does as well.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).flags)) }
    }

    /// Private flags (`IFF_*`, see [`priv_flags`]).
    pub fn priv_flags(&self) -> u64 {
        // SAFETY: the device is valid.
        unsafe { bindings::netdev_priv_flags(self.as_raw()) as u64 }
    }

    /// Whether the device is a failover master (`netif_is_failover()`).
    pub fn is_failover_master(&self) -> bool {
        self.priv_flags() & priv_flags::FAILOVER != 0
    }

    /// Whether the device is a failover slave (`netif_is_failover_slave()`).
    pub fn is_failover_slave(&self) -> bool {
        self.priv_flags() & priv_flags::FAILOVER_SLAVE != 0
    }

    /// Whether the device is a master of some kind (bond, team, bridge, OVS, failover).
    pub fn is_master_kind(&self) -> bool {
        self.flags() & flags::MASTER != 0
            || self.priv_flags()
                & (priv_flags::FAILOVER
                    | priv_flags::TEAM
                    | priv_flags::EBRIDGE
                    | priv_flags::OPENVSWITCH)
                != 0
    }

    /// Whether the device is administratively up (`netif_running()`).
    pub fn is_running(&self) -> bool {
        // SAFETY: the device is valid.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Whether the device has carrier (`netif_carrier_ok()`).
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: the device is valid.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Whether the device's transmit queues are attached to their qdisc.
    ///
    /// The core attaches them (`dev_activate()`) only once the carrier is up, from the link
    /// watcher, some time after `netif_carrier_on()`; until then, and again from
    /// `dev_deactivate()` on, every packet queued to the device is dropped by `noop_qdisc`. A
    /// stacked device that hands packets to this one should treat it as ready only when this and
    /// [`Device::carrier_ok`] both hold.
    pub fn tx_qdisc_active(&self) -> bool {
        // SAFETY: the device is valid; the helper only compares the queue's qdisc pointer
        // (`rcu_access_pointer()`), it does not dereference it.
        unsafe { bindings::netdev_tx_qdisc_active(self.as_raw()) }
    }

    /// Current MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: the device is valid; `mtu` is read with `READ_ONCE` semantics as in C.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).mtu)) }
    }

    /// Smallest MTU the device accepts.
    pub fn min_mtu(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).min_mtu)) }
    }

    /// Largest MTU the device accepts.
    pub fn max_mtu(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).max_mtu)) }
    }

    /// Active features.
    pub fn features(&self) -> Features {
        // SAFETY: the device is valid.
        Features(unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).features)) })
    }

    /// Features inherited by VLAN devices stacked on this one.
    pub fn vlan_features(&self) -> Features {
        // SAFETY: the device is valid.
        Features(unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).vlan_features)) })
    }

    /// Features usable for encapsulated packets.
    pub fn hw_enc_features(&self) -> Features {
        // SAFETY: the device is valid.
        Features(unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).hw_enc_features)) })
    }

    /// Hardware header length.
    pub fn hard_header_len(&self) -> u16 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).hard_header_len)) }
    }

    /// Number of tx queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).real_num_tx_queues)) }
    }

    /// Whether the device cannot handle VLAN packets (`NETIF_F_VLAN_CHALLENGED`).
    pub fn is_vlan_challenged(&self) -> bool {
        self.features().contains(Features::VLAN_CHALLENGED)
    }

    fn parent_raw(&self) -> *mut bindings::device {
        // SAFETY: the device is valid; the parent is set before registration and constant after.
        unsafe { (*self.as_raw()).dev.parent }
    }

    /// Whether both devices have the same, non-null parent device (`dev.parent`).
    pub fn same_parent(&self, other: &Device) -> bool {
        let p = self.parent_raw();
        !p.is_null() && p == other.parent_raw()
    }

    /// Whether the device has a parent and it is a PCI device.
    pub fn parent_is_pci(&self) -> bool {
        let p = self.parent_raw();
        // SAFETY: `p` is a valid device when non-null (held by the registered net_device).
        !p.is_null() && unsafe { bindings::dev_is_pci(p) }
    }

    /// Name of the parent device (`dev_name(dev.parent)`), e.g. the bus address.
    pub fn parent_name(&self) -> Option<&CStr> {
        // SAFETY: the device is valid.
        let p = unsafe { bindings::netdev_parent_name(self.as_raw()) };
        if p.is_null() {
            None
        } else {
            // SAFETY: `dev_name()` is a NUL-terminated string living as long as the parent,
            // which lives at least as long as this device.
            Some(unsafe { CStr::from_char_ptr(p) })
        }
    }

    /// Whether both devices are in the same network namespace.
    pub fn same_net(&self, other: &Device) -> bool {
        // SAFETY: both devices are valid; only the namespace pointers are compared.
        unsafe { bindings::dev_net(self.as_raw()) == bindings::dev_net(other.as_raw()) }
    }

    /// Whether `addr` equals the permanent address (`ether_addr_equal()`).
    pub fn perm_addr_is(&self, addr: &[u8; ETH_ALEN]) -> bool {
        let mine = self.perm_addr();
        // SAFETY: both arrays hold `ETH_ALEN` bytes, more than the 6 the helper reads.
        unsafe { bindings::ether_addr_equal(mine.as_ptr(), addr.as_ptr()) }
    }

    /// Whether VLAN devices are stacked on this device (`vlan_uses_dev()`).
    pub fn uses_vlans(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: the device is valid and RTNL is held, as `vlan_uses_dev()` requires.
        unsafe { bindings::vlan_uses_dev(self.as_raw()) }
    }

    /// Counted references to all devices in this device's network namespace (itself included),
    /// in list order (`for_each_netdev()`).
    pub fn devices_in_same_net(&self, _rtnl: &Rtnl) -> Result<KVec<ARef<Device>>> {
        let mut v = KVec::new();
        let mut cur: *mut bindings::net_device = ptr::null_mut();
        loop {
            // SAFETY: RTNL is held, so the namespace's device list is stable; `cur` is null or a
            // device of that list.
            cur = unsafe { bindings::netdev_next_in_net_of(self.as_raw(), cur) };
            if cur.is_null() {
                return Ok(v);
            }
            // SAFETY: a listed device is valid while RTNL is held.
            let d = unsafe { Device::from_raw(cur) };
            v.push(ARef::from(d), GFP_KERNEL)?;
        }
    }

    /// Takes a tracked reference (see [`DevRef`]).
    pub fn tracked_ref(&self) -> DevRef {
        DevRef::new(self)
    }

    /// Reads the statistics (`dev_get_stats()`).
    ///
    /// Context: any; calls the driver's `ndo_get_stats64`.
    pub fn stats(&self) -> Stats64 {
        let mut s = Stats64::default();
        // SAFETY: the device is valid and `s` is a valid `rtnl_link_stats64`.
        unsafe { bindings::dev_get_stats(self.as_raw(), s.as_raw_mut()) };
        s
    }

    /// Opens the device (`dev_open()`).
    pub fn open(&self, _rtnl: &Rtnl) -> Result {
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_open(self.as_raw(), ptr::null_mut()) })
    }

    /// Closes the device (`dev_close()`).
    pub fn close(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held.
        unsafe { bindings::dev_close(self.as_raw()) }
    }

    /// Changes the MTU (`dev_set_mtu()`).
    pub fn set_mtu(&self, mtu: u32, _rtnl: &Rtnl) -> Result {
        let mtu = i32::try_from(mtu).map_err(|_| crate::error::code::EINVAL)?;
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// Changes the promiscuity count by `inc` (`dev_set_promiscuity()`).
    pub fn set_promiscuity(&self, inc: i32, _rtnl: &Rtnl) -> Result {
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_promiscuity(self.as_raw(), inc) })
    }

    /// Changes the all-multicast count by `inc` (`dev_set_allmulti()`).
    pub fn set_allmulti(&self, inc: i32, _rtnl: &Rtnl) -> Result {
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_allmulti(self.as_raw(), inc) })
    }

    /// Sets and clears private flags of the device.
    ///
    /// Only flags that describe the device's relation to an upper device belong here (e.g.
    /// [`priv_flags::FAILOVER_SLAVE`]); the core reads `priv_flags` under RTNL.
    pub fn update_priv_flags(&self, set: u64, clear: u64, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL, which serialises writers, is held.
        unsafe {
            bindings::netdev_update_priv_flags(self.as_raw(), set as _, clear as _);
        }
    }

    /// Links this device below `upper` as its master, with LAG information saying the upper
    /// device is active-backup (`netdev_master_upper_dev_link()`).
    pub fn link_master_active_backup(&self, upper: &Device, _rtnl: &Rtnl) -> Result {
        let mut info = bindings::netdev_lag_upper_info {
            tx_type: bindings::netdev_lag_tx_type_NETDEV_LAG_TX_TYPE_ACTIVEBACKUP,
            hash_type: bindings::netdev_lag_hash_NETDEV_LAG_HASH_NONE,
        };
        // CAST: the C parameter is a `void *` to a `netdev_lag_upper_info`.
        // SAFETY: both devices are valid, RTNL is held; `info` is only read during the call.
        to_result(unsafe {
            bindings::netdev_master_upper_dev_link(
                self.as_raw(),
                upper.as_raw(),
                ptr::null_mut(),
                ptr::addr_of_mut!(info).cast(),
                ptr::null_mut(),
            )
        })
    }

    /// Removes the link to the upper device `upper` (`netdev_upper_dev_unlink()`).
    pub fn unlink_upper(&self, upper: &Device, _rtnl: &Rtnl) {
        // SAFETY: both devices are valid and RTNL is held.
        unsafe { bindings::netdev_upper_dev_unlink(self.as_raw(), upper.as_raw()) }
    }

    /// Tells the upper device's listeners about this lower device's state
    /// (`netdev_lower_state_changed()` with `struct netdev_lag_lower_state_info`).
    pub fn lower_state_changed(&self, link_up: bool, tx_enabled: bool, _rtnl: &Rtnl) {
        let mut info = bindings::netdev_lag_lower_state_info::default();
        info.set_link_up(link_up.into());
        info.set_tx_enabled(tx_enabled.into());
        // CAST: the C parameter is a `void *` to a `netdev_lag_lower_state_info`.
        // SAFETY: the device is valid, RTNL is held; `info` is only read during the call.
        unsafe {
            bindings::netdev_lower_state_changed(self.as_raw(), ptr::addr_of_mut!(info).cast())
        }
    }

    /// Sends `NETDEV_JOIN` for this device (`call_netdevice_notifiers()`).
    pub fn notify_join(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held.
        unsafe {
            bindings::call_netdevice_notifiers(bindings::netdev_cmd_NETDEV_JOIN as _, self.as_raw())
        };
    }

    /// Tells the network's peers where this device's addresses now are
    /// (`__netdev_notify_peers()`: gratuitous ARP, unsolicited neighbour advertisements and
    /// IGMP/MLD reports), so that switches relearn the MAC after a path change.
    pub fn notify_peers(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held, as `__netdev_notify_peers()` requires.
        unsafe { bindings::__netdev_notify_peers(self.as_raw()) };
    }

    /// Adds to this device every VLAN id configured on `by` (`vlan_vids_add_by_dev()`).
    pub fn vlan_vids_add_by_dev(&self, by: &Device, _rtnl: &Rtnl) -> Result {
        // SAFETY: both devices are valid and RTNL is held.
        to_result(unsafe { bindings::vlan_vids_add_by_dev(self.as_raw(), by.as_raw()) })
    }

    /// Removes from this device every VLAN id configured on `by` (`vlan_vids_del_by_dev()`).
    pub fn vlan_vids_del_by_dev(&self, by: &Device, _rtnl: &Rtnl) {
        // SAFETY: both devices are valid and RTNL is held.
        unsafe { bindings::vlan_vids_del_by_dev(self.as_raw(), by.as_raw()) }
    }

    /// Adds a VLAN id filter (`vlan_vid_add()`); `proto` is the big-endian ethertype.
    pub fn vlan_vid_add(&self, proto: u16, vid: u16, _rtnl: &Rtnl) -> Result {
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::vlan_vid_add(self.as_raw(), proto, vid) })
    }

    /// Removes a VLAN id filter (`vlan_vid_del()`); `proto` is the big-endian ethertype.
    pub fn vlan_vid_del(&self, proto: u16, vid: u16, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held.
        unsafe { bindings::vlan_vid_del(self.as_raw(), proto, vid) }
    }

    /// Removes from this device the unicast and multicast addresses synced from `from`
    /// (`dev_uc_unsync()`, `dev_mc_unsync()`); takes the address locks itself.
    ///
    /// Context: process or softirq context, not with `from`'s address lock held.
    pub fn unsync_addrs_from(&self, from: &Device) {
        // SAFETY: both devices are valid; the functions take both address locks.
        unsafe {
            bindings::dev_uc_unsync(self.as_raw(), from.as_raw());
            bindings::dev_mc_unsync(self.as_raw(), from.as_raw());
        }
    }

    /// Locks the address lists of this device (`netif_addr_lock_bh()`).
    pub fn lock_addrs(&self) -> AddrLockGuard<'_> {
        // SAFETY: the device is valid; unlocked by the guard's `Drop`.
        unsafe { bindings::netif_addr_lock_bh(self.as_raw()) };
        // INVARIANT: the lock was just taken.
        AddrLockGuard {
            locked: AddrLocked(self),
        }
    }

    /// Selects a tx queue of this device for `skb`, the way the core would for this device
    /// (its `ndo_select_queue`, or `netdev_pick_tx()`).
    ///
    /// Context: as `ndo_select_queue`: with bottom halves disabled and RCU read lock held; the
    /// returned index is meant for this device.
    pub fn pick_tx_queue(&self, skb: &crate::net::skbuff::SkBuff, sb_dev: Option<&Device>) -> u16 {
        let sb = sb_dev.map_or(ptr::null_mut(), |d| d.as_raw());
        // SAFETY: the device and skb are valid; the context is the documented one.
        unsafe { bindings::netdev_select_queue_of(self.as_raw(), skb.as_raw(), sb) }
    }

    /// Transmits nothing but counts a dropped tx packet in the core stats of the device.
    pub(crate) fn count_tx_dropped(&self) {
        // SAFETY: the device is valid; the counter is per-cpu and any context may increment it.
        unsafe { bindings::dev_core_stats_tx_dropped_inc(self.as_raw()) }
    }
}

/// Proof that the address lists (`uc`/`mc`) of a device are locked (`netif_addr_lock`).
///
/// Obtained from [`Device::lock_addrs`] or, in `ndo_set_rx_mode`, from the adapter.
///
/// # Invariants
///
/// The address lock of `self.0` is held while this value is live.
pub struct AddrLocked<'a>(&'a Device);

impl<'a> AddrLocked<'a> {
    /// Creates the proof.
    ///
    /// # Safety
    ///
    /// The caller must hold `dev`'s address lock for `'a`.
    pub unsafe fn assume_locked(dev: &'a Device) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(dev)
    }

    /// Syncs the locked device's unicast and multicast lists to `to`
    /// (`dev_uc_sync_multiple()`, `dev_mc_sync_multiple()`), as layered devices do.
    pub fn sync_to(&self, to: &Device) {
        // SAFETY: both devices are valid and the source's address lock is held (invariant); the
        // functions take `to`'s lock themselves.
        unsafe {
            bindings::dev_uc_sync_multiple(to.as_raw(), self.0.as_raw());
            bindings::dev_mc_sync_multiple(to.as_raw(), self.0.as_raw());
        }
    }
}

/// The address lock of a device, held; released on drop (`netif_addr_unlock_bh()`).
///
/// Context: bottom halves are disabled while the guard lives; do not sleep.
///
/// # Invariants
///
/// The address lock of the device in `locked` was taken with `netif_addr_lock_bh()` by
/// [`Device::lock_addrs`] and is held until the guard is dropped.
pub struct AddrLockGuard<'a> {
    locked: AddrLocked<'a>,
}

impl<'a> core::ops::Deref for AddrLockGuard<'a> {
    type Target = AddrLocked<'a>;
    fn deref(&self) -> &AddrLocked<'a> {
        &self.locked
    }
}

impl Drop for AddrLockGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock was taken by `Device::lock_addrs` and is still held.
        unsafe { bindings::netif_addr_unlock_bh(self.locked.0.as_raw()) };
    }
}

/// Types that are a `struct net_device` (a [`Device`] or a typed wrapper of one).
///
/// # Safety
///
/// Implementers must be `#[repr(transparent)]` wrappers of [`Device`] (so that a pointer to the
/// type is a pointer to a valid `net_device`) and must not add invariants that a reference count
/// on the `net_device` does not keep.
pub unsafe trait NetDevice: Send + Sync {
    /// The underlying device.
    fn as_device(&self) -> &Device;
}

// SAFETY: `Device` is itself.
unsafe impl NetDevice for Device {
    fn as_device(&self) -> &Device {
        self
    }
}

/// A tracked, counted reference to a network device (`netdev_hold()` / `netdev_put()` with a
/// `netdevice_tracker`); with `NET_DEV_REFCNT_TRACKER`, a leaked `DevRef` is reported with the
/// stack that took it.
///
/// Context: may be created and dropped in any context (the tracker is allocated with
/// `GFP_ATOMIC`).
///
/// # Invariants
///
/// `ptr` is valid and this value owns one reference on it, registered in `tracker`.
pub struct DevRef<D: NetDevice = Device> {
    ptr: NonNull<D>,
    tracker: bindings::netdevice_tracker,
}

// SAFETY: the reference may be dropped on any task (`netdev_put` has no context requirement
// beyond the tracker's spinlock), and `D: Send + Sync`.
unsafe impl<D: NetDevice> Send for DevRef<D> {}
// SAFETY: `&DevRef` only gives `&D`, and `D: Sync`.
unsafe impl<D: NetDevice> Sync for DevRef<D> {}

impl<D: NetDevice> DevRef<D> {
    /// Takes a new tracked reference on `dev`.
    pub fn new(dev: &D) -> Self {
        // SAFETY: zeroes are a valid (empty) tracker.
        let mut tracker: bindings::netdevice_tracker = unsafe { core::mem::zeroed() };
        // SAFETY: the device is valid; the tracker is filled in by the call.
        unsafe {
            bindings::netdev_hold(dev.as_device().as_raw(), &mut tracker, bindings::GFP_ATOMIC)
        };
        // INVARIANT: one reference was taken and recorded in `tracker`.
        Self {
            ptr: NonNull::from(dev),
            tracker,
        }
    }

    /// Whether both references are to the same device.
    pub fn ptr_eq(a: &Self, b: &D) -> bool {
        ptr::eq(a.ptr.as_ptr(), b)
    }
}

impl<D: NetDevice> Clone for DevRef<D> {
    fn clone(&self) -> Self {
        Self::new(self)
    }
}

impl<D: NetDevice> core::ops::Deref for DevRef<D> {
    type Target = D;
    fn deref(&self) -> &D {
        // SAFETY: by the invariant, the reference keeps the device valid.
        unsafe { self.ptr.as_ref() }
    }
}

impl<D: NetDevice> Drop for DevRef<D> {
    fn drop(&mut self) {
        let dev = self.as_device().as_raw();
        // SAFETY: by the invariant, this owns one reference recorded in `self.tracker`.
        unsafe { bindings::netdev_put(dev, &mut self.tracker) };
    }
}

/// An RCU-published slot holding an optional tracked reference to a device.
///
/// Writers replace the content under RTNL; readers get a `&Device` inside an RCU read-side
/// critical section (any context, including the tx path and rx handlers). A replaced device is
/// handed back only after a grace period (`synchronize_net()`), so readers never see a device
/// whose slot reference was dropped.
///
/// # Invariants
///
/// `ptr` is null or points to a device on which the slot owns one reference recorded in
/// `tracker`. `ptr` is written only with RTNL held, `tracker` is accessed only with RTNL held or
/// through `&mut self`.
///
/// # Examples
///
/// ```
/// use kernel::{net::dev::DeviceSlot, net::rtnl, sync::rcu};
///
/// let slot = DeviceSlot::new();
/// let rtnl = rtnl::lock();
/// assert!(slot.get_rtnl(&rtnl).is_none());
/// assert!(slot.take(&rtnl).is_none());
/// drop(rtnl);
/// assert!(slot.get(&rcu::read_lock()).is_none());
/// ```
pub struct DeviceSlot {
    ptr: AtomicPtr<bindings::net_device>,
    tracker: UnsafeCell<bindings::netdevice_tracker>,
}

// SAFETY: `ptr` is atomic; `tracker` is only touched under RTNL or with `&mut self` (invariant).
unsafe impl Sync for DeviceSlot {}
// SAFETY: the owned reference may be dropped on any task.
unsafe impl Send for DeviceSlot {}

impl Default for DeviceSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceSlot {
    /// An empty slot.
    pub const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            // SAFETY: zeroes are a valid (empty) tracker.
            tracker: UnsafeCell::new(unsafe { core::mem::zeroed() }),
        }
    }

    /// The published device, for RCU readers.
    pub fn get<'a>(&'a self, _rcu: &'a rcu::Guard) -> Option<&'a Device> {
        // Acquire pairs with the Release in `set`: the device is fully visible (as with
        // `rcu_dereference()`).
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a published pointer is valid while the slot holds its reference, and `take`
        // waits for a grace period before that reference can be dropped; we are inside an RCU
        // read-side critical section.
        (!p.is_null()).then(|| unsafe { Device::from_raw(p) })
    }

    /// The published device, for RTNL holders (`rtnl_dereference()`).
    pub fn get_rtnl<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<&'a Device> {
        let p = self.ptr.load(Ordering::Relaxed);
        // SAFETY: only RTNL holders change the slot, so the reference it owns outlives `'a`.
        (!p.is_null()).then(|| unsafe { Device::from_raw(p) })
    }

    /// Whether the slot holds `dev`.
    pub fn holds(&self, dev: &Device, _rtnl: &Rtnl) -> bool {
        ptr::eq(self.ptr.load(Ordering::Relaxed), dev.as_raw())
    }

    /// Publishes `dev` in an empty slot, taking a tracked reference. Fails with `EBUSY` if the
    /// slot is occupied.
    ///
    /// Context: process context with RTNL held.
    pub fn set(&self, dev: &Device, _rtnl: &Rtnl) -> Result {
        if !self.ptr.load(Ordering::Relaxed).is_null() {
            return Err(crate::error::code::EBUSY);
        }
        // SAFETY: RTNL is held, so nobody else touches the tracker; the device is valid.
        unsafe { bindings::netdev_hold(dev.as_raw(), self.tracker.get(), bindings::GFP_KERNEL) };
        // INVARIANT: the reference recorded in `tracker` is owned by the slot from now on.
        self.ptr.store(dev.as_raw(), Ordering::Release);
        Ok(())
    }

    /// Empties the slot and returns its device once no RCU reader can still see it.
    ///
    /// Context: process context with RTNL held; sleeps for a grace period if the slot was
    /// occupied.
    pub fn take(&self, _rtnl: &Rtnl) -> Option<ARef<Device>> {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        // SAFETY: just an FFI call; we may sleep (documented context).
        unsafe { bindings::synchronize_net() };
        // SAFETY: the slot owned a reference on `p` recorded in `tracker` (RTNL held); turn it
        // into an untracked one owned by the returned `ARef`.
        // CAST: `Device` is a transparent wrapper of `net_device`.
        unsafe {
            bindings::dev_hold(p);
            bindings::netdev_put(p, self.tracker.get());
            Some(ARef::from_raw(NonNull::new_unchecked(p.cast::<Device>())))
        }
    }
}

impl Drop for DeviceSlot {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `&mut self`: no reader or writer remains; the slot owns this reference.
            unsafe { bindings::netdev_put(p, self.tracker.get()) };
        }
    }
}

/// Prints a message about a network device at the given level (`netdev_printk()`).
#[doc(hidden)]
pub fn printk(level: &[u8; 3], dev: &Device, args: core::fmt::Arguments<'_>) {
    // CAST: byte strings to `char *`; `%pA` takes a `fmt::Arguments` through a `void *`.
    // SAFETY: `level` is a NUL-terminated `KERN_*` string, the device is valid, and `%pA` is
    // given a `fmt::Arguments`, which lives across the call.
    unsafe {
        bindings::netdev_printk(
            level.as_ptr().cast(),
            dev.as_raw(),
            c"%pA".as_ptr().cast(),
            ptr::addr_of!(args).cast::<core::ffi::c_void>(),
        )
    };
}

/// `KERN_INFO`.
#[doc(hidden)]
pub const KERN_INFO: &[u8; 3] = b"\x016\0";
/// `KERN_WARNING`.
#[doc(hidden)]
pub const KERN_WARNING: &[u8; 3] = b"\x014\0";
/// `KERN_ERR`.
#[doc(hidden)]
pub const KERN_ERR: &[u8; 3] = b"\x013\0";

/// Prints an info message prefixed with the device (`netdev_info()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_info {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::dev::printk($crate::net::dev::KERN_INFO, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints a warning prefixed with the device (`netdev_warn()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_warn {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::dev::printk($crate::net::dev::KERN_WARNING, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints an error prefixed with the device (`netdev_err()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_err {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::dev::printk($crate::net::dev::KERN_ERR, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}
