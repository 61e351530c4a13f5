// SPDX-License-Identifier: GPL-2.0

//! Notice that a PCI device is about to lose its driver (`BUS_NOTIFY_UNBIND_DRIVER`).
//!
//! C header: [`include/linux/device/bus.h`](srctree/include/linux/device/bus.h)
//!
//! A network driver removing its device may stop transmitting before it unregisters the
//! netdev: `e1000_remove()` sets `__E1000_DOWN`, after which `e1000_xmit_frame()` frees every
//! packet it is given, then cancels its timers and work items, and only then calls
//! `unregister_netdev()` (the first netdev event, `NETDEV_GOING_DOWN`). An upper device that
//! wants to stop using such a lower device in time needs the driver core's notice, sent before
//! the driver's `remove()` runs.

use crate::{
    bindings,
    device::Device as BusDevice,
    error::{to_result, Error},
    init::PinInit,
    prelude::*,
    types::Opaque,
};
use core::{ffi::c_void, marker::PhantomPinned};

/// A handler of PCI unbind notices.
pub trait UnbindHandler: Send + Sync + 'static {
    /// `dev`, a PCI device, is about to be unbound from its driver: the driver's `remove()`
    /// runs right after this returns.
    ///
    /// Context: process context, `dev`'s device lock held; may sleep and take RTNL (which the
    /// drivers' `remove()` takes after it anyway).
    fn unbinding(&self, dev: &BusDevice);
}

/// A registered PCI bus notifier passing `BUS_NOTIFY_UNBIND_DRIVER` to an [`UnbindHandler`].
/// Dropping it unregisters the notifier.
///
/// Context: creating and dropping need process context.
///
/// # Invariants
///
/// `nb` is registered on `pci_bus_type` with `bus_register_notifier()` iff its `notifier_call`
/// is set, which is `Self::call`; the structure is pinned.
#[pin_data(PinnedDrop)]
pub struct PciUnbindNotifier<H: UnbindHandler> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: H,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `H: Send + Sync`; the notifier block is only used by the bus's notifier chain.
unsafe impl<H: UnbindHandler> Send for PciUnbindNotifier<H> {}
// SAFETY: see `Send`.
unsafe impl<H: UnbindHandler> Sync for PciUnbindNotifier<H> {}

impl<H: UnbindHandler> PciUnbindNotifier<H> {
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
        if action == bindings::bus_notifier_event_BUS_NOTIFY_UNBIND_DRIVER as usize {
            // CAST: `nb` points to the `nb` field of a `PciUnbindNotifier<H>`.
            // SAFETY: registered blocks are embedded in a live, pinned `PciUnbindNotifier<H>`
            // (invariant), so going back from the field to the containing struct stays in bounds.
            let this = unsafe { &*crate::container_of!(Opaque::raw_get(nb.cast()), Self, nb) };
            // CAST: bus notifiers receive the `struct device *` through the `void *`.
            // SAFETY: the device is valid (and locked) during the call.
            let dev = unsafe { BusDevice::as_ref(data.cast()) };
            this.handler.unbinding(dev);
        }
        bindings::NOTIFY_DONE as core::ffi::c_int
    }
}

#[pinned_drop]
impl<H: UnbindHandler> PinnedDrop for PciUnbindNotifier<H> {
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
