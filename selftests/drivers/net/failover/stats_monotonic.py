#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that a master's counters never decrease.

  stats_monotonic.py SAMPLES_FILE MIN_SAMPLES

SAMPLES_FILE holds one `ip -s -j link show dev MASTER` output per line.
Prints "samples=N decreases=M tx_packets=+D tx_bytes=+B" (and the first
decreases); exits 1 if any counter went backwards, fewer than MIN_SAMPLES
samples were readable, or tx_packets/tx_bytes did not grow from the first
sample to the last (counters that never move prove nothing: the callers run
traffic throughout).
"""
import json
import sys

prev = first = None
n = bad = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    try:
        s = json.loads(line)[0]["stats64"]
    except (ValueError, LookupError):
        continue
    n += 1
    cur = {(d, k): v for d in ("rx", "tx") for k, v in s[d].items()}
    if prev:
        for key, v in cur.items():
            if key in prev and v < prev[key]:
                bad += 1
                if bad <= 5:
                    print("sample %d: %s_%s went %d -> %d" % (n, key[0], key[1], prev[key], v))
    prev = cur
    if first is None:
        first = cur
moved = {}
for k in ("packets", "bytes"):
    key = ("tx", k)
    moved[k] = prev[key] - first[key] if prev and key in prev and key in first else 0
print("samples=%d decreases=%d tx_packets=+%d tx_bytes=+%d"
      % (n, bad, moved["packets"], moved["bytes"]))
still = moved["packets"] <= 0 or moved["bytes"] <= 0
if still:
    print("tx counters never moved over the samples")
sys.exit(1 if bad or still or n < int(sys.argv[2]) else 0)
