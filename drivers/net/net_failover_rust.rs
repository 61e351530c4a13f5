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

use core::{
    ffi::c_void,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox, KVec},
    error::code::{EBUSY, EINVAL},
    net::{
        dev::{flags, priv_flags, AddrLocked, DevRef, Device, DeviceSlot, Features, ETH_HLEN},
        ethtool::{DrvInfo, LinkKsettings},
        netdev::{self, Builder, NetDev, Operations, Registration},
        notifier::{self, Event},
        rtnl::{self, Rtnl, RtnlLocked},
        rx_handler::{self, RxHandler, RxResult},
        skbuff::{OwnedSkBuff, SkBuff},
        stats::Stats64,
    },
    netdev_err, netdev_info, netdev_warn,
    prelude::*,
    sync::{new_spinlock, rcu, SpinLock},
};

#[path = "net_failover_policy.rs"]
mod policy;

use policy::{Counters, MtuRange, Role, SlaveState, TxPath};

module! {
    type: NetFailoverModule,
    name: "net_failover",
    author: "Rust for Linux net_failover contributors",
    description: "Failover driver for Paravirtual drivers (Rust)",
    license: "GPL v2",
}

const DRV_NAME: &str = "net_failover";
const DRV_VERSION: &str = "0.1";

/// Features the master can offer to VLANs stacked on it, if both slaves can.
fn vlan_features_mask() -> Features {
    Features::HW_CSUM
        | Features::SG
        | Features::FRAGLIST
        | Features::ALL_TSO
        | Features::HIGHDMA
        | Features::LRO
}

/// Features the master can offer for encapsulated traffic, if both slaves can.
fn enc_features_mask() -> Features {
    Features::HW_CSUM | Features::SG | Features::RXCSUM | Features::ALL_TSO
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Standby => "standby",
    }
}

/// RTNL-protected bookkeeping of one enslaved device.
struct SlaveCtl {
    /// Our rx handler on the slave.
    rx: rx_handler::Registration<Master>,
    /// The slave's first `dev_open()` returned `EBUSY`; retry on rename or up.
    reopen: bool,
}

/// RTNL-protected state of a master.
#[derive(Default)]
struct Control {
    primary: Option<SlaveCtl>,
    standby: Option<SlaveCtl>,
    /// Last logged transmit path, `None` while the master is down.
    path: Option<TxPath>,
}

impl Control {
    fn slave(&mut self, role: Role) -> &mut Option<SlaveCtl> {
        match role {
            Role::Primary => &mut self.primary,
            Role::Standby => &mut self.standby,
        }
    }
}

/// Counters of the master: running totals and each slave's last snapshot.
#[derive(Default)]
struct StatsState {
    total: Counters,
    primary: Counters,
    standby: Counters,
}

/// Private data of a failover master.
#[pin_data]
struct Master {
    /// The primary (passthrough VF), for RCU readers (tx, rx) and RTNL writers.
    primary: DeviceSlot,
    /// The standby (virtio-net).
    standby: DeviceSlot,
    /// The primary announced `NETDEV_GOING_DOWN`: stop sending through it right away.
    primary_leaving: AtomicBool,
    /// The standby announced `NETDEV_GOING_DOWN`.
    standby_leaving: AtomicBool,
    /// Statistics; `get_stats64` may run concurrently from any context.
    #[pin]
    stats: SpinLock<StatsState>,
    /// Slave bookkeeping.
    ctl: RtnlLocked<Control>,
    /// MTU range the master was created with (the standby's).
    base_mtu: MtuRange,
    /// Control-path event counters for `ethtool -S`, see [`EVENT_STATS`].
    events: [AtomicU64; EVENT_STATS],
}

/// Counters in [`Master::events`], in `ETHTOOL_STATS` order after the three live values.
const EVENT_STATS: usize = 4;
const EV_PATH_SWITCHES: usize = 0;
const EV_ENSLAVED: usize = 1;
const EV_RELEASED: usize = 2;
const EV_REFUSED: usize = 3;

impl Master {
    fn new(standby: &Device) -> impl PinInit<Self, Error> {
        let base_mtu = MtuRange {
            min: standby.min_mtu(),
            max: standby.max_mtu(),
        };
        try_pin_init!(Self {
            primary: DeviceSlot::new(),
            standby: DeviceSlot::new(),
            primary_leaving: AtomicBool::new(false),
            standby_leaving: AtomicBool::new(false),
            stats <- new_spinlock!(StatsState::default(), "net_failover::stats"),
            ctl: RtnlLocked::new(Control::default()),
            base_mtu,
            events: [const { AtomicU64::new(0) }; EVENT_STATS],
        }? Error)
    }

    fn count(&self, ev: usize) {
        self.events[ev].fetch_add(1, Ordering::Relaxed);
    }

    fn slot(&self, role: Role) -> &DeviceSlot {
        match role {
            Role::Primary => &self.primary,
            Role::Standby => &self.standby,
        }
    }

    fn leaving(&self, role: Role) -> &AtomicBool {
        match role {
            Role::Primary => &self.primary_leaving,
            Role::Standby => &self.standby_leaving,
        }
    }

    /// Role of `dev` if it is one of our slaves.
    fn role_of(&self, dev: &Device, rtnl: &Rtnl) -> Option<Role> {
        if self.primary.holds(dev, rtnl) {
            Some(Role::Primary)
        } else if self.standby.holds(dev, rtnl) {
            Some(Role::Standby)
        } else {
            None
        }
    }

    fn state_of(&self, dev: Option<&Device>, role: Role) -> SlaveState {
        match dev {
            None => SlaveState::default(),
            Some(d) => SlaveState {
                present: true,
                running: d.is_running() && !self.leaving(role).load(Ordering::Relaxed),
                // Carrier alone is not enough: between `netif_carrier_on()` and the link
                // watcher's `dev_activate()` the slave's queues still drop everything in
                // `noop_qdisc` (the C driver loses those packets when a VF comes back).
                carrier: d.carrier_ok() && d.tx_qdisc_active(),
            },
        }
    }

    /// Slave states as the datapath sees them now (RTNL side).
    fn states(&self, rtnl: &Rtnl) -> (SlaveState, SlaveState) {
        (
            self.state_of(self.primary.get_rtnl(rtnl), Role::Primary),
            self.state_of(self.standby.get_rtnl(rtnl), Role::Standby),
        )
    }

    /// Recomputes carrier and queue state after a slave or master change, logging a new
    /// transmit path and telling LAG listeners about the slaves' state (`notify`).
    fn update_link(&self, master: &NetDev<Master>, notify: bool, rtnl: &Rtnl) {
        let (p, s) = self.states(rtnl);
        if notify {
            // A slave is enabled for tx when it is running; the standby only while no primary
            // is running (the C driver's notion). Both are reported, as a primary coming or
            // going changes the standby's state too.
            if let Some(d) = self.primary.get_rtnl(rtnl) {
                d.lower_state_changed(d.carrier_ok(), p.running, rtnl);
            }
            if let Some(d) = self.standby.get_rtnl(rtnl) {
                d.lower_state_changed(d.carrier_ok(), s.running && !p.running, rtnl);
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
        if switched {
            self.count(EV_PATH_SWITCHES);
        }
        match path {
            TxPath::Primary => {
                if let Some(d) = self.primary.get_rtnl(rtnl) {
                    netdev_info!(master, "tx via {} (primary)", d.name(rtnl));
                }
            }
            TxPath::Standby => {
                if let Some(d) = self.standby.get_rtnl(rtnl) {
                    netdev_info!(master, "tx via {} (standby)", d.name(rtnl));
                }
            }
            TxPath::Drop => netdev_info!(master, "tx dropped: no slave ready"),
        }
        if path != TxPath::Drop {
            // The frames now leave through another port of the hypervisor's switch: announce
            // the addresses from there so that replies stop going to the old port.
            master.notify_peers(rtnl);
        }
    }

    /// Recomputes the features, header length and dst-release flag from the slaves.
    fn compute_features(&self, master: &NetDev<Master>, rtnl: &Rtnl) {
        let vmask = vlan_features_mask();
        let emask = enc_features_mask();
        let mut vlan = vmask & Features::ALL_FOR_ALL;
        let mut enc = emask;
        let mut hard_header_len = ETH_HLEN;
        let mut dst_release = true;
        for slave in [self.primary.get_rtnl(rtnl), self.standby.get_rtnl(rtnl)]
            .into_iter()
            .flatten()
        {
            vlan = Features::increment(vlan, slave.vlan_features(), vmask);
            enc = Features::increment(enc, slave.hw_enc_features(), emask);
            let pf = slave.priv_flags();
            dst_release &= pf & priv_flags::XMIT_DST_RELEASE != 0
                && pf & priv_flags::XMIT_DST_RELEASE_PERM != 0;
            hard_header_len = hard_header_len.max(slave.hard_header_len());
        }
        master.update_stacking(
            vlan,
            enc | Features::GSO_ENCAP_ALL,
            hard_header_len,
            dst_release,
            rtnl,
        );
    }

    /// Sets the master's MTU range from the slaves.
    fn update_mtu_range(&self, master: &NetDev<Master>, rtnl: &Rtnl) {
        let range = |d: Option<&Device>| {
            d.map(|d| MtuRange {
                min: d.min_mtu(),
                max: d.max_mtu(),
            })
        };
        let r = policy::mtu_range(
            range(self.primary.get_rtnl(rtnl)),
            range(self.standby.get_rtnl(rtnl)),
            self.base_mtu,
        );
        master.set_mtu_range(r.min, r.max, rtnl);
    }

    /// Enslaves `slave`, whose permanent MAC is the master's.
    fn enslave(&self, master: &NetDev<Master>, slave: &Device, rtnl: &Rtnl) {
        let candidate = policy::Candidate {
            is_ethernet: slave.is_ethernet(),
            is_master: slave.is_master_kind(),
            same_parent_as_master: slave.same_parent(master),
            parent_is_pci: slave.parent_is_pci(),
            standby_present: self.standby.get_rtnl(rtnl).is_some(),
            primary_present: self.primary.get_rtnl(rtnl).is_some(),
            vlan_challenged: slave.is_vlan_challenged(),
            master_has_vlans: master.uses_vlans(rtnl),
        };
        let role = match policy::classify(&candidate) {
            Ok(role) => role,
            Err(refusal) => {
                self.count(EV_REFUSED);
                netdev_err!(
                    master,
                    "refusing to enslave {} to {}: it {}",
                    slave.name(rtnl),
                    master.name(rtnl),
                    refusal.reason()
                );
                return;
            }
        };
        if let Err(e) = self.try_enslave(master, slave, role, rtnl) {
            self.count(EV_REFUSED);
            netdev_err!(
                master,
                "failed to enslave {} as {}: error {}",
                slave.name(rtnl),
                role_name(role),
                e.to_errno()
            );
        }
    }

    fn try_enslave(
        &self,
        master: &NetDev<Master>,
        slave: &Device,
        role: Role,
        rtnl: &Rtnl,
    ) -> Result {
        let rx = rx_handler::Registration::register(slave, master, rtnl)?;
        if let Err(e) = slave.link_master_active_backup(master, rtnl) {
            rx.unregister(slave, rtnl);
            return Err(e);
        }
        let slave_flags = priv_flags::FAILOVER_SLAVE | priv_flags::NO_ADDRCONF;
        slave.update_priv_flags(slave_flags, 0, rtnl);
        let undo_link = |rx: rx_handler::Registration<Master>| {
            slave.update_priv_flags(0, slave_flags, rtnl);
            slave.unlink_upper(master, rtnl);
            rx.unregister(slave, rtnl);
        };

        // Align the slave's MTU with the master's.
        let orig_mtu = slave.mtu();
        if let Err(e) = slave.set_mtu(master.mtu(), rtnl) {
            undo_link(rx);
            return Err(e);
        }

        let mut reopen = false;
        if master.is_running() {
            match slave.open(rtnl) {
                Ok(()) => {}
                // Someone (e.g. udev renaming it) holds the device busy: retry on
                // NETDEV_CHANGENAME / NETDEV_UP.
                Err(e) if e == EBUSY => reopen = true,
                Err(e) => {
                    let _ = slave.set_mtu(orig_mtu, rtnl);
                    undo_link(rx);
                    return Err(e);
                }
            }
        }

        master.lock_addrs().sync_to(slave);
        if let Err(e) = slave.vlan_vids_add_by_dev(master, rtnl) {
            slave.unsync_addrs_from(master);
            slave.close(rtnl);
            let _ = slave.set_mtu(orig_mtu, rtnl);
            undo_link(rx);
            return Err(e);
        }
        let mflags = master.flags();
        if mflags & flags::PROMISC != 0 {
            let _ = slave.set_promiscuity(1, rtnl);
        }
        if mflags & flags::ALLMULTI != 0 {
            let _ = slave.set_allmulti(1, rtnl);
        }

        // Count only what the slave carries from now on.
        {
            let now = Counters(slave.stats().to_array());
            let mut st = self.stats.lock();
            match role {
                Role::Primary => st.primary = now,
                Role::Standby => st.standby = now,
            }
        }
        self.leaving(role).store(false, Ordering::Relaxed);
        if let Err(e) = self.slot(role).set(slave, rtnl) {
            // Cannot happen: the policy checked the slot under RTNL.
            slave.vlan_vids_del_by_dev(master, rtnl);
            slave.unsync_addrs_from(master);
            undo_link(rx);
            return Err(e);
        }
        {
            let mut ctl = self.ctl.borrow_mut(rtnl);
            *ctl.slave(role) = Some(SlaveCtl { rx, reopen });
        }

        self.update_mtu_range(master, rtnl);
        self.compute_features(master, rtnl);
        self.count(EV_ENSLAVED);
        netdev_info!(
            master,
            "enslaved {} as {}",
            slave.name(rtnl),
            role_name(role)
        );
        self.update_link(master, true, rtnl);
        slave.notify_join(rtnl);
        Ok(())
    }

    /// Releases the slave in `role`, if any, undoing everything `enslave` did.
    fn release(&self, master: &NetDev<Master>, role: Role, rtnl: &Rtnl) {
        let Some(slave) = self.slot(role).get_rtnl(rtnl).map(DevRef::new) else {
            return;
        };
        let ctl = self.ctl.borrow_mut(rtnl).slave(role).take();

        if let Some(ctl) = ctl {
            ctl.rx.unregister(&slave, rtnl);
        }
        slave.unlink_upper(master, rtnl);
        slave.update_priv_flags(
            0,
            priv_flags::FAILOVER_SLAVE | priv_flags::NO_ADDRCONF,
            rtnl,
        );

        slave.vlan_vids_del_by_dev(master, rtnl);
        slave.unsync_addrs_from(master);
        let mflags = master.flags();
        if mflags & flags::PROMISC != 0 {
            let _ = slave.set_promiscuity(-1, rtnl);
        }
        if mflags & flags::ALLMULTI != 0 {
            let _ = slave.set_allmulti(-1, rtnl);
        }
        slave.close(rtnl);

        // Stop publishing it (waits for tx/rx readers), then fold its last counters in.
        let _old = self.slot(role).take(rtnl);
        {
            let now = Counters(slave.stats().to_array());
            let mut st = self.stats.lock();
            let StatsState {
                total,
                primary,
                standby,
            } = &mut *st;
            let last = match role {
                Role::Primary => primary,
                Role::Standby => standby,
            };
            policy::fold(total, last, &now);
            *last = Counters::default();
        }
        self.leaving(role).store(false, Ordering::Relaxed);

        self.update_mtu_range(master, rtnl);
        self.compute_features(master, rtnl);
        self.count(EV_RELEASED);
        netdev_info!(master, "released {} {}", role_name(role), slave.name(rtnl));
        self.update_link(master, true, rtnl);
    }

    /// Handles a notifier event of one of our slaves.
    fn slave_event(
        &self,
        master: &NetDev<Master>,
        slave: &Device,
        role: Role,
        event: Event,
        rtnl: &Rtnl,
    ) {
        match event {
            Event::Unregister => self.release(master, role, rtnl),
            Event::GoingDown => {
                // Switch away before the slave stops: nothing is queued to a closing device.
                self.leaving(role).store(true, Ordering::Relaxed);
                self.update_link(master, true, rtnl);
            }
            Event::Up | Event::Down | Event::Change => {
                self.leaving(role).store(false, Ordering::Relaxed);
                if event == Event::Up {
                    if let Some(mut ctl) = self.ctl.try_borrow_mut(rtnl) {
                        if let Some(c) = ctl.slave(role).as_mut() {
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
                        c.slave(role)
                            .as_mut()
                            .map(|s| core::mem::take(&mut s.reopen))
                    })
                    .unwrap_or(false);
                netdev_info!(
                    master,
                    "{} slave renamed to {}",
                    role_name(role),
                    slave.name(rtnl)
                );
                if (reopen || !slave.is_running()) && master.is_running() {
                    if let Err(e) = slave.open(rtnl) {
                        netdev_warn!(
                            master,
                            "could not open {} after rename: error {}",
                            slave.name(rtnl),
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
        "slaves_enslaved",
        "slaves_released",
        "slaves_refused",
    ];

    fn open(dev: &NetDev<Self>, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.primary.get_rtnl(rtnl).map(DevRef::new);
        let standby = m.standby.get_rtnl(rtnl).map(DevRef::new);
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
        for slave in [
            m.primary.get_rtnl(rtnl).map(DevRef::new),
            m.standby.get_rtnl(rtnl).map(DevRef::new),
        ]
        .into_iter()
        .flatten()
        {
            slave.close(rtnl);
        }
        if let Some(mut ctl) = m.ctl.try_borrow_mut(rtnl) {
            ctl.path = None;
        }
        Ok(())
    }

    fn start_xmit(dev: &NetDev<Self>, skb: OwnedSkBuff) {
        let m = dev.data();
        let rcu = rcu::read_lock();
        let primary = m.primary.get(&rcu);
        let p = m.state_of(primary, Role::Primary);
        // The common case decides on the primary alone; the standby is looked at (as
        // `tx_path()` would) only when the primary is not ready.
        let target = if p.ready() {
            primary
        } else {
            let standby = m.standby.get(&rcu);
            match policy::tx_path(p, m.state_of(standby, Role::Standby)) {
                TxPath::Primary => primary,
                TxPath::Standby => standby,
                TxPath::Drop => None,
            }
        };
        match target {
            Some(slave) => {
                skb.set_dev(slave);
                skb.set_queue_mapping(skb.slave_queue_mapping());
                let _ = skb.queue_xmit();
            }
            None => {
                dev.count_tx_dropped();
                skb.free();
            }
        }
    }

    fn select_queue(dev: &NetDev<Self>, skb: &SkBuff, sb_dev: Option<&Device>) -> u16 {
        let m = dev.data();
        let rcu = rcu::read_lock();
        let txq = match m.primary.get(&rcu) {
            Some(p) => p.pick_tx_queue(skb, sb_dev),
            None => skb.rx_queue().unwrap_or(0),
        };
        // Saved to be restored before the packet is handed to the slave.
        skb.set_slave_queue_mapping(skb.queue_mapping());
        txq
    }

    fn get_stats64(dev: &NetDev<Self>, stats: &mut Stats64) {
        let m = dev.data();
        let mut st = m.stats.lock();
        let rcu = rcu::read_lock();
        let StatsState {
            total,
            primary,
            standby,
        } = &mut *st;
        if let Some(p) = m.primary.get(&rcu) {
            policy::fold(total, primary, &Counters(p.stats().to_array()));
        }
        if let Some(s) = m.standby.get(&rcu) {
            policy::fold(total, standby, &Counters(s.stats().to_array()));
        }
        stats.set_from_array(&total.0);
    }

    fn change_mtu(dev: &NetDev<Self>, new_mtu: u32, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.primary.get_rtnl(rtnl).map(DevRef::new);
        let standby = m.standby.get_rtnl(rtnl).map(DevRef::new);
        let old = dev.mtu();
        // The core checked the master's range; the slaves' own ranges may be narrower (a
        // primary with a smaller maximum than the standby): refuse before touching either.
        let range = |d: &Device| MtuRange {
            min: d.min_mtu(),
            max: d.max_mtu(),
        };
        for slave in [&primary, &standby].into_iter().flatten() {
            if !policy::mtu_ok(new_mtu, range(slave)) {
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
        for slave in [m.primary.get(&rcu), m.standby.get(&rcu)]
            .into_iter()
            .flatten()
        {
            addrs.sync_to(slave);
        }
    }

    fn change_rx_flags(dev: &NetDev<Self>, change: u32, rtnl: &Rtnl) {
        let m = dev.data();
        let mflags = dev.flags();
        let inc = |f: u32| if mflags & f != 0 { 1 } else { -1 };
        for slave in [m.primary.get_rtnl(rtnl), m.standby.get_rtnl(rtnl)]
            .into_iter()
            .flatten()
        {
            if change & flags::PROMISC != 0 {
                let _ = slave.set_promiscuity(inc(flags::PROMISC), rtnl);
            }
            if change & flags::ALLMULTI != 0 {
                let _ = slave.set_allmulti(inc(flags::ALLMULTI), rtnl);
            }
        }
    }

    fn vlan_rx_add_vid(dev: &NetDev<Self>, proto: u16, vid: u16, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let primary = m.primary.get_rtnl(rtnl);
        if let Some(p) = primary {
            p.vlan_vid_add(proto, vid, rtnl)?;
        }
        if let Some(s) = m.standby.get_rtnl(rtnl) {
            if let Err(e) = s.vlan_vid_add(proto, vid, rtnl) {
                if let Some(p) = primary {
                    p.vlan_vid_del(proto, vid, rtnl);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn vlan_rx_kill_vid(dev: &NetDev<Self>, proto: u16, vid: u16, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        for slave in [m.primary.get_rtnl(rtnl), m.standby.get_rtnl(rtnl)]
            .into_iter()
            .flatten()
        {
            slave.vlan_vid_del(proto, vid, rtnl);
        }
        Ok(())
    }

    fn get_drvinfo(dev: &NetDev<Self>, info: &mut DrvInfo, _rtnl: &Rtnl) {
        info.set_driver(DRV_NAME);
        info.set_version(DRV_VERSION);
        if let Some(bus) = dev.parent_name().and_then(|n| n.to_str().ok()) {
            info.set_bus_info(bus);
        }
    }

    fn get_ethtool_stats(dev: &NetDev<Self>, data: &mut [u64]) {
        let m = dev.data();
        let rcu = rcu::read_lock();
        let primary = m.primary.get(&rcu);
        let standby = m.standby.get(&rcu);
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
        let events = m.events.iter().map(|c| c.load(Ordering::Relaxed));
        for (d, v) in data
            .iter_mut()
            .zip(Iterator::chain(live.into_iter(), events))
        {
            *d = v;
        }
    }

    fn get_link_ksettings(dev: &NetDev<Self>, ks: &mut LinkKsettings, rtnl: &Rtnl) -> Result {
        let m = dev.data();
        let (p, s) = m.states(rtnl);
        let active = match policy::tx_path(p, s) {
            TxPath::Primary => m.primary.get_rtnl(rtnl),
            TxPath::Standby => m.standby.get_rtnl(rtnl),
            TxPath::Drop => None,
        };
        match active {
            Some(slave) => ks.fill_from(slave, rtnl),
            None => {
                ks.set_unknown();
                Ok(())
            }
        }
    }
}

impl RxHandler for Master {
    fn handle_frame(master: &NetDev<Self>, skb: &SkBuff) -> RxResult {
        let m = master.data();
        let rcu = rcu::read_lock();
        // While we transmit through the primary, frames still arriving on the standby (the
        // hypervisor's copies of broadcasts, say) are only for listeners bound to the standby
        // itself. The C driver does this whenever a primary is present, which also drops the
        // replies that come back through the standby while the primary is down; here rx
        // follows the tx path.
        let primary = m.primary.get(&rcu);
        if let Some(s) = m.standby.get(&rcu) {
            if skb.dev_is(s)
                && policy::tx_path(
                    m.state_of(primary, Role::Primary),
                    m.state_of(Some(s), Role::Standby),
                ) == TxPath::Primary
            {
                return RxResult::Exact;
            }
        }
        skb.set_dev(master);
        RxResult::Another
    }
}

/// All failover masters, to match new devices against (by permanent MAC).
static MASTERS: RtnlLocked<KVec<Option<DevRef<NetDev<Master>>>>> = RtnlLocked::new(KVec::new());

/// The master whose permanent MAC is `dev`'s, if any.
fn master_by_mac(dev: &Device, rtnl: &Rtnl) -> Option<DevRef<NetDev<Master>>> {
    let addr = dev.perm_addr();
    MASTERS
        .borrow(rtnl)
        .iter()
        .flatten()
        .find(|m| m.perm_addr_is(&addr) && m.same_net(dev))
        .cloned()
}

/// The master of which `dev` is a slave, with its role.
fn master_of_slave(dev: &Device, rtnl: &Rtnl) -> Option<(DevRef<NetDev<Master>>, Role)> {
    let list = MASTERS.borrow(rtnl);
    list.iter()
        .flatten()
        .find_map(|m| m.data().role_of(dev, rtnl).map(|role| (m.clone(), role)))
}

/// Watches all network devices for slaves of our masters.
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
        if !dev.is_failover_slave() {
            return;
        }
        if let Some((master, role)) = master_of_slave(dev, rtnl) {
            master.data().slave_event(&master, dev, role, event, rtnl);
        }
    }
}

/// What `net_failover_create` hands to the paravirtual driver.
struct Failover {
    reg: Registration<Master>,
}

fn create(standby: &Device) -> Result<KBox<Failover>> {
    // Allocated first: once the master is registered and listed, nothing may fail any more.
    let handle = KBox::<Failover>::new_uninit(GFP_KERNEL)?;
    let queues = policy::master_tx_queues(netdev::num_possible_cpus());
    let mut b = Builder::<Master>::new(queues, queues, Master::new(standby))?;
    let hw = vlan_features_mask()
        | Features::HW_VLAN_CTAG_TX
        | Features::HW_VLAN_CTAG_RX
        | Features::HW_VLAN_CTAG_FILTER
        | Features::GSO_ENCAP_ALL;
    b.set_net_as(standby)
        .set_parent_as(standby)
        .set_carrier_off()
        .set_mac(&standby.dev_addr())
        .set_mtu_range(standby.min_mtu(), standby.max_mtu())
        .update_priv_flags(
            priv_flags::FAILOVER | priv_flags::UNICAST_FLT | priv_flags::NO_QUEUE,
            priv_flags::XMIT_DST_RELEASE | priv_flags::TX_SKB_SHARING,
        )
        .set_lltx(true)
        .set_netns_immutable(true)
        .set_features(hw, hw);
    let handle = KBox::write(handle, Failover { reg: b.register()? });
    let master = handle.reg.device();

    let rtnl = rtnl::lock();
    {
        let mut list = MASTERS.borrow_mut(&rtnl);
        let entry = Some(DevRef::new(master));
        match list.iter_mut().find(|e| e.is_none()) {
            Some(free) => *free = entry,
            None => {
                if let Err(e) = list.push(entry, GFP_KERNEL) {
                    drop(list);
                    KBox::into_inner(handle).reg.unregister(rtnl);
                    return Err(e.into());
                }
            }
        }
    }
    netdev_info!(master, "failover master {} created", master.name(&rtnl));

    // Devices registered before the master: pick up the standby and a primary now.
    let mac = master.perm_addr();
    if let Ok(devs) = master.devices_in_same_net(&rtnl) {
        for d in devs.iter() {
            if !d.is_failover_master() && !d.is_failover_slave() && d.perm_addr_is(&mac) {
                master.data().enslave(master, d, &rtnl);
            }
        }
    }
    drop(rtnl);

    Ok(handle)
}

fn destroy(f: Failover) {
    let master = f.reg.device();
    master.detach();
    let rtnl = rtnl::lock();
    master.data().release(master, Role::Primary, &rtnl);
    master.data().release(master, Role::Standby, &rtnl);
    {
        let mut list = MASTERS.borrow_mut(&rtnl);
        if let Some(e) = list
            .iter_mut()
            .find(|e| e.as_ref().is_some_and(|m| DevRef::ptr_eq(m, master)))
        {
            *e = None;
        }
    }
    netdev_info!(master, "failover master {} destroyed", master.name(&rtnl));
    f.reg.unregister(rtnl);
}

/// Creates a failover master for the standby netdev `standby` (`include/net/net_failover.h`).
///
/// Returns an opaque handle for [`net_failover_destroy`], or an `ERR_PTR`.
///
/// # Safety
///
/// `standby` must be null or point to a valid, allocated `net_device` (registered or not) that
/// the caller keeps alive during the call; the caller must not hold RTNL.
#[no_mangle]
pub unsafe extern "C" fn net_failover_create(
    standby: *mut kernel::bindings::net_device,
) -> *mut c_void {
    if standby.is_null() {
        return EINVAL.to_ptr();
    }
    // SAFETY: non-null, so by the function's safety contract a valid netdev that outlives the
    // call.
    let standby = unsafe { Device::from_raw(standby) };
    match create(standby) {
        Ok(f) => KBox::into_raw(f).cast(),
        Err(e) => e.to_ptr(),
    }
}

/// Destroys a failover master created by [`net_failover_create`]; `NULL` is ignored.
///
/// # Safety
///
/// `failover` must be null or a handle returned by [`net_failover_create`] that was not
/// destroyed yet; the caller must not hold RTNL.
#[no_mangle]
pub unsafe extern "C" fn net_failover_destroy(failover: *mut c_void) {
    if failover.is_null() {
        return;
    }
    // SAFETY: non-null, so by the function's safety contract a handle from
    // `net_failover_create()` (a `KBox<Failover>` turned into a raw pointer) destroyed only now.
    let f = unsafe { KBox::from_raw(failover.cast::<Failover>()) };
    destroy(KBox::into_inner(f));
}

struct NetFailoverModule {
    _events: Pin<KBox<notifier::Registration<Events>>>,
}

impl Drop for NetFailoverModule {
    fn drop(&mut self) {
        // Every master was destroyed (virtio_net holds the module until then); free the list's
        // buffer, which a static would otherwise keep beyond the module's lifetime.
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
        Ok(Self {
            _events: notifier::Registration::new(Events)?,
        })
    }
}
