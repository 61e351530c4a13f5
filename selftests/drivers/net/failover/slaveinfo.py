#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the rtnetlink link info of a device, which stock iproute2 does not
decode for net_failover slaves: IFLA_INFO_KIND, IFLA_INFO_SLAVE_KIND and the
IFLA_INFO_SLAVE_DATA attributes of a net_failover lower device (role,
active, held), as one line of key=value pairs.

  slaveinfo.py DEV  ->  kind= slave_kind=net_failover role=primary active=1 held=0
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nlops import attr_items as attrs  # noqa: E402

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
IFLA_LINKINFO = 18
IFLA_INFO_KIND, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 4, 5
# drivers/net/net_failover_rust.rs (not in if_link.h)
SLAVE_ATTRS = {1: "role", 2: "active", 3: "held"}
ROLES = {0: "primary", 1: "standby"}


def getlink(ifindex):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    ifi = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, ifindex, 0, 0)
    hdr = struct.pack("=IHHII", 16 + len(ifi), RTM_GETLINK, NLM_F_REQUEST, 1, 0)
    s.send(hdr + ifi)
    data = s.recv(65536)
    length, typ = struct.unpack_from("=IH", data, 0)
    if typ == NLMSG_ERROR:
        err = struct.unpack_from("=i", data, 16)[0]
        sys.exit(f"RTM_GETLINK: error {err}")
    if typ != RTM_NEWLINK:
        sys.exit(f"RTM_GETLINK: unexpected message type {typ}")
    return data[32:length]


def main():
    dev = sys.argv[1]
    out = {"kind": "", "slave_kind": ""}
    for typ, val in attrs(getlink(socket.if_nametoindex(dev))):
        if typ != IFLA_LINKINFO:
            continue
        for t, v in attrs(val):
            if t == IFLA_INFO_KIND:
                out["kind"] = v.rstrip(b"\0").decode()
            elif t == IFLA_INFO_SLAVE_KIND:
                out["slave_kind"] = v.rstrip(b"\0").decode()
            elif t == IFLA_INFO_SLAVE_DATA:
                for st, sv in attrs(v):
                    name = SLAVE_ATTRS.get(st, f"attr{st}")
                    n = sv[0] if len(sv) == 1 else struct.unpack("=I", sv[:4])[0]
                    out[name] = ROLES.get(n, n) if name == "role" else n
    print(" ".join(f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
