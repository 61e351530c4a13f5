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

/// Proof that the current task holds RTNL, in a context that may be atomic (bottom halves off,
/// a spinlock held): what needs RTNL but never sleeps takes this type, and a [`Rtnl`] (RTNL in
/// process context) dereferences to it.
///
/// The core calls some operations under RTNL from atomic context: `ndo_change_rx_flags` runs
/// inside an upper device's address lock when that device (a bridge, say) turns promiscuity on
/// for its ports from its own `ndo_set_rx_mode` path. Such callbacks get only this proof, so
/// none of this crate's RTNL-gated functions that sleep (waiting for a grace period,
/// allocating with `GFP_KERNEL`, opening a device) can be called from them with it; the
/// callback's documentation says what else it must not do.
///
/// # Invariants
///
/// While a `&RtnlAtomic` is live, the current task holds the RTNL mutex.
pub struct RtnlAtomic {
    _not_send: PhantomData<*mut ()>,
}

impl RtnlAtomic {
    /// Creates a proof of RTNL for a caller that knows it is held, in a context that may be
    /// atomic. Checked by lockdep as [`Rtnl::assume_held`] is.
    ///
    /// # Safety
    ///
    /// The current task must hold RTNL for the whole lifetime `'a`.
    pub unsafe fn assume_held<'a>() -> &'a RtnlAtomic {
        // SAFETY: the caller guarantees that RTNL is held during `'a`.
        let rtnl = unsafe { Rtnl::assume_held() };
        &rtnl.atomic
    }
}

/// Proof that the current task holds RTNL, in process context (it may sleep).
///
/// Only references to this type exist, and only for as long as RTNL is known to be held: a
/// [`RtnlGuard`] dereferences to it, and callback adapters hand it out for the duration of a
/// callback invoked under RTNL. It is neither `Send` nor `Sync`. It dereferences to
/// [`RtnlAtomic`], so what needs only RTNL accepts it too.
///
/// # Invariants
///
/// While a `&Rtnl` is live, the current task holds the RTNL mutex.
pub struct Rtnl {
    atomic: RtnlAtomic,
}

impl Deref for Rtnl {
    type Target = RtnlAtomic;

    fn deref(&self) -> &RtnlAtomic {
        // INVARIANT: RTNL is held while `self` is live.
        &self.atomic
    }
}

impl Rtnl {
    /// Creates a proof of RTNL for a caller that knows it is held.
    ///
    /// With `CONFIG_PROVE_LOCKING`, lockdep checks the claim: if the current task does not hold
    /// RTNL (`lockdep_rtnl_is_held()`, the test behind `rtnl_dereference()`), the first such
    /// call reports it with a stack trace, which the selftests' kernel log check fails on.
    /// Without lockdep nothing is checked (`rtnl_is_locked()` would only show that *some* task
    /// holds RTNL).
    ///
    /// # Safety
    ///
    /// The current task must hold RTNL for the whole lifetime `'a`.
    pub unsafe fn assume_held<'a>() -> &'a Rtnl {
        #[cfg(CONFIG_PROVE_LOCKING)]
        {
            static WARNED: core::sync::atomic::AtomicBool =
                core::sync::atomic::AtomicBool::new(false);
            // SAFETY: `debug_locks` is read once, volatile (lockdep clears it with `xchg()`
            // from any CPU); `lockdep_rtnl_is_held()` reads lockdep's record of the locks the
            // current task holds, in any context.
            let missing = unsafe {
                core::ptr::read_volatile(core::ptr::addr_of!(bindings::debug_locks)) != 0
                    && !bindings::lockdep_rtnl_is_held()
            };
            if missing && !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
                crate::pr_err!("RTNL: assertion failed: Rtnl::assume_held() without RTNL\n");
                // SAFETY: `dump_stack()` prints the current stack and `add_taint()` marks the
                // kernel as `WARN_ON()` would; both in any context.
                unsafe {
                    bindings::dump_stack();
                    bindings::add_taint(
                        bindings::TAINT_WARN,
                        bindings::lockdep_ok_LOCKDEP_STILL_OK,
                    );
                }
            }
        }
        // INVARIANT: the caller guarantees that RTNL is held during `'a`.
        &Rtnl {
            atomic: RtnlAtomic {
                _not_send: PhantomData,
            },
        }
    }

    /// Waits until all RCU read-side critical sections that began before the call have ended,
    /// as the network stack does under RTNL (`synchronize_net()`: an expedited grace period, so
    /// that RTNL, which every configuration change waits for, is not held for a normal one).
    ///
    /// Context: process context, outside any RCU read-side critical section; may sleep.
    pub fn synchronize_net(&self) {
        // SAFETY: `synchronize_net()` has no preconditions beyond its context: it sleeps, which
        // RTNL, a mutex held by the current task (the invariant of `self`), already requires.
        unsafe { bindings::synchronize_net() };
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
            atomic: RtnlAtomic {
                _not_send: PhantomData,
            },
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
            atomic: RtnlAtomic {
                _not_send: PhantomData,
            },
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
/// [`RtnlLocked::try_borrow_mut`] instead of aliasing it. There is no panicking `borrow`: a
/// callback re-entered under RTNL (a notifier, say) must not bring the kernel down, so every
/// borrow says what to do when the data is busy. Do not hold a borrow across calls that may
/// re-enter the same code.
///
/// # Examples
///
/// ```
/// use kernel::net::rtnl::{self, RtnlLocked};
///
/// static COUNT: RtnlLocked<u32> = RtnlLocked::new(0);
///
/// let rtnl = rtnl::lock();
/// if let Some(mut c) = COUNT.try_borrow_mut(&rtnl) {
///     *c += 1;
///     // A nested borrow while `c` lives gets `None`, not a panic.
///     assert!(COUNT.try_borrow(&rtnl).is_none());
/// }
/// assert!(COUNT.try_borrow(&rtnl).is_some_and(|c| *c >= 1));
/// ```
///
/// # Invariants
///
/// `inner`, its borrow flag included, is only accessed with RTNL held (every accessor takes a
/// `&Rtnl`), or through `&mut self` / by value (no other reference exists then).
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

    /// Borrows the data immutably, or returns `None` if an outer caller borrows it mutably.
    pub fn try_borrow<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<Ref<'a, T>> {
        self.inner.try_borrow().ok()
    }

    /// Borrows the data mutably, or returns `None` if an outer caller already borrows it.
    pub fn try_borrow_mut<'a>(&'a self, _rtnl: &'a Rtnl) -> Option<RefMut<'a, T>> {
        self.inner.try_borrow_mut().ok()
    }
}
