// SPDX-License-Identifier: GPL-2.0

//! ethtool data types used by network device drivers.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)
//!
//! The callbacks themselves are part of [`crate::net::driver::Operations`].

use crate::{
    bindings,
    error::{to_result, Result},
    net::{device::Device, rtnl::Rtnl},
};

/// Copies `src` into the C string buffer `dst`, truncating and always NUL-terminating (like
/// `strscpy()`, without the return value). Returns the number of bytes copied, NUL excluded.
///
/// # Examples
///
/// ```
/// use kernel::net::ethtool::copy_c_str;
///
/// let mut buf = [1u8; 4];
/// assert_eq!(copy_c_str(&mut buf, "ab"), 2);
/// assert_eq!(buf[..3], *b"ab\0");
/// assert_eq!(copy_c_str(&mut buf, "abcdef"), 3);
/// assert_eq!(buf, *b"abc\0");
/// assert_eq!(copy_c_str(&mut [], "x"), 0);
/// ```
pub fn copy_c_str(dst: &mut [u8], src: &str) -> usize {
    let Some(room) = dst.len().checked_sub(1) else {
        return 0;
    };
    let n = src.len().min(room);
    for (d, &b) in dst.iter_mut().zip(src.as_bytes()[..n].iter()) {
        *d = b;
    }
    dst[n] = 0;
    n
}

/// Driver information reported by `ethtool -i` (`struct ethtool_drvinfo`).
///
/// Filled in by `get_drvinfo`, which runs in process context under RTNL.
#[repr(transparent)]
pub struct DrvInfo(bindings::ethtool_drvinfo);

impl DrvInfo {
    /// Creates a reference from a pointer given by C.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed otherwise, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ethtool_drvinfo) -> &'a mut Self {
        // CAST: `DrvInfo` is a transparent wrapper of `ethtool_drvinfo`.
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    /// Sets the driver name.
    pub fn set_driver(&mut self, s: &str) {
        copy_c_str(&mut self.0.driver, s);
    }

    /// Sets the driver version.
    pub fn set_version(&mut self, s: &str) {
        copy_c_str(&mut self.0.version, s);
    }

    /// Sets the bus information (e.g. the parent device's name).
    pub fn set_bus_info(&mut self, s: &str) {
        copy_c_str(&mut self.0.bus_info, s);
    }
}

/// Link settings reported by `ethtool` (`struct ethtool_link_ksettings`).
///
/// Filled in by `get_link_ksettings`, which runs in process context under RTNL.
#[repr(transparent)]
pub struct LinkKsettings(bindings::ethtool_link_ksettings);

impl LinkKsettings {
    /// Creates a reference from a pointer given by C.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed otherwise, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ethtool_link_ksettings) -> &'a mut Self {
        // CAST: `LinkKsettings` is a transparent wrapper of `ethtool_link_ksettings`.
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    /// Reports an unknown link: unknown speed and duplex, port "other".
    pub fn set_unknown(&mut self) {
        self.0.base.speed = bindings::SPEED_UNKNOWN as u32;
        self.0.base.duplex = bindings::DUPLEX_UNKNOWN as u8;
        self.0.base.port = bindings::PORT_OTHER as u8;
    }

    /// Reports the link settings of `dev` (`__ethtool_get_link_ksettings()`).
    pub fn fill_from(&mut self, dev: &Device, _rtnl: &Rtnl) -> Result {
        // SAFETY: the device is valid, RTNL is held as the function asserts, and `self.0` is a
        // valid, writable settings struct.
        to_result(unsafe { bindings::__ethtool_get_link_ksettings(dev.as_raw(), &mut self.0) })
    }

    /// Link speed in Mb/s (`SPEED_UNKNOWN` if unknown).
    pub fn speed(&self) -> u32 {
        self.0.base.speed
    }
}
