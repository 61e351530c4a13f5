// SPDX-License-Identifier: GPL-2.0

//! The deferred work of a device of `T` ([`Operations::work`]): a [`DelayedWork`] of
//! `kernel::workqueue` in its `Priv<T>`, whose work item is the device itself through a counted
//! reference.

use super::{Adapter, NetDev, Operations, Priv};
use crate::{
    bindings,
    types::{ARef, AlwaysRefCounted},
    workqueue::{self, DelayedWork, HasDelayedWork, HasWork, WorkItem},
};
use core::ptr::{self, NonNull};

/// The deferred work of a device of `T`, as the work item of its `Priv<T>::work`: the device
/// itself, under a type of its own that only this module can name, so that the work is queued
/// only through [`NetDev::schedule_work`] (on the system workqueue, with its delay semantics).
/// Its pointer is an `ARef<Deferred<T>>`, a counted reference to the device.
///
/// # Invariants
///
/// A transparent wrapper of a [`NetDev<T>`], with its invariants.
#[repr(transparent)]
pub(super) struct Deferred<T: Operations>(NetDev<T>);

impl<T: Operations> Deferred<T> {
    /// The device as its deferred work.
    fn of(dev: &NetDev<T>) -> &Self {
        // CAST: `Deferred<T>` is a transparent wrapper of `NetDev<T>`.
        // SAFETY: the same object, valid for the same lifetime.
        unsafe { &*ptr::from_ref(dev).cast::<Self>() }
    }
}

// SAFETY: as `NetDev<T>`, which it wraps: increments keep the device allocated until the matching
// decrement (the invariant of `Device`: no reference outlives the unregistration's wait for
// references, and the free comes after it).
unsafe impl<T: Operations> AlwaysRefCounted for Deferred<T> {
    fn inc_ref(&self) {
        self.0.inc_ref();
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // CAST: a transparent wrapper of `NetDev<T>`.
        // SAFETY: forwarded caller guarantee.
        unsafe { NetDev::<T>::dec_ref(obj.cast()) }
    }
}

impl<T: Operations> WorkItem for Deferred<T> {
    type Pointer = ARef<Deferred<T>>;

    fn run(this: ARef<Deferred<T>>) {
        if T::HAS_WORK {
            T::work(&this.0);
        }
        // Dropping `this` gives the queued work's reference back (`dev_put()`): nothing of the
        // device is used after it. The memory stays valid until the work function returns,
        // as the free disables the work synchronously first (`Adapter::disable_work_sync`).
    }
}

// SAFETY: every `Deferred<T>` is a device of `T` (invariant of `NetDev<T>`): its private area, at
// `net_device::priv_` in the same allocation, holds a `Priv<T>` whose `work` is a
// `DelayedWork<Deferred<T>>`, whose `Work` is at its offset 0, valid and pinned for as long as the
// device. `OFFSET` is that place from the start of the device: beyond the Rust type, in the
// private area that every such device carries, reached from the device pointer as C's
// `netdev_priv()` and `priv_of` do. The default methods only add or subtract it.
unsafe impl<T: Operations> HasWork<Deferred<T>> for Deferred<T> {
    const OFFSET: usize =
        core::mem::offset_of!(bindings::net_device, priv_) + core::mem::offset_of!(Priv<T>, work);
}

// SAFETY: the `Work` that `HasWork` locates is the `work` of `Priv<T>::work`, a `DelayedWork`
// initialised by `DelayedWork::new`, valid and pinned for as long as the device.
unsafe impl<T: Operations> HasDelayedWork<Deferred<T>> for Deferred<T> {}

impl<T: Operations> NetDev<T> {
    /// Queues the device's [`Operations::work`] to run in `delay_ms` milliseconds on the system
    /// workqueue; if it is already pending, it runs in `delay_ms` from now instead. Returns
    /// whether it was pending. Does nothing (and returns `false`) if `T` has no `work`, or once
    /// the device is being unregistered (`ndo_uninit` disabled the work). Any context.
    ///
    /// The queued work owns a counted reference to the device (an `ARef` of it handed to
    /// [`Queue::enqueue_delayed`]: `dev_hold()`, untracked, so a stuck unregistration shows it as
    /// such in `NET_DEV_REFCNT_TRACKER` reports), given back when it has run or when it is
    /// cancelled, so the unregistration's wait for references (`netdev_run_todo()`) also waits
    /// for a run that started before `ndo_uninit`: nothing `work` does outlives that wait.
    ///
    /// [`Queue::enqueue_delayed`]: crate::workqueue::Queue::enqueue_delayed
    ///
    /// The call is a cancel followed by a queue, not one atomic step: with concurrent callers
    /// the work ends up queued once, with one caller's delay, and the returned "was pending" is
    /// only advisory.
    pub fn schedule_work(&self, delay_ms: u32) -> bool {
        if !T::HAS_WORK {
            return false;
        }
        let was_pending = self.cancel_work();
        let delay = crate::time::msecs_to_jiffies(delay_ms);
        // Refused when the work is disabled (unregistering) or was queued meanwhile by another
        // caller, with a reference of its own: the reference comes back and is dropped.
        let _ = workqueue::system().enqueue_delayed(ARef::from(Deferred::of(self)), delay);
        was_pending
    }

    /// Cancels the device's [`Operations::work`] if it is pending (and drops the reference the
    /// pending work owned); does not wait for a run that already started
    /// (`cancel_delayed_work()`). Returns whether it was pending. Any context.
    pub fn cancel_work(&self) -> bool {
        // SAFETY: the device's initialised work (invariant of `Priv`), valid while the device is.
        let was_pending = unsafe {
            bindings::cancel_delayed_work(DelayedWork::raw_get(Adapter::<T>::work_of(
                self.as_raw(),
            )))
        };
        if was_pending {
            // SAFETY: a successful cancel hands the queue's pointer to us (`RawWorkItem`'s
            // guarantees): the reference `schedule_work` gave with `ARef::into_raw`, whose pointer
            // is this device's (`Deferred` wraps it transparently).
            drop(unsafe { ARef::from_raw(NonNull::from(Deferred::of(self))) });
        }
        was_pending
    }
}
