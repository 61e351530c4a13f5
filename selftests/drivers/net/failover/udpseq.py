#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Paced, sequenced UDP stream for the net_failover selftests (stdlib only).

  udpseq.py send --dst IP --port P --rate PPS --duration S [--size B]
      Sends datagrams carrying (magic, seq, send time) at RATE packets/s until
      DURATION elapses or SIGTERM/SIGINT; prints a JSON summary on stdout:
      {sent, send_errors, duration_s, rate_pps, target_pps}.
  udpseq.py recv --bind IP --port P --duration S --out FILE
                 [--idle-exit S] [--progress S]
      Prints "READY" once bound, "PROGRESS received=N last_seq=M" every
      --progress seconds, and on exit writes FILE (atomically) with
      {received, first_seq, last_seq, lost, reordered, duplicates, max_gap_ms,
       max_gap_after_seq, duration_s}; lost = seqs missing between first and last,
      max_gap_ms = longest gap between consecutive arrivals.
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
            # ahead of schedule: sleep until the next packet is due
            time.sleep(min(0.001, (sent + errors + 1) / a.rate - (now - start)))
            continue
        for _ in range(min(todo, batch_max)):
            if stopping:
                break
            try:
                sendto(pack(MAGIC, seq, wall()) + pad, dst)
                seq += 1
                sent += 1
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN, errno.ENETDOWN,
                                   errno.ENETUNREACH, errno.EHOSTUNREACH,
                                   errno.ECONNREFUSED, errno.ENXIO):
                    raise
                errors += 1
    elapsed = max(clock() - start, 1e-9)
    json.dump({"sent": sent, "send_errors": errors, "duration_s": round(elapsed, 3),
               "rate_pps": round(sent / elapsed, 1), "target_pps": a.rate}, sys.stdout)
    sys.stdout.write("\n")
    return 0


class Stats:
    def __init__(self):
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
    st = Stats()
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
    res = st.result()
    print("PROGRESS received=%d last_seq=%d" % (st.received, res["last_seq"]), flush=True)
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
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--idle-exit", type=float, default=0.0,
                   help="exit this many seconds after the last packet (0: never)")
    r.add_argument("--progress", type=float, default=1.0)
    a = p.parse_args(argv)
    if a.cmd == "send":
        if a.rate <= 0 or a.duration <= 0:
            p.error("--rate and --duration must be positive")
        return cmd_send(a)
    return cmd_recv(a)


if __name__ == "__main__":
    sys.exit(main())
