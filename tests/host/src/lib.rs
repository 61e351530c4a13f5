// SPDX-License-Identifier: GPL-2.0

//! Host unit tests of the pure decision module of the Rust `net_failover` driver.
//!
//! `drivers/net/net_failover_policy.rs` is compiled here exactly as the kernel compiles it (a
//! private module of the crate, `pub(crate)` items). It is only built for `cargo test`, where
//! every item is used; a plain `cargo build` of this crate is empty.

#[cfg(test)]
#[path = "../../../drivers/net/net_failover_policy.rs"]
mod policy;

#[cfg(test)]
mod tests {
    use super::policy::*;

    /// Tiny xorshift64 generator: deterministic, no crates.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// Uniform-ish value in `0..n` (`n > 0`).
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// True with probability `1 / n`.
        fn one_in(&mut self, n: u64) -> bool {
            self.below(n) == 0
        }
    }

    // ---------------------------------------------------------------- classify

    fn candidate(bits: u32) -> Candidate {
        let b = |i: u32| bits & (1 << i) != 0;
        Candidate {
            is_ethernet: b(0),
            is_master: b(1),
            same_parent_as_master: b(2),
            parent_is_pci: b(3),
            standby_present: b(4),
            primary_present: b(5),
            vlan_challenged: b(6),
            master_has_vlans: b(7),
        }
    }

    /// Written from the spec as a list of (condition, refusal) rules in priority order,
    /// independently of the structure of `classify`.
    fn oracle(c: &Candidate) -> Result<Role, Refusal> {
        let standby = c.same_parent_as_master;
        let rules = [
            (!c.is_ethernet, Refusal::NotEthernet),
            (c.is_master, Refusal::IsMaster),
            (standby && c.standby_present, Refusal::StandbyTaken),
            (!standby && !c.parent_is_pci, Refusal::PrimaryNotPci),
            (!standby && c.primary_present, Refusal::PrimaryTaken),
            (
                c.vlan_challenged && c.master_has_vlans,
                Refusal::VlanChallenged,
            ),
        ];
        match rules.iter().find(|(applies, _)| *applies) {
            Some(&(_, refusal)) => Err(refusal),
            None if standby => Ok(Role::Standby),
            None => Ok(Role::Primary),
        }
    }

    #[test]
    fn classify_matches_oracle_for_all_256_candidates() {
        let mut seen = [0usize; 8];
        for bits in 0..256 {
            let c = candidate(bits);
            let got = classify(&c);
            assert_eq!(got, oracle(&c), "candidate {c:?}");
            let slot = match got {
                Ok(Role::Standby) => 0,
                Ok(Role::Primary) => 1,
                Err(Refusal::NotEthernet) => 2,
                Err(Refusal::IsMaster) => 3,
                Err(Refusal::PrimaryNotPci) => 4,
                Err(Refusal::StandbyTaken) => 5,
                Err(Refusal::PrimaryTaken) => 6,
                Err(Refusal::VlanChallenged) => 7,
                Err(Refusal::BothTaken) => panic!("automatic pairing never has three"),
            };
            seen[slot] += 1;
        }
        // Every outcome is reachable; the counts follow from the priority order.
        assert_eq!(seen, [12, 6, 128, 64, 16, 16, 8, 6]);
    }

    /// Explicit pairing, from the spec: the role follows the bus (non-PCI: standby; PCI:
    /// primary, else standby), `same_parent_as_master` plays no part.
    fn oracle_explicit(c: &Candidate) -> Result<Role, Refusal> {
        let role = if !c.parent_is_pci || c.primary_present {
            Role::Standby
        } else {
            Role::Primary
        };
        let rules = [
            (!c.is_ethernet, Refusal::NotEthernet),
            (c.is_master, Refusal::IsMaster),
            (!c.parent_is_pci && c.standby_present, Refusal::StandbyTaken),
            (
                c.parent_is_pci && c.primary_present && c.standby_present,
                Refusal::BothTaken,
            ),
            (
                c.vlan_challenged && c.master_has_vlans,
                Refusal::VlanChallenged,
            ),
        ];
        match rules.iter().find(|(applies, _)| *applies) {
            Some(&(_, refusal)) => Err(refusal),
            None => Ok(role),
        }
    }

    #[test]
    fn classify_explicit_matches_oracle_for_all_256_candidates() {
        let mut standby = 0;
        let mut primary = 0;
        for bits in 0..256 {
            let c = candidate(bits);
            let got = classify_explicit(&c);
            assert_eq!(got, oracle_explicit(&c), "candidate {c:?}");
            // Never a third lower device, never a second one in a role.
            match got {
                Ok(Role::Standby) => {
                    standby += 1;
                    assert!(!c.standby_present);
                }
                Ok(Role::Primary) => {
                    primary += 1;
                    assert!(!c.primary_present && c.parent_is_pci);
                }
                Err(_) => {}
            }
            let mut other = c;
            other.same_parent_as_master = !c.same_parent_as_master;
            assert_eq!(classify_explicit(&other), got);
        }
        // Ethernet, not a master, no VLAN conflict: 64 of 256 candidates; of those, per 16
        // (bus, primary, standby, parent) combinations: non-PCI without standby 4, PCI with
        // primary but no standby 2 are standbys; PCI without primary 4 are primaries.
        assert_eq!((standby, primary), (6 * 3, 4 * 3));
    }

    #[test]
    fn classify_properties() {
        for bits in 0..256 {
            let c = candidate(bits);
            match classify(&c) {
                Ok(role) => {
                    assert!(c.is_ethernet && !c.is_master);
                    assert_eq!(role == Role::Standby, c.same_parent_as_master);
                    if role == Role::Standby {
                        assert!(!c.standby_present);
                    } else {
                        assert!(c.parent_is_pci && !c.primary_present);
                    }
                    assert!(!(c.vlan_challenged && c.master_has_vlans));
                }
                Err(Refusal::NotEthernet) => assert!(!c.is_ethernet),
                Err(Refusal::IsMaster) => assert!(c.is_master),
                Err(Refusal::PrimaryNotPci) => {
                    assert!(!c.same_parent_as_master && !c.parent_is_pci)
                }
                Err(Refusal::StandbyTaken) => {
                    assert!(c.same_parent_as_master && c.standby_present)
                }
                Err(Refusal::PrimaryTaken) => {
                    assert!(!c.same_parent_as_master && c.primary_present)
                }
                Err(Refusal::VlanChallenged) => assert!(c.vlan_challenged && c.master_has_vlans),
                Err(Refusal::BothTaken) => panic!("automatic pairing never has three"),
            }
            // A standby's PCI-ness and the other slot never matter.
            if c.same_parent_as_master {
                let mut other = c;
                other.parent_is_pci = !c.parent_is_pci;
                other.primary_present = !c.primary_present;
                assert_eq!(classify(&other), classify(&c));
            } else {
                let mut other = c;
                other.standby_present = !c.standby_present;
                assert_eq!(classify(&other), classify(&c));
            }
            // VLAN-challenged-ness matters only while the master has VLANs.
            if !c.master_has_vlans {
                let mut other = c;
                other.vlan_challenged = !c.vlan_challenged;
                assert_eq!(classify(&other), classify(&c));
            }
        }
    }

    const VIRTIO: Candidate = Candidate {
        is_ethernet: true,
        is_master: false,
        same_parent_as_master: true,
        parent_is_pci: false,
        standby_present: false,
        primary_present: false,
        vlan_challenged: false,
        master_has_vlans: false,
    };

    const VF: Candidate = Candidate {
        same_parent_as_master: false,
        parent_is_pci: true,
        ..VIRTIO
    };

    #[test]
    fn classify_scenarios() {
        // The virtio standby and a VF, in either order.
        assert_eq!(classify(&VIRTIO), Ok(Role::Standby));
        assert_eq!(classify(&VF), Ok(Role::Primary));
        let vf_after_standby = Candidate {
            standby_present: true,
            ..VF
        };
        assert_eq!(classify(&vf_after_standby), Ok(Role::Primary));
        // The master itself (same parent, same MAC) is never its own slave.
        let master = Candidate {
            is_master: true,
            ..VIRTIO
        };
        assert_eq!(classify(&master), Err(Refusal::IsMaster));
        // A bond with the same MAC.
        let bond = Candidate {
            is_master: true,
            ..VF
        };
        assert_eq!(classify(&bond), Err(Refusal::IsMaster));
        // veth / dummy / macvlan / VLAN: no parent or a non-PCI parent.
        let veth = Candidate {
            parent_is_pci: false,
            ..VF
        };
        assert_eq!(classify(&veth), Err(Refusal::PrimaryNotPci));
        let veth_while_primary = Candidate {
            primary_present: true,
            ..veth
        };
        assert_eq!(classify(&veth_while_primary), Err(Refusal::PrimaryNotPci));
        // A second VF.
        let second_vf = Candidate {
            primary_present: true,
            ..VF
        };
        assert_eq!(classify(&second_vf), Err(Refusal::PrimaryTaken));
        // A second standby.
        let second_standby = Candidate {
            standby_present: true,
            ..VIRTIO
        };
        assert_eq!(classify(&second_standby), Err(Refusal::StandbyTaken));
        // VLAN-challenged VF: fine without VLANs, refused with them.
        let challenged = Candidate {
            vlan_challenged: true,
            ..VF
        };
        assert_eq!(classify(&challenged), Ok(Role::Primary));
        let with_vlans = Candidate {
            master_has_vlans: true,
            ..challenged
        };
        assert_eq!(classify(&with_vlans), Err(Refusal::VlanChallenged));
        // A capable VF is accepted while VLANs are configured (C refused by master flag).
        let capable = Candidate {
            master_has_vlans: true,
            ..VF
        };
        assert_eq!(classify(&capable), Ok(Role::Primary));
        // Infiniband etc.
        let ipoib = Candidate {
            is_ethernet: false,
            ..VF
        };
        assert_eq!(classify(&ipoib), Err(Refusal::NotEthernet));
    }

    #[test]
    fn refusal_reasons_are_distinct_one_line_text() {
        let all = [
            Refusal::NotEthernet,
            Refusal::IsMaster,
            Refusal::PrimaryNotPci,
            Refusal::StandbyTaken,
            Refusal::PrimaryTaken,
            Refusal::VlanChallenged,
        ];
        for (i, a) in all.iter().enumerate() {
            let r = a.reason();
            assert!(!r.is_empty() && r.is_ascii(), "{a:?}");
            assert!(!r.contains('\n') && !r.contains('%'), "{a:?}");
            assert_eq!(r.trim(), r, "{a:?}");
            for b in &all[i + 1..] {
                assert_ne!(r, b.reason(), "{a:?} vs {b:?}");
            }
        }
    }

    // ---------------------------------------------------------------- tx path, carrier

    fn slave(bits: u32) -> SlaveState {
        SlaveState {
            present: bits & 1 != 0,
            running: bits & 2 != 0,
            carrier: bits & 4 != 0,
            held: bits & 8 != 0,
        }
    }

    #[test]
    fn tx_path_names_are_the_user_visible_ones() {
        assert_eq!(TxPath::Primary.name(), "primary");
        assert_eq!(TxPath::Standby.name(), "standby");
        assert_eq!(TxPath::Drop.name(), "none");
    }

    /// The takeover delay: a held primary gives way to a ready standby only, whatever the
    /// standby's own `held` (meaningless for a standby) says; carrier ignores it.
    #[test]
    fn held_primary_for_all_256_states() {
        for p in 0..16 {
            for s in 0..16 {
                let (primary, standby) = (slave(p), slave(s));
                let unheld = SlaveState {
                    held: false,
                    ..primary
                };
                let got = tx_path(primary, standby);
                let expected = match tx_path(unheld, standby) {
                    TxPath::Primary if primary.held && standby.ready() => TxPath::Standby,
                    other => other,
                };
                assert_eq!(got, expected, "primary {primary:?} standby {standby:?}");
                assert_eq!(
                    master_carrier(primary, standby),
                    master_carrier(unheld, standby)
                );
            }
        }
        let ready = slave(7);
        let held = slave(15);
        assert_eq!(tx_path(held, ready), TxPath::Standby);
        assert_eq!(tx_path(held, slave(3)), TxPath::Primary);
        assert_eq!(tx_path(ready, ready), TxPath::Primary);
        assert_eq!(tx_path(held, slave(15)), TxPath::Standby);
    }

    #[test]
    fn tx_path_and_carrier_for_all_64_states() {
        let mut counts = [0usize; 3];
        for p in 0..8 {
            for s in 0..8 {
                let (primary, standby) = (slave(p), slave(s));
                let expected = if p == 7 {
                    TxPath::Primary
                } else if s == 7 {
                    TxPath::Standby
                } else {
                    TxPath::Drop
                };
                let got = tx_path(primary, standby);
                assert_eq!(got, expected, "primary {primary:?} standby {standby:?}");
                assert_eq!(master_carrier(primary, standby), got != TxPath::Drop);
                counts[got as usize] += 1;
            }
        }
        assert_eq!(counts, [8, 7, 49]);
        assert_eq!(SlaveState::default(), slave(0));
    }

    // ---------------------------------------------------------------- fold

    const WRAP: u64 = 1 << 32;

    /// [`fold`] with a fresh per-role total, which must get exactly the increases `total` got
    /// (where `total` did not saturate).
    fn fold3(total: &mut Counters, last: &mut Counters, now: &Counters) {
        let before = *total;
        let mut lower = Counters::default();
        fold(total, &mut lower, last, now);
        for i in 0..NSTATS {
            if total.0[i] != u64::MAX {
                assert_eq!(lower.0[i], total.0[i] - before.0[i], "field {i}");
            }
        }
    }

    #[test]
    fn fold_role_totals_accumulate() {
        let (mut total, mut role, mut last) = (filled(5), filled(0), filled(0));
        fold(&mut total, &mut role, &mut last, &filled(10));
        fold(&mut total, &mut role, &mut last, &filled(12));
        assert_eq!(total, filled(17));
        assert_eq!(role, filled(12));
        // A new slave in the role starts from a zeroed `last`.
        last = Counters::default();
        fold(&mut total, &mut role, &mut last, &filled(3));
        assert_eq!(role, filled(15));
        fold(&mut total, &mut role, &mut last, &filled(u64::MAX));
        assert_eq!(role, filled(u64::MAX));
    }

    fn filled(v: u64) -> Counters {
        Counters([v; NSTATS])
    }

    #[test]
    fn counters_default_is_zero_and_nstats_matches_uapi() {
        assert_eq!(Counters::default(), filled(0));
        assert_eq!(NSTATS, 25);
    }

    /// The `if_link.h` to check against: `include/uapi/linux/if_link.h` of `NF_KERNEL_SRC` (set
    /// by `scripts/run-tests.sh` to the pristine 6.12 tree), else of a pristine tree in the
    /// project's cache (`$NF_CACHE`, default `~/.cache/rust-net-failover`, `linux-*/pristine`,
    /// where `make host-test` finds it after set-up), else the machine's
    /// `/usr/include/linux/if_link.h` (linux-libc-dev). `None` when there is none of them.
    fn if_link_h() -> Option<std::path::PathBuf> {
        use std::path::PathBuf;
        let rel = "include/uapi/linux/if_link.h";
        if let Ok(src) = std::env::var("NF_KERNEL_SRC") {
            // Named explicitly: it must be there.
            return Some(PathBuf::from(src).join(rel));
        }
        let cache = std::env::var("NF_CACHE")
            .map(PathBuf::from)
            .ok()
            .or_else(|| {
                let base = std::env::var("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
                    .ok()?;
                Some(base.join("rust-net-failover"))
            });
        if let Some(Ok(entries)) = cache.map(std::fs::read_dir) {
            let mut trees: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path().join("pristine").join(rel))
                .filter(|p| p.is_file())
                .collect();
            trees.sort();
            if let Some(p) = trees.pop() {
                return Some(p);
            }
        }
        let sys = PathBuf::from("/usr/include/linux/if_link.h");
        sys.is_file().then_some(sys)
    }

    /// The fields of `struct rtnl_link_stats64` in `if_link.h` (see [`if_link_h`]) are the
    /// [`NSTATS`] fields, in the order the [`Counters`] documentation gives.
    #[test]
    fn nstats_matches_if_link_h() {
        const FIELDS: [&str; NSTATS] = [
            "rx_packets",
            "tx_packets",
            "rx_bytes",
            "tx_bytes",
            "rx_errors",
            "tx_errors",
            "rx_dropped",
            "tx_dropped",
            "multicast",
            "collisions",
            "rx_length_errors",
            "rx_over_errors",
            "rx_crc_errors",
            "rx_frame_errors",
            "rx_fifo_errors",
            "rx_missed_errors",
            "tx_aborted_errors",
            "tx_carrier_errors",
            "tx_fifo_errors",
            "tx_heartbeat_errors",
            "tx_window_errors",
            "rx_compressed",
            "tx_compressed",
            "rx_nohandler",
            "rx_otherhost_dropped",
        ];
        let path = if_link_h().expect(
            "no if_link.h: set NF_KERNEL_SRC, run scripts/setup.sh (pristine tree in the cache) \
             or install linux-libc-dev",
        );
        eprintln!("checking struct rtnl_link_stats64 in {}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let start = text
            .find("struct rtnl_link_stats64 {")
            .expect("struct present");
        let body = &text[start..];
        let body = &body[..body.find("};").expect("struct end")];
        let fields: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("__u64"))
            .map(|l| l.trim().trim_end_matches(';').trim())
            .collect();
        assert_eq!(fields, FIELDS);
    }

    #[test]
    fn fold_adds_deltas_and_updates_last() {
        let mut total = filled(100);
        let mut last = filled(10);
        let mut now = filled(15);
        now.0[3] = 10; // unchanged field
        fold3(&mut total, &mut last, &now);
        assert_eq!(last, now);
        for i in 0..NSTATS {
            assert_eq!(total.0[i], if i == 3 { 100 } else { 105 });
        }
        // Folding the same snapshot again adds nothing.
        let before = total;
        fold3(&mut total, &mut last, &now);
        assert_eq!(total, before);
    }

    #[test]
    fn fold_32bit_wrap() {
        let cases = [
            // (last, now, delta)
            (WRAP - 1, 0, 1),
            (WRAP - 16, 5, 21),
            (WRAP - 1, WRAP / 2 - 2, WRAP / 2 - 1),
            (WRAP / 2 + 1, 0, WRAP / 2 - 1),
        ];
        for (l, n, d) in cases {
            assert!(l - n > WRAP / 2, "case must be a wrap: {l} -> {n}");
            let mut total = filled(7);
            let mut last = filled(l);
            fold3(&mut total, &mut last, &filled(n));
            assert_eq!(total, filled(7 + d), "{l} -> {n}");
            assert_eq!(last, filled(n));
        }
    }

    #[test]
    fn fold_reset() {
        let cases = [
            // (last, now): a drop that is not a 32-bit wrap, so delta = now.
            (10, 3),
            (10, 0),
            (WRAP / 2, 0),        // drop of exactly 2^31: not more than half
            (WRAP - 1, WRAP / 2), // drop of 2^31 - 1
            (WRAP, 0),            // last does not fit in 32 bits
            (WRAP, 5),
            (u64::MAX, 0),
            (u64::MAX, 12345),
            (u64::MAX, u64::MAX - 1),
            (1 << 40, 1 << 39),
        ];
        for (l, n) in cases {
            let mut total = filled(1000);
            let mut last = filled(l);
            fold3(&mut total, &mut last, &filled(n));
            assert_eq!(total, filled(1000u64.saturating_add(n)), "{l} -> {n}");
            assert_eq!(last, filled(n));
        }
    }

    #[test]
    fn fold_saturates_instead_of_wrapping() {
        let mut total = filled(u64::MAX - 5);
        let mut last = filled(0);
        fold3(&mut total, &mut last, &filled(u64::MAX));
        assert_eq!(total, filled(u64::MAX));
        fold3(&mut total, &mut last, &filled(3));
        assert_eq!(total, filled(u64::MAX));
    }

    /// Arbitrary snapshots, including extreme values: never panics (tests run with overflow
    /// checks), totals never decrease, `last` always becomes `now`.
    #[test]
    fn fold_random_chaos_is_monotonic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..2000 {
            let mut total = Counters::default();
            let mut last = Counters::default();
            for _ in 0..50 {
                let mut now = Counters::default();
                for v in now.0.iter_mut() {
                    *v = match rng.below(6) {
                        0 => rng.next(),
                        1 => rng.next() & (WRAP - 1),
                        2 => u64::MAX - rng.below(4),
                        3 => WRAP - 1 - rng.below(4),
                        4 => rng.below(4),
                        _ => rng.below(WRAP) + WRAP / 2,
                    };
                }
                let before = total;
                fold3(&mut total, &mut last, &now);
                assert_eq!(last, now);
                for i in 0..NSTATS {
                    assert!(total.0[i] >= before.0[i], "round {round} field {i}");
                }
            }
        }
    }

    /// A simulated device field: counts true traffic, as a 32-bit or 64-bit counter, and is
    /// sometimes reset. Used where the fold rule is unambiguous, so totals must be exact.
    struct Field {
        wide: bool,
        value: u64,
    }

    impl Field {
        fn count(&mut self, n: u64) {
            self.value = if self.wide {
                self.value.wrapping_add(n)
            } else {
                (self.value + n) & (WRAP - 1)
            };
        }
    }

    #[test]
    fn fold_random_sequences_are_exact() {
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        for _ in 0..500 {
            let mut fields: Vec<Field> = (0..NSTATS)
                .map(|_| {
                    let wide = rng.one_in(2);
                    let value = if wide {
                        rng.next() >> 8
                    } else {
                        rng.below(WRAP)
                    };
                    Field { wide, value }
                })
                .collect();
            let mut last = Counters(core::array::from_fn(|i| fields[i].value));
            let mut total = Counters::default();
            let mut expected = [0u64; NSTATS];
            for _ in 0..100 {
                for (i, f) in fields.iter_mut().enumerate() {
                    // 32-bit counters: less than 2^31 between two samples keeps wraps detectable.
                    let step = match rng.below(4) {
                        0 => 0,
                        1 => rng.below(1000),
                        2 => rng.below(WRAP / 2),
                        _ => rng.below(1 << 20),
                    };
                    // Reset of a 64-bit counter that has passed 2^32, followed by a little
                    // traffic: unambiguous. Traffic before the reset was sampled already.
                    if f.wide && f.value >= WRAP && rng.one_in(20) {
                        f.value = 0;
                        let after = step % 1000;
                        f.count(after);
                        expected[i] += after;
                    } else {
                        f.count(step);
                        expected[i] += step;
                    }
                }
                let before = total;
                fold3(
                    &mut total,
                    &mut last,
                    &Counters(core::array::from_fn(|i| fields[i].value)),
                );
                for i in 0..NSTATS {
                    assert!(total.0[i] >= before.0[i]);
                }
                assert_eq!(total.0, expected);
            }
        }
    }

    /// The driver's use: one total, one `last` per slave; a removed slave is folded one last
    /// time and its `last` dropped; a new slave starts from a zeroed `last`.
    #[test]
    fn fold_slave_removal_and_replacement() {
        let mut total = Counters::default();
        let mut last_primary = Counters::default();
        let mut last_standby = Counters::default();

        fold3(&mut total, &mut last_primary, &filled(100));
        fold3(&mut total, &mut last_standby, &filled(40));
        assert_eq!(total, filled(140));

        // Primary unplugged: final fold, then its snapshot is dropped.
        fold3(&mut total, &mut last_primary, &filled(130));
        last_primary = Counters::default();
        assert_eq!(total, filled(170));

        // Only the standby counts for a while.
        fold3(&mut total, &mut last_standby, &filled(50));
        assert_eq!(total, filled(180));

        // A new VF with fresh (small) counters: nothing goes backwards, its traffic counts.
        fold3(&mut total, &mut last_primary, &filled(7));
        assert_eq!(total, filled(187));

        // Had the driver kept the stale snapshot (130) instead of dropping it, the new
        // device's 7 would read as a reset and still count 7: never backwards either way.
        let mut stale = filled(130);
        let mut t = filled(187);
        fold3(&mut t, &mut stale, &filled(7));
        assert_eq!(t, filled(194));

        // Standby removed without a final fold: its unfolded traffic is lost, the totals stay,
        // and a re-created standby counts from its fresh counters.
        last_standby = Counters::default();
        fold3(&mut total, &mut last_standby, &filled(3));
        assert_eq!(total, filled(190));
    }

    // ---------------------------------------------------------------- MTU

    #[test]
    fn mtu_range_is_what_every_present_range_and_the_base_accept() {
        let r = |min, max| MtuRange { min, max };
        let wide = r(68, 65535);
        // both lower devices, a wide base: the narrower of the two
        assert_eq!(mtu_range(Some(r(68, 9000)), Some(wide), wide), r(68, 9000));
        assert_eq!(mtu_range(Some(wide), Some(r(68, 4000)), wide), r(68, 4000));
        // the standby away (another namespace): its range, as the base, still caps the
        // master (seed 20261128 of the soak: MTU 4001 set, the standby never came back)
        assert_eq!(mtu_range(Some(r(68, 9018)), None, r(68, 4000)), r(68, 4000));
        assert_eq!(mtu_range(None, Some(r(68, 9000)), r(68, 1500)), r(68, 1500));
        assert_eq!(mtu_range(None, None, r(68, 1500)), r(68, 1500));
        // minimums: the largest
        assert_eq!(
            mtu_range(Some(r(1280, 9000)), None, r(68, 9000)),
            r(1280, 9000)
        );
        // a maximum of 0 sets no limit
        assert_eq!(mtu_range(Some(r(68, 0)), None, r(68, 4000)), r(68, 4000));
        assert_eq!(
            mtu_range(Some(r(100, 0)), Some(r(68, 0)), r(68, 0)),
            r(100, 0)
        );
        // nothing in common: the primary's, else the standby's
        assert_eq!(
            mtu_range(Some(r(68, 1500)), None, r(1600, 9000)),
            r(68, 1500)
        );
        assert_eq!(
            mtu_range(None, Some(r(68, 1500)), r(1600, 9000)),
            r(68, 1500)
        );
        assert_eq!(
            mtu_range(Some(r(68, 1500)), Some(r(2000, 9000)), wide),
            r(68, 1500)
        );
    }

    #[test]
    fn mtu_ok_edges() {
        let r = MtuRange { min: 68, max: 9000 };
        for (mtu, ok) in [
            (0, false),
            (67, false),
            (68, true),
            (1500, true),
            (9000, true),
            (9001, false),
            (u32::MAX, false),
        ] {
            assert_eq!(mtu_ok(mtu, r), ok, "{mtu}");
        }
        let full = MtuRange {
            min: 0,
            max: u32::MAX,
        };
        assert!(mtu_ok(0, full) && mtu_ok(u32::MAX, full));
        let single = MtuRange {
            min: 1500,
            max: 1500,
        };
        assert!(mtu_ok(1500, single) && !mtu_ok(1499, single) && !mtu_ok(1501, single));
        let empty = MtuRange {
            min: 1501,
            max: 1500,
        };
        assert!((0..=2000).all(|m| !mtu_ok(m, empty)));
        // `max_mtu == 0` is "no upper limit" in the core (`dev_validate_mtu()`).
        let unbounded = MtuRange { min: 68, max: 0 };
        assert!(mtu_ok(68, unbounded) && mtu_ok(65535, unbounded) && mtu_ok(u32::MAX, unbounded));
        assert!(!mtu_ok(67, unbounded));
    }

    #[test]
    fn roles_index_per_role_arrays() {
        assert_eq!(Role::ALL.len(), 2);
        for (i, r) in Role::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        assert_ne!(Role::Primary.name(), Role::Standby.name());
    }

    // ---------------------------------------------------------------- tx queues

    #[test]
    fn master_tx_queues_bounds() {
        for (cpus, q) in [
            (0, 16),
            (1, 16),
            (15, 16),
            (16, 16),
            (17, 17),
            (64, 64),
            (255, 255),
            (256, 256),
            (257, 256),
            (8192, 256),
            (u32::MAX, 256),
        ] {
            assert_eq!(master_tx_queues(cpus), q, "{cpus}");
        }
        let mut prev = 0;
        for cpus in 0..5000 {
            let q = master_tx_queues(cpus);
            assert!((16..=256).contains(&q));
            assert!(q >= prev, "monotonic");
            assert!(q >= cpus.min(256), "one queue per CPU up to the cap");
            prev = q;
        }
    }

    /// The standby's unicast frames go up for the grace after a switch to the primary, and only
    /// they: never broadcasts or multicasts, nothing after the grace.
    #[test]
    fn standby_rx_grace() {
        use StandbyFrame::*;
        let t = 5_000_000_000i64;
        let until = standby_rx_grace_until(TxPath::Primary, t);
        assert_eq!(until, t + STANDBY_RX_GRACE_NS);
        assert_eq!(standby_frame(true, || t, until), Up);
        assert_eq!(standby_frame(true, || until - 1, until), Up);
        assert_eq!(standby_frame(true, || until, until), GraceOver);
        assert_eq!(
            standby_frame(false, || unreachable!("no clock read"), until),
            Exact,
            "no broadcast or multicast in the grace, and no clock read for them"
        );
        assert_eq!(
            standby_frame(true, || unreachable!("no clock read"), GRACE_OVER),
            Exact,
            "a grace found over reads no clock"
        );
        // recorded path not the primary (yet): the datapath's switch comes first
        for p in [TxPath::Standby, TxPath::Drop] {
            let u = standby_rx_grace_until(p, t);
            assert_eq!(standby_frame(true, || unreachable!("no clock read"), u), Up);
            assert_eq!(standby_frame(false, || t, u), Exact);
        }
        // no overflow near the clock's end, and never the marker
        assert_eq!(
            standby_rx_grace_until(TxPath::Primary, i64::MAX - 1),
            i64::MAX
        );
        assert_ne!(
            standby_rx_grace_until(TxPath::Primary, i64::MIN),
            GRACE_OVER
        );
    }

    /// The takeover work's steps: each wakes the work with time still left (never late by
    /// construction), none is 0 while time is left, they shrink to the last step, and the
    /// number of runs for the longest delay stays small.
    #[test]
    fn takeover_steps() {
        assert_eq!(takeover_step_ms(60_000), 30_000);
        assert_eq!(takeover_step_ms(2001), 1000);
        assert_eq!(takeover_step_ms(2000), 2000);
        assert_eq!(takeover_step_ms(1), 1);
        for delay in [1u32, 2, 999, 2000, 2001, 4003, 30_000, 59_999, 60_000] {
            let (mut left, mut runs) = (delay, 0);
            while left > 0 {
                let step = takeover_step_ms(left);
                assert!(
                    step > 0 && step <= left,
                    "{delay}: step {step} with {left} left"
                );
                // a step that leaves time over is at most half of it (coarse timers fire late)
                assert!(
                    step == left || step <= left / 2,
                    "{delay}: {step} of {left}"
                );
                left -= step;
                runs += 1;
            }
            assert!(runs <= 7, "{delay}: {runs} runs");
        }
    }
}
