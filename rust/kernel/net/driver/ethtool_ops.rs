// SPDX-License-Identifier: GPL-2.0

//! The [`Operations`] adapter's `ethtool_ops`.

use super::{Adapter, NetDev, Operations};
use crate::{
    error::from_result,
    net::{
        ethtool::{DrvInfo, LinkKsettings},
        rtnl::Rtnl,
    },
};
use core::ffi::c_int;

impl<T: Operations> Adapter<T> {
    /// # Safety
    ///
    /// Called by the ethtool core as `get_drvinfo` (RTNL held).
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the ethtool core passes a struct that is ours during the call.
        let info = unsafe { DrvInfo::from_raw(info) };
        // SAFETY: ethtool operations run with RTNL held.
        let rtnl = unsafe { Rtnl::assume_held() };
        T::get_drvinfo(dev, info, rtnl);
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_link_ksettings` (RTNL held).
    unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> c_int {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: the ethtool core passes a struct that is ours during the call.
        let ks = unsafe { LinkKsettings::from_raw(ks) };
        // SAFETY: `__ethtool_get_link_ksettings()` asserts RTNL before calling us.
        let rtnl = unsafe { Rtnl::assume_held() };
        from_result(|| T::get_link_ksettings(dev, ks, rtnl).map(|()| 0))
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_sset_count`.
    unsafe extern "C" fn get_sset_count(_dev: *mut bindings::net_device, sset: c_int) -> c_int {
        if sset == bindings::ethtool_stringset_ETH_SS_STATS as c_int {
            c_int::try_from(T::ETHTOOL_STATS.len()).unwrap_or(0)
        } else {
            -(bindings::EOPNOTSUPP as c_int)
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_strings`, with `data` sized for the count returned by
    /// `get_sset_count` for `sset`.
    unsafe extern "C" fn get_strings(_dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        if sset != bindings::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        let len = bindings::ETH_GSTRING_LEN as usize;
        // SAFETY: the core sized `data` for `ETHTOOL_STATS.len()` strings of `ETH_GSTRING_LEN`
        // bytes (our `get_sset_count`, a constant), and lets us write it during the call.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, T::ETHTOOL_STATS.len() * len) };
        for (chunk, name) in buf.chunks_exact_mut(len).zip(T::ETHTOOL_STATS.iter()) {
            crate::net::ethtool::copy_c_str(chunk, name);
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core as `get_ethtool_stats`, with `data` holding
    /// `stats->n_stats` values.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: see `open`.
        let dev = unsafe { NetDev::<T>::from_raw(dev) };
        // SAFETY: `stats` is valid for the call; the core allocated `n_stats` values at `data`
        // (never more than our count) and lets us write them.
        let data = unsafe {
            let n = ((*stats).n_stats as usize).min(T::ETHTOOL_STATS.len());
            core::slice::from_raw_parts_mut(data, n)
        };
        T::get_ethtool_stats(dev, data);
    }

    pub(super) const ETHTOOL_OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo)
        } else {
            None
        },
        get_link: if T::ETHTOOL_GET_LINK {
            Some(bindings::ethtool_op_get_link)
        } else {
            None
        },
        get_sset_count: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_sset_count)
        } else {
            None
        },
        get_strings: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_strings)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings)
        } else {
            None
        },
        // SAFETY: all-zero (all callbacks `None`, no capabilities) is a valid `ethtool_ops`.
        ..unsafe { core::mem::MaybeUninit::<bindings::ethtool_ops>::zeroed().assume_init() }
    };
}
