// SPDX-License-Identifier: GPL-2.0

//! References to network devices: tracked references and RCU-published slots.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//! (`netdev_hold()`, `netdev_put()`, `synchronize_net()`)

use super::Device;
use crate::{
    bindings,
    error::Result,
    net::rtnl::{Rtnl, RtnlAtomic},
    sync::rcu,
    types::ARef,
};
use core::{
    cell::UnsafeCell,
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, Ordering},
};

/// Types that are a registered `struct net_device` (a [`Device`] or a typed wrapper of one).
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
/// critical section (any context, including the tx path and rx handlers), or a counted
/// reference under RTNL. A replaced device is handed back only after a grace period
/// (`synchronize_net()`), so RCU readers never see a device whose slot reference was dropped;
/// RTNL readers hold their own reference, so [`DeviceSlot::take`] cannot pull the device from
/// under them either.
///
/// The device can also be *enabled*: a second published pointer, equal to the first when
/// enabled, that a transmit fast path reads with one load where it would otherwise load the
/// device and then a flag of the driver's own ([`DeviceSlot::get_enabled`],
/// [`DeviceSlot::set_enabled`]). When nothing is enabled it is null.
///
/// # Invariants
///
/// `ptr` is null or points to a [`Device`] (registered, maybe being unregistered since: `set`
/// takes what it is given) on which the slot owns one reference recorded
/// in `tracker`. `enabled` is null or equal to a non-null `ptr`. `ptr` and `enabled` are
/// written only with RTNL held, `tracker` is accessed only with RTNL held or through
/// `&mut self`.
///
/// # Examples
///
/// ```
/// use kernel::{net::device::DeviceSlot, net::rtnl, sync::rcu};
///
/// let slot = DeviceSlot::new();
/// let rtnl = rtnl::lock();
/// assert!(slot.get_rtnl(&rtnl).is_none());
/// assert!(slot.take(&rtnl).is_none());
/// drop(rtnl);
/// assert!(slot.get(&rcu::read_lock()).is_none());
/// ```
///
/// A device read under RTNL is a counted reference: emptying the slot meanwhile leaves it valid.
///
/// ```
/// use kernel::{c_str, error::Error, net::device::DeviceSlot, net::rtnl};
///
/// let rtnl = rtnl::lock();
/// // Any registered device will do.
/// let lo = kernel::net::device::Device::lookup_init_net(c_str!("lo"), &rtnl).unwrap();
/// let slot = DeviceSlot::new();
/// slot.set(&lo, &rtnl)?;
/// let held = slot.get_rtnl(&rtnl).unwrap();
/// let taken = slot.take(&rtnl).unwrap();
/// drop(taken);
/// assert_eq!(held.ifindex(), lo.ifindex()); // still a valid device
/// # Ok::<(), Error>(())
/// ```
///
/// A device is enabled only while it is in the slot:
///
/// ```
/// use kernel::{c_str, error::Error, net::device::DeviceSlot, net::rtnl, sync::rcu};
///
/// let rtnl = rtnl::lock();
/// let lo = kernel::net::device::Device::lookup_init_net(c_str!("lo"), &rtnl).unwrap();
/// let slot = DeviceSlot::new();
/// slot.set_enabled(true, &rtnl); // empty: nothing to enable
/// slot.set(&lo, &rtnl)?;
/// assert!(slot.get_enabled(&rcu::read_lock()).is_none()); // set, not enabled yet
/// assert!(slot.get_enabled_with_carrier(&rcu::read_lock()).is_none());
/// slot.set_enabled(true, &rtnl);
/// assert_eq!(slot.get_enabled(&rcu::read_lock()).map(|d| d.ifindex()), Some(lo.ifindex()));
/// assert_eq!(
///     slot.get_enabled_with_carrier(&rcu::read_lock()).map(|d| d.ifindex()),
///     lo.carrier_ok().then_some(lo.ifindex())
/// );
/// slot.set_enabled(false, &rtnl);
/// assert!(slot.get_enabled(&rcu::read_lock()).is_none());
/// assert!(slot.get_enabled_with_carrier(&rcu::read_lock()).is_none());
/// slot.set_enabled(true, &rtnl);
/// drop(slot.take(&rtnl)); // emptying disables
/// assert!(slot.get_enabled(&rcu::read_lock()).is_none());
/// slot.set(&lo, &rtnl)?;
/// assert!(slot.get_enabled(&rcu::read_lock()).is_none()); // a new device starts disabled
/// drop(slot.take(&rtnl));
/// # Ok::<(), Error>(())
/// ```
pub struct DeviceSlot {
    ptr: AtomicPtr<bindings::net_device>,
    enabled: AtomicPtr<bindings::net_device>,
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

/// Proof that the current code runs inside an RCU read-side critical section, for as long as
/// the proof is borrowed: an [`rcu::Guard`], or a callback context the core runs in one (the
/// transmit path, [`TxContext`](crate::net::driver::TxContext); an rx handler,
/// [`RxSkb`](crate::net::rx_handler::RxSkb)). Lets [`DeviceSlot::get`] skip its own
/// `rcu_read_lock()` where the core already holds one, as C's `rcu_dereference_bh()` does.
///
/// # Safety
///
/// While a `&Self` is live, the current task is in a read-side critical section that
/// `synchronize_rcu()` waits for (since the RCU flavour consolidation of 4.20 that includes
/// regions with bottom halves or interrupts disabled). Sealed: only this crate implements it.
pub unsafe trait RcuReader: sealed::Sealed {}

pub(crate) mod sealed {
    /// Keeps [`super::RcuReader`] implementations in this crate.
    pub trait Sealed {}
}

impl sealed::Sealed for rcu::Guard {}
// SAFETY: a guard holds `rcu_read_lock()` for its whole life.
unsafe impl RcuReader for rcu::Guard {}

impl DeviceSlot {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            enabled: AtomicPtr::new(ptr::null_mut()),
            // SAFETY: zeroes are a valid (empty) tracker.
            tracker: UnsafeCell::new(unsafe { core::mem::zeroed() }),
        }
    }

    /// The published device, for RCU readers.
    pub fn get<'a, R: RcuReader>(&'a self, _rcu: &'a R) -> Option<&'a Device> {
        // Acquire pairs with the Release in `set`: the device is fully visible (as with
        // `rcu_dereference()`).
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a published pointer is a registered device, valid while the slot holds its
        // reference, and `take` waits for a grace period before that reference can be dropped;
        // we are inside an RCU read-side critical section for `'a`.
        (!p.is_null()).then(|| unsafe { Device::from_raw(p) })
    }

    /// The published device if it is enabled ([`DeviceSlot::set_enabled`]), for RCU readers.
    ///
    /// A reader inside its critical section may still see a device after it was disabled (as
    /// with any RCU-published value), never after the slot was emptied and `take` returned.
    #[inline]
    pub fn get_enabled<'a, R: RcuReader>(&'a self, _rcu: &'a R) -> Option<&'a Device> {
        // Acquire pairs with the Release in `set_enabled`.
        let p = self.enabled.load(Ordering::Acquire);
        // SAFETY: a non-null `enabled` equals a non-null `ptr` (invariant): a device the slot
        // holds a reference on, and `take` disables before its grace period, so the reasoning
        // of `get` applies.
        (!p.is_null()).then(|| unsafe { Device::from_raw(p) })
    }

    /// The enabled device ([`DeviceSlot::get_enabled`]) if it has carrier
    /// ([`Device::carrier_ok`]), for RCU readers: one load, a null test and one test of a state
    /// word, the first question of a transmit fast path. Whether the device is running is left
    /// to the caller's notion of enabled (a driver can disable a device when it goes down).
    #[inline]
    pub fn get_enabled_with_carrier<'a, R: RcuReader>(&'a self, rcu: &'a R) -> Option<&'a Device> {
        self.get_enabled(rcu).filter(|d| d.carrier_ok())
    }

    /// Enables (`on`) or disables the published device for [`DeviceSlot::get_enabled`]
    /// readers. Enabling an empty slot does nothing; a device newly [`set`](DeviceSlot::set)
    /// starts disabled, and [`take`](DeviceSlot::take) disables it.
    ///
    /// Context: RTNL held.
    pub fn set_enabled(&self, on: bool, _rtnl: &Rtnl) {
        let p = self.ptr.load(Ordering::Relaxed);
        let p = if on { p } else { ptr::null_mut() };
        // INVARIANT: `p` is null or `ptr` (null or not), which cannot change while RTNL is held.
        self.enabled.store(p, Ordering::Release);
    }

    /// The published device, for RTNL holders (`rtnl_dereference()`), as a counted reference
    /// that stays valid whatever happens to the slot afterwards. Does not sleep.
    pub fn get_rtnl(&self, _rtnl: &RtnlAtomic) -> Option<ARef<Device>> {
        let p = self.ptr.load(Ordering::Relaxed);
        // SAFETY: RTNL is held, so the slot cannot be emptied during this call, and its
        // reference keeps `p` valid while we take our own.
        (!p.is_null()).then(|| ARef::from(unsafe { Device::from_raw(p) }))
    }

    /// Whether the slot holds `dev`.
    pub fn holds(&self, dev: &Device, _rtnl: &RtnlAtomic) -> bool {
        ptr::eq(self.ptr.load(Ordering::Relaxed), dev.as_raw())
    }

    /// Whether the slot holds a device.
    pub fn is_occupied(&self, _rtnl: &RtnlAtomic) -> bool {
        !self.ptr.load(Ordering::Relaxed).is_null()
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
    /// Context: process context with RTNL held, outside any RCU read-side critical section;
    /// sleeps for a grace period if the slot was occupied.
    pub fn take(&self, rtnl: &Rtnl) -> Option<ARef<Device>> {
        // INVARIANT: `enabled` is disabled first, so it is null or `ptr` at every moment; the
        // grace period below covers its readers as well.
        self.enabled.store(ptr::null_mut(), Ordering::Relaxed);
        let p = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        rtnl.synchronize_net();
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
