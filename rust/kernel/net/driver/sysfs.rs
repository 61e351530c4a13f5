// SPDX-License-Identifier: GPL-2.0

//! Sysfs attributes of a driver's devices ([`Operations::SYSFS_ATTRS`]).

use super::{priv_of, Adapter, NetDev, Operations};
use crate::{prelude::*, str::RawFormatter};
use core::ptr;

/// A sysfs attribute of a driver's devices, see [`Operations::SYSFS_ATTRS`].
#[derive(Clone, Copy, Debug)]
pub struct SysfsAttrDesc {
    /// File name.
    pub name: &'static CStr,
    /// Mode 0644 (written with [`Operations::sysfs_store`]) rather than 0444.
    pub writable: bool,
}

/// Most attributes in [`Operations::SYSFS_ATTRS`].
pub(super) const SYSFS_MAX: usize = 8;

/// One attribute of a [`SysfsTable`]: the `device_attribute` the core sees, and its index.
#[repr(C)]
pub(super) struct SysfsAttr {
    attr: bindings::device_attribute,
    index: usize,
}

/// A device's sysfs attribute group, allocated with the device and freed with it.
///
/// # Invariants
///
/// `group.attrs` points to `list`, whose non-null entries point into `attrs`; the table is
/// never moved while the device may use it (it is boxed).
#[repr(C)]
pub(super) struct SysfsTable {
    attrs: [SysfsAttr; SYSFS_MAX],
    list: [*mut bindings::attribute; SYSFS_MAX + 1],
    pub(super) group: bindings::attribute_group,
}

impl<T: Operations> Adapter<T> {
    pub(super) const SYSFS_OK: () = assert!(T::SYSFS_ATTRS.len() <= SYSFS_MAX);

    /// The device of a sysfs callback, and the index of its attribute.
    ///
    /// # Safety
    ///
    /// `d` must be the `dev` of a `net_device` of `T` and `attr` an attribute of
    /// its `SysfsTable`, as the core passes them to the table's callbacks (while the device's
    /// sysfs files exist, i.e. between registration and unregistration).
    unsafe fn sysfs_args<'a>(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
    ) -> (&'a NetDev<T>, usize) {
        // CAST: `to_net_dev()`: `d` is the `dev` field of a `net_device`.
        let nd = d
            .cast::<u8>()
            .wrapping_sub(core::mem::offset_of!(bindings::net_device, dev))
            .cast::<bindings::net_device>();
        // CAST: `attr` is the first field of a `SysfsAttr` (`repr(C)`).
        // SAFETY: an attribute of the table (caller's guarantee), initialised by `Builder::new`.
        let index = unsafe { (*attr.cast::<SysfsAttr>()).index };
        // SAFETY: a device of `T`, registered while its files exist (caller).
        (unsafe { NetDev::<T>::from_raw(nd) }, index)
    }

    /// # Safety
    ///
    /// Called by the core as a `show` of the table (see `sysfs_args`); `buf` is a page.
    unsafe extern "C" fn sysfs_show(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut u8,
    ) -> isize {
        // SAFETY: forwarded guarantee.
        let (dev, index) = unsafe { Self::sysfs_args(d, attr) };
        let Some(rtnl) = crate::net::rtnl::try_lock() else {
            // SAFETY: just an FFI call (sets `TIF_SIGPENDING`).
            return unsafe { bindings::restart_syscall() } as isize;
        };
        // SAFETY: `buf` is a page for us to fill (sysfs `show` contract); one byte is kept for
        // the terminating NUL `sysfs_emit()` would write.
        let mut out = unsafe { RawFormatter::from_buffer(buf, bindings::PAGE_SIZE - 1) };
        match T::sysfs_show(dev, index, &mut out, &rtnl) {
            // `RawFormatter` counts what did not fit too: report what is in the page.
            Ok(()) => out.bytes_written().min(bindings::PAGE_SIZE - 1) as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the core as a `store` of the table (see `sysfs_args`); `buf` holds `count`
    /// bytes.
    unsafe extern "C" fn sysfs_store(
        d: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const u8,
        count: usize,
    ) -> isize {
        // SAFETY: forwarded guarantee.
        let (dev, index) = unsafe { Self::sysfs_args(d, attr) };
        // SAFETY: `buf` holds `count` bytes for the duration of the call (sysfs contract).
        let bytes = unsafe { core::slice::from_raw_parts(buf, count) };
        let Ok(text) = core::str::from_utf8(bytes) else {
            return EINVAL.to_errno() as isize;
        };
        let Some(rtnl) = crate::net::rtnl::try_lock() else {
            // SAFETY: just an FFI call (sets `TIF_SIGPENDING`).
            return unsafe { bindings::restart_syscall() } as isize;
        };
        match T::sysfs_store(dev, index, text.strip_suffix('\n').unwrap_or(text), &rtnl) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// Allocates the device's sysfs table for `T::SYSFS_ATTRS`.
    pub(super) fn sysfs_table() -> Result<KBox<SysfsTable>> {
        #[allow(clippy::let_unit_value)]
        let () = Self::SYSFS_OK;
        // SAFETY: all-zero is a valid `SysfsTable` (null pointers, `None` callbacks).
        let zeroed = unsafe { core::mem::MaybeUninit::<SysfsTable>::zeroed().assume_init() };
        let mut t = KBox::new(zeroed, GFP_KERNEL)?;
        let tp: *mut SysfsTable = &mut *t;
        for (i, desc) in T::SYSFS_ATTRS.iter().enumerate() {
            // SAFETY: `tp` points to the boxed table, which does not move; `i < SYSFS_MAX`.
            unsafe {
                let a = ptr::addr_of_mut!((*tp).attrs[i]);
                (*a).index = i;
                (*a).attr.attr.name = desc.name.as_char_ptr();
                (*a).attr.attr.mode = if desc.writable { 0o644 } else { 0o444 };
                (*a).attr.show = Some(Self::sysfs_show);
                if desc.writable {
                    (*a).attr.store = Some(Self::sysfs_store);
                }
                bindings::sysfs_attr_init(ptr::addr_of_mut!((*a).attr.attr));
                (*tp).list[i] = ptr::addr_of_mut!((*a).attr.attr);
            }
        }
        // SAFETY: as above; the list stays null-terminated (`list[SYSFS_ATTRS.len()]` is null).
        unsafe {
            (*tp).group.name = T::SYSFS_GROUP.as_char_ptr();
            (*tp).group.attrs = ptr::addr_of_mut!((*tp).list).cast();
        }
        // INVARIANT: `group.attrs` points to `list`, whose entries point into `attrs`.
        Ok(t)
    }

    /// Frees the device's sysfs table, if any.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T` whose sysfs files do not exist (never
    /// registered, or unregistered and its todo list run).
    pub(super) unsafe fn free_sysfs(dev: *mut bindings::net_device) {
        // SAFETY: `priv_of` is given such a device; `sysfs` was set by `Builder::new`.
        let t = unsafe { (*priv_of::<T>(dev)).sysfs };
        if !t.is_null() {
            // SAFETY: a `KBox` turned into a raw pointer by `Builder::new`, unused now.
            drop(unsafe { KBox::from_raw(t) });
        }
    }
}
