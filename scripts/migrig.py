#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Real live migration of a failover guest between two QEMUs on this host.

Run inside the rig's network namespace by scripts/migrate.sh:

  migrig.py --run DIR --kernel BZIMAGE --initrd INITRD [--rounds N] [--rate PPS]
            [--tap-ms MS]

Slot "a" boots the guest from an initramfs (scripts/mk-initramfs.sh: nothing
is shared with the host, so nothing blocks migration). Each migration starts
the other slot with -incoming defer and the same device set (its own taps on
the same bridge), migrates over a unix socket and quits the source, as a
cloud's control plane does. The guest is driven over a virtio-serial port
(scripts/mig-agent.sh), whose state migrates with it.

Prints KTAP. Cases: the topology forms; ROUNDS round trips (2 x ROUNDS
migrations) under a sequenced UDP stream in each direction, each completing
with the destination's primary enslaved and carrying the stream and the
master's name and addresses kept; a migration cancelled during wait-unplug
and one cancelled while RAM is copied, each giving the primary back on the
source; a destination without a primary (the guest stays on the standby)
and the migration back to one with a primary; no datagram lost between
migrations or from the guest, and the peer's lost datagrams only in the
switchover (QEMU's STOP on the source until the guest's first frame through
the destination) and QEMU's self-announce through the destination's
just-plugged primary, none in the unplug or the takeover of a new primary
(mig_loss, with the counts per phase as figures; the C module fails it); the
guest's kernel log clean. Every
migration's phases go to mig-N.json and to "# figure:" lines; QMP events of
both QEMUs to events-<slot>.jsonl (times: QEMU's stamps and the host's
clock).
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

MAC = "52:54:00:12:34:56"
GUEST4, PEER4 = "192.0.2.2", "192.0.2.1"
GUEST6 = "2001:db8::2"
P2G_PORT, G2P_PORT = 5001, 5002
HERE = os.path.dirname(os.path.abspath(__file__))
UDPSEQ = os.path.join(HERE, "..", "selftests", "drivers", "net", "failover", "udpseq.py")


def log(msg):
    print("[%s] migrig: %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Lines:
    """Line-buffered reads from a unix stream socket, with deadlines."""

    def __init__(self, path, proc=None, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError("QEMU exited (status %s) before %s existed" % (proc.returncode, path))
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""

    def readline(self, timeout):
        """One line (bytes, without the newline); None when timeout passed."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                data = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                return None
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def send(self, text):
        self.s.sendall(text.encode())

    def close(self):
        self.s.close()


class Qmp:
    """One QMP connection: commands, and every event seen, host-timestamped."""

    def __init__(self, path, evlog, proc=None):
        self.c = Lines(path, proc)
        self.events = []
        self.evlog = evlog
        self.id = 0
        self._read(30)  # greeting
        self.cmd("qmp_capabilities")

    def _read(self, timeout):
        line = self.c.readline(timeout)
        if line is None:
            return None
        m = json.loads(line)
        if "event" in m:
            # QEMU's own stamp (the host's clock when it emitted the event),
            # not when the rig got round to reading it
            ts = m.get("timestamp", {})
            m["host_time"] = ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6 if ts else time.time()
            self.events.append(m)
            with open(self.evlog, "a") as f:
                f.write(json.dumps(m) + "\n")
        return m

    def cmd(self, name, timeout=60, **args):
        self.id += 1
        msg = {"execute": name, "id": self.id}
        if args:
            msg["arguments"] = args
        self.c.send(json.dumps(msg) + "\n")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(max(0.05, deadline - time.monotonic()))
            if m is None:
                raise TimeoutError("QMP %s: no answer in %d s" % (name, timeout))
            if m.get("id") != self.id:
                continue  # an event, or the late answer of a command that timed out
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError("QMP %s: %s" % (name, m["error"].get("desc", m["error"])))

    def poll(self, wait=0.0):
        """Take the events that arrived (waiting up to wait s for one)."""
        end = time.monotonic() + wait
        while self._read(max(0.0, end - time.monotonic())) is not None:
            pass

    def event(self, name, since=0):
        for e in self.events[since:]:
            if e["event"] == name:
                return e
        return None


class Slot:
    """One QEMU instance of the rig: a, or b."""

    def __init__(self, rig, name):
        self.rig, self.name = rig, name
        self.proc = None
        self.qmp = None
        self.ctl = None
        self.primary = True

    def path(self, what):
        return os.path.join(self.rig.run, "%s-%s" % (self.name, what))

    def sock(self, what):
        return self.rig.sock("%s-%s" % (self.name, what))

    def start(self, incoming=False, primary=True):
        a = self.rig.args
        self.primary = primary
        append = ("console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 no5lvl log_buf_len=8M "
                  "nohz=off highres=off rdinit=/init " + a.append)
        cmd = ["qemu-system-x86_64", "-name", "nfmig-" + self.name,
               "-machine", "q35", "-accel", "tcg,thread=single", "-cpu", "max",
               "-smp", str(a.cpus), "-m", a.memory,
               "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot",
               "-kernel", a.kernel, "-initrd", a.initrd, "-append", append,
               "-serial", "file:" + self.path("console.log"),
               "-device", "virtio-serial-pci,id=vser0,bus=pcie.0,addr=0x8",
               "-chardev", "socket,id=nfctl,path=%s,server=on,wait=off" % self.sock("ctl.sock"),
               "-device", "virtserialport,bus=vser0.0,nr=1,chardev=nfctl,name=nf.ctl",
               "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10",
               "-device", "pcie-root-port,id=rp2,chassis=2,slot=2,bus=pcie.0,addr=0x11",
               "-netdev", "tap,id=nsb,ifname=tap-sb-%s,script=no,downscript=no" % self.name,
               "-device", "virtio-net-pci,netdev=nsb,id=sb0,mac=%s,failover=on,bus=rp1" % MAC,
               "-qmp", "unix:%s,server=on,wait=off" % self.sock("qmp.sock")]
        if primary:
            # romfile= : an emulated primary's option ROM is a RAM block that
            # the failover unplug leaves behind on the source, and the
            # destination (whose primary is hidden while RAM loads) refuses
            # the stream with "Unknown ramblock" (tests/migration/DESIGN.md 5.1)
            cmd += ["-netdev", "tap,id=npf,ifname=tap-pf-%s,script=no,downscript=no" % self.name,
                    "-device", "e1000e,netdev=npf,id=pf0,mac=%s,failover_pair_id=sb0,bus=rp2,romfile=" % MAC]
        if incoming:
            cmd += ["-incoming", "defer"]
        with open(self.path("qemu.cmd"), "a") as f:
            f.write(" ".join(cmd) + "\n")
        # this incarnation's output only (a slot runs many QEMUs in turn)
        self.out_at = os.path.getsize(self.path("qemu.out")) if os.path.exists(self.path("qemu.out")) else 0
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(self.path("qemu.out"), "a"), stderr=subprocess.STDOUT)
        self.qmp = Qmp(self.sock("qmp.sock"), os.path.join(self.rig.run, "events-%s.jsonl" % self.name), self.proc)
        self.qmp.cmd("migrate-set-capabilities",
                     capabilities=[{"capability": "events", "state": True}])
        # the host side of the control port, attached before any migration
        # reaches this instance (the port's "host connected" state migrates)
        self.ctl = Lines(self.sock("ctl.sock"), self.proc)
        log("slot %s started (pid %d%s%s)" % (self.name, self.proc.pid,
                                               ", incoming" if incoming else "",
                                               "" if primary else ", no primary"))

    def quit(self):
        if self.proc is None:
            return
        try:
            self.qmp.cmd("quit", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for c in (self.ctl, self.qmp.c if self.qmp else None):
            if c:
                c.close()
        self.proc = self.qmp = self.ctl = None

    def output(self):
        """What this incarnation of the slot's QEMU printed."""
        try:
            with open(self.path("qemu.out"), errors="replace") as f:
                f.seek(getattr(self, "out_at", 0))
                return f.read()
        except FileNotFoundError:
            return ""


class Ktap:
    def __init__(self, cases):
        self.n = 0
        print("TAP version 13\n1..%d" % cases, flush=True)
        self.cur = None
        self.fails = []
        self.failed = 0

    def begin(self, name):
        self.cur = name
        self.fails = []

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# %s" % line, flush=True)

    def figure(self, msg):
        print("# figure: %s: %s" % (self.cur, msg), flush=True)

    def check(self, ok, msg):
        if not ok:
            self.fails.append(msg)
            lines = str(msg).splitlines() or [""]
            print("# FAIL: %s" % lines[0], flush=True)
            for line in lines[1:]:
                print("#   %s" % line, flush=True)
        return ok

    def end(self, skip=None):
        self.n += 1
        # a case that failed a check is not skipped, whatever else happened
        if skip and not self.fails:
            print("ok %d %s # SKIP %s" % (self.n, self.cur, skip), flush=True)
            return True
        print("%s %d %s" % ("not ok" if self.fails else "ok", self.n, self.cur), flush=True)
        self.failed += bool(self.fails)
        return not self.fails


class TapSampler(threading.Thread):
    """rx_packets of every tap (the frames the guest sent through it), every
    interval s (--tap-ms) with the host's clock: when each path starts
    carrying, without asking the guest (whose clock stops while it is
    paused). The phase code below works in seconds, whatever the interval."""

    TAPS = ("tap-sb-a", "tap-pf-a", "tap-sb-b", "tap-pf-b")

    def __init__(self, path, interval=0.1):
        super().__init__(daemon=True)
        self.samples = []
        self.path = path
        self.interval = interval
        self.stop = False

    def run(self):
        while not self.stop:
            row = [time.time()]
            for t in self.TAPS:
                try:
                    with open("/sys/class/net/%s/statistics/rx_packets" % t) as f:
                        row.append(int(f.read()))
                except (OSError, ValueError):
                    row.append(0)
            self.samples.append(row)
            time.sleep(self.interval)

    def save(self):
        with open(self.path, "w") as f:
            f.write("# time " + " ".join(self.TAPS) + "\n")
            for row in self.samples:
                f.write(" ".join(str(x) for x in row) + "\n")

    def carries_from(self, tap, since, frames=5, until=None):
        """Host time at which tap starts carrying the guest's stream: the
        first sample (after since) whose count grew, opening 0.5 s in which
        it grew by at least frames (the stream sends tens per second, stray
        ARP or ND far fewer); None if never (before until)."""
        i = self.TAPS.index(tap) + 1
        rows = [r for r in list(self.samples) if r[0] >= since and (until is None or r[0] <= until)]
        for j in range(1, len(rows)):
            if rows[j][i] <= rows[j - 1][i]:
                continue
            k = j
            while k + 1 < len(rows) and rows[k + 1][0] - rows[j - 1][0] <= 0.5:
                k += 1
            if rows[k][i] - rows[j - 1][i] >= frames:
                return rows[j][0]
        return None

    def quiet_from(self, tap, since, until=None):
        """Host time from which tap stops carrying: the first sample after
        since that opens 0.5 s without growth; None if never."""
        i = self.TAPS.index(tap) + 1
        rows = [r for r in list(self.samples) if r[0] >= since and (until is None or r[0] <= until)]
        for j, r in enumerate(rows):
            k = j
            while k + 1 < len(rows) and rows[k + 1][0] - r[0] <= 0.5:
                k += 1
            if k > j and rows[k][0] - r[0] >= 0.4 and rows[k][i] == r[i]:
                return r[0]
        return None

    def last_frame(self, tap, since, until):
        """Host time of the last sample in (since, until) in which tap
        received a frame; None if none did."""
        i = self.TAPS.index(tap) + 1
        rows = [r for r in list(self.samples) if since <= r[0] <= until]
        last = None
        for a, b in zip(rows, rows[1:]):
            if b[i] > a[i]:
                last = b[0]
        return last

    def first_frame(self, taps, since):
        """Host time of the first sample after since in which one of taps
        received a frame from the guest; None if none did."""
        idx = [self.TAPS.index(t) + 1 for t in taps]
        rows = [r for r in list(self.samples) if r[0] >= since]
        for a, b in zip(rows, rows[1:]):
            if any(b[i] > a[i] for i in idx):
                return b[0]
        return None


class Rig:
    def __init__(self, args):
        self.args = args
        self.run = args.run
        # unix socket paths are limited to 107 bytes: the sockets live in a
        # short directory of their own, not in the (deep) run directory
        self.sockdir = tempfile.mkdtemp(prefix="nfmig-", dir="/tmp")
        self.slots = {"a": Slot(self, "a"), "b": Slot(self, "b")}
        self.active = self.slots["a"]
        self.req = 0
        self.master = None
        self.p2g_send = self.g2p_recv = None
        self.marks = []  # (label, host time)
        self.windows = []  # per migration: dict
        self.taps = TapSampler(os.path.join(args.run, "taps.txt"), args.tap_ms / 1000)
        self.taps.start()

    def sock(self, name):
        return os.path.join(self.sockdir, name)

    def other(self):
        return self.slots["b" if self.active.name == "a" else "a"]

    # -- the guest, over the control port of the running instance --
    def guest(self, cmd, timeout=120):
        """(exit status, output) of a bash command in the guest."""
        self.req += 1
        n = str(self.req).encode()
        ctl = self.active.ctl
        ctl.send("REQ %d %s\n" % (self.req, cmd.strip().replace("\n", "\x1f")))
        deadline = time.monotonic() + timeout
        out = []
        while time.monotonic() < deadline:
            line = ctl.readline(max(0.05, deadline - time.monotonic()))
            if line is None:
                break
            f = line.split(b" ", 2)
            if len(f) >= 2 and f[1] == n:
                if f[0] == b"OUT":
                    out.append(f[2].decode(errors="replace") if len(f) > 2 else "")
                elif f[0] == b"RES":
                    return int(f[2]), "\n".join(out)
        raise TimeoutError("guest did not answer '%s' in %d s" % (cmd.strip()[:60], timeout))

    def wait_agent(self, timeout):
        """Until the agent says HELLO (the host is attached before the guest
        opens the port, so it is not missed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.active.ctl.readline(2)
            except EOFError:
                return False
            if line is not None and line.strip() == b"HELLO":
                return True
            if self.active.proc.poll() is not None:
                return False
        return False

    # builtins only (a fork costs a loaded debug guest up to a second): the
    # standby is the lower on a virtio device (which has "features"), the
    # primary the one on a PCI device (which has "vendor", as virtio has too)
    STATE = r'''
M=%s
pri=- sby=- c=0 pt=0 st=0 pr=0 sr=0 op= pi=0
for l in /sys/class/net/"$M"/lower_*; do
	[ -e "$l" ] || continue
	n=${l##*lower_}
	if [ -e /sys/class/net/"$n"/device/features ]; then sby=$n
	elif [ -e /sys/class/net/"$n"/device/vendor ]; then pri=$n
	fi
done
if [ "$pri" != - ]; then
	read -r c < /sys/class/net/"$pri"/carrier
	read -r pi < /sys/class/net/"$pri"/ifindex
	read -r pt < /sys/class/net/"$pri"/statistics/tx_packets
	read -r pr < /sys/class/net/"$pri"/statistics/rx_packets
fi
if [ "$sby" != - ]; then
	read -r st < /sys/class/net/"$sby"/statistics/tx_packets
	read -r sr < /sys/class/net/"$sby"/statistics/rx_packets
fi
read -r op < /sys/class/net/"$M"/operstate
echo "primary=$pri pri_ifindex=$pi standby=$sby carrier=${c:-0} pri_tx=$pt sby_tx=$st pri_rx=$pr sby_rx=$sr m_up=$op"
'''

    def state(self):
        rc, out = self.guest(self.STATE % self.master, timeout=120)
        d = dict(kv.split("=", 1) for kv in out.split() if "=" in kv)
        for k in ("pri_tx", "sby_tx", "pri_rx", "sby_rx"):
            d[k] = int(d.get(k, "0") or 0)
        d.setdefault("primary", "-")
        d.setdefault("carrier", "0")
        return d

    def wait_primary(self, timeout, want=True):
        """Host seconds until the guest's master has an e1000e primary with
        carrier (want) or none (not want); None on timeout."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                s = self.state()
            except TimeoutError:
                continue
            has = s["primary"] != "-" and s["carrier"] == "1"
            if has == want:
                return time.monotonic() - t0, s
            self.active.qmp.poll(0.5)
        return None, None

    def carrying(self, role, secs=2.0):
        """Whether the lower of role carries the guest's stream now: over
        the time between two reads, the lowers sent at least 10 frames and
        the other lower at most 1/20 of them (the lib.sh share rule; a
        verdict on where the frames went, not on how many a loaded guest
        managed to send). (ok, text)"""
        t0 = time.monotonic()
        s0 = self.state()
        time.sleep(secs)
        s1 = self.state()
        secs = time.monotonic() - t0
        dp, ds = s1["pri_tx"] - s0["pri_tx"], s1["sby_tx"] - s0["sby_tx"]
        if s0.get("pri_ifindex") != s1.get("pri_ifindex") or s0["standby"] != s1["standby"]:
            # another device (a primary plugged again counts from zero)
            return False, "the lower devices changed between the reads: %s, then %s" % (s0, s1)
        if role == "primary":
            ok = s1["primary"] != "-" and dp >= 10 and ds * 20 <= dp + ds
        else:
            ok = ds >= 10 and dp * 20 <= dp + ds
        return ok, "in %.0f s: primary %s tx +%d, standby %s tx +%d" % (
            secs, s1["primary"], dp, s1["standby"], ds)

    def carried_by(self, role, tap, timeout):
        """Polls until the lower of role carries the stream and tap saw at
        least 10 of its frames in the same time (a primary held in its
        takeover delay carries only once the delay is over).
        (ok, text)"""
        deadline = time.monotonic() + timeout
        while True:
            t0 = self.tap_rx(tap)
            ok, txt = self.carrying(role)
            dt = self.tap_rx(tap) - t0
            txt += ", %s rx +%d" % (tap, dt)
            if (ok and dt >= 10) or time.monotonic() > deadline:
                return ok and dt >= 10, txt

    def cpu(self, secs):
        """One line on the guest's CPU use over secs (CPU_SAMPLE; the
        sampler's own start and /proc walk count as busy); takes at least
        secs whatever happens (callers use it as a settle time too), never
        fails a case."""
        assert "'" not in CPU_SAMPLE
        t0 = time.monotonic()
        try:
            rc, out = self.guest("python3 -c '" + CPU_SAMPLE + "' " + str(secs), timeout=secs + 120)
            res = out.strip() if rc == 0 else "not sampled (%d): %s" % (rc, out.strip()[-200:])
        except (TimeoutError, OSError, EOFError) as e:
            res = "not sampled: %r" % e
        time.sleep(max(0.0, secs - (time.monotonic() - t0)))
        return res

    def tap_rx(self, tap):
        try:
            with open("/sys/class/net/%s/statistics/rx_packets" % tap) as f:
                return int(f.read())
        except OSError:
            return 0

    # -- streams --
    def start_streams(self):
        r = self.args.rate
        # the receiver asks for 8 MB of socket buffer: a starved guest's
        # receiver may not run for seconds, and the default 208 KB is ~3 s
        # of the stream
        self.guest("echo 16777216 > /proc/sys/net/core/rmem_max")
        rc, out = self.guest(
            "setsid python3 /nf/udpseq.py recv --bind %s --port %d --duration 100000 --out /tmp/p2g.json "
            "--detail-out /tmp/p2g-detail.json --progress 5 > /tmp/p2g.out 2>&1 < /dev/null & echo $! > /tmp/p2g.pid; "
            "for i in $(seq 100); do grep -q READY /tmp/p2g.out && break; sleep 0.2; done; cat /tmp/p2g.out"
            % (GUEST4, P2G_PORT))
        if "READY" not in out:
            return "guest receiver: " + out
        self.g2p_recv = subprocess.Popen(
            [sys.executable, UDPSEQ, "recv", "--bind", PEER4, "--port", str(G2P_PORT), "--duration", "100000",
             "--out", os.path.join(self.run, "g2p.json"), "--detail-out", os.path.join(self.run, "g2p-detail.json"),
             "--progress", "5"], stdout=open(os.path.join(self.run, "g2p-recv.out"), "w"), stderr=subprocess.STDOUT)
        self.p2g_send = subprocess.Popen(
            [sys.executable, UDPSEQ, "send", "--dst", GUEST4, "--port", str(P2G_PORT), "--rate", str(r),
             "--duration", "100000", "--mark-file", os.path.join(self.run, "p2g.marks")],
            stdout=open(os.path.join(self.run, "p2g-send.json"), "w"), stderr=subprocess.STDOUT)
        time.sleep(1)
        rc, out = self.guest(
            "setsid python3 /nf/udpseq.py send --dst %s --port %d --rate %s --duration 100000 "
            "--mark-file /tmp/g2p.marks > /tmp/g2p-send.json 2>&1 < /dev/null & echo $! > /tmp/g2p.pid; "
            "for i in $(seq 100); do [ -e /tmp/g2p.marks ] && break; sleep 0.2; done; ls /tmp/g2p.marks"
            % (PEER4, G2P_PORT, self.args.guest_rate))
        if rc != 0:
            return "guest sender: " + out
        for p in ("p2g.marks",):
            for i in range(50):
                if os.path.exists(os.path.join(self.run, p)):
                    break
                time.sleep(0.1)
        return None

    def mark(self, label):
        """A boundary in both streams: the next seq each sender will use,
        each confirmed by its sender's marks file growing; the host time of
        the peer's mark is kept (to place a lost datagram in time)."""
        path = os.path.join(self.run, "p2g.marks")
        n0 = count_marks(path)
        t_a = time.time()
        self.p2g_send.send_signal(signal.SIGUSR1)
        for _ in range(200):
            if count_marks(path) > n0:
                break
            time.sleep(0.01)
        else:
            raise RuntimeError("the peer's sender did not take mark %s" % label)
        t_b = time.time()
        rc, out = self.guest(
            "f=/tmp/g2p.marks; n=$(grep -c ^MARK $f); kill -USR1 $(cat /tmp/g2p.pid); "
            "for i in $(seq 400); do [ $(grep -c ^MARK $f) -gt $n ] && exit 0; sleep 0.05; done; exit 1",
            timeout=600)
        if rc != 0:
            raise RuntimeError("the guest's sender did not take mark %s" % label)
        self.marks.append((label, (t_a + t_b) / 2))

    def stop_streams(self):
        self.guest("kill -TERM $(cat /tmp/g2p.pid); sleep 1", timeout=600)
        self.p2g_send.send_signal(signal.SIGTERM)
        self.p2g_send.wait(30)
        time.sleep(3)
        self.guest("kill -TERM $(cat /tmp/p2g.pid); for i in $(seq 300); do [ -s /tmp/p2g-detail.json ] && break; "
                   "sleep 0.2; done", timeout=600)
        self.g2p_recv.send_signal(signal.SIGTERM)
        self.g2p_recv.wait(30)

    # -- one migration --
    def migrate(self, n, dst_primary=True, cancel_at=None, bandwidth=4 << 30):
        """One migration from the active slot to the other (or a cancel at
        cancel_at: "wait-unplug", or "active" 3 s into the RAM copy). The
        states are the source's MIGRATION events, times QEMU's stamps."""
        src, dst = self.active, self.other()
        r = {"n": n, "from": src.name, "to": dst.name, "dst_primary": dst_primary, "cancel_at": cancel_at}
        uri = "unix:" + self.sock("mig-%d.sock" % n)
        dst.start(incoming=True, primary=dst_primary)
        dst.qmp.cmd("migrate-incoming", uri=uri)
        src.qmp.cmd("migrate-set-parameters", **{"max-bandwidth": bandwidth, "downtime-limit": 300})
        ev0 = len(src.qmp.events)
        r["t0"] = t0 = time.time()
        src.qmp.cmd("migrate", uri=uri)
        deadline = time.monotonic() + self.args.mig_timeout
        cancelled = False

        def states():
            return [[e["data"]["status"], round(e["host_time"] - t0, 3)]
                    for e in src.qmp.events[ev0:] if e["event"] == "MIGRATION"]
        while True:
            src.qmp.poll(0.1)
            try:
                dst.qmp.poll(0.02)
            except (EOFError, OSError):
                pass  # a destination whose incoming stream failed (a cancel) exits
            st = states()
            last = st[-1][0] if st else None
            if last in ("completed", "failed", "cancelled"):
                break
            if not cancelled and cancel_at == "wait-unplug" and src.qmp.event("UNPLUG_PRIMARY", ev0):
                src.qmp.cmd("migrate_cancel")
                cancelled = True
                r["cancel_time"] = round(time.time() - t0, 3)
            if not cancelled and cancel_at == "active" and last == "active" and time.time() - t0 - st[-1][1] > 3:
                src.qmp.cmd("migrate_cancel")
                cancelled = True
                r["cancel_time"] = round(time.time() - t0, 3)
            if time.monotonic() > deadline and not cancelled:
                src.qmp.cmd("migrate_cancel")
                cancelled = True
                r["error"] = "no end within %d s (status %s): cancelled" % (self.args.mig_timeout, last)
            if cancelled and time.monotonic() > deadline + 120:
                raise RuntimeError("migration %d: no end 120 s after the cancel (status %s)" % (n, last))
        r["status"] = last
        r["states"] = st
        r["query"] = src.qmp.cmd("query-migrate")
        src.qmp.poll(0.2)
        r["src_events"] = [[e["event"], e.get("data"), round(e["host_time"] - t0, 3)] for e in src.qmp.events[ev0:]]
        up = src.qmp.event("UNPLUG_PRIMARY", ev0)
        active = [t for s_, t in st if s_ == "active"]
        if up and active:
            r["unplug_ms"] = round((active[0] - (up["host_time"] - t0)) * 1000)
        if last == "completed":
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not dst.qmp.event("RESUME"):
                dst.qmp.poll(0.5)
            r["dst_events"] = [[e["event"], e.get("data"), round(e["host_time"] - t0, 3)] for e in dst.qmp.events]
            stop, resume = src.qmp.event("STOP", ev0), dst.qmp.event("RESUME")
            if stop and resume:
                r["pause_ms"] = round((resume["host_time"] - stop["host_time"]) * 1000)
                r["stop_t"] = stop["host_time"]
            r["resume_t"] = resume["host_time"] if resume else None
            src.quit()
            self.active = dst
            dst.output_at_migration = dst.output()
        else:
            dst.quit()
        return r

    def phases(self, r, until):
        """The host-side phase times of migration r (up to until, its post
        mark), from the tap samples and QEMU's event stamps: when the
        source's standby starts carrying the guest's stream (the unplug),
        the first sample after STOP with a frame of the guest's through the
        destination (the network's view of the pause), and when a primary
        carries the stream again (the takeover: on the destination, or on
        the source after a cancel), with the flap that may follow."""
        t_sb = self.taps.carries_from("tap-sb-%s" % r["from"], r["t0"], until=until)
        r["t_sb"] = t_sb
        if t_sb is not None:
            r["standby_carries_ms"] = round((t_sb - r["t0"]) * 1000)
        r["t_pri"] = None
        if r.get("resume_t"):
            t1 = self.taps.first_frame(["tap-sb-%s" % r["to"], "tap-pf-%s" % r["to"]], r["stop_t"])
            r["t_first"] = t1
            if t1 is not None:
                r["net_pause_ms"] = round((t1 - r["stop_t"]) * 1000)
            tap = "tap-%s-%s" % ("pf" if r["dst_primary"] else "sb", r["to"])
            t = self.taps.carries_from(tap, r["resume_t"], until=until)
            if t is not None:
                r["resume_to_carrier_ms"] = round((t - r["resume_t"]) * 1000)
                if r["dst_primary"]:
                    r["t_pri"] = t
            if r["dst_primary"]:
                # QEMU's self-announce after RESUME goes out of every NIC,
                # the destination's just-plugged primary too, before the
                # guest has that device: each of those frames moves the
                # bridge's entry for the guest to a port nobody reads
                # until the guest's next frame through the standby
                r["t_announce_end"] = self.taps.last_frame(
                    "tap-pf-%s" % r["to"], r["resume_t"], min(r["resume_t"] + 3, t or r["resume_t"] + 3))
        elif r["status"] == "cancelled" and t_sb is not None:
            # back on the primary once the primary's port had gone quiet
            t_c = r["t0"] + r.get("cancel_time", 0)
            t_q = self.taps.quiet_from("tap-pf-%s" % r["from"], t_sb, until=until)
            if t_q is not None:
                t = self.taps.carries_from("tap-pf-%s" % r["from"], max(t_q, t_c), until=until)
                if t is not None:
                    r["cancel_to_primary_ms"] = round((t - t_c) * 1000)
                    r["t_pri"] = t
        if r["t_pri"] is not None:
            r["t_pri_end"], r["takeover_flaps"] = self.takeover_end(r, until)
            r["takeover_flap_ms"] = round((r["t_pri_end"] - r["t_pri"]) * 1000)

    def takeover_end(self, r, until):
        """(when the new primary carries for good, flaps): a primary whose
        link flaps right after it came up (an e1000e that QEMU has just
        plugged, reset by its driver within seconds) gives the stream back
        to the standby once and takes it again. One such flap within 10 s
        counts as part of the takeover; a second one does not (its losses
        are "other")."""
        slot = r["to"] if r.get("resume_t") else r["from"]
        limit = min(until, r["t_pri"] + 10)
        t_back = self.taps.carries_from("tap-sb-%s" % slot, r["t_pri"] + 0.2, until=limit)
        if t_back is None:
            return r["t_pri"], 0
        t_again = self.taps.carries_from("tap-pf-%s" % slot, t_back, until=limit)
        if t_again is None:
            return r["t_pri"], 1
        more = self.taps.carries_from("tap-sb-%s" % slot, t_again + 0.2, until=until)
        return t_again, 1 + (more is not None)

    def classify(self, r, t):
        """The phase of migration r at host time t: "unplug" (from migrate
        until the source's standby carries, +0.5 s), "switchover" (QEMU's
        STOP on the source until the guest's first frame through the
        destination, +0.5 s), "announce" (from RESUME until QEMU's last
        self-announce frame through the destination's primary port before
        the guest uses it, +0.3 s), "takeover" (from 1 s before a primary
        starts carrying until 1 s after it carries for good, see
        takeover_end), else "other"."""
        if r.get("stop_t") and r["stop_t"] - 0.1 <= t <= (r.get("t_first") or r["resume_t"]) + 0.5:
            return "switchover"
        if r.get("t_announce_end") and r["resume_t"] <= t <= r["t_announce_end"] + 0.3:
            return "announce"
        if r["t0"] <= t <= (r.get("t_sb") or r["t0"]) + 0.5:
            return "unplug"
        if r.get("t_pri") and r["t_pri"] - 1.0 <= t <= r.get("t_pri_end", r["t_pri"]) + 1.0:
            return "takeover"
        return "other"

    def summary(self, r):
        q = r.get("query", {})
        ram = q.get("ram", {})
        return ("%s->%s %s: states %s; downtime %s ms, pause (QEMU STOP->RESUME) %s ms, wait-unplug %s ms, "
                "setup %s ms, total %s ms, ram %d MB; stream on the source's standby %s ms after migrate; "
                "guest's first frame through the destination %s ms after STOP; stream on the destination's "
                "%s %s ms after RESUME" % (
                    r["from"], r["to"], r["status"], " ".join("%s@%.1f" % (s, t) for s, t in r["states"]),
                    q.get("downtime"), r.get("pause_ms"), r.get("unplug_ms"), q.get("setup-time"),
                    q.get("total-time"), ram.get("transferred", 0) >> 20, r.get("standby_carries_ms"),
                    r.get("net_pause_ms"), "primary" if r["dst_primary"] else "standby",
                    r.get("resume_to_carrier_ms")))

    def save(self, r):
        with open(os.path.join(self.run, "mig-%d.json" % r["n"]), "w") as f:
            json.dump(r, f, indent=1)


# The guest's CPU over a few seconds (argv[1]): the /proc/stat shares and the
# threads that used the most of it (run through the agent, one line out).
CPU_SAMPLE = r"""
import os, sys, time
def snap():
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:8]]
    th = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            for t in os.listdir("/proc/%s/task" % p):
                with open("/proc/%s/task/%s/stat" % (p, t)) as f:
                    s = f.read()
                rest = s[s.rindex(")") + 2:].split()
                th[t] = (s[s.index("(") + 1:s.rindex(")")], int(rest[11]) + int(rest[12]))
        except (OSError, ValueError):
            pass
    return cpu, th
c0, t0 = snap()
time.sleep(float(sys.argv[1]))
c1, t1 = snap()
d = [b - a for a, b in zip(c0, c1)]
tot = sum(d) or 1
pc = lambda v: 100.0 * v / tot
top = sorted(((v[1] - t0.get(k, (0, 0))[1], v[0]) for k, v in t1.items()), reverse=True)[:5]
print("busy %.0f%% (user %.0f, system %.0f, irq %.0f, softirq %.0f); most ticks: %s" % (
    pc(tot - d[3] - d[4]), pc(d[0] + d[1]), pc(d[2]), pc(d[5]), pc(d[6]),
    ", ".join("%s %d" % (n, v) for v, n in top if v > 0)))
"""


def enslave_split(dmesg):
    """Where the boot-time enslave latency goes, from the guest's kernel log:
    modules loaded (insmod of net_failover, virtio_net, e1000e) -> the
    master registered -> the hidden primary hot-added by QEMU once the guest
    negotiated STANDBY -> e1000e's probe -> the primary enslaved."""
    pats = [("load", r"nf-init: loading modules"),
            ("master", r"failover master eth\d+ created|failover master:\S+ registered"),
            ("pci", r"pci 0000:02:00\.0: \[8086:10d3\]"),
            ("probe", r"e1000e 0000:02:00\.0: enabling device|e1000e 0000:02:00\.0: Interrupt Throttling"),
            ("enslaved", r"enslaved eth\d+ as primary|failover primary slave:\S+ registered")]
    t = {}
    for line in dmesg.splitlines():
        m = re.match(r"\[\s*(\d+\.\d+)\]\s(.*)", line)
        if not m:
            continue
        for key, pat in pats:
            if key not in t and re.search(pat, m.group(2)):
                t[key] = float(m.group(1))
    if "load" not in t or "enslaved" not in t:
        return "lines missing (%s)" % " ".join(sorted(t))
    parts, prev = [], "load"
    for key in sorted((x for x in t if x != "load"), key=lambda x: t[x]):
        parts.append("%s +%.1f s" % (key, t[key] - t[prev]))
        prev = key
    return "modules loaded -> primary enslaved %.1f s (%s)" % (t["enslaved"] - t["load"], ", ".join(parts))


def count_marks(path):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith("MARK"))
    except OSError:
        return 0


def loss_windows(marks_path, detail_path):
    """[(next seq at each MARK)] and the missing runs of the receiver."""
    seqs = []
    try:
        with open(marks_path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and p[0] == "MARK":
                    seqs.append(int(p[2]))
    except OSError:
        pass
    try:
        with open(detail_path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = None
    return seqs, d


def lost_in(d, lo, hi):
    """Datagrams lost with lo <= seq < hi, by the receiver's detail."""
    if d is None:
        return None
    n = 0
    for a, b in d.get("missing", []):
        a, b = max(a, lo), min(b, hi - 1)
        if a <= b:
            n += b - a + 1
    last = d.get("last_seq")
    if last is not None and hi - 1 > last:
        n += hi - 1 - max(last, lo - 1)
    first = d.get("first_seq")
    if first is not None and lo < first:
        n += min(first, hi) - lo
    return n


class AllRun(Exception):
    """The cases asked for have run (--boot-only)."""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--append", default="")
    ap.add_argument("--rounds", type=int, default=10, help="round trips (2 migrations each)")
    ap.add_argument("--demo", action="store_true",
                    help="the round trips only: no cancelled migration, no destination without a primary")
    ap.add_argument("--boot-only", action="store_true",
                    help="mig_topology only (its figures: the boot-time enslave latency, the guest's CPU)")
    ap.add_argument("--rate", type=int, default=100, help="datagrams/s of the peer's stream to the guest")
    ap.add_argument("--guest-rate", type=int, default=50,
                    help="datagrams/s of the guest's stream (one vCPU of a loaded debug guest)")
    ap.add_argument("--boot-timeout", type=int, default=900)
    ap.add_argument("--mig-timeout", type=int, default=300)
    ap.add_argument("--replug-timeout", type=int, default=240)
    ap.add_argument("--takeover-delay", type=int, default=None,
                    help="the master's takeover_delay_ms (Rust module only)")
    ap.add_argument("--tap-ms", type=float, default=float(os.environ.get("NF_MIG_TAP_MS") or 100),
                    help="tap sampling interval in ms (default $NF_MIG_TAP_MS, else 100; 10 for a "
                         "timeline of frames per 10 ms: scripts/mig-report.py --png)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if not 1 <= args.tap_ms <= 100:
        ap.error("--tap-ms must be between 1 and 100")
    # a stop of the run ends here through "finally": both QEMUs are quit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cases = ["mig_topology", "mig_roundtrip", "mig_cancel_wait_unplug", "mig_cancel_active",
             "mig_dst_no_primary", "mig_loss", "dmesg_clean"]
    if args.demo:
        cases = [c for c in cases if not c.startswith(("mig_cancel", "mig_dst"))]
    if args.boot_only:
        cases = ["mig_topology"]
    rig = Rig(args)
    k = Ktap(len(cases))
    k.diag("migration rig: %d round trips; streams of %d datagrams/s to the guest and %d from it; taps sampled "
           "every %g ms" % (args.rounds, args.rate, args.guest_rate, args.tap_ms))
    n = 0
    settle = 3.0
    try:
        # ---- mig_topology
        k.begin("mig_topology")
        a = rig.active
        a.start()
        t0 = time.monotonic()
        if not k.check(rig.wait_agent(args.boot_timeout), "the guest's agent did not answer in %d s" % args.boot_timeout):
            k.end()
            return 1
        k.figure("agent up %.0f s after QEMU started" % (time.monotonic() - t0))
        for _ in range(120):
            rc, out = rig.guest("for d in /sys/class/net/*; do ls $d | grep -q '^lower_' && echo ${d##*/}; done")
            if out.strip():
                rig.master = out.split()[0]
                break
            time.sleep(1)
        if not k.check(rig.master, "no failover master appeared"):
            k.end()
            return 1
        rig.guest("ip link set %s up && ip addr add %s/24 dev %s && ip addr add %s/64 dev %s nodad"
                  % (rig.master, GUEST4, rig.master, GUEST6, rig.master))
        if args.takeover_delay is not None:
            rc, out = rig.guest("f=/sys/class/net/%s/failover/takeover_delay_ms; [ -e $f ] || exit 4; "
                                "echo %d > $f && cat $f" % (rig.master, args.takeover_delay))
            if rc == 4:
                k.diag("takeover_delay_ms not set: the C module has none")
            else:
                k.check(rc == 0 and out.strip() == str(args.takeover_delay),
                        "cannot set takeover_delay_ms %d: %s" % (args.takeover_delay, out))
                k.diag("takeover_delay_ms: %s" % out.strip())
        secs, s = rig.wait_primary(args.replug_timeout)
        k.check(secs is not None, "no primary with carrier under master %s" % rig.master)
        k.check(s is not None and s["standby"] != "-", "no standby under master %s: %s" % (rig.master, s))
        k.diag("topology: master %s, %s" % (rig.master, s))
        k.figure("primary enslaved with carrier %.0f s after the master was addressed" % (secs or -1))
        rig.guest("echo clear > /sys/kernel/debug/kmemleak 2>/dev/null; true")
        rc, out = rig.guest("dmesg")
        k.figure("boot: " + enslave_split(out))
        rc, out = rig.guest("ping -c 3 -W 5 %s" % PEER4)
        k.check(rc == 0, "no ping through the master: %s" % out[-200:])
        q = a.qmp.cmd("query-migrate")
        k.check(not q.get("blocked-reasons"), "migration blocked: %s" % q.get("blocked-reasons"))
        k.figure("guest cpu, no streams: " + rig.cpu(5))
        err = rig.start_streams()
        k.check(err is None, "streams: %s" % err)
        ok, txt = rig.carried_by("primary", "tap-pf-a", 60)
        k.check(ok, "the stream is not carried by the primary before migrating: " + txt)
        k.figure("guest cpu, streams through the primary: " + rig.cpu(5))
        if not k.fails:
            rig.mark("start")
        if not k.end():
            return 1
        if args.boot_only:
            raise AllRun

        def after_switchover(r, want_primary=True):
            """The guest on the destination: master kept, primary back (or
            not), carrying; returns the host seconds to the primary."""
            rc, out = rig.guest("ip -br addr show dev %s" % rig.master)
            k.check(rc == 0 and " UP " in " %s " % out and GUEST4 + "/24" in out and GUEST6 + "/64" in out,
                    "migration %d: master %s lost its state or addresses: %s" % (r["n"], rig.master, out))
            st = rig.state()
            k.check(st["standby"] != "-", "migration %d: no standby under the master: %s" % (r["n"], st))
            if want_primary:
                secs, s = rig.wait_primary(args.replug_timeout)
                if secs is not None and r.get("resume_t"):
                    r["replug_s"] = round(time.time() - r["resume_t"], 1)
                if not k.check(secs is not None, "migration %d: no primary with carrier on %s %d s after it"
                               % (r["n"], r["to"], args.replug_timeout)):
                    return
                ok, r["after"] = rig.carried_by("primary", "tap-pf-%s" % rig.active.name, 60)
                k.check(ok, "migration %d: the destination's primary does not carry the stream: %s"
                        % (r["n"], r["after"]))
            else:
                k.figure("guest cpu, streams through the standby: " + rig.cpu(5))
                s = rig.state()
                k.check(s["primary"] == "-", "migration %d: a primary on a destination without one: %s" % (r["n"], s))
                ok, r["after"] = rig.carried_by("standby", "tap-sb-%s" % rig.active.name, 30)
                k.check(ok, "migration %d: the standby does not carry the stream: %s" % (r["n"], r["after"]))

        def one(label, **kw):
            nonlocal n
            n += 1
            rig.mark("pre-%d" % n)
            r = rig.migrate(n, **kw)
            r["label"] = label
            rig.windows.append(r)
            return r

        def report(r):
            rig.phases(r, rig.marks[-1][1])
            k.diag("migration %d (%s): %s" % (r["n"], r["label"], rig.summary(r)))
            rig.save(r)

        # ---- mig_roundtrip
        k.begin("mig_roundtrip")
        replug = []
        for i in range(2 * args.rounds):
            r = one("roundtrip")
            if not k.check(r["status"] == "completed", "migration %d ended %s: %s" % (
                    r["n"], r["status"], r.get("error") or r["query"].get("error-desc"))):
                report(r)
                break
            k.check(["wait-unplug"] == [s for s, _ in r["states"] if s == "wait-unplug"],
                    "migration %d: no wait-unplug (the primary was not unplugged first): %s" % (r["n"], r["states"]))
            k.check(rig.active.qmp.event("FAILOVER_NEGOTIATED") is not None,
                    "migration %d: no FAILOVER_NEGOTIATED on the destination" % r["n"])
            after_switchover(r)
            time.sleep(settle)
            rig.mark("post-%d" % r["n"])
            report(r)
            k.diag("  after: %s" % r.get("after"))
            replug.append(r.get("resume_to_carrier_ms"))
            if k.fails:
                break
        done = [r for r in rig.windows if r["label"] == "roundtrip" and r["status"] == "completed"]
        if done:
            def med(v):
                v = sorted(x for x in v if x is not None)
                return v[len(v) // 2] if v else None
            k.figure("%d migrations: median downtime %s ms, pause %s ms, wait-unplug %s ms, total %s ms, "
                     "stream through the destination's primary %s ms after RESUME (max %s)" % (
                         len(done), med([r["query"].get("downtime") for r in done]),
                         med([r.get("pause_ms") for r in done]), med([r.get("unplug_ms") for r in done]),
                         med([r["query"].get("total-time") for r in done]), med(replug),
                         max([x for x in replug if x is not None], default=None)))
        k.check(len(done) == 2 * args.rounds, "%d of %d migrations completed" % (len(done), 2 * args.rounds))
        k.end()

        # ---- cancels
        for case, at, bw in (() if args.demo else (("mig_cancel_wait_unplug", "wait-unplug", 4 << 30),
                                                    ("mig_cancel_active", "active", 4 << 20))):
            k.begin(case)
            src = rig.active
            # (only what QEMU prints during this case: both cancels have the
            # same source QEMU)
            out_at = len(src.output())
            r = one(case, cancel_at=at, bandwidth=bw)
            k.check(r["status"] == "cancelled", "cancel at %s: the migration ended %s" % (at, r["status"]))
            seen = [st_ for st_, _ in r["states"]]
            k.check(at in seen and seen.index(at) + 1 < len(seen) and seen[seen.index(at) + 1] == "cancelling",
                    "not cancelled during %s: states %s" % (at, r["states"]))
            k.check(src.qmp.cmd("query-status").get("status") == "running",
                    "the source is not running after the cancel")
            # (QEMU keeps a failover primary realized while it is partially
            # unplugged, so query-pci cannot tell; the guest's view below can)
            partial = "partially unplugged device on failure" in src.output()[out_at:]
            if partial:
                # QEMU waited 30 s for the guest's eject and plugged the
                # primary back while the eject went on (DESIGN.md 5.5): not
                # the driver's to answer for
                k.diag("QEMU: partially unplugged device on failure (its 30 s wait for the eject ran out)")
            secs, s = rig.wait_primary(args.replug_timeout)
            r["replug_s"] = round(secs, 1) if secs is not None else None
            if partial and secs is None:
                k.diag("no primary back after QEMU's partial unplug")
            elif k.check(secs is not None, "no primary back on the source after the cancel"):
                ok, txt = rig.carried_by("primary", "tap-pf-%s" % src.name, 60)
                k.check(ok, "tx not back on the source's primary: %s" % txt)
            time.sleep(settle)
            rig.mark("post-%d" % r["n"])
            report(r)
            k.figure("cancelled %s s after migrate; stream through the source's primary again %s ms after the cancel"
                     % (r.get("cancel_time"), r.get("cancel_to_primary_ms")))
            r["skipped"] = bool(partial and secs is None and not k.fails)
            rig.save(r)
            k.end(skip="QEMU's partial unplug (no primary came back)" if r["skipped"] else None)

        # ---- mig_dst_no_primary
        if not args.demo:
            k.begin("mig_dst_no_primary")
            r = one("no-primary", dst_primary=False)
            if k.check(r["status"] == "completed", "to a destination without a primary: ended %s" % r["status"]):
                if "Primary device not found" in rig.active.output_at_migration:
                    k.diag("the destination's QEMU: Primary device not found (as documented)")
                after_switchover(r, want_primary=False)
                time.sleep(settle)
                rig.mark("post-%d" % r["n"])
                report(r)
                r2 = one("back-to-primary")
                if k.check(r2["status"] == "completed",
                           "back to a destination with a primary: ended %s" % r2["status"]):
                    k.check(not [s for s, _ in r2["states"] if s == "wait-unplug"],
                            "wait-unplug without a primary on the source: %s" % r2["states"])
                    after_switchover(r2)
                time.sleep(settle)
                rig.mark("post-%d" % r2["n"])
                report(r2)
            k.end()

        # ---- mig_loss
        k.begin("mig_loss")
        rig.mark("end")
        rig.stop_streams()
        rc, out = rig.guest("cat /tmp/g2p.marks")
        with open(os.path.join(rig.run, "g2p.marks"), "w") as f:
            f.write(out + "\n")
        rc, out = rig.guest("cat /tmp/p2g-detail.json")
        with open(os.path.join(rig.run, "p2g-detail.json"), "w") as f:
            f.write(out)
        rc, out = rig.guest("cat /tmp/g2p-send.json /tmp/p2g.json")
        k.diag("guest side: " + " ".join(out.split()))
        labels = [m[0] for m in rig.marks]
        times = [m[1] for m in rig.marks]
        total = {"p2g": 0, "g2p": 0}
        phase_total = {}
        for d, marks, detail in (("p2g", "p2g.marks", "p2g-detail.json"), ("g2p", "g2p.marks", "g2p-detail.json")):
            seqs, det = loss_windows(os.path.join(rig.run, marks), os.path.join(rig.run, detail))
            if not k.check(det is not None and len(seqs) == len(labels),
                           "%s: %d marks for %d boundaries, detail %s" % (d, len(seqs), len(labels), det is not None)):
                continue
            for i, lab in enumerate(labels[:-1]):
                lo, hi = seqs[i], seqs[i + 1]
                lost = lost_in(det, lo, hi)
                total[d] += lost
                if not lab.startswith("pre-"):
                    k.check(lost == 0, "%s between %s and %s (no migration): %d datagrams lost" % (
                        d, lab, labels[i + 1], lost))
                    continue
                r = rig.windows[int(lab[4:]) - 1]
                r.setdefault("lost", {})[d] = lost
                if d == "g2p":
                    # the guest sends nothing while it is paused, and its
                    # frames in flight migrate with the virtqueues
                    k.figure("migration %d (%s) guest->peer: lost %d of %d" % (r["n"], r["label"], lost, hi - lo))
                    k.check(lost == 0, "migration %d (%s) guest->peer: %d datagrams lost" % (r["n"], r["label"], lost))
                else:
                    # each lost datagram placed in time by the peer's steady
                    # sender (seq between two marks of known host time)
                    ph = {}
                    for a, b in det.get("missing", []):
                        for q in range(max(a, lo), min(b, hi - 1) + 1):
                            t = times[i] + (q - lo) * (times[i + 1] - times[i]) / max(1, hi - lo)
                            c = rig.classify(r, t)
                            ph[c] = ph.get(c, 0) + 1
                    tail = lost - sum(ph.values())  # past the receiver's last seq
                    if tail:
                        ph["other"] = ph.get("other", 0) + tail
                    r["lost_phases"] = ph
                    for c, v in ph.items():
                        phase_total[c] = phase_total.get(c, 0) + v
                    k.figure("migration %d (%s) peer->guest: lost %d of %d: %s (QEMU pause %s ms, first frame "
                             "through the destination %s ms after STOP)" % (
                                 r["n"], r["label"], lost, hi - lo,
                                 ", ".join("%s %d" % kv for kv in sorted(ph.items())) or "none",
                                 r.get("pause_ms"), r.get("net_pause_ms")))
                    if r.get("skipped"):
                        k.diag("migration %d: not judged (its case was skipped)" % r["n"])
                        rig.save(r)
                        continue
                    if r.get("takeover_flaps", 0) > 1:
                        k.diag("migration %d: the new primary flapped %d times" % (r["n"], r["takeover_flaps"]))
                    # The guest is paused in the switchover, and QEMU's
                    # announce comes from the destination's primary before
                    # the guest has it; loss in the unplug or the takeover
                    # is the driver's (rx follows tx, with a grace for the
                    # standby's unicast after a switch to the primary).
                    outside = {c: v for c, v in ph.items() if c not in ("switchover", "announce") and v}
                    k.check(not outside,
                            "migration %d (%s) peer->guest: %d datagrams lost outside the switchover and QEMU's "
                            "announce: %s" % (r["n"], r["label"], sum(outside.values()), ph))
                rig.save(r)
        k.figure("lost in all: peer->guest %d (%s), guest->peer %d" % (
            total["p2g"], ", ".join("%s %d" % kv for kv in sorted(phase_total.items())), total["g2p"]))
        k.end()

        # ---- dmesg_clean
        k.begin("dmesg_clean")
        rc, out = rig.guest("f=/sys/kernel/debug/kmemleak; [ -e $f ] || exit 4; echo scan > $f; sleep 5; "
                            "echo scan > $f; cat $f > /tmp/kmemleak.txt", timeout=600)
        k.check(rc == 0, "no kmemleak scan (debugfs, CONFIG_DEBUG_KMEMLEAK): %s" % out)
        rc, out = rig.guest("cat /tmp/kmemleak.txt 2>/dev/null")
        with open(os.path.join(rig.run, "kmemleak.txt"), "w") as f:
            f.write(out)
        rc, out = rig.guest("dmesg", timeout=600)
        with open(os.path.join(rig.run, "dmesg.txt"), "w") as f:
            f.write(out + "\n")
        p = subprocess.run([os.path.join(HERE, "check-dmesg.sh"), rig.run], capture_output=True, text=True)
        k.check(p.returncode == 0, "kernel log: " + p.stderr.strip()[-1500:])
        k.end()
    except AllRun:
        pass
    except Exception as e:
        traceback.print_exc()
        k.diag("rig error: %r" % e)
        k.check(False, "rig error in %s: %r" % (k.cur, e))
        k.end()
    finally:
        # a second TERM must not cut the clean-up short (both QEMUs quit)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        rig.taps.stop = True
        rig.taps.save()
        with open(os.path.join(rig.run, "marks.json"), "w") as f:
            json.dump(rig.marks, f)
        for p in (rig.p2g_send, rig.g2p_recv):
            if p and p.poll() is None:
                p.kill()
        for s in rig.slots.values():
            s.quit()
        shutil.rmtree(rig.sockdir, ignore_errors=True)
    print("# Totals: pass:%d fail:%d" % (k.n - k.failed, k.failed + len(cases) - k.n), flush=True)
    return 0 if k.n == len(cases) and not k.failed else 1


if __name__ == "__main__":
    sys.exit(main())
