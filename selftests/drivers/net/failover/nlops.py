#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Link, address and ethtool operations without a fork/exec (stdlib only).

The soak's storm (soak.py) runs thousands of "ip link set", "ip link add",
"ip maddr" and "ethtool" commands; under TCG with the debug kernel each
fork/exec costs about 0.25 s, more than the operation itself. This module
sends the same requests to the kernel from the Python process:

  rtnetlink (NETLINK_ROUTE)  RTM_NEWLINK on an existing device: name, MTU,
                             IFF_UP/IFF_PROMISC/IFF_ALLMULTI in
                             ifi_change/ifi_flags, link address, netns
                             (IFLA_NET_NS_FD or IFLA_NET_NS_PID);
                             RTM_NEWLINK with NLM_F_CREATE: vlan, macvlan,
                             dummy (IFLA_LINKINFO); RTM_DELLINK;
                             RTM_NEWADDR with NLM_F_REPLACE ("ip addr replace")
  SIOCADDMULTI/SIOCDELMULTI  "ip maddr add/del" (the ioctls ip itself uses)
  SIOCETHTOOL                the ethtool queries and settings of the storm
                             (ethtool 6.1 sends most of them over ethtool
                             netlink; the driver's ethtool_ops are the same)

Error convention, as soak.py's run(): every operation returns
(status, text); status 0 is success, otherwise the positive errno, and the
text starts with the errno's name ("EOPNOTSUPP: Operation not supported"),
followed by the kernel's extended ack message when there is one. Nothing
raises for an error the kernel reports.

A device in another network namespace is reached with ns=NAME
(/run/netns/NAME, as "ip -n NAME"): the netlink socket is created inside
it (setns(2) of this thread around socket(2), through ctypes) and kept.

Run as a script for one operation (for debugging), e.g.
  nlops.py link_set eth0 mtu=1400 up=1
  nlops.py ethtool_query eth0 -S
"""

import array
import ctypes
import errno
import fcntl
import fnmatch
import os
import socket
import struct
import sys

# netlink / rtnetlink (uapi/linux/netlink.h, rtnetlink.h, if_link.h)
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100        # in an NLMSG_ERROR: the request's payload left out
NLM_F_ACK_TLVS = 0x200      # in an NLMSG_ERROR: extended ack TLVs follow
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_LINKINFO = 18
IFLA_NET_NS_PID = 19
IFLA_NET_NS_FD = 28
IFLA_EXT_MASK = 29
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_VLAN_ID = 1
IFLA_MACVLAN_MODE = 1
MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8, "source": 16}
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFF_UP = 0x1
IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
CLONE_NEWNET = 0x40000000

# ioctls (uapi/linux/sockios.h)
SIOCADDMULTI = 0x8931
SIOCDELMULTI = 0x8932
SIOCETHTOOL = 0x8946
IFREQ_SIZE = 40

# ethtool (uapi/linux/ethtool.h)
ETHTOOL_GDRVINFO = 0x03
ETHTOOL_GWOL = 0x05
ETHTOOL_GMSGLVL = 0x07
ETHTOOL_GLINK = 0x0a
ETHTOOL_GCOALESCE = 0x0e
ETHTOOL_GRINGPARAM = 0x10
ETHTOOL_SRINGPARAM = 0x11
ETHTOOL_GPAUSEPARAM = 0x12
ETHTOOL_GSTRINGS = 0x1b
ETHTOOL_GSTATS = 0x1d
ETHTOOL_GPERMADDR = 0x20
ETHTOOL_GPFLAGS = 0x27
ETHTOOL_GSSET_INFO = 0x37
ETHTOOL_GFEATURES = 0x3a
ETHTOOL_SFEATURES = 0x3b
ETHTOOL_GCHANNELS = 0x3c
ETHTOOL_GET_TS_INFO = 0x41
ETHTOOL_GMODULEINFO = 0x42
ETHTOOL_GLINKSETTINGS = 0x4c
ETHTOOL_SLINKSETTINGS = 0x4d
ETH_SS_STATS = 1
ETH_SS_PRIV_FLAGS = 2
ETH_SS_FEATURES = 4
ETH_GSTRING_LEN = 32
ETHTOOL_F_UNSUPPORTED = 0x1
ETHTOOL_F_WISH = 0x2
DUPLEX = {"half": 0, "full": 1}
# ethtool -K's short names: the feature strings they stand for (ethtool's
# off_flag_def table)
FEATURE_PATTERNS = {
    "rx": "rx-checksum", "tx": "tx-checksum-*", "sg": "tx-scatter-gather*",
    "tso": "tx-tcp*-segmentation", "gso": "tx-generic-segmentation",
    "gro": "rx-gro", "lro": "rx-lro", "rxvlan": "rx-vlan-hw-parse",
    "txvlan": "tx-vlan-hw-insert", "ntuple": "rx-ntuple-filter",
    "rxhash": "rx-hashing",
}


# where errno has two names, the one the kernel's sources use
ERRNO_NAMES = {errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EAGAIN: "EAGAIN"}


def err_text(e, msg=None):
    """"ENAME: strerror[ (extack)]" for errno E."""
    text = "%s: %s" % (ERRNO_NAMES.get(e) or errno.errorcode.get(e, "E%d" % e), os.strerror(e))
    return text + (" (%s)" % msg if msg else "")


def failed(e, msg=None):
    return e, err_text(e, msg)


# ---------------------------------------------------------------------------
# network namespaces

_libc = None


def _setns(fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def socket_in(ns, family, kind, proto=0):
    """A socket created in network namespace NS (/run/netns/NS), or here
    when NS is None."""
    if ns is None:
        return socket.socket(family, kind, proto)
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        there = os.open(ns if ns.startswith("/") else "/run/netns/" + ns, os.O_RDONLY)
        try:
            _setns(there)
            try:
                return socket.socket(family, kind, proto)
            finally:
                _setns(here)
        finally:
            os.close(there)
    finally:
        os.close(here)


# ---------------------------------------------------------------------------
# rtnetlink

def attr(kind, data):
    """One rtattr (padded to 4 bytes)."""
    if isinstance(data, str):
        data = data.encode() + b"\0"
    n = 4 + len(data)
    return struct.pack("=HH", n, kind) + data + b"\0" * ((4 - n % 4) % 4)


def attr_items(buf):
    """(type, payload) of each rtattr of a run, in order (flags masked)."""
    off = 0
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4:
            break
        yield kind & 0x3fff, buf[off + 4:off + n]
        off += (n + 3) & ~3


def attrs(buf):
    """{type: payload} of a run of rtattrs."""
    return dict(attr_items(buf))


def ack_error(payload, mflags):
    """(errno, extended ack message or None) of an NLMSG_ERROR payload:
    the error code, the request (only its header with NETLINK_CAP_ACK),
    then the TLVs."""
    (err,) = struct.unpack_from("=i", payload)
    msg = None
    if mflags & NLM_F_ACK_TLVS:
        (olen,) = struct.unpack_from("=I", payload, 4)
        skip = 4 + (16 if mflags & NLM_F_CAPPED else (olen + 3) & ~3)
        m = attrs(payload[skip:]).get(NLMSGERR_ATTR_MSG)
        if m:
            msg = m.rstrip(b"\0").decode(errors="replace")
    return -err, msg


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


class Rtnl:
    """One NETLINK_ROUTE socket (in one namespace); request() sends a
    message and waits for its answer."""

    def __init__(self, ns=None):
        self.ns = ns
        self.sock = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        for opt in (NETLINK_EXT_ACK, NETLINK_CAP_ACK):
            try:
                self.sock.setsockopt(SOL_NETLINK, opt, 1)
            except OSError:
                pass
        self.seq = 0

    def close(self):
        self.sock.close()

    def request(self, msg_type, flags, body):
        """([reply payloads], 0, "") or ([], errno, extack message)."""
        self.seq += 1
        seq = self.seq
        msg = struct.pack("=IHHII", 16 + len(body), msg_type, flags | NLM_F_REQUEST, seq, 0) + body
        self.sock.send(msg)
        replies = []
        while True:
            data = self.sock.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                n, kind, mflags, mseq, _ = struct.unpack_from("=IHHII", data, off)
                if n < 16:
                    return replies, errno.EPROTO, "bad netlink message"
                payload = data[off + 16:off + n]
                off += (n + 3) & ~3
                if mseq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    e, msg = ack_error(payload, mflags)
                    return replies, e, msg
                if kind == NLMSG_DONE:
                    return replies, 0, None
                replies.append(payload)
                if not flags & NLM_F_ACK:
                    return replies, 0, None

    # -- helpers
    def ifindex(self, dev):
        """DEV's ifindex in this socket's namespace, or (None, errno, msg)."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + attr(IFLA_IFNAME, dev) + \
            attr(IFLA_EXT_MASK, struct.pack("=I", 0))
        rep, e, msg = self.request(RTM_GETLINK, 0, body)
        if e or not rep:
            return None, e or errno.ENODEV, msg
        return struct.unpack_from("=BxHiII", rep[0])[2], 0, None

    def link(self, dev):
        """{"ifindex", "flags", "mtu", "ifname", "address"} of DEV, or None."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + attr(IFLA_IFNAME, dev)
        rep, e, _ = self.request(RTM_GETLINK, 0, body)
        if e or not rep:
            return None
        _, _, idx, flags, _ = struct.unpack_from("=BxHiII", rep[0])
        a = attrs(rep[0][16:])
        return {"ifindex": idx, "flags": flags,
                "mtu": struct.unpack("=I", a[IFLA_MTU])[0] if IFLA_MTU in a else None,
                "ifname": a.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(),
                "address": ":".join("%02x" % b for b in a.get(IFLA_ADDRESS, b""))}


_rtnl = {}


def rtnl(ns=None):
    """The cached socket of namespace NS (None: this process's)."""
    if ns not in _rtnl:
        _rtnl[ns] = Rtnl(ns)
    return _rtnl[ns]


def forget_ns(ns):
    """Drop the socket of NS (before "ip netns del"; a new NS of that name
    gets a new socket)."""
    for cache in (_rtnl, _inet):
        s = cache.pop(ns, None)
        if s:
            s.close()


def _do(ns, msg_type, flags, body):
    try:
        _, e, msg = rtnl(ns).request(msg_type, flags | NLM_F_ACK, body)
    except OSError as ex:
        return failed(ex.errno or errno.EIO)
    return (0, "") if e == 0 else failed(e, msg)


def _index(dev, ns):
    try:
        idx, e, msg = rtnl(ns).ifindex(dev)
    except OSError as ex:
        return None, failed(ex.errno or errno.EIO)
    return idx, (None if idx else failed(e, msg))


def link_set(dev, ns=None, name=None, mtu=None, up=None, promisc=None, allmulti=None,
             address=None, netns=None):
    """"ip [-n NS] link set dev DEV" with the given settings, one request.
    NETNS moves it: a namespace name or path (IFLA_NET_NS_FD) or a pid
    (int, IFLA_NET_NS_PID; 1 is "netns 1")."""
    idx, err = _index(dev, ns)
    if err:
        return err
    change = flags = 0
    for bit, val in ((IFF_UP, up), (IFF_PROMISC, promisc), (IFF_ALLMULTI, allmulti)):
        if val is not None:
            change |= bit
            flags |= bit if val else 0
    a = b""
    if name is not None:
        a += attr(IFLA_IFNAME, name)
    if mtu is not None:
        a += attr(IFLA_MTU, struct.pack("=I", int(mtu)))
    if address is not None:
        a += attr(IFLA_ADDRESS, mac_bytes(address))
    fd = None
    try:
        if isinstance(netns, int):
            a += attr(IFLA_NET_NS_PID, struct.pack("=I", netns))
        elif netns is not None:
            try:
                fd = os.open(netns if netns.startswith("/") else "/run/netns/" + netns, os.O_RDONLY)
            except OSError as ex:
                return failed(ex.errno, "netns %s" % netns)
            a += attr(IFLA_NET_NS_FD, struct.pack("=I", fd))
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, idx, flags, change) + a
        return _do(ns, RTM_NEWLINK, 0, body)
    finally:
        if fd is not None:
            os.close(fd)


def link_add(name, kind, ns=None, link=None, address=None, vlan_id=None, macvlan_mode=None):
    """"ip link add [link LINK] NAME [address MAC] type KIND ...": kinds
    vlan (VLAN_ID), macvlan (MACVLAN_MODE, e.g. "bridge"), dummy, ..."""
    a = attr(IFLA_IFNAME, name)
    if link is not None:
        idx, err = _index(link, ns)
        if err:
            return err
        a += attr(IFLA_LINK, struct.pack("=I", idx))
    if address is not None:
        a += attr(IFLA_ADDRESS, mac_bytes(address))
    data = b""
    if vlan_id is not None:
        data += attr(IFLA_VLAN_ID, struct.pack("=H", int(vlan_id)))
    if macvlan_mode is not None:
        data += attr(IFLA_MACVLAN_MODE, struct.pack("=I", MACVLAN_MODES[macvlan_mode]))
    info = attr(IFLA_INFO_KIND, kind) + (attr(IFLA_INFO_DATA, data) if data else b"")
    a += attr(IFLA_LINKINFO, info)
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + a
    return _do(ns, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)


def link_del(dev, ns=None):
    """"ip link del dev DEV"."""
    idx, err = _index(dev, ns)
    if err:
        return err
    return _do(ns, RTM_DELLINK, 0, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0))


def addr_replace(dev, cidr, ns=None):
    """"ip addr replace A.B.C.D/N dev DEV" (IPv4)."""
    idx, err = _index(dev, ns)
    if err:
        return err
    addr, _, plen = cidr.partition("/")
    try:
        raw = socket.inet_pton(socket.AF_INET, addr)
    except OSError:
        return failed(errno.EINVAL, "not an IPv4 address: %s" % addr)
    body = struct.pack("=BBBBI", socket.AF_INET, int(plen or 32), 0, 0, idx) + \
        attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
    return _do(ns, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, body)


# ---------------------------------------------------------------------------
# ioctls

_inet = {}


def _ioctl_sock(ns):
    if ns not in _inet:
        _inet[ns] = socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM)
    return _inet[ns]


def maddr(dev, mac, add=True, ns=None):
    """"ip maddr add|del MAC dev DEV": SIOCADDMULTI/SIOCDELMULTI with an
    AF_UNSPEC hardware address, as ip does."""
    try:
        raw = mac_bytes(mac)
    except ValueError:
        return failed(errno.EINVAL, "bad address %s" % mac)
    ifr = struct.pack("=16sH14s", dev.encode(), socket.AF_UNSPEC, raw)
    ifr += b"\0" * (IFREQ_SIZE - len(ifr))
    try:
        fcntl.ioctl(_ioctl_sock(ns).fileno(), SIOCADDMULTI if add else SIOCDELMULTI, ifr)
    except OSError as ex:
        return failed(ex.errno)
    return 0, ""


def ethtool(dev, data, ns=None):
    """One SIOCETHTOOL call with the command buffer DATA (the ifreq points
    at it); the buffer as the kernel left it. OSError on an error."""
    buf = array.array("B", data)
    ifr = bytearray(struct.pack("16sP", dev.encode(), buf.buffer_info()[0]))
    ifr += b"\0" * (IFREQ_SIZE - len(ifr))
    fcntl.ioctl(_ioctl_sock(ns).fileno(), SIOCETHTOOL, ifr)
    return buf.tobytes()


def _get(dev, cmd, fmt, ns):
    """The fields of a fixed-size ethtool get command (FMT: cmd first)."""
    n = len(struct.unpack(fmt, bytes(struct.calcsize(fmt))))
    return list(struct.unpack(fmt, ethtool(dev, struct.pack(fmt, cmd, *([0] * (n - 1))), ns)))


RING = "=9I"        # cmd, rx/rx_mini/rx_jumbo/tx max, then pending
CHANNELS = "=9I"    # cmd, rx/tx/other/combined max, then counts
TS_INFO = "=IIiIIIIIIII"


# GSTRINGS and GSTATS write as many entries as the device has at the time
# of the call, whatever the buffer: room for more than GSSET_INFO said
SLACK = 256


def _sset_len(dev, sset, ns):
    out = ethtool(dev, struct.pack("=IIQI", ETHTOOL_GSSET_INFO, 0, 1 << sset, 0), ns)
    _, _, mask, n = struct.unpack("=IIQI", out)
    return n if mask & (1 << sset) else 0


def _strings(dev, sset, n, ns):
    out = ethtool(dev, struct.pack("=III", ETHTOOL_GSTRINGS, sset, n) +
                  b"\0" * ((n + SLACK) * ETH_GSTRING_LEN), ns)
    (n,) = struct.unpack_from("=I", out, 8)
    if n > len(out) // ETH_GSTRING_LEN:
        raise OSError(errno.EOVERFLOW, "%d strings" % n)
    return [out[12 + i * ETH_GSTRING_LEN:12 + (i + 1) * ETH_GSTRING_LEN].split(b"\0")[0].decode(
        errors="replace") for i in range(n)]


def _features(dev, ns):
    """(names, [(available, requested, active, never_changed)] per word)."""
    names = _strings(dev, ETH_SS_FEATURES, _sset_len(dev, ETH_SS_FEATURES, ns), ns)
    words = (len(names) + 31) // 32
    out = ethtool(dev, struct.pack("=II", ETHTOOL_GFEATURES, words) + b"\0" * (16 * words), ns)
    blocks = [struct.unpack_from("=IIII", out, 8 + 16 * i) for i in range(words)]
    return names, blocks


def _link_settings(dev, ns):
    """(header fields, masks) of ETHTOOL_GLINKSETTINGS (nwords handshake)."""
    hdr = "=IIBBBBBBBbBBBB7I"
    first = ethtool(dev, struct.pack(hdr, ETHTOOL_GLINKSETTINGS, *([0] * 20)), ns)
    nwords = -struct.unpack(hdr, first)[9]
    if nwords <= 0:
        raise OSError(errno.EPROTO, "link settings handshake")
    req = list(struct.unpack(hdr, first))
    req[9] = nwords
    out = ethtool(dev, struct.pack(hdr, *req) + b"\0" * (12 * nwords), ns)
    base = list(struct.unpack_from(hdr, out))
    masks = out[struct.calcsize(hdr):]
    return hdr, base, masks


def _query(dev, q, ns):
    """The text of "ethtool Q DEV" (its gist, one line)."""
    if q == "-i":
        out = ethtool(dev, struct.pack("=I", ETHTOOL_GDRVINFO) + b"\0" * 192, ns)
        drv, ver, fw, bus = (out[4 + 32 * i:36 + 32 * i].split(b"\0")[0].decode() for i in range(4))
        n_priv = struct.unpack_from("=I", out, 176)[0]
        return "driver: %s version: %s firmware-version: %s bus-info: %s priv-flags: %d" % (
            drv, ver, fw, bus, n_priv)
    if q == "-k":
        names, blocks = _features(dev, ns)
        on = [n for i, n in enumerate(names) if n and blocks[i // 32][2] & (1 << i % 32)]
        fixed = [n for i, n in enumerate(names) if n and not blocks[i // 32][0] & (1 << i % 32)]
        return "%d features, %d on, %d fixed" % (len([n for n in names if n]), len(on), len(fixed))
    if q == "-S":
        n = _sset_len(dev, ETH_SS_STATS, ns)
        if not n:
            raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))
        names = _strings(dev, ETH_SS_STATS, n, ns)
        out = ethtool(dev, struct.pack("=II", ETHTOOL_GSTATS, n) + b"\0" * (8 * (n + SLACK)), ns)
        (n,) = struct.unpack_from("=I", out, 4)
        if 8 + 8 * n > len(out):
            raise OSError(errno.EOVERFLOW, "%d stats" % n)
        vals = struct.unpack_from("=%dQ" % n, out, 8)
        return "%d stats, last %s: %d" % (n, names[-1] if names else "?", vals[-1] if vals else 0)
    if q == "-g":
        v = _get(dev, ETHTOOL_GRINGPARAM, RING, ns)
        return "rx %d/%d tx %d/%d" % (v[5], v[1], v[8], v[4])
    if q == "-l":
        v = _get(dev, ETHTOOL_GCHANNELS, CHANNELS, ns)
        return "rx %d tx %d other %d combined %d (max %d %d %d %d)" % tuple(v[5:9] + v[1:5])
    if q == "-c":
        v = _get(dev, ETHTOOL_GCOALESCE, "=23I", ns)
        return "rx-usecs %d rx-frames %d tx-usecs %d tx-frames %d" % (v[1], v[2], v[5], v[6])
    if q == "-a":
        v = _get(dev, ETHTOOL_GPAUSEPARAM, "=4I", ns)
        return "autoneg %d rx %d tx %d" % tuple(v[1:])
    if q == "-P":
        out = ethtool(dev, struct.pack("=II", ETHTOOL_GPERMADDR, 32) + b"\0" * 32, ns)
        (n,) = struct.unpack_from("=I", out, 4)
        addr = out[8:8 + n]
        text = ":".join("%02x" % b for b in addr) if any(addr) else "not set"
        return "Permanent address: " + text
    if q == "-T":
        v = _get(dev, ETHTOOL_GET_TS_INFO, TS_INFO, ns)
        return "so_timestamping 0x%x phc %d tx_types 0x%x rx_filters 0x%x" % (
            v[1], v[2], v[3], v[7])
    if q == "--show-priv-flags":
        names = _strings(dev, ETH_SS_PRIV_FLAGS, _sset_len(dev, ETH_SS_PRIV_FLAGS, ns), ns)
        if not names:
            return "no private flags"
        v = _get(dev, ETHTOOL_GPFLAGS, "=II", ns)[1]
        return " ".join("%s=%s" % (n, "on" if v & (1 << i) else "off") for i, n in enumerate(names))
    if q == "-m":
        v = _get(dev, ETHTOOL_GMODULEINFO, "=11I", ns)
        return "module type 0x%x eeprom_len %d" % (v[1], v[2])
    if q == "":
        # plain "ethtool DEV": link settings, WoL, message level, link
        hdr, base, _ = _link_settings(dev, ns)
        speed = base[1]
        text = "speed %s duplex %s autoneg %s" % (
            "unknown" if speed in (0, 0xffffffff) else speed,
            {0: "half", 1: "full"}.get(base[2], "unknown"), "on" if base[5] else "off")
        # wolinfo: cmd, supported, wolopts, sopass[6]; value: cmd, data
        for cmd, fmt, i, what in ((ETHTOOL_GWOL, "=III6B2x", 2, "wol"),
                                  (ETHTOOL_GMSGLVL, "=II", 1, "msglvl")):
            try:
                text += " %s 0x%x" % (what, _get(dev, cmd, fmt, ns)[i])
            except OSError:
                pass
        link = _get(dev, ETHTOOL_GLINK, "=II", ns)[1]
        return text + " link %s" % ("yes" if link else "no")
    raise ValueError("unknown ethtool query %r" % q)


def ethtool_features(dev, ns=None):
    """{feature string: (on, fixed)} of DEV ("ethtool -k"); OSError on an
    error."""
    names, blocks = _features(dev, ns)
    return {n: (bool(blocks[i // 32][2] & (1 << i % 32)), not blocks[i // 32][0] & (1 << i % 32))
            for i, n in enumerate(names) if n}


def ethtool_query(dev, q, ns=None):
    """"ethtool Q DEV" for Q in -i -k -S -g -l -c -a -P -T
    --show-priv-flags -m and "" (the link settings)."""
    try:
        return 0, _query(dev, q, ns)
    except OSError as ex:
        return failed(ex.errno or errno.EIO)


def ethtool_feature(dev, feature, on, ns=None):
    """"ethtool -K DEV FEATURE on|off" (FEATURE: a short name of ethtool,
    or a feature string such as rx-gro)."""
    try:
        names, blocks = _features(dev, ns)
        pat = FEATURE_PATTERNS.get(feature, feature)
        bits = [i for i, n in enumerate(names) if n and fnmatch.fnmatchcase(n, pat)]
        if not bits:
            return failed(errno.EOPNOTSUPP, "no feature %s" % feature)
        words = len(blocks)
        valid = [0] * words
        for i in bits:
            valid[i // 32] |= 1 << i % 32
        req = b"".join(struct.pack("=II", valid[w], valid[w] if on else 0) for w in range(words))
        ethtool(dev, struct.pack("=II", ETHTOOL_SFEATURES, words) + req, ns)
        _, after = _features(dev, ns)
    except OSError as ex:
        return failed(ex.errno or errno.EIO)
    # as ethtool: an error when none of the features ends up as asked
    want = [i for i in bits if bool(after[i // 32][2] & (1 << i % 32)) == bool(on)]
    fixed = [names[i] for i in bits if not blocks[i // 32][0] & (1 << i % 32)]
    if not want:
        return 1, "Could not change any device features%s" % (
            " (fixed: %s)" % " ".join(fixed) if fixed else "")
    return 0, "%s %s: %d of %d" % (feature, "on" if on else "off", len(want), len(bits))


def ethtool_rings(dev, rx=None, tx=None, ns=None):
    """"ethtool -G DEV rx RX tx TX"."""
    try:
        v = _get(dev, ETHTOOL_GRINGPARAM, RING, ns)
        if rx is not None:
            v[5] = rx
        if tx is not None:
            v[8] = tx
        v[0] = ETHTOOL_SRINGPARAM
        ethtool(dev, struct.pack("=9I", *v), ns)
    except OSError as ex:
        return failed(ex.errno or errno.EIO)
    return 0, ""


def ethtool_link(dev, speed=None, duplex=None, autoneg=None, ns=None):
    """"ethtool -s DEV [speed N] [duplex half|full] [autoneg on|off]"."""
    try:
        hdr, base, masks = _link_settings(dev, ns)
        base[0] = ETHTOOL_SLINKSETTINGS
        if speed is not None:
            base[1] = int(speed)
        if duplex is not None:
            base[2] = DUPLEX[duplex]
        if autoneg is not None:
            base[5] = 1 if autoneg else 0
        base[11] = base[12] = 0     # master_slave_cfg/state: set ones refused
        ethtool(dev, struct.pack(hdr, *base) + masks, ns)
    except OSError as ex:
        return failed(ex.errno or errno.EIO)
    return 0, ""


def main(argv):
    """nlops.py FUNCTION DEV [key=value ...] [positional ...]"""
    if len(argv) < 2 or argv[0] not in ("link_set", "link_add", "link_del", "addr_replace",
                                         "maddr", "ethtool_query", "ethtool_feature",
                                         "ethtool_rings", "ethtool_link"):
        print(main.__doc__, file=sys.stderr)
        return 2
    pos, kw = [], {}
    for a in argv[1:]:
        k, eq, v = a.partition("=")
        if eq and k.isidentifier():
            kw[k] = int(v) if v.lstrip("-").isdigit() and k not in ("name", "ns") else v
        else:
            pos.append(a)
    st, text = globals()[argv[0]](*pos, **kw)
    print("rc=%d %s" % (st, text))
    return 1 if st else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
