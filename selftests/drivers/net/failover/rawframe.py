#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send or count tagged raw Ethernet frames on one device (AF_PACKET).

  rawframe.py send --dev DEV --dst MAC --token T [--count N] [--interval S]
                   [--ethertype 0x88b5] [--bypass]
  rawframe.py recv --dev DEV --token T[,T...] --duration S [--stop-file F]
                   [--expect N] [--ethertype 0x88b5] [--stamps FILE]
  rawframe.py switched --dev MASTER

send: N frames to MAC with EtherType ETHERTYPE (default 0x88b5, IEEE local
experimental) from DEV's address, payload "nfraw TOKEN SEQ"; --bypass sets
PACKET_QDISC_BYPASS (the frame goes straight to the device's ndo_start_xmit,
or is dropped by the core when the device has no carrier). Prints
"sent=N failed=F errors=E" (failed: send() returned an error such as ENOBUFS
for a frame the kernel dropped).

recv: counts frames carrying TOKEN on a socket bound to DEV for ETHERTYPE
only (a protocol-specific packet handler of DEV: it gets every frame DEV
received, whether DEV's rx handler passed it on to an upper device or kept
it, RX_HANDLER_EXACT; on an upper device, only what was passed up to it).
Prints READY once bound, then
"received=N" after DURATION seconds, as soon as file F exists, or as soon as
N frames were counted (--expect); the frames already queued on the socket at
that moment are counted too (so a stop right after the sender finished misses
nothing that had been delivered, and frames beyond N are seen). Several
tokens: frames carrying any of them are counted. --stamps: one line per
counted frame, "TOKEN SEQ TIME", TIME the kernel's receive timestamp
(SO_TIMESTAMPNS, CLOCK_REALTIME in s, taken before any rx handler runs).

switched: when the failover master's transmit path last changed, on the
clock of recv's stamps: "LO HI" (s), from its ethtool -S
ms_since_last_switch read with one ioctl between two clock reads (an ethtool
process takes too long on a loaded guest to place it).
"""
import argparse
import os
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20


def mac_bytes(s):
    return bytes.fromhex(s.replace(":", ""))


def dev_mac(dev):
    with open("/sys/class/net/%s/address" % dev) as f:
        return mac_bytes(f.read().strip())


def send(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    if a.bypass:
        s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    hdr = mac_bytes(a.dst) + dev_mac(a.dev) + a.ethertype.to_bytes(2, "big")
    sent = failed = 0
    errors = set()
    for i in range(a.count):
        payload = ("nfraw %s %d " % (a.token, i)).encode().ljust(46, b".")
        try:
            s.send(hdr + payload)
            sent += 1
        except OSError as e:
            failed += 1
            errors.add(e.strerror)
        if a.interval:
            time.sleep(a.interval)
    print("sent=%d failed=%d errors=%s" % (sent, failed, ",".join(sorted(errors)) or "-"))
    return 0


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def recv(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(a.ethertype))
    s.bind((a.dev, a.ethertype))
    s.settimeout(0.2)
    tokens = set(a.token.encode().split(b","))
    stamps = None
    if a.stamps:
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        stamps = open(a.stamps, "w", buffering=1)

    def count(data, anc):
        # payload "nfraw TOKEN SEQ ....."
        f = data[14:].split(b" ", 3)
        if len(f) < 3 or f[0] != b"nfraw" or f[1] not in tokens:
            return 0
        if stamps:
            ts = "-"
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(val) >= 16:
                    sec, nsec = struct.unpack("qq", val[:16])
                    ts = "%d.%09d" % (sec, nsec)
            stamps.write("%s %s %s\n" % (f[1].decode(), f[2].decode(), ts))
        return 1

    print("READY dev=%s" % a.dev, flush=True)
    n = 0
    end = time.monotonic() + a.duration
    while time.monotonic() < end:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        if a.expect and n >= a.expect:
            break
        try:
            data, anc, _, _ = s.recvmsg(2048, 64)
        except socket.timeout:
            continue
        n += count(data, anc)
    # what the kernel delivered before the stop is counted too
    s.setblocking(False)
    while True:
        try:
            data, anc, _, _ = s.recvmsg(2048, 64)
        except OSError:
            break
        n += count(data, anc)
    if stamps:
        stamps.close()
    print("received=%d" % n, flush=True)
    return 0


SIOCETHTOOL = 0x8946
ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS, ETHTOOL_GSTATS, ETH_SS_STATS = 0x37, 0x1B, 0x1D, 1
ETH_GSTRING_LEN = 32


def ethtool(sock, dev, buf):
    import fcntl
    ifr = struct.pack("16sP16x", dev.encode(), buf.buffer_info()[0])  # struct ifreq
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifr)


def switched(a):
    import array
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # struct ethtool_sset_info: cmd, reserved, sset_mask (u64), then one u32
    info = array.array("B", struct.pack("IIQI", ETHTOOL_GSSET_INFO, 0, 1 << ETH_SS_STATS, 0))
    ethtool(s, a.dev, info)
    n = struct.unpack_from("IIQI", info)[3]
    # struct ethtool_gstrings: cmd, string_set, len, then the strings
    names = array.array("B", struct.pack("III", ETHTOOL_GSTRINGS, ETH_SS_STATS, n) + bytes(n * ETH_GSTRING_LEN))
    ethtool(s, a.dev, names)
    raw = names.tobytes()[12:]
    keys = [raw[i * ETH_GSTRING_LEN:(i + 1) * ETH_GSTRING_LEN].split(b"\0")[0].decode() for i in range(n)]
    i = keys.index("ms_since_last_switch")
    # struct ethtool_stats: cmd, n_stats, then the u64 values
    stats = array.array("B", struct.pack("II", ETHTOOL_GSTATS, n) + bytes(n * 8))
    t0 = time.time()
    ethtool(s, a.dev, stats)
    t1 = time.time()
    ms = struct.unpack_from("Q", stats, 8 + 8 * i)[0]
    # the driver floors the age to ms, taken between t0 and t1
    print("%.6f %.6f" % (t0 - (ms + 1) / 1000.0, t1 - ms / 1000.0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["send", "recv", "switched"])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--token")
    ap.add_argument("--ethertype", type=lambda v: int(v, 0), default=0x88B5)
    ap.add_argument("--dst", default="ff:ff:ff:ff:ff:ff")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--bypass", action="store_true")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--stop-file")
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--stamps")
    a = ap.parse_args()
    if a.mode == "switched":
        return switched(a)
    if not a.token:
        ap.error("--token is needed")
    return send(a) if a.mode == "send" else recv(a)


if __name__ == "__main__":
    sys.exit(main())
