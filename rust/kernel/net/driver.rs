// SPDX-License-Identifier: GPL-2.0

//! Network device drivers: the device a driver owns, its operations, its registration.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/etherdevice.h`](srctree/include/linux/etherdevice.h)
//!
//! A driver implements [`Operations`] on the type of its private data, creates the device with
//! [`Builder`] (Ethernet, N queues, private data initialised in place), configures it and
//! registers it, which yields a [`Registration`]; dropping that (or
//! [`Registration::unregister`]) unregisters and frees the device. The driver's callbacks get a
//! [`NetDev<T>`], a registered device known to carry `T` as private data. Before registration
//! the device is only reachable through the [`Builder`], whose setters are the only things
//! valid on it then.
//!
//! # Examples
//!
//! A driver whose device drops everything it is given:
//!
//! ```
//! use kernel::net::{
//!     device::Features,
//!     driver::{Builder, NetDev, Operations, TxContext, TxStatus},
//!     skbuff::OwnedSkBuff,
//! };
//! use kernel::prelude::*;
//!
//! struct BlackHole {
//!     label: u32,
//! }
//!
//! #[vtable]
//! impl Operations for BlackHole {
//!     fn start_xmit(dev: &NetDev<Self>, skb: OwnedSkBuff, _ctx: &TxContext<'_>) -> TxStatus {
//!         let _ = dev.data().label;
//!         dev.count_tx_dropped();
//!         skb.free();
//!         TxStatus::OK
//!     }
//! }
//!
//! let b = Builder::<BlackHole>::new(1, 1, BlackHole { label: 7 })?;
//! b.set_mtu_range(68, 1500).set_mtu(1500).set_no_queue(true).set_lltx(true);
//! b.set_features(Features::SG, Features::SG)?;
//! // Features that would make the core call callbacks this driver lacks are refused.
//! assert_eq!(b.set_features(Features::ALL_FOR_ALL, Features::EMPTY).err(), Some(EINVAL));
//! // Never registered: dropping the builder drops the private data and frees the device.
//! drop(b);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{Error, Result},
    net::{
        device::{AddrLocked, Device, Features, NetDevice, PrivFlags},
        ethtool::{DrvInfo, LinkKsettings},
        rtnl::{Rtnl, RtnlAtomic},
        skbuff::{OwnedSkBuff, SkBuff},
        stats::Stats64,
    },
    prelude::*,
    types::AlwaysRefCounted,
    workqueue::DelayedWork,
};
use core::{
    ffi::c_int,
    marker::PhantomData,
    ptr::{self, NonNull},
};

mod adapter;
mod builder;
mod ethtool_ops;
pub mod link;
mod sysfs;
mod work;

use adapter::Adapter;
pub use builder::{Builder, Registration, Setup};
pub use sysfs::SysfsAttrDesc;
use sysfs::SysfsTable;
use work::Deferred;

/// Number of possible CPUs (`num_possible_cpus()`), e.g. to size tx queues.
pub fn num_possible_cpus() -> u32 {
    // SAFETY: reads a constant cpumask.
    unsafe { bindings::num_possible_cpus() }
}

/// Alignment of the private area of a `net_device` (`NETDEV_ALIGN`).
const NETDEV_ALIGN: usize = 32;

/// Proof that the current code runs in a device's transmit path (`ndo_select_queue`,
/// `ndo_start_xmit`) inside an RCU read-side critical section, the context in which lower
/// devices' `ndo_select_queue` implementations may be asked by an upper device
/// ([`Device::pick_tx_queue`](crate::net::device::Device::pick_tx_queue)).
///
/// In `ndo_start_xmit` the core provides the section (bottom halves or interrupts are disabled).
/// `ndo_select_queue` is also reached without one (`packet_pick_tx_queue()`, from an AF_PACKET
/// `sendmsg()` with `PACKET_QDISC_BYPASS`: preemptible, bottom halves enabled), so there the
/// adapter enters one itself with `rcu_read_lock()` before it creates the context.
///
/// Only the [`Operations`] adapter creates it, for the duration of one callback; it is neither
/// `Send` nor `Sync`.
pub struct TxContext<'a> {
    _p: PhantomData<(&'a (), *mut ())>,
}

impl crate::net::device::rcu_sealed::Sealed for TxContext<'_> {}
// SAFETY: by its construction (`assume`), the current task is in an RCU read-side critical
// section while the context lives.
unsafe impl crate::net::device::RcuReader for TxContext<'_> {}

impl TxContext<'_> {
    /// # Safety
    ///
    /// The caller must be in a transmit path and inside an RCU read-side critical section (its
    /// own `rcu_read_lock()`, or bottom halves or interrupts disabled) for the lifetime of the
    /// returned value.
    unsafe fn assume() -> Self {
        // With PROVE_RCU the claim is checked where it is made: a caller outside any read-side
        // critical section gets lockdep's "suspicious RCU usage" report, once, as from C's
        // `RCU_LOCKDEP_WARN()`.
        #[cfg(CONFIG_PROVE_RCU)]
        {
            static WARNED: core::sync::atomic::AtomicBool =
                core::sync::atomic::AtomicBool::new(false);
            // SAFETY: `debug_lockdep_rcu_enabled()` and `rcu_read_lock_any_held()` may be called
            // in any context; the report takes NUL-terminated strings, which `c_str!` makes.
            unsafe {
                if bindings::debug_lockdep_rcu_enabled() != 0
                    && bindings::rcu_read_lock_any_held() == 0
                    && !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed)
                {
                    bindings::lockdep_rcu_suspicious(
                        crate::c_str!(core::file!()).as_char_ptr(),
                        core::line!() as c_int,
                        crate::c_str!("TxContext without an RCU read-side critical section")
                            .as_char_ptr(),
                    );
                }
            }
        }
        Self { _p: PhantomData }
    }
}

/// What `ndo_start_xmit` returns to the core for a packet the driver consumed.
///
/// # Invariants
///
/// Never `NETDEV_TX_BUSY` (which tells the core that the packet was *not* consumed and is to be
/// requeued): the value is `NETDEV_TX_OK`, a `NET_XMIT_*` code or a negative errno, all of which
/// the core treats as "consumed" (`dev_xmit_complete()`).
#[must_use = "return the status from `start_xmit`"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TxStatus(c_int);

impl TxStatus {
    /// The packet was sent or dropped (`NETDEV_TX_OK`).
    pub const OK: Self = Self(bindings::netdev_tx_NETDEV_TX_OK as c_int);

    /// The status of a `dev_queue_xmit()` call, passed on unchanged (so that a stacked
    /// driver's `start_xmit` can end in a tail call, as C's do).
    ///
    /// # Safety
    ///
    /// `ret` is what `__dev_queue_xmit()` returned.
    #[inline]
    pub(crate) unsafe fn from_xmit(ret: c_int) -> Self {
        // INVARIANT: `__dev_queue_xmit()` consumes the skb on every path and returns
        // `NET_XMIT_SUCCESS`, a `NET_XMIT_*` code masked with `NET_XMIT_MASK`, `NETDEV_TX_OK`,
        // or a negative errno; a lower driver's `NETDEV_TX_BUSY` becomes `-ENETDOWN` there
        // ("Virtual device %s asks to queue packet!"), and a partly sent GSO list
        // `NETDEV_TX_OK`. So `ret` is never `NETDEV_TX_BUSY` (caller's guarantee).
        Self(ret)
    }

    /// Whether the packet was accepted by the next device (`NET_XMIT_SUCCESS`/`NETDEV_TX_OK`).
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }
}

/// Callbacks of a network device driver (`struct net_device_ops` and `struct ethtool_ops`),
/// implemented on the type of the device's private data.
///
/// Each method's documentation states its calling context. Methods that receive a `&Rtnl` are
/// called by the kernel with RTNL held.
#[vtable]
pub trait Operations: Sized + Send + Sync + 'static {
    /// Whether to use `passthru_features_check` as `ndo_features_check` (for devices that hand
    /// packets to a lower device, which does its own check).
    const PASSTHRU_FEATURES_CHECK: bool = false;

    /// Whether to report the link with `ethtool_op_get_link` (carrier state).
    const ETHTOOL_GET_LINK: bool = false;

    /// Names of the driver's statistics shown by `ethtool -S`, fixed for the driver's lifetime
    /// (the adapter answers `get_sset_count` and `get_strings` from it; names longer than 31
    /// bytes are truncated). Used only if [`Operations::get_ethtool_stats`] is implemented.
    const ETHTOOL_STATS: &'static [&'static str] = &[];

    /// `ndo_open`: the device is being brought up. Process context, RTNL held.
    fn open(_dev: &NetDev<Self>, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_stop`: the device is being brought down. Process context, RTNL held.
    fn stop(_dev: &NetDev<Self>, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_start_xmit`: transmit `skb`, which the driver now owns. Atomic context inside an RCU
    /// read-side critical section (bottom halves disabled on the qdisc, direct and pktgen paths,
    /// interrupts on netpoll's, a plain `rcu_read_lock()` on xfrm's resume); must not sleep.
    /// The driver must be lockless (`lltx`) or rely on the core's tx lock. The packet is always
    /// consumed; the status says how it went ([`TxStatus::OK`], or what a lower device's
    /// transmit returned).
    ///
    /// `ctx` proves the RCU read-side critical section the core transmits in, so lower devices
    /// can be read from a
    /// [`DeviceSlot`](crate::net::device::DeviceSlot) without a lock of the driver's own.
    fn start_xmit(dev: &NetDev<Self>, skb: OwnedSkBuff, ctx: &TxContext<'_>) -> TxStatus;

    /// `ndo_select_queue`: pick the tx queue for `skb`. RCU read lock held (by the adapter if
    /// the core did not take it, proved by `ctx`); bottom halves may be enabled and the task
    /// preemptible (an AF_PACKET socket's `packet_pick_tx_queue()`). The adapter folds the
    /// result into `0..real_num_tx_queues`.
    fn select_queue(
        _dev: &NetDev<Self>,
        _skb: &SkBuff,
        _sb_dev: Option<&Device>,
        _ctx: &TxContext<'_>,
    ) -> u16 {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_stats64`: fill in `stats` (zeroed by the core) from the device's private data.
    /// Any context, possibly atomic, possibly concurrently with itself. Only the data is given,
    /// not the device: sysfs reads the statistics of a device whose registration is still
    /// setting up its queues (`dev_init_scheduler()` runs after the sysfs files appear), which
    /// is not a [`NetDev`] yet.
    fn get_stats64(_data: &Self, _stats: &mut Stats64) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_change_mtu`: the core validated `new_mtu` against the device's range. On success the
    /// adapter stores `new_mtu` in the device. Process context, RTNL held.
    fn change_mtu(_dev: &NetDev<Self>, _new_mtu: u32, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_set_rx_mode`: the address lists or rx flags changed. Atomic context (bottom halves
    /// disabled), the device's address lock held (proved by `addrs`).
    fn set_rx_mode(_dev: &NetDev<Self>, _addrs: &AddrLocked<'_>) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_change_rx_flags`: `IFF_PROMISC`, `IFF_ALLMULTI` and/or `IFF_MULTICAST` (bits set in
    /// `change`) of the device changed; the new state is in [`Device::flags`]. RTNL held, maybe
    /// in atomic context: an upper device that cannot filter unicast addresses (a bridge)
    /// changes its ports' promiscuity from its `ndo_set_rx_mode` path, under its address lock
    /// with bottom halves off; and the core does the same for this device itself when it does
    /// not filter unicast addresses (no `IFF_UNICAST_FLT`), with this device's address lock
    /// held. Hence only [`RtnlAtomic`], which the RTNL-gated functions of this crate that sleep
    /// do not accept. The callback must not sleep otherwise either (no `rtnl::lock()`, no
    /// `GFP_KERNEL`), nor take this device's address lock
    /// ([`Device::lock_addrs`], syncing its address lists).
    fn change_rx_flags(_dev: &NetDev<Self>, _change: u32, _rtnl: &RtnlAtomic) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_vlan_rx_add_vid`: add a VLAN filter (`proto` is the big-endian ethertype). Process
    /// context, RTNL held.
    fn vlan_rx_add_vid(_dev: &NetDev<Self>, _proto: u16, _vid: u16, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_vlan_rx_kill_vid`: remove a VLAN filter. Process context, RTNL held.
    fn vlan_rx_kill_vid(_dev: &NetDev<Self>, _proto: u16, _vid: u16, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// ethtool `get_drvinfo`. Process context, RTNL held.
    fn get_drvinfo(_dev: &NetDev<Self>, _info: &mut DrvInfo, _rtnl: &Rtnl) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// ethtool `get_ethtool_stats`: fill `data`, one value per name of
    /// [`Operations::ETHTOOL_STATS`], same order (`data` is zeroed and holds one value per
    /// name: the ioctl sizes it from the driver's count). Process context (the ethtool ioctl, under RTNL in 6.12); no proof is
    /// given so that implementations stay valid for lockless callers.
    fn get_ethtool_stats(_dev: &NetDev<Self>, _data: &mut [u64]) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// ethtool `get_link_ksettings`. Process context, RTNL held.
    fn get_link_ksettings(_dev: &NetDev<Self>, _ks: &mut LinkKsettings, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The device's deferred work, queued by [`NetDev::schedule_work`]. Process context (the
    /// system workqueue), no lock held; may sleep and may take RTNL (the abstraction never
    /// waits for the work with RTNL held).
    ///
    /// A work queued before the unregistration may already be running when `ndo_uninit`
    /// disables it (a pending one is cancelled then): it runs with the device unregistered, but
    /// it holds a reference, so the unregistration waits for it to return (without RTNL) before
    /// the data is dropped and the device freed. References it takes are waited for likewise.
    /// The [`Device`] operations that would attach new state to an unregistered device fail
    /// with `ENODEV` then (`open`, `set_mtu`, `set_mac_address`, raising promiscuity or
    /// allmulti, adding VLAN ids). The work must not unregister its own device (drop or
    /// [`Registration::unregister`] it): the unregistration would wait for the reference of the
    /// very work that waits for it, for ever.
    fn work(_dev: &NetDev<Self>) {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Name of the directory below the device in sysfs (`/sys/class/net/<dev>/<name>/`) that
    /// holds [`Operations::SYSFS_ATTRS`]; unused when they are empty.
    const SYSFS_GROUP: &'static CStr = crate::c_str!("driver_attrs");

    /// The device's sysfs attributes (at most 8), shown by [`Operations::sysfs_show`] and, if
    /// writable, stored by [`Operations::sysfs_store`]; they exist while the device is
    /// registered.
    const SYSFS_ATTRS: &'static [SysfsAttrDesc] = &[];

    /// Writes the value of attribute `index` of [`Operations::SYSFS_ATTRS`] to `out` (one page;
    /// longer text is truncated). Process context, RTNL held: the adapter takes it with
    /// `rtnl_trylock()` and restarts the system call if it is busy, as the core's attributes do
    /// (unregistering the device, under RTNL, waits for running `show`/`store` calls).
    fn sysfs_show(
        _dev: &NetDev<Self>,
        _index: usize,
        _out: &mut dyn core::fmt::Write,
        _rtnl: &Rtnl,
    ) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Stores `value` (the text written, without a trailing newline) into the writable
    /// attribute `index` of [`Operations::SYSFS_ATTRS`]. Process context, RTNL held (as for
    /// [`Operations::sysfs_show`]).
    fn sysfs_store(_dev: &NetDev<Self>, _index: usize, _value: &str, _rtnl: &Rtnl) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// The device's link kind (`rtnl_link_ops.kind`): rtnetlink reports it as `IFLA_INFO_KIND`
    /// of the device and as `IFLA_INFO_SLAVE_KIND` of its lower devices, which `ip -d link`
    /// shows (`<kind>` and `<kind>_slave`). The ops are not registered with
    /// `rtnl_link_register()`: `ip link add ... type <kind>` cannot create such a device and
    /// `ip link del` refuses it (`EOPNOTSUPP`), as without a kind. A device made with a
    /// [`Builder`](builder::Builder) can go without it
    /// ([`Builder::without_link_kind`](builder::Builder::without_link_kind)).
    const LINK_KIND: Option<&'static CStr> = None;

    /// Most attributes [`Operations::fill_slave_info`] puts (each with at most 4 bytes of
    /// payload); rtnetlink reserves room for them.
    const SLAVE_INFO_ATTRS: usize = 0;

    /// Fills `IFLA_INFO_SLAVE_DATA` for `slave`, a lower device of `dev` (used only with a
    /// [`Operations::LINK_KIND`]). Must not sleep: called under RTNL or in an RCU read-side
    /// critical section, depending on the rtnetlink path.
    fn fill_slave_info(_dev: &NetDev<Self>, _slave: &Device, _info: &mut SlaveInfo<'_>) -> Result {
        crate::build_error(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `IFLA_INFO_SLAVE_DATA` nest being filled by [`Operations::fill_slave_info`].
///
/// # Invariants
///
/// `skb` is the message being built, valid for `'a`; at most `left` more attributes of at most
/// 4 bytes fit in the room rtnetlink reserved.
pub struct SlaveInfo<'a> {
    skb: *mut bindings::sk_buff,
    left: usize,
    _p: PhantomData<&'a mut bindings::sk_buff>,
}

impl SlaveInfo<'_> {
    /// Puts a `u8` attribute (`nla_put_u8()`); `-EMSGSIZE` beyond
    /// [`Operations::SLAVE_INFO_ATTRS`] attributes.
    pub fn put_u8(&mut self, attr: u16, value: u8) -> Result {
        self.put(attr, &[value])
    }

    fn put(&mut self, attr: u16, payload: &[u8]) -> Result {
        if self.left == 0 || payload.len() > 4 {
            // `error::code` has no `EMSGSIZE` in 6.12.
            return Err(Error::from_errno(-(bindings::EMSGSIZE as c_int)));
        }
        // SAFETY: `skb` is the message being built (invariant); `payload` is valid for its
        // length, which fits in `c_int`.
        let ret = unsafe {
            bindings::nla_put(
                self.skb,
                c_int::from(attr),
                payload.len() as c_int,
                payload.as_ptr().cast(),
            )
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: one attribute of the reserved room used.
        self.left -= 1;
        Ok(())
    }
}

/// What the private area of a *device of `T`* holds: the driver's data first (so that
/// `netdev_priv()` points to it), then what the abstraction needs. A device of `T` is one
/// allocated with room for a `Priv<T>` and `T`'s operations: by [`Builder::<T>::new`], or by
/// rtnetlink for a [`link::LinkRegistration<T>`] (whose `ndo_init` initialises `data`, before
/// the device is registered).
///
/// # Invariants
///
/// `work` was initialised by [`DelayedWork::new`] (for the [`WorkItem`] [`Deferred<T>`], whose
/// pointer is an `ARef<Deferred<T>>`), once, before the device is shared. The `Priv<T>` is the
/// device's `priv` area, so the device is found back from its work ([`HasWork`]).
///
/// [`WorkItem`]: crate::workqueue::WorkItem
/// [`HasWork`]: crate::workqueue::HasWork
#[repr(C)]
struct Priv<T: Operations> {
    data: T,
    work: DelayedWork<Deferred<T>>,
    /// The sysfs group (`sysfs_groups[0]`), a `KBox` turned into a raw pointer; null if none.
    sysfs: *mut SysfsTable,
}

/// What every device of an [`Operations`] driver starts with, over what `ether_setup()` gave it:
/// - no `IFF_TX_SKB_SHARING`: `start_xmit` gets a packet that is its alone ([`OwnedSkBuff`]),
///   which pktgen (`clone_skb`, `burst`) would otherwise hand it several times at once, while
///   an earlier hand-over still sits in a lower device's queue;
/// - `IFF_DISABLE_NETPOLL`: netpoll (netconsole) calls `ndo_start_xmit` with interrupts off,
///   where a stacked device must not hand the packet on with `dev_queue_xmit()`
///   ([`OwnedSkBuff::xmit_via`](crate::net::skbuff::OwnedSkBuff::xmit_via)); `netpoll_setup()`
///   refuses the device instead.
///
///
/// # Safety
///
/// `dev` must be a valid device that nobody else uses yet (not registered).
unsafe fn restrict_priv_flags(dev: *mut bindings::net_device) {
    let set = PrivFlags::DISABLE_NETPOLL.bits();
    let clear = PrivFlags::TX_SKB_SHARING.bits();
    // SAFETY: valid, and not shared yet (caller).
    unsafe { bindings::netdev_update_priv_flags(dev, set as _, clear as _) };
}

/// Returns the `Priv<T>` of a device of `T` (see [`Priv`]).
///
/// # Safety
///
/// `dev` must be a valid device of `T`.
unsafe fn priv_of<T: Operations>(dev: *mut bindings::net_device) -> *mut Priv<T> {
    // CAST: the private area of devices of `T` holds a `Priv<T>`.
    // SAFETY: `dev` is valid, by the caller's guarantee. `netdev_priv()` is `dev->priv` in
    // 6.12 (the flexible array member ending `struct net_device`); computed here rather than
    // through the C helper, as every packet needs it.
    unsafe { ptr::addr_of_mut!((*dev).priv_) }.cast::<Priv<T>>()
}

/// A network device whose private data is a `T` and whose operations are `T`'s.
///
/// Dereferences to [`Device`]; adds the private data and the operations only the owning driver
/// may perform on its own device (carrier, queues, MTU range, features).
///
/// # Invariants
///
/// The device is a device of `T` (see [`Priv`]) that was registered (so it is a [`Device`]):
/// its private area holds a `Priv<T>` with an initialised `T`, which is dropped only after the
/// device was unregistered, its last reference put and its deferred work disabled (see
/// [`Registration`] and [`link::LinkRegistration`]); hence a `&NetDev<T>` that is valid as a
/// `&Device` has valid data.
#[repr(transparent)]
pub struct NetDev<T: Operations>(Device, PhantomData<T>);

// SAFETY: a transparent wrapper of `Device`; the private data `T` is `Send + Sync`.
unsafe impl<T: Operations> NetDevice for NetDev<T> {
    fn as_device(&self) -> &Device {
        &self.0
    }
}

// SAFETY: as `Device`.
unsafe impl<T: Operations> AlwaysRefCounted for NetDev<T> {
    fn inc_ref(&self) {
        self.0.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // CAST: `NetDev<T>` is a transparent wrapper of `Device`.
        // SAFETY: forwarded caller guarantee.
        unsafe { Device::dec_ref(obj.cast()) }
    }
}

impl<T: Operations> core::ops::Deref for NetDev<T> {
    type Target = Device;
    fn deref(&self) -> &Device {
        &self.0
    }
}

impl<T: Operations> NetDev<T> {
    /// Creates a reference from a pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be a device of `T` (see [`Priv`]) whose registration got past
    /// `dev_init_scheduler()` (it may be being unregistered since; sysfs can call into a device
    /// before that point, which is why `get_stats64` gets no `NetDev`) and whose
    /// unregistration, if any, has not finished waiting for its
    /// references (`netdev_run_todo()`) during `'a`: a valid [`Device`] for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // CAST: `NetDev<T>` is a transparent wrapper of `Device`, itself of `net_device`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The driver's private data.
    pub fn data(&self) -> &T {
        // SAFETY: by the type invariant, the private area holds a `Priv<T>` whose `data` is
        // initialised for as long as the device is valid.
        unsafe { &(*priv_of::<T>(self.as_raw())).data }
    }

    /// Turns the carrier on (`netif_carrier_on()`). Any context.
    pub fn carrier_on(&self) {
        // SAFETY: valid device.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off (`netif_carrier_off()`). Any context.
    pub fn carrier_off(&self) {
        // SAFETY: valid device.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Wakes all tx queues (`netif_tx_wake_all_queues()`). Any context.
    pub fn tx_wake_all_queues(&self) {
        // SAFETY: a valid device that was registered (type invariant): its tx queues exist
        // until `free_netdev()`.
        unsafe { bindings::netif_tx_wake_all_queues(self.as_raw()) }
    }

    /// Stops all tx queues (`netif_tx_stop_all_queues()`). Any context.
    pub fn tx_stop_all_queues(&self) {
        // SAFETY: as in `tx_wake_all_queues`.
        unsafe { bindings::netif_tx_stop_all_queues(self.as_raw()) }
    }

    /// Stops all tx queues and waits for transmitters to leave (`netif_tx_disable()`).
    /// Process or softirq context.
    pub fn tx_disable(&self) {
        // SAFETY: as in `tx_wake_all_queues`.
        unsafe { bindings::netif_tx_disable(self.as_raw()) }
    }

    /// Counts a packet dropped on transmit (`dev_core_stats_tx_dropped_inc()`). Any context.
    pub fn count_tx_dropped(&self) {
        self.0.count_tx_dropped();
    }

    /// Changes the device's own hardware address as its driver (not through
    /// `ndo_set_mac_address`), e.g. for a master that takes the address of a lower device
    /// (`NET_ADDR_STOLEN`), and tells the stack (`NETDEV_CHANGEADDR`).
    pub fn set_own_mac(&self, addr: &[u8; crate::net::device::ETH_ALEN], _rtnl: &Rtnl) {
        let d = self.as_raw();
        // SAFETY: the device is ours (`T`'s) and valid; RTNL is held, which serialises address
        // changes; an Ethernet device's `addr_len` is `ETH_ALEN`. Readers on the datapath
        // copy the address without a lock, as for every address change.
        unsafe {
            bindings::dev_addr_set(d, addr.as_ptr());
            (*d).addr_assign_type = bindings::NET_ADDR_STOLEN as u8;
            bindings::call_netdevice_notifiers(bindings::netdev_cmd_NETDEV_CHANGEADDR as usize, d);
        }
    }

    /// Sets the MTU range the core enforces for this device.
    pub fn set_mtu_range(&self, min: u32, max: u32, _rtnl: &Rtnl) {
        // SAFETY: valid device; RTNL serialises writers, readers tolerate racy reads (as in C).
        unsafe {
            ptr::write_volatile(ptr::addr_of_mut!((*self.as_raw()).min_mtu), min);
            ptr::write_volatile(ptr::addr_of_mut!((*self.as_raw()).max_mtu), max);
        }
    }

    /// Sets features inherited by stacked VLAN devices, encapsulation features and the
    /// hardware header length, and whether the core may release skb dsts before transmit, then
    /// announces the change (`netdev_change_features()`). The header length is at least
    /// `ETH_HLEN` (an Ethernet device's): AF_PACKET checks raw frames against it before they
    /// reach lower devices that take 14 bytes for granted.
    pub fn update_stacking(
        &self,
        vlan_features: Features,
        hw_enc_features: Features,
        hard_header_len: u16,
        dst_release: bool,
        _rtnl: &Rtnl,
    ) {
        let d = self.as_raw();
        let hard_header_len = hard_header_len.max(bindings::ETH_HLEN as u16);
        // SAFETY: valid device; RTNL serialises writers of these fields.
        unsafe {
            ptr::write_volatile(ptr::addr_of_mut!((*d).vlan_features), vlan_features.bits());
            ptr::write_volatile(
                ptr::addr_of_mut!((*d).hw_enc_features),
                hw_enc_features.bits(),
            );
            ptr::write_volatile(ptr::addr_of_mut!((*d).hard_header_len), hard_header_len);
        }
        let f = PrivFlags::XMIT_DST_RELEASE.bits();
        let (set, clear) = if dst_release { (f, 0) } else { (0, f) };
        // SAFETY: RTNL is held; `IFF_XMIT_DST_RELEASE` only lets the core drop a packet's
        // route before `ndo_start_xmit`, which hands packets on without looking at it.
        unsafe { self.update_priv_flags_raw(set, clear) };
        // SAFETY: a valid device that was registered (type invariant), RTNL held.
        unsafe { bindings::netdev_change_features(d) };
    }

    /// Marks the device as removed (`netif_device_detach()`): stops its queues. Any context.
    pub fn detach(&self) {
        // SAFETY: valid device.
        unsafe { bindings::netif_device_detach(self.as_raw()) }
    }
}
