// SPDX-License-Identifier: GPL-2.0

//! Creating and registering a device of `T`: [`Builder`], [`Setup`], [`Registration`].

use super::{priv_of, restrict_priv_flags, Adapter, NetDev, Operations, Priv};
use crate::{
    init::PinInit,
    net::{
        device::{Allocated, Features, PrivFlags},
        rtnl::{Rtnl, RtnlGuard},
    },
    prelude::*,
    types::ARef,
};
use core::{
    ffi::c_int,
    marker::PhantomData,
    ptr::{self, NonNull},
};

/// An allocated Ethernet device with initialised private data, not yet registered.
///
/// The setters are [`Setup`]'s, which the builder dereferences to: nobody else can see the
/// device before [`Builder::register`].
/// Dropping the builder drops the private data and frees the device.
///
/// Context: process context (allocation with `GFP_KERNEL`).
///
/// # Invariants
///
/// `dev` was allocated by `alloc_etherdev_mqs()` with room for a `T` that is initialised, uses
/// `Adapter<T>`'s operations, and is not registered.
pub struct Builder<T: Operations> {
    setup: Setup<T>,
    /// The parent given by [`Builder::set_parent_as`], held until registration (when
    /// `device_add()` takes a reference of its own) or until the builder is dropped.
    parent: Option<ARef<crate::device::Device>>,
}

/// A device of the driver `T` that is being set up: allocated, with `T`'s operations, not
/// registered, and seen by nobody else. [`Builder`] dereferences to it; a device created by
/// rtnetlink is given to [`LinkOperations::setup`](link::LinkOperations::setup) as one.
///
/// It is only ever handed out as a shared reference, and its setters take `&self`: with a
/// `&mut Setup<T>`, safe code could `mem::swap()` the device of a [`Builder`] with one
/// rtnetlink allocated (whose data does not exist yet), and the builder would drop data that
/// was never initialised. Sequential writes through `&self` are fine: `Setup` is neither
/// `Send` nor `Sync` (it holds a raw pointer), so all its users run on one thread.
///
/// # Invariants
///
/// `dev` is a valid device using `Adapter<T>`'s operations (or `LinkAdapter<T>`'s), not
/// registered, which only the thread holding the `Setup<T>` accesses, and which the
/// `Setup<T>` keeps designating as long as it exists (it is never exposed by `&mut`).
pub struct Setup<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

impl<T: Operations> core::ops::Deref for Builder<T> {
    type Target = Setup<T>;
    fn deref(&self) -> &Setup<T> {
        &self.setup
    }
}

impl<T: Operations> Builder<T> {
    /// Gives the device the same parent device as `other` (`SET_NETDEV_DEV()`), so that sysfs
    /// shows it below that device and `device/driver` names that device's driver. The builder
    /// holds a reference on the parent until the device is registered (which takes one of its
    /// own) or dropped. Does nothing if `other` has no parent; `ENODEV` if `other` is being
    /// unregistered (its parent may be gone).
    pub fn set_parent_as(&mut self, other: &Allocated, rtnl: &Rtnl) -> Result<&Self> {
        let p = other.parent_raw();
        if !p.is_null() {
            if !other.parent_held(rtnl) {
                return Err(ENODEV);
            }
            // SAFETY: the parent is valid while RTNL is held (`parent_held`); `get_device()`
            // takes a reference of our own.
            let parent = unsafe { crate::device::Device::get_device(p) };
            let d = self.setup.raw();
            // SAFETY: `d` is ours and unregistered; the parent is held by `self.parent` until
            // `device_add()` takes its own reference in `register()`.
            unsafe { (*d).dev.parent = p };
            self.parent = Some(parent);
        }
        Ok(self)
    }

    /// Gives the device no link kind, as a driver without `rtnl_link_ops` does, although `T`
    /// has an [`Operations::LINK_KIND`]: rtnetlink then reports no `IFLA_INFO_KIND` for the
    /// device and no `IFLA_INFO_SLAVE_KIND` or `IFLA_INFO_SLAVE_DATA`
    /// ([`Operations::fill_slave_info`]) for its lower devices. Userspace tells devices apart by
    /// their kind: NetworkManager manages an Ethernet device without a kind as Ethernet, and
    /// one with a kind it does not know as a generic device, which it leaves unconfigured by
    /// default. A device that replaces one of a C driver without `rtnl_link_ops` keeps its
    /// identity this way. Nothing else changes: `ip link del` is refused (`EOPNOTSUPP`) either
    /// way, and a dying network namespace gives the device back to the initial one, as it does
    /// a device whose link ops have `netns_refund`.
    pub fn without_link_kind(&mut self) -> &mut Self {
        let d = self.setup.raw();
        // SAFETY: `d` is ours and unregistered: the core reads `rtnl_link_ops` only once the
        // device is registered.
        unsafe { (*d).rtnl_link_ops = ptr::null() };
        self
    }

    /// Allocates an Ethernet device (`alloc_etherdev_mqs()`) with `txqs` tx and `rxqs` rx queues
    /// and initialises its private data with `init`.
    pub fn new(txqs: u32, rxqs: u32, init: impl PinInit<T, Error>) -> Result<Self> {
        #[allow(clippy::let_unit_value)]
        let () = Adapter::<T>::ALIGN_OK;
        let size = c_int::try_from(core::mem::size_of::<Priv<T>>()).map_err(|_| EINVAL)?;
        // SAFETY: just an allocation.
        let dev = unsafe { bindings::alloc_etherdev_mqs(size, txqs, rxqs) };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        // SAFETY: just allocated, seen by nobody else.
        unsafe { restrict_priv_flags(dev.as_ptr()) };
        // SAFETY: the private area was sized for a `Priv<T>` and is aligned to `NETDEV_ALIGN`,
        // which is at least its alignment (`ALIGN_OK`); it is pinned as long as the device
        // lives.
        let p = unsafe { priv_of::<T>(dev.as_ptr()) };
        // SAFETY: `p` is valid memory for a `Priv<T>`, not shared yet: `work` and `sysfs` are
        // initialised here (the invariant of `Priv`), before `data` and before anyone can queue
        // the work.
        unsafe {
            Adapter::<T>::init_work(ptr::addr_of_mut!((*p).work));
            ptr::addr_of_mut!((*p).sysfs).write(ptr::null_mut());
        }
        // SAFETY: `data` is valid uninitialised memory for `T`, pinned; on error it stays
        // uninitialised.
        if let Err(e) = unsafe { init.__pinned_init(ptr::addr_of_mut!((*p).data)) } {
            // SAFETY: allocated above, not registered, private data not initialised.
            unsafe { bindings::free_netdev(dev.as_ptr()) };
            return Err(e);
        }
        if !T::SYSFS_ATTRS.is_empty() {
            match Adapter::<T>::sysfs_table() {
                // SAFETY: `p` is our private area; the table is handed to the core as the
                // device's first attribute group (`netdev_register_kobject()` keeps
                // `sysfs_groups[0]`), and freed only once the device's files are gone.
                Ok(t) => unsafe {
                    let t = KBox::into_raw(t);
                    ptr::addr_of_mut!((*p).sysfs).write(t);
                    (*dev.as_ptr()).sysfs_groups[0] = ptr::addr_of!((*t).group);
                },
                Err(e) => {
                    // SAFETY: not registered; the data was initialised above.
                    unsafe {
                        ptr::drop_in_place(ptr::addr_of_mut!((*p).data));
                        bindings::free_netdev(dev.as_ptr());
                    }
                    return Err(e);
                }
            }
        }
        // SAFETY: the device is ours; the ops tables are promoted to `'static` constants.
        unsafe {
            (*dev.as_ptr()).netdev_ops = &Adapter::<T>::NETDEV_OPS;
            (*dev.as_ptr()).ethtool_ops = &Adapter::<T>::ETHTOOL_OPS;
            if T::LINK_KIND.is_some() {
                (*dev.as_ptr()).rtnl_link_ops = &Adapter::<T>::LINK_OPS;
            }
        }
        // INVARIANT: allocated, data initialised, our operations, not registered.
        Ok(Self {
            setup: Setup {
                dev,
                _p: PhantomData,
            },
            parent: None,
        })
    }

    /// Registers the device (`register_netdev()`); on failure the device is freed. `EINVAL`
    /// unless the device is in the initial namespace, which never dies: the namespace a
    /// device was put in before registration ([`Setup::set_net_as`]) holds no reference and
    /// could be freed before this call; and a dying namespace unregisters the devices that
    /// cannot leave it ([`Setup::set_netns_immutable`]) behind their [`Registration`]'s back.
    /// A device that may move is moved after registration.
    ///
    /// Context: process context, must not hold RTNL.
    pub fn register(mut self) -> Result<Registration<T>> {
        let d = self.setup.dev.as_ptr();
        // SAFETY: `d` is ours and unregistered; only the namespace pointer is read (never
        // dereferenced: the namespace may be gone, see `Setup::set_net_as`), and `init_net` is
        // only compared by address.
        let in_init_net =
            unsafe { ptr::eq(bindings::dev_net(d), ptr::addr_of_mut!(bindings::init_net)) };
        if !in_init_net {
            // `self` is dropped: data dropped, device freed.
            return Err(EINVAL);
        }
        // SAFETY: a fully set-up, unregistered device.
        let ret = unsafe { bindings::register_netdev(self.setup.dev.as_ptr()) };
        if ret != 0 {
            // `self` is dropped: data dropped, device freed.
            return Err(Error::from_errno(ret));
        }
        let dev = self.setup.dev;
        // `device_add()` holds the parent now.
        drop(self.parent.take());
        core::mem::forget(self);
        // INVARIANT: registered just now.
        Ok(Registration {
            dev,
            _p: PhantomData,
        })
    }
}

impl<T: Operations> Setup<T> {
    /// # Safety
    ///
    /// `dev` must satisfy the type invariants as long as the returned value is used (it has no
    /// destructor: the caller keeps owning the device).
    pub(super) unsafe fn from_raw(dev: NonNull<bindings::net_device>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self {
            dev,
            _p: PhantomData,
        }
    }

    fn raw(&self) -> *mut bindings::net_device {
        self.dev.as_ptr()
    }

    /// Puts the device in the network namespace of `other` (`dev_net_set()`). No reference
    /// is taken on the namespace, so [`Builder::register`] accepts the initial namespace only
    /// (it compares the pointer, never dereferences it): a driver gives its device the
    /// namespace of the device it is made for, which for devices being probed is the initial
    /// one.
    pub fn set_net_as(&self, other: &Allocated) -> &Self {
        let d = self.raw();
        // SAFETY: `other` is valid and so is its namespace; `d` is ours and unregistered. In 6.12
        // `dev_net_set()` stores the pointer without taking a reference on the namespace, as for
        // every device: until registration nothing dereferences it, and once registered the
        // device is tied to the namespace like any other of its devices (a dying namespace
        // moves or unregisters its devices before it is freed).
        unsafe { bindings::dev_net_set(d, bindings::dev_net(other.as_raw())) };
        self
    }

    /// Sets the hardware address, and the permanent address to the same value.
    pub fn set_mac(&self, addr: &[u8; crate::net::device::ETH_ALEN]) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; `addr` has `addr_len` (ETH_ALEN) bytes, and
        // `perm_addr` has `MAX_ADDR_LEN` (more).
        unsafe {
            bindings::dev_addr_set(d, addr.as_ptr());
            ptr::copy_nonoverlapping(addr.as_ptr(), (*d).perm_addr.as_mut_ptr(), addr.len());
        }
        self
    }

    /// Gives the device a random, locally administered unicast address
    /// (`eth_hw_addr_random()`), leaving the permanent address alone.
    pub fn set_random_mac(&self) -> &Self {
        let mut addr = [0u8; crate::net::device::ETH_ALEN];
        // SAFETY: writes `addr.len()` bytes into `addr`.
        unsafe { bindings::get_random_bytes(addr.as_mut_ptr().cast(), addr.len()) };
        // Unicast, locally administered (`eth_random_addr()`).
        addr[0] = (addr[0] & 0xfe) | 0x02;
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; `addr` has `addr_len` (ETH_ALEN) bytes.
        unsafe {
            bindings::dev_addr_set(d, addr.as_ptr());
            (*d).addr_assign_type = bindings::NET_ADDR_RANDOM as u8;
        }
        self
    }

    /// Sets the MTU range.
    pub fn set_mtu_range(&self, min: u32, max: u32) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe {
            (*d).min_mtu = min;
            (*d).max_mtu = max;
        }
        self
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: u32) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { (*d).mtu = mtu };
        self
    }

    fn update_priv_flags(&self, set: PrivFlags, clear: PrivFlags) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered. Callers only pass flags whose meaning this
        // driver-owned device backs (see each method).
        unsafe { bindings::netdev_update_priv_flags(d, set.bits() as _, clear.bits() as _) };
        self
    }

    /// Marks the device as a failover master (`IFF_FAILOVER`): the C failover core then leaves
    /// its events alone, and [`LowerLink`](crate::net::lower::LowerLink) marks the devices
    /// linked below it as failover lower devices.
    pub fn set_failover_master(&self) -> &Self {
        self.update_priv_flags(PrivFlags::FAILOVER, PrivFlags::from_raw(0))
    }

    /// Whether the device filters unicast addresses itself (`IFF_UNICAST_FLT`); without it the
    /// core turns on promiscuous mode when secondary unicast addresses are added.
    pub fn set_unicast_filtering(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::UNICAST_FLT, on)
    }

    /// Whether the device has no qdisc (`IFF_NO_QUEUE`), as stacked devices that hand packets
    /// to a lower device's queue usually do.
    pub fn set_no_queue(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::NO_QUEUE, on)
    }

    /// Whether the core may drop a packet's route before `start_xmit`
    /// (`IFF_XMIT_DST_RELEASE`).
    pub fn set_dst_release(&self, on: bool) -> &Self {
        self.set_or_clear(PrivFlags::XMIT_DST_RELEASE, on)
    }

    fn set_or_clear(&self, f: PrivFlags, on: bool) -> &Self {
        let none = PrivFlags::from_raw(0);
        if on {
            self.update_priv_flags(f, none)
        } else {
            self.update_priv_flags(none, f)
        }
    }

    /// Declares the driver lockless on transmit (`dev->lltx`): the core does not take the tx
    /// queue lock around `start_xmit`.
    pub fn set_lltx(&self, on: bool) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { bindings::netdev_set_lltx(d, on) };
        self
    }

    /// Forbids moving the device to another network namespace (`dev->netns_immutable`,
    /// `netns_local` before Linux 6.15 and in early 6.12.y releases).
    pub fn set_netns_immutable(&self, on: bool) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered.
        unsafe { bindings::netdev_set_netns_immutable(d, on) };
        self
    }

    /// Sets the user-changeable features and the active features. Fails with `EINVAL`, changing
    /// nothing, if either holds a feature outside [`Features::DRIVER_SETTABLE`].
    pub fn set_features(&self, hw_features: Features, features: Features) -> Result<&Self> {
        if !Features::DRIVER_SETTABLE.contains(hw_features | features) {
            return Err(EINVAL);
        }
        let d = self.raw();
        // SAFETY: `d` is ours and unregistered; the features need no callbacks (checked above).
        unsafe {
            (*d).hw_features = hw_features.bits();
            (*d).features = features.bits();
        }
        Ok(self)
    }

    /// Starts the device without carrier (`netif_carrier_off()` before registration), so that
    /// it is never seen with a carrier it does not have.
    pub fn set_carrier_off(&self) -> &Self {
        let d = self.raw();
        // SAFETY: `d` is ours; before registration the call only sets the state bit.
        unsafe { bindings::netif_carrier_off(d) };
        self
    }
}

impl<T: Operations> Drop for Builder<T> {
    fn drop(&mut self) {
        let dev = self.setup.dev.as_ptr();
        // SAFETY: by the invariant, the data is initialised and the device unregistered, so no
        // callback can run (the work was never queued: only a `NetDev`, which a never-registered
        // device does not hand out, queues it; after a failed registration `ndo_uninit`
        // disabled it); the device was allocated by
        // `alloc_etherdev_mqs()`. Process context (type documentation).
        unsafe {
            Adapter::<T>::disable_work_sync(dev);
            ptr::drop_in_place(ptr::addr_of_mut!((*priv_of::<T>(dev)).data));
            Adapter::<T>::free_sysfs(dev);
            bindings::free_netdev(dev);
        }
    }
}

/// A registered network device of the driver `T`.
///
/// Dropping it unregisters the device (`unregister_netdev()`, which waits until every other
/// reference was put), then drops the private data and frees the device.
///
/// Context: dropping needs process context without RTNL held.
///
/// # Invariants
///
/// `dev` was built by [`Builder<T>`] and is registered.
#[must_use = "dropping the registration unregisters the device at once"]
pub struct Registration<T: Operations> {
    dev: NonNull<bindings::net_device>,
    _p: PhantomData<T>,
}

// SAFETY: the registration may be dropped on any task (in process context); `T: Send + Sync`.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&NetDev<T>`, which is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// The device.
    pub fn device(&self) -> &NetDev<T> {
        // SAFETY: by the invariant, of `T`, valid while registered.
        unsafe { NetDev::from_raw(self.dev.as_ptr()) }
    }

    /// A counted reference to the device.
    pub fn device_ref(&self) -> ARef<NetDev<T>> {
        ARef::from(self.device())
    }

    /// Unregisters the device with RTNL already held (`unregister_netdevice()`), then releases
    /// RTNL — which waits for the last references to go — and frees the device.
    pub fn unregister(self, rtnl: RtnlGuard) {
        let dev = self.dev;
        core::mem::forget(self);
        // SAFETY: registered device; RTNL is held (the guard proves it).
        unsafe { bindings::unregister_netdevice_queue(dev.as_ptr(), ptr::null_mut()) };
        // `rtnl_unlock()` runs the todo list, which includes this device: it returns once the
        // device has been fully unregistered and all other references were put.
        drop(rtnl);
        // SAFETY: unregistered and unreferenced; nothing can call into `T` any more.
        unsafe { Self::free(dev) };
    }

    /// # Safety
    ///
    /// `dev` must be fully unregistered (todo list run) and not used by anyone else. Process
    /// context.
    unsafe fn free(dev: NonNull<bindings::net_device>) {
        // SAFETY: as required by the caller, nothing uses the device: the todo list's wait also
        // covered the deferred work (disabled at `ndo_uninit`, a run holding a reference), so
        // `disable_work_sync` finds nothing to wait for; the data can be dropped and the device
        // freed.
        unsafe {
            Adapter::<T>::disable_work_sync(dev.as_ptr());
            ptr::drop_in_place(ptr::addr_of_mut!((*priv_of::<T>(dev.as_ptr())).data));
            Adapter::<T>::free_sysfs(dev.as_ptr());
            bindings::free_netdev(dev.as_ptr());
        }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered device; `unregister_netdev()` takes RTNL and returns once the device
        // is fully unregistered and unreferenced.
        unsafe { bindings::unregister_netdev(self.dev.as_ptr()) };
        // SAFETY: see above.
        unsafe { Self::free(self.dev) };
    }
}
