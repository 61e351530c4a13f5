#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A VLAN end point on the peer side of the failover selftests.

  vlanpeer.py --dev BRIDGE --vid VID --ip ADDR [--duration S]

Answers ARP requests and ICMP echo requests for the IPv4 address ADDR carried
in VLAN VID, on a raw socket bound to BRIDGE (the learning bridge the guest's
taps hang off), with VLAN-tagged replies from BRIDGE's MAC address. It needs no
8021q module and no VLAN filtering on the peer's host, so the guest's VLAN
traffic is tested end to end (both directions) on any host. The kernel hands a
received tag over out of band (PACKET_AUXDATA); tags still in the frame are
understood too. Prints READY once listening, then one line per reply.
"""
import argparse
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
AUX = struct.Struct("=IIIHHHH")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", required=True)
    ap.add_argument("--vid", type=int, required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--duration", type=float, default=600)
    a = ap.parse_args()

    with open("/sys/class/net/%s/address" % a.dev) as f:
        mymac = bytes.fromhex(f.read().strip().replace(":", ""))
    myip = socket.inet_aton(a.ip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.dev, 0))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    print("READY dev=%s vid=%d ip=%s mac=%s" % (a.dev, a.vid, a.ip, mac_str(mymac)), flush=True)

    def send(dst, ethertype, payload):
        tag = struct.pack("!HH", a.vid & 0xFFF, ethertype)
        s.send(dst + mymac + struct.pack("!H", ETH_P_8021Q) + tag + payload)

    end = time.monotonic() + a.duration
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 1.0)
        if not r:
            continue
        data, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(AUX.size))
        if addr[2] == PACKET_OUTGOING or len(data) < 14:
            continue
        vid = None
        for level, typ, val in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(val) >= AUX.size:
                st, _, _, _, _, tci, _ = AUX.unpack(val[: AUX.size])
                if st & TP_STATUS_VLAN_VALID:
                    vid = tci & 0xFFF
        src = data[6:12]
        (etype,) = struct.unpack("!H", data[12:14])
        payload = data[14:]
        if vid is None and etype == ETH_P_8021Q and len(payload) >= 4:
            tci, etype = struct.unpack("!HH", payload[:4])
            vid, payload = tci & 0xFFF, payload[4:]
        if vid != a.vid:
            continue
        if etype == ETH_P_ARP and len(payload) >= 28:
            op = struct.unpack("!H", payload[6:8])[0]
            sha, spa, tpa = payload[8:14], payload[14:18], payload[24:28]
            if op != 1 or tpa != myip:
                continue
            arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 2) + mymac + myip + sha + spa
            send(src, ETH_P_ARP, arp)
            print("arp reply to %s" % mac_str(src), flush=True)
        elif etype == ETH_P_IP and len(payload) >= 20:
            ihl = (payload[0] & 0xF) * 4
            (tot,) = struct.unpack("!H", payload[2:4])
            if payload[9] != 1 or payload[16:20] != myip or len(payload) < tot or tot < ihl + 8:
                continue
            icmp = payload[ihl:tot]
            if icmp[0] != 8:
                continue
            icmp = b"\0\0\0\0" + icmp[4:]
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            hdr = bytearray(payload[:20])
            hdr[0] = 0x45
            hdr[2:4] = struct.pack("!H", 20 + len(icmp))
            hdr[8] = 64
            hdr[10:12] = b"\0\0"
            hdr[12:16], hdr[16:20] = myip, payload[12:16]
            hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
            send(src, ETH_P_IP, bytes(hdr) + icmp)
            print("echo reply to %s %s" % (mac_str(src), socket.inet_ntoa(payload[12:16])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
