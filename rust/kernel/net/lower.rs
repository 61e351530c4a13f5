// SPDX-License-Identifier: GPL-2.0

//! Lower devices of a stacked (upper) device.
//!
//! C header: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h)
//! (`netdev_master_upper_dev_link()`, `netdev_lower_state_changed()`)
//!
//! A [`LowerLink`] is everything that makes a device the lower device of an upper one, done and
//! undone as one: the upper's receive handler on it, the upper/lower link with its LAG
//! information, and for a failover upper the `IFF_FAILOVER_SLAVE | IFF_NO_ADDRCONF` flags,
//! which C code trusts to mean exactly that.

use crate::{
    bindings,
    error::{to_result, Result},
    net::{
        device::{Device, PrivFlags},
        driver::NetDev,
        rtnl::Rtnl,
        rx_handler::{self, RxHandler},
    },
    types::ARef,
};
use core::ptr;

/// A device linked below an upper device of the driver `T`, as an active-backup lower device.
///
/// Must be passed back to [`LowerLink::unlink`] under RTNL; dropping it leaves the link in
/// place (reported).
///
/// # Invariants
///
/// `dev` has `T`'s receive handler (`rx`), is linked below the device at `upper` as its master,
/// and carries `IFF_FAILOVER_SLAVE | IFF_NO_ADDRCONF` iff `failover`.
#[must_use = "a lower link must be unlinked"]
pub struct LowerLink<T: RxHandler> {
    dev: ARef<Device>,
    upper: *const bindings::net_device,
    rx: Option<rx_handler::Registration<T>>,
    failover: bool,
}

// SAFETY: the link is only used under RTNL, from any task; `upper` is only compared.
unsafe impl<T: RxHandler> Send for LowerLink<T> {}
// SAFETY: `&LowerLink` only gives `&Device`, which is `Sync`.
unsafe impl<T: RxHandler> Sync for LowerLink<T> {}

const FAILOVER_LOWER_FLAGS: PrivFlags = PrivFlags::FAILOVER_SLAVE.or(PrivFlags::NO_ADDRCONF);

impl<T: RxHandler> LowerLink<T> {
    /// Makes `lower` a lower device of `upper`: installs `T`'s receive handler on it, links it
    /// below `upper` as its master with LAG information "active-backup"
    /// (`netdev_master_upper_dev_link()`), and, if `upper` is a failover master, marks it
    /// `IFF_FAILOVER_SLAVE | IFF_NO_ADDRCONF`. On error nothing is left done.
    ///
    /// Context: process context, RTNL held.
    pub fn link(lower: &Device, upper: &NetDev<T>, rtnl: &Rtnl) -> Result<Self> {
        // A loop (`upper` already below `lower`) is refused before the handler exists: for the
        // time between the handler's installation and the link's own loop check, two devices
        // would otherwise hand frames to each other without end.
        // SAFETY: both devices are valid and RTNL is held.
        if unsafe { bindings::netdev_has_upper_dev(upper.as_raw(), lower.as_raw()) } {
            return Err(crate::error::code::EBUSY);
        }
        let rx = rx_handler::Registration::register(lower, upper, rtnl)?;
        let mut info = bindings::netdev_lag_upper_info {
            tx_type: bindings::netdev_lag_tx_type_NETDEV_LAG_TX_TYPE_ACTIVEBACKUP,
            hash_type: bindings::netdev_lag_hash_NETDEV_LAG_HASH_NONE,
        };
        // CAST: the C parameter is a `void *` to a `netdev_lag_upper_info`.
        // SAFETY: both devices are valid, RTNL is held; `info` is only read during the call.
        let ret = to_result(unsafe {
            bindings::netdev_master_upper_dev_link(
                lower.as_raw(),
                upper.as_raw(),
                ptr::null_mut(),
                ptr::addr_of_mut!(info).cast(),
                ptr::null_mut(),
            )
        });
        if let Err(e) = ret {
            rx.unregister(lower, rtnl);
            return Err(e);
        }
        let failover = upper.is_failover_master();
        if failover {
            // SAFETY: RTNL is held (the flags are written under it). The flags only describe
            // the device: `IFF_NO_ADDRCONF` keeps IPv6 addresses off it, and in 6.12 the only
            // reader of `IFF_FAILOVER_SLAVE` is `net/core/failover.c`. On its unregistration
            // that code acts only for a failover instance registered with `failover_register()`
            // whose MAC the device has, and even then it first asks that instance's
            // `slave_pre_unregister`, which the C `net_failover` answers with an error for a
            // device that is not its own primary or standby: it never unlinks a device linked
            // here, nor removes its handler, behind this link's back.
            unsafe { lower.update_priv_flags_raw(FAILOVER_LOWER_FLAGS.bits(), 0) };
        }
        // INVARIANT: handler installed, linked below `upper`, flags set iff `failover`.
        Ok(Self {
            dev: ARef::from(lower),
            upper: upper.as_raw(),
            rx: Some(rx),
            failover,
        })
    }

    /// The lower device.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Tells the upper device's listeners about the lower device's state
    /// (`netdev_lower_state_changed()` with `struct netdev_lag_lower_state_info`).
    pub fn state_changed(&self, link_up: bool, tx_enabled: bool, _rtnl: &Rtnl) {
        let mut info = bindings::netdev_lag_lower_state_info::default();
        info.set_link_up(link_up.into());
        info.set_tx_enabled(tx_enabled.into());
        // CAST: the C parameter is a `void *` to a `netdev_lag_lower_state_info`.
        // SAFETY: the device is valid and linked below an upper device (invariant), RTNL is
        // held; `info` is only read during the call.
        unsafe {
            bindings::netdev_lower_state_changed(self.dev.as_raw(), ptr::addr_of_mut!(info).cast())
        }
    }

    /// Undoes [`LowerLink::link`]: clears the flags, unlinks the device from `upper` and removes
    /// the receive handler (waiting for running handlers). `upper` must be the device given to
    /// `link`; otherwise nothing is undone, and that is reported.
    ///
    /// Context: process context, RTNL held.
    pub fn unlink(mut self, upper: &NetDev<T>, rtnl: &Rtnl) {
        if !ptr::eq(self.upper, upper.as_raw()) {
            crate::pr_warn!("lower: unlink from the wrong upper device\n");
            return;
        }
        let dev = self.dev.clone();
        if self.failover {
            // SAFETY: RTNL is held; the flags go away together with the link they describe.
            unsafe { dev.update_priv_flags_raw(0, FAILOVER_LOWER_FLAGS.bits()) };
        }
        // SAFETY: both devices are valid, linked (invariant), and RTNL is held.
        unsafe { bindings::netdev_upper_dev_unlink(dev.as_raw(), upper.as_raw()) };
        if let Some(rx) = self.rx.take() {
            rx.unregister(&dev, rtnl);
        }
    }
}

impl<T: RxHandler> Drop for LowerLink<T> {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            // Without RTNL nothing can be undone here: leave the link (and its handler, which
            // keeps the upper device referenced) in place.
            crate::pr_warn!("lower: link dropped without unlink, leaking it\n");
            core::mem::forget(rx);
        }
    }
}
