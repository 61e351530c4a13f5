// SPDX-License-Identifier: GPL-2.0

//! Interface statistics (`struct rtnl_link_stats64`).
//!
//! C header: [`include/uapi/linux/if_link.h`](srctree/include/uapi/linux/if_link.h)

use crate::bindings;

macro_rules! stats_fields {
    ($($idx:literal $name:ident,)*) => {
        /// Number of counters in [`Stats64`].
        pub const NFIELDS: usize = [$($idx),*].len();

        /// Names of the counters in declaration order (the order of [`Stats64::to_array`]).
        pub const FIELD_NAMES: [&str; NFIELDS] = [$(stringify!($name)),*];

        impl Stats64 {
            /// All counters, in declaration order of the C struct (see [`FIELD_NAMES`]).
            pub fn to_array(&self) -> [u64; NFIELDS] {
                [$(self.0.$name),*]
            }

            /// Sets all counters from an array in declaration order.
            pub fn set_from_array(&mut self, a: &[u64; NFIELDS]) {
                $(self.0.$name = a[$idx];)*
            }
        }
    };
}

/// Interface statistics, as filled in by `ndo_get_stats64` and read by `dev_get_stats()`.
///
/// A plain value: no context restrictions.
///
/// # Examples
///
/// ```
/// use kernel::net::stats::{Stats64, FIELD_NAMES, NFIELDS};
///
/// let mut s = Stats64::default();
/// let mut a = [0u64; NFIELDS];
/// a[7] = 3;
/// s.set_from_array(&a);
/// assert_eq!(FIELD_NAMES[7], "tx_dropped");
/// assert_eq!(s.tx_dropped(), 3);
/// assert_eq!(s.to_array(), a);
/// assert_eq!(NFIELDS, 25);
/// ```
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct Stats64(bindings::rtnl_link_stats64);

stats_fields! {
    0 rx_packets,
    1 tx_packets,
    2 rx_bytes,
    3 tx_bytes,
    4 rx_errors,
    5 tx_errors,
    6 rx_dropped,
    7 tx_dropped,
    8 multicast,
    9 collisions,
    10 rx_length_errors,
    11 rx_over_errors,
    12 rx_crc_errors,
    13 rx_frame_errors,
    14 rx_fifo_errors,
    15 rx_missed_errors,
    16 tx_aborted_errors,
    17 tx_carrier_errors,
    18 tx_fifo_errors,
    19 tx_heartbeat_errors,
    20 tx_window_errors,
    21 rx_compressed,
    22 tx_compressed,
    23 rx_nohandler,
    24 rx_otherhost_dropped,
}

// The struct is exactly these counters: nothing is silently left out of the array view.
const _: () = assert!(
    core::mem::size_of::<bindings::rtnl_link_stats64>() == NFIELDS * core::mem::size_of::<u64>()
);

impl Default for Stats64 {
    fn default() -> Self {
        // SAFETY: all-zero is a valid `rtnl_link_stats64` (only integers).
        Self(unsafe { core::mem::zeroed() })
    }
}

impl Stats64 {
    /// Creates a reference from a pointer given by C.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed otherwise, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::rtnl_link_stats64) -> &'a mut Self {
        // CAST: `Stats64` is a transparent wrapper of `rtnl_link_stats64`.
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    /// The raw pointer, for C functions filling the struct.
    pub fn as_raw_mut(&mut self) -> *mut bindings::rtnl_link_stats64 {
        &mut self.0
    }

    /// Packets dropped on transmit.
    pub fn tx_dropped(&self) -> u64 {
        self.0.tx_dropped
    }

    /// Packets received.
    pub fn rx_packets(&self) -> u64 {
        self.0.rx_packets
    }

    /// Packets transmitted.
    pub fn tx_packets(&self) -> u64 {
        self.0.tx_packets
    }
}
