// SPDX-License-Identifier: GPL-2.0

//! Network device notifiers (`register_netdevice_notifier()`).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use crate::{
    bindings,
    error::{to_result, Error},
    init::PinInit,
    net::{device::Device, rtnl::Rtnl},
    prelude::*,
    types::Opaque,
};
use core::{ffi::c_void, marker::PhantomPinned, ptr};

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
/// `NETDEV_GOING_DOWN`, `NETDEV_DOWN` and `NETDEV_UNREGISTER` (as in C). Events for a device
/// whose registration has not set it up yet (`NETDEV_POST_INIT`, the info events of its first
/// feature update, the `NETDEV_PRE_UNINIT` of a failed `register_netdevice()`) are not passed
/// on: the handler only ever sees devices that are or were registered ([`Device`]).
///
/// Context: creating and dropping need process context without RTNL held.
///
/// # Examples
///
/// ```
/// use kernel::net::{device::Device, notifier::{Event, Handler, Registration}, rtnl::Rtnl};
/// use kernel::prelude::*;
/// use core::sync::atomic::{AtomicU32, Ordering};
///
/// struct Counter(AtomicU32);
///
/// impl Handler for Counter {
///     fn notify(&self, event: Event, _dev: &Device, _rtnl: &Rtnl) {
///         if event == Event::Register {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let reg = KBox::pin_init(Registration::new(Counter(AtomicU32::new(0))), GFP_KERNEL)?;
/// // Registration replayed NETDEV_REGISTER for the devices already there (`lo` at least).
/// assert!(reg.handler().0.load(Ordering::Relaxed) >= 1);
/// drop(reg);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `nb` is registered with `register_netdevice_notifier()` and `nb.notifier_call` is
/// `Self::call` (only during the drop of a value whose registration failed is it unregistered,
/// with `notifier_call` cleared); the structure is pinned.
#[pin_data(PinnedDrop)]
pub struct Registration<H: Handler> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: H,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `H: Send + Sync`; the notifier block is only used by the notifier chain, under its
// own lock.
unsafe impl<H: Handler> Send for Registration<H> {}
// SAFETY: see `Send`.
unsafe impl<H: Handler> Sync for Registration<H> {}

impl<H: Handler> Registration<H> {
    /// Registers `handler`, in place (`register_netdevice_notifier()`). The handler is fully
    /// initialised before the block is registered, as registration calls it right away.
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
            // SAFETY: `this` is fully initialised and pinned; the block stays registered until
            // `drop`, which unregisters it before the memory goes.
            to_result(unsafe { bindings::register_netdevice_notifier(nb) }).inspect_err(|_| {
                // Not registered: tell `drop` (which runs on this error) to leave it alone.
                // SAFETY: the block is ours and not on any chain.
                unsafe { (*nb).notifier_call = None };
            })
        })
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Whether `dev` is a [`Device`]: its registration got past `dev_init_scheduler()`, which
    /// gives it a qdisc (`dev->qdisc`, `noop_qdisc` at worst, never null again: the shutdown
    /// path resets it to `noop_qdisc`). Events also come for devices without one:
    /// `NETDEV_POST_INIT`, the UDP-tunnel and VLAN-filter info events of the feature update that
    /// `register_netdevice()` runs before `dev_init_scheduler()`, and the `NETDEV_PRE_UNINIT` of
    /// a `register_netdevice()` that failed (freed without waiting for references).
    ///
    /// # Safety
    ///
    /// `dev` must be valid for reads, and RTNL held (the registration runs under it).
    unsafe fn past_init_scheduler(dev: *const bindings::net_device) -> bool {
        // SAFETY: `dev` is valid (caller); `qdisc` is an RCU-published pointer, read once; only
        // whether it is null matters here.
        !unsafe { ptr::read_volatile(ptr::addr_of!((*dev).qdisc)) }.is_null()
    }

    /// # Safety
    ///
    /// Called by the netdevice notifier chain with our block and a `netdev_notifier_info`.
    unsafe extern "C" fn call(
        nb: *mut bindings::notifier_block,
        event: usize,
        ptr: *mut c_void,
    ) -> core::ffi::c_int {
        // SAFETY: netdevice notifiers receive a `netdev_notifier_info`, whose device is valid
        // for the call.
        let raw = unsafe { bindings::netdev_notifier_info_to_dev(ptr.cast()) };
        // SAFETY: `raw` is valid for the call, and the chain is called with RTNL held.
        if !unsafe { Self::past_init_scheduler(raw) } {
            return bindings::NOTIFY_DONE as core::ffi::c_int;
        }
        // CAST: `nb` points to the `nb` field of a `Registration<H>`.
        // SAFETY: registered blocks are embedded in a live, pinned `Registration<H>`
        // (invariant), so going back from the field to the containing struct stays in bounds.
        let this = unsafe { &*crate::container_of!(Opaque::raw_get(nb.cast()), Self, nb) };
        // SAFETY: the device is valid during the call, and its registration got past
        // `dev_init_scheduler()` (checked above).
        let dev = unsafe { Device::from_raw(raw) };
        // SAFETY: the netdevice notifier chain is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        this.handler
            .notify(Event::from_raw(event as u64), dev, rtnl);
        bindings::NOTIFY_DONE as core::ffi::c_int
    }
}

#[pinned_drop]
impl<H: Handler> PinnedDrop for Registration<H> {
    fn drop(self: Pin<&mut Self>) {
        let nb = self.nb.get();
        // SAFETY: the block is ours; it is registered iff its callback is set (see `new`, whose
        // failure path drops a value whose registration failed).
        unsafe {
            if (*nb).notifier_call.is_some() {
                bindings::unregister_netdevice_notifier(nb);
            }
        }
    }
}
