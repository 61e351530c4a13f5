# SPDX-License-Identifier: GPL-2.0
# Rust net_failover: set-up, kernel build, guest demo, tests and benchmarks.
# Everything heavy lives in the cache ($NF_CACHE, default ~/.cache/rust-net-failover).
#
#   make demo       set up, build, boot a guest and show failover working,
#                   then one live migration there and back (its phases, losses)
#   make test       set up, build, run host unit tests, the guest selftests
#                   and the migration rig (2 round trips, last, alone)
#   make test-cref  the same against the C reference module
#   make kernel     build (incrementally) the debug kernel + modules
#   make module     rebuild the modules (not bzImage) after a driver edit
#   make check      rustfmt, clippy and checkpatch on our sources
#   make mutants    the mutation suite (tests/mutants/, not in make test):
#                   every driver mutant must fail the cases it names
#                   (MUTANTS="a b" runs only those)
#   make migrate    real live migration between two QEMUs: ours, the C module
#                   with its stats_lock initialised, and the pristine C one
#                   (MIG_ROUNDS= round trips, default 10; MIG_TAKEOVER_DELAY=
#                   ms for the Rust module, default 0; make test runs the
#                   Rust module's rig with 2 round trips), then the figures
#                   per phase side by side and a timeline PNG (mig-report.py)
#   make bench      benchmarks: Rust vs C vs the bare VF (non-debug kernel):
#                   same-boot instruction counts, then one boot per module,
#                   then make migrate's figures with MIG_ROUNDS=5 (debug
#                   kernel: the rig checks kmemleak)
#   make soak       reliability soak, not in CI (SEED= SOAK_CYCLES= SOAK_OPS=
#                   SOAK_VF_CYCLES= SOAK_FUZZ= SOAK_FUZZ_SPLIT= SOAK_KERNEL=debug|bench;
#                   hours at full size)
#   make netstack   the guest network-stack tier (udev, networkd, NetworkManager,
#                   ifupdown, cloud-init) for both modules, with and without
#                   our udev rules: the matrix (make test runs ours, with them)
#   make clean-runs delete the guest run directories kept in the cache

SHELL := /bin/bash
S := scripts

.PHONY: all setup kernel module cref demo test test-cref host-test check bench soak mutants migrate netstack clean-runs
all: kernel

setup:
	$(S)/setup.sh

kernel: setup
	$(S)/build-kernel.sh debug

module:
	$(S)/build-kernel.sh debug --module-only

cref: kernel
	$(S)/build-cref.sh debug

# The guest tour (vng), then one real live migration there and back under
# traffic, with its phases and losses.
demo: kernel
	$(S)/vm.sh --timeout 900 -- bash $(CURDIR)/scripts/demo-guest.sh
	$(S)/migrate.sh --demo

host-test: setup
	cd tests/host && cargo test --offline --quiet
	tests/scripts/first-run.sh

test: setup
	$(S)/run-tests.sh

test-cref: setup
	$(S)/run-tests.sh --module c

netstack: setup
	$(S)/netstack-matrix.sh

check: setup
	$(S)/check.sh

mutants: setup
	$(S)/mutants.sh $(MUTANTS)

# The Rust module's run decides the exit status; the C references' follow
# for comparison (they lose more around each new primary and fail mig_loss,
# and dmesg_clean: the pristine one on its own lockdep report, the one with
# stats_lock initialised, where lockdep stays on, on a suspicious
# rcu_dereference() in net_failover_compute_features():
# Documentation/networking/net_failover_rust_results.rst, "Live migration:
# measured").
migrate: setup
	$(S)/migrate-both.sh

# The same-boot comparison under icount first (the figures that resolve 2 %:
# pktgen in both modes, TCP and receive cost), then one boot per module
# without icount (throughput as seen, the unplug/replug stream).
bench: setup
	NF_BENCH_SB_MODES="$${NF_BENCH_SB_MODES:-queue_xmit start_xmit}" \
	NF_BENCH_PKTGEN_COUNT="$${NF_BENCH_PKTGEN_COUNT:-200000}" \
	NF_BENCH_SB_EXTRA="$${NF_BENCH_SB_EXTRA-tcp rx}" $(S)/bench.sh --same-boot --rounds 6
	$(S)/bench.sh --no-build
	MIG_ROUNDS="$${MIG_ROUNDS:-5}" $(S)/migrate-both.sh || \
		echo "make bench: the migration part failed (see its last lines above)"

# make soak SEED=S replays a storm; the parameters pass through the environment
soak: setup
	SEED="$(SEED)" SOAK_CYCLES="$(SOAK_CYCLES)" SOAK_OPS="$(SOAK_OPS)" \
	SOAK_VF_CYCLES="$(SOAK_VF_CYCLES)" SOAK_KERNEL="$(SOAK_KERNEL)" $(S)/soak.sh

clean-runs:
	. $(S)/lib/common.sh && rm -rf "$$CACHE/runs"
