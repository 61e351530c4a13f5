// SPDX-License-Identifier: GPL-2.0

//! RCU read-side critical sections.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h)

use crate::bindings;
use core::marker::PhantomData;

/// An RCU read-side critical section; the section ends when the guard is dropped.
///
/// Holding a `&Guard` proves that the current CPU is inside an RCU read-side critical section, so
/// that objects whose freeing waits for a grace period (`synchronize_rcu()`, `kfree_rcu()`,
/// `synchronize_net()`) stay valid for the guard's lifetime.
///
/// Context: any (process, softirq, hardirq). Nesting is allowed and cheap. The guard is not
/// `Send`: it must be dropped on the CPU/task that created it.
///
/// # Invariants
///
/// The current task (or CPU) is inside an RCU read-side critical section opened by
/// `rcu_read_lock()` when the guard was created; it is closed when the guard is dropped.
///
/// # Examples
///
/// ```
/// use kernel::sync::rcu;
///
/// let guard = rcu::read_lock();
/// // RCU-protected data may be read here.
/// drop(guard);
/// ```
#[must_use = "the RCU read-side critical section ends when the guard is dropped"]
pub struct Guard {
    _not_send: PhantomData<*mut ()>,
}

impl Guard {
    /// Enters an RCU read-side critical section.
    pub fn new() -> Self {
        // SAFETY: `rcu_read_lock()` may be called in any context; the matching unlock is done by
        // `Drop`.
        unsafe { bindings::rcu_read_lock() };
        // INVARIANT: the critical section was just entered.
        Self {
            _not_send: PhantomData,
        }
    }

    /// Leaves the critical section (same as dropping the guard).
    pub fn unlock(self) {}
}

impl Default for Guard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: by the type invariant, the section was entered by this guard, on this task.
        unsafe { bindings::rcu_read_unlock() };
    }
}

/// Enters an RCU read-side critical section. See [`Guard`].
pub fn read_lock() -> Guard {
    Guard::new()
}

/// Waits until all RCU read-side critical sections that began before the call have ended.
///
/// Context: process context, may sleep.
pub fn synchronize_rcu() {
    // SAFETY: just an FFI call; it may sleep, which is documented for the callers.
    unsafe { bindings::synchronize_rcu() };
}
