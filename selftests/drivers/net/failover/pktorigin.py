#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts the address-configuration packets that lower devices send on their own.

    pktorigin.py MASTER_IFINDEX MAC OUT
    pktorigin.py --self-test      (kind_of() on made-up frames; on the host)

Listens to every outgoing frame of the guest (an AF_PACKET socket on all
devices: the core hands it each frame a device transmits, before the driver)
and counts, per device, the frames with source MAC that configure
addresses: DHCPv4 requests (UDP to port 67), DHCPv6 (UDP to 547), IPv6
router solicitations and duplicate-address probes (neighbour solicitations
from ::). A frame the master sends goes out on the master first and then, the
same bytes, on the lower device that carries it; a frame a lower device sends
by itself (a DHCP client or NetworkManager running on the slave) has no copy
on the master. So a lower device's frame whose bytes the master did not send
in the two seconds before is the slave's own. Every second OUT is rewritten
(atomically) with the counts since the start, as lines a shell reads:

    own N                        the slaves' own frames, in all
    dev IFINDEX NAME KIND=N ...  each slave's own (NAME: when last seen)
"""

import os
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def kind_of(frame):
    """The kind of an address-configuration frame, or None."""
    if len(frame) < 14:
        return None
    off = 12
    etype = struct.unpack_from("!H", frame, off)[0]
    off += 2
    while etype == 0x8100 and len(frame) >= off + 4:
        etype = struct.unpack_from("!H", frame, off + 2)[0]
        off += 4
    if etype == 0x0800 and len(frame) >= off + 28:
        ihl = (frame[off] & 0x0F) * 4
        if frame[off + 9] == 17 and len(frame) >= off + ihl + 4:
            if struct.unpack_from("!H", frame, off + ihl + 2)[0] == 67:
                return "dhcp4"
    elif etype == 0x86DD and len(frame) >= off + 44:
        nxt = frame[off + 6]
        src = frame[off + 8:off + 24]
        l4 = off + 40
        if nxt == 17 and struct.unpack_from("!H", frame, l4 + 2)[0] == 547:
            return "dhcp6"
        if nxt == 0:  # hop-by-hop options (MLD): not address configuration
            return None
        if nxt == 58:
            t = frame[l4]
            if t == 133:
                return "rs"
            if t == 135 and src == bytes(16):
                return "dad"
    return None


def counts(d):
    """KIND=N ... of a dict of counts."""
    return " ".join("%s=%d" % kv for kv in sorted(d.items()))


def self_test():
    """kind_of() on made-up frames: each kind, and look-alikes that are none."""
    eth = bytes(6) + bytes.fromhex("525400123456")

    def ip4(proto, dport):
        return (eth + b"\x08\x00" + bytes([0x45, 0]) + bytes(7) + bytes([proto]) + bytes(10)
                + b"\x00\x44" + dport.to_bytes(2, "big") + bytes(4))

    def ip6(nxt, src, l4):
        return eth + b"\x86\xdd" + bytes(6) + bytes([nxt, 255]) + src + bytes(16) + l4 + bytes(8)

    ll = bytes.fromhex("fe80") + bytes(14)
    cases = [
        (ip4(17, 67), "dhcp4"),
        (eth[:12] + b"\x81\x00\x00\x05" + ip4(17, 67)[12:], "dhcp4"),  # VLAN 5
        (ip4(17, 68), None),
        (ip4(6, 67), None),
        (ip6(17, ll, b"\x02\x22\x02\x23"), "dhcp6"),
        (ip6(58, ll, bytes([133, 0])), "rs"),
        (ip6(58, bytes(16), bytes([135, 0])), "dad"),
        (ip6(58, ll, bytes([135, 0])), None),  # neighbour solicitation, not a probe
        (ip6(0, bytes(16), bytes([58, 0])), None),  # MLD report (hop-by-hop first)
        (eth + b"\x08\x06" + bytes(28), None),  # ARP
        (eth[:10], None),
    ]
    bad = [(f.hex(), want, kind_of(f)) for f, want in cases if kind_of(f) != want]
    for b in bad:
        print("kind_of(%s): want %s, got %s" % b)
    print("pktorigin self-test: %d of %d right" % (len(cases) - len(bad), len(cases)))
    return 1 if bad else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    master = int(sys.argv[1])
    mac = bytes.fromhex(sys.argv[2].replace(":", ""))
    out = sys.argv[3]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.settimeout(0.5)
    own = {}
    names = {}
    recent = {}  # bytes -> [time, copies not yet matched]
    last = 0.0
    while True:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            frame = None
        now = time.monotonic()
        if frame is not None and addr[2] == PACKET_OUTGOING and frame[6:12] == mac:
            k = kind_of(frame)
            if k is not None:
                # (the address names the device; its ifindex is looked up
                # now, for the few frames counted: names change)
                try:
                    ifindex = socket.if_nametoindex(addr[0])
                except OSError:
                    ifindex = -1
                if ifindex == master:
                    e = recent.setdefault(frame, [now, 0])
                    e[0] = now
                    e[1] += 1
                else:
                    e = recent.get(frame)
                    if e is not None and e[1] > 0 and now - e[0] <= 2.0:
                        e[1] -= 1
                    else:
                        d = own.setdefault(ifindex, {})
                        d[k] = d.get(k, 0) + 1
                        names[ifindex] = addr[0]
        if now - last >= 1.0:
            last = now
            for f in [f for f, e in recent.items() if now - e[0] > 2.0]:
                del recent[f]
            with open("%s.%d" % (out, os.getpid()), "w") as f:
                f.write("own %d\n" % sum(sum(d.values()) for d in own.values()))
                for i, d in sorted(own.items()):
                    f.write("dev %d %s %s\n" % (i, names[i], counts(d)))
            os.replace("%s.%d" % (out, os.getpid()), out)


if __name__ == "__main__":
    main()
