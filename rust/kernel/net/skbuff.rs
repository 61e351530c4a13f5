// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`).
//!
//! C headers: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h),
//! [`include/net/sch_generic.h`](srctree/include/net/sch_generic.h)
//!
//! [`SkBuff`] is a borrowed packet (what `ndo_select_queue` and rx handlers see); [`OwnedSkBuff`]
//! is a packet the holder is responsible for. Ownership ends in exactly one of: handing it to
//! another device ([`OwnedSkBuff::xmit_via`]) or freeing it ([`OwnedSkBuff::free`], or drop).
//! Which device a packet belongs to (`skb->dev`) is only changed together with handing it over
//! (here, or [`RxSkb::to_upper`](crate::net::rx_handler::RxSkb::to_upper) on receive), never by
//! a bare setter: the stack trusts `skb->dev` to be a live device for as long as the packet
//! sits in that device's queues.

use crate::{
    bindings,
    net::{device::Device, driver::TxStatus},
    types::Opaque,
};
use core::ptr::{self, NonNull};

/// A packet borrowed from the network stack.
///
/// # Invariants
///
/// A `&SkBuff` points to a valid `sk_buff` that the code holding the reference may read and
/// modify (the stack serialises access to one packet: it is only ever processed by one CPU).
#[repr(transparent)]
pub struct SkBuff(Opaque<bindings::sk_buff>);

impl SkBuff {
    /// Creates a reference from a pointer given by C.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `sk_buff` that the caller may access exclusively for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::sk_buff) -> &'a Self {
        // CAST: `SkBuff` is a transparent wrapper of `sk_buff`.
        // SAFETY: guaranteed by the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    /// Length of the packet data.
    #[inline]
    pub fn len(&self) -> u32 {
        // SAFETY: valid skb (type invariant).
        unsafe { (*self.as_raw()).len }
    }

    /// Whether the packet carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `skb->dev` is `dev`.
    #[inline]
    pub fn dev_is(&self, dev: &Device) -> bool {
        // SAFETY: valid skb; `dev` is the active member of its union while the skb is ours.
        let d = unsafe { dev_field(self.as_raw()).read() };
        core::ptr::eq(d, dev.as_raw())
    }

    /// Whether the packet was addressed to this host's own link-layer address
    /// (`skb->pkt_type == PACKET_HOST`): not a broadcast, a multicast, another host's frame or
    /// an outgoing one. Set on receive by `eth_type_trans()`, before any rx handler runs.
    #[inline]
    pub fn is_for_host(&self) -> bool {
        // CAST: `pkt_type` is a bitfield of the anonymous struct that starts the `headers`
        // group's union (bindgen's `__bindgen_anon_4`), as every union member does; the pointer
        // is derived from the skb's, not from bindgen's zero-sized field marker.
        // SAFETY: valid skb (invariant): taking the union's address reads nothing.
        let hdr = unsafe { ptr::addr_of!((*self.as_raw()).__bindgen_anon_4) }
            .cast::<bindings::sk_buff__bindgen_ty_4__bindgen_ty_1>();
        // SAFETY: `hdr` points into the valid skb, whose fields nothing writes while we hold it
        // (invariant); the raw getter reads the bitfield's byte without making a reference.
        let t = unsafe { bindings::sk_buff__bindgen_ty_4__bindgen_ty_1::pkt_type_raw(hdr) };
        u32::from(t) == bindings::PACKET_HOST
    }

    /// Transmit queue index (`skb->queue_mapping`).
    #[inline]
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: valid skb.
        unsafe { (*self.as_raw()).queue_mapping }
    }

    /// Sets the transmit queue index (`skb->queue_mapping`).
    #[inline]
    pub fn set_queue_mapping(&self, q: u16) {
        // SAFETY: valid skb that we may modify.
        unsafe { (*self.as_raw()).queue_mapping = q };
    }

    /// The rx queue the packet was received on, if recorded (`skb_get_rx_queue()`).
    ///
    /// Read here, as the inline C does: `queue_mapping` holds the rx queue plus one, 0 when none
    /// was recorded.
    #[inline]
    pub fn rx_queue(&self) -> Option<u16> {
        self.queue_mapping().checked_sub(1)
    }

    /// `qdisc_skb_cb(skb)->slave_dev_queue_mapping`: where upper devices (bonding, team,
    /// failover) save the queue mapping chosen for the lower device across their own queueing.
    ///
    /// Context: only meaningful in the tx path, where `skb->cb` holds the qdisc control block.
    #[inline]
    pub fn slave_queue_mapping(&self) -> u16 {
        // SAFETY: valid skb, whose cb area holds a `qdisc_skb_cb` (see `qdisc_cb`).
        unsafe {
            ptr::addr_of!(
                (*qdisc_cb(self.as_raw()))
                    .__bindgen_anon_1
                    .slave_dev_queue_mapping
            )
            .read()
        }
    }

    /// Sets `qdisc_skb_cb(skb)->slave_dev_queue_mapping`; see [`SkBuff::slave_queue_mapping`].
    #[inline]
    pub fn set_slave_queue_mapping(&self, q: u16) {
        // SAFETY: valid skb that we may modify (see `qdisc_cb`).
        unsafe {
            ptr::addr_of_mut!(
                (*qdisc_cb(self.as_raw()))
                    .__bindgen_anon_1
                    .slave_dev_queue_mapping
            )
            .write(q)
        }
    }
}

/// `&skb->dev`, inside bindgen's anonymous unions: the datapath reads and writes it directly
/// instead of calling a C helper per packet.
///
/// # Safety
///
/// `skb` must be valid.
#[inline]
pub(crate) unsafe fn dev_field(skb: *mut bindings::sk_buff) -> *mut *mut bindings::net_device {
    // SAFETY: `skb` is valid (caller); taking a field's address reads nothing.
    unsafe {
        ptr::addr_of_mut!(
            (*skb)
                .__bindgen_anon_1
                .__bindgen_anon_1
                .__bindgen_anon_1
                .dev
        )
    }
}

/// `qdisc_skb_cb(skb)`: the qdisc layer's view of `skb->cb`.
///
/// # Safety
///
/// `skb` must be valid. The result is aligned: `cb` is `__aligned(8)` in C.
#[inline]
unsafe fn qdisc_cb(skb: *mut bindings::sk_buff) -> *mut bindings::qdisc_skb_cb {
    // The C code's `BUILD_BUG_ON()` in `qdisc_cb_private_validate()`, more or less.
    const _: () = assert!(
        core::mem::size_of::<bindings::qdisc_skb_cb>()
            <= core::mem::size_of::<[core::ffi::c_char; 48]>()
    );
    // CAST: the cb area holds a `qdisc_skb_cb` in the tx path (`qdisc_skb_cb()`).
    // SAFETY: `skb` is valid (caller); taking a field's address reads nothing.
    unsafe { ptr::addr_of_mut!((*skb).cb) }.cast()
}

/// A packet owned by the holder.
///
/// Dropping it frees the packet (`dev_kfree_skb_any()`, counted as a drop); to pass it on use
/// [`OwnedSkBuff::xmit_via`].
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` of which this value owns one reference (of `skb->users`), and
/// whose fields the holder may change: whoever else holds a reference does not use the packet
/// until it frees it (pktgen keeps one on the packets it sends, and would hand a packet again
/// after a status other than `NETDEV_TX_OK`, which the transmit adapter therefore reports for
/// every packet handed over shared; the devices of [`crate::net::driver::Operations`] lack
/// `IFF_TX_SKB_SHARING`, so it never hands one packet several times at once), and an rx
/// handler's packet was made unshared first (`skb_share_check()`, in the adapter). The methods change only what the stack lets a
/// transmit path change (`skb->dev`, the queue mapping, the control block), never the data:
/// an API that writes the data would need `skb_unshare()` first.
#[must_use = "a packet must be transmitted or freed"]
pub struct OwnedSkBuff(NonNull<bindings::sk_buff>);

// SAFETY: an owned packet may be processed and freed on any CPU.
unsafe impl Send for OwnedSkBuff {}

impl OwnedSkBuff {
    /// Takes ownership of a packet given by C.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid `sk_buff` one reference of which is transferred to the returned
    /// value, under the conditions of the type invariant.
    #[inline]
    pub unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Self {
        // SAFETY: non-null as a valid pointer (caller's guarantee).
        Self(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Hands the packet to `dev` for transmission: `skb->dev = dev`, then `dev_queue_xmit()`.
    ///
    /// Returns what `dev_queue_xmit()` returned (`NET_XMIT_SUCCESS`, `NET_XMIT_DROP`,
    /// `NET_XMIT_CN` or a negative errno), for a stacked device's `ndo_start_xmit` to pass on
    /// as C drivers do; the packet is consumed either way.
    ///
    /// A [`Device`] is registered, so its queues have a qdisc (`noop_qdisc` once it is
    /// unregistered, which drops); the core keeps it alive while packets sit in its queues.
    ///
    /// Context: any context where `dev_queue_xmit()` may be called: not hard IRQ, interrupts
    /// enabled (netpoll, which transmits with interrupts off, is refused by the devices of
    /// [`crate::net::driver::Operations`]).
    #[inline]
    pub fn xmit_via(self, dev: &Device) -> TxStatus {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: we own the skb and hand it over, after pointing it at a registered device
        // (type invariant of `Device`); `from_xmit` gets what `__dev_queue_xmit()` returned.
        // `dev_queue_xmit()` is this inline wrapper. Its status goes back unchanged (a tail
        // call in the compiled code), as `TxStatus::from_xmit` allows.
        unsafe {
            dev_field(p).write(dev.as_raw());
            TxStatus::from_xmit(bindings::__dev_queue_xmit(p, ptr::null_mut()))
        }
    }

    /// Frees the packet (`dev_kfree_skb_any()`).
    pub fn free(self) {}
}

impl core::ops::Deref for OwnedSkBuff {
    type Target = SkBuff;
    #[inline]
    fn deref(&self) -> &SkBuff {
        // SAFETY: we own a valid skb.
        unsafe { SkBuff::from_raw(self.0.as_ptr()) }
    }
}

impl Drop for OwnedSkBuff {
    fn drop(&mut self) {
        // SAFETY: we own the skb; `dev_kfree_skb_any` works in any context.
        unsafe { bindings::dev_kfree_skb_any(self.0.as_ptr()) };
    }
}
