// SPDX-License-Identifier: GPL-2.0

//! Devices that userspace creates and deletes: `ip link add NAME type KIND`, `ip link del`.
//!
//! C header: [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h)
//!
//! A driver implements [`LinkOperations`] on its private data type, whose
//! [`Operations::LINK_KIND`] names the kind, and registers the kind with a
//! [`LinkRegistration`] (`rtnl_link_register()`) for as long as its module lives. rtnetlink
//! then allocates the devices (with [`LinkOperations::setup`]), initialises their data in
//! `ndo_init` ([`LinkOperations::init`]), registers them, and on `ip link del` (or when their
//! namespace goes, or when the kind is unregistered) asks the driver to let go of them
//! ([`LinkOperations::dellink`]) before it unregisters them; it frees them once the last
//! reference is gone, dropping the data first. Such devices may also accept lower devices
//! (`ip link set DEV master NAME`, [`LinkOperations::add_slave`]).
//!
//! Devices made with [`Builder`](super::Builder) use other operation tables: they keep
//! refusing `ip link del` and `ip link set DEV master`.

use super::{priv_of, restrict_priv_flags, Adapter, NetDev, Operations, Priv, Setup};
use crate::{
    bindings,
    error::{from_result, to_result, Error, Result},
    init::PinInit,
    net::{device::Device, rtnl::Rtnl},
    prelude::*,
    types::Opaque,
};
use core::{
    ffi::c_int,
    marker::{PhantomData, PhantomPinned},
    ptr::{self, NonNull},
};

/// The extended acknowledgment of a netlink request (`struct netlink_ext_ack`): where a
/// driver leaves a message for the user (`ip` prints it as `Error: ...`).
///
/// # Invariants
///
/// `ptr` is null or the request's `netlink_ext_ack`, valid and exclusively ours for `'a`.
pub struct ExtAck<'a> {
    ptr: *mut bindings::netlink_ext_ack,
    _p: PhantomData<&'a mut bindings::netlink_ext_ack>,
}

impl ExtAck<'_> {
    /// Sets the error message (`NL_SET_ERR_MSG()`); the request must also fail for the user to
    /// see it. Without an acknowledgment (a request that did not come from netlink) nothing
    /// happens.
    pub fn set_message(&mut self, msg: &'static CStr) {
        if !self.ptr.is_null() {
            // SAFETY: valid and ours (invariant); the message is static, as the core requires
            // (it is read after the call).
            unsafe { (*self.ptr)._msg = msg.as_char_ptr() };
        }
    }
}

/// Devices of `Self` that userspace creates with `ip link add NAME type KIND`.
///
/// The kind is [`Operations::LINK_KIND`], which must be set.
pub trait LinkOperations: Operations {
    /// Number of transmit and receive queues of a new device.
    fn num_queues() -> u32 {
        1
    }

    /// Sets up a newly allocated device, whose private data does not exist yet: flags,
    /// features, MTU range, address. Ethernet defaults are already applied
    /// (`ether_setup()`); rtnetlink then applies what the request asks for (name, MTU,
    /// address, ...).
    ///
    /// Context: RTNL held; must not fail (a setting that can fail belongs in
    /// [`LinkOperations::init`]).
    fn setup(dev: &Setup<Self>);

    /// The private data of a new device, initialised in `ndo_init` just before the device is
    /// registered.
    ///
    /// Context: RTNL held.
    fn init(rtnl: &Rtnl) -> impl PinInit<Self, Error>;

    /// Called once the device is registered; on error the device is unregistered again and
    /// the request fails, without [`LinkOperations::dellink`]: whatever this function set up
    /// before failing, it undoes itself.
    ///
    /// Context: RTNL held.
    fn registered(_dev: &NetDev<Self>, _rtnl: &Rtnl) -> Result {
        Ok(())
    }

    /// Called before the device is unregistered by rtnetlink (`ip link del`, its network
    /// namespace going away, the kind's [`LinkRegistration`] dropped): the driver releases
    /// what the device holds (lower devices, references to it). The data itself is dropped
    /// later, once the last reference to the device is gone.
    ///
    /// Context: RTNL held.
    fn dellink(_dev: &NetDev<Self>, _rtnl: &Rtnl) {}

    /// Makes `slave` a lower device of `dev` (`ip link set SLAVE master DEV`, `ndo_add_slave`).
    ///
    /// Context: RTNL held.
    fn add_slave(
        dev: &NetDev<Self>,
        slave: &Device,
        extack: &mut ExtAck<'_>,
        rtnl: &Rtnl,
    ) -> Result;

    /// Releases `slave`, a lower device of `dev` (`ip link set SLAVE nomaster`,
    /// `ndo_del_slave`).
    ///
    /// Context: RTNL held.
    fn del_slave(dev: &NetDev<Self>, slave: &Device, rtnl: &Rtnl) -> Result;
}

/// The C callbacks of devices created through a [`LinkRegistration<T>`].
struct LinkAdapter<T: LinkOperations>(PhantomData<T>);

impl<T: LinkOperations> LinkAdapter<T> {
    /// The device operations: `T`'s, plus `ndo_init` and the slave operations, which devices
    /// made with [`Builder`](super::Builder) do not have.
    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_init: Some(Self::init),
        ndo_add_slave: Some(Self::add_slave),
        ndo_del_slave: Some(Self::del_slave),
        ..Adapter::<T>::NETDEV_OPS
    };

    /// The link operations registered for the kind: the unregistered `Adapter::LINK_OPS`
    /// (kind, slave information) plus creation and deletion.
    const OPS: bindings::rtnl_link_ops = bindings::rtnl_link_ops {
        kind: match T::LINK_KIND {
            Some(k) => k.as_char_ptr(),
            None => panic!("LinkOperations needs Operations::LINK_KIND"),
        },
        priv_size: core::mem::size_of::<Priv<T>>(),
        setup: Some(Self::setup),
        newlink: Some(Self::newlink),
        dellink: Some(Self::dellink),
        get_num_tx_queues: Some(Self::num_queues),
        get_num_rx_queues: Some(Self::num_queues),
        // Deleted with their namespace (`dellink`), as every rtnetlink device.
        netns_refund: false,
        ..Adapter::<T>::LINK_OPS
    };

    /// `get_num_tx_queues` and `get_num_rx_queues`.
    ///
    /// # Safety
    ///
    /// None (`unsafe` only for the C function pointer type).
    unsafe extern "C" fn num_queues() -> u32 {
        T::num_queues()
    }

    /// `setup` of the link ops.
    ///
    /// # Safety
    ///
    /// Called by `alloc_netdev_mqs()` for rtnetlink with a device it just allocated, with a
    /// zeroed private area of `priv_size` (room for a `Priv<T>`), seen by nobody else yet.
    unsafe extern "C" fn setup(dev: *mut bindings::net_device) {
        #[allow(clippy::let_unit_value)]
        let () = Adapter::<T>::ALIGN_OK;
        // SAFETY: a freshly allocated device (caller's guarantee), seen by nobody else.
        unsafe {
            bindings::ether_setup(dev);
            restrict_priv_flags(dev);
        }
        // SAFETY: the private area has room for a `Priv<T>`, aligned to `NETDEV_ALIGN` (at least
        // its alignment, `ALIGN_OK`); nobody else uses it. `work` and `sysfs` are initialised
        // here, as `Priv`'s invariant asks, before anyone can queue the work; `data` is left
        // for `ndo_init`. The device gets our operations, and is freed by the core after our
        // destructor once unregistered (or after a failed registration that ran `ndo_init`).
        unsafe {
            let p = priv_of::<T>(dev);
            Adapter::<T>::init_work(ptr::addr_of_mut!((*p).work));
            ptr::addr_of_mut!((*p).sysfs).write(ptr::null_mut());
            (*dev).netdev_ops = &Self::NETDEV_OPS;
            (*dev).ethtool_ops = &Adapter::<T>::ETHTOOL_OPS;
            (*dev).needs_free_netdev = true;
            (*dev).priv_destructor = Some(Self::destructor);
        }
        // SAFETY: `dev` is valid and non-null.
        let dev = unsafe { NonNull::new_unchecked(dev) };
        // SAFETY: allocated with our operations, not registered, nobody else sees it during
        // this call; `s` does not outlive it.
        let s = unsafe { Setup::<T>::from_raw(dev) };
        T::setup(&s);
    }

    /// `ndo_init`: initialises the private data (and the sysfs table).
    ///
    /// # Safety
    ///
    /// Called by `register_netdevice()` (RTNL held) with a device set up by `Self::setup`,
    /// once, before anything else uses its data.
    unsafe extern "C" fn init(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: RTNL is held during `register_netdevice()`.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: a device of `T` (set up by `Self::setup`).
        let p = unsafe { priv_of::<T>(dev) };
        if !T::SYSFS_ATTRS.is_empty() {
            match Adapter::<T>::sysfs_table() {
                // SAFETY: as in `Builder::new`: the table becomes the first attribute group,
                // which `netdev_register_kobject()` (after `ndo_init`) uses; the destructor
                // frees it once the files are gone.
                Ok(t) => unsafe {
                    let t = KBox::into_raw(t);
                    ptr::addr_of_mut!((*p).sysfs).write(t);
                    (*dev).sysfs_groups[0] = ptr::addr_of!((*t).group);
                },
                Err(e) => return e.to_errno(),
            }
        }
        // SAFETY: `data` is valid uninitialised memory for `T`, pinned with the device; on
        // error it stays uninitialised.
        if let Err(e) = unsafe { T::init(rtnl).__pinned_init(ptr::addr_of_mut!((*p).data)) } {
            // SAFETY: the files were never created (`ndo_init` failed: no destructor runs).
            unsafe {
                Adapter::<T>::free_sysfs(dev);
                (*dev).sysfs_groups[0] = ptr::null();
                ptr::addr_of_mut!((*p).sysfs).write(ptr::null_mut());
            }
            return e.to_errno();
        }
        0
    }

    /// `priv_destructor`: drops the data and frees the sysfs table.
    ///
    /// # Safety
    ///
    /// Called by the core once for a device set up by `Self::setup` whose `ndo_init` succeeded
    /// (so `data` is initialised): from `netdev_run_todo()` after the device was unregistered
    /// and its last reference put (RTNL not held), or from a failed `register_netdevice()`
    /// (RTNL held), where the device was never registered, so its work was never queued and
    /// disabling it does not wait.
    unsafe extern "C" fn destructor(dev: *mut bindings::net_device) {
        // SAFETY: see above: nothing but the deferred work can use the data any more, and it
        // is disabled first; the sysfs files are gone (unregistered, or never created).
        unsafe {
            Adapter::<T>::disable_work_sync(dev);
            ptr::drop_in_place(ptr::addr_of_mut!((*priv_of::<T>(dev)).data));
            Adapter::<T>::free_sysfs(dev);
        }
    }

    /// `newlink`: registers the device.
    ///
    /// # Safety
    ///
    /// Called by rtnetlink (RTNL held) with a device allocated with our link ops (set up by
    /// `Self::setup`), not registered; on error the caller frees it.
    unsafe extern "C" fn newlink(
        _src_net: *mut bindings::net,
        dev: *mut bindings::net_device,
        _tb: *mut *mut bindings::nlattr,
        _data: *mut *mut bindings::nlattr,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: such a device, RTNL held.
        let ret = unsafe { bindings::register_netdevice(dev) };
        if ret != 0 {
            return ret;
        }
        // SAFETY: RTNL held by the caller.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: a device of `T`, registered just now, valid during the call.
        let ndev = unsafe { NetDev::<T>::from_raw(dev) };
        match T::registered(ndev, rtnl) {
            Ok(()) => 0,
            Err(e) => {
                // SAFETY: registered, RTNL held. The caller's `free_netdev()` then only marks
                // the unregistering device to be freed after our destructor.
                unsafe { bindings::unregister_netdevice_queue(dev, ptr::null_mut()) };
                e.to_errno()
            }
        }
    }

    /// `dellink`.
    ///
    /// # Safety
    ///
    /// Called by rtnetlink (RTNL held) with a registered device of our kind and the list of
    /// devices it is about to unregister.
    unsafe extern "C" fn dellink(dev: *mut bindings::net_device, head: *mut bindings::list_head) {
        // SAFETY: RTNL held by the caller.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: a registered device of `T`, valid during the call.
        T::dellink(unsafe { NetDev::<T>::from_raw(dev) }, rtnl);
        // SAFETY: registered, RTNL held; `head` is the caller's kill list.
        unsafe { bindings::unregister_netdevice_queue(dev, head) };
    }

    /// `ndo_add_slave`.
    ///
    /// # Safety
    ///
    /// Called by the core (RTNL held) with a registered device of `T` and another registered
    /// device, and the request's acknowledgment (or null).
    unsafe extern "C" fn add_slave(
        dev: *mut bindings::net_device,
        slave: *mut bindings::net_device,
        extack: *mut bindings::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: RTNL held by the caller.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: valid registered devices during the call (caller's guarantee).
        let (dev, slave) = unsafe { (NetDev::<T>::from_raw(dev), Device::from_raw(slave)) };
        // INVARIANT: null or the request's acknowledgment, ours during the call.
        let mut ack = ExtAck {
            ptr: extack,
            _p: PhantomData,
        };
        from_result(|| T::add_slave(dev, slave, &mut ack, rtnl).map(|()| 0))
    }

    /// `ndo_del_slave`.
    ///
    /// # Safety
    ///
    /// As `add_slave`.
    unsafe extern "C" fn del_slave(
        dev: *mut bindings::net_device,
        slave: *mut bindings::net_device,
    ) -> c_int {
        // SAFETY: RTNL held by the caller.
        let rtnl = unsafe { Rtnl::assume_held() };
        // SAFETY: valid registered devices during the call (caller's guarantee).
        let (dev, slave) = unsafe { (NetDev::<T>::from_raw(dev), Device::from_raw(slave)) };
        from_result(|| T::del_slave(dev, slave, rtnl).map(|()| 0))
    }
}

/// The registration of a link kind (`rtnl_link_register()`): while it lives, userspace can
/// create devices of `T` with `ip link add NAME type KIND`. Dropping it deletes every such
/// device (calling [`LinkOperations::dellink`]), waits until they are freed, and unregisters
/// the kind.
///
/// Context: creating and dropping it take RTNL: process context, RTNL not held.
///
/// # Invariants
///
/// `ops` holds `LinkAdapter::<T>::OPS` and is registered with `rtnl_link_register()` (except
/// while a failed registration is dropped, then with `kind` cleared); it is pinned.
#[pin_data(PinnedDrop)]
pub struct LinkRegistration<T: LinkOperations> {
    #[pin]
    ops: Opaque<bindings::rtnl_link_ops>,
    _p: PhantomData<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the ops are only used by rtnetlink, under RTNL, from any task.
unsafe impl<T: LinkOperations> Send for LinkRegistration<T> {}
// SAFETY: `&LinkRegistration` gives nothing.
unsafe impl<T: LinkOperations> Sync for LinkRegistration<T> {}

impl<T: LinkOperations> LinkRegistration<T> {
    /// Registers the kind [`Operations::LINK_KIND`] (`rtnl_link_register()`); fails with
    /// `EEXIST` if another module registered it.
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `ops` is valid writable memory for an `rtnl_link_ops`.
            ops <- Opaque::ffi_init(|ops: *mut bindings::rtnl_link_ops| unsafe {
                ops.write(LinkAdapter::<T>::OPS);
            }),
            _p: PhantomData,
            _pin: PhantomPinned,
        }? Error)
        .pin_chain(|this| {
            let ops = this.ops.get();
            // SAFETY: `this` is pinned and fully initialised; the ops stay registered until
            // `drop`, which unregisters them before the memory goes.
            to_result(unsafe { bindings::rtnl_link_register(ops) }).inspect_err(|_| {
                // Not registered: tell `drop` (which runs on this error) to leave it alone.
                // SAFETY: the ops are ours and on no list.
                unsafe { (*ops).kind = ptr::null() };
            })
        })
    }
}

#[pinned_drop]
impl<T: LinkOperations> PinnedDrop for LinkRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        let ops = self.ops.get();
        // SAFETY: the ops are ours; registered iff their kind is set (see `new`). Unregistering
        // deletes and frees the kind's devices before it returns.
        unsafe {
            if !(*ops).kind.is_null() {
                bindings::rtnl_link_unregister(ops);
            }
        }
    }
}
