// SPDX-License-Identifier: GPL-2.0

//! The [`Operations`] adapter: the C callbacks of a device of `T` (`net_device_ops`,
//! `rtnl_link_ops` slave info, `ndo_uninit`) and its deferred work.

use super::{priv_of, Deferred, NetDev, Operations, Priv, SlaveInfo, TxContext, NETDEV_ALIGN};
use crate::{
    error::from_result,
    net::{
        device::{AddrLocked, Device},
        rtnl::{Rtnl, RtnlAtomic},
        skbuff::{OwnedSkBuff, SkBuff},
        stats::Stats64,
    },
    prelude::*,
    sync::rcu,
    types::ARef,
    workqueue::DelayedWork,
};
use core::{
    ffi::c_int,
    marker::PhantomData,
    ptr::{self, NonNull},
};

/// The C callbacks of devices of `T`, which call `T`'s [`Operations`].
pub(super) struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a device of `T` (it uses `NETDEV_OPS`) valid for the call, called by the
    /// core as `ndo_open` (RTNL held).
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: only devices of `T` use these ops; valid during the call.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_open` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::open(dev, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// As `open`, for `ndo_stop`.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_stop` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::stop(dev, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_start_xmit` with a device of `T` and an skb it hands over.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // pktgen, the one sender that keeps a reference on what it hands over, hands the same
        // packet again on its next round unless the status is `NETDEV_TX_OK` (and takes back a
        // reference the driver already gave away on a negative one): a packet handed over
        // shared is reported `NETDEV_TX_OK`, whatever became of it. Read before the hand-over,
        // after which the packet may be gone.
        // SAFETY: the skb is valid at the start of `ndo_start_xmit`.
        let shared = unsafe { bindings::skb_shared(skb) };
        // SAFETY: `ndo_start_xmit` transfers a reference to the skb, whose fields are ours to
        // change: pktgen does not use the packet again before freeing it, as it never gets a
        // status that would make it resend (above) and devices of `T` lack
        // `IFF_TX_SKB_SHARING` (`restrict_priv_flags`, no `clone_skb`/`burst`).
        let skb = unsafe { OwnedSkBuff::from_raw(skb) };
        // SAFETY: `ndo_start_xmit` runs with bottom halves (or interrupts) disabled, inside
        // `rcu_read_lock_bh()` on the qdisc and `__dev_queue_xmit()` paths, for the whole call.
        let ctx = unsafe { TxContext::assume() };
        // The status is never `NETDEV_TX_BUSY` (invariant of `TxStatus`): the skb was consumed.
        let status = T::start_xmit(dev, skb, &ctx).0;
        if shared {
            bindings::netdev_tx_NETDEV_TX_OK
        } else {
            status as bindings::netdev_tx_t
        }
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_select_queue`.
    unsafe extern "C" fn select_queue(
        dev: *mut bindings::net_device,
        skb: *mut bindings::sk_buff,
        sb_dev: *mut bindings::net_device,
    ) -> u16 {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the core gives exclusive access to the skb during queue selection.
        let skb = unsafe { SkBuff::from_raw(skb) };
        // SAFETY: `sb_dev`, when non-null, is a registered device (a macvlan offload or the
        // device itself) valid for the call.
        let sb = (!sb_dev.is_null()).then(|| unsafe { Device::from_raw(sb_dev) });
        // `__dev_queue_xmit()` calls this inside `rcu_read_lock_bh()`, but
        // `packet_pick_tx_queue()` calls it preemptible and without RCU: the section is entered
        // here for both (nesting is cheap, and legal in any context).
        let rcu = rcu::read_lock();
        let q = {
            // SAFETY: a transmit path, inside the RCU read-side critical section of `rcu`, which
            // ends only after this block, with `ctx`.
            let ctx = unsafe { TxContext::assume() };
            u32::from(T::select_queue(dev, skb, sb, &ctx))
        };
        drop(rcu);
        let n = dev.real_num_tx_queues().max(1);
        // `n` fits in u16 (the core limits queue counts), so does `q % n`. The division only
        // when needed, as C's `netdev_cap_txqueue()` does.
        (if q < n { q } else { q % n }) as u16
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_get_stats64` with a writable `stats`.
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        stats: *mut bindings::rtnl_link_stats64,
    ) {
        // Sysfs can read the statistics of a device whose registration has made its files but
        // not finished `dev_init_scheduler()`: no `NetDev<T>` is made here, only the data is
        // handed on.
        // SAFETY: `dev` is a device of `T` valid during the call. The data was initialised
        // before the core can call `ndo_get_stats64` (`Builder::new`, or `ndo_init` before the
        // sysfs files exist), and is dropped only after the last caller is gone: after the
        // unregistration waited for the device's references, or, for a registration that
        // failed, after `device_del()` drained the sysfs readers (the device was never listed);
        // the data is only read through a shared reference.
        let data = unsafe { &(*priv_of::<T>(dev)).data };
        // SAFETY: the core passes a struct that is ours during the call.
        let stats = unsafe { Stats64::from_raw(stats) };
        T::get_stats64(data, stats);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_mtu` (RTNL held).
    unsafe extern "C" fn change_mtu(dev: *mut bindings::net_device, new_mtu: c_int) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_change_mtu` is called with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| {
            let mtu = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            T::change_mtu(dev, mtu, rtnl)?;
            // SAFETY: valid device; RTNL serialises writers (`WRITE_ONCE` as in C).
            unsafe { ptr::write_volatile(ptr::addr_of_mut!((*dev.as_raw()).mtu), mtu) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_set_rx_mode` (address lock held).
    unsafe extern "C" fn set_rx_mode(dev: *mut bindings::net_device) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `ndo_set_rx_mode` is called with the device's address lock held.
        let addrs = unsafe { AddrLocked::assume_locked(dev) };
        T::set_rx_mode(dev, &addrs);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_change_rx_flags` (RTNL held, maybe atomic context).
    unsafe extern "C" fn change_rx_flags(dev: *mut bindings::net_device, change: c_int) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the callers hold RTNL (`__dev_set_promiscuity()` and `__dev_set_allmulti()`
        // assert it, `__dev_change_flags()` runs under it); the first two may run in atomic
        // context (an upper device's `__dev_set_rx_mode()`), which `RtnlAtomic` allows for.
        let rtnl = unsafe { RtnlAtomic::assume_held() };
        T::change_rx_flags(dev, change as u32, rtnl);
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_add_vid` (RTNL held).
    unsafe extern "C" fn vlan_rx_add_vid(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: VLAN filters are changed with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::vlan_rx_add_vid(dev, proto, vid, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the core as `ndo_vlan_rx_kill_vid` (RTNL held).
    unsafe extern "C" fn vlan_rx_kill_vid(
        dev: *mut bindings::net_device,
        proto: bindings::__be16,
        vid: u16,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: VLAN filters are changed with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::vlan_rx_kill_vid(dev, proto, vid, rtnl).map(|()| 0))
    }

    pub(super) const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_uninit: Some(Self::uninit),
        ndo_open: if T::HAS_OPEN { Some(Self::open) } else { None },
        ndo_stop: if T::HAS_STOP { Some(Self::stop) } else { None },
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_select_queue: if T::HAS_SELECT_QUEUE {
            Some(Self::select_queue)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode)
        } else {
            None
        },
        ndo_change_rx_flags: if T::HAS_CHANGE_RX_FLAGS {
            Some(Self::change_rx_flags)
        } else {
            None
        },
        ndo_vlan_rx_add_vid: if T::HAS_VLAN_RX_ADD_VID {
            Some(Self::vlan_rx_add_vid)
        } else {
            None
        },
        ndo_vlan_rx_kill_vid: if T::HAS_VLAN_RX_KILL_VID {
            Some(Self::vlan_rx_kill_vid)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_features_check: if T::PASSTHRU_FEATURES_CHECK {
            Some(bindings::passthru_features_check)
        } else {
            None
        },
        // SAFETY: all-zero (all callbacks `None`) is a valid `net_device_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::net_device_ops>::zeroed().assume_init() }
    };

    pub(super) const ALIGN_OK: () = assert!(core::mem::align_of::<Priv<T>>() <= NETDEV_ALIGN);

    /// The device's link ops, never registered (see [`Operations::LINK_KIND`]), so the core
    /// never writes to them.
    pub(super) const LINK_OPS: bindings::rtnl_link_ops = bindings::rtnl_link_ops {
        kind: match T::LINK_KIND {
            Some(k) => k.as_char_ptr(),
            None => ptr::null(),
        },
        slave_maxtype: T::SLAVE_INFO_ATTRS as u32,
        // A device with these ops is owned by its `Registration`, never deleted by the core: a
        // dying namespace gives it back to the initial one instead of unregistering it (which
        // the `Registration` would then do a second time). `link::LinkRegistration` devices,
        // which the core deletes with their namespace, turn this off.
        netns_refund: true,
        get_slave_size: if T::HAS_FILL_SLAVE_INFO {
            Some(Self::get_slave_size)
        } else {
            None
        },
        fill_slave_info: if T::HAS_FILL_SLAVE_INFO {
            Some(Self::fill_slave_info)
        } else {
            None
        },
        // SAFETY: all-zero (no callbacks, empty list head, no policy) is a valid
        // `rtnl_link_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::rtnl_link_ops>::zeroed().assume_init() }
    };

    /// `get_slave_size`: room for `SLAVE_INFO_ATTRS` attributes of up to 4 bytes
    /// (`nla_total_size(4)` = 8 each). Called under RCU: only reads a constant.
    ///
    /// # Safety
    ///
    /// None: the arguments are not used (`unsafe` only for the C function pointer type).
    unsafe extern "C" fn get_slave_size(
        _dev: *const bindings::net_device,
        _slave: *const bindings::net_device,
    ) -> usize {
        T::SLAVE_INFO_ATTRS * 8
    }

    /// # Safety
    ///
    /// Called by rtnetlink as `fill_slave_info` of `LINK_OPS`: `dev` is a device of `T` (the
    /// only devices using these ops) and the master of `slave`, both valid and registered for
    /// the call; `skb` is the message being built, with the room of `get_slave_size`.
    unsafe extern "C" fn fill_slave_info(
        skb: *mut bindings::sk_buff,
        dev: *const bindings::net_device,
        slave: *const bindings::net_device,
    ) -> c_int {
        // SAFETY: a device of `T` (its ops are ours), valid for the call.
        let dev = unsafe { NetDev::<T>::from_raw(dev.cast_mut()) };
        // SAFETY: a registered device, valid for the call.
        let slave = unsafe { Device::from_raw(slave.cast_mut()) };
        // INVARIANT: the message being built, with room for `SLAVE_INFO_ATTRS` attributes.
        let mut info = SlaveInfo {
            skb,
            left: T::SLAVE_INFO_ATTRS,
            _p: PhantomData,
        };
        from_result(|| T::fill_slave_info(dev, slave, &mut info).map(|()| 0))
    }

    /// Initialises the deferred work of a device of `T`. One lock class serves the works of all
    /// such devices: lockdep would report a work that waits for another device's work (by
    /// dropping its `Registration`) as recursion; no user's work does.
    ///
    /// # Safety
    ///
    /// `work` must be valid for writes, pinned for as long as the device lives, and not in use.
    pub(super) unsafe fn init_work(work: *mut DelayedWork<Deferred<T>>) {
        let init = crate::workqueue::new_delayed_work!("net::driver::NetDev::work");
        // SAFETY: valid, pinned and unused (caller's guarantee); the initialiser cannot fail.
        let res = unsafe { init.__pinned_init(work) };
        res.unwrap_or_else(|e| match e {});
    }

    /// The device's [`DelayedWork`] in its `Priv<T>`: wrapping address arithmetic only, so safe
    /// for any pointer (unlike [`priv_of`], which projects a place through `dev`); what callers
    /// do with the result needs a device of `T`.
    pub(super) fn work_of(dev: *mut bindings::net_device) -> *mut DelayedWork<Deferred<T>> {
        let p = dev
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(bindings::net_device, priv_))
            .cast::<Priv<T>>();
        p.cast::<u8>()
            .wrapping_add(core::mem::offset_of!(Priv<T>, work))
            .cast()
    }

    /// `ndo_uninit`: the device is being unregistered (or its registration failed). Disables
    /// its work, without waiting (RTNL is held, and the work may be waiting for it): a pending
    /// work is cancelled and its reference dropped, no new one can be queued, and a run already
    /// started holds a reference that the unregistration waits for.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T`, valid for the call (the core calls it so).
    pub(super) unsafe extern "C" fn uninit(dev: *mut bindings::net_device) {
        // SAFETY: the device's initialised work (invariant of `Priv`).
        if unsafe { bindings::disable_delayed_work(DelayedWork::raw_get(Self::work_of(dev))) } {
            // SAFETY: a successful cancel hands the queue's pointer to us (`RawWorkItem`'s
            // guarantees): the reference `NetDev::schedule_work` gave with `ARef::into_raw`,
            // whose pointer is the device's; `dev` is not null (valid, caller).
            drop(unsafe { ARef::<Deferred<T>>::from_raw(NonNull::new_unchecked(dev.cast())) });
        }
    }

    /// Disables the device's work for good (`disable_delayed_work_sync()`) before the data is
    /// dropped and the device freed: waits until it is neither pending nor running, and makes
    /// any later [`NetDev::schedule_work`] a no-op.
    ///
    /// By then nothing can be pending: `ndo_uninit` disabled the work of a device that was
    /// registered, and a device that never was had no `NetDev` to queue it through. A pending
    /// work here would be a bug of this module; it is reported, and its reference is not put
    /// (that would hide the bug: the count would fall below the allocation's own reference).
    ///
    /// # Safety
    ///
    /// `dev` must be a device of `T`, valid for the call. Process context; RTNL only if the
    /// work was never queued (the link destructor of a failed registration), as the work may
    /// take it.
    pub(super) unsafe fn disable_work_sync(dev: *mut bindings::net_device) {
        // SAFETY: the device's initialised work (invariant of `Priv`).
        let was_pending = unsafe {
            bindings::disable_delayed_work_sync(DelayedWork::raw_get(Self::work_of(dev)))
        };
        if was_pending {
            crate::pr_err!("net::driver: deferred work still pending at the free\n");
            // SAFETY: prints the current stack, any context.
            unsafe { bindings::dump_stack() };
        }
    }
}
