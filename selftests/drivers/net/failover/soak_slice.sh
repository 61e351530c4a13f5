#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A short, fixed slice of the soak (soak.sh) for the suite: the storm's
# first NF_SLICE_OPS (200) operations of seed NF_SLICE_SEED (20261207), with
# its memory check at the end (slab per cache, net_devices and skbs against
# the start, kmemleak), and the first NF_SLICE_FUZZ (2000) messages of the
# rtnetlink fuzzer (nlfuzz.py) from the same seed. The same seed gives the
# same operations and messages in every run; "make soak" runs them long.

lib_dir=$(dirname "$(readlink -f "$0")")
export NF_SOAK_PHASES="storm fuzz"
export NF_SOAK_SEED=${NF_SLICE_SEED:-20261207}
export NF_SOAK_OPS=${NF_SLICE_OPS:-200}
export NF_SOAK_FUZZ=${NF_SLICE_FUZZ:-2000}
export NF_SOAK_CYCLES=0 NF_SOAK_VF_CYCLES=0
# bursts of 3 x 100 concurrent messages every 500, a user namespace every 500
export NF_SOAK_FUZZ_ARGS=${NF_SLICE_FUZZ_ARGS:---burst-every 500 --userns-every 500}
# the cycles need a guest of their own (make soak): not run, not listed
export NF_CASES=${NF_CASES:-"soak_storm soak_fuzz counters_monotonic memory"}
exec bash "$lib_dir/soak.sh" "$@"
