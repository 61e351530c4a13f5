#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Paced, sequenced UDP stream for the net_failover selftests (stdlib only).

  udpseq.py send --dst IP --port P --rate PPS --duration S [--size B]
                 [--mark-file F]
      Sends datagrams carrying (magic, seq, send time) at RATE packets/s until
      DURATION elapses or SIGTERM/SIGINT; prints a JSON summary on stdout:
      {sent, send_errors, duration_s, rate_pps, target_pps}. With --mark-file,
      each SIGUSR1 appends "MARK n next_seq send_errors" to F (n counts from
      1): the sequence numbers sent between two marks are one window of a
      long stream (soak.py's per-cycle loss).
  udpseq.py recv --bind IP --port P --duration S --out FILE
                 [--idle-exit S] [--progress S] [--detail-out F]
                 [--gap-min-ms MS]
      Prints "READY" once bound, "PROGRESS received=N last_seq=M" every
      --progress seconds, and on exit writes FILE (atomically) with
      {received, first_seq, last_seq, lost, reordered, duplicates, max_gap_ms,
       max_gap_after_seq, duration_s}; lost = seqs missing between first and last,
      max_gap_ms = longest gap between consecutive arrivals. --detail-out F
      also writes F with {"missing": [[first, last], ...] (runs of seqs
      missing between first_seq and last_seq), "gaps": [[after_seq, ms], ...]
      (arrival gaps of at least --gap-min-ms, default 20), first_seq,
      last_seq, received} (seqs outside first_seq..last_seq are not in
      "missing": the reader knows what was sent).
"""

import argparse
import errno
import json
import os
import signal
import socket
import struct
import sys
import time

MAGIC = 0x4E46534F  # "NFSO"
HDR = struct.Struct("!IQd")  # magic, seq, send time (wall clock)
MAX_SEQ = 1 << 27  # ignore absurd sequence numbers (bytearray bound)


class Stop(Exception):
    pass


def _stop(_signum, _frame):
    raise Stop()


class Marks:
    """SIGUSR1 -> one "MARK n next_seq send_errors" line in a file."""

    def __init__(self, path):
        self.n = 0
        self.seq = 0
        self.errors = 0
        self.f = None
        if path:
            # the handler first: the file's existence says "ready for marks"
            signal.signal(signal.SIGUSR1, self.mark)
            self.f = open(path, "a", buffering=1)

    def mark(self, _signum, _frame):
        self.n += 1
        self.f.write("MARK %d %d %d\n" % (self.n, self.seq, self.errors))


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def cmd_send(a):
    size = max(a.size, HDR.size)
    pad = b"\0" * (size - HDR.size)
    sock = socket.socket(family_of(a.dst), socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    except OSError:
        pass
    dst = (a.dst, a.port)
    sent = errors = seq = 0
    pack = HDR.pack
    sendto = sock.sendto
    clock = time.monotonic
    wall = time.time
    batch_max = max(1, int(a.rate // 200))  # catch up in bursts of <= 5 ms
    marks = Marks(a.mark_file)
    start = clock()
    end = start + a.duration
    # A flag, not the Stop exception: an exception raised between a
    # successful sendto() and "sent += 1" would leave that datagram uncounted
    # (the receiver then reported one more than was sent).
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    while not stopping:
        now = clock()
        if now >= end:
            break
        due = int((now - start) * a.rate) + 1
        todo = due - sent - errors
        if todo <= 0:
            # ahead of schedule: sleep until the next packet is due (at most
            # 50 ms, to notice a stop; at low rates a 1 ms poll would cost
            # a slow guest more than the stream itself)
            time.sleep(min(0.05, (sent + errors + 1) / a.rate - (now - start)))
            continue
        for _ in range(min(todo, batch_max)):
            if stopping:
                break
            try:
                sendto(pack(MAGIC, seq, wall()) + pad, dst)
                seq += 1
                sent += 1
                marks.seq = seq
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN,
                                   errno.ENETUNREACH, errno.EHOSTUNREACH,
                                   errno.ECONNREFUSED, errno.ENXIO):
                    raise
                errors += 1
                marks.errors = errors
    elapsed = max(clock() - start, 1e-9)
    json.dump({"sent": sent, "send_errors": errors, "duration_s": round(elapsed, 3),
               "rate_pps": round(sent / elapsed, 1), "target_pps": a.rate}, sys.stdout)
    sys.stdout.write("\n")
    return 0


class Stats:
    def __init__(self, gap_min_ms=20.0):
        self.received = 0
        self.min_seq = None
        self.max_seq = None
        self.last_seq = None
        self.reordered = 0
        self.duplicates = 0
        self.seen = bytearray()
        self.last_t = None
        self.max_gap = 0.0
        self.max_gap_after = None
        self.gap_min = gap_min_ms / 1000.0
        self.gaps = []
        self.start = time.monotonic()

    def add(self, seq, t):
        if seq >= MAX_SEQ:
            return
        if seq >= len(self.seen):
            self.seen.extend(b"\0" * max(seq + 1 - len(self.seen), 65536))
        if self.seen[seq]:
            self.duplicates += 1
            return
        self.seen[seq] = 1
        self.received += 1
        if self.min_seq is None or seq < self.min_seq:
            self.min_seq = seq
        if self.max_seq is not None and seq < self.max_seq:
            self.reordered += 1
        if self.max_seq is None or seq > self.max_seq:
            self.max_seq = seq
        if self.last_t is not None and t - self.last_t > self.max_gap:
            self.max_gap = t - self.last_t
            self.max_gap_after = self.last_seq
        if self.last_t is not None and t - self.last_t >= self.gap_min:
            self.gaps.append([self.last_seq, round((t - self.last_t) * 1000.0, 3)])
        self.last_t = t
        self.last_seq = seq

    def result(self):
        low = self.min_seq if self.min_seq is not None else -1
        last = self.max_seq if self.max_seq is not None else -1
        lost = (last - low + 1 - self.received) if self.received else 0
        return {"received": self.received, "first_seq": low, "last_seq": last,
                "lost": lost, "reordered": self.reordered,
                "duplicates": self.duplicates,
                "max_gap_ms": round(self.max_gap * 1000.0, 3),
                "max_gap_after_seq": self.max_gap_after,
                "duration_s": round(time.monotonic() - self.start, 3)}

    def detail(self):
        """Runs of missing seqs between first and last, and the long gaps."""
        missing = []
        if self.received:
            i, last = self.min_seq, self.max_seq
            seen = self.seen
            while i <= last:
                j = seen.find(0, i, last + 1)
                if j < 0:
                    break
                k = seen.find(1, j, last + 1)
                k = last + 1 if k < 0 else k
                missing.append([j, k - 1])
                i = k
        return {"missing": missing, "gaps": self.gaps, "received": self.received,
                "first_seq": self.min_seq if self.received else -1,
                "last_seq": self.max_seq if self.received else -1}


def write_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cmd_recv(a):
    sock = socket.socket(family_of(a.bind), socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    except OSError:
        pass
    sock.bind((a.bind, a.port))
    sock.settimeout(0.1)
    st = Stats(a.gap_min_ms)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print("READY", flush=True)
    clock = time.monotonic
    unpack = HDR.unpack_from
    end = clock() + a.duration
    next_progress = clock() + a.progress
    try:
        while True:
            now = clock()
            if now >= end:
                break
            if a.idle_exit and st.last_t is not None and now - st.last_t >= a.idle_exit:
                break
            if now >= next_progress:
                print("PROGRESS received=%d last_seq=%d" %
                      (st.received, -1 if st.max_seq is None else st.max_seq), flush=True)
                next_progress = now + a.progress
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            t = clock()
            if len(data) < HDR.size:
                continue
            magic, seq, _sent_at = unpack(data)
            if magic != MAGIC:
                continue
            st.add(seq, t)
    except Stop:
        pass
    # what already reached the socket counts: a stop right behind the
    # stream's tail must not turn queued datagrams into losses
    sock.setblocking(False)
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if len(data) >= HDR.size:
            magic, seq, _sent_at = unpack(data)
            if magic == MAGIC:
                st.add(seq, clock())
    res = st.result()
    print("PROGRESS received=%d last_seq=%d" % (st.received, res["last_seq"]), flush=True)
    if a.detail_out:
        write_atomic(a.detail_out, st.detail())
    write_atomic(a.out, res)
    print("DONE " + json.dumps(res), flush=True)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--mark-file", default=None,
                   help="on SIGUSR1 append 'MARK n next_seq send_errors' to this file")
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--idle-exit", type=float, default=0.0,
                   help="exit this many seconds after the last packet (0: never)")
    r.add_argument("--progress", type=float, default=1.0)
    r.add_argument("--detail-out", default=None,
                   help="also write the missing seq runs and the long gaps here")
    r.add_argument("--gap-min-ms", type=float, default=20.0)
    a = p.parse_args(argv)
    if a.cmd == "send":
        if a.rate <= 0 or a.duration <= 0:
            p.error("--rate and --duration must be positive")
        return cmd_send(a)
    return cmd_recv(a)


if __name__ == "__main__":
    sys.exit(main())
