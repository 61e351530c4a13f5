// SPDX-License-Identifier: GPL-2.0

//! The address lists (`uc`, `mc`) of a device and their lock (`netif_addr_lock`).
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)

use super::Device;
use crate::bindings;
use core::marker::PhantomData;

/// Proof that the address lists (`uc`/`mc`) of a device are locked (`netif_addr_lock`).
///
/// Obtained from [`Device::lock_addrs`] or, in `ndo_set_rx_mode`, from the adapter.
///
/// # Invariants
///
/// The address lock of `self.dev` is held by the current CPU while this value is live; the
/// value stays on that CPU (it is neither `Send` nor `Sync`).
pub struct AddrLocked<'a> {
    dev: &'a Device,
    _not_send: PhantomData<*mut ()>,
}

impl<'a> AddrLocked<'a> {
    /// Creates the proof.
    ///
    /// # Safety
    ///
    /// The current CPU must hold `dev`'s address lock for `'a`.
    pub unsafe fn assume_locked(dev: &'a Device) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            dev,
            _not_send: PhantomData,
        }
    }

    /// Syncs the locked device's unicast and multicast lists to `to`
    /// (`dev_uc_sync_multiple()`, `dev_mc_sync_multiple()`), as layered devices do.
    pub fn sync_to(&self, to: &Device) {
        // SAFETY: both devices are valid and the source's address lock is held (invariant); the
        // functions take `to`'s lock themselves.
        unsafe {
            bindings::dev_uc_sync_multiple(to.as_raw(), self.dev.as_raw());
            bindings::dev_mc_sync_multiple(to.as_raw(), self.dev.as_raw());
        }
    }
}

/// The address lock of a device, held; released on drop (`netif_addr_unlock_bh()`).
///
/// Context: bottom halves are disabled while the guard lives; do not sleep. The guard must be
/// dropped on the CPU that took the lock, so it is not `Send`.
///
/// # Invariants
///
/// The address lock of the device in `locked` was taken with `netif_addr_lock_bh()` and is
/// held until the guard is dropped.
#[must_use = "the address lock is released as soon as the guard is dropped"]
pub struct AddrLockGuard<'a> {
    locked: AddrLocked<'a>,
}

impl<'a> AddrLockGuard<'a> {
    /// Wraps a lock taken with `netif_addr_lock_bh()`.
    ///
    /// # Safety
    ///
    /// The current CPU must have just taken `dev`'s address lock with `netif_addr_lock_bh()`,
    /// and nothing else may release it.
    pub(super) unsafe fn new(dev: &'a Device) -> Self {
        // INVARIANT: guaranteed by the caller; the guard releases the lock on drop.
        Self {
            // SAFETY: the lock is held until the guard (which owns this proof) is dropped.
            locked: unsafe { AddrLocked::assume_locked(dev) },
        }
    }
}

impl<'a> core::ops::Deref for AddrLockGuard<'a> {
    type Target = AddrLocked<'a>;
    fn deref(&self) -> &AddrLocked<'a> {
        &self.locked
    }
}

impl Drop for AddrLockGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock was taken with `netif_addr_lock_bh()` and is still held (invariant).
        unsafe { bindings::netif_addr_unlock_bh(self.locked.dev.as_raw()) };
    }
}
