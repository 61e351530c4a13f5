// SPDX-License-Identifier: GPL-2.0

//! Log messages about a network device (`netdev_printk()` and friends).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::Device;
use crate::bindings;
use core::ptr;

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
