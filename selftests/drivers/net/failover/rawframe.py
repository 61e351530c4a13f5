#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send or count tagged raw Ethernet frames on one device (AF_PACKET).

  rawframe.py send --dev DEV --dst MAC --token T [--count N] [--interval S]
                   [--ethertype 0x88b5] [--bypass]
  rawframe.py recv --dev DEV --token T --duration S [--stop-file F]
                   [--expect N] [--ethertype 0x88b5]

send: N frames to MAC with EtherType ETHERTYPE (default 0x88b5, IEEE local
experimental) from DEV's address, payload "nfraw TOKEN SEQ"; --bypass sets
PACKET_QDISC_BYPASS (the frame goes straight to the device's ndo_start_xmit,
or is dropped by the core when the device has no carrier). Prints
"sent=N failed=F errors=E" (failed: send() returned an error such as ENOBUFS
for a frame the kernel dropped).

recv: counts frames carrying TOKEN on a socket bound to DEV for ETHERTYPE
only (a protocol-specific packet handler of DEV: it gets the frames that the
stack delivers on DEV, including RX_HANDLER_EXACT deliveries, but not frames
an rx handler passed on to an upper device). Prints READY once bound, then
"received=N" after DURATION seconds, as soon as file F exists, or as soon as
N frames were counted (--expect); the frames already queued on the socket at
that moment are counted too (so a stop right after the sender finished misses
nothing that had been delivered, and frames beyond N are seen).
"""
import argparse
import os
import socket
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


def recv(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(a.ethertype))
    s.bind((a.dev, a.ethertype))
    s.settimeout(0.2)
    want = ("nfraw %s " % a.token).encode()
    print("READY dev=%s" % a.dev, flush=True)
    n = 0
    end = time.monotonic() + a.duration
    while time.monotonic() < end:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        if a.expect and n >= a.expect:
            break
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        if want in data[14:]:
            n += 1
    # what the kernel delivered before the stop is counted too
    s.setblocking(False)
    while True:
        try:
            data = s.recv(2048)
        except OSError:
            break
        if want in data[14:]:
            n += 1
    print("received=%d" % n, flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["send", "recv"])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ethertype", type=lambda v: int(v, 0), default=0x88B5)
    ap.add_argument("--dst", default="ff:ff:ff:ff:ff:ff")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--bypass", action="store_true")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--stop-file")
    ap.add_argument("--expect", type=int, default=0)
    a = ap.parse_args()
    return send(a) if a.mode == "send" else recv(a)


if __name__ == "__main__":
    sys.exit(main())
