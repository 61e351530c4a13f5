// SPDX-License-Identifier: GPL-2.0

//! Log messages about a network device (`netdev_printk()` and friends), and rate limits for
//! them and for other repeated actions.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h)

use super::Device;
use crate::{bindings, init::PinInit, prelude::*, str::CStr, types::Opaque};
use core::ptr;

/// A rate limit: at most `burst` events per `interval` (`struct ratelimit_state`,
/// `___ratelimit()`). When a window ends with events refused, the kernel logs
/// `"<name>: N callbacks suppressed"`.
///
/// Context: [`RateLimit::allow`] may be called in any context (it only try-locks).
///
/// # Examples
///
/// ```
/// use kernel::{c_str, net::device::RateLimit, prelude::*};
///
/// let rl = KBox::pin_init(RateLimit::new(c_str!("doctest"), 60_000, 3), GFP_KERNEL)?;
/// let allowed = (0..10).filter(|_| rl.allow()).count();
/// assert_eq!(allowed, 3);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `state` was initialised by `ratelimit_state_init()` and `name` outlives it.
#[pin_data]
pub struct RateLimit {
    #[pin]
    state: Opaque<bindings::ratelimit_state>,
    name: &'static CStr,
}

// SAFETY: the state is only used through `___ratelimit()`, which serialises with its own lock.
unsafe impl Send for RateLimit {}
// SAFETY: see `Send`.
unsafe impl Sync for RateLimit {}

impl RateLimit {
    /// A limit of `burst` events per `interval_ms` milliseconds, reported as `name`.
    pub fn new(name: &'static CStr, interval_ms: u32, burst: u32) -> impl PinInit<Self> {
        let interval =
            i32::try_from(crate::time::msecs_to_jiffies(interval_ms)).unwrap_or(i32::MAX);
        let burst = i32::try_from(burst).unwrap_or(i32::MAX);
        pin_init!(Self {
            // SAFETY: `p` is valid memory for a `ratelimit_state`, which the helper fully
            // initialises (memset, lock, interval, burst).
            state <- Opaque::ffi_init(move |p| unsafe {
                bindings::ratelimit_state_init(p, interval, burst)
            }),
            name,
        })
    }

    /// Whether one more event is allowed now.
    pub fn allow(&self) -> bool {
        // SAFETY: the state is initialised (invariant) and `name` is a NUL-terminated string
        // that outlives it.
        unsafe { bindings::___ratelimit(self.state.get(), self.name.as_char_ptr()) != 0 }
    }
}

/// Log level of a device message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    /// `KERN_ERR`.
    Err,
    /// `KERN_WARNING`.
    Warning,
    /// `KERN_INFO`.
    Info,
}

impl Level {
    /// The `KERN_*` prefix: `KERN_SOH`, the level digit, NUL.
    fn prefix(self) -> &'static [u8; 3] {
        match self {
            Level::Err => b"\x013\0",
            Level::Warning => b"\x014\0",
            Level::Info => b"\x016\0",
        }
    }

    /// The format for a device whose parent may be gone: the `KERN_*` prefix, then the
    /// device's name and its state (two `%s`, as `netdev_reg_state()` words it) and the message
    /// (`%pA`).
    fn format_unparented(self) -> &'static core::ffi::CStr {
        match self {
            Level::Err => c"\x013%s%s: %pA",
            Level::Warning => c"\x014%s%s: %pA",
            Level::Info => c"\x016%s%s: %pA",
        }
    }
}

/// Prints a message about a network device at the given level (`netdev_printk()`); use the
/// [`netdev_info!`](crate::netdev_info), [`netdev_warn!`](crate::netdev_warn) and
/// [`netdev_err!`](crate::netdev_err) macros.
///
/// A device that is being unregistered (or was) is printed by name and state only, as
/// `"eth0 (unregistering): ..."`: `netdev_printk()` would print its parent device too, which may
/// be gone then.
///
/// Context: any.
pub fn printk(level: Level, dev: &Device, args: core::fmt::Arguments<'_>) {
    // `device_del()` puts the registration's reference on the parent only after the
    // unregistration wrote `NETREG_UNREGISTERING` and waited for a grace period
    // (`synchronize_net()` in `unregister_netdevice_many_notify()`): a reader that sees
    // `NETREG_REGISTERED` inside a read-side critical section keeps the parent alive until the
    // section ends.
    let _rcu = crate::sync::rcu::read_lock();
    if dev.reg_state() == bindings::netdev_reg_state_NETREG_REGISTERED {
        // CAST: byte strings to `char *`; `%pA` takes a `fmt::Arguments` through a `void *`.
        // SAFETY: `level.prefix()` is a NUL-terminated `KERN_*` string, the device is valid and
        // so is its parent (above), and `%pA` is given a `fmt::Arguments`, which lives across
        // the call.
        unsafe {
            bindings::netdev_printk(
                level.prefix().as_ptr().cast(),
                dev.as_raw(),
                c"%pA".as_ptr().cast(),
                ptr::addr_of!(args).cast::<core::ffi::c_void>(),
            )
        };
    } else {
        // The words of C's `netdev_reg_state()`.
        let state: &core::ffi::CStr = match dev.reg_state() {
            bindings::netdev_reg_state_NETREG_UNINITIALIZED => c" (uninitialized)",
            bindings::netdev_reg_state_NETREG_UNREGISTERING => c" (unregistering)",
            bindings::netdev_reg_state_NETREG_UNREGISTERED => c" (unregistered)",
            bindings::netdev_reg_state_NETREG_RELEASED => c" (released)",
            bindings::netdev_reg_state_NETREG_DUMMY => c" (dummy)",
            _ => c" (unknown)",
        };
        // CAST: as above; `name` is the device's NUL-terminated name array.
        // SAFETY: a NUL-terminated format whose first `%s` gets the device's name (valid with
        // the device; renames write it under RTNL, as C's `netdev_name()` readers tolerate),
        // whose second gets a NUL-terminated static string, and whose `%pA` gets a
        // `fmt::Arguments` that lives across the call.
        unsafe {
            bindings::_printk(
                level.format_unparented().as_ptr().cast(),
                ptr::addr_of!((*dev.as_raw()).name).cast::<u8>(),
                state.as_ptr().cast::<u8>(),
                ptr::addr_of!(args).cast::<core::ffi::c_void>(),
            )
        };
    }
}

/// Prints an info message prefixed with the device (`netdev_info()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_info {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::device::printk($crate::net::device::Level::Info, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints a warning prefixed with the device (`netdev_warn()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_warn {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::device::printk($crate::net::device::Level::Warning, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints an error prefixed with the device (`netdev_err()`). A newline is appended.
///
/// Context: any.
#[macro_export]
macro_rules! netdev_err {
    ($dev:expr, $($arg:tt)*) => {
        $crate::net::device::printk($crate::net::device::Level::Err, $dev,
            ::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}
