// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`) seen from outside their driver.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h),
//! [`include/linux/if_vlan.h`](srctree/include/linux/if_vlan.h).
//!
//! Two views of a `struct net_device`:
//!
//! - [`Allocated`]: allocated and set up by its driver, maybe not registered yet (what
//!   `net_failover_create()` receives from `virtio_net`). Only the fields a driver fills in
//!   before registration can be read; nothing can be done *to* it.
//! - [`Device`]: a device that has been registered (its queues have a qdisc, its notifiers and
//!   sysfs exist), possibly unregistered since. Its accessors are safe in any context; the
//!   operations that change it (open, MTU, VLAN filters, ...) demand proof of RTNL ([`Rtnl`]).
//!
//! References: [`ARef<Device>`] holds an untracked reference (`dev_hold`), [`DevRef`] a tracked
//! one (`netdev_hold` with a `netdevice_tracker`, visible to `NET_DEV_REFCNT_TRACKER`), and
//! [`DeviceSlot`] publishes an optional device to RCU readers. Upper devices link lower ones
//! with [`LowerLink`](crate::net::lower::LowerLink).

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::{to_result, Result},
    net::driver::TxContext,
    net::rtnl::{Rtnl, RtnlAtomic},
    net::skbuff::SkBuff,
    net::stats::Stats64,
    str::CStr,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::ptr::{self, NonNull};

mod addr;
mod bind;
mod features;
mod print;
mod refs;

pub use addr::{AddrLockGuard, AddrLocked};
pub use bind::{BindHandler, PciBindNotifier, ProbingSet};
pub use features::{flags, Features, PrivFlags};
pub use print::RateLimit;
#[doc(hidden)]
pub use print::{printk, Level};
pub(crate) use refs::sealed as rcu_sealed;
pub use refs::{DevRef, DeviceSlot, NetDevice, RcuReader};

/// Length of an Ethernet (MAC-48) address.
pub const ETH_ALEN: usize = 6;

/// Length of an Ethernet header.
pub const ETH_HLEN: u16 = bindings::ETH_HLEN as u16;

/// Smallest MTU of an Ethernet device (`ETH_MIN_MTU`).
pub const ETH_MIN_MTU: u32 = bindings::ETH_MIN_MTU;

/// Largest MTU the stack allows an Ethernet device (`ETH_MAX_MTU`).
pub const ETH_MAX_MTU: u32 = bindings::ETH_MAX_MTU;

/// A `struct net_device` allocated and set up by its driver, registered or not.
///
/// Only what a driver sets before `register_netdev()` and does not change afterwards can be
/// read here (addresses, MTU limits, parent device, namespace). A [`Device`] dereferences to
/// this type.
///
/// # Invariants
///
/// A `&Allocated` points to a `struct net_device` allocated by `alloc_netdev_mqs()` whose driver
/// has filled in its addresses, MTU limits, parent and namespace, valid for the reference's
/// lifetime. While it is not registered yet (`NETREG_UNINITIALIZED`), its parent device, if it
/// has one, is valid too; once registered, the registration holds the parent until the device
/// is unregistered (`device_del()`, after `reg_state` left `NETREG_REGISTERED` under RTNL), and
/// after that `dev.parent` may dangle.
#[repr(transparent)]
pub struct Allocated(Opaque<bindings::net_device>);

// SAFETY: the fields read through `&Allocated` are plain words that the core reads without locks
// as well; the structure can be referenced from any task.
unsafe impl Send for Allocated {}
// SAFETY: see `Send`; every method only reads.
unsafe impl Sync for Allocated {}

impl Allocated {
    /// Creates a reference to a device allocated and set up by its driver.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a `net_device` allocated by `alloc_netdev_mqs()`, whose driver has set
    /// its addresses, MTU limits, parent and namespace, and that stays allocated for `'a`; if it
    /// is not registered, its parent (if any) must stay valid for `'a` as well.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Allocated` is a transparent wrapper around `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw `struct net_device` pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The permanent hardware address (first [`ETH_ALEN`] bytes).
    ///
    /// Drivers set it before registration and never change it afterwards.
    pub fn perm_addr(&self) -> [u8; ETH_ALEN] {
        let mut a = [0u8; ETH_ALEN];
        // SAFETY: the device is valid (invariant); `perm_addr` has `MAX_ADDR_LEN >= ETH_ALEN`
        // bytes.
        let src = unsafe { &(*self.as_raw()).perm_addr };
        a.copy_from_slice(&src[..ETH_ALEN]);
        a
    }

    /// Whether `addr` equals the permanent address.
    pub fn perm_addr_is(&self, addr: &[u8; ETH_ALEN]) -> bool {
        self.perm_addr() == *addr
    }

    /// The current hardware address (first [`ETH_ALEN`] bytes); zeroes for a device whose
    /// addresses are shorter than an Ethernet address.
    pub fn dev_addr(&self) -> [u8; ETH_ALEN] {
        let mut a = [0u8; ETH_ALEN];
        // SAFETY: the device is valid; `dev_addr` points to at least `addr_len` bytes, so
        // reading `ETH_ALEN` bytes is in bounds when `addr_len >= ETH_ALEN`. `dev_addr_set()`
        // rewrites the bytes under RTNL while lockless readers (as in C) may read them: each
        // byte is read once, volatile (`READ_ONCE()`), so a racing reader gets some mix of old
        // and new bytes, as a C reader would; the race with `dev_addr_set()`'s plain copy is
        // the one C's readers accept.
        unsafe {
            let d = self.as_raw();
            if (*d).addr_len as usize >= ETH_ALEN && !(*d).dev_addr.is_null() {
                let src = (*d).dev_addr;
                for (i, b) in a.iter_mut().enumerate() {
                    *b = ptr::read_volatile(src.add(i));
                }
            }
        }
        a
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

    /// Largest MTU the device accepts; 0 means no upper limit (`dev_validate_mtu()`).
    pub fn max_mtu(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).max_mtu)) }
    }

    /// The parent pointer, only to be compared, or dereferenced where
    /// [`Allocated::parent_held`] says it is valid.
    pub(crate) fn parent_raw(&self) -> *mut bindings::device {
        // SAFETY: the device is valid; the parent is set before registration and constant after.
        unsafe { (*self.as_raw()).dev.parent }
    }

    /// `reg_state`, read once. It enters and leaves `NETREG_REGISTERED` only under RTNL; the
    /// later states are written without it (`netdev_run_todo()`), hence a volatile read.
    pub(crate) fn reg_state(&self) -> u32 {
        // SAFETY: the device is valid.
        u32::from(unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).reg_state)) })
    }

    /// Whether the device's parent (if any) is valid as long as RTNL stays held: the device is
    /// not registered yet (type invariant) or registered and not being unregistered (the
    /// registration's reference on the parent is put by `device_del()`, which runs under RTNL
    /// after `reg_state` left `NETREG_REGISTERED`).
    pub(crate) fn parent_held(&self, _rtnl: &Rtnl) -> bool {
        matches!(
            self.reg_state(),
            bindings::netdev_reg_state_NETREG_UNINITIALIZED
                | bindings::netdev_reg_state_NETREG_REGISTERED
        )
    }

    /// Whether both devices have the same, non-null parent device (`dev.parent`).
    pub fn same_parent(&self, other: &Allocated) -> bool {
        let p = self.parent_raw();
        !p.is_null() && p == other.parent_raw()
    }

    /// Whether `dev` is this device's parent (`dev.parent`).
    pub fn parent_is(&self, dev: &crate::device::Device) -> bool {
        ptr::eq(self.parent_raw(), dev.as_raw())
    }

    /// Whether the device has a parent and it is a PCI device; `false` for a device being
    /// unregistered (or unregistered), whose parent may be gone.
    pub fn parent_is_pci(&self, rtnl: &Rtnl) -> bool {
        let p = self.parent_raw();
        // SAFETY: `p` is valid while RTNL is held when non-null and `parent_held` (tested first).
        !p.is_null() && self.parent_held(rtnl) && unsafe { bindings::dev_is_pci(p) }
    }

    /// Name of the parent device (`dev_name(dev.parent)`), e.g. the bus address; `None` for a
    /// device without parent or being unregistered (or unregistered), whose parent may be gone.
    /// Borrows the RTNL proof: the name lives as long as the parent, which lives at least as
    /// long as the lock is held.
    pub fn parent_name<'a>(&'a self, rtnl: &'a Rtnl) -> Option<&'a CStr> {
        if !self.parent_held(rtnl) {
            return None;
        }
        let parent = self.parent_raw();
        if parent.is_null() {
            return None;
        }
        // SAFETY: the parent is valid while RTNL is held (`parent_held`).
        let p = unsafe { bindings::dev_name(parent) };
        if p.is_null() {
            // A device that was never named.
            return None;
        }
        // SAFETY: `dev_name()` is a NUL-terminated string living as long as the parent, which
        // stays valid while `rtnl` is borrowed (`parent_held`).
        Some(unsafe { CStr::from_char_ptr(p) })
    }

    /// Whether both devices are in the same network namespace.
    pub fn same_net(&self, other: &Allocated) -> bool {
        // SAFETY: both devices are valid; only the namespace pointers are compared.
        unsafe { bindings::dev_net(self.as_raw()) == bindings::dev_net(other.as_raw()) }
    }
}

/// A registered network device.
///
/// Context: the accessors may be called in any context; methods that take a [`Rtnl`] need RTNL
/// (process context, may sleep) unless documented otherwise.
///
/// # Invariants
///
/// A `&Device` points to a valid `struct net_device` for its whole lifetime, which
/// `register_netdevice()` has set up at least up to `dev_init_scheduler()` (every tx queue has a
/// qdisc, `noop_qdisc` at worst; `reg_state` is not `NETREG_UNINITIALIZED`); it may have been
/// unregistered since. The reference was derived from a counted reference ([`ARef`],
/// [`DevRef`]), from an RCU-protected publication read inside an RCU read-side critical section,
/// or from a callback argument that the kernel keeps alive for the duration of the callback.
/// Either way it exists only before `netdev_run_todo()` has finished waiting for the device's
/// references (after that wait `free_netdev()` ignores the count): the abstractions make no
/// `&Device` after it (the driver's deferred work holds a reference of its own, see
/// [`NetDev::schedule_work`](crate::net::driver::NetDev::schedule_work)).
#[repr(transparent)]
pub struct Device(Allocated);

// SAFETY: `net_device` is a kernel object designed to be used from any task; its reference count
// is atomic and the mutable state is protected by locks (RTNL, addr lock, ...) that the methods of
// this type take or demand.
unsafe impl Send for Device {}
// SAFETY: see `Send`; `&Device` methods are safe to call concurrently.
unsafe impl Sync for Device {}

// SAFETY: a device that was registered is freed only after `netdev_run_todo()` has waited for
// its count to drop to the allocation's own reference (also when a failed registration is undone
// through the unregistration, after a `NETDEV_REGISTER` notifier refused it);
// `free_netdev()` itself ignores the count. A `&Device` exists only before the end of that wait
// (type invariant: every path that hands one out either holds a counted reference, is a callback
// the core makes before the wait ends, or is an RCU reader of a publication that holds a
// reference), so `inc_ref` runs before it and the count it takes keeps the wait, and hence the
// device, alive until `dec_ref`.
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

impl core::ops::Deref for Device {
    type Target = Allocated;
    #[inline]
    fn deref(&self) -> &Allocated {
        &self.0
    }
}

/// `1 << __LINK_STATE_NOCARRIER`: the bit of `dev->state` that `netif_carrier_off()` sets.
const STATE_NOCARRIER: usize = 1 << bindings::netdev_state_t___LINK_STATE_NOCARRIER;

impl Device {
    /// Creates a reference to a registered `struct net_device` owned by someone else.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `net_device` that stays valid for `'a` and whose registration
    /// got past `dev_init_scheduler()` (its `qdisc` is set; `reg_state` alone does not tell:
    /// `register_netdevice()` sets `NETREG_REGISTERED`, and makes the sysfs files, before it).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `Device` is a transparent wrapper around `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
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
    #[inline]
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

    /// Interface flags (`IFF_*`, see [`flags`]).
    #[inline]
    pub fn flags(&self) -> u32 {
        // SAFETY: the device is valid; a racy read of a word is what the C code does as well.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).flags)) }
    }

    /// Private flags (`IFF_*` of `enum netdev_priv_flags`), to test with [`PrivFlags`].
    pub fn priv_flags(&self) -> PrivFlags {
        // SAFETY: the device is valid.
        PrivFlags::from_raw(unsafe { bindings::netdev_priv_flags(self.as_raw()) } as u64)
    }

    /// Whether the device is a failover master (`netif_is_failover()`).
    pub fn is_failover_master(&self) -> bool {
        self.priv_flags().contains(PrivFlags::FAILOVER)
    }

    /// Whether the device is a failover lower device (`netif_is_failover_slave()`).
    pub fn is_failover_lower(&self) -> bool {
        self.priv_flags().contains(PrivFlags::FAILOVER_SLAVE)
    }

    /// Whether the device is an upper device of some kind (bond, team, bridge, OVS, failover).
    pub fn is_upper_kind(&self) -> bool {
        self.flags() & flags::MASTER != 0
            || self.priv_flags().intersects(
                PrivFlags::FAILOVER | PrivFlags::TEAM | PrivFlags::EBRIDGE | PrivFlags::OPENVSWITCH,
            )
    }

    /// Whether the device is administratively up (`netif_running()`).
    #[inline]
    pub fn is_running(&self) -> bool {
        self.state_bits() & (1 << bindings::netdev_state_t___LINK_STATE_START) != 0
    }

    /// Whether the device has carrier (`netif_carrier_ok()`).
    #[inline]
    pub fn carrier_ok(&self) -> bool {
        self.state_bits() & STATE_NOCARRIER == 0
    }

    /// `dev->state`, read once: what the inline `test_bit()`s of `netif_running()` and
    /// `netif_carrier_ok()` read, without a call into a C helper on the datapath.
    #[inline]
    fn state_bits(&self) -> usize {
        // SAFETY: the device is valid (type invariant), so is its `state` word, which C only
        // changes with atomic bit operations (`set_bit()` and friends) and reads with volatile
        // loads (`test_bit()`), as here: a word-sized, aligned volatile read is a `READ_ONCE()`
        // under the kernel's memory model; `unsigned long` is `usize` on Linux.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).state)) as usize }
    }

    /// Whether the device's transmit queues are attached to their qdisc.
    ///
    /// The core attaches them (`dev_activate()`) only once the carrier is up, from the link
    /// watcher, some time after `netif_carrier_on()`; until then, and again from
    /// `dev_deactivate()` on, every packet queued to the device is dropped by `noop_qdisc`. A
    /// stacked device that hands packets to this one should treat it as ready only when this and
    /// [`Device::carrier_ok`] both hold.
    ///
    /// `dev_activate()` and `dev_deactivate()` switch every tx queue between its qdisc and
    /// `noop_qdisc` together, so queue 0 stands for all. Read here, not through a C helper: it
    /// is on a stacked device's transmit path.
    #[inline]
    pub fn tx_qdisc_active(&self) -> bool {
        let d = self.as_raw();
        // SAFETY: the device is valid (type invariant); `alloc_netdev_mqs()` allocated its `_tx`
        // array of `num_tx_queues` entries, at least one (it refuses fewer), which lives as long
        // as the device and is never replaced. The queue's `qdisc` is an RCU pointer that is read
        // once and only compared, never dereferenced (`rcu_access_pointer()`); taking the
        // address of `noop_qdisc` reads nothing.
        unsafe {
            ptr::read_volatile(ptr::addr_of!((*(*d)._tx).qdisc)).cast_const()
                != ptr::addr_of!(bindings::noop_qdisc)
        }
    }

    /// Active features.
    #[inline]
    pub fn features(&self) -> Features {
        // SAFETY: the device is valid.
        Features::from_raw(unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).features)) })
    }

    /// Features inherited by VLAN devices stacked on this one.
    pub fn vlan_features(&self) -> Features {
        // SAFETY: the device is valid.
        Features::from_raw(unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).vlan_features))
        })
    }

    /// Features usable for encapsulated packets.
    pub fn hw_enc_features(&self) -> Features {
        // SAFETY: the device is valid.
        Features::from_raw(unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).hw_enc_features))
        })
    }

    /// Hardware header length.
    pub fn hard_header_len(&self) -> u16 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).hard_header_len)) }
    }

    /// Number of tx queues in use.
    #[inline]
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: the device is valid.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).real_num_tx_queues)) }
    }

    /// Whether the device cannot handle VLAN packets (`NETIF_F_VLAN_CHALLENGED`).
    pub fn is_vlan_challenged(&self) -> bool {
        self.features().contains(Features::VLAN_CHALLENGED)
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
        // SAFETY: the device is valid, and so is its namespace while RTNL is held (a namespace
        // being dismantled moves or unregisters its devices under RTNL first); its device list
        // is stable under RTNL.
        let mut cur = unsafe { bindings::first_net_device(bindings::dev_net(self.as_raw())) };
        loop {
            if cur.is_null() {
                return Ok(v);
            }
            // SAFETY: a listed device is registered (`list_netdevice()` runs after
            // `dev_init_scheduler()`) and valid while RTNL is held.
            let d = unsafe { Device::from_raw(cur) };
            v.push(ARef::from(d), GFP_KERNEL)?;
            // SAFETY: `cur` is a device of the list, which is stable while RTNL is held.
            cur = unsafe { bindings::next_net_device(cur) };
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

    /// `ENODEV` unless the device is registered (`NETREG_REGISTERED`), a state that is entered
    /// and left only under RTNL. The operations that make the core attach state to a device
    /// (open: qdiscs and IPv6; MTU: a new `in_device`; address changes; raising promiscuity or
    /// allmulti; VLAN filters) check it first: on a device being unregistered (a driver's
    /// deferred work may still run then) that state would hold references the unregistration
    /// waits for in vain.
    fn registered(&self, _rtnl: &RtnlAtomic) -> Result {
        // `reg_state` enters and leaves `NETREG_REGISTERED` only under RTNL, which is held: any
        // value but REGISTERED means the same here.
        if self.reg_state() == bindings::netdev_reg_state_NETREG_REGISTERED {
            Ok(())
        } else {
            Err(crate::error::code::ENODEV)
        }
    }

    /// Opens the device (`dev_open()`). `ENODEV` if it is not registered (any more).
    pub fn open(&self, rtnl: &Rtnl) -> Result {
        self.registered(rtnl)?;
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_open(self.as_raw(), ptr::null_mut()) })
    }

    /// Closes the device (`dev_close()`).
    pub fn close(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held.
        unsafe { bindings::dev_close(self.as_raw()) }
    }

    /// Changes the MTU (`dev_set_mtu()`). `ENODEV` if it is not registered (any more).
    pub fn set_mtu(&self, mtu: u32, rtnl: &Rtnl) -> Result {
        self.registered(rtnl)?;
        let mtu = i32::try_from(mtu).map_err(|_| crate::error::code::EINVAL)?;
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// Changes the hardware address (`dev_set_mac_address()`), as `ip link set DEV address`
    /// would: the driver may refuse (`EOPNOTSUPP`, `EADDRNOTAVAIL`, `EPERM`, ...). `EINVAL`
    /// for a device whose addresses are not [`ETH_ALEN`] bytes long, `ENODEV` if it is not
    /// registered (any more).
    pub fn set_mac_address(&self, addr: &[u8; ETH_ALEN], rtnl: &Rtnl) -> Result {
        self.registered(rtnl)?;
        // The driver copies `addr_len` bytes out of `sa_data`, which has room for 14: a longer
        // address (InfiniBand's 20 bytes, say) would be read past the end of `sa`.
        // SAFETY: the device is valid; `addr_len` only changes under RTNL, which is held.
        if usize::from(unsafe { (*self.as_raw()).addr_len }) != ETH_ALEN {
            return Err(crate::error::code::EINVAL);
        }
        // SAFETY: all-zero is a valid `sockaddr`.
        let mut sa: bindings::sockaddr = unsafe { core::mem::zeroed() };
        // SAFETY: the device is valid; its type is the address family of its addresses.
        sa.sa_family = unsafe { (*self.as_raw()).type_ };
        // `bindgen_union_field` is the 14-byte storage of `sa_data`, which holds an Ethernet
        // address (6 bytes).
        sa.__bindgen_anon_1.bindgen_union_field[..ETH_ALEN].copy_from_slice(addr);
        // SAFETY: the device is valid and RTNL is held; `sa` is read during the call only.
        to_result(unsafe { bindings::dev_set_mac_address(self.as_raw(), &mut sa, ptr::null_mut()) })
    }

    /// Whether the device has a master (`netdev_master_upper_dev_get()`).
    pub fn has_master(&self, _rtnl: &Rtnl) -> bool {
        // SAFETY: the device is valid and RTNL is held.
        !unsafe { bindings::netdev_master_upper_dev_get(self.as_raw()) }.is_null()
    }

    /// Changes the promiscuity count by `inc` (`dev_set_promiscuity()`).
    ///
    /// `ENODEV` for a raise (`inc > 0`) if the device is not registered (any more); lowering
    /// the count is always done. Does not sleep: callable from a callback that may run in atomic
    /// context ([`RtnlAtomic`]).
    pub fn set_promiscuity(&self, inc: i32, rtnl: &RtnlAtomic) -> Result {
        if inc > 0 {
            self.registered(rtnl)?;
        }
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_promiscuity(self.as_raw(), inc) })
    }

    /// Changes the all-multicast count by `inc` (`dev_set_allmulti()`).
    ///
    /// `ENODEV` for a raise (`inc > 0`) if the device is not registered (any more); lowering
    /// the count is always done. Does not sleep, as [`Device::set_promiscuity`].
    pub fn set_allmulti(&self, inc: i32, rtnl: &RtnlAtomic) -> Result {
        if inc > 0 {
            self.registered(rtnl)?;
        }
        // SAFETY: the device is valid and RTNL is held.
        to_result(unsafe { bindings::dev_set_allmulti(self.as_raw(), inc) })
    }

    /// Sends `NETDEV_JOIN` for this device (`call_netdevice_notifiers()`).
    pub fn notify_join(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held.
        unsafe {
            bindings::call_netdevice_notifiers(bindings::netdev_cmd_NETDEV_JOIN as _, self.as_raw())
        };
    }

    /// Sends a `KOBJ_CHANGE` uevent for the device (`kobject_uevent_env()`), with `env` (each
    /// entry `KEY=value`) added to the variables the core sets (`ACTION=change`, `DEVPATH`,
    /// `SUBSYSTEM=net`, `INTERFACE`, `IFINDEX`, `SEQNUM`), for udev rules and other listeners.
    ///
    /// Fails with `ENOMEM` when the variables do not fit the event (64 variables, 2 KiB in all)
    /// or memory is short. A device unregistered since still gets its event sent (by its old
    /// path), which listeners can only match by `INTERFACE`.
    ///
    /// Context: process context (the event is built with `GFP_KERNEL` and broadcast over
    /// netlink); RTNL is demanded as the proof of it and keeps the name in the event stable.
    pub fn uevent_change(&self, env: &[&CStr], _rtnl: &Rtnl) -> Result {
        let mut envp = KVec::<*mut crate::ffi::c_char>::with_capacity(env.len() + 1, GFP_KERNEL)?;
        for e in env {
            // CAST: `kobject_uevent_env()` only reads the strings (`add_uevent_var("%s")`).
            envp.push(e.as_char_ptr().cast_mut(), GFP_KERNEL)?;
        }
        envp.push(ptr::null_mut(), GFP_KERNEL)?;
        // SAFETY: the device is valid (type invariant), so is its embedded `struct device` and its
        // kobject; `envp` is a NULL-terminated array of NUL-terminated strings, all of which
        // outlive the call, which does not keep them; the context may sleep (RTNL is held).
        to_result(unsafe {
            bindings::kobject_uevent_env(
                ptr::addr_of_mut!((*self.as_raw()).dev.kobj),
                bindings::kobject_action_KOBJ_CHANGE,
                envp.as_mut_ptr(),
            )
        })
    }

    /// Tells the network's peers where this device's addresses now are
    /// (`__netdev_notify_peers()`: gratuitous ARP, unsolicited neighbour advertisements and
    /// IGMP/MLD reports), so that switches relearn the MAC after a path change.
    pub fn notify_peers(&self, _rtnl: &Rtnl) {
        // SAFETY: the device is valid and RTNL is held, as `__netdev_notify_peers()` requires.
        unsafe { bindings::__netdev_notify_peers(self.as_raw()) };
    }

    /// Adds to this device every VLAN id configured on `by` (`vlan_vids_add_by_dev()`). `ENODEV`
    /// if this device is not registered (any more).
    pub fn vlan_vids_add_by_dev(&self, by: &Device, rtnl: &Rtnl) -> Result {
        self.registered(rtnl)?;
        // SAFETY: both devices are valid and RTNL is held.
        to_result(unsafe { bindings::vlan_vids_add_by_dev(self.as_raw(), by.as_raw()) })
    }

    /// Removes from this device every VLAN id configured on `by` (`vlan_vids_del_by_dev()`).
    pub fn vlan_vids_del_by_dev(&self, by: &Device, _rtnl: &Rtnl) {
        // SAFETY: both devices are valid and RTNL is held.
        unsafe { bindings::vlan_vids_del_by_dev(self.as_raw(), by.as_raw()) }
    }

    /// Adds a VLAN id filter (`vlan_vid_add()`); `proto` is the big-endian ethertype. `ENODEV`
    /// if the device is not registered (any more).
    pub fn vlan_vid_add(&self, proto: u16, vid: u16, rtnl: &Rtnl) -> Result {
        self.registered(rtnl)?;
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
        // SAFETY: the lock was just taken, and the guard releases it.
        unsafe { AddrLockGuard::new(self) }
    }

    /// Selects a tx queue of this device for `skb`, the way the core would for this device
    /// (`netdev_core_pick_tx()`): queue 0 when it has a single one, else its `ndo_select_queue`
    /// or `netdev_pick_tx()`. The single-queue case costs nothing; `netdev_pick_tx()` would hash
    /// the flow (`skb_get_hash()`) only to scale the hash down to 0.
    ///
    /// Only a stacked device's own transmit path may ask, as the lower device's
    /// `ndo_select_queue` expects the context of one: `ctx` proves a transmit path inside an
    /// RCU read-side critical section (bottom halves may be enabled, as when the core itself
    /// calls `ndo_select_queue` from `packet_pick_tx_queue()`). The returned index is meant for
    /// this device.
    #[inline]
    pub fn pick_tx_queue(
        &self,
        skb: &SkBuff,
        sb_dev: Option<&Device>,
        _ctx: &TxContext<'_>,
    ) -> u16 {
        if self.real_num_tx_queues() == 1 {
            return 0;
        }
        let d = self.as_raw();
        // SAFETY: the device is valid; its driver set `netdev_ops` before registration, to a
        // table that outlives the device.
        let select =
            unsafe { (*ptr::read_volatile(ptr::addr_of!((*d).netdev_ops))).ndo_select_queue };
        match select {
            // SAFETY: the device's own `ndo_select_queue`, called with the device, a valid skb
            // that is ours during queue selection and `sb_dev` (null or a registered device), in
            // the transmit-path context inside an RCU read-side critical section that `_ctx`
            // proves, as `netdev_core_pick_tx()` or `packet_pick_tx_queue()` call it.
            Some(f) => unsafe {
                f(
                    d,
                    skb.as_raw(),
                    sb_dev.map_or(ptr::null_mut(), |s| s.as_raw()),
                )
            },
            // SAFETY: valid device and skb, same context; the core's default picks a queue from
            // the device's own state (no subordinate device, as the C failover driver does).
            None => unsafe { bindings::netdev_pick_tx(d, skb.as_raw(), ptr::null_mut()) },
        }
    }

    /// Transmits nothing but counts a dropped tx packet in the core stats of the device.
    #[inline]
    pub(crate) fn count_tx_dropped(&self) {
        // SAFETY: the device is valid; the counter is per-cpu and any context may increment it.
        unsafe { bindings::dev_core_stats_tx_dropped_inc(self.as_raw()) }
    }

    /// Sets and clears private flags of the device (`dev->priv_flags`).
    ///
    /// # Safety
    ///
    /// RTNL must be held (the core changes `priv_flags` under it), and the resulting flags must
    /// describe the device truthfully: C code reinterprets `netdev_priv()` or
    /// `rx_handler_data` according to some of them (`IFF_EBRIDGE`, `IFF_BRIDGE_PORT`,
    /// `IFF_802_1Q_VLAN`, `IFF_BONDING`, `IFF_FAILOVER_SLAVE`, ...).
    pub(crate) unsafe fn update_priv_flags_raw(&self, set: u64, clear: u64) {
        // SAFETY: the device is valid; RTNL and the flags' meaning are the caller's guarantee.
        unsafe {
            bindings::netdev_update_priv_flags(self.as_raw(), set as _, clear as _);
        }
    }
}

impl Device {
    /// Looks up a device of the initial network namespace by name (`__dev_get_by_name()`).
    pub fn lookup_init_net(name: &CStr, _rtnl: &Rtnl) -> Option<ARef<Device>> {
        // SAFETY: `init_net` is a static namespace that lives forever; RTNL is held, which
        // keeps the name hash stable; `name` is NUL-terminated.
        let p = unsafe {
            bindings::__dev_get_by_name(ptr::addr_of_mut!(bindings::init_net), name.as_char_ptr())
        };
        // SAFETY: a device found in the name hash is registered (`list_netdevice()` runs after
        // `dev_init_scheduler()`) and valid while RTNL is held; we take our own reference.
        (!p.is_null()).then(|| ARef::from(unsafe { Device::from_raw(p) }))
    }
}
