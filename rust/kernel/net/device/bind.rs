// SPDX-License-Identifier: GPL-2.0

//! A PCI device's driver binding: the driver core's notices (`BUS_NOTIFY_*_DRIVER`), and the
//! set of PCI devices whose driver's `probe()` is running.
//!
//! C header: [`include/linux/device/bus.h`](srctree/include/linux/device/bus.h)
//!
//! A network driver removing its device may stop transmitting before it unregisters the
//! netdev: `e1000_remove()` sets `__E1000_DOWN`, after which `e1000_xmit_frame()` frees every
//! packet it is given, then cancels its timers and work items, and only then calls
//! `unregister_netdev()` (the first netdev event, `NETDEV_GOING_DOWN`). An upper device that
//! wants to stop using such a lower device in time needs the driver core's notice, sent before
//! the driver's `remove()` runs.
//!
//! The other way round, a driver's `probe()` may register its netdev before the device is ready
//! to carry traffic: `igbvf_probe()` calls `register_netdev()` with the carrier on (a new
//! netdev's default) and turns it off, and stops the queue, only afterwards. An upper device
//! that opens the netdev from `NETDEV_REGISTER` sees a ready device for that moment; it can
//! tell with [`ProbingSet`] that the parent's probe is still running, and wait for
//! [`BindHandler::bound`].

use super::Device;
use crate::{
    bindings,
    device::Device as BusDevice,
    error::{to_result, Error},
    init::PinInit,
    net::rtnl::Rtnl,
    prelude::*,
    types::Opaque,
};
use core::{
    ffi::{c_int, c_void},
    marker::PhantomPinned,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

/// A handler of PCI driver binding notices. Each method runs in process context with `dev`'s
/// device lock held and may sleep. The driver core may probe or unbind a device on behalf of a
/// caller that holds RTNL, so a method takes RTNL only where its documentation says that it
/// may.
pub trait BindHandler: Send + Sync + 'static {
    /// `dev`'s driver is about to be probed (`BUS_NOTIFY_BIND_DRIVER`). Must not take RTNL.
    fn binding(&self, _dev: &BusDevice) {}

    /// `dev`'s driver probed it successfully (`BUS_NOTIFY_BOUND_DRIVER`). Must not take RTNL
    /// unless it knows that the probe took it (see [`ProbingSet::finished`]).
    fn bound(&self, _dev: &BusDevice) {}

    /// `dev`'s driver failed to bind (`BUS_NOTIFY_DRIVER_NOT_BOUND`): its `probe()` failed, or
    /// never ran. The driver core has not released the probe's device-managed resources yet,
    /// so a netdev registered with `devm_register_netdev()` may still be registered. Same rule
    /// for RTNL as [`BindHandler::bound`].
    fn probe_failed(&self, _dev: &BusDevice) {}

    /// `dev`, which has a registered netdev as a child device, is about to be unbound from its
    /// driver (`BUS_NOTIFY_UNBIND_DRIVER`): the driver's `remove()` runs right after this
    /// returns. May take RTNL: removing the device unregisters that netdev, which takes RTNL,
    /// so the caller does not hold it. Devices without a netdev child are not passed on.
    fn netdev_parent_unbinding(&self, _dev: &BusDevice) {}
}

/// A registered PCI bus notifier passing the driver binding notices to a [`BindHandler`].
/// Dropping it unregisters the notifier.
///
/// Context: creating and dropping need process context.
///
/// # Invariants
///
/// `nb` is registered on `pci_bus_type` with `bus_register_notifier()` iff its `notifier_call`
/// is set, which is `Self::call`; the structure is pinned.
#[pin_data(PinnedDrop)]
pub struct PciBindNotifier<H: BindHandler> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: H,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `H: Send + Sync`; the notifier block is only used by the bus's notifier chain.
unsafe impl<H: BindHandler> Send for PciBindNotifier<H> {}
// SAFETY: see `Send`.
unsafe impl<H: BindHandler> Sync for PciBindNotifier<H> {}

impl<H: BindHandler> PciBindNotifier<H> {
    /// Registers `handler` on the PCI bus, in place (`bus_register_notifier()`).
    pub fn new(handler: H) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `nb` is valid writable memory for a `notifier_block`: an all-zero block
            // with our callback is a valid, unregistered one.
            nb <- Opaque::ffi_init(|nb: *mut bindings::notifier_block| unsafe {
                nb.write(core::mem::zeroed());
                (*nb).notifier_call = Some(Self::call);
            }),
            handler,
            _pin: PhantomPinned,
        }? Error)
        .pin_chain(|this| {
            let nb = this.nb.get();
            // SAFETY: `this` is fully initialised and pinned; `pci_bus_type` is a static bus;
            // the block stays registered until `drop` unregisters it.
            to_result(unsafe {
                bindings::bus_register_notifier(core::ptr::addr_of!(bindings::pci_bus_type), nb)
            })
            .inspect_err(|_| {
                // Not registered: tell `drop` (which runs on this error) to leave it alone.
                // SAFETY: the block is ours and not on any chain.
                unsafe { (*nb).notifier_call = None };
            })
        })
    }

    /// # Safety
    ///
    /// Called by the PCI bus notifier chain with our block and a `struct device *`.
    unsafe extern "C" fn call(
        nb: *mut bindings::notifier_block,
        action: usize,
        data: *mut c_void,
    ) -> core::ffi::c_int {
        // CAST: `nb` points to the `nb` field of a `PciBindNotifier<H>`.
        // SAFETY: registered blocks are embedded in a live, pinned `PciBindNotifier<H>`
        // (invariant), so going back from the field to the containing struct stays in bounds.
        let this = unsafe { &*crate::container_of!(Opaque::raw_get(nb.cast()), Self, nb) };
        // The notices below all pass the device (locked) as `data`.
        // CAST: bus notifiers receive the `struct device *` through the `void *`.
        // SAFETY: the device is valid (and locked) during the call.
        let dev = || unsafe { BusDevice::as_ref(data.cast()) };
        let Ok(action) = u32::try_from(action) else {
            return bindings::NOTIFY_DONE as core::ffi::c_int;
        };
        match action {
            bindings::bus_notifier_event_BUS_NOTIFY_BIND_DRIVER => this.handler.binding(dev()),
            bindings::bus_notifier_event_BUS_NOTIFY_BOUND_DRIVER => this.handler.bound(dev()),
            bindings::bus_notifier_event_BUS_NOTIFY_DRIVER_NOT_BOUND => {
                this.handler.probe_failed(dev())
            }
            bindings::bus_notifier_event_BUS_NOTIFY_UNBIND_DRIVER => {
                let dev = dev();
                if has_netdev_child(dev) {
                    this.handler.netdev_parent_unbinding(dev)
                }
            }
            _ => {}
        }
        bindings::NOTIFY_DONE as core::ffi::c_int
    }
}

/// Whether `dev` has a child device of the `net` class, i.e. is the parent of a registered
/// netdev. The class is recognised by its address, that of the loopback device's class, and
/// no child's class is dereferenced. Context: `dev`'s device lock held (the bus notices).
fn has_netdev_child(dev: &BusDevice) -> bool {
    /// `device_for_each_child()` callback: non-zero (which stops the walk) for a device of the
    /// class at `net_class`.
    ///
    /// # Safety
    ///
    /// `child` is a valid device, held by the walk for the call.
    unsafe extern "C" fn is_netdev(child: *mut bindings::device, net_class: *mut c_void) -> c_int {
        // SAFETY: `child` is valid (function's safety requirement); its `class` is set before it
        // is added to its parent's children and not changed afterwards.
        let class = unsafe { (*child).class };
        c_int::from(ptr::eq(class.cast::<c_void>(), net_class))
    }
    // SAFETY: `init_net` is a static; its loopback device is registered at `subsys_initcall`
    // time, before any device driver's initcall or module (a failure there panics:
    // `loopback_net_init()`), and never unregistered; registration set its `dev.class` to the
    // net class (`netdev_register_kobject()`).
    let net_class = unsafe {
        (*(*ptr::addr_of!(bindings::init_net)).loopback_dev)
            .dev
            .class
    };
    // SAFETY: `dev` is valid; the walk holds each child while the callback, which only reads
    // its class pointer, looks at it.
    unsafe {
        bindings::device_for_each_child(dev.as_raw(), net_class.cast_mut().cast(), Some(is_netdev))
            != 0
    }
}

#[pinned_drop]
impl<H: BindHandler> PinnedDrop for PciBindNotifier<H> {
    fn drop(self: Pin<&mut Self>) {
        let nb = self.nb.get();
        // SAFETY: the block is ours; it is registered iff its callback is set (invariant).
        unsafe {
            if (*nb).notifier_call.is_some() {
                bindings::bus_unregister_notifier(core::ptr::addr_of!(bindings::pci_bus_type), nb);
            }
        }
    }
}

/// Number of devices a [`ProbingSet`] tracks at once.
const PROBING_SLOTS: usize = 16;

/// A slot's `dev` while it is being filled or emptied.
const BUSY: *mut bindings::device = ptr::NonNull::dangling().as_ptr();

/// One device of a [`ProbingSet`]. Addresses are compared, never dereferenced.
struct ProbingSlot {
    /// The device; null when free, [`BUSY`] while being filled or emptied.
    dev: AtomicPtr<bindings::device>,
    /// The device a [`ProbingSet::watch_parent`] call found probing in this slot, or null.
    watched: AtomicPtr<bindings::device>,
}

/// The PCI devices whose driver's `probe()` is running, as told by a [`BindHandler`]:
/// [`ProbingSet::started`] from [`BindHandler::binding`], [`ProbingSet::finished`] from
/// [`BindHandler::bound`] and [`BindHandler::probe_failed`]. Lock-free, so that the driver
/// core's notices need no lock of ours; usable as a `static`.
///
/// It holds at most 16 devices: a device that starts probing while 16 others are is not
/// tracked, and is seen as bound (a caller then behaves as it would without the set). A device
/// whose probe ends without either notice stays in the set until its next probe ends: the
/// driver core skips `BUS_NOTIFY_BOUND_DRIVER` when `driver_bound()` finds the device bound
/// already (which it warns about), and `CONFIG_DEBUG_TEST_DRIVER_REMOVE`'s second probe sends
/// no `BUS_NOTIFY_DRIVER_NOT_BOUND` when its pin or DMA set-up fails.
///
/// # Invariants
///
/// - A slot's `dev` is null (free), [`BUSY`] (owned by the [`ProbingSet::started`] or
///   [`ProbingSet::finished`] call that set it) or the address of a PCI device that had a
///   `BUS_NOTIFY_BIND_DRIVER` not yet followed by its `BUS_NOTIFY_BOUND_DRIVER` or
///   `BUS_NOTIFY_DRIVER_NOT_BOUND`.
/// - A slot's `watched` is null or the address of a device that a [`ProbingSet::watch_parent`]
///   call found in that slot; [`ProbingSet::finished`] of that device returns `true` if the
///   call returned `true`.
pub struct ProbingSet {
    slots: [ProbingSlot; PROBING_SLOTS],
}

impl ProbingSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            slots: [const {
                ProbingSlot {
                    dev: AtomicPtr::new(ptr::null_mut()),
                    watched: AtomicPtr::new(ptr::null_mut()),
                }
            }; PROBING_SLOTS],
        }
    }

    /// `dev` starts probing: call from [`BindHandler::binding`]. A device already in the set
    /// (probed again, e.g. by `CONFIG_DEBUG_TEST_DRIVER_REMOVE`) stays in once; a device that
    /// finds the set full is not tracked.
    pub fn started(&self, dev: &BusDevice) {
        let p = dev.as_raw();
        if self.slots.iter().any(|s| s.dev.load(Ordering::SeqCst) == p) {
            return;
        }
        for s in &self.slots {
            if s.dev
                .compare_exchange(ptr::null_mut(), BUSY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                // INVARIANT: the slot is ours (`BUSY`); a watcher of its previous device may
                // still store that device's address in `watched`, never `p`'s.
                s.watched.store(ptr::null_mut(), Ordering::SeqCst);
                // INVARIANT: `dev` had its `BUS_NOTIFY_BIND_DRIVER` (our caller).
                s.dev.store(p, Ordering::SeqCst);
                return;
            }
        }
    }

    /// `dev` finished probing, bound or not: call from [`BindHandler::bound`] and
    /// [`BindHandler::probe_failed`]. Returns whether a [`ProbingSet::watch_parent`] call
    /// found it probing and returned `true`: that caller, under RTNL, left something for the
    /// end of the probe, which the caller of `finished` then does under RTNL.
    ///
    /// Taking RTNL after a `true` is safe where the watched netdev was registered by this probe
    /// (which took RTNL then, so the driver core's caller does not hold it): the only way a
    /// netdev whose parent is still probing comes to exist.
    pub fn finished(&self, dev: &BusDevice) -> bool {
        let p = dev.as_raw();
        let mut watched = false;
        for s in &self.slots {
            if s.dev
                .compare_exchange(p, BUSY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                // All `SeqCst`: a watcher either stored `p` in `watched` before this swap, or
                // reads `BUSY` (or a later device) when it checks `dev` again and returns
                // `false`. A store of `p` after the swap is cleared by the slot's next
                // `started`, and can match no other device.
                watched |= s.watched.swap(ptr::null_mut(), Ordering::SeqCst) == p;
                // INVARIANT: `dev`'s probe is over.
                s.dev.store(ptr::null_mut(), Ordering::SeqCst);
            }
        }
        watched
    }

    /// Whether the parent of `netdev` is in the set, i.e. its driver's `probe()` is still
    /// running (the netdev was registered from it). A `true` is a promise: the matching
    /// [`ProbingSet::finished`] returns `true`, so that its caller can act on the end of the
    /// probe for this one.
    pub fn watch_parent(&self, netdev: &Device, rtnl: &Rtnl) -> bool {
        if !netdev.parent_held(rtnl) {
            return false;
        }
        let p = netdev.parent_raw();
        if p.is_null() {
            return false;
        }
        self.slots.iter().any(|s| {
            if s.dev.load(Ordering::SeqCst) != p {
                return false;
            }
            // INVARIANT: `p` was found in this slot.
            s.watched.store(p, Ordering::SeqCst);
            // Still there after `watched` was set: `finished` has not taken the slot yet, and
            // when it does it finds `p` in `watched` (only watchers, all under RTNL, store
            // there, and a different device's watcher cannot run in between).
            s.dev.load(Ordering::SeqCst) == p
        })
    }
}

impl Default for ProbingSet {
    fn default() -> Self {
        Self::new()
    }
}
