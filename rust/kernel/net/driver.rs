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
    error::{code::*, from_result, Error, Result},
    init::PinInit,
    net::{
        device::{AddrLocked, Allocated, Device, Features, NetDevice, PrivFlags},
        ethtool::{DrvInfo, LinkKsettings},
        rtnl::{Rtnl, RtnlGuard},
        skbuff::{OwnedSkBuff, SkBuff},
        stats::Stats64,
    },
    prelude::*,
    str::RawFormatter,
    sync::rcu,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{
    ffi::c_int,
    marker::PhantomData,
    ptr::{self, NonNull},
};

pub mod link;

/// Number of possible CPUs (`num_possible_cpus()`), e.g. to size tx queues.
pub fn num_possible_cpus() -> u32 {
    // SAFETY: reads a constant cpumask.
    unsafe { bindings::netdev_num_possible_cpus() }
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

    /// `ndo_get_stats64`: fill in `stats` (zeroed by the core). Any context, possibly atomic,
    /// possibly concurrently with itself.
    fn get_stats64(_dev: &NetDev<Self>, _stats: &mut Stats64) {
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

    /// `ndo_change_rx_flags`: `IFF_PROMISC` and/or `IFF_ALLMULTI` (bits set in `change`) of the
    /// device changed; the new state is in [`Device::flags`]. Process context, RTNL held (the
    /// core asserts it in `__dev_set_promiscuity()`/`__dev_set_allmulti()`).
    fn change_rx_flags(_dev: &NetDev<Self>, _change: u32, _rtnl: &Rtnl) {
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
    /// [`Operations::ETHTOOL_STATS`], same order (`data` is zeroed, and shorter if user space
    /// asked for fewer). Process context (the ethtool ioctl, under RTNL in 6.12); no proof is
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
    /// `ip link del` refuses it (`EOPNOTSUPP`), as without a kind.
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

/// A sysfs attribute of a driver's devices, see [`Operations::SYSFS_ATTRS`].
#[derive(Clone, Copy, Debug)]
pub struct SysfsAttrDesc {
    /// File name.
    pub name: &'static CStr,
    /// Mode 0644 (written with [`Operations::sysfs_store`]) rather than 0444.
    pub writable: bool,
}

/// Most attributes in [`Operations::SYSFS_ATTRS`].
const SYSFS_MAX: usize = 8;

/// One attribute of a [`SysfsTable`]: the `device_attribute` the core sees, and its index.
#[repr(C)]
struct SysfsAttr {
    attr: bindings::device_attribute,
    index: usize,
}

/// A device's sysfs attribute group, allocated with the device and freed with it.
///
/// # Invariants
///
/// `group.attrs` points to `list`, whose non-null entries point into `attrs`; the table is
/// never moved while the device may use it (it is boxed).
#[repr(C)]
struct SysfsTable {
    attrs: [SysfsAttr; SYSFS_MAX],
    list: [*mut bindings::attribute; SYSFS_MAX + 1],
    group: bindings::attribute_group,
}

/// What the private area of a *device of `T`* holds: the driver's data first (so that
/// `netdev_priv()` points to it), then what the abstraction needs. A device of `T` is one
/// allocated with room for a `Priv<T>` and `T`'s operations: by [`Builder::<T>::new`], or by
/// rtnetlink for a [`link::LinkRegistration<T>`] (whose `ndo_init` initialises `data`, before
/// the device is registered).
///
/// # Invariants
///
/// `work` was initialised by `INIT_DELAYED_WORK()` with [`Adapter::<T>::work`], once, before
/// the device is shared. The `Priv<T>` is the device's `priv` area, so the device is found back
/// from it (`net_device_of`).
#[repr(C)]
struct Priv<T> {
    data: T,
    work: Opaque<bindings::delayed_work>,
    /// The sysfs group (`sysfs_groups[0]`), a `KBox` turned into a raw pointer; null if none.
    sysfs: *mut SysfsTable,
}

/// Returns the `Priv<T>` of a device of `T` (see [`Priv`]).
///
/// # Safety
///
/// `dev` must be a valid device of `T`.
unsafe fn priv_of<T>(dev: *mut bindings::net_device) -> *mut Priv<T> {
    // CAST: the private area of devices of `T` holds a `Priv<T>`.
    // SAFETY: `dev` is valid, by the caller's guarantee. `netdev_priv()` is `dev->priv` in
    // 6.12 (the flexible array member ending `struct net_device`); computed here rather than
    // through the C helper, as every packet needs it.
    unsafe { ptr::addr_of_mut!((*dev).priv_) }.cast::<Priv<T>>()
}

/// The device whose private area `p` is: the inverse of [`priv_of`] (`container_of()` on
/// `net_device::priv`). Only address arithmetic: nothing is read.
fn net_device_of<T>(p: *mut Priv<T>) -> *mut bindings::net_device {
    p.cast::<u8>()
        .wrapping_sub(core::mem::offset_of!(bindings::net_device, priv_))
        .cast()
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
    /// `ptr` must be a device of `T` (see [`Priv`]) that was registered (it may be being
    /// unregistered) and whose unregistration, if any, has not finished waiting for its
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

    /// Queues the device's [`Operations::work`] to run in `delay_ms` milliseconds on the system
    /// workqueue; if it is already pending, it runs in `delay_ms` from now instead. Returns
    /// whether it was pending. Does nothing (and returns `false`) if `T` has no `work`, or once
    /// the device is being unregistered (`ndo_uninit` disabled the work). Any context.
    ///
    /// A queued work holds a reference to the device (`dev_hold()`, untracked: a stuck
    /// unregistration shows it as such in `NET_DEV_REFCNT_TRACKER` reports), put when it has
    /// run or when it is cancelled, so the unregistration's wait for references
    /// (`netdev_run_todo()`) also waits for a run that started before `ndo_uninit`: nothing
    /// `work` does outlives that wait.
    ///
    /// The call is a cancel followed by a queue, not one atomic step: with concurrent callers
    /// the work ends up queued once, with one caller's delay, and the returned "was pending" is
    /// only advisory.
    pub fn schedule_work(&self, delay_ms: u32) -> bool {
        if !T::HAS_WORK {
            return false;
        }
        let delay = crate::time::msecs_to_jiffies(delay_ms);
        let w = Adapter::<T>::work_of(self.as_raw());
        // SAFETY: `w` is the device's initialised work (invariant of `Priv`), valid while the
        // device is (`Registration::free` and the link destructor disable it before the free).
        let was_pending = unsafe { bindings::cancel_delayed_work(w) };
        // A queued work owns one reference: the cancelled one's is reused, or one is taken.
        if !was_pending {
            self.0.inc_ref();
        }
        // SAFETY: as above; `system_wq` is the system workqueue.
        let queued = unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as _,
                bindings::system_wq,
                w,
                delay,
            )
        };
        if !queued {
            // Disabled (unregistering), or queued meanwhile by another caller with its own
            // reference: ours is not needed.
            // SAFETY: the reference taken or inherited above, ours to put.
            unsafe { bindings::dev_put(self.as_raw()) };
        }
        was_pending
    }

    /// Cancels the device's [`Operations::work`] if it is pending (and puts the reference the
    /// pending work held); does not wait for a run that already started
    /// (`cancel_delayed_work()`). Returns whether it was pending. Any context.
    pub fn cancel_work(&self) -> bool {
        // SAFETY: as in `schedule_work`.
        let was_pending =
            unsafe { bindings::cancel_delayed_work(Adapter::<T>::work_of(self.as_raw())) };
        if was_pending {
            // SAFETY: the reference the pending work held (see `schedule_work`), now ours.
            unsafe { bindings::dev_put(self.as_raw()) };
        }
        was_pending
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
    /// announces the change (`netdev_change_features()`).
    pub fn update_stacking(
        &self,
        vlan_features: Features,
        hw_enc_features: Features,
        hard_header_len: u16,
        dst_release: bool,
        _rtnl: &Rtnl,
    ) {
        let d = self.as_raw();
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

struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a device of `T` (it uses `NETDEV_OPS`) valid for the call, called by the
    /// core as `ndo_open` (RTNL held).
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: only devices of `T` use these ops; valid during the call.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_open` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::open(dev, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// As `open`, for `ndo_stop`.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_stop` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::stop(dev, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_start_xmit` with a device of `T` and an skb it hands over.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_start_xmit` transfers ownership of the skb.
        let skb = unsafe { OwnedSkBuff::from_raw(skb) };
        // SAFETY: `ndo_start_xmit` runs with bottom halves (or interrupts) disabled, inside
        // `rcu_read_lock_bh()` on the qdisc and `__dev_queue_xmit()` paths, for the whole call.
        let ctx = unsafe { TxContext::assume() };
        // The status is never `NETDEV_TX_BUSY` (invariant of `TxStatus`): the skb was consumed.
        T::start_xmit(dev, skb, &ctx).0 as bindings::netdev_tx_t
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_select_queue`.
    unsafe extern "C" fn select_queue(
        dev: *mut bindings::net_device,
        skb: *mut bindings::sk_buff,
        sb_dev: *mut bindings::net_device,
    ) -> u16 {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the core gives exclusive access to the skb during queue selection.
        let skb = unsafe { SkBuff::from_raw(skb) };
        // SAFETY: `sb_dev`, when non-null, is a registered device (a macvlan offload or the
        // device itself) valid for the call.
        let sb = (!sb_dev.is_null()).then(|| unsafe { Device::from_raw(sb_dev) });
        // `__dev_queue_xmit()` calls this inside `rcu_read_lock_bh()`, but
        // `packet_pick_tx_queue()` calls it preemptible and without RCU: the section is entered
        // here for both (nesting is cheap, and legal in any context).
        let rcu = rcu::read_lock();
        let q = {
            // SAFETY: a transmit path, inside the RCU read-side critical section of `rcu`, which
            // ends only after this block, with `ctx`.
            let ctx = unsafe { TxContext::assume() };
            u32::from(T::select_queue(dev, skb, sb, &ctx))
        };
        drop(rcu);
        let n = dev.real_num_tx_queues().max(1);
        // `n` fits in u16 (the core limits queue counts), so does `q % n`. The division only
        // when needed, as C's `netdev_cap_txqueue()` does.
        (if q < n { q } else { q % n }) as u16
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_get_stats64` with a writable `stats`.
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the core passes a struct that is ours during the call.
        let stats = unsafe { Stats64::from_raw(stats) };
        T::get_stats64(dev, stats);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_mtu` (RTNL held).
    unsafe extern "C" fn change_mtu(dev: *mut bindings::net_device, new_mtu: c_int) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_change_mtu` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| {
            let mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            T::change_mtu(dev, mtu, rtnl)?;
            // SAFETY: valid device; RTNL serialises writers (`WRITE_ONCE` as in C).
            unsafe { ptr::write_volatile(ptr::addr_of_mut!((*dev.as_raw()).mtu), mtu) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_set_rx_mode` (address lock held).
    unsafe extern "C" fn set_rx_mode(dev: *mut bindings::net_device) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_set_rx_mode` is called with the device's address lock held.
        let addrs = unsafe { AddrLocked::assume_locked(dev) };
        T::set_rx_mode(dev, &addrs);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_rx_flags` (RTNL held).
    unsafe extern "C" fn change_rx_flags(dev: *mut bindings::net_device, change: c_int) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the callers (`__dev_set_promiscuity`, `__dev_set_allmulti`) hold RTNL.
        let rtnl = unsafe { Rtnl::assume_held() };
        T::change_rx_flags(dev, change as u32, rtnl);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_add_vid` (RTNL held).
    unsafe extern "C" fn vlan_rx_add_vid(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: VLAN filters are changed with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::vlan_rx_add_vid(dev, proto, vid, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_kill_vid` (RTNL held).
    unsafe extern "C" fn vlan_rx_kill_vid(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: VLAN filters are changed with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::vlan_rx_kill_vid(dev, proto, vid, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_drvinfo` (RTNL held).
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the ethtool core passes a struct that is ours during the call.
        let info = unsafe { DrvInfo::from_raw(info) };
        // SAFETY: ethtool operations run with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        T::get_drvinfo(dev, info, rtnl);
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_link_ksettings` (RTNL held).
    unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the ethtool core passes a struct that is ours during the call.
        let ks = unsafe { LinkKsettings::from_raw(ks) };
        // SAFETY: `__ethtool_get_link_ksettings()` asserts RTNL before calling us.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::get_link_ksettings(dev, ks, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_sset_count`.
    unsafe extern "C" fn get_sset_count(_dev: *mut bindings::net_device, sset: c_int) -> c_int {
        if sset == bindings::ethtool_stringset_ETH_SS_STATS as c_int {
            c_int::try_from(T::ETHTOOL_STATS.len()).unwrap_or(0)
        } else {
            -(bindings::EOPNOTSUPP as c_int)
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_strings`, with `data` sized for the count returned by
    /// `get_sset_count` for `sset`.
    unsafe extern "C" fn get_strings(_dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        let len = bindings::ETH_GSTRING_LEN as usize;
        // SAFETY: the core sized `data` for `ETHTOOL_STATS.len()` strings of `ETH_GSTRING_LEN`
        // bytes (our `get_sset_count`, a constant), and lets us write it during the call.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, T::ETHTOOL_STATS.len() * len) };
        for (chunk, name) in buf.chunks_exact_mut(len).zip(T::ETHTOOL_STATS.iter()) {
            crate::net::ethtool::copy_c_str(chunk, name);
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_ethtool_stats`, with `data` holding
    /// `stats->n_stats` values.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `stats` is valid for the call; the core allocated `n_stats` values at `data`
        // (never more than our count) and lets us write them.
        let data = unsafe {
            let n = ((*stats).n_stats as usize).min(T::ETHTOOL_STATS.len());
            core::slice::from_raw_parts_mut(data, n)
        };
        T::get_ethtool_stats(dev, data);
    }

    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_uninit: Some(Self::uninit),
        ndo_open: if T::HAS_OPEN { Some(Self::open) } else { None },
        ndo_stop: if T::HAS_STOP { Some(Self::stop) } else { None },
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_select_queue: if T::HAS_SELECT_QUEUE {
            Some(Self::select_queue)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode)
        } else {
            None
        },
        ndo_change_rx_flags: if T::HAS_CHANGE_RX_FLAGS {
            Some(Self::change_rx_flags)
        } else {
            None
        },
        ndo_vlan_rx_add_vid: if T::HAS_VLAN_RX_ADD_VID {
            Some(Self::vlan_rx_add_vid)
        } else {
            None
        },
        ndo_vlan_rx_kill_vid: if T::HAS_VLAN_RX_KILL_VID {
            Some(Self::vlan_rx_kill_vid)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_features_check: if T::PASSTHRU_FEATURES_CHECK {
            Some(bindings::passthru_features_check)
        } else {
            None
        },
        // SAFETY: all-zero (all callbacks `None`) is a valid `net_device_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::net_device_ops>::zeroed().assume_init() }
    };

    const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo)
        } else {
            None
        },
        get_link: if T::ETHTOOL_GET_LINK {
            Some(bindings::ethtool_op_get_link)
        } else {
            None
        },
        get_sset_count: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_sset_count)
        } else {
            None
        },
        get_strings: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_strings)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings)
        } else {
            None
        },
        // SAFETY: all-zero (all callbacks `None`, no capabilities) is a valid `ethtool_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::ethtool_ops>::zeroed().assume_init() }
    };

    const ALIGN_OK: () = assert!(core::mem::align_of::<Priv<T>>() <= NETDEV_ALIGN);
    const SYSFS_OK: () = assert!(T::SYSFS_ATTRS.len() <= SYSFS_MAX);

    /// The device's link ops, never registered (see [`Operations::LINK_KIND`]), so the core
    /// never writes to them.
    const LINK_OPS: bindings::rtnl_link_ops = bindings::rtnl_link_ops {
        kind: match T::LINK_KIND {
            Some(k) => k.as_char_ptr(),
            None => ptr::null(),
        },
        slave_maxtype: T::SLAVE_INFO_ATTRS as u32,
        // A device with these ops is owned by its `Registration`, never deleted by the core: a
        // dying namespace gives it back to the initial one instead of unregistering it (which
        // the `Registration` would then do a second time). `link::LinkRegistration` devices,
        // which the core deletes with their namespace, turn this off.
        netns_refund: true,
        get_slave_size: if T::HAS_FILL_SLAVE_INFO {
            Some(Self::get_slave_size)
        } else {
            None
        },
        fill_slave_info: if T::HAS_FILL_SLAVE_INFO {
            Some(Self::fill_slave_info)
        } else {
            None
        },
        // SAFETY: all-zero (no callbacks, empty list head, no policy) is a valid
        // `rtnl_link_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::rtnl_link_ops>::zeroed().assume_init() }
    };

    /// `get_slave_size`: room for `SLAVE_INFO_ATTRS` attributes of up to 4 bytes
    /// (`nla_total_size(4)` = 8 each). Called under RCU: only reads a constant.
    ///
    /// # Safety
    ///
    /// None: the arguments are not used (`unsafe` only for the C function pointer type).
    unsafe extern "C" fn get_slave_size(
        _dev: *const bindings::net_device,
        _slave: *const bindings::net_device,
    ) -> usize {
        T::SLAVE_INFO_ATTRS * 8
    }

    /// # Safety
    ///
    /// Called by rtnetlink as `fill_slave_info` of `LINK_OPS`: `dev` is a device of `T` (the
    /// only devices using these ops) and the master of `slave`, both valid and registered for
    /// the call; `skb` is the message being built, with the room of `get_slave_size`.
    unsafe extern "C" fn fill_slave_info(
        skb: *mut bindings::sk_buff,
        dev: *const bindings::net_device,
        slave: *const bindings::net_device,
    ) -> c_int {
        // SAFETY: a device of `T` (its ops are ours), valid for the call.
        let dev = unsafe { NetDev::<T>::from_raw(dev.cast_mut()) };
        // SAFETY: a registered device, valid for the call.
        let slave = unsafe { Device::from_raw(slave.cast_mut()) };
        // INVARIANT: the message being built, with room for `SLAVE_INFO_ATTRS` attributes.
        let mut info = SlaveInfo {
            skb,
            left: T::SLAVE_INFO_ATTRS,
            _p: PhantomData,
        };
        from_result(|| T::fill_slave_info(dev, slave, &mut info).map(|()| 0))
    }

    /// The device of a sysfs callback, and the index of its attribute.
    ///
    /// # Safety
    ///
    /// `d` must be the `dev` of a `net_device` of `T` and `attr` an attribute of
    /// its `SysfsTable`, as the core passes them to the table's callbacks (while the device's
    /// sysfs files exist, i.e. between registration and unregistration).
    unsafe fn sysfs_args<'a>(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
    ) -> (&'a NetDev<T>, usize) {
        // CAST: `to_net_dev()`: `d` is the `dev` field of a `net_device`.
        let nd = d
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(bindings::net_device, dev))
            .cast::<bindings::net_device>();
        // CAST: `attr` is the first field of a `SysfsAttr` (`repr(C)`).
        // SAFETY: an attribute of the table (caller's guarantee), initialised by `Builder::new`.
        let index = unsafe { (*attr.cast::<SysfsAttr>()).index };
        // SAFETY: a device of `T`, registered while its files exist (caller).
        (unsafe { NetDev::<T>::from_raw(nd) }, index)
    }

    /// # Safety
    ///
    /// Called by the core as a `show` of the table (see `sysfs_args`); `buf` is a page.
    unsafe extern "C" fn sysfs_show(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut u8,
    ) -> isize {
        // SAFETY: forwarded guarantee.
        let (dev, index) = unsafe { Self::sysfs_args(d, attr) };
        let Some(rtnl) = crate::net::rtnl::try_lock() else {
            // SAFETY: just an FFI call (sets `TIF_SIGPENDING`).
            return unsafe { bindings::netdev_restart_syscall() } as isize;
        };
        // SAFETY: `buf` is a page for us to fill (sysfs `show` contract); one byte is kept for
        // the terminating NUL `sysfs_emit()` would write.
        let mut out = unsafe { RawFormatter::from_buffer(buf, bindings::PAGE_SIZE - 1) };
        match T::sysfs_show(dev, index, &mut out, &rtnl) {
            // `RawFormatter` counts what did not fit too: report what is in the page.
            Ok(()) => out.bytes_written().min(bindings::PAGE_SIZE - 1) as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the core as a `store` of the table (see `sysfs_args`); `buf` holds `count`
    /// bytes.
    unsafe extern "C" fn sysfs_store(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const u8,
        count: usize,
    ) -> isize {
        // SAFETY: forwarded guarantee.
        let (dev, index) = unsafe { Self::sysfs_args(d, attr) };
        // SAFETY: `buf` holds `count` bytes for the duration of the call (sysfs contract).
        let bytes = unsafe { core::slice::from_raw_parts(buf, count) };
        let Ok(text) = core::str::from_utf8(bytes) else {
            return EINVAL.to_errno() as isize;
        };
        let Some(rtnl) = crate::net::rtnl::try_lock() else {
            // SAFETY: just an FFI call (sets `TIF_SIGPENDING`).
            return unsafe { bindings::netdev_restart_syscall() } as isize;
        };
        match T::sysfs_store(dev, index, text.strip_suffix('\n').unwrap_or(text), &rtnl) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// Allocates the device's sysfs table for `T::SYSFS_ATTRS`.
    fn sysfs_table() -> Result<KBox<SysfsTable>> {
        #[allow(clippy::let_unit_value)]
        let () = Self::SYSFS_OK;
        // SAFETY: all-zero is a valid `SysfsTable` (null pointers, `None` callbacks).
        let zeroed = unsafe { core::mem::MaybeUninit::<SysfsTable>::zeroed().assume_init() };
        let mut t = KBox::new(zeroed, GFP_KERNEL)?;
        let tp: *mut SysfsTable = &mut *t;
        for (i, desc) in T::SYSFS_ATTRS.iter().enumerate() {
            // SAFETY: `tp` points to the boxed table, which does not move; `i < SYSFS_MAX`.
            unsafe {
                let a = ptr::addr_of_mut!((*tp).attrs[i]);
                (*a).index = i;
                (*a).attr.attr.name = desc.name.as_char_ptr();
                (*a).attr.attr.mode = if desc.writable { 0o644 } else { 0o444 };
                (*a).attr.show = Some(Self::sysfs_show);
                if desc.writable {
                    (*a).attr.store = Some(Self::sysfs_store);
                }
                bindings::netdev_sysfs_attr_init(ptr::addr_of_mut!((*a).attr.attr));
                (*tp).list[i] = ptr::addr_of_mut!((*a).attr.attr);
            }
        }
        // SAFETY: as above; the list stays null-terminated (`list[SYSFS_ATTRS.len()]` is null).
        unsafe {
            (*tp).group.name = T::SYSFS_GROUP.as_char_ptr();
            (*tp).group.attrs = ptr::addr_of_mut!((*tp).list).cast();
        }
        // INVARIANT: `group.attrs` points to `list`, whose entries point into `attrs`.
        Ok(t)
    }

    /// Frees the device's sysfs table, if any.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T` whose sysfs files do not exist (never
    /// registered, or unregistered and its todo list run).
    unsafe fn free_sysfs(dev: *mut bindings::net_device) {
        // SAFETY: `priv_of` is given such a device; `sysfs` was set by `Builder::new`.
        let t = unsafe { (*priv_of::<T>(dev)).sysfs };
        if !t.is_null() {
            // SAFETY: a `KBox` turned into a raw pointer by `Builder::new`, unused now.
            drop(unsafe { KBox::from_raw(t) });
        }
    }

    /// The device's `delayed_work` in its `Priv<T>`: wrapping address arithmetic only, so safe
    /// for any pointer (unlike [`priv_of`], which projects a place through `dev`); what callers
    /// do with the result needs a device of `T`.
    fn work_of(dev: *mut bindings::net_device) -> *mut bindings::delayed_work {
        let p = dev
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(bindings::net_device, priv_))
            .cast::<Priv<T>>();
        Opaque::raw_get(
            p.cast::<u8>()
                .wrapping_add(core::mem::offset_of!(Priv<T>, work))
                .cast(),
        )
    }

    /// The work function of every device's delayed work.
    ///
    /// # Safety
    ///
    /// `w` must be the `work` of the `delayed_work` in the `Priv<T>` of a device of `T` (built
    /// by [`Builder<T>`], or set up by rtnetlink through [`link::LinkRegistration<T>`]), queued
    /// by [`NetDev::schedule_work`] and not freed yet (the workqueue calls it so).
    unsafe extern "C" fn work(w: *mut bindings::work_struct) {
        // CAST: `work` is the first field of `struct delayed_work`, itself `Priv<T>::work`
        // (`Opaque` is transparent).
        let p = w
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(Priv<T>, work))
            .cast::<Priv<T>>();
        let dev = net_device_of(p);
        {
            // SAFETY: `p` is a live `Priv<T>` (caller's guarantee), the private area of `dev`;
            // the device is of `T` and was registered (the work is queued only through a
            // `NetDev<T>`). The queued work held a reference (see `NetDev::schedule_work`),
            // which is put only below, so the unregistration's wait for references has not
            // ended: the device is a valid `Device` for the whole call, and its data is not
            // dropped (that happens after the wait).
            let dev = unsafe { NetDev::<T>::from_raw(dev) };
            if T::HAS_WORK {
                T::work(dev);
            }
        }
        // SAFETY: the reference the queued work held; nothing of the device is used after it.
        // The memory stays valid until this function returns (the free disables the work
        // synchronously first).
        unsafe { bindings::dev_put(dev) };
    }

    /// `ndo_uninit`: the device is being unregistered (or its registration failed). Disables
    /// its work, without waiting (RTNL is held, and the work may be waiting for it): a pending
    /// work is cancelled and its reference put, no new one can be queued, and a run already
    /// started holds a reference that the unregistration waits for.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T`, valid for the call (the core calls it so).
    unsafe extern "C" fn uninit(dev: *mut bindings::net_device) {
        // SAFETY: the device's initialised work (invariant of `Priv`).
        if unsafe { bindings::disable_delayed_work(Self::work_of(dev)) } {
            // SAFETY: the reference the pending work held, now ours.
            unsafe { bindings::dev_put(dev) };
        }
    }

    /// Disables the device's work for good (`disable_delayed_work_sync()`) before the data is
    /// dropped and the device freed: waits until it is neither pending nor running, and makes
    /// any later [`NetDev::schedule_work`] a no-op.
    ///
    /// By then nothing can be pending: `ndo_uninit` disabled the work of a device that was
    /// registered, and a device that never was had no `NetDev` to queue it through. A pending
    /// work here would be a bug of this module; it is reported, and its reference is not put
    /// (that would hide the bug: the count would fall below the allocation's own reference).
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T`, valid for the call. Process context; RTNL only if the
    /// work was never queued (the link destructor of a failed registration), as the work may
    /// take it.
    unsafe fn disable_work_sync(dev: *mut bindings::net_device) {
        // SAFETY: the device's initialised work (invariant of `Priv`).
        if unsafe { bindings::disable_delayed_work_sync(Self::work_of(dev)) } {
            crate::pr_err!("net::driver: deferred work still pending at the free\n");
            // SAFETY: prints the current stack, any context.
            unsafe { bindings::dump_stack() };
        }
    }
}

/// An allocated Ethernet device with initialised private data, not yet registered.
///
/// The setters are [`Setup`]'s, which the builder dereferences to: nobody else can see the
/// device before [`Builder::register`].
/// Dropping the builder drops the private data and frees the device.
///
/// Context: process context (allocation with `GFP_KERNEL`).
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs()` with room for a `T` that is initialised, uses
/// `Adapter<T>`'s operations, and is not registered.
pub struct Builder<T: Operations> {
    setup: Setup<T>,
}

/// A device of the driver `T` that is being set up: allocated, with `T`'s operations, not
/// registered, and seen by nobody else. [`Builder`] dereferences to it; a device created by
/// rtnetlink is given to [`LinkOperations::setup`](link::LinkOperations::setup) as one.
///
/// It is only ever handed out as a shared reference, and its setters take `&self`: with a
/// `&mut Setup<T>`, safe code could `mem::swap()` the device of a [`Builder`] with one
/// rtnetlink allocated (whose data does not exist yet), and the builder would drop data that
/// was never initialised. Sequential writes through `&self` are fine: `Setup` is neither
/// `Send` nor `Sync` (it holds a raw pointer), so all its users run on one thread.
///
/// # Invariants
///
/// `dev` is a valid device using `Adapter<T>`'s operations (or `LinkAdapter<T>`'s), not
/// registered, which only the thread holding the `Setup<T>` accesses, and which the
/// `Setup<T>` keeps designating as long as it exists (it is never exposed by `&mut`).
pub struct Setup<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

impl<T: Operations> core::ops::Deref for Builder<T> {
    type Target = Setup<T>;
    fn deref(&self) -> &Setup<T> {
        &self.setup
    }
}

impl<T: Operations> Builder<T> {
    /// Allocates an Ethernet device (`alloc_etherdev_mqs()`) with `txqs` tx and `rxqs` rx queues
    /// and initialises its private data with `init`.
    pub fn new(txqs: u32, rxqs: u32, init: impl PinInit<T, Error>) -> Result<Self> {
        #[allow(clippy::let_unit_value)]
        let () = Adapter::<T>::ALIGN_OK;
        let size = c_int::try_from(core::mem::size_of::<Priv<T>>()).map_err(|_| EINVAL)?;
        // SAFETY: just an allocation.
        let dev = unsafe { bindings::alloc_etherdev_mqs(size, txqs, rxqs) };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        // SAFETY: the private area was sized for a `Priv<T>` and is aligned to `NETDEV_ALIGN`,
        // which is at least its alignment (`ALIGN_OK`); it is pinned as long as the device
        // lives.
        let p = unsafe { priv_of::<T>(dev.as_ptr()) };
        // SAFETY: `p` is valid memory for a `Priv<T>`, not shared yet: `work` and `sysfs` are
        // initialised here (the invariant of `Priv`), before `data` and before anyone can queue
        // the work.
        unsafe {
            bindings::netdev_init_delayed_work(
                Opaque::raw_get(ptr::addr_of!((*p).work)),
                Some(Adapter::<T>::work),
            );
            ptr::addr_of_mut!((*p).sysfs).write(ptr::null_mut());
        }
        // SAFETY: `data` is valid uninitialised memory for `T`, pinned; on error it stays
        // uninitialised.
        if let Err(e) = unsafe { init.__pinned_init(ptr::addr_of_mut!((*p).data)) } {
            // SAFETY: allocated above, not registered, private data not initialised.
            unsafe { bindings::free_netdev(dev.as_ptr()) };
            return Err(e);
        }
        if !T::SYSFS_ATTRS.is_empty() {
            match Adapter::<T>::sysfs_table() {
                // SAFETY: `p` is our private area; the table is handed to the core as the
                // device's first attribute group (`netdev_register_kobject()` keeps
                // `sysfs_groups[0]`), and freed only once the device's files are gone.
                Ok(t) => unsafe {
                    let t = KBox::into_raw(t);
                    ptr::addr_of_mut!((*p).sysfs).write(t);
                    (*dev.as_ptr()).sysfs_groups[0] = ptr::addr_of!((*t).group);
                },
                Err(e) => {
                    // SAFETY: not registered; the data was initialised above.
                    unsafe {
                        ptr::drop_in_place(ptr::addr_of_mut!((*p).data));
                        bindings::free_netdev(dev.as_ptr());
                    }
                    return Err(e);
                }
            }
        }
        // SAFETY: the device is ours; the ops tables are promoted to `'static` constants.
        unsafe {
            (*dev.as_ptr()).netdev_ops = &Adapter::<T>::NETDEV_OPS;
            (*dev.as_ptr()).ethtool_ops = &Adapter::<T>::ETHTOOL_OPS;
            if T::LINK_KIND.is_some() {
                (*dev.as_ptr()).rtnl_link_ops = &Adapter::<T>::LINK_OPS;
            }
        }
        // INVARIANT: allocated, data initialised, our operations, not registered.
        Ok(Self {
            setup: Setup {
                dev,
                _p: PhantomData,
            },
        })
    }

    /// Registers the device (`register_netdev()`); on failure the device is freed. `EINVAL`
    /// unless the device is in the initial namespace, which never dies: the namespace a
    /// device was put in before registration ([`Setup::set_net_as`]) holds no reference and
    /// could be freed before this call; and a dying namespace unregisters the devices that
    /// cannot leave it ([`Setup::set_netns_immutable`]) behind their [`Registration`]'s back.
    /// A device that may move is moved after registration.
    ///
    /// Context: process context, must not hold RTNL.
    pub fn register(self) -> Result<Registration<T>> {
        let d = self.setup.dev.as_ptr();
        // SAFETY: `d` is ours and unregistered; only the namespace pointer is read (never
        // dereferenced: the namespace may be gone, see `Setup::set_net_as`), and `init_net` is
        // only compared by address.
        let in_init_net =
            unsafe { ptr::eq(bindings::dev_net(d), ptr::addr_of_mut!(bindings::init_net)) };
        if !in_init_net {
            // `self` is dropped: data dropped, device freed.
            return Err(EINVAL);
        }
        // SAFETY: a fully set-up, unregistered device.
        let ret = unsafe { bindings::register_netdev(self.setup.dev.as_ptr()) };
        if ret != 0 {
            // `self` is dropped: data dropped, device freed.
            return Err(Error::from_errno(ret));
        }
        let dev = self.setup.dev;
        core::mem::forget(self);
        // INVARIANT: registered just now.
        Ok(Registration {
            dev,
            _p: PhantomData,
        })
    }
}

impl<T: Operations> Setup<T> {
    /// # Safety
    ///
    /// `dev` must satisfy the type invariants as long as the returned value is used (it has no
    /// destructor: the caller keeps owning the device).
    unsafe fn from_raw(dev: NonNull<bindings::net_device>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            dev,
            _p: PhantomData,
        }
    }

    fn raw(&self) -> *mut bindings::net_device {
        self.dev.as_ptr()
    }

    /// Gives the device the same parent device as `other` (`SET_NETDEV_DEV()`), so that sysfs
    /// shows it below that device and `device/driver` names that device's driver.
    ///
    /// The parent must outlive the device: the driver of `other`'s parent must destroy this
    /// device before it releases its own (as `virtio_net` does with `net_failover_destroy()`).
    pub fn set_parent_as(&self, other: &Allocated) -> &Self {
        let d = self.raw();
        // SAFETY: `other` is valid; `d` is ours and unregistered. `SET_NETDEV_DEV()` takes no
        // reference either: registration (`device_add()`) takes one on the parent.
        unsafe { (*d).dev.parent = (*other.as_raw()).dev.parent };
        self
    }

    /// Puts the device in the network namespace of `other` (`dev_net_set()`). No reference
    /// is taken on the namespace, so [`Builder::register`] accepts the initial namespace only
    /// (it compares the pointer, never dereferences it): a driver gives its device the
    /// namespace of the device it is made for, which for devices being probed is the initial
    /// one.
    pub fn set_net_as(&self, other: &Allocated) -> &Self {
        let d = self.raw();
        // SAFETY: `other` is valid and so is its namespace; `d` is ours and unregistered. In 6.12
        // `dev_net_set()` stores the pointer without taking a reference on the namespace, as for
        // every device: until registration nothing dereferences it, and once registered the
        // device is tied to the namespace like any other of its devices (a dying namespace
        // moves or unregisters its devices before it is freed).
        unsafe { bindings::dev_net_set(d, bindings::dev_net(other.as_raw())) };
        self
    }

    /// Sets the hardware address, and the permanent address to the same value.
    pub fn set_mac(&self, addr: &[u8; crate::net::device::ETH_ALEN]) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; `addr` has `addr_len` (ETH_ALEN) bytes, and
        // `perm_addr` has `MAX_ADDR_LEN` (more).
        unsafe {
            bindings::dev_addr_set(d, addr.as_ptr());
            ptr::copy_nonoverlapping(addr.as_ptr(), (*d).perm_addr.as_mut_ptr(), addr.len());
        }
        self
    }

    /// Gives the device a random, locally administered unicast address
    /// (`eth_hw_addr_random()`), leaving the permanent address alone.
    pub fn set_random_mac(&self) -> &Self {
        let mut addr = [0u8; crate::net::device::ETH_ALEN];
        // SAFETY: writes `addr.len()` bytes into `addr`.
        unsafe { bindings::get_random_bytes(addr.as_mut_ptr().cast(), addr.len()) };
        // Unicast, locally administered (`eth_random_addr()`).
        addr[0] = (addr[0] & 0xfe) | 0x02;
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; `addr` has `addr_len` (ETH_ALEN) bytes.
        unsafe {
            bindings::dev_addr_set(d, addr.as_ptr());
            (*d).addr_assign_type = bindings::NET_ADDR_RANDOM as u8;
        }
        self
    }

    /// Sets the MTU range.
    pub fn set_mtu_range(&self, min: u32, max: u32) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe {
            (*d).min_mtu = min;
            (*d).max_mtu = max;
        }
        self
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: u32) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { (*d).mtu = mtu };
        self
    }

    fn update_priv_flags(&self, set: PrivFlags, clear: PrivFlags) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered. Callers only pass flags whose meaning this
        // driver-owned device backs (see each method).
        unsafe { bindings::netdev_update_priv_flags(d, set.bits() as _, clear.bits() as _) };
        self
    }

    /// Marks the device as a failover master (`IFF_FAILOVER`): the C failover core then leaves
    /// its events alone, and [`LowerLink`](crate::net::lower::LowerLink) marks the devices
    /// linked below it as failover lower devices.
    pub fn set_failover_master(&self) -> &Self {
        self.update_priv_flags(PrivFlags::FAILOVER, PrivFlags::from_raw(0))
    }

    /// Whether the device filters unicast addresses itself (`IFF_UNICAST_FLT`); without it the
    /// core turns on promiscuous mode when secondary unicast addresses are added.
    pub fn set_unicast_filtering(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::UNICAST_FLT, on)
    }

    /// Whether the device has no qdisc (`IFF_NO_QUEUE`), as stacked devices that hand packets
    /// to a lower device's queue usually do.
    pub fn set_no_queue(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::NO_QUEUE, on)
    }

    /// Whether the core may drop a packet's route before `start_xmit`
    /// (`IFF_XMIT_DST_RELEASE`).
    pub fn set_dst_release(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::XMIT_DST_RELEASE, on)
    }

    /// Refuses packets shared with their sender (clears `IFF_TX_SKB_SHARING`, which Ethernet
    /// devices start with). A driver that queues or modifies the packets it transmits needs
    /// this: pktgen would otherwise send one packet several times while it sits in a queue.
    /// There is no way back: claiming the flag is only safe for drivers that never keep a
    /// packet, which this abstraction cannot check.
    pub fn clear_tx_skb_sharing(&self) -> &Self {
        self.update_priv_flags(PrivFlags::from_raw(0), PrivFlags::TX_SKB_SHARING)
    }

    fn set_or_clear(&self, f: PrivFlags, on: bool) -> &Self {
        let none = PrivFlags::from_raw(0);
        if on {
            self.update_priv_flags(f, none)
        } else {
            self.update_priv_flags(none, f)
        }
    }

    /// Declares the driver lockless on transmit (`dev->lltx`): the core does not take the tx
    /// queue lock around `start_xmit`.
    pub fn set_lltx(&self, on: bool) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { bindings::netdev_set_lltx(d, on) };
        self
    }

    /// Forbids moving the device to another network namespace (`dev->netns_immutable`,
    /// `netns_local` before Linux 6.15 and in early 6.12.y releases).
    pub fn set_netns_immutable(&self, on: bool) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { bindings::netdev_set_netns_immutable(d, on) };
        self
    }

    /// Sets the user-changeable features and the active features. Fails with `EINVAL`, changing
    /// nothing, if either holds a feature outside [`Features::DRIVER_SETTABLE`].
    pub fn set_features(&self, hw_features: Features, features: Features) -> Result<&Self> {
        if !Features::DRIVER_SETTABLE.contains(hw_features | features) {
            return Err(EINVAL);
        }
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; the features need no callbacks (checked above).
        unsafe {
            (*d).hw_features = hw_features.bits();
            (*d).features = features.bits();
        }
        Ok(self)
    }

    /// Starts the device without carrier (`netif_carrier_off()` before registration), so that
    /// it is never seen with a carrier it does not have.
    pub fn set_carrier_off(&self) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours; before registration the call only sets the state bit.
        unsafe { bindings::netif_carrier_off(d) };
        self
    }
}

impl<T: Operations> Drop for Builder<T> {
    fn drop(&mut self) {
        let dev = self.setup.dev.as_ptr();
        // SAFETY: by the invariant, the data is initialised and the device unregistered, so no
        // callback can run (the work was never queued: only a `NetDev`, which a never-registered
        // device does not hand out, queues it; after a failed registration `ndo_uninit`
        // disabled it); the device was allocated by
        // `alloc_etherdev_mqs()`. Process context (type documentation).
        unsafe {
            Adapter::<T>::disable_work_sync(dev);
            ptr::drop_in_place(ptr::addr_of_mut!((*priv_of::<T>(dev)).data));
            Adapter::<T>::free_sysfs(dev);
            bindings::free_netdev(dev);
        }
    }
}

/// A registered network device of the driver `T`.
///
/// Dropping it unregisters the device (`unregister_netdev()`, which waits until every other
/// reference was put), then drops the private data and frees the device.
///
/// Context: dropping needs process context without RTNL held.
///
/// # Invariants
///
/// `dev` was built by [`Builder<T>`] and is registered.
#[must_use = "dropping the registration unregisters the device at once"]
pub struct Registration<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

// SAFETY: the registration may be dropped on any task (in process context); `T: Send + Sync`.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&NetDev<T>`, which is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// The device.
    pub fn device(&self) -> &NetDev<T> {
        // SAFETY: by the invariant, of `T`, valid while registered.
        unsafe { NetDev::from_raw(self.dev.as_ptr()) }
    }

    /// A counted reference to the device.
    pub fn device_ref(&self) -> ARef<NetDev<T>> {
        ARef::from(self.device())
    }

    /// Unregisters the device with RTNL already held (`unregister_netdevice()`), then releases
    /// RTNL — which waits for the last references to go — and frees the device.
    pub fn unregister(self, rtnl: RtnlGuard) {
        let dev = self.dev;
        core::mem::forget(self);
        // SAFETY: registered device; RTNL is held (the guard proves it).
        unsafe { bindings::unregister_netdevice_queue(dev.as_ptr(), ptr::null_mut()) };
        // `rtnl_unlock()` runs the todo list, which includes this device: it returns once the
        // device has been fully unregistered and all other references were put.
        drop(rtnl);
        // SAFETY: unregistered and unreferenced; nothing can call into `T` any more.
        unsafe { Self::free(dev) };
    }

    /// # Safety
    ///
    /// `dev` must be fully unregistered (todo list run) and not used by anyone else. Process
    /// context.
    unsafe fn free(dev: NonNull<bindings::net_device>) {
        // SAFETY: as required by the caller, nothing uses the device: the todo list's wait also
        // covered the deferred work (disabled at `ndo_uninit`, a run holding a reference), so
        // `disable_work_sync` finds nothing to wait for; the data can be dropped and the device
        // freed.
        unsafe {
            Adapter::<T>::disable_work_sync(dev.as_ptr());
            ptr::drop_in_place(ptr::addr_of_mut!((*priv_of::<T>(dev.as_ptr())).data));
            Adapter::<T>::free_sysfs(dev.as_ptr());
            bindings::free_netdev(dev.as_ptr());
        }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered device; `unregister_netdev()` takes RTNL and returns once the device
        // is fully unregistered and unreferenced.
        unsafe { bindings::unregister_netdev(self.dev.as_ptr()) };
        // SAFETY: see above.
        unsafe { Self::free(self.dev) };
    }
}
