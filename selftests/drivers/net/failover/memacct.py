#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Kernel memory accounting for the soak (stdlib only; root, in the guest).

What a storm of link operations could leak, counted so that a leak of one
object per operation shows:

  slab per cache     active objects of every cache in /proc/slabinfo, read
                     after quiesce(): dentries and inodes dropped, RCU
                     callbacks given time, and every cache shrunk through
                     /sys/kernel/slab/*/shrink. With SLUB, /proc/slabinfo
                     counts the free objects of the per-CPU slabs as
                     active, and with KASAN freed objects sit in the
                     quarantine until it drains; kmem_cache_shrink() flushes
                     the per-CPU slabs and drains that cache's quarantine
                     (kasan_cache_shrink()), so after it "active" is what is
                     allocated. meminfo's Slab and SUnreclaim count whole
                     slab pages, free objects included: not a leak measure.
  netns              the net_namespace cache's active objects, after a
                     throwaway namespace made the core free the struct net
                     it keeps until the next cleanup round (netns_round());
                     what holds one alive: netns_holders()
  net_device         alloc_netdev_mqs() and free_netdev() calls, counted by
                     two kprobe events (kprobe_profile's hit column), armed
                     in a tracing instance of their own whose ring buffer is
                     off. Every device allocated is freed exactly once by
                     free_netdev() (registered or not), so allocations minus
                     frees over a span is the change in live devices.
  skb                the sk_buff structures (skbuff_head_cache,
                     skbuff_fclone_cache): their active objects. The data
                     heads of the receive rings (skbuff_small_head) follow
                     the MTUs and ring sizes the storm leaves: listed, not
                     judged (CONFIG_CACHES).
  kmemleak           scan() writes "scan" to /sys/kernel/debug/kmemleak and
                     returns the number of unreferenced objects reported.

Used by soak.py (storm: a snapshot before the first op, kmemleak every 500
ops, a snapshot after the teardown, compare()). As a script:
  memacct.py snapshot FILE     quiesce and write a snapshot (JSON)
  memacct.py compare A B       the comparison of two snapshots
"""

import ctypes
import fcntl
import json
import os
import signal
import sys
import time

TRACING = "/sys/kernel/tracing"
INSTANCE = TRACING + "/instances/nfmemacct"
GROUP = "nfmemacct"
PROBES = {"netdev_alloc": "alloc_netdev_mqs", "netdev_free": "free_netdev"}
# the sk_buff structures themselves; their data heads (skbuff_small_head,
# kmalloc-*) are counted with the caches
SKB_CACHES = ("skbuff_head_cache", "skbuff_fclone_cache")
# Caches whose population follows configuration the storm changes and does
# not restore: the receive rings hold one data head per descriptor, small
# ones (skbuff_small_head) or kmalloc-2k ones by the device's MTU and ring
# size (seen: +255 small heads and -254 kmalloc-2k after a 1200-op storm).
# Listed, not judged; kmemleak covers them.
CONFIG_CACHES = ("skbuff_small_head",)
KMEMLEAK = "/sys/kernel/debug/kmemleak"
# ioctl on a socket: an nsfs fd of the socket's network namespace
SIOCGSKNS = 0x894C
SYS_PIDFD_GETFD = 438  # x86_64
# The debug facilities' own caches: their objects describe other caches'
# objects (kmemleak's metadata, debugobjects' trackers, kept in a pool that
# refills itself), so they follow what is counted elsewhere.
DEBUG_CACHES = ("kmemleak_object", "kmemleak_scan_area", "debug_objects_cache")


def _write(path, text, append=False):
    """None, or why the write failed. One write(2), no seek: Python's "a"
    mode seeks to the end, which kprobe_events refuses (EINVAL)."""
    try:
        fd = os.open(path, os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    except OSError as e:
        return "%s: %s" % (path, e.strerror)
    try:
        os.write(fd, text.encode())
        return None
    except OSError as e:
        return "%s: %s" % (path, e.strerror)
    finally:
        os.close(fd)


def arm_probes():
    """Register and enable the two kprobe events (idempotent): None, or why
    they could not be (no kprobe events in the kernel, say)."""
    if not os.path.exists(TRACING + "/kprobe_events"):
        os.system("mount -t tracefs nodev %s 2>/dev/null" % TRACING)
    if not os.path.exists(TRACING + "/kprobe_events"):
        return "no %s/kprobe_events" % TRACING
    for ev, fn in PROBES.items():
        if not os.path.isdir("%s/events/%s/%s" % (TRACING, GROUP, ev)):
            why = _write(TRACING + "/kprobe_events", "p:%s/%s %s\n" % (GROUP, ev, fn), append=True)
            if why:
                return why
    if not os.path.isdir(INSTANCE):
        try:
            os.mkdir(INSTANCE)
        except OSError as e:
            return "%s: %s" % (INSTANCE, e.strerror)
    _write(INSTANCE + "/buffer_size_kb", "4")
    _write(INSTANCE + "/tracing_on", "0")
    # a probe counts its hits once armed, whether its buffer records or not
    return _write("%s/events/%s/enable" % (INSTANCE, GROUP), "1")


def disarm_probes():
    """Undo arm_probes(): the events disabled and removed, the instance
    deleted (best effort)."""
    _write("%s/events/%s/enable" % (INSTANCE, GROUP), "0")
    try:
        os.rmdir(INSTANCE)
    except OSError:
        pass
    for ev in PROBES:
        _write(TRACING + "/kprobe_events", "-:%s/%s\n" % (GROUP, ev), append=True)


def probe_hits():
    """{event: hits} from kprobe_profile, or {} without the probes."""
    res = {}
    try:
        with open(TRACING + "/kprobe_profile") as f:
            for line in f:
                w = line.split()
                if len(w) >= 2 and w[0] in PROBES:
                    res[w[0]] = int(w[1])
    except OSError:
        pass
    return res


def slabinfo():
    """{cache: [active_objs, objsize]} of /proc/slabinfo."""
    res = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            if line.startswith(("slabinfo", "#")):
                continue
            w = line.split()
            res[w[0]] = [int(w[1]), int(w[3])]
    return res


def meminfo(keys=("Slab", "SUnreclaim", "SReclaimable")):
    res = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in keys:
                res[k] = int(v.split()[0])
    return res


def netns_round():
    """Start a round of network namespace cleanup: 6.12 frees the struct
    net of a dismantled namespace only in the next round of cleanup_net()
    (net_passive_dec() puts it on defer_free_list, "Wait for an extra
    rcu_barrier() before final free"; net_complete_free() frees it), so the
    last namespace deleted stays allocated until another one dies. A
    throwaway namespace (a child that unshares one and exits) makes that
    round: what is counted afterwards is the live namespaces plus the
    throwaway's, at the start as at the end."""
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if libc.unshare(0x40000000) == 0 else 1)    # CLONE_NEWNET
    os.waitpid(pid, 0)


def quiesce(rounds=3, pause=1.0):
    """Free what can be freed: namespaces deleted last (netns_round());
    page cache, dentries and inodes; RCU callbacks (time); per-CPU slabs
    and the KASAN quarantine (shrink)."""
    netns_round()
    caches = sorted(os.listdir("/sys/kernel/slab")) if os.path.isdir("/sys/kernel/slab") else []
    for _ in range(rounds):
        os.sync()
        _write("/proc/sys/vm/drop_caches", "3")
        time.sleep(pause)
        for c in caches:
            _write("/sys/kernel/slab/%s/shrink" % c, "1")


def snapshot(do_quiesce=True):
    """The counts now; meminfo also as it was before quiesce() ("raw": what
    a plain read of /proc/meminfo shows)."""
    raw = meminfo()
    raw_slab = slabinfo()
    if do_quiesce:
        quiesce()
    return {"time": time.time(), "slab": slabinfo(), "meminfo": meminfo(), "meminfo_raw": raw,
            "slab_raw": raw_slab, "probes": probe_hits()}


def settled(a, b):
    """Whether what the span destroyed is gone by snapshot B: no more live
    net_devices and network namespaces than at A (a namespace's cleanup,
    and the devices it deletes, run in a workqueue after "ip netns del")."""
    ns = b["slab"].get("net_namespace", [0])[0] - a["slab"].get("net_namespace", [0])[0]
    return (live_netdev_delta(a, b) or 0) <= 0 and ns <= 0


def settle_snapshot(a, timeout=120, step=5):
    """A snapshot once settled(A, it), or the last one at TIMEOUT."""
    end = time.monotonic() + timeout
    while True:
        b = snapshot()
        if settled(a, b) or time.monotonic() >= end:
            return b
        time.sleep(step)


def socket_netns(pidfd, fd):
    """The network namespace ("net:[N]") of socket FD of the process of
    PIDFD (None: this process): the fd copied with pidfd_getfd(), asked
    with SIOCGSKNS; None if that cannot be done. (The copy goes through
    the kernel's __receive_sock(), which gives the socket this process's
    net_cls/net_prio ids of cgroup v1: none in the guests.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    mine = ns = -1
    try:
        if pidfd is None:
            mine = os.dup(fd)
        else:
            mine = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
            if mine < 0:
                return None
        ns = fcntl.ioctl(mine, SIOCGSKNS)
        return os.readlink("/proc/self/fd/%d" % ns)
    except OSError:
        return None
    finally:
        for x in (ns, mine):
            if x >= 0:
                os.close(x)


def netns_holders():
    """What keeps network namespaces other than the init one alive, as far
    as userspace sees: the names in /run/netns, the processes in another
    namespace, the nsfs fds open on one, and the sockets of one that a
    process holds (a socket holds its namespace until it is closed)
    ([names], [(pid, comm, what)])."""
    try:
        names = sorted(os.listdir("/run/netns"))
    except OSError:
        names = []
    try:
        init = os.readlink("/proc/1/ns/net")
    except OSError:
        return names, []
    procs = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        pidfd = None
        try:
            # the pidfd first: a pid reused after it is not this process
            if int(pid) != os.getpid():
                pidfd = os.pidfd_open(int(pid))
            ns = os.readlink("/proc/%s/ns/net" % pid)
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            fds = os.listdir("/proc/%s/fd" % pid)
        except (OSError, AttributeError):
            if pidfd is not None:
                os.close(pidfd)
            continue
        if ns != init:
            procs.append((int(pid), comm, ns))
        for fd in fds:
            # an open namespace file (an fd of /run/netns/X or of
            # /proc/P/ns/net) holds its namespace too, and so does a socket
            try:
                t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            except OSError:
                continue    # closed meanwhile (listdir's own fd, ...)
            if t.startswith("net:[") and t != init:
                procs.append((int(pid), comm, "fd %s: %s" % (fd, t)))
            elif t.startswith("socket:["):
                skns = socket_netns(pidfd, int(fd))
                if skns and skns != init:
                    procs.append((int(pid), comm, "fd %s: %s of %s" % (fd, t, skns)))
        if pidfd is not None:
            # still that process (signal 0), or what was read may be another's
            try:
                signal.pidfd_send_signal(pidfd, 0)
            except OSError:
                procs = [p for p in procs if p[0] != int(pid)]
            os.close(pidfd)
    return names, procs


def live_netdev_delta(a, b):
    """Devices allocated and not freed between snapshots A and B (None
    without the probes)."""
    pa, pb = a.get("probes") or {}, b.get("probes") or {}
    if len(pa) != 2 or len(pb) != 2:
        return None
    return (pb["netdev_alloc"] - pa["netdev_alloc"]) - (pb["netdev_free"] - pa["netdev_free"])


def compare(a, b, top=15):
    """{"grown": [(cache, objs, kB)] largest first, "total_kb", "skb",
    "netdev", "meminfo"} from snapshot A to B."""
    grown = []
    total = 0
    for c in set(a["slab"]) | set(b["slab"]):
        oa, sa = a["slab"].get(c, [0, 0])
        ob, sb = b["slab"].get(c, [0, 0])
        d = ob * (sb or sa) - oa * (sa or sb)
        total += d
        if ob != oa:
            grown.append((c, ob - oa, round(d / 1024, 1)))
    grown.sort(key=lambda g: -g[2])
    debug = [g for g in grown if g[0] in DEBUG_CACHES + CONFIG_CACHES]
    grown = [g for g in grown if g[0] not in DEBUG_CACHES + CONFIG_CACHES]
    skb = sum(b["slab"].get(c, [0])[0] - a["slab"].get(c, [0])[0] for c in SKB_CACHES)
    return {"all": grown, "grown": grown[:top], "shrunk": sorted(grown, key=lambda g: g[2])[:5], "debug": debug,
            "total_kb": round(total / 1024, 1), "skb": skb,
            "netdev": live_netdev_delta(a, b),
            "netns": b["slab"].get("net_namespace", [0])[0] - a["slab"].get("net_namespace", [0])[0],
            "netns_holders": netns_holders(),
            "meminfo": {k: [a["meminfo"].get(k), b["meminfo"].get(k)] for k in b["meminfo"]},
            "meminfo_raw": {k: [a.get("meminfo_raw", {}).get(k), b.get("meminfo_raw", {}).get(k)]
                            for k in b.get("meminfo_raw", {})}}


def kmemleak_clear():
    """Forget what kmemleak suspects now (a baseline: later reports are the
    span's)."""
    if not os.path.exists(KMEMLEAK):
        os.system("mount -t debugfs none /sys/kernel/debug 2>/dev/null")
    return _write(KMEMLEAK, "clear") is None


def kmemleak_scan():
    """Unreferenced objects after a scan, confirmed by a second scan 6 s
    later when the first reports any (an object in flight during one scan
    is referenced again at the next, and no longer listed); None without
    kmemleak."""
    if not os.path.exists(KMEMLEAK):
        os.system("mount -t debugfs none /sys/kernel/debug 2>/dev/null")
    n = None
    for _ in range(2):
        if _write(KMEMLEAK, "scan"):
            return None
        try:
            with open(KMEMLEAK) as f:
                n = f.read().count("unreferenced object")
        except OSError:
            return None
        if not n:
            return n
        time.sleep(6)
    return n


def kmemleak_report(lines=40):
    try:
        with open(KMEMLEAK) as f:
            return "".join(f.readlines()[:lines])
    except OSError:
        return ""


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        arm_probes()
        with open(sys.argv[2], "w") as f:
            json.dump(snapshot(), f)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        with open(sys.argv[2]) as f:
            a = json.load(f)
        with open(sys.argv[3]) as f:
            b = json.load(f)
        json.dump(compare(a, b), sys.stdout, indent=1)
        print()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
