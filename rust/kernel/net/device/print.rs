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
}

/// Prints a message about a network device at the given level (`netdev_printk()`); use the
/// [`netdev_info!`](crate::netdev_info), [`netdev_warn!`](crate::netdev_warn) and
/// [`netdev_err!`](crate::netdev_err) macros.
///
/// Context: any.
pub fn printk(level: Level, dev: &Device, args: core::fmt::Arguments<'_>) {
    // CAST: byte strings to `char *`; `%pA` takes a `fmt::Arguments` through a `void *`.
    // SAFETY: `level.prefix()` is a NUL-terminated `KERN_*` string, the device is valid, and
    // `%pA` is given a `fmt::Arguments`, which lives across the call.
    unsafe {
        bindings::netdev_printk(
            level.prefix().as_ptr().cast(),
            dev.as_raw(),
            c"%pA".as_ptr().cast(),
            ptr::addr_of!(args).cast::<core::ffi::c_void>(),
        )
    };
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
