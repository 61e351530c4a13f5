// SPDX-License-Identifier: GPL-2.0

//! The failover entry points of paravirtual drivers (`net_failover_create()`,
//! `net_failover_destroy()`).
//!
//! C header: [`include/net/net_failover.h`](srctree/include/net/net_failover.h)
//!
//! `virtio_net` calls `net_failover_create()` with its netdev (the *standby*) before
//! registering it, and `net_failover_destroy()` with the handle it got back. A Rust module
//! implements [`NetFailover`] and emits both C functions with [`net_failover_entry_points!`],
//! which also checks them against the prototypes of the C header; the handle the C side holds
//! is a boxed implementer, opaque to it (`struct failover *`).

use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings,
    error::{code::EINVAL, Result},
    net::device::Allocated,
};

/// The module parameters of a failover module, as they are when a master is created.
///
/// They are defined in the module's C part (Rust modules cannot declare parameters in 6.12),
/// which also provides a reader for each (see [`net_failover_entry_points!`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// `takeover_delay_ms`: how long a new primary waits before it carries traffic.
    pub takeover_delay_ms: u32,
}

/// A failover instance created for a paravirtual device.
pub trait NetFailover: Sized + Send + 'static {
    /// Creates the failover master for `standby`, an allocated device whose driver has set its
    /// addresses, MTU limits and parent, maybe not registered yet, with the module parameters
    /// of this moment.
    ///
    /// Context: process context, RTNL not held.
    fn create(standby: &Allocated, params: &Params) -> Result<Self>;

    /// Tears the instance down.
    ///
    /// Context: process context, RTNL not held.
    fn destroy(self);
}

/// The body of the generated `net_failover_create()`.
///
/// # Safety
///
/// `standby` must be null or point to a device allocated by `alloc_netdev_mqs()` whose driver has
/// set its addresses, MTU limits, parent and namespace, valid for the duration of the call, and
/// so is its parent, if it has one and the device is not registered (the contract of
/// `net_failover_create()`).
#[doc(hidden)]
pub unsafe fn __create<T: NetFailover>(
    standby: *mut bindings::net_device,
    params: &Params,
) -> *mut bindings::failover {
    if standby.is_null() {
        return EINVAL.to_ptr();
    }
    // SAFETY: non-null, so by the function's safety contract a set-up device valid during the
    // call, with its parent, if it has one and is not registered.
    let standby = unsafe { Allocated::from_raw(standby) };
    // Allocated first: once `create` succeeded, nothing may fail any more.
    let slot = match KBox::<T>::new_uninit(GFP_KERNEL) {
        Ok(slot) => slot,
        Err(e) => return crate::error::Error::from(e).to_ptr(),
    };
    match T::create(standby, params) {
        // CAST: the handle is opaque to C; `__destroy` casts it back.
        Ok(f) => KBox::into_raw(KBox::write(slot, f)).cast(),
        Err(e) => e.to_ptr(),
    }
}

/// The body of the generated `net_failover_destroy()`.
///
/// # Safety
///
/// `failover` must be null or a handle returned by `__create::<T>` that was not destroyed yet
/// (the contract of `net_failover_destroy()`).
#[doc(hidden)]
pub unsafe fn __destroy<T: NetFailover>(failover: *mut bindings::failover) {
    if failover.is_null() {
        return;
    }
    // CAST: the handle is a `KBox<T>` turned into a raw pointer by `__create`.
    // SAFETY: by the safety contract, a live handle from `__create::<T>`, destroyed only now.
    let f = unsafe { KBox::from_raw(failover.cast::<T>()) };
    KBox::into_inner(f).destroy();
}

/// Emits `net_failover_create()` and `net_failover_destroy()` for the [`NetFailover`] type `$t`.
///
/// The functions have the C ABI and the prototypes of `include/net/net_failover.h`, which the
/// macro checks at compile time against the C declarations; a C file of the module exports
/// them (`EXPORT_SYMBOL_GPL`), as Rust modules cannot in 6.12.
///
/// The same C file defines the module parameters of [`Params`], which `net_failover_create()`
/// reads, as does the `net_failover_params()` the macro also emits. They are declared in
/// `include/net/net_failover_rust.h`, which the C file includes (so the compiler checks the
/// definition against the declaration) and from which bindgen made the Rust declarations the
/// macro reads (so their types are the C ones):
///
/// ```c
/// #include <net/net_failover_rust.h>
///
/// unsigned int net_failover_takeover_delay_ms;
/// module_param_named(takeover_delay_ms, net_failover_takeover_delay_ms, uint, 0644);
/// ```
#[macro_export]
macro_rules! net_failover_entry_points {
    ($t:ty) => {
        /// Creates a failover master for `standby` (`include/net/net_failover.h`).
        ///
        /// # Safety
        ///
        /// `standby` must be null or a set-up `net_device` (registered or not) that the caller
        /// keeps alive during the call, with its parent device, if any (a driver creates the
        /// master while it probes the standby's parent); the caller must not hold RTNL.
        #[no_mangle]
        pub unsafe extern "C" fn net_failover_create(
            standby: *mut $crate::bindings::net_device,
        ) -> *mut $crate::bindings::failover {
            let params = net_failover_params();
            // SAFETY: forwarded contract of `net_failover_create()`.
            unsafe { $crate::net::failover::__create::<$t>(standby, &params) }
        }

        /// The module parameters as they are now (for masters created another way, e.g. by
        /// rtnetlink).
        fn net_failover_params() -> $crate::net::failover::Params {
            $crate::net::failover::Params {
                // SAFETY: the module's C part defines this variable (the contract of
                // `net_failover_entry_points!`) with the type of its declaration in
                // `include/net/net_failover_rust.h`, which it includes and which bindgen read;
                // it lives as long as the module. The parameter code may write it
                // concurrently, hence a volatile read (`READ_ONCE()`).
                takeover_delay_ms: unsafe {
                    core::ptr::read_volatile(core::ptr::addr_of!(
                        $crate::bindings::net_failover_takeover_delay_ms
                    ))
                },
            }
        }

        /// Destroys a failover master made by `net_failover_create()`; `NULL` is ignored.
        ///
        /// # Safety
        ///
        /// `failover` must be null or a handle returned by `net_failover_create()` that was
        /// not destroyed yet; the caller must not hold RTNL.
        #[no_mangle]
        pub unsafe extern "C" fn net_failover_destroy(failover: *mut $crate::bindings::failover) {
            // SAFETY: forwarded contract of `net_failover_destroy()`.
            unsafe { $crate::net::failover::__destroy::<$t>(failover) }
        }

        // The definitions above have exactly the types of the C prototypes.
        const _: () = {
            type Create = unsafe extern "C" fn(
                *mut $crate::bindings::net_device,
            ) -> *mut $crate::bindings::failover;
            type Destroy = unsafe extern "C" fn(*mut $crate::bindings::failover);
            let _: Create = $crate::bindings::net_failover_create;
            let _: Create = net_failover_create;
            let _: Destroy = $crate::bindings::net_failover_destroy;
            let _: Destroy = net_failover_destroy;
        };
    };
}
