#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Paced flood of UDP frames into one guest NIC, from the peer (stdlib only).

  rxflood.py --dev TAP --dst-mac MAC --dst IP --src IP --port P --rate PPS
             [--size B] [--duration S] [--burst N] [--out FILE]

Runs on the host side of the failover topology (scripts/vm.sh's peer
namespace, through the "peer_bg" host action). Writes one prebuilt Ethernet
frame (IPv4/UDP, DST:P from SRC, SIZE bytes without FCS) with an AF_PACKET
socket straight into TAP (tap-pf: the guest's VF; tap-sb: its virtio-net
standby), bypassing the bridge and the qdisc, so the guest receives it through
that NIC and no other. Paced in bursts of N to RATE frames/s until DURATION
elapses or SIGTERM; frames the tap cannot take (the guest is slower than the
flood) are dropped by the tap and count as sent here. Prints "READY" once the
socket is bound, and on exit a JSON summary {sent, send_errors, duration_s,
rate_pps} on stdout and in FILE (atomically). bench_guest.sh's same-boot
"rx" figures count what the guest received, not what was sent.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20


class Stop(Exception):
    pass


def _stop(_signum, _frame):
    raise Stop()


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC %r" % s)
    return b


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(dst_mac, src_mac, src, dst, port, size):
    """Ethernet + IPv4 + UDP (checksum 0: none), padded to size bytes"""
    payload_len = max(size - 14 - 20 - 8, 0)
    udp = struct.pack("!HHHH", 40000, port, 8 + payload_len, 0) + b"\0" * payload_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src-mac", default="02:00:00:00:4e:46")
    ap.add_argument("--dst", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--port", type=int, default=9)
    ap.add_argument("--size", type=int, default=60)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--out")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    f = frame(mac_bytes(a.dst_mac), mac_bytes(a.src_mac), a.src, a.dst, a.port, a.size)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    except OSError:
        pass
    s.bind((a.dev, 0))
    print("READY", flush=True)
    sent = errors = 0
    t0 = time.monotonic()
    period = a.burst / a.rate
    nxt = t0
    try:
        while True:
            now = time.monotonic()
            if now - t0 >= a.duration:
                break
            if now < nxt:
                time.sleep(nxt - now)
            nxt += period
            # behind by more than a second (host busy): do not catch up in one go
            if nxt < now - 1.0:
                nxt = now
            for _ in range(a.burst):
                try:
                    s.send(f)
                    sent += 1
                except OSError:
                    errors += 1
    except Stop:
        pass
    dur = time.monotonic() - t0
    res = {"sent": sent, "send_errors": errors, "duration_s": round(dur, 3),
           "rate_pps": round(sent / dur, 1) if dur > 0 else 0.0, "target_pps": a.rate,
           "dev": a.dev, "size": a.size}
    out = json.dumps(res)
    print(out, flush=True)
    if a.out:
        with open(a.out + ".tmp", "w") as fo:
            fo.write(out + "\n")
        os.replace(a.out + ".tmp", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
