// SPDX-License-Identifier: GPL-2.0

//! Receive handlers: an upper device (bond, team, failover, ...) intercepting the packets
//! received by a lower device.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//! (`netdev_rx_handler_register()`, `rx_handler_result_t`)
//!
//! The handler data is a tracked reference to the upper [`NetDev<T>`], so the handler reaches
//! the upper device's private data without raw pointers; the upper device cannot go away while
//! a lower device still points to it. What the handler does with the packet is spelt by the
//! [`RxSkb`] methods it calls, each of which consumes the packet handle and yields the
//! [`RxAction`] to return: the handler cannot claim a packet it did not take, nor send the
//! stack round again without changing the packet's device.

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::{code::EINVAL, to_result, Result},
    net::{
        device::{DevRef, Device},
        driver::{NetDev, Operations},
        rtnl::Rtnl,
        skbuff::{OwnedSkBuff, SkBuff},
    },
};
use core::marker::PhantomData;

/// A packet received on a lower device, handed to an [`RxHandler`] for the duration of the
/// call.
///
/// Consume it with exactly one of [`RxSkb::pass`], [`RxSkb::exact`], [`RxSkb::to_upper`] or
/// [`RxSkb::take`]; each returns the [`RxAction`] that the handler must return.
///
/// # Invariants
///
/// `*pskb` is a valid, unshared packet that the stack lets the handler process during `'a`; `upper` is the
/// upper device of the handler, valid during `'a`, and not the device `(*pskb)->dev`.
pub struct RxSkb<'a> {
    pskb: *mut *mut bindings::sk_buff,
    upper: *mut bindings::net_device,
    _life: PhantomData<fn(&'a ()) -> &'a ()>,
}

/// What the stack does with a packet after a receive handler ran (`rx_handler_result_t`).
///
/// Only obtained by consuming the [`RxSkb`] of the same call (the lifetime ties them), so the
/// result always describes what was done to that packet.
#[must_use = "the handler must return the action"]
pub struct RxAction<'a> {
    raw: bindings::rx_handler_result_t,
    _life: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> RxAction<'a> {
    #[inline]
    fn new(raw: bindings::rx_handler_result_t) -> Self {
        Self {
            raw,
            _life: PhantomData,
        }
    }
}

impl<'a> RxSkb<'a> {
    /// Whether the packet was received on `dev`.
    #[inline]
    pub fn arrived_on(&self, dev: &Device) -> bool {
        (**self).dev_is(dev)
    }

    /// Processes the packet as if there were no handler (`RX_HANDLER_PASS`).
    #[inline]
    pub fn pass(self) -> RxAction<'a> {
        RxAction::new(bindings::rx_handler_result_RX_HANDLER_PASS)
    }

    /// Delivers the packet only to protocol handlers bound exactly to the lower device
    /// (`RX_HANDLER_EXACT`).
    #[inline]
    pub fn exact(self) -> RxAction<'a> {
        RxAction::new(bindings::rx_handler_result_RX_HANDLER_EXACT)
    }

    /// Makes the packet the upper device's and has the stack process it again for that device
    /// (`skb->dev = upper`, `RX_HANDLER_ANOTHER`).
    #[inline]
    pub fn to_upper(self) -> RxAction<'a> {
        // SAFETY: the packet is ours to modify during the call and `upper` is valid (invariant);
        // the upper device is registered and, as the stack processes the packet right away
        // under the same RCU read-side section, outlives its use of `skb->dev`.
        unsafe { crate::net::skbuff::dev_field(*self.pskb).write(self.upper) };
        // `upper` is not the lower device (invariant), so the stack does not loop on it.
        RxAction::new(bindings::rx_handler_result_RX_HANDLER_ANOTHER)
    }

    /// Takes the packet from the stack (`RX_HANDLER_CONSUMED`): the handler now owns it and
    /// must transmit or free it.
    pub fn take(self) -> (OwnedSkBuff, RxAction<'a>) {
        // SAFETY: returning `RX_HANDLER_CONSUMED` transfers the packet to the handler; it is
        // unshared (`handle_frame` ran `skb_share_check()` before making `self`).
        let skb = unsafe { OwnedSkBuff::from_raw(*self.pskb) };
        (
            skb,
            RxAction::new(bindings::rx_handler_result_RX_HANDLER_CONSUMED),
        )
    }
}

impl crate::net::device::rcu_sealed::Sealed for RxSkb<'_> {}
// SAFETY: an `RxSkb` exists only during an rx handler call, which
// `__netif_receive_skb_core()` makes under `rcu_read_lock()`.
unsafe impl crate::net::device::RcuReader for RxSkb<'_> {}

impl core::ops::Deref for RxSkb<'_> {
    type Target = SkBuff;
    #[inline]
    fn deref(&self) -> &SkBuff {
        // SAFETY: the packet is valid and ours during the call (invariant).
        unsafe { SkBuff::from_raw(*self.pskb) }
    }
}

/// A receive handler run for the packets of a lower device, on behalf of the upper device whose
/// private data implements it.
pub trait RxHandler: Operations {
    /// Handles a packet received on a lower device of `upper`.
    ///
    /// Context: softirq (NAPI) or process context with bottom halves disabled, inside an RCU
    /// read-side critical section; must not sleep.
    fn handle_frame<'a>(upper: &NetDev<Self>, skb: RxSkb<'a>) -> RxAction<'a>;
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
/// `KBox<DevRef<NetDev<T>>>` turned into a raw pointer; `lower` is not that upper device.
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
        // The stack may hand a packet that taps still hold (`deliver_skb()` took a reference
        // for each): make it ours alone before anything modifies or keeps it, as bonding and
        // bridging do. On failure the packet was freed.
        // SAFETY: `*pskb` is the packet the stack hands the handler, one reference of which is
        // the handler's (`skb_share_check()` consumes it and returns an unshared one, or null).
        let skb = unsafe { bindings::skb_share_check(*pskb, bindings::GFP_ATOMIC) };
        if skb.is_null() {
            return bindings::rx_handler_result_RX_HANDLER_CONSUMED;
        }
        // SAFETY: `pskb` is valid for the call; the stack goes on with the packet it points to.
        unsafe { *pskb = skb };
        // CAST: `rx_handler_data` is the `void *` made from our `KBox<DevRef<NetDev<T>>>`.
        // SAFETY: `skb->dev` is the lower device, whose `rx_handler_data` is our `DevRef`
        // (invariant of `Registration`); it is read under RCU as `netdev_rx_handler_unregister`
        // clears it and waits for a grace period before the box is freed.
        let upper = unsafe {
            let lower = crate::net::skbuff::dev_field(*pskb).read();
            let data = core::ptr::read_volatile(core::ptr::addr_of!((*lower).rx_handler_data));
            &**data.cast::<DevRef<NetDev<T>>>()
        };
        // INVARIANT: the stack lets us process `*pskb` during this call; the upper device is
        // kept valid by the `DevRef` and is not the lower device (`register` checked).
        let skb = RxSkb {
            pskb,
            upper: upper.as_raw(),
            _life: PhantomData,
        };
        T::handle_frame(upper, skb).raw
    }
}

impl<T: RxHandler> Registration<T> {
    /// Installs `T`'s handler on `lower` for the upper device `upper`
    /// (`netdev_rx_handler_register()`). Fails with `EBUSY` if `lower` already has a handler,
    /// with `EINVAL` if `lower` is `upper`.
    ///
    /// Crate-private: drivers reach it only through
    /// [`LowerLink::link`](crate::net::lower::LowerLink::link), which refuses a loop (`upper`
    /// already below `lower`) before installing the handler and then links `lower` below
    /// `upper`, so no two devices can hand frames to each other with [`RxAction`] "another"
    /// for ever (a livelock in softirq that handlers installed on their own would allow).
    ///
    /// Context: process context, RTNL held.
    pub(crate) fn register(lower: &Device, upper: &NetDev<T>, _rtnl: &Rtnl) -> Result<Self> {
        if core::ptr::eq(lower.as_raw(), upper.as_raw()) {
            return Err(EINVAL);
        }
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
        // INVARIANT: installed with `data` just now, on a device that is not `upper`.
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
    /// Context: process context, RTNL held; `lower` must be the device it was registered on
    /// (otherwise the handler is left installed, and reported).
    pub(crate) fn unregister(self, lower: &Device, _rtnl: &Rtnl) {
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
