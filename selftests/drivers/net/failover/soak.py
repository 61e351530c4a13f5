#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Long-lived guest driver of the failover soak (soak.sh; stdlib only).

  soak.py cycles --cycles N --kinds qmp,pci,link --sender-pid PID
                 --mark-file F --out JSON
      N planned removals of the e1000e primary, the kinds in turn, under
      the stream of udpseq.py send --mark-file F (PID): before each cycle
      and after the last one the sender gets SIGUSR1, so the stream's
      sequence numbers between two marks belong to one cycle. A cycle ends
      when the primary is enslaved again, has carrier and carries the
      stream. After each cycle: the invariants below and the kernel log.
  soak.py vfcycles --cycles N ...  (same options)
      The same with igb SR-IOV VFs (needs a 1 GiB guest, see sriov.sh): the
      e1000e leaves (QMP), VF0 gets the standby's MAC; a cycle is
      sriov_numvfs 0 then 2, the MACs set again and VF0 bound to igbvf. The
      e1000e comes back at the end.
  soak.py report --cycles-json J --marks F --detail D --out JSON
      Per-cycle loss and longest gap from the receiver's missing runs and
      gaps (udpseq.py recv --detail-out D): min/median/max overall and per
      kind; prints "# figure:" lines. Datagrams of a window that the
      receiver never saw (past its last seq: it or the path died early)
      count as lost.
  soak.py storm --ops N --seed S --log F --out JSON
      A random-operation storm from random.Random(S): renames, MTUs, VLANs,
      promisc/allmulti, multicast and unicast address lists, ethtool
      queries and settings, hot-plug (QMP, PCI), rmmod/modprobe of e1000e,
      netns moves of the slaves, module reloads of virtio_net (and of the
      failover module), impostors. The op sequence depends only on S and N
      (the model of what is where is updated from the ops chosen, not from
      their outcome), so the same S replays the same ops; F gets one line
      per op ("op N: <op> | <what ran and its status>"), and the digest of
      the op column goes into the JSON. After every op the invariants must
      hold (polled until they do, up to a per-op settle time); the storm
      stops at the first one that does not, or at a kernel splat, and
      prints "VIOLATION seed=S op=N/TOTAL: <op>: <what>".

Invariants: there is one failover master; the standby (the virtio sibling
named "sby") is its lower whenever it is in this namespace; at most one
other lower, the primary, which is a PCI e1000e/igbvf function with the
standby's MAC (no impostor: no dummy, VLAN, macvlan or foreign device);
every lower's master link is the master and no device is the lower of two
masters; a PCI e1000e/igbvf netdev with the standby's MAC in this
namespace is enslaved (no failed enslavement, when no other primary is);
while the master is up its carrier equals "some lower is up with carrier";
the master's counters never decrease (per master ifindex).

Environment: NF_MAC NF_ADDR4 NF_PREFIX4 NF_PEER4 NF_PRIMARY_QDEV NF_MODULE
NF_RESULTS (topology.env, exported by soak.sh), NF_DMESG_BAD (the splat
pattern of lib.sh). Host actions and module loading go through lib.sh
(host_do, nf_modules_load) in a bash child. The link, address and ethtool
operations are in-process (nlops.py: rtnetlink and ioctls, no fork/exec);
NF_SOAK_EXEC=1 runs them through ip(8) and ethtool(8) instead (the same
ops; only the text of the op log's status column differs).
"""

import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memacct  # noqa: E402
import nlops  # noqa: E402

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib.sh")
NET = "/sys/class/net"
PCI = "/sys/bus/pci/devices"
VIRTIO_NET = "/sys/bus/virtio/drivers/virtio_net"
OTHER_MAC = "02:4e:46:00:00:01"
NS = "nfsoak"
IFF_UP = 0x1
COUNTERS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped",
            "tx_dropped", "multicast", "rx_errors", "tx_errors")

# NF_SOAK_BREAK: deliberate breakage to watch the soak fail, blank-separated:
#   loss      both paths down for 1 s in every cycle (datagrams are lost)
#   deaf@N    the peer's receiver is stopped before cycle N (the windows it
#             never saw must count as lost)
#   unbind@N  after storm op N the virtio device is unbound (no master)
BREAK = dict((w.split("@") + [True])[:2] for w in os.environ.get("NF_SOAK_BREAK", "").split())
MAC = os.environ.get("NF_MAC", "52:54:00:12:34:56").lower()
ADDR4 = os.environ.get("NF_ADDR4", "192.0.2.2")
PREFIX4 = os.environ.get("NF_PREFIX4", "24")
PEER4 = os.environ.get("NF_PEER4", "192.0.2.1")
QDEV = os.environ.get("NF_PRIMARY_QDEV", "pf0")
# RCU stall reports are judged by check-dmesg.sh (host-side TCG stalls)
NOT_SPLAT = re.compile(r"rcu: INFO|detected stall|rcu_sched self-detected")
SPLAT = re.compile(os.environ.get("NF_DMESG_BAD") or
                   r"WARNING:|BUG:|KASAN|UBSAN|Oops|kernel BUG|circular locking|"
                   r"recursive locking|suspicious RCU|unreferenced object|"
                   r"waiting for .* to become free|ref_tracker|refcount_t:|corruption")


def log(msg):
    print("# " + msg, flush=True)


def rd(path, default=None):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return default


def wr(path, val):
    try:
        with open(path, "w") as f:
            f.write(str(val))
        return 0
    except OSError as e:
        return e.errno or 1


def run(*cmd, timeout=120):
    """Run CMD; (status, first line of its output). 124 on a time-out."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        return 124, "timed out after %ss" % timeout
    out = p.stdout.strip().splitlines()
    return p.returncode, (out[-1][:160] if out else "")


def lib(*cmd, timeout=300):
    """A lib.sh function in a bash child (topology.env loaded)."""
    return run("bash", "-c", 'source "$0" && nf_load_env && "$@"', LIB, *cmd, timeout=timeout)


def host_do(*args):
    return lib("host_do", *args, timeout=200)


# The storm's link, address and ethtool operations: in-process through
# nlops.py (rtnetlink, SIOCADDMULTI, SIOCETHTOOL), or with NF_SOAK_EXEC=1
# through ip(8)/ethtool(8) as before (0.25 s a fork/exec under TCG with the
# debug kernel). Both return (status, text); nlops' text names the errno.
EXEC = os.environ.get("NF_SOAK_EXEC") == "1"
ONOFF = {True: "on", False: "off"}


def ip_link_set(dev, ns=None, **kw):
    """ip [-n NS] link set dev DEV: name= mtu= up= promisc= allmulti=
    address= netns= (a name, or 1 for init's namespace)."""
    if not EXEC:
        return nlops.link_set(dev, ns=ns, **kw)
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["link", "set", "dev", dev]
    for k, v in kw.items():
        if k == "up":
            cmd.append("up" if v else "down")
        elif k in ("promisc", "allmulti"):
            cmd += ["promisc" if k == "promisc" else "allmulticast", ONOFF[bool(v)]]
        else:
            cmd += [k, str(v)]
    return run(*cmd)


def ip_link_add(name, kind, link=None, address=None, vlan_id=None, macvlan_mode=None):
    if not EXEC:
        return nlops.link_add(name, kind, link=link, address=address, vlan_id=vlan_id,
                              macvlan_mode=macvlan_mode)
    cmd = ["ip", "link", "add"] + (["link", link] if link else []) + ["name", name]
    cmd += (["address", address] if address else []) + ["type", kind]
    cmd += (["id", str(vlan_id)] if vlan_id is not None else [])
    cmd += (["mode", macvlan_mode] if macvlan_mode else [])
    return run(*cmd)


def ip_link_del(dev):
    return run("ip", "link", "del", "dev", dev) if EXEC else nlops.link_del(dev)


def ip_maddr(dev, mac, add):
    if EXEC:
        return run("ip", "maddr", "add" if add else "del", mac, "dev", dev)
    return nlops.maddr(dev, mac, add)


def ip_addr_replace(dev):
    cidr = "%s/%s" % (ADDR4, PREFIX4)
    return run("ip", "addr", "replace", cidr, "dev", dev) if EXEC else nlops.addr_replace(dev, cidr)


def ethtool_query(dev, q):
    if EXEC:
        return run(*(["ethtool"] + ([q] if q else []) + [dev]))
    return nlops.ethtool_query(dev, q)


def ethtool_feature(dev, feature, on):
    if EXEC:
        return run("ethtool", "-K", dev, feature, ONOFF[on])
    return nlops.ethtool_feature(dev, feature, on)


def ethtool_rings(dev, n):
    if EXEC:
        return run("ethtool", "-G", dev, "rx", str(n), "tx", str(n))
    return nlops.ethtool_rings(dev, n, n)


def ethtool_link(dev, forced):
    """forced: speed 100 duplex full autoneg off; else autoneg on."""
    if EXEC:
        if forced:
            return run("ethtool", "-s", dev, "speed", "100", "duplex", "full", "autoneg", "off")
        return run("ethtool", "-s", dev, "autoneg", "on")
    if forced:
        return nlops.ethtool_link(dev, speed=100, duplex="full", autoneg=False)
    return nlops.ethtool_link(dev, autoneg=True)


def ifup(dev):
    try:
        return int(rd("%s/%s/flags" % (NET, dev), "0"), 16) & IFF_UP != 0
    except ValueError:
        return False


def carrier(dev):
    return rd("%s/%s/carrier" % (NET, dev)) == "1"


def lowers(dev):
    try:
        return sorted(e[6:] for e in os.listdir("%s/%s" % (NET, dev)) if e.startswith("lower_"))
    except OSError:
        return []


def pci_of(dev):
    """BDF of DEV's PCI function, or None."""
    p = os.path.realpath("%s/%s/device" % (NET, dev))
    if "/pci" not in p or not os.path.exists(p + "/vendor"):
        return None
    return os.path.basename(p)


def driver_of(dev):
    d = os.path.realpath("%s/%s/device/driver" % (NET, dev))
    return os.path.basename(d) if os.path.exists(d) else None


def is_sby(dev, base=NET):
    return rd("%s/%s/phys_port_name" % (base, dev)) == "sby"


def masters():
    """[(master, standby or None)] for every virtio-net device that offers
    VIRTIO_NET_F_STANDBY (bit 62 of its features) and has a master here."""
    res = []
    try:
        vdevs = sorted(v for v in os.listdir(VIRTIO_NET) if v.startswith("virtio"))
    except OSError:
        return res
    for v in vdevs:
        base = "%s/%s" % (VIRTIO_NET, v)
        feats = rd(base + "/features", "")
        if len(feats) <= 62 or feats[62] != "1":
            continue
        try:
            devs = sorted(os.listdir(base + "/net"))
        except OSError:
            continue
        devs = [d for d in devs if os.path.exists("%s/%s" % (NET, d))]
        sby = [d for d in devs if is_sby(d)]
        others = [d for d in devs if not is_sby(d)]
        if others:
            res.append((others[0], sby[0] if sby else None))
    return res


def roles():
    """(master, standby, primary) names, None where absent."""
    ms = masters()
    if not ms:
        return None, None, None
    m, sby = ms[0]
    pri = None
    for lo in lowers(m):
        if not is_sby(lo):
            pri = lo
    return m, sby, pri


def candidates():
    """PCI e1000e/igbvf netdevs with the standby's MAC in this namespace."""
    res = []
    for d in sorted(os.listdir(NET)):
        if rd("%s/%s/address" % (NET, d)) == MAC and pci_of(d) and \
                driver_of(d) in ("e1000e", "igbvf"):
            res.append(d)
    return res


class Kmsg:
    """New kernel log records since the last read (non-blocking /dev/kmsg)."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def splats(self):
        bad = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # overrun: records lost, go on
                continue
            if not rec:
                break
            text = rec.decode(errors="replace").split(";", 1)[-1].split("\n")[0]
            if SPLAT.search(text) and not NOT_SPLAT.search(text):
                bad.append(text)
        return bad


class Checker:
    """The invariants, with the master's counters remembered per ifindex."""

    def __init__(self):
        self.prev = {}
        self.samples = 0
        self.decreases = []

    def counters(self, m):
        idx = rd("%s/%s/ifindex" % (NET, m))
        cur = {}
        for c in COUNTERS:
            v = rd("%s/%s/statistics/%s" % (NET, m, c))
            if v is None or not v.isdigit():
                return []
            cur[c] = int(v)
        bad = []
        old = self.prev.get(idx)
        if old:
            for c, v in cur.items():
                if v < old[c]:
                    bad.append("master %s %s went %d -> %d" % (m, c, old[c], v))
        self.prev[idx] = cur
        self.samples += 1
        self.decreases += bad
        return bad

    def problems(self):
        """(hard, soft): hard ones fail at once, soft ones may still settle."""
        ms = masters()
        if not ms:
            return [], ["no failover master"]
        soft = []
        hard = []
        if len(ms) > 1:
            soft.append("%d failover masters: %s" % (len(ms), ms))
        seen = {}
        for m, _ in ms:
            for lo in lowers(m):
                if lo in seen:
                    hard.append("%s is a lower of %s and %s" % (lo, seen[lo], m))
                seen[lo] = m
        m, sby = ms[0]
        hard += self.counters(m)
        los = lowers(m)
        if sby is not None and sby not in los:
            soft.append("standby %s not a lower of %s (lowers %s)" % (sby, m, los))
        others = [lo for lo in los if lo != sby]
        if len(others) > 1:
            soft.append("%s has %d non-standby lowers: %s" % (m, len(others), others))
        for lo in los:
            link = os.path.realpath("%s/%s/master" % (NET, lo))
            if os.path.basename(link) != m:
                soft.append("lower %s of %s has master link %s" % (lo, m, os.path.basename(link)))
            if lo == sby:
                continue
            why = []
            if is_sby(lo):
                why.append("a second standby")
            if not pci_of(lo):
                why.append("not a PCI function")
            if driver_of(lo) not in ("e1000e", "igbvf"):
                why.append("driver %s" % driver_of(lo))
            if rd("%s/%s/address" % (NET, lo)) != MAC:
                why.append("MAC %s" % rd("%s/%s/address" % (NET, lo)))
            if why:
                hard.append("impostor %s enslaved to %s: %s" % (lo, m, ", ".join(why)))
        if not others:
            for c in candidates():
                if not os.path.exists("%s/%s/master" % (NET, c)):
                    soft.append("primary candidate %s (%s, %s) not enslaved" %
                                (c, driver_of(c), pci_of(c)))
        if ifup(m):
            ready = [lo for lo in los if ifup(lo) and carrier(lo)]
            if carrier(m) != bool(ready):
                soft.append("master %s carrier %s but ready lowers %s" %
                            (m, int(carrier(m)), ready))
        return hard, soft

    def settle(self, timeout):
        """[] once the invariants hold, else the problems left at TIMEOUT."""
        end = time.monotonic() + timeout
        while True:
            hard, soft = self.problems()
            if hard:
                return hard + soft
            if not soft:
                return []
            if time.monotonic() >= end:
                return soft
            time.sleep(0.1)


def wait_for(cond, timeout, step=0.1, sample=None):
    """Poll COND every STEP s for up to TIMEOUT s (calling SAMPLE each time)."""
    end = time.monotonic() + timeout
    while True:
        if sample:
            sample()
        if cond():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


def tx(dev):
    v = rd("%s/%s/statistics/tx_packets" % (NET, dev))
    return int(v) if v and v.isdigit() else None


def pkt_burst(n=5):
    """A few datagrams to the peer (the master's counters keep moving)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(n):
            s.sendto(b"nfsoak", (PEER4, 9))
        s.close()
    except OSError:
        pass


def spread(vals):
    if not vals:
        return "none"
    return "min %s median %s max %s" % tuple(
        round(v, 1) if isinstance(v, float) else v
        for v in (min(vals), statistics.median(vals), max(vals)))


# ---------------------------------------------------------------------------
# planned-removal cycles


class Cycles:
    def __init__(self, a):
        self.a = a
        self.chk = Checker()
        self.kmsg = Kmsg()
        self.removed_parent = None
        self.vf = {}

    def mark(self):
        os.kill(self.a.sender_pid, signal.SIGUSR1)

    # -- e1000e
    def unplug(self, kind, pri):
        if kind == "qmp":
            return host_do("device_del", QDEV)
        if kind == "pci":
            path = os.path.realpath("%s/%s" % (PCI, pci_of(pri)))
            self.removed_parent = os.path.dirname(path)
            return wr(path + "/remove", 1), ""
        if kind == "link":
            return ip_link_set(pri, up=False)
        if kind == "vf":
            return wr("%s/%s/sriov_numvfs" % (PCI, self.vf["pf"]), 0), ""
        raise ValueError(kind)

    def replug(self, kind, pri):
        if kind == "qmp":
            return host_do("device_add", QDEV)
        if kind == "pci":
            return wr(self.removed_parent + "/rescan", 1), ""
        if kind == "link":
            return ip_link_set(pri, up=True)
        if kind == "vf":
            return self.vf_create()
        raise ValueError(kind)

    # -- SR-IOV
    def vf_bdf(self, i):
        return os.path.basename(os.path.realpath("%s/%s/virtfn%d" % (PCI, self.vf["pf"], i)))

    def vf_create(self):
        pf = self.vf["pf"]
        st = wr("%s/%s/sriov_numvfs" % (PCI, pf), 2)
        if st:
            return st, "sriov_numvfs 2: errno %d" % st
        for i, mac in ((0, MAC), (1, OTHER_MAC)):
            st, out = run("ip", "link", "set", "dev", self.vf["pfdev"], "vf", str(i), "mac", mac)
            if st:
                return st, "vf %d mac: %s" % (i, out)
        vf0 = self.vf_bdf(0)
        # sriov_drivers_autoprobe is off: VF0 probes for its driver_override
        wr("%s/%s/driver_override" % (PCI, vf0), "igbvf")
        st = wr("/sys/bus/pci/drivers/igbvf/bind", vf0)
        return st, ("bind %s: errno %d" % (vf0, st) if st else "")

    def vf_setup(self):
        pf = None
        for d in sorted(os.listdir(PCI)):
            if rd("%s/%s/vendor" % (PCI, d)) == "0x8086" and rd("%s/%s/device" % (PCI, d)) == "0x10c9":
                pf = d
                break
        if not pf:
            return "no igb PF"
        run("modprobe", "igb")
        run("modprobe", "igbvf")
        if not wait_for(lambda: os.path.isdir("%s/%s/net" % (PCI, pf)) and os.listdir("%s/%s/net" % (PCI, pf)), 60):
            return "igb PF %s has no netdev" % pf
        pfdev = os.listdir("%s/%s/net" % (PCI, pf))[0]
        self.vf = {"pf": pf, "pfdev": pfdev}
        st, out = host_do("device_del", QDEV)
        if st:
            return "device_del %s: %s" % (QDEV, out)
        if not wait_for(lambda: roles()[2] is None, 60):
            return "e1000e still enslaved after device_del"
        run("ip", "link", "set", "dev", pfdev, "up")
        if not wait_for(lambda: carrier(pfdev), 60):
            return "PF %s has no carrier" % pfdev
        wr("%s/%s/sriov_drivers_autoprobe" % (PCI, pf), 0)
        st, out = self.vf_create()
        if st:
            return out
        if not wait_for(lambda: self.primary_back(), 90):
            return "VF0 not enslaved: %s" % (roles(),)
        mac = rd("%s/%s/address" % (NET, roles()[2]))
        if mac != MAC:
            return "VF0 has MAC %s (QEMU VF BAR bug: needs a 1 GiB guest)" % mac
        return None

    def vf_teardown(self):
        pf = self.vf.get("pf")
        if pf:
            wr("%s/%s/sriov_numvfs" % (PCI, pf), 0)
            wr("%s/%s/sriov_drivers_autoprobe" % (PCI, pf), 1)
            run("ip", "link", "set", "dev", self.vf["pfdev"], "down")
        host_do("device_add", QDEV)

    # -- one cycle
    def sample(self):
        """The master's counters, also between the steps of a cycle."""
        m = roles()[0]
        if m:
            self.chk.counters(m)

    def primary_back(self):
        _, _, pri = roles()
        return pri is not None and ifup(pri) and carrier(pri)

    def cycle(self, kind):
        """(status, step, detail, seconds); status 0 = the cycle completed."""
        t0 = time.monotonic()
        m, sby, pri = roles()
        if not pri:
            return 1, "start", "no primary: %s" % ((m, sby, pri),), 0
        st, out = self.unplug(kind, pri)
        if st:
            return 1, "unplug", out, time.monotonic() - t0
        gone = (lambda: not ifup(pri)) if kind == "link" else (lambda: roles()[2] is None)
        if not wait_for(gone, 60, sample=self.sample):
            return 1, "gone", "primary still there: %s" % (roles(),), time.monotonic() - t0
        if not wait_for(lambda: carrier(m), 10, sample=self.sample):
            return 1, "standby", "master %s without carrier on the standby alone" % m, time.monotonic() - t0
        if BREAK.get("loss"):
            # self-check of the soak: both paths down for a second
            ip_link_set(sby, up=False)
            time.sleep(1)
            ip_link_set(sby, up=True)
        st, out = self.replug(kind, pri)
        if st:
            return 1, "replug", out, time.monotonic() - t0
        if not wait_for(self.primary_back, 90, sample=self.sample):
            return 1, "enslave", "primary not back: %s" % (roles(),), time.monotonic() - t0
        _, _, pri = roles()
        base = tx(pri) or 0
        if not wait_for(lambda: (tx(pri) or 0) - base >= 50, 30, sample=self.sample):
            return 1, "stream", "stream not back on the primary %s" % pri, time.monotonic() - t0
        return 0, "", "", time.monotonic() - t0

    def main(self):
        a = self.a
        kinds = a.kinds.split(",")
        res = {"cycles": [], "failed": 0, "setup": None}
        if "vf" in kinds:
            err = self.vf_setup()
            if err:
                res["setup"] = err
                self.vf_teardown()
                json.dump(res, open(a.out, "w"))
                log("VF setup failed: %s" % err)
                return 1
        if not wait_for(lambda: os.path.exists(a.mark_file), 60):
            log("sender never became ready for marks (%s)" % a.mark_file)
            return 1
        t_start = time.monotonic()
        rc = 0
        for i in range(1, a.cycles + 1):
            kind = kinds[(i - 1) % len(kinds)]
            if BREAK.get("deaf") == str(i):
                # self-check of the soak: the stream's name in soak.sh
                log("NF_SOAK_BREAK: receiver stopped before cycle %d: %s" % (
                    i, host_do("peer_kill", "udp-" + ("vf" if "vf" in kinds else "cycles"))))
            self.mark()
            dec = len(self.chk.decreases)
            st, step, detail, secs = self.cycle(kind)
            probs = self.chk.settle(15)
            probs += [d for d in self.chk.decreases[dec:] if d not in probs]
            splats = self.kmsg.splats()
            c = {"n": i, "kind": kind, "ok": st == 0, "s": round(secs, 2)}
            if st:
                c["failed_at"] = step
                c["detail"] = detail
                res["failed"] += 1
                log("cycle %d (%s) failed at %s: %s" % (i, kind, step, detail))
            if probs:
                c["violation"] = probs
                log("VIOLATION cycle %d (%s): %s" % (i, kind, "; ".join(probs)))
            if splats:
                c["splat"] = splats[:5]
                log("kernel splat during cycle %d (%s): %s" % (i, kind, splats[0]))
            res["cycles"].append(c)
            if st or probs or splats:
                rc = 1
                if st:
                    # back to a sane topology, else stop
                    if kind == "vf":
                        self.vf_create()
                        ok = wait_for(self.primary_back, 90)
                    else:
                        ok = lib("nf_bringup")[0] == 0
                    if not ok or res["failed"] >= 3:
                        break
                if probs or splats:
                    break
            if i % 10 == 0 or i == a.cycles:
                log("cycle %d/%d done (%ds)" % (i, a.cycles, time.monotonic() - t_start))
        self.mark()
        res["seconds"] = round(time.monotonic() - t_start, 1)
        res["counter_samples"] = self.chk.samples
        res["counter_decreases"] = self.chk.decreases[:10]
        if "vf" in kinds:
            self.vf_teardown()
        with open(a.out, "w") as f:
            json.dump(res, f)
        return rc


def cmd_report(a):
    """Per-cycle loss and gaps from the marks and the receiver's detail."""
    cyc = json.load(open(a.cycles_json))["cycles"]
    marks = []
    for line in open(a.marks):
        p = line.split()
        if len(p) == 4 and p[0] == "MARK":
            marks.append((int(p[2]), int(p[3])))
    det = json.load(open(a.detail))
    res = {"cycles": len(cyc), "marks": len(marks)}
    if len(marks) < len(cyc) + 1:
        print("# figure: marks=%d for %d cycles: per-cycle loss unavailable" % (len(marks), len(cyc)))
        res["error"] = "marks missing"
        json.dump(res, open(a.out, "w"))
        return 1
    # "missing" only spans the receiver's first..last seq: what it never saw
    # before the first or after the last (a receiver or a path that died
    # before the end) is lost too
    end = marks[-1][0] - 1
    missing = list(det["missing"])
    if not det.get("received"):
        missing.append([0, end])
    else:
        if det["first_seq"] > 0:
            missing.append([0, det["first_seq"] - 1])
        if det["last_seq"] < end:
            missing.append([det["last_seq"] + 1, end])
    res["unseen_tail"] = max(0, end - det.get("last_seq", -1))
    loss, gaps, errs, per_kind = [], [], [], {}
    for i, c in enumerate(cyc):
        lo, hi = marks[i][0], marks[i + 1][0]
        lost = sum(max(0, min(b, hi - 1) - max(x, lo) + 1) for x, b in missing)
        gap = max([g for s, g in det["gaps"] if lo <= s < hi] or [0])
        err = marks[i + 1][1] - marks[i][1]
        c.update(lost=lost, sent=hi - lo, max_gap_ms=gap, send_errors=err)
        loss.append(lost)
        gaps.append(gap)
        errs.append(err)
        per_kind.setdefault(c["kind"], []).append(c)
    print("# figure: cycles=%d lossy_cycles=%d lost=%d sent=%d send_errors=%d "
          "never_received_after_last_seq=%d" % (
              len(cyc), sum(1 for x in loss if x), sum(loss), marks[-1][0] - marks[0][0],
              sum(errs), res["unseen_tail"]))
    print("# figure: lost per cycle: %s; longest gap ms (>= %s ms counted): %s" % (
        spread(loss), a.gap_min, spread(gaps)))
    secs = [c["s"] for c in cyc]
    print("# figure: seconds per cycle: %s" % spread(secs))
    for k, cs in sorted(per_kind.items()):
        print("# figure: kind=%s cycles=%d lost per cycle: %s; longest gap ms: %s; seconds: %s" % (
            k, len(cs), spread([c["lost"] for c in cs]), spread([c["max_gap_ms"] for c in cs]),
            spread([c["s"] for c in cs])))
    for c in cyc:
        if c["lost"]:
            print("# cycle %d (%s): lost %d of %d, longest gap %s ms" % (
                c["n"], c["kind"], c["lost"], c["sent"], c["max_gap_ms"]))
    res.update(lost=sum(loss), lossy_cycles=sum(1 for x in loss if x), per_cycle=cyc)
    json.dump(res, open(a.out, "w"))
    return 0


# ---------------------------------------------------------------------------
# the storm

MTUS = [67, 68, 576, 1280, 1400, 1500, 1500, 1500, 2000, 4000, 4001, 9000, 9001, 65536]
FEATURES = ["tso", "gso", "gro", "sg", "tx", "rx", "rxvlan", "txvlan", "ntuple"]
QUERIES = ["-i", "-k", "-S", "-g", "-l", "-c", "-a", "-P", "-T", "--show-priv-flags", "-m", ""]


class Storm:
    """The op model: where the slaves are and what the storm created."""

    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.pri = "home"       # home | qmp | pci | rmmod | netns
        self.sby = "home"       # home | netns
        self.ns_name = {}       # role -> name it had when moved out
        self.vlans = []         # (role, name)
        self.macvlans = []
        self.maddrs = []
        self.dummy = False
        self.removed_parent = None
        self.chk = Checker()
        self.kmsg = Kmsg()

    # what an op may target
    def here_roles(self):
        r = ["master"]
        if self.sby == "home":
            r.append("standby")
        if self.pri == "home":
            r.append("primary")
        return r

    def choose(self):
        """(op name, params): depends on the RNG and the model only."""
        rng = self.rng
        ops = [("rename", 10), ("rename_down", 4), ("mtu", 8), ("link", 8),
               ("vlan_add", 3), ("promisc", 4), ("allmulti", 4), ("maddr_add", 3),
               ("ethtool_query", 8), ("ethtool_set", 4), ("traffic", 3),
               ("macvlan_add", 1), ("master_mac", 1)]
        if self.vlans:
            ops.append(("vlan_del", 3))
        if self.maddrs:
            ops.append(("maddr_del", 3))
        if self.macvlans:
            ops.append(("macvlan_del", 2))
        ops.append(("impostor_del", 3) if self.dummy else ("impostor_add", 1))
        if self.pri == "home":
            ops += [("qmp_del", 1), ("pci_remove", 1), ("rmmod_e1000e", 1), ("netns_out_primary", 1)]
        else:
            ops.append(("restore_primary", 6))
        if self.sby == "home":
            ops.append(("netns_out_standby", 1))
        else:
            ops.append(("netns_back_standby", 6))
        if self.pri == "home" and self.sby == "home":
            ops += [("reload_virtio_net", 0.5), ("reload_failover", 0.5), ("virtio_rebind", 0.5)]
        name = rng.choices([o for o, _ in ops], [w for _, w in ops])[0]
        roles_here = self.here_roles()
        p = {}
        if name in ("rename", "rename_down", "mtu", "link", "promisc", "allmulti",
                    "ethtool_query", "ethtool_set", "vlan_add"):
            p["role"] = rng.choice(roles_here)
        if name in ("rename", "rename_down"):
            p["to"] = "nf%s%d" % (p["role"][0], rng.randrange(1000))
        elif name == "mtu":
            p["mtu"] = rng.choice(MTUS)
        elif name in ("link", "promisc", "allmulti"):
            p["on"] = rng.random() < (0.6 if name == "link" else 0.5)
        elif name == "vlan_add":
            p["id"] = rng.randrange(1, 4095)
            p["name"] = "nfv%d" % p["id"]
            self.vlans.append(p["name"])
        elif name == "vlan_del":
            p["name"] = self.vlans.pop(rng.randrange(len(self.vlans)))
        elif name == "maddr_add":
            p["addr"] = "01:00:5e:%02x:%02x:%02x" % (rng.randrange(128), rng.randrange(256), rng.randrange(256))
            self.maddrs.append(p["addr"])
        elif name == "maddr_del":
            p["addr"] = self.maddrs.pop(rng.randrange(len(self.maddrs)))
        elif name == "macvlan_add":
            p["name"] = "nfmv%d" % rng.randrange(1000)
            p["mac"] = MAC if rng.random() < 0.3 else "02:4e:53:%02x:%02x:%02x" % (
                rng.randrange(256), rng.randrange(256), rng.randrange(256))
            self.macvlans.append(p["name"])
        elif name == "macvlan_del":
            p["name"] = self.macvlans.pop(rng.randrange(len(self.macvlans)))
        elif name == "ethtool_query":
            p["q"] = rng.choice(QUERIES)
        elif name == "ethtool_set":
            p["what"] = rng.choice(["feature", "feature", "ring", "speed", "autoneg"])
            p["feature"] = rng.choice(FEATURES)
            p["on"] = rng.random() < 0.5
            p["ring"] = rng.choice([64, 256, 4096, 5000])
        elif name == "master_mac":
            p["mac"] = "02:4e:4d:%02x:%02x:%02x" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        elif name == "traffic":
            p["n"] = rng.randrange(1, 200)
        # the model follows the choice, not the outcome
        if name == "impostor_add":
            self.dummy = True
        elif name == "impostor_del":
            self.dummy = False
        elif name == "qmp_del":
            self.pri = "qmp"
        elif name == "pci_remove":
            self.pri = "pci"
        elif name == "rmmod_e1000e":
            self.pri = "rmmod"
        elif name == "netns_out_primary":
            self.pri = "netns"
        elif name == "restore_primary":
            p["how"] = self.pri
            self.pri = "home"
        elif name == "netns_out_standby":
            self.sby = "netns"
        elif name == "netns_back_standby":
            self.sby = "home"
        elif name in ("reload_virtio_net", "reload_failover", "virtio_rebind"):
            self.vlans = []     # they went with the old master
            self.macvlans = []
            self.maddrs = []
        return name, p

    @staticmethod
    def describe(name, p):
        return " ".join([name] + ["%s=%s" % (k, p[k]) for k in sorted(p)])

    # -- running an op: (status, what ran); settle time
    def dev(self, role):
        m, sby, pri = roles()
        return {"master": m, "standby": sby, "primary": pri}[role]

    def restore_master(self):
        """After a reload: the new master up with its addresses."""
        if not wait_for(lambda: roles()[0] is not None and roles()[1] is not None, 60):
            return 1, "no master after the reload"
        m = roles()[0]
        ip_link_set(m, up=True)
        return ip_addr_replace(m)

    def do(self, name, p):
        """Run op NAME; (status, what ran, settle seconds)."""
        d = self.dev(p["role"]) if "role" in p else None
        m = roles()[0]
        if "role" in p and d is None:
            return 0, "no %s here" % p["role"], 30
        if m is None and name not in ("restore_primary", "netns_back_standby"):
            return 1, "no master", 60
        if name == "rename":
            return ip_link_set(d, name=p["to"]) + (15,)
        if name == "rename_down":
            ip_link_set(d, up=False)
            st = ip_link_set(d, name=p["to"])
            new = p["to"] if st[0] == 0 else d
            ip_link_set(new, up=True)
            if p["role"] == "master":
                ip_addr_replace(new)
            return st + (20,)
        if name == "mtu":
            return ip_link_set(d, mtu=p["mtu"]) + (20,)
        if name == "link":
            return ip_link_set(d, up=p["on"]) + (20,)
        if name == "promisc":
            return ip_link_set(d, promisc=p["on"]) + (15,)
        if name == "allmulti":
            return ip_link_set(d, allmulti=p["on"]) + (15,)
        if name == "vlan_add":
            return ip_link_add(p["name"], "vlan", link=d, vlan_id=p["id"]) + (15,)
        if name in ("vlan_del", "macvlan_del"):
            return ip_link_del(p["name"]) + (15,)
        if name == "maddr_add":
            return ip_maddr(m, p["addr"], True) + (15,)
        if name == "maddr_del":
            return ip_maddr(m, p["addr"], False) + (15,)
        if name == "macvlan_add":
            return ip_link_add(p["name"], "macvlan", link=m, address=p["mac"],
                               macvlan_mode="bridge") + (15,)
        if name == "master_mac":
            return ip_link_set(m, address=p["mac"]) + (15,)
        if name == "impostor_add":
            st = ip_link_add("nfimp0", "dummy", address=MAC)
            ip_link_set("nfimp0", up=True)
            return st + (15,)
        if name == "impostor_del":
            return ip_link_del("nfimp0") + (15,)
        if name == "ethtool_query":
            return ethtool_query(d, p["q"]) + (15,)
        if name == "ethtool_set":
            if p["what"] == "feature":
                return ethtool_feature(d, p["feature"], p["on"]) + (20,)
            if p["what"] == "ring":
                return ethtool_rings(d, p["ring"]) + (20,)
            return ethtool_link(d, p["what"] == "speed") + (20,)
        if name == "traffic":
            pkt_burst(p["n"])
            return 0, "", 15
        if name == "qmp_del":
            return host_do("device_del", QDEV) + (60,)
        if name == "pci_remove":
            pri = self.dev("primary")
            if not pri or not pci_of(pri):
                return 1, "no primary to remove", 15
            bdf = pci_of(pri)
            path = os.path.realpath("%s/%s" % (PCI, bdf))
            self.removed_parent = os.path.dirname(path)
            return wr(path + "/remove", 1), "remove %s" % bdf, 60
        if name == "rmmod_e1000e":
            return run("rmmod", "e1000e") + (60,)
        if name == "netns_out_primary":
            return self.netns_out("primary")
        if name == "netns_out_standby":
            return self.netns_out("standby")
        if name == "netns_back_standby":
            return self.netns_back("standby")
        if name == "restore_primary":
            how = p["how"]
            if how == "qmp":
                return host_do("device_add", QDEV) + (90,)
            if how == "pci":
                path = self.removed_parent or "/sys/bus/pci"
                return wr(path + "/rescan", 1), "rescan %s" % path, 90
            if how == "rmmod":
                return run("modprobe", "e1000e") + (90,)
            return self.netns_back("primary")
        if name == "reload_virtio_net":
            st = run("rmmod", "virtio_net")
            lib("nf_modules_load")
            return (st[0], st[1] + " / " + self.restore_master()[1], 90)
        if name == "reload_failover":
            st = run("rmmod", "virtio_net", "net_failover")
            lib("nf_modules_load")
            return (st[0], st[1] + " / " + self.restore_master()[1], 90)
        if name == "virtio_rebind":
            v = os.path.basename(os.path.realpath("%s/%s/device" % (NET, m)))
            s1 = wr(VIRTIO_NET + "/unbind", v)
            wait_for(lambda: not os.path.exists("%s/%s" % (NET, m)), 30)
            s2 = wr(VIRTIO_NET + "/bind", v)
            return (s1 or s2), "unbind/bind %s: %s %s; %s" % (v, s1, s2, self.restore_master()[1]), 90
        raise ValueError(name)

    def netns_out(self, role):
        d = self.dev(role)
        if not d:
            return 1, "no %s" % role, 15
        self.ns_name[role] = d
        return ip_link_set(d, netns=NS) + (30,)

    def netns_back(self, role):
        d = self.ns_name.get(role)
        if not d:
            return 1, "nothing of %s in %s" % (role, NS), 15
        st = ip_link_set(d, ns=NS, netns=1)
        if st[0]:
            # its name is taken here meanwhile: rename it in there first
            new = "nfb%d" % (self.rng_names())
            ip_link_set(d, ns=NS, name=new)
            st = ip_link_set(new, ns=NS, netns=1)
        return st + (90,)

    def rng_names(self):
        # not from the op RNG: the op sequence must not depend on outcomes
        self.nb = getattr(self, "nb", 0) + 1
        return self.nb

    def cleanup(self):
        """Everything back where it was (before nf_bringup in soak.sh)."""
        for role in ("standby", "primary"):
            if (role == "standby" and self.sby == "netns") or (role == "primary" and self.pri == "netns"):
                self.netns_back(role)
        if self.pri in ("qmp", "pci", "rmmod"):
            self.do("restore_primary", {"how": self.pri})
        for n in self.vlans + self.macvlans + (["nfimp0"] if self.dummy else []):
            ip_link_del(n)
        # devices of the namespace (e.g. a slave whose way back failed) return
        # on delete, once nothing holds it (our socket in it either)
        nlops.forget_ns(NS)
        run("ip", "netns", "del", NS)

    def main(self):
        a = self.a
        run("ip", "netns", "del", NS)
        # the baseline: the guest as soak.sh brought it up, before the storm
        # made anything (its namespace included)
        mem = {"probes_error": memacct.arm_probes(), "kmemleak": []}
        if mem["probes_error"]:
            log("no net_device count: %s" % mem["probes_error"])
        if self.chk.settle(30) == []:
            memacct.kmemleak_clear()
            mem["start"] = memacct.snapshot()
        st = run("ip", "netns", "add", NS)
        if st[0]:
            log("cannot create netns %s: %s" % (NS, st[1]))
            return 1
        res = {"seed": a.seed, "ops": a.ops, "done": 0, "violation": None}
        probs = self.chk.settle(30)
        if probs:
            res["violation"] = {"op": 0, "desc": "(start)", "problems": probs}
            log("VIOLATION seed=%d op=0/%d: before the first op: %s" % (a.seed, a.ops, "; ".join(probs)))
        digest = hashlib.sha256()
        t0 = time.monotonic()
        counts = {}
        split = [0.0, 0.0]      # seconds running the ops, seconds settling
        with open(a.log, "w", buffering=1) as f:
            f.write("seed %d ops %d\n" % (a.seed, a.ops))
            n = 0
            while res["violation"] is None and n < a.ops:
                n += 1
                name, p = self.choose()
                desc = self.describe(name, p)
                digest.update((desc + "\n").encode())
                counts[name] = counts.get(name, 0) + 1
                # an op that never returns (in-process, no time-out) leaves
                # its line unfinished: the op log still names it
                f.write("op %d: %s | " % (n, desc))
                f.flush()
                t = time.monotonic()
                st, out, settle = self.do(name, p)
                if BREAK.get("unbind") == str(n):
                    # self-check of the soak: the master goes and stays away
                    v = os.path.basename(os.path.realpath("%s/%s/device" % (NET, roles()[0])))
                    out += " [NF_SOAK_BREAK: unbind %s: %s]" % (v, wr(VIRTIO_NET + "/unbind", v))
                t_ran = time.monotonic()
                pkt_burst()
                probs = self.chk.settle(settle)
                t_end = time.monotonic()
                split[0] += t_ran - t
                split[1] += t_end - t_ran
                splats = self.kmsg.splats()
                if splats:
                    probs = probs + ["kernel splat: " + s for s in splats[:3]]
                if st == 124 and out.startswith("timed out"):
                    probs.append("op hung: " + out)
                f.write("rc=%s %s | %.2fs (ran %.2fs, settled %.2fs)%s\n" % (
                    st, out, t_end - t, t_ran - t, t_end - t_ran,
                    " | VIOLATION " + "; ".join(probs) if probs else ""))
                if probs:
                    res["violation"] = {"op": n, "desc": desc, "problems": probs}
                    log("VIOLATION seed=%d op=%d/%d: %s: %s" % (a.seed, n, a.ops, desc, "; ".join(probs)))
                    log("roles now: %s" % (roles(),))
                    break
                res["done"] = n
                if n % 100 == 0:
                    log("storm op %d/%d (%ds)" % (n, a.ops, time.monotonic() - t0))
                if n % a.kmemleak_every == 0 and n < a.ops:
                    k = memacct.kmemleak_scan()
                    if k is not None:
                        mem["kmemleak"].append([n, k])
                        log("kmemleak after op %d: %d unreferenced objects" % (n, k))
        res["seconds"] = round(time.monotonic() - t0, 1)
        res["digest"] = digest.hexdigest()[:16]
        res["op_counts"] = counts
        res["ran_seconds"] = round(split[0], 1)
        res["settle_seconds"] = round(split[1], 1)
        res["counter_samples"] = self.chk.samples
        self.cleanup()
        lib("nf_modules_load")  # binds a virtio device left unbound
        res["memory"] = self.teardown_memory(mem)
        with open(a.out, "w") as f:
            json.dump(res, f)
        return 1 if res["violation"] else 0

    def teardown_memory(self, mem):
        """After cleanup(): the topology back as at the start (master up
        with its address, both slaves enslaved), every namespace the storm
        made gone; then the snapshot to compare with the start. Devices
        still being freed (a namespace's cleanup runs in a workqueue) are
        waited for, up to 120 s."""
        if "start" not in mem:
            mem["error"] = "no baseline: the invariants did not hold before the first op"
            return mem
        probs = self.chk.settle(90)
        m = roles()[0]
        if m:
            ip_link_set(m, up=True)
            ip_addr_replace(m)
        if probs:
            mem["error"] = "topology not restored: " + "; ".join(probs)
        b = memacct.settle_snapshot(mem["start"])
        mem["end"] = b
        mem["compare"] = memacct.compare(mem["start"], b)
        k = memacct.kmemleak_scan()
        if k is not None:
            mem["kmemleak"].append(["end", k])
            if k:
                mem["kmemleak_report"] = memacct.kmemleak_report()
        memacct.disarm_probes()
        return mem


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for c in ("cycles", "vfcycles"):
        s = sub.add_parser(c)
        s.add_argument("--cycles", type=int, required=True)
        s.add_argument("--kinds", default="qmp,pci,link" if c == "cycles" else "vf")
        s.add_argument("--sender-pid", type=int, required=True)
        s.add_argument("--mark-file", required=True)
        s.add_argument("--out", required=True)
    s = sub.add_parser("report")
    s.add_argument("--cycles-json", required=True)
    s.add_argument("--marks", required=True)
    s.add_argument("--detail", required=True)
    s.add_argument("--gap-min", default="20")
    s.add_argument("--out", required=True)
    s = sub.add_parser("storm")
    s.add_argument("--ops", type=int, required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--kmemleak-every", type=int, default=500,
                   help="scan for leaks every N ops (debug kernel)")
    a = p.parse_args()
    if a.cmd in ("cycles", "vfcycles"):
        if a.cmd == "vfcycles":
            a.kinds = "vf"
        return Cycles(a).main()
    if a.cmd == "report":
        return cmd_report(a)
    return Storm(a).main()


if __name__ == "__main__":
    sys.exit(main())
