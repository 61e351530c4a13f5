// SPDX-License-Identifier: GPL-2.0

//! Failover master for paravirtual drivers (the "3-netdev model"), in Rust.
//!
//! C version: `drivers/net/net_failover.c` with `net/core/failover.c`.
//!
//! `virtio_net` calls [`net_failover_create`] with its netdev (the *standby*) before registering
//! it. We create a master netdev with the standby's MAC, parented to the same virtio device, and
//! watch every netdev that appears: the one sharing the master's parent becomes the standby, a
//! PCI device with the same permanent MAC (a passthrough VF) becomes the *primary*. Transmit
//! prefers the primary and falls back to the standby, so traffic survives the VF being unplugged
//! for live migration. The decisions themselves live in [`policy`], shared with host tests.

use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    c_str,
    device::Device as BusDevice,
    error::code::{EBUSY, EEXIST, EINVAL},
    fmt,
    net::{
        device::{
            flags, AddrLocked, Allocated, BindHandler, DevRef, Device, DeviceSlot, Features,
            PciBindNotifier, PrivFlags, ProbingSet, RateLimit, RcuReader,
        },
        device::{ETH_ALEN, ETH_HLEN, ETH_MAX_MTU, ETH_MIN_MTU},
        driver::{
            self,
            link::{ExtAck, LinkOperations, LinkRegistration},
            Builder, NetDev, Operations, Registration, Setup, SlaveInfo, SysfsAttrDesc, TxContext,
            TxStatus,
        },
        ethtool::{DrvInfo, LinkKsettings},
        failover::{NetFailover, Params},
        lower::LowerLink,
        notifier::{self, Event},
        rtnl::{self, Rtnl, RtnlAtomic, RtnlLocked},
        rx_handler::{RxAction, RxHandler, RxSkb},
        skbuff::{OwnedSkBuff, SkBuff},
        stats::Stats64,
    },
    netdev_err, netdev_info, netdev_warn, pr_err,
    prelude::*,
    str::CString,
    sync::{new_spinlock, rcu, SpinLock},
    time::Ktime,
    types::ARef,
};

#[path = "net_failover_policy.rs"]
mod policy;

use policy::{Counters, MtuRange, Refusal, Role, SlaveState, StandbyFrame, TxPath};

module! {
    type: NetFailoverModule,
    name: "net_failover",
    author: "Rust for Linux net_failover contributors",
    description: "Failover driver for Paravirtual drivers (Rust)",
    license: "GPL v2",
}

kernel::net_failover_entry_points!(Failover);

const DRV_NAME: &str = "net_failover";
const DRV_VERSION: &str = "0.1";

/// Features the master can offer to VLANs stacked on it, if both lower devices can.
fn vlan_features_mask() -> Features {
    Features::HW_CSUM
        | Features::SG
        | Features::FRAGLIST
        | Features::ALL_TSO
        | Features::HIGHDMA
        | Features::LRO
}

/// Features the master can offer for encapsulated traffic, if both lower devices can.
fn enc_features_mask() -> Features {
    Features::HW_CSUM | Features::SG | Features::RXCSUM | Features::ALL_TSO
}

fn mtu_range_of(d: &Device) -> MtuRange {
    MtuRange {
        min: d.min_mtu(),
        max: d.max_mtu(),
    }
}

/// An Ethernet address, printed as `xx:xx:xx:xx:xx:xx`.
struct Mac([u8; ETH_ALEN]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let a = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            a[0], a[1], a[2], a[3], a[4], a[5]
        )
    }
}

/// RTNL-protected bookkeeping of one lower device.
struct LowerCtl {
    /// The link below the master (rx handler, upper link, failover flags).
    link: LowerLink<Master>,
    /// The device's first `dev_open()` returned `EBUSY`; retry on rename or up.
    reopen: bool,
    /// Explicit pairing: the device's own address, which it gets back when it is released by
    /// hand or with its master; `None` if the master did not change it.
    orig_mac: Option<[u8; ETH_ALEN]>,
}

/// RTNL-protected state of a master.
#[derive(Default)]
struct Control {
    /// Per role (`Role::index()`).
    lowers: [Option<LowerCtl>; 2],
    /// Last logged transmit path, `None` while the master is down.
    path: Option<TxPath>,
    /// `CLOCK_MONOTONIC` time in ns at which the held primary may take over; `None` when no
    /// primary is held.
    hold_until_ns: Option<i64>,
    /// The primary's takeover delay ended while it was still [`PROBING`]: it takes over at the
    /// end of the probe.
    takeover_after_probe: bool,
}

/// Counters of the master: running totals and each lower device's last snapshot.
#[derive(Default)]
struct StatsState {
    total: Counters,
    /// What the lower devices in each role carried under this master, per role
    /// (`Role::index()`), for `ethtool -S`.
    per_role: [Counters; 2],
    /// Per role (`Role::index()`).
    last: [Counters; 2],
}

impl StatsState {
    /// Folds the current counters of `dev`, the lower device in `role`, into the totals.
    fn fold(&mut self, role: Role, dev: &Device) {
        let i = role.index();
        policy::fold(
            &mut self.total,
            &mut self.per_role[i],
            &mut self.last[i],
            &Counters(dev.stats().to_array()),
        );
    }
}

/// Private data of a failover master.
#[pin_data]
struct Master {
    /// The lower devices, per role (`Role::index()`: primary, standby), for RCU readers (tx,
    /// rx) and RTNL writers.
    lowers: [DeviceSlot; 2],
    /// Per role (`Role::index()`), what keeps the datapath off the lower device: [`LEAVING`],
    /// [`UNBINDING`], [`HELD`], [`PROBING`]. Written under RTNL, and mirrored, together with
    /// whether the device is up, in the slots' enabled pointers ([`Master::sync_enabled`]): the
    /// transmit fast path reads the primary's enabled pointer and not this byte; the slow path
    /// and the policy read the byte and the device's state.
    block: [AtomicU8; 2],
    /// Takeover delay of this master in ms (see [`HELD`]).
    takeover_delay_ms: AtomicU32,
    /// `destroy` detached the master: no more carrier, queue or peer changes on it.
    dying: AtomicBool,
    /// Created by `virtio_net` (automatic pairing by permanent MAC), not with
    /// `ip link add ... type net_failover` (explicit pairing by hand).
    auto: bool,
    /// Statistics; `get_stats64` may run concurrently from any context.
    #[pin]
    stats: SpinLock<StatsState>,
    /// Lower-device bookkeeping.
    ctl: RtnlLocked<Control>,
    /// MTU range the master was created with (the standby's).
    base_mtu: MtuRange,
    /// Control-path event counters for `ethtool -S`, see [`EVENT_STATS`].
    events: [AtomicU64; EVENT_STATS],
    /// `CLOCK_MONOTONIC` time in ns of the last change of the recorded tx path, the first path
    /// after the master opens included (of the creation before the first).
    last_switch_ns: AtomicI64,
    /// Until when (`CLOCK_MONOTONIC` ns) unicast frames for us that arrive on the standby while
    /// the primary carries tx still go up (`policy::standby_rx_grace_until`, from the same
    /// instant as `last_switch_ns`; `i64::MAX` while the recorded path is not the primary, none
    /// yet included). Written with the recorded path under RTNL, read by the rx handler.
    standby_rx_until_ns: AtomicI64,
    /// Path-switch log lines: a lower device flapping must not flood the log.
    #[pin]
    switch_log: RateLimit,
    /// Peer notifications after a path switch: nor the wire.
    #[pin]
    switch_notify: RateLimit,
}

/// [`Master::block`]: the lower device announced `NETDEV_GOING_DOWN`: stop sending through it
/// right away.
const LEAVING: u8 = 1 << 0;
/// [`Master::block`]: the lower device's PCI parent is being unbound from its driver, whose
/// `remove()` may drop what it is given before the netdev is unregistered (e1000e does), or
/// the primary's driver failed the probe it was enslaved from ([`PROBING`]): stop sending
/// through it. Cleared only when the device is released or enslaved.
const UNBINDING: u8 = 1 << 1;
/// [`Master::block`], primary only: a new primary inside its takeover delay. It is enslaved and
/// open, but carries traffic only if the standby cannot (`SlaveState::held`).
const HELD: u8 = 1 << 2;
/// [`Master::block`], primary only: the primary was enslaved from its driver's `probe()`
/// (`register_netdev()` sends `NETDEV_REGISTER`), which has not returned yet: the device may
/// still change its carrier and queues (`igbvf_probe()` registers with the carrier on and turns
/// it off afterwards, and a packet queued in between is lost). Cleared when the driver core
/// says the probe succeeded ([`BindHandler::bound`]), replaced by [`UNBINDING`] when it says
/// it failed ([`BindHandler::probe_failed`]), and cleared with the rest at release.
const PROBING: u8 = 1 << 3;
/// `IFLA_INFO_SLAVE_DATA` attributes of a lower device (not in `if_link.h`: unstable until
/// upstreamed), all `u8`: its role (0 primary, 1 standby), whether it carries tx now, whether
/// it is a primary held in its takeover delay.
const IFLA_NET_FAILOVER_SLAVE_ROLE: u16 = 1;
const IFLA_NET_FAILOVER_SLAVE_ACTIVE: u16 = 2;
const IFLA_NET_FAILOVER_SLAVE_HELD: u16 = 3;

/// Largest takeover delay accepted, in ms.
const TAKEOVER_DELAY_MAX_MS: u32 = 60_000;

/// Path switches logged, and peers notified of, per [`SWITCH_WINDOW_MS`] at most.
const SWITCH_BURST: u32 = 10;
const SWITCH_WINDOW_MS: u32 = 5000;

/// Counters in [`Master::events`], in `ETHTOOL_STATS` order after the three live values.
const EVENT_STATS: usize = 4;
const EV_PATH_SWITCHES: usize = 0;
const EV_LINKED: usize = 1;
const EV_RELEASED: usize = 2;
const EV_REFUSED: usize = 3;

impl Master {
    /// The data of a master whose MTU range is `base_mtu` without lower devices.
    fn new(base_mtu: MtuRange, params: &Params, auto: bool) -> impl PinInit<Self, Error> {
        let delay = params.takeover_delay_ms.min(TAKEOVER_DELAY_MAX_MS);
        try_pin_init!(Self {
            lowers: [DeviceSlot::new(), DeviceSlot::new()],
            block: [const { AtomicU8::new(0) }; 2],
            takeover_delay_ms: AtomicU32::new(delay),
            dying: AtomicBool::new(false),
            auto,
            stats <- new_spinlock!(StatsState::default(), "net_failover::stats"),
            ctl: RtnlLocked::new(Control::default()),
            base_mtu,
            events: [const { AtomicU64::new(0) }; EVENT_STATS],
            last_switch_ns: AtomicI64::new(Ktime::ktime_get().to_ns()),
            standby_rx_until_ns: AtomicI64::new(i64::MAX),
            switch_log <- RateLimit::new(
                c_str!("net_failover path switch log"),
                SWITCH_WINDOW_MS,
                SWITCH_BURST,
            ),
            switch_notify <- RateLimit::new(
                c_str!("net_failover peer notify"),
                SWITCH_WINDOW_MS,
                SWITCH_BURST,
            ),
        }? Error)
    }

    /// Folds the lower devices' current counters into the totals; returns the master's total and
    /// the per-role totals. Any context.
    fn fold_stats(&self) -> (Counters, [Counters; 2]) {
        let mut st = self.stats.lock();
        let rcu = rcu::read_lock();
        for role in Role::ALL {
            if let Some(d) = self.slot(role).get(&rcu) {
                st.fold(role, d);
            }
        }
        (st.total, st.per_role)
    }

    fn count(&self, ev: usize) {
        self.events[ev].fetch_add(1, Ordering::Relaxed);
    }

    /// Sends a `KOBJ_CHANGE` uevent on the master for udev rules (the admin guide lists the
    /// variables): `FAILOVER_EVENT=event`, `FAILOVER_ROLE` and `FAILOVER_LOWER` for the lower
    /// device concerned, and `FAILOVER_TX` for a transmit path change. A failure costs the
    /// listeners that one event; it is logged, nothing else depends on it.
    fn uevent(
        &self,
        master: &NetDev<Master>,
        event: &str,
        lower: Option<(Role, &Device)>,
        tx: Option<TxPath>,
        rtnl: &Rtnl,
    ) {
        let build = || -> Result<KVec<CString>> {
            let mut env = KVec::with_capacity(4, GFP_KERNEL)?;
            let mut add = |var: core::fmt::Arguments<'_>| -> Result {
                env.push(CString::try_from_fmt(var)?, GFP_KERNEL)?;
                Ok(())
            };
            add(fmt!("FAILOVER_EVENT={event}"))?;
            if let Some(tx) = tx {
                add(fmt!("FAILOVER_TX={}", tx.name()))?;
            }
            if let Some((role, dev)) = lower {
                add(fmt!("FAILOVER_ROLE={}", role.name()))?;
                add(fmt!("FAILOVER_LOWER={}", dev.name(rtnl)))?;
            }
            Ok(env)
        };
        let res = build().and_then(|env| {
            let mut refs = KVec::<&CStr>::with_capacity(env.len(), GFP_KERNEL)?;
            for e in env.iter() {
                refs.push(e, GFP_KERNEL)?;
            }
            master.uevent_change(&refs, rtnl)
        });
        if let Err(e) = res {
            netdev_warn!(master, "uevent {} not sent: error {}", event, e.to_errno());
        }
    }

    fn slot(&self, role: Role) -> &DeviceSlot {
        &self.lowers[role.index()]
    }

    /// Whether the primary is held in its takeover delay ([`HELD`]). Any context.
    fn primary_held(&self) -> bool {
        self.block[Role::Primary.index()].load(Ordering::Relaxed) & HELD != 0
    }

    /// Sets (`on`) or clears `bits` in the role's [`Master::block`]. RTNL held.
    fn set_block(&self, role: Role, bits: u8, on: bool, rtnl: &Rtnl) {
        let b = &self.block[role.index()];
        if on {
            b.fetch_or(bits, Ordering::Relaxed);
        } else {
            b.fetch_and(!bits, Ordering::Relaxed);
        }
        self.sync_enabled(role, rtnl);
    }

    /// Publishes the role's lower device as enabled for the transmit fast path
    /// ([`DeviceSlot::get_enabled_with_carrier`]) if it is up and nothing in [`Master::block`]
    /// keeps the datapath off it, as seen now. RTNL held; called after every change of the
    /// block bits or the slot, so also at the device's `NETDEV_GOING_DOWN` (which sets
    /// [`LEAVING`] before the core clears `__LINK_STATE_START`), `NETDEV_DOWN` and `NETDEV_UP`
    /// (after `dev_open()` set `IFF_UP`): the snapshot changes with those events. A stale
    /// "disabled" only sends the fast path to the slow one, which re-checks everything.
    fn sync_enabled(&self, role: Role, rtnl: &Rtnl) {
        let free = self.block[role.index()].load(Ordering::Relaxed)
            & (LEAVING | UNBINDING | HELD | PROBING)
            == 0;
        let up = self
            .slot(role)
            .get_rtnl(rtnl)
            .is_some_and(|d| d.is_running() && d.flags() & flags::UP != 0);
        self.slot(role).set_enabled(free && up, rtnl);
    }

    /// Role of `dev` if it is one of our lower devices.
    fn role_of(&self, dev: &Device, rtnl: &Rtnl) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|&r| self.slot(r).holds(dev, rtnl))
    }

    fn state_of(&self, dev: Option<&Device>, role: Role) -> SlaveState {
        match dev {
            None => SlaveState::default(),
            Some(d) => {
                let block = self.block[role.index()].load(Ordering::Relaxed);
                SlaveState {
                    present: true,
                    running: d.is_running() && block & (LEAVING | UNBINDING | PROBING) == 0,
                    // Carrier alone is not enough: between `netif_carrier_on()` and the link
                    // watcher's `dev_activate()` the device's queues still drop everything in
                    // `noop_qdisc` (the C driver loses those packets when a VF comes back).
                    carrier: d.carrier_ok() && d.tx_qdisc_active(),
                    held: block & HELD != 0,
                }
            }
        }
    }

    /// The primary if it can carry a packet now and is not held back: the same as
    /// `state_of(primary, Role::Primary)` being `ready()` and not `held`, decided with early
    /// exits for the transmit fast path (the enabled slot stands for the blocking byte and the
    /// device being up, see [`Master::sync_enabled`]; then the carrier and the qdisc).
    ///
    /// A reader that loaded the primary just before its `NETDEV_GOING_DOWN` may still hand it
    /// a packet while it closes, as the C driver's `netif_running()` test may.
    #[inline]
    fn primary_usable_now<'a, R: RcuReader>(&'a self, rcu: &'a R) -> Option<&'a Device> {
        self.slot(Role::Primary)
            .get_enabled_with_carrier(rcu)
            .filter(|p| p.tx_qdisc_active())
    }

    /// Lower-device states as the datapath sees them now (RTNL side).
    fn states(&self, rtnl: &Rtnl) -> (SlaveState, SlaveState) {
        let st = |r: Role| self.state_of(self.slot(r).get_rtnl(rtnl).as_deref(), r);
        (st(Role::Primary), st(Role::Standby))
    }

    /// Recomputes carrier and queue state after a lower-device or master change, logging a
    /// new transmit path and telling LAG listeners about the lower devices' state (`notify`).
    fn update_link(&self, master: &NetDev<Master>, notify: bool, rtnl: &Rtnl) {
        if self.dying.load(Ordering::Relaxed) {
            return;
        }
        let (p, s) = self.states(rtnl);
        if notify {
            // A lower device is enabled for tx when it is running; the standby only while no
            // primary is running (the C driver's notion), or while the primary is held. Both
            // are reported, as a primary coming or going changes the standby's state too.
            let p_tx = p.running && !(p.held && s.ready());
            if let Some(ctl) = self.ctl.try_borrow(rtnl) {
                for role in Role::ALL {
                    if let Some(c) = &ctl.lowers[role.index()] {
                        let tx = match role {
                            Role::Primary => p_tx,
                            Role::Standby => s.running && !p_tx,
                        };
                        c.link.state_changed(c.link.device().carrier_ok(), tx, rtnl);
                    }
                }
            }
        }
        if !master.is_running() {
            return;
        }
        if policy::master_carrier(p, s) {
            master.carrier_on();
            master.tx_wake_all_queues();
        } else {
            master.carrier_off();
            master.tx_stop_all_queues();
        }
        let path = policy::tx_path(p, s);
        let mut ctl = match self.ctl.try_borrow_mut(rtnl) {
            Some(c) => c,
            None => return,
        };
        if ctl.path == Some(path) {
            return;
        }
        let switched = ctl.path.is_some();
        ctl.path = Some(path);
        drop(ctl);
        let now = Ktime::ktime_get().to_ns();
        if switched {
            self.count(EV_PATH_SWITCHES);
        }
        self.last_switch_ns.store(now, Ordering::Relaxed);
        self.standby_rx_until_ns
            .store(policy::standby_rx_grace_until(path, now), Ordering::Relaxed);
        let via = match path {
            TxPath::Primary => Some(Role::Primary),
            TxPath::Standby => Some(Role::Standby),
            TxPath::Drop => None,
        };
        // Hooks hear of every change, as the log does (not of a master opened before its lower
        // devices are ready).
        if via.is_some() || switched {
            let lower = via.and_then(|r| self.slot(r).get_rtnl(rtnl).map(|d| (r, d)));
            self.uevent(
                master,
                "tx_path",
                lower.as_ref().map(|(r, d)| (*r, &**d)),
                Some(path),
                rtnl,
            );
        }
        // Both are rate-limited: a flapping lower device would otherwise flood the log and the
        // wire. A notification skipped that way costs little: the hypervisor's switch relearns
        // the MAC from the next frame the master sends anyway.
        let log = self.switch_log.allow();
        match via {
            Some(role) => {
                if log {
                    if let Some(d) = self.slot(role).get_rtnl(rtnl) {
                        netdev_info!(master, "tx via {} ({})", d.name(rtnl), role.name());
                    }
                }
                // The frames now leave through another port of the hypervisor's switch:
                // announce the addresses from there so that replies stop going to the old port.
                if self.switch_notify.allow() {
                    master.notify_peers(rtnl);
                }
            }
            // Only a path that stops is news: a master opened before its lower devices are
            // ready (the usual bring-up) says nothing until one is.
            None if log && switched => netdev_info!(master, "tx dropped: no lower device ready"),
            None => {}
        }
    }

    /// Recomputes the features, header length and dst-release flag from the lower devices.
    fn compute_features(&self, master: &NetDev<Master>, rtnl: &Rtnl) {
        let vmask = vlan_features_mask();
        let emask = enc_features_mask();
        let mut vlan = vmask & Features::ALL_FOR_ALL;
        let mut enc = emask;
        let mut hard_header_len = ETH_HLEN;
        let mut dst_release = true;
        for lower in Role::ALL
            .into_iter()
            .filter_map(|r| self.slot(r).get_rtnl(rtnl))
        {
            vlan = Features::increment(vlan, lower.vlan_features(), vmask);
            enc = Features::increment(enc, lower.hw_enc_features(), emask);
            dst_release &= lower
                .priv_flags()
                .contains(PrivFlags::XMIT_DST_RELEASE | PrivFlags::XMIT_DST_RELEASE_PERM);
            hard_header_len = hard_header_len.max(lower.hard_header_len());
        }
        master.update_stacking(
            vlan,
            enc | Features::GSO_ENCAP_ALL,
            hard_header_len,
            dst_release,
            rtnl,
        );
    }

    /// Sets the master's MTU range from the lower devices.
    fn update_mtu_range(&self, master: &NetDev<Master>, rtnl: &Rtnl) {
        let range = |r: Role| self.slot(r).get_rtnl(rtnl).map(|d| mtu_range_of(&d));
        let r = policy::mtu_range(range(Role::Primary), range(Role::Standby), self.base_mtu);
        master.set_mtu_range(r.min, r.max, rtnl);
    }

    /// Links `dev`, whose permanent MAC is the master's, below the master, if it qualifies.
    fn enslave(&self, master: &NetDev<Master>, dev: &Device, rtnl: &Rtnl) {
        match policy::classify(&self.candidate(master, dev, rtnl)) {
            Ok(role) => {
                // A failure is logged and counted.
                let _ = self.admit(master, dev, role, None, rtnl);
            }
            Err(refusal) => self.refuse(master, dev, refusal, rtnl),
        }
    }

    /// The facts about `dev` the pairing policy decides on.
    fn candidate(&self, master: &NetDev<Master>, dev: &Device, rtnl: &Rtnl) -> policy::Candidate {
        policy::Candidate {
            is_ethernet: dev.is_ethernet(),
            is_master: dev.is_upper_kind(),
            same_parent_as_master: dev.same_parent(master),
            parent_is_pci: dev.parent_is_pci(rtnl),
            standby_present: self.slot(Role::Standby).is_occupied(rtnl),
            primary_present: self.slot(Role::Primary).is_occupied(rtnl),
            vlan_challenged: dev.is_vlan_challenged(),
            master_has_vlans: master.uses_vlans(rtnl),
        }
    }

    /// Logs and counts the refusal of `dev`.
    fn refuse(&self, master: &NetDev<Master>, dev: &Device, refusal: Refusal, rtnl: &Rtnl) {
        self.count(EV_REFUSED);
        netdev_err!(
            master,
            "refusing to enslave {} to {}: it {}",
            dev.name(rtnl),
            master.name(rtnl),
            refusal.reason()
        );
    }

    /// Enslaves `dev` in `role` if its MTU range allows; logs and counts a failure.
    /// `orig_mac`: the device's own address if the master changed it (explicit pairing).
    fn admit(
        &self,
        master: &NetDev<Master>,
        dev: &Device,
        role: Role,
        orig_mac: Option<[u8; ETH_ALEN]>,
        rtnl: &Rtnl,
    ) -> Result {
        // The lower device takes the master's MTU. The master starts at the standby's MTU
        // (host_mtu); a primary whose maximum is below it (a VF limited to 1500 behind a
        // 9000-byte virtio network, say) lowers the master to that maximum, with a warning:
        // refusing it would leave the guest without its fast path until the VF is re-plugged.
        // A device that cannot go as low as the master's MTU is refused.
        let range = mtu_range_of(dev);
        let mtu = master.mtu();
        if !policy::mtu_ok(mtu, range) {
            let lowered = role == Role::Primary
                && range.max != 0
                && range.max < mtu
                && policy::mtu_ok(range.max, mtu_range_of(master))
                && master.set_mtu(range.max, rtnl).is_ok();
            if lowered {
                netdev_warn!(
                    master,
                    "MTU lowered from {} to {}, the maximum of the primary {}",
                    mtu,
                    range.max,
                    dev.name(rtnl)
                );
            } else {
                self.count(EV_REFUSED);
                netdev_err!(
                    master,
                    "refusing to enslave {} as {}: the master's MTU {} is outside its range {}..{}",
                    dev.name(rtnl),
                    role.name(),
                    mtu,
                    range.min,
                    range.max
                );
                return Err(EINVAL);
            }
        }
        self.try_enslave(master, dev, role, orig_mac, rtnl)
            .inspect_err(|e| {
                self.count(EV_REFUSED);
                netdev_err!(
                    master,
                    "failed to enslave {} as {}: error {}",
                    dev.name(rtnl),
                    role.name(),
                    e.to_errno()
                );
            })
    }

    /// Explicit pairing: `ip link set DEV master M`. The master carries the standby's address
    /// (the primary's while it has no standby), and the primary takes the master's.
    fn add_lower(
        &self,
        master: &NetDev<Master>,
        dev: &Device,
        extack: &mut ExtAck<'_>,
        rtnl: &Rtnl,
    ) -> Result {
        if self.role_of(dev, rtnl).is_some() {
            extack.set_message(c_str!(
                "net_failover: already a lower device of this master"
            ));
            return Err(EEXIST);
        }
        if dev.has_master(rtnl) {
            extack.set_message(c_str!("net_failover: the device already has a master"));
            return Err(EBUSY);
        }
        let role = match policy::classify_explicit(&self.candidate(master, dev, rtnl)) {
            Ok(role) => role,
            Err(refusal) => {
                self.refuse(master, dev, refusal, rtnl);
                let (msg, err) = match refusal {
                    Refusal::NotEthernet => {
                        (c_str!("net_failover: not an Ethernet device"), EINVAL)
                    }
                    Refusal::IsMaster => (
                        c_str!("net_failover: a master cannot be a lower device"),
                        EINVAL,
                    ),
                    Refusal::StandbyTaken => (
                        c_str!("net_failover: the master already has a standby"),
                        EBUSY,
                    ),
                    Refusal::BothTaken => (
                        c_str!("net_failover: the master already has a primary and a standby"),
                        EBUSY,
                    ),
                    Refusal::VlanChallenged => (
                        c_str!("net_failover: VLAN challenged device, the master has VLANs"),
                        EINVAL,
                    ),
                    Refusal::PrimaryNotPci | Refusal::PrimaryTaken => {
                        (c_str!("net_failover: refused, see the kernel log"), EINVAL)
                    }
                };
                extack.set_message(msg);
                return Err(err);
            }
        };
        let mac = dev.dev_addr();
        let has_standby = self.slot(Role::Standby).is_occupied(rtnl);
        // The address the master will have, and the change the primary needs for it: this
        // device (a primary joining a standby), or the present primary (a standby joining).
        let target = match role {
            Role::Primary if has_standby => master.dev_addr(),
            _ => mac,
        };
        let primary = match role {
            Role::Primary => Some(ARef::from(dev)),
            Role::Standby => self.slot(Role::Primary).get_rtnl(rtnl),
        };
        let mut changed = None;
        if let Some(p) = primary.filter(|p| p.dev_addr() != target) {
            let own = p.dev_addr();
            if let Err(e) = p.set_mac_address(&target, rtnl) {
                self.count(EV_REFUSED);
                netdev_err!(
                    master,
                    "refusing to enslave {} as {}: primary {} cannot take address {}: error {}",
                    dev.name(rtnl),
                    role.name(),
                    p.name(rtnl),
                    Mac(target),
                    e.to_errno()
                );
                extack.set_message(c_str!(
                    "net_failover: the primary refused the master's MAC address"
                ));
                return Err(e);
            }
            changed = Some((p, own));
        }
        let own_changed = match (&changed, role) {
            (Some((_, own)), Role::Primary) => Some(*own),
            _ => None,
        };
        if let Err(e) = self.admit(master, dev, role, own_changed, rtnl) {
            if let Some((p, own)) = &changed {
                let _ = p.set_mac_address(own, rtnl);
            }
            extack.set_message(c_str!("net_failover: cannot enslave, see the kernel log"));
            return Err(e);
        }
        if role == Role::Standby {
            if let Some((_, own)) = changed {
                // The present primary's address changed just now: keep its very own one.
                if let Some(mut ctl) = self.ctl.try_borrow_mut(rtnl) {
                    if let Some(c) = ctl.lowers[Role::Primary.index()].as_mut() {
                        c.orig_mac.get_or_insert(own);
                    }
                }
            }
        }
        if master.dev_addr() != target {
            master.set_own_mac(&target, rtnl);
            netdev_info!(
                master,
                "address {} taken from {}",
                Mac(target),
                dev.name(rtnl)
            );
        }
        Ok(())
    }

    fn try_enslave(
        &self,
        master: &NetDev<Master>,
        dev: &Device,
        role: Role,
        orig_mac: Option<[u8; ETH_ALEN]>,
        rtnl: &Rtnl,
    ) -> Result {
        // The policy refuses a taken role before this point; checked again here, before any
        // change to `dev` or to the role's counters and hold, so that the undo paths below
        // never meet an occupied slot (RTNL is held throughout: it stays free until `set`).
        if self.slot(role).is_occupied(rtnl) {
            return Err(EBUSY);
        }
        let link = LowerLink::link(dev, master, rtnl)?;

        // Align the lower device's MTU with the master's.
        let orig_mtu = dev.mtu();
        if let Err(e) = dev.set_mtu(master.mtu(), rtnl) {
            link.unlink(master, rtnl);
            return Err(e);
        }

        let mut reopen = false;
        if master.is_running() {
            match dev.open(rtnl) {
                Ok(()) => {}
                // Someone (e.g. udev renaming it) holds the device busy: retry on
                // NETDEV_CHANGENAME / NETDEV_UP.
                Err(e) if e == EBUSY => reopen = true,
                Err(e) => {
                    let _ = dev.set_mtu(orig_mtu, rtnl);
                    link.unlink(master, rtnl);
                    return Err(e);
                }
            }
        }

        master.lock_addrs().sync_to(dev);
        if let Err(e) = dev.vlan_vids_add_by_dev(master, rtnl) {
            dev.unsync_addrs_from(master);
            dev.close(rtnl);
            let _ = dev.set_mtu(orig_mtu, rtnl);
            link.unlink(master, rtnl);
            return Err(e);
        }
        let mflags = master.flags();
        if mflags & flags::PROMISC != 0 {
            let _ = dev.set_promiscuity(1, rtnl);
        }
        if mflags & flags::ALLMULTI != 0 {
            let _ = dev.set_allmulti(1, rtnl);
        }

        // Count only what the device carries from now on.
        {
            let now = Counters(dev.stats().to_array());
            self.stats.lock().last[role.index()] = now;
        }
        // A new primary next to a standby waits for its takeover delay (set before it is
        // published, so that tx never sees it unheld). Until then the standby carries on.
        let delay = self.takeover_delay_ms.load(Ordering::Relaxed);
        let hold = role == Role::Primary && delay > 0 && self.slot(Role::Standby).is_occupied(rtnl);
        // A primary registered by a probe that is still running waits for its end. Asked last,
        // as a `true` commits the end of the probe to tell `parent_probed()`.
        let probing = role == Role::Primary && IN_PROBE.watch_parent(dev, rtnl);
        let block = if hold { HELD } else { 0 } | if probing { PROBING } else { 0 };
        self.block[role.index()].store(block, Ordering::Relaxed);
        if let Err(e) = self.slot(role).set(dev, rtnl) {
            // Cannot happen: the slot was found free above, under the same RTNL hold.
            dev.vlan_vids_del_by_dev(master, rtnl);
            dev.unsync_addrs_from(master);
            link.unlink(master, rtnl);
            return Err(e);
        }
        self.sync_enabled(role, rtnl);
        if let Some(mut ctl) = self.ctl.try_borrow_mut(rtnl) {
            ctl.lowers[role.index()] = Some(LowerCtl {
                link,
                reopen,
                orig_mac,
            });
            if role == Role::Primary {
                ctl.hold_until_ns =
                    hold.then(|| Ktime::ktime_get().to_ns() + i64::from(delay) * 1_000_000);
            }
        } else {
            // Only a re-entrant call could hold the borrow; none runs under enslave.
            let _ = self.slot(role).take(rtnl);
            dev.vlan_vids_del_by_dev(master, rtnl);
            dev.unsync_addrs_from(master);
            link.unlink(master, rtnl);
            return Err(EBUSY);
        }

        self.update_mtu_range(master, rtnl);
        self.compute_features(master, rtnl);
        self.count(EV_LINKED);
        if hold {
            master.schedule_work(policy::takeover_step_ms(delay));
            netdev_info!(
                master,
                "enslaved {} as {}, takeover in {} ms",
                dev.name(rtnl),
                role.name(),
                delay
            );
        } else {
            netdev_info!(master, "enslaved {} as {}", dev.name(rtnl), role.name());
        }
        if probing {
            netdev_info!(
                master,
                "{} is used once its driver's probe has finished",
                dev.name(rtnl)
            );
        }
        let event = match role {
            Role::Primary => "primary_joined",
            Role::Standby => "standby_joined",
        };
        self.uevent(master, event, Some((role, dev)), None, rtnl);
        self.update_link(master, true, rtnl);
        dev.notify_join(rtnl);
        Ok(())
    }

    /// Releases the lower device in `role`, if any, undoing everything `enslave` did; with
    /// `restore`, also the address change of explicit pairing (not for a device that is
    /// going away).
    ///
    /// The device stops being used first (unpublished: tx and rx no longer see it once the
    /// grace period is over), its counters are folded while they still hold the last interval
    /// (some drivers reset them on close), and only then is it reconfigured and closed.
    fn release(&self, master: &NetDev<Master>, role: Role, restore: bool, rtnl: &Rtnl) {
        let Some(dev) = self.slot(role).take(rtnl) else {
            return;
        };
        {
            let mut st = self.stats.lock();
            st.fold(role, &dev);
            st.last[role.index()] = Counters::default();
        }
        self.block[role.index()].store(0, Ordering::Relaxed);
        let ctl = self.ctl.try_borrow_mut(rtnl).and_then(|mut c| {
            if role == Role::Primary {
                // A pending takeover is forgotten; a run already started finds nothing held.
                c.hold_until_ns = None;
                c.takeover_after_probe = false;
                master.cancel_work();
            }
            c.lowers[role.index()].take()
        });

        dev.vlan_vids_del_by_dev(master, rtnl);
        dev.unsync_addrs_from(master);
        let mflags = master.flags();
        if mflags & flags::PROMISC != 0 {
            let _ = dev.set_promiscuity(-1, rtnl);
        }
        if mflags & flags::ALLMULTI != 0 {
            let _ = dev.set_allmulti(-1, rtnl);
        }
        dev.close(rtnl);
        if let Some(ctl) = ctl {
            ctl.link.unlink(master, rtnl);
            if let Some(own) = ctl.orig_mac.filter(|_| restore) {
                if let Err(e) = dev.set_mac_address(&own, rtnl) {
                    netdev_warn!(
                        master,
                        "could not give {} its address back: error {}",
                        dev.name(rtnl),
                        e.to_errno()
                    );
                }
            }
        }

        self.update_mtu_range(master, rtnl);
        self.compute_features(master, rtnl);
        self.count(EV_RELEASED);
        netdev_info!(master, "released {} {}", role.name(), dev.name(rtnl));
        let event = match role {
            Role::Primary => "primary_left",
            Role::Standby => "standby_left",
        };
        self.uevent(master, event, Some((role, &dev)), None, rtnl);
        self.update_link(master, true, rtnl);
    }

    /// `parent`, a PCI device, is about to lose its driver: if it is the parent of a lower
    /// device, stop transmitting through that device now, before the driver's `remove()` runs.
    fn parent_unbinding(&self, master: &NetDev<Master>, parent: &BusDevice, rtnl: &Rtnl) {
        for role in Role::ALL {
            let Some(dev) = self.slot(role).get_rtnl(rtnl) else {
                continue;
            };
            if dev.parent_is(parent) {
                self.set_block(role, UNBINDING, true, rtnl);
                self.update_link(master, true, rtnl);
                // A transmit that read the flag before it was set may still be handing a
                // packet to the device: let it finish before `remove()` starts dropping.
                rtnl.synchronize_net();
            }
        }
    }

    /// `parent`, a PCI device, finished probing (`ok`: bound to its driver): if the primary was
    /// enslaved from that probe ([`PROBING`]), it may carry traffic now; after a failed probe
    /// it stays blocked as if unbinding (the driver core is about to release what the probe
    /// set up; the netdev's unregistration, the driver's job, releases it).
    fn parent_probed(&self, master: &NetDev<Master>, parent: &BusDevice, ok: bool, rtnl: &Rtnl) {
        let Some(dev) = self.slot(Role::Primary).get_rtnl(rtnl) else {
            return;
        };
        if !dev.parent_is(parent)
            || self.block[Role::Primary.index()].load(Ordering::Relaxed) & PROBING == 0
        {
            return;
        }
        let takes_over = self
            .ctl
            .try_borrow_mut(rtnl)
            .is_some_and(|mut c| core::mem::take(&mut c.takeover_after_probe));
        if ok {
            self.set_block(Role::Primary, PROBING, false, rtnl);
            netdev_info!(master, "primary {}: probe finished", dev.name(rtnl));
            if takes_over {
                netdev_info!(master, "primary {} takes over", dev.name(rtnl));
            }
        } else {
            self.set_block(Role::Primary, UNBINDING, true, rtnl);
            self.set_block(Role::Primary, PROBING, false, rtnl);
            netdev_warn!(
                master,
                "primary {}: its driver's probe failed, not used",
                dev.name(rtnl)
            );
        }
        self.update_link(master, true, rtnl);
    }

    /// Ends the takeover delay of the held primary once it is due, or at once (`now`): the
    /// primary then carries traffic. Re-arms the work while it is not due yet (in steps, see
    /// [`policy::takeover_step_ms`]). RTNL held.
    fn takeover(&self, master: &NetDev<Master>, now: bool, rtnl: &Rtnl) {
        let Some(mut ctl) = self.ctl.try_borrow_mut(rtnl) else {
            return;
        };
        let Some(until) = ctl.hold_until_ns else {
            return;
        };
        let left_ns = until - Ktime::ktime_get().to_ns();
        if !now && left_ns > 0 {
            drop(ctl);
            let left_ms = u32::try_from((left_ns + 999_999) / 1_000_000);
            master.schedule_work(policy::takeover_step_ms(
                left_ms.unwrap_or(TAKEOVER_DELAY_MAX_MS),
            ));
            return;
        }
        ctl.hold_until_ns = None;
        let block = self.block[Role::Primary.index()].load(Ordering::Relaxed);
        let probing = block & PROBING != 0;
        ctl.takeover_after_probe = probing;
        drop(ctl);
        self.set_block(Role::Primary, HELD, false, rtnl);
        if let Some(p) = self.slot(Role::Primary).get_rtnl(rtnl) {
            if probing {
                netdev_info!(
                    master,
                    "takeover delay of {} over; it waits for its driver's probe",
                    p.name(rtnl)
                );
            } else if block & UNBINDING != 0 {
                // Its driver is unbinding, or failed the probe it was enslaved from.
                netdev_info!(
                    master,
                    "takeover delay of {} over; it is not used",
                    p.name(rtnl)
                );
            } else {
                netdev_info!(master, "primary {} takes over", p.name(rtnl));
            }
        }
        self.update_link(master, true, rtnl);
    }

    /// Handles a notifier event of one of our lower devices.
    fn lower_event(
        &self,
        master: &NetDev<Master>,
        dev: &Device,
        role: Role,
        event: Event,
        rtnl: &Rtnl,
    ) {
        match event {
            Event::Unregister => self.release(master, role, false, rtnl),
            Event::GoingDown => {
                // Switch away before the device stops: nothing is queued to a closing device.
                self.set_block(role, LEAVING, true, rtnl);
                self.update_link(master, true, rtnl);
            }
            Event::Up | Event::Down | Event::Change => {
                // `LEAVING` lasts from `NETDEV_GOING_DOWN` to the `NETDEV_DOWN` that the same
                // `dev_close()` sends: a `NETDEV_CHANGE` in between (a notifier reading the
                // link syncs the link watcher) must not re-enable a closing device.
                if event != Event::Change {
                    self.set_block(role, LEAVING, false, rtnl);
                }
                if event == Event::Up {
                    if let Some(mut ctl) = self.ctl.try_borrow_mut(rtnl) {
                        if let Some(c) = ctl.lowers[role.index()].as_mut() {
                            c.reopen = false;
                        }
                    }
                }
                self.update_link(master, true, rtnl);
            }
            Event::ChangeName => {
                let reopen = self
                    .ctl
                    .try_borrow_mut(rtnl)
                    .and_then(|mut c| {
                        c.lowers[role.index()]
                            .as_mut()
                            .map(|l| core::mem::take(&mut l.reopen))
                    })
                    .unwrap_or(false);
                netdev_info!(
                    master,
                    "{} lower device renamed to {}",
                    role.name(),
                    dev.name(rtnl)
                );
                if (reopen || !dev.is_running()) && master.is_running() {
                    if let Err(e) = dev.open(rtnl) {
                        netdev_warn!(
                            master,
                            "could not open {} after rename: error {}",
                            dev.name(rtnl),
                            e.to_errno()
                        );
                    }
                }
            }
            Event::FeatChange => self.compute_features(master, rtnl),
            _ => {}
        }
    }
}

#[vtable]
impl Operations for Master {
    const PASSTHRU_FEATURES_CHECK: bool = true;
    const ETHTOOL_GET_LINK: bool = true;
    const ETHTOOL_STATS: &'static [&'static str] = &[
        "primary_present",
        "standby_present",
        "tx_path",
        "path_switches",
        "lowers_linked",
        "lowers_released",
        "candidates_refused",
        "ms_since_last_switch",
        "primary_tx_packets",
        "primary_tx_bytes",
        "primary_rx_packets",
        "primary_rx_bytes",
        "standby_tx_packets",
        "standby_tx_bytes",
        "standby_rx_packets",
        "standby_rx_bytes",
        "takeover_delay_ms",
        "takeover_pending",
    ];

    fn open(dev: &NetDev<Self>, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.slot(Role::Primary).get_rtnl(rtnl);
        let standby = m.slot(Role::Standby).get_rtnl(rtnl);
        if let Some(p) = &primary {
            if let Err(e) = p.open(rtnl) {
                dev.tx_disable();
                return Err(e);
            }
        }
        if let Some(s) = &standby {
            if let Err(e) = s.open(rtnl) {
                if let Some(p) = &primary {
                    p.close(rtnl);
                }
                dev.tx_disable();
                return Err(e);
            }
        }
        m.update_link(dev, false, rtnl);
        Ok(())
    }

    fn stop(dev: &NetDev<Self>, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        dev.tx_disable();
        for lower in Role::ALL
            .into_iter()
            .filter_map(|r| m.slot(r).get_rtnl(rtnl))
        {
            lower.close(rtnl);
        }
        if let Some(mut ctl) = m.ctl.try_borrow_mut(rtnl) {
            ctl.path = None;
            // With the path: the next open records a new one and its grace.
            m.standby_rx_until_ns.store(i64::MAX, Ordering::Relaxed);
        }
        Ok(())
    }

    #[inline]
    fn start_xmit(dev: &NetDev<Self>, skb: OwnedSkBuff, ctx: &TxContext<'_>) -> TxStatus {
        let m = dev.data();
        // The core's RCU-bh section covers the lower devices' lifetime (`ctx`).
        // The common case decides on the primary alone (`tx_path()` picks a ready primary that
        // is not held whatever the standby's state); the standby is looked at only otherwise.
        let target = if let Some(p) = m.primary_usable_now(ctx) {
            Some(p)
        } else {
            let primary = m.slot(Role::Primary).get(ctx);
            let standby = m.slot(Role::Standby).get(ctx);
            let p = m.state_of(primary, Role::Primary);
            match policy::tx_path(p, m.state_of(standby, Role::Standby)) {
                TxPath::Primary => primary,
                TxPath::Standby => standby,
                TxPath::Drop => None,
            }
        };
        match target {
            Some(lower) => {
                skb.set_queue_mapping(skb.slave_queue_mapping());
                skb.xmit_via(lower)
            }
            None => {
                dev.count_tx_dropped();
                skb.free();
                TxStatus::OK
            }
        }
    }

    fn select_queue(
        dev: &NetDev<Self>,
        skb: &SkBuff,
        sb_dev: Option<&Device>,
        ctx: &TxContext<'_>,
    ) -> u16 {
        let m = dev.data();
        let txq = match m.slot(Role::Primary).get(ctx) {
            Some(p) => p.pick_tx_queue(skb, sb_dev, ctx),
            None => skb.rx_queue().unwrap_or(0),
        };
        // Saved to be restored before the packet is handed to the lower device.
        skb.set_slave_queue_mapping(skb.queue_mapping());
        txq
    }

    fn get_stats64(m: &Self, stats: &mut Stats64) {
        let (total, _) = m.fold_stats();
        stats.set_from_array(&total.0);
    }

    fn change_mtu(dev: &NetDev<Self>, new_mtu: u32, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.slot(Role::Primary).get_rtnl(rtnl);
        let standby = m.slot(Role::Standby).get_rtnl(rtnl);
        let old = dev.mtu();
        // The core checked the master's range; the lower devices' own ranges may be narrower
        // (a primary with a smaller maximum than the standby): refuse before touching either.
        for lower in [&primary, &standby].into_iter().flatten() {
            if !policy::mtu_ok(new_mtu, mtu_range_of(lower)) {
                return Err(EINVAL);
            }
        }
        if let Some(p) = &primary {
            p.set_mtu(new_mtu, rtnl)?;
        }
        if let Some(s) = &standby {
            if let Err(e) = s.set_mtu(new_mtu, rtnl) {
                if let Some(p) = &primary {
                    let _ = p.set_mtu(old, rtnl);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn set_rx_mode(dev: &NetDev<Self>, addrs: &AddrLocked<'_>) {
        let m = dev.data();
        let rcu = rcu::read_lock();
        for lower in Role::ALL.into_iter().filter_map(|r| m.slot(r).get(&rcu)) {
            addrs.sync_to(lower);
        }
    }

    fn change_rx_flags(dev: &NetDev<Self>, change: u32, rtnl: &RtnlAtomic) {
        let m = dev.data();
        let mflags = dev.flags();
        let inc = |f: u32| if mflags & f != 0 { 1 } else { -1 };
        for lower in Role::ALL
            .into_iter()
            .filter_map(|r| m.slot(r).get_rtnl(rtnl))
        {
            if change & flags::PROMISC != 0 {
                let _ = lower.set_promiscuity(inc(flags::PROMISC), rtnl);
            }
            if change & flags::ALLMULTI != 0 {
                let _ = lower.set_allmulti(inc(flags::ALLMULTI), rtnl);
            }
        }
    }

    fn vlan_rx_add_vid(dev: &NetDev<Self>, proto: u16, vid: u16, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.slot(Role::Primary).get_rtnl(rtnl);
        if let Some(p) = &primary {
            p.vlan_vid_add(proto, vid, rtnl)?;
        }
        if let Some(s) = m.slot(Role::Standby).get_rtnl(rtnl) {
            if let Err(e) = s.vlan_vid_add(proto, vid, rtnl) {
                if let Some(p) = &primary {
                    p.vlan_vid_del(proto, vid, rtnl);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn vlan_rx_kill_vid(dev: &NetDev<Self>, proto: u16, vid: u16, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        for lower in Role::ALL
            .into_iter()
            .filter_map(|r| m.slot(r).get_rtnl(rtnl))
        {
            lower.vlan_vid_del(proto, vid, rtnl);
        }
        Ok(())
    }

    fn get_drvinfo(dev: &NetDev<Self>, info: &mut DrvInfo, rtnl: &Rtnl) {
        info.set_driver(DRV_NAME);
        info.set_version(DRV_VERSION);
        if let Some(bus) = dev.parent_name(rtnl).and_then(|n| n.to_str().ok()) {
            info.set_bus_info(bus);
        }
    }

    fn get_ethtool_stats(dev: &NetDev<Self>, data: &mut [u64]) {
        let m = dev.data();
        let rcu = rcu::read_lock();
        let primary = m.slot(Role::Primary).get(&rcu);
        let standby = m.slot(Role::Standby).get(&rcu);
        // `tx_path`: 2 = primary, 1 = standby, 0 = dropping.
        let path = match policy::tx_path(
            m.state_of(primary, Role::Primary),
            m.state_of(standby, Role::Standby),
        ) {
            TxPath::Primary => 2,
            TxPath::Standby => 1,
            TxPath::Drop => 0,
        };
        let live = [
            u64::from(primary.is_some()),
            u64::from(standby.is_some()),
            path,
        ];
        drop(rcu);
        let events = m.events.iter().map(|c| c.load(Ordering::Relaxed));
        let since = Ktime::ktime_get().to_ns() - m.last_switch_ns.load(Ordering::Relaxed);
        let since_ms = u64::try_from(since / 1_000_000).unwrap_or(0);
        let (_, per_role) = m.fold_stats();
        // `struct rtnl_link_stats64` order: rx_packets, tx_packets, rx_bytes, tx_bytes.
        let lower = |r: Role| {
            let c = &per_role[r.index()].0;
            [c[1], c[3], c[0], c[2]]
        };
        // `Iterator::` spelled out: the prelude's `PinInit` also has a `chain`.
        let values = Iterator::chain(live.into_iter(), events);
        let values = Iterator::chain(values, core::iter::once(since_ms));
        let values = Iterator::chain(values, lower(Role::Primary));
        let values = Iterator::chain(values, lower(Role::Standby));
        let takeover = [
            u64::from(m.takeover_delay_ms.load(Ordering::Relaxed)),
            u64::from(m.primary_held()),
        ];
        let values = Iterator::chain(values, takeover);
        for (d, v) in data.iter_mut().zip(values) {
            *d = v;
        }
    }

    const LINK_KIND: Option<&'static CStr> = Some(c_str!("net_failover"));
    const SLAVE_INFO_ATTRS: usize = 3;

    fn fill_slave_info(dev: &NetDev<Self>, slave: &Device, info: &mut SlaveInfo<'_>) -> Result {
        let m = dev.data();
        let rcu = rcu::read_lock();
        let primary = m.slot(Role::Primary).get(&rcu);
        let standby = m.slot(Role::Standby).get(&rcu);
        let role = if primary.is_some_and(|p| core::ptr::eq(p, slave)) {
            Role::Primary
        } else if standby.is_some_and(|s| core::ptr::eq(s, slave)) {
            Role::Standby
        } else {
            // Being linked or unlinked right now: nothing to report.
            return Ok(());
        };
        let path = policy::tx_path(
            m.state_of(primary, Role::Primary),
            m.state_of(standby, Role::Standby),
        );
        let active = matches!(
            (role, path),
            (Role::Primary, TxPath::Primary) | (Role::Standby, TxPath::Standby)
        );
        let held = role == Role::Primary && m.primary_held();
        drop(rcu);
        info.put_u8(IFLA_NET_FAILOVER_SLAVE_ROLE, role.index() as u8)?;
        info.put_u8(IFLA_NET_FAILOVER_SLAVE_ACTIVE, u8::from(active))?;
        info.put_u8(IFLA_NET_FAILOVER_SLAVE_HELD, u8::from(held))
    }

    const SYSFS_GROUP: &'static CStr = c_str!("failover");
    const SYSFS_ATTRS: &'static [SysfsAttrDesc] = &[
        SysfsAttrDesc {
            name: c_str!("takeover_delay_ms"),
            writable: true,
        },
        SysfsAttrDesc {
            name: c_str!("primary"),
            writable: false,
        },
        SysfsAttrDesc {
            name: c_str!("standby"),
            writable: false,
        },
        SysfsAttrDesc {
            name: c_str!("tx_path"),
            writable: false,
        },
        SysfsAttrDesc {
            name: c_str!("takeover_pending"),
            writable: false,
        },
    ];

    fn sysfs_show(
        dev: &NetDev<Self>,
        index: usize,
        out: &mut dyn core::fmt::Write,
        rtnl: &Rtnl,
    ) -> Result {
        let m = dev.data();
        let res = match index {
            0 => writeln!(out, "{}", m.takeover_delay_ms.load(Ordering::Relaxed)),
            // The lower device's name, empty if the role is vacant.
            1 | 2 => {
                let role = if index == 1 {
                    Role::Primary
                } else {
                    Role::Standby
                };
                match m.slot(role).get_rtnl(rtnl) {
                    Some(d) => writeln!(out, "{}", d.name(rtnl)),
                    None => writeln!(out),
                }
            }
            3 => {
                let (p, s) = m.states(rtnl);
                writeln!(out, "{}", policy::tx_path(p, s).name())
            }
            4 => writeln!(out, "{}", u8::from(m.primary_held())),
            _ => return Err(EINVAL),
        };
        res.map_err(|_| EINVAL)
    }

    fn sysfs_store(dev: &NetDev<Self>, index: usize, value: &str, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        if index != 0 || m.dying.load(Ordering::Relaxed) {
            return Err(EINVAL);
        }
        let ms: u32 = value.trim().parse().map_err(|_| EINVAL)?;
        if ms > TAKEOVER_DELAY_MAX_MS {
            netdev_err!(
                dev,
                "takeover_delay_ms {} is above the maximum {}",
                ms,
                TAKEOVER_DELAY_MAX_MS
            );
            return Err(EINVAL);
        }
        m.takeover_delay_ms.store(ms, Ordering::Relaxed);
        // The new delay is for the next primary; 0 also ends a hold in progress.
        if ms == 0 {
            m.takeover(dev, true, rtnl);
        }
        Ok(())
    }

    fn work(dev: &NetDev<Self>) {
        // The only deferred work: the end of a takeover delay.
        let rtnl = rtnl::lock();
        let m = dev.data();
        if !m.dying.load(Ordering::Relaxed) {
            m.takeover(dev, false, &rtnl);
        }
    }

    fn get_link_ksettings(dev: &NetDev<Self>, ks: &mut LinkKsettings, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let (p, s) = m.states(rtnl);
        let active = match policy::tx_path(p, s) {
            TxPath::Primary => m.slot(Role::Primary).get_rtnl(rtnl),
            TxPath::Standby => m.slot(Role::Standby).get_rtnl(rtnl),
            TxPath::Drop => None,
        };
        match active {
            Some(lower) => ks.fill_from(&lower, rtnl),
            None => {
                ks.set_unknown();
                Ok(())
            }
        }
    }
}

impl RxHandler for Master {
    fn handle_frame<'a>(master: &NetDev<Self>, skb: RxSkb<'a>) -> RxAction<'a> {
        let m = master.data();
        // While we transmit through the primary, frames still arriving on the standby (the
        // hypervisor's copies of broadcasts, say) are only for listeners bound to the standby
        // itself. The C driver does this whenever a primary is present, which also drops the
        // replies that come back through the standby while the primary is down; here rx
        // follows the tx path, with a short grace after a switch to the primary for the
        // unicast frames the hypervisor's switch still sends to the standby's port
        // (`policy::standby_frame`).
        // The rx handler runs inside the core's RCU read-side section (`&skb` proves it).
        if let Some(s) = m.slot(Role::Standby).get(&skb) {
            // A usable primary carries tx whatever the standby's state (as in `start_xmit`);
            // the whole policy is evaluated only otherwise.
            if skb.arrived_on(s)
                && (m.primary_usable_now(&skb).is_some()
                    || policy::tx_path(
                        m.state_of(m.slot(Role::Primary).get(&skb), Role::Primary),
                        m.state_of(Some(s), Role::Standby),
                    ) == TxPath::Primary)
            {
                let grace = m.standby_rx_until_ns.load(Ordering::Relaxed);
                let now = || Ktime::ktime_get().to_ns();
                match policy::standby_frame(skb.is_for_host(), now, grace) {
                    StandbyFrame::Up => {}
                    StandbyFrame::Exact => return skb.exact(),
                    StandbyFrame::GraceOver => {
                        // Unless `update_link` stored a new end meanwhile.
                        let _ = m.standby_rx_until_ns.compare_exchange(
                            grace,
                            policy::GRACE_OVER,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        );
                        return skb.exact();
                    }
                }
            }
        }
        skb.to_upper()
    }
}

/// All failover masters, to match new devices against (by permanent MAC).
static MASTERS: RtnlLocked<KVec<Option<DevRef<NetDev<Master>>>>> = RtnlLocked::new(KVec::new());

/// The master whose permanent MAC is `dev`'s, if any. (The list is never borrowed mutably
/// around code that sends notifier events, so the borrow cannot fail here.)
fn master_by_mac(dev: &Device, rtnl: &Rtnl) -> Option<DevRef<NetDev<Master>>> {
    let addr = dev.perm_addr();
    MASTERS
        .try_borrow(rtnl)?
        .iter()
        .flatten()
        .find(|m| m.data().auto && m.perm_addr_is(&addr) && m.same_net(dev))
        .cloned()
}

/// The master of which `dev` is a lower device, with its role.
fn master_of_lower(dev: &Device, rtnl: &Rtnl) -> Option<(DevRef<NetDev<Master>>, Role)> {
    let Some(list) = MASTERS.try_borrow(rtnl) else {
        // Cannot happen (see `master_by_mac`); an unregistration missed here would wait for
        // the lower link's reference for ever, so it is not missed quietly.
        pr_err!(
            "net_failover: master list busy, event of {} lost\n",
            dev.name(rtnl)
        );
        return None;
    };
    list.iter()
        .flatten()
        .find_map(|m| m.data().role_of(dev, rtnl).map(|role| (m.clone(), role)))
}

/// Watches all network devices for lower devices of our masters.
struct Events;

impl notifier::Handler for Events {
    fn notify(&self, event: Event, dev: &Device, rtnl: &Rtnl) {
        if dev.is_failover_master() {
            return;
        }
        if event == Event::Register {
            if let Some(master) = master_by_mac(dev, rtnl) {
                master.data().enslave(&master, dev, rtnl);
            }
            return;
        }
        if !dev.is_failover_lower() {
            return;
        }
        if let Some((master, role)) = master_of_lower(dev, rtnl) {
            master.data().lower_event(&master, dev, role, event, rtnl);
        }
    }
}

/// The PCI devices whose driver's `probe()` is running (for [`PROBING`]).
static IN_PROBE: ProbingSet = ProbingSet::new();

/// Watches PCI devices being probed, for primaries enslaved before the probe finished, and
/// losing their driver, for lower devices about to be removed.
struct Binds;

impl Binds {
    /// Runs `f` on every master, under RTNL, which the caller does not hold.
    fn each_master(f: impl Fn(&NetDev<Master>, &Rtnl)) {
        let rtnl = rtnl::lock();
        let Some(list) = MASTERS.try_borrow(&rtnl) else {
            return;
        };
        for m in list.iter().flatten() {
            f(m, &rtnl);
        }
    }

    /// `dev`'s probe is over (`ok`: bound).
    fn probe_over(dev: &BusDevice, ok: bool) {
        // RTNL only if a primary was enslaved from this probe, which therefore took RTNL
        // itself (`register_netdev()`): the driver core's caller does not hold it.
        if IN_PROBE.finished(dev) {
            Self::each_master(|m, rtnl| m.data().parent_probed(m, dev, ok, rtnl));
        }
    }
}

impl BindHandler for Binds {
    fn binding(&self, dev: &BusDevice) {
        // A device not tracked (16 others probing) is used as soon as it is ready, as it was
        // before `PROBING`.
        IN_PROBE.started(dev);
    }

    fn bound(&self, dev: &BusDevice) {
        Self::probe_over(dev, true);
    }

    fn probe_failed(&self, dev: &BusDevice) {
        Self::probe_over(dev, false);
    }

    fn netdev_parent_unbinding(&self, dev: &BusDevice) {
        // Device lock held, RTNL not (the netdev's unregistration takes it after this).
        Self::each_master(|m, rtnl| m.data().parent_unbinding(m, dev, rtnl));
    }
}

/// The failover instance `net_failover_create` hands to the paravirtual driver.
struct Failover {
    reg: Registration<Master>,
}

impl NetFailover for Failover {
    fn create(standby: &Allocated, params: &Params) -> Result<Self> {
        let queues = <Master as LinkOperations>::num_queues();
        let base_mtu = MtuRange {
            min: standby.min_mtu(),
            max: standby.max_mtu(),
        };
        let mut b = Builder::<Master>::new(queues, queues, Master::new(base_mtu, params, true))?;
        // No link kind, as C's master: NetworkManager manages a kindless Ethernet device as
        // Ethernet, but leaves one of a kind it does not know unconfigured (a generic device).
        b.without_link_kind();
        b.set_parent_as(standby, &rtnl::lock())?
            .set_net_as(standby)
            .set_mac(&standby.dev_addr())
            // The standby's MTU, not Ethernet's default: with a host MTU below 1500 the
            // standby could not take the master's MTU otherwise (the C driver's bug).
            .set_mtu_range(base_mtu.min, base_mtu.max)
            .set_mtu(standby.mtu());
        configure(&b)?;
        let f = Failover { reg: b.register()? };
        let master = f.reg.device();

        let rtnl = rtnl::lock();
        if let Err(e) = masters_add(master, &rtnl) {
            f.reg.unregister(rtnl);
            return Err(e);
        }
        netdev_info!(master, "failover master {} created", master.name(&rtnl));

        // Devices registered before the master: pick up the standby and a primary now.
        let mac = master.perm_addr();
        if let Ok(devs) = master.devices_in_same_net(&rtnl) {
            for d in devs.iter() {
                if !d.is_failover_master() && !d.is_failover_lower() && d.perm_addr_is(&mac) {
                    master.data().enslave(master, d, &rtnl);
                }
            }
        }
        drop(rtnl);
        Ok(f)
    }

    fn destroy(self) {
        let master = self.reg.device();
        let m = master.data();
        // From here on no carrier, queue wake-up or peer notification on the master.
        m.dying.store(true, Ordering::Relaxed);
        master.detach();
        let rtnl = rtnl::lock();
        m.release(master, Role::Primary, false, &rtnl);
        m.release(master, Role::Standby, false, &rtnl);
        masters_remove(master, &rtnl);
        netdev_info!(master, "failover master {} destroyed", master.name(&rtnl));
        self.reg.unregister(rtnl);
    }
}

/// What every master has, created by `virtio_net` or by rtnetlink: a failover master without
/// a qdisc, lockless, which stays in its namespace, without carrier until a lower device has.
fn configure(s: &Setup<Master>) -> Result {
    let hw = vlan_features_mask()
        | Features::HW_VLAN_CTAG_TX
        | Features::HW_VLAN_CTAG_RX
        | Features::HW_VLAN_CTAG_FILTER
        | Features::GSO_ENCAP_ALL;
    s.set_carrier_off()
        .set_failover_master()
        .set_unicast_filtering(true)
        .set_no_queue(true)
        .set_dst_release(false)
        .set_lltx(true)
        .set_netns_immutable(true)
        .set_features(hw, hw)?;
    Ok(())
}

/// Adds `master` to [`MASTERS`].
fn masters_add(master: &NetDev<Master>, rtnl: &Rtnl) -> Result {
    let mut list = MASTERS.try_borrow_mut(rtnl).ok_or(EBUSY)?;
    let entry = Some(DevRef::new(master));
    match list.iter_mut().find(|e| e.is_none()) {
        Some(free) => *free = entry,
        None => list.push(entry, GFP_KERNEL)?,
    }
    Ok(())
}

/// Removes `master` from [`MASTERS`], putting its reference.
fn masters_remove(master: &NetDev<Master>, rtnl: &Rtnl) {
    let Some(mut list) = MASTERS.try_borrow_mut(rtnl) else {
        // Cannot happen (nothing that removes a master runs under a borrow of the list). If it
        // did, the list's reference would stay and the master's unregistration would wait for
        // it for ever ("waiting for ... to become free" every 10 s).
        pr_err!(
            "net_failover: master list busy, {} not removed\n",
            master.name(rtnl)
        );
        return;
    };
    if let Some(e) = list
        .iter_mut()
        .find(|e| e.as_ref().is_some_and(|m| DevRef::ptr_eq(m, master)))
    {
        *e = None;
    }
}

/// Masters made by hand: `ip link add NAME type net_failover`, lower devices added with
/// `ip link set DEV master NAME` (explicit pairing, no MAC matching).
impl LinkOperations for Master {
    /// Tx and rx queues of every master, also those `virtio_net` creates.
    fn num_queues() -> u32 {
        policy::master_tx_queues(driver::num_possible_cpus())
    }

    fn setup(dev: &Setup<Self>) {
        if configure(dev).is_err() {
            // Cannot happen: the features are constant and valid (checked at creation by
            // `virtio_net` masters too).
            pr_err!("net_failover: master features refused\n");
        }
        dev.set_mtu_range(EXPLICIT_MTU.min, EXPLICIT_MTU.max)
            .set_random_mac();
    }

    fn init(_rtnl: &Rtnl) -> impl PinInit<Self, Error> {
        Master::new(EXPLICIT_MTU, &net_failover_params(), false)
    }

    fn registered(dev: &NetDev<Self>, rtnl: &Rtnl) -> Result {
        masters_add(dev, rtnl)?;
        netdev_info!(
            dev,
            "failover master {} created for explicit pairing",
            dev.name(rtnl)
        );
        Ok(())
    }

    fn dellink(dev: &NetDev<Self>, rtnl: &Rtnl) {
        let m = dev.data();
        m.dying.store(true, Ordering::Relaxed);
        m.release(dev, Role::Primary, true, rtnl);
        m.release(dev, Role::Standby, true, rtnl);
        masters_remove(dev, rtnl);
        netdev_info!(dev, "failover master {} deleted", dev.name(rtnl));
    }

    fn add_slave(
        dev: &NetDev<Self>,
        slave: &Device,
        extack: &mut ExtAck<'_>,
        rtnl: &Rtnl,
    ) -> Result {
        dev.data().add_lower(dev, slave, extack, rtnl)
    }

    fn del_slave(dev: &NetDev<Self>, slave: &Device, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let role = m.role_of(slave, rtnl).ok_or(EINVAL)?;
        m.release(dev, role, true, rtnl);
        Ok(())
    }
}

/// MTU range of a master made by hand, without lower devices.
const EXPLICIT_MTU: MtuRange = MtuRange {
    min: ETH_MIN_MTU,
    max: ETH_MAX_MTU,
};

struct NetFailoverModule {
    /// Taken first on unload: deleting the masters made by hand needs [`MASTERS`].
    link: Option<Pin<KBox<LinkRegistration<Master>>>>,
    _events: Pin<KBox<notifier::Registration<Events>>>,
    _binds: Pin<KBox<PciBindNotifier<Binds>>>,
}

impl Drop for NetFailoverModule {
    fn drop(&mut self) {
        // Deletes the masters made by hand (releasing their lower devices) and waits until
        // they are freed.
        drop(self.link.take());
        // Every other master was destroyed (virtio_net holds the module until then); free the
        // list's buffer, which a static would otherwise keep beyond the module's lifetime.
        // Nothing else runs under RTNL on our behalf any more, so the list cannot be
        // borrowed; `try_borrow_mut` keeps a panic path out of module unload.
        let rtnl = rtnl::lock();
        let old = MASTERS
            .try_borrow_mut(&rtnl)
            .map(|mut masters| core::mem::take(&mut *masters));
        drop(rtnl);
        drop(old);
    }
}

impl kernel::Module for NetFailoverModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let events = KBox::pin_init(notifier::Registration::new(Events), GFP_KERNEL)?;
        let binds = KBox::pin_init(PciBindNotifier::new(Binds), GFP_KERNEL)?;
        // Last: from here on userspace can create masters, whose lower devices need the
        // notifiers above.
        let link = KBox::pin_init(LinkRegistration::new(), GFP_KERNEL)?;
        Ok(Self {
            link: Some(link),
            _events: events,
            _binds: binds,
        })
    }
}
