// SPDX-License-Identifier: GPL-2.0

//! The routing netlink mutex (RTNL) as a proof type.
//!
//! C header: [`include/linux/rtnetlink.h`](srctree/include/linux/rtnetlink.h)
//!
//! Most configuration of network devices (open, close, MTU, upper/lower links, rx handlers,
//! notifier callbacks, ...) is serialised by RTNL. Functions of this crate that require it take a
//! `&Rtnl`, which can only be obtained by locking RTNL ([`lock`]) or, inside callbacks that the
//! kernel documents as called under RTNL (netdev notifiers, most `ndo_*` operations), from the
//! adapter that invokes the Rust callback.

use crate::bindings;
use core::cell::{Ref, RefCell, RefMut};
use core::marker::PhantomData;
use core::ops::Deref;

/// Proof that the current task holds RTNL.
///
/// Only references to this type exist, and only for as long as RTNL is known to be held: a
/// [`RtnlGuard`] dereferences to it, and callback adapters hand it out for the duration of a
/// callback invoked under RTNL. It is neither `Send` nor `Sync`.
///
/// # Invariants
///
/// While a `&Rtnl` is live, the current task holds the RTNL mutex.
pub struct Rtnl {
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// Creates a proof of RTNL for a caller that knows it is held.
    ///
    /// Lockdep (`ASSERT_RTNL()`-style) is not consulted; a debug build checks
    /// `rtnl_is_locked()`, which only proves that *some* task holds RTNL.
    ///
    /// # Safety
    ///
    /// The current task must hold RTNL for the whole lifetime `'a`.
    pub unsafe fn assume_held<'a>() -> &'a Rtnl {
        // SAFETY: just an FFI call reading the mutex state.
        debug_assert!(unsafe { bindings::rtnl_is_locked() } != 0);
        // INVARIANT: the caller guarantees that RTNL is held during `'a`.
        &Rtnl {
            _not_send: PhantomData,
        }
    }
}

/// RTNL held by the current task; unlocked on drop (which runs the netdev todo list, i.e. waits
/// for devices unregistered under the lock to lose their last reference).
///
/// Context: process context, may sleep.
///
/// # Invariants
///
/// The current task locked RTNL when creating the guard and has not unlocked it yet.
#[must_use = "RTNL is released when the guard is dropped"]
pub struct RtnlGuard {
    proof: Rtnl,
}

/// Locks RTNL. See [`RtnlGuard`].
pub fn lock() -> RtnlGuard {
    // SAFETY: just an FFI call; it sleeps, which is documented for the callers.
    unsafe { bindings::rtnl_lock() };
    // INVARIANT: RTNL was just locked.
    RtnlGuard {
        proof: Rtnl {
            _not_send: PhantomData,
        },
    }
}

/// Locks RTNL if it is free (`rtnl_trylock()`). For code that must not wait for RTNL, such as a
/// sysfs `store` of a device (unregistering the device, under RTNL, waits for it). Any context
/// that may sleep.
pub fn try_lock() -> Option<RtnlGuard> {
    // SAFETY: just an FFI call.
    if unsafe { bindings::rtnl_trylock() } == 0 {
        return None;
    }
    // INVARIANT: RTNL was just locked.
    Some(RtnlGuard {
        proof: Rtnl {
            _not_send: PhantomData,
        },
    })
}

impl Deref for RtnlGuard {
    type Target = Rtnl;

    fn deref(&self) -> &Rtnl {
        // INVARIANT: RTNL is held for as long as the guard lives.
        &self.proof
    }
}

impl Drop for RtnlGuard {
    fn drop(&mut self) {
        // SAFETY: by the type invariant, this task holds RTNL.
        unsafe { bindings::rtnl_unlock() };
    }
}

/// Data protected by RTNL.
///
/// Access needs a `&Rtnl`. Because RTNL callbacks nest (a notifier callback may change a device,
/// which calls the notifier chain again), access goes through a [`RefCell`]: a nested callback
/// that tries to borrow data already mutably borrowed gets `None` from
/// [`RtnlLocked::try_borrow_mut`] instead of aliasing it. Do not hold a borrow across calls that
/// may re-enter the same code.
///
/// # Examples
///
/// ```
/// use kernel::net::rtnl::{self, RtnlLocked};
///
/// static COUNT: RtnlLocked<u32> = RtnlLocked::new(0);
///
/// let rtnl = rtnl::lock();
/// *COUNT.borrow_mut(&rtnl) += 1;
/// assert!(*COUNT.borrow(&rtnl) >= 1);
/// ```
pub struct RtnlLocked<T> {
    inner: RefCell<T>,
}

// SAFETY: all access to `inner` (including its borrow flag) requires a `&Rtnl`, i.e. happens
// with RTNL held, so accesses from different tasks are serialised by the RTNL mutex. `T: Send`
// because the data may be used (and dropped) by any task that holds RTNL.
unsafe impl<T: Send> Sync for RtnlLocked<T> {}

impl<T> RtnlLocked<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self {
            inner: RefCell::new(value),
        }
    }

    /// Borrows the data immutably. Panics if it is mutably borrowed by an outer caller.
    pub fn borrow<'a>(&'a self, _rtnl: &'a Rtnl) -> Ref<'a, T> {
        self.inner.borrow()
    }

    /// Borrows the data immutably, or returns `None` if an outer caller borrows it mutably.
    pub fn try_borrow<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<Ref<'a, T>> {
        self.inner.try_borrow().ok()
    }

    /// Borrows the data mutably. Panics if it is already borrowed by an outer caller.
    pub fn borrow_mut<'a>(&'a self, _rtnl: &'a Rtnl) -> RefMut<'a, T> {
        self.inner.borrow_mut()
    }

    /// Borrows the data mutably, or returns `None` if an outer caller already borrows it.
    pub fn try_borrow_mut<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<RefMut<'a, T>> {
        self.inner.try_borrow_mut().ok()
    }
}
