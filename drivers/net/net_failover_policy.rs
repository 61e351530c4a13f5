// SPDX-License-Identifier: GPL-2.0

//! Pure decisions of the Rust `net_failover` driver.
//!
//! Everything here is plain `core` Rust, free of kernel types, so the very same file is
//! compiled into `net_failover.ko` (as `mod policy`) and into the host test crate under
//! `tests/host`, where `cargo test` checks it exhaustively. The driver gathers the facts
//! (device flags, parents, slave states, counters, MTU limits) under the appropriate lock and
//! asks this module what to do; this module never touches a device itself.
//!
//! Items are `pub(crate)` rather than `pub`: the module is private in both crates, and the
//! kernel builds with `-Wunreachable_pub`.

/// Role a new lower device takes under a failover master.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// The paravirtual device (virtio-net) sharing the master's parent device.
    Standby,
    /// The passthrough device (a PCI VF) preferred for transmission.
    Primary,
}

impl Role {
    /// Both roles, in index order.
    pub(crate) const ALL: [Role; 2] = [Role::Primary, Role::Standby];

    /// Index of the role in per-role arrays (`[primary, standby]`).
    pub(crate) const fn index(self) -> usize {
        match self {
            Role::Primary => 0,
            Role::Standby => 1,
        }
    }

    /// The role's name in log lines and user-visible text.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Standby => "standby",
        }
    }
}

/// Why a device whose permanent MAC matches a master is not enslaved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refusal {
    /// The device is not an Ethernet device (`type != ARPHRD_ETHER`).
    NotEthernet,
    /// The device is itself a master (a failover master, bond, team, ...), never a slave.
    IsMaster,
    /// Not the standby, and its parent is not a PCI device (veth, dummy, macvlan, VLAN, ...).
    PrimaryNotPci,
    /// Would be the standby, but the master already has one.
    StandbyTaken,
    /// Would be the primary, but the master already has one.
    PrimaryTaken,
    /// The device cannot handle VLANs while the master has VLANs configured.
    VlanChallenged,
    /// Explicit pairing: the master already has a primary and a standby.
    BothTaken,
}

impl Refusal {
    /// Human-readable reason, meant to follow the device names in a `netdev_err` line.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Refusal::NotEthernet => "is not an Ethernet device",
            Refusal::IsMaster => "is itself a master device",
            Refusal::PrimaryNotPci => "is not the standby and its parent is not a PCI device",
            Refusal::StandbyTaken => "would be the standby, but a standby is already present",
            Refusal::PrimaryTaken => "would be the primary, but a primary is already present",
            Refusal::VlanChallenged => "is VLAN challenged and the master has VLANs configured",
            Refusal::BothTaken => "would be a third lower device, but a master has two at most",
        }
    }
}

/// Facts about a device whose permanent MAC matches a failover master.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Candidate {
    /// `dev->type == ARPHRD_ETHER`.
    pub(crate) is_ethernet: bool,
    /// The device is a master itself (e.g. `netif_is_failover()`, `IFF_MASTER`).
    pub(crate) is_master: bool,
    /// `dev->dev.parent` is the failover master's parent device.
    pub(crate) same_parent_as_master: bool,
    /// `dev->dev.parent` exists and `dev_is_pci()` holds for it.
    pub(crate) parent_is_pci: bool,
    /// The master already has a standby slave.
    pub(crate) standby_present: bool,
    /// The master already has a primary slave.
    pub(crate) primary_present: bool,
    /// The candidate has `NETIF_F_VLAN_CHALLENGED`.
    pub(crate) vlan_challenged: bool,
    /// `vlan_uses_dev(master)`: VLANs are configured on the master.
    pub(crate) master_has_vlans: bool,
}

/// Decides whether and as what a candidate device is enslaved.
///
/// The role is standby iff the candidate shares the master's parent device, primary
/// otherwise. Refusals are checked in this order and the first that applies is returned:
///
/// 1. [`Refusal::NotEthernet`];
/// 2. [`Refusal::IsMaster`] (the master itself matches its own MAC and parent);
/// 3. for a standby: [`Refusal::StandbyTaken`]; for a primary: [`Refusal::PrimaryNotPci`],
///    then [`Refusal::PrimaryTaken`] (a non-PCI device can never be the primary, which is the
///    more useful reason; the C driver reports "already present" first);
/// 4. [`Refusal::VlanChallenged`]: the *candidate* is VLAN challenged while the master has
///    VLANs (the C driver tests the master's flag by mistake).
pub(crate) fn classify(c: &Candidate) -> Result<Role, Refusal> {
    if !c.is_ethernet {
        return Err(Refusal::NotEthernet);
    }
    if c.is_master {
        return Err(Refusal::IsMaster);
    }
    let role = if c.same_parent_as_master {
        if c.standby_present {
            return Err(Refusal::StandbyTaken);
        }
        Role::Standby
    } else {
        if !c.parent_is_pci {
            return Err(Refusal::PrimaryNotPci);
        }
        if c.primary_present {
            return Err(Refusal::PrimaryTaken);
        }
        Role::Primary
    };
    if c.vlan_challenged && c.master_has_vlans {
        return Err(Refusal::VlanChallenged);
    }
    Ok(role)
}

/// Decides whether and as what a device is enslaved by hand (`ip link set DEV master M`) to a
/// master created with `ip link add M type net_failover` (explicit pairing: no MAC matching,
/// `same_parent_as_master` is ignored).
///
/// A device whose parent is not a PCI device becomes the standby; a PCI device becomes the
/// primary, or the standby if the master has a primary but no standby (a pair of VFs).
/// Refusals, first that applies: [`Refusal::NotEthernet`], [`Refusal::IsMaster`], then
/// [`Refusal::StandbyTaken`] (a non-PCI device, standby present) or [`Refusal::BothTaken`] (a
/// PCI device, both present), then [`Refusal::VlanChallenged`].
pub(crate) fn classify_explicit(c: &Candidate) -> Result<Role, Refusal> {
    if !c.is_ethernet {
        return Err(Refusal::NotEthernet);
    }
    if c.is_master {
        return Err(Refusal::IsMaster);
    }
    let role = match (c.parent_is_pci, c.primary_present, c.standby_present) {
        (false, _, true) => return Err(Refusal::StandbyTaken),
        (false, _, false) => Role::Standby,
        (true, false, _) => Role::Primary,
        (true, true, false) => Role::Standby,
        (true, true, true) => return Err(Refusal::BothTaken),
    };
    if c.vlan_challenged && c.master_has_vlans {
        return Err(Refusal::VlanChallenged);
    }
    Ok(role)
}

/// Observable state of one slave slot of the master.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct SlaveState {
    /// A slave occupies the slot.
    pub(crate) present: bool,
    /// `netif_running()` of the slave.
    pub(crate) running: bool,
    /// `netif_carrier_ok()` of the slave.
    pub(crate) carrier: bool,
    /// A new primary inside its takeover delay: it carries traffic only if the standby cannot.
    /// Does not change [`SlaveState::ready`] (nor the master's carrier).
    pub(crate) held: bool,
}

impl SlaveState {
    /// The slave can carry traffic right now.
    pub(crate) fn ready(self) -> bool {
        self.present && self.running && self.carrier
    }
}

/// Where the master sends a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TxPath {
    /// Transmit on the primary.
    Primary,
    /// Transmit on the standby.
    Standby,
    /// No slave is ready: drop the frame and count it in `tx_dropped`.
    Drop,
}

impl TxPath {
    /// The path's name in user-visible text (uevents, sysfs): `primary`, `standby` or `none`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            TxPath::Primary => "primary",
            TxPath::Standby => "standby",
            TxPath::Drop => "none",
        }
    }
}

/// Chooses the transmit path: the primary if it is present, running and has carrier (and not
/// held in its takeover delay while the standby is ready), else the standby under the same
/// conditions, else [`TxPath::Drop`]. A held primary still beats dropping.
pub(crate) fn tx_path(primary: SlaveState, standby: SlaveState) -> TxPath {
    if primary.ready() && !(primary.held && standby.ready()) {
        TxPath::Primary
    } else if standby.ready() {
        TxPath::Standby
    } else {
        TxPath::Drop
    }
}

/// How long after tx switched to the primary the standby's unicast frames for the master still
/// go up to it ([`standby_frame`]): the hypervisor's switch sends them to the standby's port
/// until it learns the master's address on the primary's port from the first frame the master
/// sends there (its peer notification, sent on the switch; 10 to 35 ms after the switch in a
/// loaded debug guest under TCG, measured). Bounded so that a switch that floods our unicast to
/// both ports cannot duplicate it for long.
pub(crate) const STANDBY_RX_GRACE_NS: i64 = 1_000_000_000;

/// When the grace for the standby's unicast frames ends, given that the recorded tx path became
/// `path` at `now_ns`: [`STANDBY_RX_GRACE_NS`] later for the primary (also as the first path
/// after the master opens: the switch may still know our address on the standby's port from
/// before); never while the path is not the primary (`i64::MAX`: the datapath may start using
/// the primary before the path is recorded, which then has the grace from its start).
pub(crate) fn standby_rx_grace_until(path: TxPath, now_ns: i64) -> i64 {
    match path {
        TxPath::Primary => now_ns.saturating_add(STANDBY_RX_GRACE_NS),
        TxPath::Standby | TxPath::Drop => i64::MAX,
    }
}

/// A grace end that a frame found passed: [`standby_frame`] reads no clock for it.
pub(crate) const GRACE_OVER: i64 = i64::MIN;

/// What becomes of a frame that arrived on the standby while the primary carries tx.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StandbyFrame {
    /// Up to the master: a unicast frame for this host inside the grace.
    Up,
    /// Only for listeners of the standby itself (`RX_HANDLER_EXACT`).
    Exact,
    /// As `Exact`, and the grace is over: the caller may record [`GRACE_OVER`] in place of the
    /// grace end it passed, so that later frames skip the clock.
    GraceOver,
}

/// Decides [`StandbyFrame`]: only a unicast frame for this host (`for_host`; broadcasts and
/// multicasts also arrive through the primary, and would be duplicated) received before the
/// grace ends ([`standby_rx_grace_until`]) goes up. `now_ns` reads the clock, only for a
/// unicast frame while the grace end is neither [`GRACE_OVER`] nor `i64::MAX` (no end yet).
pub(crate) fn standby_frame(
    for_host: bool,
    now_ns: impl FnOnce() -> i64,
    grace_until_ns: i64,
) -> StandbyFrame {
    if !for_host || grace_until_ns == GRACE_OVER {
        StandbyFrame::Exact
    } else if grace_until_ns == i64::MAX || now_ns() < grace_until_ns {
        StandbyFrame::Up
    } else {
        StandbyFrame::GraceOver
    }
}

/// Carrier of the master: on iff at least one slave is ready, i.e. iff [`tx_path`] would not
/// drop.
pub(crate) fn master_carrier(primary: SlaveState, standby: SlaveState) -> bool {
    primary.ready() || standby.ready()
}

/// Number of `u64` fields in `struct rtnl_link_stats64` (`include/uapi/linux/if_link.h`, 6.12).
pub(crate) const NSTATS: usize = 25;

/// The fields of `struct rtnl_link_stats64`, in declaration order:
///
/// | index | field | index | field |
/// |---|---|---|---|
/// | 0 | `rx_packets` | 13 | `rx_frame_errors` |
/// | 1 | `tx_packets` | 14 | `rx_fifo_errors` |
/// | 2 | `rx_bytes` | 15 | `rx_missed_errors` |
/// | 3 | `tx_bytes` | 16 | `tx_aborted_errors` |
/// | 4 | `rx_errors` | 17 | `tx_carrier_errors` |
/// | 5 | `tx_errors` | 18 | `tx_fifo_errors` |
/// | 6 | `rx_dropped` | 19 | `tx_heartbeat_errors` |
/// | 7 | `tx_dropped` | 20 | `tx_window_errors` |
/// | 8 | `multicast` | 21 | `rx_compressed` |
/// | 9 | `collisions` | 22 | `tx_compressed` |
/// | 10 | `rx_length_errors` | 23 | `rx_nohandler` |
/// | 11 | `rx_over_errors` | 24 | `rx_otherhost_dropped` |
/// | 12 | `rx_crc_errors` | | |
///
/// The struct has no padding, so the driver may copy it to and from this array field by field
/// in this order. `Default` is all zeros.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Counters(pub(crate) [u64; NSTATS]);

/// Increase of one counter from `last` to `now`.
fn delta(last: u64, now: u64) -> u64 {
    const WRAP: u64 = 1 << 32;
    match now.checked_sub(last) {
        Some(d) => d,
        // A 32-bit counter wrapped: `now < last < 2^32`, so this cannot overflow.
        None if last < WRAP && last - now > WRAP / 2 => (WRAP - last) + now,
        // The counter was reset: everything it shows was counted since.
        None => now,
    }
}

/// Folds a new snapshot `now` of one slave into the master's running `total` and into
/// `lower_total`, the running total of the slave's role (what the slaves that held the role
/// carried under this master, for `ethtool -S`).
///
/// For every field, the increase since `last` (the previous snapshot of the same slave) is added
/// to `total`, then `last` becomes `now`. When a field went down:
///
/// - if `last` fits in 32 bits and the drop `last - now` exceeds 2^31, the slave has a 32-bit
///   counter that wrapped: the increase is `now + 2^32 - last`;
/// - otherwise the counter was reset (device re-created or reset): the increase is `now`.
///
/// Additions saturate at `u64::MAX`, so totals never go backwards, and nothing here can panic.
/// A new slave starts with `last` zeroed; when a slave goes away the driver folds it one last
/// time and then drops (zeroes) its `last`, so the totals keep what it counted.
///
/// Known ambiguity: a reset of a counter that was below 2^32 but more than 2^31 looks like a
/// wrap and is over-counted by at most 2^32; totals still never go backwards.
pub(crate) fn fold(
    total: &mut Counters,
    lower_total: &mut Counters,
    last: &mut Counters,
    now: &Counters,
) {
    for (((t, r), l), n) in total
        .0
        .iter_mut()
        .zip(lower_total.0.iter_mut())
        .zip(last.0.iter_mut())
        .zip(now.0.iter())
    {
        let d = delta(*l, *n);
        *t = t.saturating_add(d);
        *r = r.saturating_add(d);
        *l = *n;
    }
}

/// Inclusive MTU limits of a device (`min_mtu`, `max_mtu`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MtuRange {
    /// Smallest accepted MTU.
    pub(crate) min: u32,
    /// Largest accepted MTU; 0 means no upper limit, as in the core (`dev_validate_mtu()`).
    pub(crate) max: u32,
}

/// MTU limits of the master: what `base` (the limits the master was created with: its
/// standby's for a master of `virtio_net`), the primary and the standby present all accept.
///
/// `base` stays in even when its standby is away (another namespace, say): a master MTU above
/// the standby's maximum would keep the standby from ever being enslaved again. If the ranges
/// have nothing in common, the primary's wins, else the standby's (the lower devices refuse an
/// MTU they cannot take anyway).
pub(crate) fn mtu_range(
    primary: Option<MtuRange>,
    standby: Option<MtuRange>,
    base: MtuRange,
) -> MtuRange {
    let both = |a: MtuRange, b: MtuRange| MtuRange {
        min: a.min.max(b.min),
        max: match (a.max, b.max) {
            (0, m) | (m, 0) => m,
            (x, y) => x.min(y),
        },
    };
    let r = [primary, standby].into_iter().flatten().fold(base, both);
    if r.max == 0 || r.min <= r.max {
        r
    } else {
        primary.or(standby).unwrap_or(base)
    }
}

/// Whether `mtu` lies within `r`, both ends included; a `max` of 0 sets no upper limit.
pub(crate) fn mtu_ok(mtu: u32, r: MtuRange) -> bool {
    r.min <= mtu && (r.max == 0 || mtu <= r.max)
}

/// Fewest tx queues the master gets: the fixed count of the C driver.
const MIN_TX_QUEUES: u32 = 16;

/// Most tx queues the master gets.
const MAX_TX_QUEUES: u32 = 256;

/// Number of tx queues to allocate for the master: `possible_cpus` clamped to `16..=256`.
///
/// The master has no qdisc and is lockless (`lltx`); its queue selection asks the primary for
/// an index, restores the primary's own mapping before handing the frame over, and only wraps
/// the index into the master's range for the master's bookkeeping. Fewer master queues than
/// the primary thus never misroutes a frame, but aliases distinct primary queues onto one
/// master queue (shared stop/wake state and per-queue counters). A VF driver allocates at most
/// one queue per possible CPU, so one master queue per possible CPU avoids any aliasing. The
/// floor of 16 keeps parity with the C driver on small guests; the ceiling of 256 bounds the
/// per-queue memory and sysfs objects on very large guests, where VFs cap their queues well
/// below the CPU count anyway.
pub(crate) fn master_tx_queues(possible_cpus: u32) -> u32 {
    possible_cpus.clamp(MIN_TX_QUEUES, MAX_TX_QUEUES)
}

/// Time left, in ms, below which the takeover work is armed for the whole rest at once.
const TAKEOVER_LAST_STEP_MS: u32 = 2000;

/// When to run the takeover work next, in ms from now, with `left_ms` to go until the held
/// primary may take over.
///
/// A long timer is coarse: the timer wheel rounds a 60 s timeout up by as much as 4 s (8/63 of
/// it at most), and a guest's jiffies can fall behind its clock when the host is busy. So the
/// work is armed for half the time left, and each run re-arms it for half of what is left then
/// (measured on the clock), until at most [`TAKEOVER_LAST_STEP_MS`] remain, which it waits in one
/// step: the takeover then comes at most that short timer's slack after it is due, whatever the
/// delay (6 runs for 60 s: at 30, 45, 52.5, 56.25, 58.1 and 60 s). Never 0 while time is left.
pub(crate) fn takeover_step_ms(left_ms: u32) -> u32 {
    if left_ms > TAKEOVER_LAST_STEP_MS {
        left_ms / 2
    } else {
        left_ms
    }
}
