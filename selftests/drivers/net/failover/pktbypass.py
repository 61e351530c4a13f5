#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw Ethernet frames through DEV from AF_PACKET sockets with
PACKET_QDISC_BYPASS, from several processes at once, until SIGTERM.

With the bypass the core picks the tx queue in packet_pick_tx_queue(), which
calls the device's ndo_select_queue from sendmsg(): preemptible, outside any
RCU read-side critical section (unlike __dev_queue_xmit()). stress.sh runs it
while the primary is unplugged and re-plugged.

  pktbypass.py DEV --procs N --pps P --out FILE.json

FILE.json: {"sent": total, "procs": N, "per_proc": [...], "errors": {errno name: count}}.
Frames: to a locally administered unicast address, EtherType 0x88b5 (local
experimental), 60 bytes.
"""
import argparse
import errno
import json
import multiprocessing as mp
import os
import signal
import socket
import time

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20
ETH_P_LOCAL = 0x88B5


def sender(dev, pps, q):
    stop = False

    def on_term(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_LOCAL))
    s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    s.bind((dev, 0))
    src = open(f"/sys/class/net/{dev}/address").read().strip()
    frame = (bytes.fromhex("020000000001") + bytes.fromhex(src.replace(":", ""))
             + ETH_P_LOCAL.to_bytes(2, "big") + b"nf-bypass".ljust(46, b"\0"))
    sent, errs = 0, {}
    gap = 1.0 / pps
    nxt = time.monotonic()
    while not stop:
        try:
            s.send(frame)
            sent += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            errs[name] = errs.get(name, 0) + 1
        nxt += gap
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
    q.put((sent, errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--pps", type=float, default=200)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    q = mp.Queue()
    procs = [mp.Process(target=sender, args=(a.dev, a.pps, q)) for _ in range(a.procs)]
    for p in procs:
        p.start()
    done = False

    def on_term(_sig, _frm):
        nonlocal done
        done = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    while not done and all(p.is_alive() for p in procs):
        time.sleep(0.2)
    for p in procs:
        if p.is_alive():
            os.kill(p.pid, signal.SIGTERM)
    # a sender that died on an exception reports nothing ("finished" < procs)
    res = []
    for _ in procs:
        try:
            res.append(q.get(timeout=30))
        except Exception:  # queue.Empty
            break
    for p in procs:
        p.join(timeout=30)
    errs = {}
    for _, e in res:
        for k, v in e.items():
            errs[k] = errs.get(k, 0) + v
    out = {"sent": sum(r[0] for r in res), "procs": a.procs, "finished": len(res),
           "per_proc": [r[0] for r in res], "errors": errs}
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
