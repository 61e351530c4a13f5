// SPDX-License-Identifier: GPL-2.0

//! Network device notifiers (`register_netdevice_notifier()`).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::{to_result, Result},
    net::{dev::Device, rtnl::Rtnl},
    types::Opaque,
};
use core::{ffi::c_void, pin::Pin};

/// A network device event (`enum netdev_cmd`), for the events drivers commonly handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// The device was registered (`NETDEV_REGISTER`).
    Register,
    /// The device is being unregistered (`NETDEV_UNREGISTER`).
    Unregister,
    /// The device was brought up (`NETDEV_UP`).
    Up,
    /// The device is about to go down (`NETDEV_GOING_DOWN`); it can still transmit.
    GoingDown,
    /// The device went down (`NETDEV_DOWN`).
    Down,
    /// Carrier or operational state changed (`NETDEV_CHANGE`).
    Change,
    /// The device was renamed (`NETDEV_CHANGENAME`).
    ChangeName,
    /// The MTU changed (`NETDEV_CHANGEMTU`).
    ChangeMtu,
    /// The features changed (`NETDEV_FEAT_CHANGE`).
    FeatChange,
    /// The device joined an upper device (`NETDEV_JOIN`).
    Join,
    /// Any other event, with its `NETDEV_*` number.
    Other(u64),
}

impl Event {
    /// Converts a `NETDEV_*` value.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{bindings, net::notifier::Event};
    ///
    /// assert_eq!(Event::from_raw(bindings::netdev_cmd_NETDEV_UP.into()), Event::Up);
    /// assert_eq!(
    ///     Event::from_raw(bindings::netdev_cmd_NETDEV_GOING_DOWN.into()),
    ///     Event::GoingDown
    /// );
    /// assert_eq!(Event::from_raw(0xdead), Event::Other(0xdead));
    /// ```
    pub fn from_raw(v: u64) -> Self {
        let Ok(v32) = u32::try_from(v) else {
            return Self::Other(v);
        };
        match v32 {
            bindings::netdev_cmd_NETDEV_REGISTER => Self::Register,
            bindings::netdev_cmd_NETDEV_UNREGISTER => Self::Unregister,
            bindings::netdev_cmd_NETDEV_UP => Self::Up,
            bindings::netdev_cmd_NETDEV_GOING_DOWN => Self::GoingDown,
            bindings::netdev_cmd_NETDEV_DOWN => Self::Down,
            bindings::netdev_cmd_NETDEV_CHANGE => Self::Change,
            bindings::netdev_cmd_NETDEV_CHANGENAME => Self::ChangeName,
            bindings::netdev_cmd_NETDEV_CHANGEMTU => Self::ChangeMtu,
            bindings::netdev_cmd_NETDEV_FEAT_CHANGE => Self::FeatChange,
            bindings::netdev_cmd_NETDEV_JOIN => Self::Join,
            _ => Self::Other(v),
        }
    }
}

/// A handler of network device events.
pub trait Handler: Send + Sync + 'static {
    /// Called for every event of every network device in every namespace.
    ///
    /// Context: process context, RTNL held. The handler may change devices, which may call the
    /// notifier chain (and this handler) again, recursively.
    fn notify(&self, event: Event, dev: &Device, rtnl: &Rtnl);
}

/// A registered netdevice notifier. Dropping it unregisters the notifier.
///
/// Registration replays `NETDEV_REGISTER` and `NETDEV_UP` for existing devices, unregistration
/// `NETDEV_GOING_DOWN`, `NETDEV_DOWN` and `NETDEV_UNREGISTER` (as in C).
///
/// Context: creating and dropping need process context without RTNL held.
///
/// # Invariants
///
/// `nb` is registered with `register_netdevice_notifier()` and `nb.notifier_call` is
/// `Self::call`; the structure is pinned in a box.
#[repr(C)]
pub struct Registration<H: Handler> {
    nb: Opaque<bindings::notifier_block>,
    handler: H,
}

// SAFETY: `H: Send + Sync`; the notifier block is only used by the notifier chain, under its
// own lock.
unsafe impl<H: Handler> Send for Registration<H> {}
// SAFETY: see `Send`.
unsafe impl<H: Handler> Sync for Registration<H> {}

impl<H: Handler> Registration<H> {
    /// Registers `handler`.
    pub fn new(handler: H) -> Result<Pin<KBox<Self>>> {
        let this = KBox::pin(
            Self {
                nb: Opaque::uninit(),
                handler,
            },
            GFP_KERNEL,
        )?;
        let nb = this.nb.get();
        // SAFETY: `nb` is valid writable memory owned by the pinned box.
        unsafe {
            nb.write(core::mem::zeroed());
            (*nb).notifier_call = Some(Self::call);
        }
        // SAFETY: `nb` is initialised and stays pinned (and registered) until `drop`.
        to_result(unsafe { bindings::register_netdevice_notifier(nb) }).inspect_err(|_| {
            // Mark as not registered: `drop` must not unregister it.
            // SAFETY: `nb` is ours.
            unsafe { (*nb).notifier_call = None };
        })?;
        Ok(this)
    }

    /// # Safety
    ///
    /// Called by the netdevice notifier chain with our block and a `netdev_notifier_info`.
    unsafe extern "C" fn call(
        nb: *mut bindings::notifier_block,
        event: usize,
        ptr: *mut c_void,
    ) -> core::ffi::c_int {
        // CAST: `nb` is the first field of the `#[repr(C)]` `Registration<H>`.
        // SAFETY: registered blocks are embedded in a live `Registration<H>` (invariant).
        let this = unsafe { &*nb.cast::<Self>() };
        // CAST: netdevice notifiers receive a `netdev_notifier_info` through the `void *`.
        // SAFETY: netdevice notifiers receive a `netdev_notifier_info`; its device is valid
        // during the call.
        let dev = unsafe { Device::from_raw(bindings::netdev_notifier_info_to_dev(ptr.cast())) };
        // SAFETY: the netdevice notifier chain is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        this.handler
            .notify(Event::from_raw(event as u64), dev, rtnl);
        bindings::NOTIFY_DONE as core::ffi::c_int
    }
}

impl<H: Handler> Drop for Registration<H> {
    fn drop(&mut self) {
        let nb = self.nb.get();
        // SAFETY: `nb` is ours; registered iff its callback is set (see `new`).
        unsafe {
            if (*nb).notifier_call.is_some() {
                bindings::unregister_netdevice_notifier(nb);
            }
        }
    }
}
