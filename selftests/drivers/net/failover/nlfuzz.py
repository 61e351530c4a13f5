#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A seeded rtnetlink fuzzer for the net_failover uAPI (stdlib only; root).

  nlfuzz.py --seed S --messages N --log F --out JSON [--workers K]
            [--userns-every M] [--kmemleak-every M] [--break WHAT]

What it sends: RTM_NEWLINK, RTM_SETLINK, RTM_DELLINK, RTM_GETLINK (single
and dump), RTM_NEWLINKPROP and RTM_DELLINKPROP about devices of kind
net_failover and their lower devices, in a network namespace of its own
("nffz", with "nffz2" as a second one). Its pool there: two veths (standby
candidates; their peers stay unenslaved), two dummies, a VLAN on a dummy, a
tun (not Ethernet) and, when the guest has one that nothing uses, the igb PF
(a PCI function: a primary candidate). Masters fz-m0..fz-m2 come and go
through the messages themselves.

Each message is drawn from random.Random(S) (one RNG; targets are named, and
the name is turned into an ifindex when the message is sent, from the dump
after the previous message when nothing ran in between), so the same S
and N send the same sequence; the log has one line per message with its
kind, its target and the kernel's answer. Kinds:

  exact      one request that changes one thing (create a master with a
             given name, address, MTU, queue counts; delete; enslave or
             release; MTU, address, name, up/down, promisc, txqlen; slave or
             master data through IFLA_LINKINFO; altnames), with attributes
             at and past their bounds (MTU 0..2^32-1, MAC lengths 0..32,
             queue counts 0..2^32-1, names of 0..20 bytes and without their
             NUL), plus attributes that change nothing (unknown types,
             IFLA_EXT_MASK). The verdict: an ack comes; on an error nothing
             in the namespaces changed (the whole state, dumped after the
             message, is equal to the dump after the previous one, or to
             one made before it when something ran in between); on
             success the change is there (the device exists with that
             kind, name, MTU or address; is gone; has that master; or
             none).
  mutated    an exact request with one to three mutations: a byte flipped,
             the message cut, an attribute's length made shorter, longer or
             past the message, an attribute doubled, NLA_F_NESTED set or
             cleared, an unknown attribute or a random nest added. The
             verdict: an answer, unless the netlink header itself lies
             (the kernel drops such a message without an answer), and the
             invariants below; when the kernel's attribute walk reads the
             same attribute types as from the exact request, an error must
             leave the namespaces unchanged, as for exact ones.
  chaos      a random type, header, ifinfomsg and 0..8 attributes of random
             types 0..80 (nests of random attributes inside IFLA_LINKINFO),
             random lengths and payloads. Verdict: as mutated.
  real       requests against the guest's own failover master and its
             slaves, from the init namespace: create or change data of kind
             net_failover on them, delete the master, enslave a dummy, move
             the master to another namespace. They must fail and change
             nothing (exact).
  userns     (every --userns-every messages) a child in a new user and
             network namespace, without CAP_NET_ADMIN over the init
             namespace: through a socket opened before it left, every
             change to the init namespace is refused with EPERM and changes
             nothing; in its own namespace it creates a master and a veth,
             enslaves the veth, reads the slave data, and cannot move
             either into the init namespace (EPERM).
  concurrent (--workers K > 1) bursts of mutated and chaos messages from K
             processes at once, each with its own socket and RNG
             (seed, burst, worker); afterwards the invariants. A worker
             turns names into ifindexes from a dump of both namespaces
             every 8 messages (the others change them meanwhile: more of
             its messages name a device that is gone, and how many depends
             on the guest's speed; none of them is judged but for its
             answer).

Invariants after every message (one dump of each namespace): every device
that is the lower of a net_failover master says so (IFLA_INFO_SLAVE_KIND),
with slave data of three u8 attributes (role 0 or 1, active and held 0 or
1); a master has at most two lowers, one per role; no device has a master
that does not exist; the guest's own failover master has its standby
enslaved (soak.py's checker, when importable). The kernel log has no splat
(every 50 messages and at the end). kmemleak is scanned every
--kmemleak-every messages and at the end.

--break (checks the fuzzer): "noack" treats every answer as missing, "same"
treats every success as an error (so "exact" must see the changes).
"""

import argparse
import contextlib
import ctypes
import errno
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memacct  # noqa: E402
import nlops  # noqa: E402
from nlops import attr  # noqa: E402
from soak import Kmsg, log, masters, rd  # noqa: E402

NS, NS2 = "nffz", "nffz2"
KIND = "net_failover"
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWLINKPROP, RTM_DELLINKPROP = 108, 109
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR = 0x1, 0x4, 0x300, 0x10
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
NLA_F_NESTED = 0x8000
IFLA = dict(ADDRESS=1, BROADCAST=2, IFNAME=3, MTU=4, LINK=5, MASTER=10, TXQLEN=13,
            OPERSTATE=16, LINKMODE=17, LINKINFO=18, NET_NS_PID=19, IFALIAS=20,
            AF_SPEC=26, GROUP=27, NET_NS_FD=28, EXT_MASK=29, NUM_TX_QUEUES=31,
            NUM_RX_QUEUES=32, CARRIER=33, PROTO_DOWN=39, GSO_MAX_SEGS=40,
            GSO_MAX_SIZE=41, TARGET_NETNSID=46, PROP_LIST=52, ALT_IFNAME=53,
            GRO_MAX_SIZE=58)
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFF_UP, IFF_PROMISC, IFF_ALLMULTI = 0x1, 0x100, 0x200
RTEXT_FILTER_SKIP_STATS = 1 << 3
NS_MOVES = (IFLA["NET_NS_PID"], IFLA["NET_NS_FD"], IFLA["TARGET_NETNSID"])
MASTERS = ("fz-m0", "fz-m1", "fz-m2")
POOL = ("fz-v0", "fz-v1", "fz-d0", "fz-d1", "fz-d0.5", "fz-t0")
MTUS = (0, 1, 67, 68, 576, 1280, 1500, 1501, 4000, 9000, 9216, 65535, 65536,
        0x7fffffff, 0xffffffff)
QUEUES = (0, 1, 2, 3, 16, 4096, 4097, 16384, 0x7fffffff, 0xffffffff)
U32S = (0, 1, 2, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff)
ERRNO = {v: k for k, v in vars(errno).items() if k.startswith("E") and isinstance(v, int)}


def u32(v):
    return struct.pack("=I", v & 0xffffffff)


def ifinfo(index=0, flags=0, change=0, family=socket.AF_UNSPEC, itype=0):
    return struct.pack("=BxHiII", family & 0xff, itype & 0xffff, index, flags & 0xffffffff,
                       change & 0xffffffff)


class Sock:
    """A NETLINK_ROUTE socket with a receive time-out: an answer that does
    not come within 120 s counts as missing (RTNL may be held long by
    others under KASAN and TCG; no verdict depends on a shorter wait)."""

    def __init__(self, ns=None):
        self.s = nlops.socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.s.bind((0, 0))
        self.s.setsockopt(nlops.SOL_NETLINK, nlops.NETLINK_EXT_ACK, 1)
        self.s.setsockopt(nlops.SOL_NETLINK, nlops.NETLINK_CAP_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.settimeout(120)
        self.seq = 0

    def close(self):
        self.s.close()

    def send(self, raw, seq, lie=False):
        """Send RAW (a whole message, sequence number SEQ); (errno or 0,
        extack, [replies]), or (None, "no answer", []) after the time-out.
        LIE: RAW's header claims more bytes than it has, which the kernel
        drops without an answer; a well-formed request right behind it
        (netlink handles a socket's messages in order) tells when."""
        replies = []
        try:
            self.s.send(raw)
        except OSError as e:
            return e.errno, "send: " + os.strerror(e.errno), []
        probe = None
        self.intr = False
        if lie:
            self.seq += 1
            probe = self.seq
            self.s.send(struct.pack("=IHHII", 32, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, probe, 0) +
                        ifinfo(1))
        while True:
            try:
                data = self.s.recv(1 << 17)
            except socket.timeout:
                return None, "no answer", replies
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    continue
                return e.errno, "recv: " + os.strerror(e.errno), replies
            off = 0
            while off + 16 <= len(data):
                n, kind, mflags, mseq, _ = struct.unpack_from("=IHHII", data, off)
                if n < 16:
                    return errno.EPROTO, "bad answer", replies
                payload = data[off + 16:off + n]
                off += (n + 3) & ~3
                if probe is not None and mseq == probe and kind == nlops.NLMSG_ERROR:
                    return None, "dropped", replies
                if mseq != seq:
                    continue
                if kind == nlops.NLMSG_ERROR:
                    return nlops.ack_error(payload, mflags) + (replies,)
                if kind == nlops.NLMSG_DONE:
                    # a dump's end carries its error code
                    err = struct.unpack_from("=i", payload)[0] if len(payload) >= 4 else 0
                    return -err, ("interrupted" if self.intr else None), replies
                if mflags & NLM_F_DUMP_INTR:
                    self.intr = True
                replies.append(payload)

    def request(self, mtype, flags, body):
        self.seq += 1
        raw = struct.pack("=IHHII", 16 + len(body), mtype, flags | NLM_F_REQUEST | NLM_F_ACK,
                          self.seq, 0) + body
        return self.send(raw, self.seq)

    def dump(self):
        """{name: dev} of every device of the namespace (see parse()); a
        dump that a change interrupted (NLM_F_DUMP_INTR) is done again."""
        with timed("dump_s"):
            for _ in range(10):
                e, msg, reps = self.request(RTM_GETLINK, NLM_F_DUMP, ifinfo() +
                                            attr(IFLA["EXT_MASK"], u32(RTEXT_FILTER_SKIP_STATS)))
                TIMES["dumps"] += 1
                if e is None or e or not self.intr:
                    break
        if e is None or e:
            raise OSError(e or errno.ETIMEDOUT, "dump: %s" % msg)
        devs = {}
        for r in reps:
            d = parse(r)
            devs[d["name"]] = d
        return devs


_PARSED = {}
# where the time goes (printed at the end)
TIMES = {"dumps": 0, "dump_s": 0.0, "lookups": 0, "lookup_s": 0.0, "send_s": 0.0,
         "repair_s": 0.0, "burst_s": 0.0, "userns_s": 0.0, "by_op": {}}


@contextlib.contextmanager
def timed(key):
    """The block's wall time added to TIMES[KEY]."""
    t0 = time.monotonic()
    try:
        yield
    finally:
        TIMES[key] += time.monotonic() - t0


def parse(payload):
    """The facts of one RTM_NEWLINK answer that the verdicts use, read once
    per distinct answer: a device that did not change mostly answers a dump
    with the same bytes (statistics are not asked for; its operstate,
    carrier counters and IPv6 cache times may differ: a miss, not a wrong
    answer). The dicts are shared: nothing may change them."""
    key = bytes(payload)
    d = _PARSED.get(key)
    if d is None:
        if len(_PARSED) > 4096:
            _PARSED.clear()
        d = _PARSED[key] = _parse(key)
    return d


def _parse(payload):
    """parse() itself: one pass over the attributes, reading only these."""
    _, _, idx, flags, _ = struct.unpack_from("=BxHiII", payload)
    d = {"ifindex": idx, "flags": flags & (IFF_UP | IFF_PROMISC | IFF_ALLMULTI), "name": "",
         "mtu": None, "address": "", "master": 0, "txqlen": None, "kind": "", "slave_kind": "",
         "slave": {}, "altnames": [], "perm": "", "link": 0}
    unpack = struct.unpack_from
    off, end = 16, len(payload)
    while off + 4 <= end:
        n, t = unpack("=HH", payload, off)
        if n < 4:
            break
        t &= 0x3fff
        if t in _WANT:
            v = payload[off + 4:off + n]
            if t == 3:
                d["name"] = v.rstrip(b"\0").decode(errors="replace")
            elif t == 4:
                d["mtu"] = unpack("=I", v)[0]
            elif t == 1:
                d["address"] = v.hex()
            elif t == 54:
                d["perm"] = v.hex()
            elif t == 10:
                d["master"] = unpack("=I", v)[0]
            elif t == 5:
                d["link"] = unpack("=i", v)[0]
            elif t == 13:
                d["txqlen"] = unpack("=I", v)[0]
            elif t == 18:
                info = nlops.attrs(v)
                d["kind"] = info.get(IFLA_INFO_KIND, b"").rstrip(b"\0").decode(errors="replace")
                d["slave_kind"] = info.get(IFLA_INFO_SLAVE_KIND, b"").rstrip(b"\0").decode(
                    errors="replace")
                d["slave"] = {k: x.hex() for k, x in
                              sorted(nlops.attrs(info.get(IFLA_INFO_SLAVE_DATA, b"")).items())}
            elif t == 52:
                d["altnames"] = sorted(x.rstrip(b"\0").decode(errors="replace")
                                       for k, x in nlops.attr_items(v) if k == IFLA["ALT_IFNAME"])
        off += (n + 3) & ~3
    return d


_WANT = frozenset((1, 3, 4, 5, 10, 13, 18, 52, 54))


def stable(state):
    """STATE without what changes by itself: a lower device's "active" and
    "held" slave bits follow its carrier and the takeover timer (link
    watch, work items), so only its role is compared. Whatever else parse()
    is made to read that changes by itself (operstate, carrier) must be
    dropped here too: the state before a message may be a dump made
    hundreds of milliseconds earlier (after the previous message). "link"
    (IFLA_LINK: a VLAN's lower, a veth's peer, which may be renumbered when
    it moves) is only used to find a device's VLANs, and dropped too (the
    user-namespace and real-master checks compare whole dumps of the init
    namespace, where no pool device lives)."""
    return {ns: {n: dict({k: v for k, v in d.items() if k != "link"},
                         slave={k: v for k, v in d["slave"].items() if k == 1})
                 for n, d in devs.items()} for ns, devs in state.items()}


def invariants(state):
    """Problems of a {ns: {name: dev}} state (see the module's doc)."""
    bad = []
    for ns, devs in state.items():
        by_idx = {d["ifindex"]: d for d in devs.values()}
        lowers = {}
        for d in devs.values():
            if d["master"]:
                m = by_idx.get(d["master"])
                if m is None:
                    # a master in another namespace is legal only for the
                    # lower's link-netns; ours never crosses namespaces
                    bad.append("%s/%s: master ifindex %d is not in the namespace" %
                               (ns, d["name"], d["master"]))
                    continue
                if m["kind"] == KIND:
                    lowers.setdefault(m["name"], []).append(d)
                    if d["slave_kind"] != KIND:
                        bad.append("%s/%s: lower of %s with slave kind '%s'" %
                                   (ns, d["name"], m["name"], d["slave_kind"]))
                    s = d["slave"]
                    if sorted(s) != [1, 2, 3]:
                        bad.append("%s/%s: slave data %s" % (ns, d["name"], s))
                    elif any(s[k] not in ("00", "01") for k in (1, 2, 3)):
                        bad.append("%s/%s: slave data values %s" % (ns, d["name"], s))
            elif d["slave_kind"] == KIND:
                bad.append("%s/%s: slave kind %s without a master" % (ns, d["name"], KIND))
        for m, los in lowers.items():
            roles = [lo["slave"].get(1) for lo in los]
            if len(los) > 2 or len(set(roles)) != len(roles):
                bad.append("%s/%s: lowers %s with roles %s" %
                           (ns, m, [lo["name"] for lo in los], roles))
    return bad


# ---------------------------------------------------------------------------
# the messages

class Msg:
    """One request: type, flags, ifinfomsg fields, attributes (each a
    (type, bytes) or (type, [nested...])), the target's name resolved at
    send time, and what an exact request is meant to do."""

    def __init__(self, kind, mtype, flags=0, target=None, ns=NS, attrs=(), expect=None,
                 desc="", **hdr):
        self.kind, self.mtype, self.flags, self.target, self.ns = kind, mtype, flags, target, ns
        self.attrs = list(attrs)
        self.expect = expect
        self.desc = desc
        self.hdr = hdr
        self.mutations = []

    def touches_ns(self):
        return any(t in NS_MOVES for t, _ in self.attrs)


def enc(attrs):
    out = b""
    for t, v in attrs:
        if isinstance(v, list):
            out += attr(t | NLA_F_NESTED, enc(v))
        else:
            out += attr(t, v)
    return out


class Gen:
    """The message generator: random.Random(seed), names only."""

    def __init__(self, seed, have_pf):
        self.r = random.Random(seed)
        self.have_pf = have_pf

    def lower(self):
        pool = list(POOL) + (["fz-pf"] if self.have_pf else [])
        return self.r.choice(pool)

    def any_dev(self):
        return self.r.choice(list(MASTERS) + list(POOL) + (["fz-pf"] if self.have_pf else []) +
                             ["fz-p0", "lo", "nosuchdev"])

    def name(self):
        r = self.r
        c = r.random()
        if c < 0.6:
            return r.choice(MASTERS)
        if c < 0.7:
            return "fz-%d" % r.randrange(100)
        if c < 0.8:
            return r.choice(("", "a" * 15, "a" * 16, "a" * 20, "fz/x", "fz x", ".", "..",
                             "fz-m%d", "fz-m0\0tail", "lo"))
        return r.choice(POOL)

    def mac(self):
        r = self.r
        c = r.random()
        if c < 0.6:
            return bytes([0x02, 0x46, 0x5a, r.randrange(256), r.randrange(256), r.randrange(256)])
        if c < 0.7:
            return bytes([0x01, 0, 0x5e, 0, 0, 1])          # multicast
        if c < 0.8:
            return bytes(6)                                 # zero
        return bytes(r.randrange(256) for _ in range(r.choice((0, 1, 5, 7, 8, 16, 32))))

    def noise(self):
        """Attributes that change nothing."""
        r = self.r
        out = []
        for _ in range(r.choice((0, 0, 0, 1, 2))):
            if r.random() < 0.5:
                out.append((IFLA["EXT_MASK"], u32(r.choice(U32S))))
            else:
                out.append((r.randrange(70, 120), bytes(r.randrange(256) for _ in range(r.randrange(9)))))
        return out

    def linkinfo(self, kind=KIND, data=False, slave_data=False):
        r = self.r
        inner = []
        if kind is not None:
            inner.append((IFLA_INFO_KIND, kind.encode() + b"\0"))
        if data:
            inner.append((IFLA_INFO_DATA, [(r.randrange(0, 8), u32(r.choice(U32S)))
                                           for _ in range(r.randrange(4))]))
        if slave_data:
            inner.append((IFLA_INFO_SLAVE_KIND, KIND.encode() + b"\0"))
            inner.append((IFLA_INFO_SLAVE_DATA, [(r.randrange(0, 6), bytes([r.randrange(3)]))
                                                 for _ in range(r.randrange(4))]))
        return (IFLA["LINKINFO"], inner)

    def exact(self):
        r = self.r
        c = r.random()
        if c < 0.18:
            name = self.name()
            a = [(IFLA["IFNAME"], name.encode() + (b"" if r.random() < 0.05 else b"\0"))]
            # the kernel reads a name up to its first NUL
            exp = {"op": "create", "name": name.split("\0")[0]}
            if r.random() < 0.3:
                mac = self.mac()
                a.append((IFLA["ADDRESS"], mac))
                exp["address"] = mac.hex()
            if r.random() < 0.3:
                mtu = r.choice(MTUS)
                a.append((IFLA["MTU"], u32(mtu)))
                exp["mtu"] = mtu
            for q in ("NUM_TX_QUEUES", "NUM_RX_QUEUES"):
                if r.random() < 0.15:
                    a.append((IFLA[q], u32(r.choice(QUEUES))))
            if r.random() < 0.1:
                a.append((IFLA["TXQLEN"], u32(r.choice(U32S))))
            a.append(self.linkinfo(data=r.random() < 0.2))
            flags = NLM_F_CREATE | (NLM_F_EXCL if r.random() < 0.8 else 0)
            return Msg("exact", RTM_NEWLINK, flags, attrs=a + self.noise(), expect=exp,
                       desc="create " + repr(name))
        if c < 0.28:
            dev = r.choice(MASTERS) if r.random() < 0.7 else self.any_dev()
            how = r.choice(("index", "name", "altname"))
            if how == "index":
                return Msg("exact", RTM_DELLINK, target=dev, attrs=self.noise(),
                           expect={"op": "delete", "name": dev}, desc="del " + dev)
            a = [(IFLA["IFNAME" if how == "name" else "ALT_IFNAME"], dev.encode() + b"\0")]
            return Msg("exact", RTM_DELLINK, attrs=a + self.noise(),
                       expect={"op": "delete", "name": dev, "by": how}, desc="del %s by %s" % (dev, how))
        if c < 0.55:
            lo = self.lower() if r.random() < 0.85 else r.choice(MASTERS)
            m = r.choice(MASTERS + ("0", "0")) if r.random() < 0.9 else self.any_dev()
            mt = r.choice((RTM_NEWLINK, RTM_SETLINK))
            return Msg("exact", mt, target=lo, attrs=[(IFLA["MASTER"], ("master", m))] + self.noise(),
                       expect={"op": "master", "name": lo, "master": m},
                       desc="%s master %s" % (lo, m))
        if c < 0.85:
            dev = r.choice(MASTERS) if r.random() < 0.6 else self.lower()
            what = r.choice(("mtu", "mtu", "address", "name", "up", "promisc", "txqlen",
                             "linkinfo", "slave_data", "altname"))
            mt = r.choice((RTM_NEWLINK, RTM_SETLINK))
            exp = {"op": what, "name": dev}
            hdr = {}
            if what == "mtu":
                v = r.choice(MTUS)
                a = [(IFLA["MTU"], u32(v))]
                exp["mtu"] = v
            elif what == "address":
                v = self.mac()
                a = [(IFLA["ADDRESS"], v)]
                exp["address"] = v.hex()
            elif what == "name":
                v = self.name()
                a = [(IFLA["IFNAME"], v.encode() + b"\0")]
                exp["to"] = v.split("\0")[0]
            elif what in ("up", "promisc"):
                bit = IFF_UP if what == "up" else IFF_PROMISC
                on = r.random() < 0.6
                a = []
                hdr = {"ifi_flags": bit if on else 0, "change": bit}
                exp["bit"], exp["on"] = bit, on
            elif what == "txqlen":
                v = r.choice(U32S)
                a = [(IFLA["TXQLEN"], u32(v))]
                exp["txqlen"] = v
            elif what == "linkinfo":
                a = [self.linkinfo(kind=r.choice((KIND, None, "dummy")), data=True)]
            elif what == "slave_data":
                a = [self.linkinfo(kind=None, slave_data=True)]
            else:
                v = r.choice(("fz-alt%d" % r.randrange(4), "a" * 127, "a" * 128, ""))
                a = [(IFLA["PROP_LIST"], [(IFLA["ALT_IFNAME"], v.encode() + b"\0")])]
                mt = r.choice((RTM_NEWLINKPROP, RTM_DELLINKPROP))
                exp["alt"], exp["add"] = v, mt == RTM_NEWLINKPROP
            return Msg("exact", mt, target=dev, attrs=a + self.noise(), expect=exp,
                       desc="%s %s" % (dev, what), **hdr)
        if c < 0.95:
            dev = self.any_dev()
            flags = NLM_F_DUMP if r.random() < 0.3 else 0
            a = [(IFLA["EXT_MASK"], u32(r.choice(U32S)))]
            if flags and r.random() < 0.5:
                a.append((IFLA["MASTER"], ("master", r.choice(MASTERS))))
            if flags and r.random() < 0.3:
                a.append(self.linkinfo())
            return Msg("exact", RTM_GETLINK, flags, target=None if flags else dev, attrs=a,
                       expect={"op": "get", "name": dev}, desc="get " + ("dump" if flags else dev))
        # netns moves, between our two namespaces (and to the init one,
        # undone by the repair)
        dev = r.choice(MASTERS) if r.random() < 0.5 else self.lower()
        ns = r.choice((NS, NS, NS2))
        to = r.choice(("fd2", "fd", "pid1", "badfd", "nsid"))
        return Msg("exact", RTM_NEWLINK, target=dev, ns=ns,
                   attrs=[(IFLA["NET_NS_FD" if to in ("fd", "fd2", "badfd") else
                                "NET_NS_PID" if to == "pid1" else "TARGET_NETNSID"], ("ns", to))],
                   expect={"op": "move", "name": dev, "to": to}, desc="%s/%s netns %s" % (ns, dev, to))

    def mutate(self, m):
        r = self.r
        m.kind = "mutated"
        for _ in range(r.randrange(1, 4)):
            mu = r.choice(("flip", "cut", "short", "long", "past", "dup", "nested", "unknown",
                           "nest", "hdrlen"))
            m.mutations.append((mu, r.randrange(1 << 16), r.randrange(256)))
        return m

    def chaos(self):
        r = self.r
        mt = r.choice((RTM_NEWLINK, RTM_NEWLINK, RTM_SETLINK, RTM_DELLINK, RTM_GETLINK,
                       RTM_NEWLINKPROP, RTM_DELLINKPROP, r.randrange(16, 120)))
        flags = r.choice((0, NLM_F_CREATE, NLM_F_CREATE | NLM_F_EXCL, NLM_F_REPLACE,
                          NLM_F_DUMP, r.randrange(1 << 16) & ~NLM_F_DUMP))
        a = []
        for _ in range(r.randrange(9)):
            t = r.randrange(81)
            if t == IFLA["LINKINFO"]:
                a.append(self.linkinfo(kind=r.choice((KIND, None)), data=r.random() < 0.5,
                                       slave_data=r.random() < 0.5))
            elif t in NS_MOVES:
                a.append((t, ("ns", r.choice(("fd2", "badfd", "nsid", "junk")))))
            elif t == IFLA["MASTER"]:
                a.append((t, ("master", r.choice(MASTERS))))
            else:
                a.append((t, bytes(r.randrange(256) for _ in range(r.choice((0, 1, 2, 4, 4, 6, 8, 16, 40))))))
        m = Msg("chaos", mt, flags, target=r.choice((None, self.any_dev())), attrs=a,
                desc="chaos type %d flags %#x" % (mt, flags),
                ifi_flags=r.choice((0, IFF_UP, r.randrange(1 << 32))),
                change=r.choice((0, IFF_UP, 0xffffffff, r.randrange(1 << 32))),
                family=r.choice((0, 0, 0, socket.AF_INET, r.randrange(256))),
                itype=r.randrange(1 << 16) if r.random() < 0.1 else 0)
        return m

    def next(self):
        c = self.r.random()
        if c < 0.5:
            return self.exact()
        if c < 0.8:
            return self.mutate(self.exact())
        return self.chaos()


def apply_mutations(m, body):
    """BODY (ifinfomsg and attributes) with M's mutations; and whether the
    netlink header's length will lie (the kernel then sends no answer)."""
    lie = False
    for mu, pos, val in m.mutations:
        b = bytearray(body)
        if mu == "flip" and len(b) > 16:
            b[16 + pos % (len(b) - 16)] ^= val or 1
        elif mu == "cut" and len(b) > 16:
            b = b[:16 + pos % (len(b) - 16)]
        elif mu in ("short", "long", "past") and len(b) >= 20:
            offs = list(_attr_offsets(bytes(b)))
            if offs:
                o = offs[pos % len(offs)]
                n = struct.unpack_from("=H", b, o)[0]
                n = {"short": max(0, n - 1 - val % 4), "long": n + 1 + val % 8,
                     "past": 0xffff - val}[mu]
                struct.pack_into("=H", b, o, n & 0xffff)
        elif mu == "dup" and len(b) > 16:
            offs = list(_attr_offsets(bytes(b)))
            if offs:
                o = offs[pos % len(offs)]
                n = (struct.unpack_from("=H", b, o)[0] + 3) & ~3
                b += b[o:o + n]
        elif mu == "nested" and len(b) > 16:
            offs = list(_attr_offsets(bytes(b)))
            if offs:
                o = offs[pos % len(offs)] + 2
                struct.pack_into("=H", b, o, struct.unpack_from("=H", b, o)[0] ^ NLA_F_NESTED)
        elif mu == "unknown":
            b += attr(200 + val % 50, bytes([val]) * (pos % 9))
        elif mu == "nest":
            b += attr(IFLA["LINKINFO"] | NLA_F_NESTED,
                      attr(pos % 8, bytes([val]) * (pos % 7)) + attr(IFLA_INFO_KIND, KIND))
        elif mu == "hdrlen":
            lie = True
        body = bytes(b)
    return body, lie


def kernel_view(body):
    """The top-level attribute types of BODY (an ifinfomsg and attributes)
    as nla_for_each_attr() walks them: a length that lies moves the walk,
    so a mutated message may carry attributes its generator never put."""
    types = []
    off = 16
    while off + 4 <= len(body):
        n, t = struct.unpack_from("=HH", body, off)
        if n < 4 or off + n > len(body):
            break
        types.append(t & 0x3fff)
        off += (n + 3) & ~3
    return types


def _attr_offsets(b):
    off = 16
    while off + 4 <= len(b):
        n = struct.unpack_from("=H", b, off)[0]
        yield off
        if n < 4:
            break
        off += (n + 3) & ~3


# ---------------------------------------------------------------------------
# the run

class Fuzz:
    def __init__(self, a):
        self.a = a
        self.socks = {}
        self.fds = {}
        self.stats = {"sent": 0, "answered": 0, "ok": 0, "errno": {}, "no_answer_expected": 0,
                      "by_kind": {}, "exact_checked": 0, "repairs": 0}
        self.problems = []
        self.kmsg = None
        self.pf_home = None
        self.unmakeable = set()
        self.pf_perm = None
        self.ns2_state = None
        self.init_known = set()
        # both namespaces after the last message, while it is known that
        # nothing else changed them since (no repair, burst, ...): ours as
        # dumped then, the second one as dumped then if cur_ns2_fresh (the
        # message was wide), else as dumped last
        self.cur = None
        self.cur_ns2_fresh = False

    # -- namespaces and the pool
    def sock(self, ns):
        if ns not in self.socks:
            self.socks[ns] = Sock(ns)
        return self.socks[ns]

    def index(self, name, ns):
        """NAME's ifindex in NS (RTM_GETLINK by name), or None."""
        if not name or len(name) > 15:
            return None
        if self.cur is not None and ns in self.cur:
            # the namespace as last dumped, while nothing changed since
            d = self.cur[ns].get(name)
            if d is not None:
                return d["ifindex"]
            for d in self.cur[ns].values():
                if name in d["altnames"]:
                    return d["ifindex"]
            if name.isascii() and name.isprintable():
                # (a name with a NUL, or bytes a dump decodes otherwise,
                # is left to the kernel)
                return None
        TIMES["lookups"] += 1
        with timed("lookup_s"):
            e, _, reps = self.sock(ns).request(RTM_GETLINK, 0, ifinfo() + attr(IFLA["IFNAME"], name.encode() + b"\0") +
                                               attr(IFLA["EXT_MASK"], u32(RTEXT_FILTER_SKIP_STATS)))
        return parse(reps[0])["ifindex"] if e == 0 and reps else None

    def ns_fd(self, which):
        path = {"fd": "/run/netns/" + NS, "fd2": "/run/netns/" + NS2}[which]
        if which not in self.fds:
            self.fds[which] = os.open(path, os.O_RDONLY)
        return self.fds[which]

    def setup(self):
        for ns in (NS, NS2):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "add", ns], check=True)
        # `ip tuntap` opens /dev/net/tun, which devtmpfs has only once tun is
        # loaded (the guests have no udev or kmod static nodes; a vlan link
        # needs nothing: rtnetlink loads 8021q for its kind)
        subprocess.run(["modprobe", "-q", "tun"], stderr=subprocess.DEVNULL)
        self.build_pool()
        self.kmsg = Kmsg()

    def build_pool(self, devs=None):
        """The pool devices that are missing (after a delete or a move)
        made again; DEVS: the namespace's dump, when the caller has it."""
        if devs is None:
            devs = self.sock(NS).dump()
        cmds = []
        for i in (0, 1):
            v, p = "fz-v%d" % i, "fz-p%d" % i
            if v not in devs or p not in devs:
                cmds += [["link", "del", v], ["link", "del", p],
                         ["link", "add", v, "up", "type", "veth", "peer", "name", p],
                         ["link", "set", p, "up"]]
            if "fz-d%d" % i not in devs:
                cmds.append(["link", "add", "fz-d%d" % i, "up", "type", "dummy"])
        if "fz-d0.5" not in devs:
            cmds.append(["link", "add", "link", "fz-d0", "name", "fz-d0.5", "type", "vlan", "id", "5"])
        if "fz-t0" not in devs:
            cmds.append(["tuntap", "add", "dev", "fz-t0", "mode", "tun"])
        # what could not be made once (no 8021q or tun here) is not tried again
        cmds = [c for c in cmds if " ".join(c) not in self.unmakeable]
        if not cmds:
            return False
        # one ip process (-batch, -force: a line that fails does not stop it)
        subprocess.run(["ip", "-n", NS, "-force", "-batch", "-"], input="\n".join(
            " ".join(c) for c in cmds).encode(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.stats["rebuilds"] = self.stats.get("rebuilds", 0) + 1
        devs = self.sock(NS).dump()
        # Only what the first build could not make is given up on (no
        # module, no device node): later, a failure may be the state's (the
        # VLAN's lower enslaved or moved away, its name taken), and the
        # next repair tries again.
        for name in (POOL + ("fz-p0", "fz-p1")) if self.stats["rebuilds"] == 1 else ():
            if name not in devs:
                for c in cmds:
                    if name in c and c[1] == "add":
                        self.unmakeable.add(" ".join(c))
                        log("fuzz pool: cannot make %s (%s); going on without it" % (name, " ".join(c)))
        return True

    def take_pf(self):
        """The igb PF into the namespace as fz-pf, when the guest has one
        that is free (not enslaved, no VFs)."""
        for d in sorted(os.listdir("/sys/class/net")):
            p = "/sys/class/net/%s" % d
            if os.path.basename(os.path.realpath(p + "/device/driver")) != "igb":
                continue
            if os.path.exists(p + "/master") or rd(p + "/device/sriov_numvfs", "0") != "0":
                continue
            r = subprocess.run(["ip", "link", "set", d, "netns", NS], stderr=subprocess.PIPE)
            if r.returncode == 0:
                subprocess.run(["ip", "-n", NS, "link", "set", d, "name", "fz-pf", "up"])
                self.pf_home = d
                self.pf_perm = self.sock(NS).dump().get("fz-pf", {}).get("perm") or None
                return True
        return False

    def fresh_ns2(self):
        """cur's second namespace dumped now, if it is older than the last
        message."""
        if self.cur is not None and not self.cur_ns2_fresh:
            self.ns2_state = self.sock(NS2).dump()
            self.cur = {NS: self.cur[NS], NS2: self.ns2_state}
            self.cur_ns2_fresh = True

    def state(self, ns2=True):
        """{ns: {name: dev}} of both namespaces; the second one's as last
        dumped unless NS2 (a request there, or a move)."""
        st = {NS: self.sock(NS).dump()}
        if ns2 or self.ns2_state is None:
            self.ns2_state = self.sock(NS2).dump()
        st[NS2] = self.ns2_state
        return st

    def repair(self, state=None, init_too=True):
        """Whatever reached the init namespace from ours goes back (a move
        to pid 1; looked for when INIT_TOO); strays in ours are deleted;
        the pool is made whole again."""
        here = self.sock(None)
        moved = False
        for name, d in (here.dump() if init_too else {}).items():
            # moved there, or made there (a create whose EXT_MASK a flip
            # made IFLA_NET_NS_PID 1), whatever its name; not real()'s dummy
            if (d["ifindex"] not in self.init_known and name != "fz-rd" and d["kind"] in (
                    "veth", "dummy", "vlan", "tun", KIND)) or (self.pf_perm and d["perm"] == self.pf_perm):
                moved = True
                if not (self.pf_perm and d["perm"] == self.pf_perm):
                    here.request(RTM_DELLINK, 0, ifinfo(d["ifindex"]))
                else:
                    here.request(RTM_NEWLINK, 0, ifinfo(d["ifindex"]) +
                                 attr(IFLA["NET_NS_FD"], u32(self.ns_fd("fd"))))
        if state is None:
            state = self.state()
        # strays: renamed or moved pool devices, masters of other names
        known = set(MASTERS + POOL + ("fz-p0", "fz-p1", "fz-pf", "lo"))
        for ns in (NS, NS2):
            for name, d in state[ns].items():
                if ns == NS and name in known:
                    continue
                is_pf = self.pf_perm and d["perm"] == self.pf_perm
                # not ours: lo, and the fallback tunnels of every namespace
                if not is_pf and d["kind"] not in ("veth", "dummy", "vlan", "tun", KIND):
                    continue
                moved = True
                s = self.sock(ns)
                if not is_pf:
                    s.request(RTM_DELLINK, 0, ifinfo(d["ifindex"]))
                else:
                    # the PF (no kind): its name back, and home to NS
                    s.request(RTM_NEWLINK, 0, ifinfo(d["ifindex"]) + attr(IFLA["IFNAME"], b"fz-pf\0") +
                              (attr(IFLA["NET_NS_FD"], u32(self.ns_fd("fd"))) if ns == NS2 else b""))
        if moved:
            self.stats["repairs"] += 1
            self.ns2_state = None
        return self.build_pool(None if moved else state[NS]) or moved

    # -- one message
    def encode(self, m):
        """(the message's bytes, whether its header lies, its sequence
        number), the names resolved in M's namespace now."""
        ns = m.ns
        idx = 0
        if m.target is not None:
            idx = self.index(m.target, ns) or (0 if m.kind != "chaos" else 0x7fff0000)
        a = []
        for t, v in m.attrs:
            if isinstance(v, tuple) and v[0] == "master":
                v = u32(0 if v[1] == "0" else (self.index(v[1], ns) or 0x7fff0000))
            elif isinstance(v, tuple) and v[0] == "ns":
                w = v[1]
                v = u32({"fd": lambda: self.ns_fd("fd"), "fd2": lambda: self.ns_fd("fd2"),
                         "pid1": lambda: 1, "badfd": lambda: 1000, "nsid": lambda: 7,
                         "junk": lambda: 0xffffffff}[w]())
            a.append((t, v))
        h = dict(m.hdr)
        body = ifinfo(idx, h.get("ifi_flags", 0), h.get("change", 0),
                      h.get("family", 0), h.get("itype", 0)) + enc(a)
        plain = body
        body, lie = apply_mutations(m, body)
        # a mutated request is judged like its exact one only when the
        # kernel reads the same attributes from it (rtnetlink applies
        # several in turn, and may fail after some)
        view = kernel_view(body)
        m.same_view = sorted(set(view)) == sorted(set(kernel_view(plain)))
        # a mutation can make a move of a message that was not one (a byte
        # flip that turns IFLA_EXT_MASK, 29, into IFLA_NET_NS_PID, 19)
        m.moves = m.touches_ns() or any(t in NS_MOVES for t in view)
        s = self.sock(ns)
        s.seq += 1
        seq = s.seq
        n = 16 + len(body)
        if lie:
            n += 4 + seq % 64
        raw = struct.pack("=IHHII", n, m.mtype, m.flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body
        return raw, lie, seq

    def run_one(self, m, n):
        # exact requests are judged whole; mutated ones (an exact request
        # with its bytes changed) only on an error: nothing may change
        # wide: the message may change the second namespace, whose state
        # is then dumped after it, and before it when it is judged (a
        # message in ours alone leaves it as last dumped: the pool's veths
        # have both ends in ours, and what a message moves there is
        # deleted by the repair right after it)
        wide = m.touches_ns() or m.ns == NS2 or m.kind == "chaos"
        if m.ns == NS2:
            self.fresh_ns2()    # its names are resolved there
        raw, lie, seq = self.encode(m)
        self.raw = raw
        wide = wide or m.moves
        checked = m.kind == "exact" or (m.kind == "mutated" and m.same_view and not lie)
        if wide and checked:
            self.fresh_ns2()
        # before: the state dumped after the previous message, if nothing
        # changed it since; otherwise dumped now
        before = (self.cur or self.state(ns2=wide)) if checked else None
        self.cur = None
        t0 = time.monotonic()
        e, msg, reps = self.sock(m.ns).send(raw, seq, lie)
        dt = time.monotonic() - t0
        TIMES["send_s"] += dt
        op = TIMES["by_op"].setdefault(("%s %s" % (m.kind, (m.expect or {}).get("op", ""))).strip(), [0, 0.0])
        op[0] += 1
        op[1] += dt
        if "noack" in self.a.brk:
            e, msg = None, "no answer"
        self.stats["sent"] += 1
        k = self.stats["by_kind"].setdefault(m.kind, [0, 0])
        k[0] += 1
        res = "rc=%s %s%s" % (e, ERRNO.get(e, "") if e else "", (" (%s)" % msg) if msg else "")
        bad = []
        if e is None:
            if lie:
                self.stats["no_answer_expected"] += 1
                # nothing may have happened; the socket is drained
            else:
                bad.append("no answer to %s" % m.desc)
        else:
            self.stats["answered"] += 1
            if e == 0:
                self.stats["ok"] += 1
                k[1] += 1
            else:
                name = ERRNO.get(e, str(e))
                self.stats["errno"][name] = self.stats["errno"].get(name, 0) + 1
        st = self.state(ns2=wide)
        if checked and e is not None and (m.kind == "exact" or e != 0):
            if "same" in self.a.brk and e == 0:
                e = errno.EINVAL
            self.stats["exact_checked" if m.kind == "exact" else "mutated_checked"] = \
                self.stats.get("exact_checked" if m.kind == "exact" else "mutated_checked", 0) + 1
            bad += self.judge(m, e, before, st, reps)
        bad += invariants(st)
        with timed("repair_s"):
            if not self.repair(st, init_too=m.moves):
                self.cur = st
                self.cur_ns2_fresh = wide
        if n % 50 == 0:
            bad += ["kernel: " + x for x in self.kmsg.splats()[:3]]
        return res, bad

    def judge(self, m, e, before, after, reps):
        x = m.expect
        op = x["op"]
        if op == "get":
            return []
        if e != 0:
            raw_before = before
            before, after = stable(before), stable(after)
            exists = x.get("name") in before[m.ns] or any(
                x.get("name") in v["altnames"] for v in before[m.ns].values())
            if op == "create" and exists and not m.flags & NLM_F_EXCL:
                # a change of an existing device with several attributes:
                # rtnetlink applies them in turn and may fail after some
                # ("A link change request failed with some changes
                # committed already"), which is the core's, not ours
                return []
            if op == "master":
                lo = before[m.ns].get(x["name"])
                now = after[m.ns].get(x["name"])
                if (lo and lo["master"] and now and now["master"] == 0 and
                        lo["master"] != (before[m.ns].get(x["master"]) or {}).get("ifindex")):
                    # do_set_master(): the core releases the device from its
                    # master first (ndo_del_slave), then asks the new one (or
                    # finds no device by that index): a refusal there leaves
                    # it released, and its old master without it. A release
                    # closes the device (as C's and bonding's do) and gives
                    # it its own address back (explicit pairing), and a VLAN
                    # on it goes down with it (vlan_device_event(),
                    # NETDEV_DOWN). The rest must be as it was. (A refused
                    # release changes nothing: compared whole below.)
                    old = {n for n, v in before[m.ns].items() if v["ifindex"] == lo["master"]}
                    down = not now["flags"] & IFF_UP
                    # the device's VLANs that went down with it
                    vlans = {n for n, v in raw_before[m.ns].items()
                             if down and v["kind"] == "vlan" and v["link"] == lo["ifindex"] and
                             v["flags"] & IFF_UP and n in after[m.ns] and
                             not after[m.ns][n]["flags"] & IFF_UP}

                    def rest(state):
                        out = {}
                        for ns, d in state.items():
                            out[ns] = {}
                            for n, v in d.items():
                                if ns == m.ns and n in old:
                                    continue
                                if ns == m.ns and n == x["name"]:
                                    v = dict(v, master=0, address="", slave={}, slave_kind="",
                                             flags=v["flags"] & ~IFF_UP if down else v["flags"])
                                elif ns == m.ns and n in vlans:
                                    v = dict(v, flags=v["flags"] & ~IFF_UP)
                                out[ns][n] = v
                        return out
                    b2, a2 = rest(before), rest(after)
                    if b2 != a2:
                        return ["%s failed (%s) but changed the namespaces: %s" % (
                            m.desc, ERRNO.get(e, e), diff(b2, a2))]
                    return []
            if before != after:
                return ["%s failed (%s) but changed the namespaces: %s" % (
                    m.desc, ERRNO.get(e, e), diff(before, after))]
            return []
        b, a = before[m.ns], after[m.ns]
        name = x.get("name")
        if op == "create":
            d = a.get(name)
            by_alt = [n for n, v in b.items() if name in v["altnames"]]
            if by_alt and not m.flags & NLM_F_EXCL:
                # the name is another device's altname (6.12 takes an empty
                # one too): that device was changed
                d = a.get(by_alt[0])
            elif name == "" or "%d" in name:
                # the kernel names it after the kind ("net_failover%d"), or
                # numbers the pattern
                new = [n for n in a if n not in b]
                if len(new) != 1 or a[new[0]]["kind"] != KIND:
                    return ["%s succeeded, but the new devices are %s" % (m.desc, new)]
                d = a[new[0]]
            elif d is not None and name in b and not m.flags & NLM_F_EXCL:
                # without NLM_F_EXCL, a request for a name that exists
                # changes that device (rtnl_newlink()), whatever its kind
                pass
            elif d is None or d["kind"] != KIND:
                return ["%s succeeded, but %s is %s" % (m.desc, name, d and d["kind"])]
            if d is None:
                return []
            if "mtu" in x and d["mtu"] != x["mtu"]:
                return ["%s succeeded with MTU %s, asked %s" % (m.desc, d["mtu"], x["mtu"])]
            if "address" in x and d["address"] != x["address"][:len(d["address"])]:
                return ["%s succeeded with address %s, asked %s" % (m.desc, d["address"], x["address"])]
            return []
        if op == "delete":
            return ["%s succeeded, but it is still there" % m.desc] if name in a else []
        if op == "master":
            lo = a.get(name)
            want = 0 if x["master"] == "0" else (a.get(x["master"]) or {}).get("ifindex", -1)
            if lo is None or lo["master"] != want:
                return ["%s succeeded, but its master is %s" % (m.desc, lo and lo["master"])]
            return []
        if op == "move":
            return ["%s succeeded, but it is still there" % m.desc] if name in a and \
                not (x["to"] == "fd" and m.ns == NS) else []
        d = a.get(name)
        if op == "mtu" and d and d["mtu"] != x["mtu"]:
            return ["%s: MTU %s after success" % (m.desc, d["mtu"])]
        # a longer address than the device's is cut to its length
        if op == "address" and d and d["address"] != x["address"][:len(d["address"])]:
            return ["%s: address %s after success" % (m.desc, d["address"])]
        # an empty name renames nothing; "%d" is numbered
        if op == "name" and x["to"] and "%d" not in x["to"] and x["to"] not in a:
            return ["%s: no device %r after success" % (m.desc, x["to"])]
        if op == "up" and d and x["on"] != bool(d["flags"] & IFF_UP):
            return ["%s: flags %#x after success" % (m.desc, d["flags"])]
        if op == "txqlen" and d and d["txqlen"] != x["txqlen"]:
            return ["%s: txqlen %s after success" % (m.desc, d["txqlen"])]
        if op == "altname" and d and (x["alt"] in d["altnames"]) != x["add"]:
            return ["%s: altnames %s after success" % (m.desc, d["altnames"])]
        return []

    # -- the guest's own master, from the init namespace
    def real(self):
        here = self.sock(None)
        self.stats["real_runs"] = self.stats.get("real_runs", 0) + 1
        if True:
            devs = here.dump()
            # the master of the virtio-net device that offers
            # VIRTIO_NET_F_STANDBY (soak.py, from sysfs: either module)
            ms = [devs[m] for m, _ in masters() if m in devs]
            if not ms:
                return ["real master: no failover master of a virtio-net device in the guest"]
            master = ms[0]
            dum = "fz-rd"
            subprocess.run(["ip", "link", "add", dum, "type", "dummy"], stderr=subprocess.DEVNULL)
            devs = here.dump()
            bad = []
            tries = [
                ("del master", RTM_DELLINK, 0, ifinfo(master["ifindex"])),
                ("changelink data", RTM_NEWLINK, 0, ifinfo(master["ifindex"]) +
                 enc([(IFLA["LINKINFO"], [(IFLA_INFO_KIND, KIND.encode() + b"\0"),
                                          (IFLA_INFO_DATA, [(1, u32(5))])])])),
                ("enslave a dummy", RTM_NEWLINK, 0, ifinfo(devs[dum]["ifindex"]) +
                 attr(IFLA["MASTER"], u32(master["ifindex"]))),
                # (without NLM_F_EXCL this would be a change of nothing)
                ("create over it", RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfo(master["ifindex"]) +
                 enc([(IFLA["LINKINFO"], [(IFLA_INFO_KIND, KIND.encode() + b"\0")])])),
            ]
            for slave in [x for x in devs.values() if x["master"] == master["ifindex"]]:
                tries.append(("slave data of " + slave["name"], RTM_NEWLINK, 0,
                              ifinfo(slave["ifindex"]) +
                              enc([(IFLA["LINKINFO"], [(IFLA_INFO_SLAVE_KIND, KIND.encode() + b"\0"),
                                                       (IFLA_INFO_SLAVE_DATA, [(1, b"\x01")])])])))
            for what, mt, fl, body in tries:
                before = here.dump()
                e, msg, _ = here.request(mt, fl, body)
                after = here.dump()
                self.stats["sent"] += 1
                if e == 0 or e is None:
                    bad.append("real master: %s: %s" % (what, "accepted" if e == 0 else "no answer"))
                elif before != after:
                    bad.append("real master: %s refused (%s) but changed: %s" % (
                        what, ERRNO.get(e, e), diff({"init": before}, {"init": after})))
            subprocess.run(["ip", "link", "del", dum], stderr=subprocess.DEVNULL)
            return bad

    # -- a user namespace without CAP_NET_ADMIN over ours
    def userns(self, n):
        init_sock = Sock(None)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            code = 1
            try:
                res = userns_child(init_sock)
                os.write(wfd, json.dumps(res).encode())
                code = 0
            except BaseException as ex:  # noqa: B902
                os.write(wfd, json.dumps(["child: %r" % ex]).encode())
            os._exit(code)
        os.close(wfd)
        data = b""
        while True:
            c = os.read(rfd, 65536)
            if not c:
                break
            data += c
        os.close(rfd)
        os.waitpid(pid, 0)
        init_sock.close()
        self.stats["userns_runs"] = self.stats.get("userns_runs", 0) + 1
        try:
            return json.loads(data.decode() or '["child: no result"]')
        except ValueError:
            return ["child: bad result %r" % data[:200]]

    def main(self):
        a = self.a
        # the baseline before anything of ours exists (namespaces, pool)
        why = memacct.arm_probes()
        memacct.kmemleak_clear()
        mem = {"start": memacct.snapshot(), "kmemleak": [], "probes_error": why}
        if why:
            log("no net_device count: %s" % why)
        res = {"seed": a.seed, "messages": a.messages, "workers": a.workers, "violation": None}
        t0 = time.monotonic()
        try:
            self.setup()
            have_pf = self.take_pf() if a.pf else False
            # the init namespace's own devices (the guest's master among
            # them), once the PF left (a device moved there later may get
            # its ifindex): anything else of the pool's kinds there came
            # from a message
            self.init_known = set(d["ifindex"] for d in self.sock(None).dump().values())
            res["pf"] = have_pf
            with open(a.log, "w", buffering=1) as f:
                self.loop(a, f, res, mem, have_pf)
        except Exception as ex:  # noqa: B902
            self.problems.append("fuzzer stopped: %r" % ex)
        finally:
            res["seconds"] = round(time.monotonic() - t0, 1)
            self.problems += ["kernel: " + x for x in (self.kmsg.splats()[:5] if self.kmsg else [])]
            self.teardown()
        mem["end"] = memacct.settle_snapshot(mem["start"])
        mem["compare"] = c = memacct.compare(mem["start"], mem["end"])
        memacct.disarm_probes()
        k = memacct.kmemleak_scan()
        if k is not None:
            mem["kmemleak"].append(["end", k])
            if k:
                self.problems.append("kmemleak: %d unreferenced objects at the end" % k)
                mem["kmemleak_report"] = memacct.kmemleak_report()
        if why:
            self.problems.append("no net_device count: " + why)
        if c["netns"] > 0:
            self.problems.append("%+d network namespace(s) alive after ours went (named, processes: %s)" % (
                c["netns"], c["netns_holders"]))
        if c["netdev"] and c["netdev"] > 0:
            self.problems.append("%+d net_device(s) alive after the namespaces went" % c["netdev"])
        res["stats"] = self.stats
        res["memory"] = mem
        res["problems"] = self.problems
        with open(a.out, "w") as f:
            json.dump(res, f)
        st = self.stats
        log("figure: fuzz: seed=%d messages=%d sequential=%d concurrent=%d seconds=%s answered=%d ok=%d "
            "dropped_as_expected=%d exact_checked=%d mutated_checked=%d userns_runs=%d real_master_runs=%d "
            "repairs=%d pf=%s" % (
                a.seed, res.get("done", 0), res.get("sequential", 0), st.get("concurrent", 0),
                res["seconds"], st["answered"], st["ok"], st["no_answer_expected"],
                st["exact_checked"], st.get("mutated_checked", 0), st.get("userns_runs", 0),
                st.get("real_runs", 0), st["repairs"], res.get("pf")))
        cpu = os.times()
        # (the parts overlap: dumps are also inside repairs and the user
        # namespace runs; "sequential messages" is their send and answer)
        log("figure: fuzz: time: %.0f s wall; own cpu %.0f s user %.0f s system; %d dumps %.0f s;"
            " %d name lookups %.0f s; sequential messages %.0f s; repairs %.0f s; bursts %.0f s;"
            " user namespace and real master %.0f s" % (
                res["seconds"], cpu.user, cpu.system, TIMES["dumps"], TIMES["dump_s"],
                TIMES["lookups"], TIMES["lookup_s"], TIMES["send_s"], TIMES["repair_s"],
                TIMES["burst_s"], TIMES["userns_s"]))
        log("figure: fuzz: time by message (count, s): " + ", ".join(
            "%s %d %.0f" % (k, v[0], v[1]) for k, v in sorted(TIMES["by_op"].items(), key=lambda kv: -kv[1][1])))
        log("figure: fuzz: by kind (sent, ok): %s" % json.dumps(st["by_kind"], sort_keys=True))
        log("figure: fuzz: errnos: %s" % " ".join(
            "%s=%d" % kv for kv in sorted(st["errno"].items(), key=lambda kv: -kv[1])))
        log("figure: fuzz memory: slab %+.1f kB in active objects; net_device %s; netns %+d; skb %+d;"
            " kmemleak %s" % (c["total_kb"], c["netdev"], c["netns"], c["skb"], mem["kmemleak"]))
        log("fuzz grown (cache objects kB): " + ", ".join("%s %+d %+.1f" % tuple(g) for g in c["grown"][:10]))
        for p in self.problems[:20]:
            log("FAIL: " + p)
        return 1 if self.problems else 0

    def loop(self, a, f, res, mem, have_pf):
        """The messages: sequential ones, with a burst of concurrent ones
        after every --burst-every sequential, the user namespace and the
        guest's master every --userns-every sequential, kmemleak every
        --kmemleak-every in all."""
        gen = Gen(a.seed, have_pf)
        f.write("seed %d messages %d workers %d burst %d every %d pf %s\n" % (
            a.seed, a.messages, a.workers, a.burst, a.burst_every, have_pf))
        total = seq = scans = logged = 0
        t0 = time.monotonic()
        while total < a.messages and not self.problems:
            if a.userns_every and seq % a.userns_every == 0 and res.get("userns_at") != seq:
                res["userns_at"] = seq
                self.cur = None
                with timed("userns_s"):
                    bad = self.userns(seq)
                    f.write("userns at %d: %s\n" % (total, bad or "ok"))
                    self.problems += ["userns: " + b for b in bad]
                    bad = self.real()
                    f.write("real master at %d: %s\n" % (total, bad or "ok"))
                    self.problems += bad
            if a.workers > 1 and seq and seq % a.burst_every == 0 and res.get("burst_at") != seq:
                res["burst_at"] = seq
                self.cur = None
                with timed("burst_s"):
                    cnt, wbad = concurrent(a, seq, have_pf)
                    self.stats["sent"] += cnt
                    self.stats["concurrent"] = self.stats.get("concurrent", 0) + cnt
                    total += cnt
                    self.repair()
                    bad = invariants(self.state()) + ["kernel: " + x for x in self.kmsg.splats()[:3]]
                    f.write("burst after %d sequential: %d messages from %d workers: %s\n" %
                            (seq, cnt, a.workers, (bad + wbad) or "ok"))
                    self.problems += bad + wbad
            else:
                seq += 1
                total += 1
                m = gen.next()
                f.write("msg %d: %s %s%s | " % (seq, m.kind, m.desc,
                                                " mut=%s" % [x[0] for x in m.mutations] if m.mutations else ""))
                res_s, bad = self.run_one(m, seq)
                f.write(res_s + ("" if not bad else " | VIOLATION " + "; ".join(bad) +
                                 " | sent " + self.raw.hex()) + "\n")
                if bad:
                    self.problems += bad
                    res["violation"] = {"msg": seq, "desc": m.desc, "problems": bad}
                    log("VIOLATION seed=%d msg=%d: %s: %s" % (a.seed, seq, m.desc, "; ".join(bad)))
            # (a burst adds its messages at once: compare with the last line's)
            if total // 5000 > logged:
                logged = total // 5000
                log("fuzz: %d messages (%d sequential) in %ds" % (total, seq, time.monotonic() - t0))
            if a.kmemleak_every and total // a.kmemleak_every > scans:
                scans = total // a.kmemleak_every
                k = memacct.kmemleak_scan()
                if k is not None:
                    mem["kmemleak"].append([total, k])
                    if k:
                        self.problems.append("kmemleak: %d unreferenced objects after %d messages" % (k, total))
        res["done"] = total
        res["sequential"] = seq

    def teardown(self):
        for s in self.socks.values():
            s.close()
        self.socks = {}
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}
        nlops.forget_ns(NS)
        nlops.forget_ns(NS2)
        for ns in (NS, NS2):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        # the igb PF comes back to the init namespace with the namespace's
        # end; its old name, once it is there
        if self.pf_home:
            for _ in range(100):
                if os.path.exists("/sys/class/net/fz-pf"):
                    subprocess.run(["ip", "link", "set", "fz-pf", "name", self.pf_home])
                    break
                time.sleep(0.2)


def diff(a, b):
    out = []
    for ns in sorted(set(a) | set(b)):
        da, db = a.get(ns, {}), b.get(ns, {})
        for name in sorted(set(da) | set(db)):
            if da.get(name) != db.get(name):
                x, y = da.get(name), db.get(name)
                if x and y:
                    out.append("%s/%s: %s" % (ns, name, {k: (x[k], y[k]) for k in x if x[k] != y.get(k)}))
                else:
                    out.append("%s/%s: %s -> %s" % (ns, name, "present" if x else "absent",
                                                     "present" if y else "absent"))
    return "; ".join(out[:6])


def userns_child(init_sock):
    """In a new user and network namespace: what must be refused in the
    init namespace, and what works in our own. [problems]."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(0x10000000 | 0x40000000) != 0:      # CLONE_NEWUSER | CLONE_NEWNET
        return ["unshare: %s" % os.strerror(ctypes.get_errno())]
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write("0 %d 1" % uid)
    with open("/proc/self/gid_map", "w") as f:
        f.write("0 %d 1" % gid)
    bad = []
    before = init_sock.dump()
    lo = before.get("lo", {}).get("ifindex", 1)
    tries = [
        ("create a master", RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
         ifinfo() + enc([(IFLA["IFNAME"], b"fz-u0\0"),
                         (IFLA["LINKINFO"], [(IFLA_INFO_KIND, KIND.encode() + b"\0")])])),
        ("delete lo", RTM_DELLINK, 0, ifinfo(lo)),
        ("lo mtu", RTM_NEWLINK, 0, ifinfo(lo) + attr(IFLA["MTU"], u32(1280))),
    ]
    for name, d in before.items():
        if d["slave_kind"] == KIND or any(x["master"] == d["ifindex"] for x in before.values()):
            tries.append(("rename " + name, RTM_NEWLINK, 0, ifinfo(d["ifindex"]) +
                          attr(IFLA["IFNAME"], b"fz-u1\0")))
            tries.append(("release " + name, RTM_NEWLINK, 0, ifinfo(d["ifindex"]) +
                          attr(IFLA["MASTER"], u32(0))))
    for what, mt, fl, body in tries:
        e, msg, _ = init_sock.request(mt, fl, body)
        if e != errno.EPERM:
            bad.append("init namespace from a user namespace: %s: %s, not EPERM" %
                       (what, ERRNO.get(e, e)))
    if init_sock.dump() != before:
        bad.append("init namespace changed by refused requests from a user namespace")
    # our own namespace: we are its admin
    own = Sock(None)
    e, msg, _ = own.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfo() + enc(
        [(IFLA["IFNAME"], b"fz-um\0"), (IFLA["LINKINFO"], [(IFLA_INFO_KIND, KIND.encode() + b"\0")])]))
    if e:
        bad.append("user namespace: create a master in our own namespace: %s (%s)" % (ERRNO.get(e, e), msg))
        return bad
    e, msg, _ = own.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, ifinfo() + enc(
        [(IFLA["IFNAME"], b"fz-uv\0"),
         (IFLA["LINKINFO"], [(IFLA_INFO_KIND, b"veth\0"),
                             (IFLA_INFO_DATA, [(1, ifinfo() + attr(IFLA["IFNAME"], b"fz-up\0"))])])]))
    devs = own.dump()
    if e or "fz-uv" not in devs:
        bad.append("user namespace: create a veth in our own namespace: %s (%s)" % (ERRNO.get(e, e), msg))
    else:
        e, msg, _ = own.request(RTM_NEWLINK, 0, ifinfo(devs["fz-uv"]["ifindex"]) +
                                attr(IFLA["MASTER"], u32(devs["fz-um"]["ifindex"])))
        devs = own.dump()
        if e or devs["fz-uv"]["master"] != devs["fz-um"]["ifindex"]:
            bad.append("user namespace: enslave a veth: %s (%s)" % (ERRNO.get(e, e), msg))
        elif devs["fz-uv"]["slave_kind"] != KIND or not devs["fz-uv"]["slave"]:
            bad.append("user namespace: no slave data on fz-uv: %s" % devs["fz-uv"])
        bad += ["user namespace: " + x for x in invariants({"userns": devs})]
    for name in ("fz-um", "fz-uv"):
        if name not in devs:
            continue
        e, msg, _ = own.request(RTM_NEWLINK, 0, ifinfo(devs[name]["ifindex"]) +
                                attr(IFLA["NET_NS_PID"], u32(1)))
        if e != errno.EPERM:
            bad.append("user namespace: move %s to the init namespace: %s, not EPERM" % (name, ERRNO.get(e, e)))
    e, msg, _ = own.request(RTM_DELLINK, 0, ifinfo(devs["fz-um"]["ifindex"]))
    if e:
        bad.append("user namespace: delete our master: %s" % ERRNO.get(e, e))
    own.close()
    return bad


def concurrent(a, n, have_pf):
    """A burst: a.workers processes send a.burst messages each, at once,
    mutated or chaos only (no exact verdicts); the count sent."""
    pids = []
    for w in range(a.workers):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                g = Gen((a.seed << 20) ^ (n << 4) ^ w, have_pf)
                f = Fuzz(a)
                f.kmsg = None
                for i in range(a.burst):
                    if i % 8 == 0:
                        # names resolved from a dump every 8 messages, not
                        # asked one by one (the others change them meanwhile:
                        # a stale index is one more request for the kernel
                        # to refuse)
                        try:
                            f.cur = {NS: f.sock(NS).dump(), NS2: f.sock(NS2).dump()}
                        except OSError:
                            f.cur = None
                    m = g.chaos() if g.r.random() < 0.5 else g.mutate(g.exact())
                    raw, lie, seq = f.encode(m)
                    e, _, _ = f.sock(m.ns).send(raw, seq, lie)
                    if e is None and not lie:
                        code = 3
            except BaseException:  # noqa: B902
                code = 2
            os._exit(code)
        pids.append(pid)
    bad = []
    for w, pid in enumerate(pids):
        _, st = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(st)
        if code:
            bad.append("worker %d of the burst at %d: %s" % (
                w, n, {2: "crashed", 3: "a message got no answer"}.get(code, "exit %d" % code)))
    return a.workers * a.burst, bad


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--burst", type=int, default=100, help="messages per worker in a burst")
    p.add_argument("--burst-every", type=int, default=2000)
    p.add_argument("--userns-every", type=int, default=1000)
    p.add_argument("--kmemleak-every", type=int, default=20000)
    p.add_argument("--pf", action="store_true",
                   help="move a free igb PF into the namespace as a primary candidate"
                        " (it comes back with what the messages changed)")
    p.add_argument("--break", dest="brk", default="")
    a = p.parse_args()
    a.brk = a.brk.split()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return Fuzz(a).main()


if __name__ == "__main__":
    sys.exit(main())
