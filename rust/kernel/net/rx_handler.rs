// SPDX-License-Identifier: GPL-2.0

//! Receive handlers: an upper device (bond, team, failover, ...) intercepting the packets
//! received by a lower device.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//! (`netdev_rx_handler_register()`)
//!
//! The handler data is a tracked reference to the upper [`NetDev<T>`], so the handler reaches
//! the upper device's private data without raw pointers; the upper device cannot go away while
//! a lower device still points to it.

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::{to_result, Result},
    net::{
        dev::{DevRef, Device},
        netdev::{NetDev, Operations},
        rtnl::Rtnl,
        skbuff::SkBuff,
    },
};
use core::marker::PhantomData;

/// What the stack does with a packet after the handler ran (`rx_handler_result_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RxResult {
    /// The handler consumed the packet (`RX_HANDLER_CONSUMED`).
    Consumed,
    /// The handler changed `skb->dev`; process the packet again for that device
    /// (`RX_HANDLER_ANOTHER`).
    Another,
    /// Deliver only to protocol handlers bound exactly to this device (`RX_HANDLER_EXACT`).
    Exact,
    /// Process the packet as if there were no handler (`RX_HANDLER_PASS`).
    Pass,
}

/// A receive handler run for the packets of a lower device, on behalf of the upper device whose
/// private data implements it.
pub trait RxHandler: Operations {
    /// Handles a packet received on a lower device (`skb->dev`) of `upper`.
    ///
    /// Context: softirq (NAPI) or process context with bottom halves disabled, inside an RCU
    /// read-side critical section; must not sleep.
    fn handle_frame(upper: &NetDev<Self>, skb: &SkBuff) -> RxResult;
}

/// An installed receive handler of `T` on a lower device; the lower device's
/// `rx_handler_data` owns a tracked reference to the upper device.
///
/// Must be passed back to [`Registration::unregister`] (under RTNL): dropping it leaves the
/// handler installed and the upper device referenced, which is reported.
///
/// # Invariants
///
/// `lower`'s `rx_handler` is `Adapter<T>::handle_frame` and its `rx_handler_data` is `data`, a
/// `KBox<DevRef<NetDev<T>>>` turned into a raw pointer.
#[must_use = "an rx handler must be unregistered"]
pub struct Registration<T: RxHandler> {
    lower: *mut bindings::net_device,
    data: *mut DevRef<NetDev<T>>,
}

// SAFETY: the registration is only used (unregistered) under RTNL, from any task.
unsafe impl<T: RxHandler> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl<T: RxHandler> Sync for Registration<T> {}

struct Adapter<T: RxHandler>(PhantomData<T>);

impl<T: RxHandler> Adapter<T> {
    /// # Safety
    ///
    /// Called by the stack as the rx handler installed by `register` (RCU read lock held).
    unsafe extern "C" fn handle_frame(
        pskb: *mut *mut bindings::sk_buff,
    ) -> bindings::rx_handler_result_t {
        // SAFETY: the stack passes a valid packet that it lets the handler process.
        let skb = unsafe { SkBuff::from_raw(*pskb) };
        // CAST: `rx_handler_data` is the `void *` made from our `KBox<DevRef<NetDev<T>>>`.
        // SAFETY: `skb->dev` is the lower device, whose `rx_handler_data` is our `DevRef`
        // (invariant of `Registration`); it is read under RCU as `netdev_rx_handler_unregister`
        // clears it and waits for a grace period before the box is freed.
        let upper = unsafe {
            let lower = bindings::skb_dev(*pskb);
            let data = core::ptr::read_volatile(core::ptr::addr_of!((*lower).rx_handler_data));
            &**data.cast::<DevRef<NetDev<T>>>()
        };
        match T::handle_frame(upper, skb) {
            RxResult::Consumed => bindings::rx_handler_result_RX_HANDLER_CONSUMED,
            RxResult::Another => bindings::rx_handler_result_RX_HANDLER_ANOTHER,
            RxResult::Exact => bindings::rx_handler_result_RX_HANDLER_EXACT,
            RxResult::Pass => bindings::rx_handler_result_RX_HANDLER_PASS,
        }
    }
}

impl<T: RxHandler> Registration<T> {
    /// Installs `T`'s handler on `lower` for the upper device `upper`
    /// (`netdev_rx_handler_register()`). Fails with `EBUSY` if `lower` already has a handler.
    ///
    /// Context: process context, RTNL held.
    pub fn register(lower: &Device, upper: &NetDev<T>, _rtnl: &Rtnl) -> Result<Self> {
        let data = KBox::into_raw(KBox::new(DevRef::new(upper), GFP_KERNEL)?);
        // CAST: the handler data is passed as `void *`; `handle_frame` casts it back.
        // SAFETY: `lower` is valid, RTNL is held; `data` stays valid until `unregister`.
        let ret = unsafe {
            bindings::netdev_rx_handler_register(
                lower.as_raw(),
                Some(Adapter::<T>::handle_frame),
                data.cast(),
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: not installed; we still own the box.
            drop(unsafe { KBox::from_raw(data) });
            return Err(e);
        }
        // INVARIANT: installed with `data` just now.
        Ok(Self {
            lower: lower.as_raw(),
            data,
        })
    }

    /// Whether this handler is installed on `lower`.
    pub fn is_on(&self, lower: &Device) -> bool {
        core::ptr::eq(self.lower, lower.as_raw())
    }

    /// Removes the handler (`netdev_rx_handler_unregister()`, which waits for running handlers)
    /// and puts the reference to the upper device.
    ///
    /// Context: process context, RTNL held; `lower` must be the device it was registered on.
    pub fn unregister(self, lower: &Device, _rtnl: &Rtnl) {
        if !self.is_on(lower) {
            crate::pr_warn!("rx_handler: unregister on the wrong device\n");
            core::mem::forget(self);
            return;
        }
        // SAFETY: `lower` is valid, RTNL held, and it carries our handler (invariant).
        unsafe { bindings::netdev_rx_handler_unregister(lower.as_raw()) };
        let data = self.data;
        core::mem::forget(self);
        // SAFETY: the handler is gone and a grace period passed (inside the C function), so
        // nobody uses `data` any more; we own the box again.
        drop(unsafe { KBox::from_raw(data) });
    }
}

impl<T: RxHandler> Drop for Registration<T> {
    fn drop(&mut self) {
        // Without RTNL the handler cannot be removed here: keep it (and its reference) alive.
        crate::pr_warn!("rx_handler: registration dropped without unregister, leaking it\n");
    }
}
