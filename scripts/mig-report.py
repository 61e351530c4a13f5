#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Per-phase times and losses of live migrations, from migrate.sh run dirs.

  mig-report.py [--by-run] [--png FILE [--migration N]] RUN_DIR [RUN_DIR...]

Prints one table, one column per module (its run dirs pooled; --by-run: one
column per run dir): for each phase of the completed round trip migrations
(label "roundtrip"; the cancels, the migration to a slot without a primary
and the one back are left out, and the notes under the table count them)
the median and [min..max] in ms, then the datagrams lost per phase class in
each direction: median [min..max] per migration, and the sum. Stdlib only;
--png needs matplotlib.

Everything is recomputed from the run dir's raw records with the rig's own
code (migrig.py: TapSampler, Rig.phases, Rig.classify, lost_in), so runs of
older rig revisions are judged like new ones: QEMU's event stamps
(events-<slot>.jsonl, matched to mig-N.json), the tap samples (taps.txt, at
whatever interval the file has), the stream marks (marks.json, p2g.marks,
g2p.marks) and the receivers' missing runs (*-detail.json). Phases:

  wait-unplug                 QEMU's wait-unplug -> active (the guest's eject)
  migrate -> standby carries  the stream on the source's standby (taps)
  RAM copy                    active -> STOP on the source
  downtime, pause             QEMU's figure; STOP -> RESUME (QEMU's stamps)
  STOP -> 1st frame via dest  first sample with a frame into a destination
                              tap (the guest's announce; taps)
  ~RESUME -> VF enslaved, ~VF enslaved -> 1st frame on it / stream on it:
      the enslave is only in the guest's kernel log (dmesg.txt), on the
      guest's clock, which runs with the host's except while QEMU has the
      guest stopped (STOP -> RESUME): host = guest + base + the pauses
      before. base is the median over anchors, the guest's line when its
      module moves transmission (Rust: "tx via"; C logs none, so e1000e's
      "removed PHC" and "NIC Link is Up") against the tap sample where the
      stream shows up there. The fit's residuals, printed per run, tell the
      estimate's error (a tap interval or two).
      The rows starting "~  " split a phase by the guest's log lines:
      the unplug from e1000e's remove() ("removed PHC") to the module's
      release, and the hot-add after RESUME: the PCI function enumerated,
      e1000e's probe ("enabling device"), its PHC registered (just before
      register_netdev()), the enslave (the module's share).
  RESUME -> stream on VF      the destination's primary carries (taps)
  VF flap                     stream on the VF -> on it for good (Rig.phases)

Loss classes are the rig's (Rig.classify): unplug, switchover, announce,
takeover, other. A lost datagram is placed in time between the peer's two
marks around it, for guest->peer too, whose marks the guest takes later:
its classes are approximate.

--png FILE: a timeline of one migration of the first RUN_DIR (--migration
N, default the first completed round trip): frames per tap sample into the
source's and the destination's standby and primary taps, lost datagrams,
and the phase boundaries; the right-hand panels zoom on the switchover.
"""
import argparse
import collections
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import migrig  # noqa: E402  (the rig's phase and loss code, stdlib only)

CLASSES = ("unplug", "switchover", "announce", "takeover", "other")
# the guest's log line when the module moves transmission to the standby,
# and to the primary. C logs none: e1000e's remove() starting (the taps see
# its stream leave the primary then, not at "NIC Link is Down": that fits
# 100-200 ms off) and the primary's carrier coming up
REMOVED = r"e1000e .*: removed PHC"  # e1000e's remove(): one per unplug
TX_LINES = {"rust": (r"tx via \S+ \(standby\)", r"tx via \S+ \(primary\)"),
            "c": (REMOVED, r"e1000e .*: NIC Link is Up")}
PHASES = ("wait-unplug (QEMU)", "~  e1000e remove -> released", "migrate -> standby carries",
          "RAM copy (active -> STOP)", "downtime (QEMU's figure)",
          "pause (STOP -> RESUME)", "STOP -> 1st frame via dest", "~RESUME -> VF enslaved",
          "~  RESUME -> PCI function seen", "~  PCI function -> probe", "~  probe -> PHC registered",
          "~  PHC registered -> enslaved",
          "~VF enslaved -> 1st frame on it", "~VF enslaved -> stream on it", "RESUME -> stream on VF",
          "VF flap (-> carries for good)", "total (QEMU's figure)")
ENSLAVE = r"enslaved \S+ as primary|failover primary slave:\S+ registered"
RELEASED = r"released primary|failover primary slave:\S+ unregistered"
# the steps of a hot-add in the guest's log: the PCI function enumerated,
# e1000e's probe enabling it, its PHC registered just before register_netdev()
PCI_SEEN = r"pci \S+: \[8086:10d3\] type 00"
PROBE = r"e1000e \S+: enabling device"
PHC = r"registered PHC clock"


class Replay:
    """migrig.Rig's phase code over the samples of a taps.txt."""
    phases = migrig.Rig.phases
    takeover_end = migrig.Rig.takeover_end
    classify = migrig.Rig.classify

    def __init__(self, samples):
        self.taps = migrig.TapSampler(os.devnull)
        self.taps.samples = samples


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_taps(path):
    """(rows [time, count per tap...], sampling interval in s)."""
    rows = []
    with open(path) as f:
        head = f.readline().split()
        if head[2:] != list(migrig.TapSampler.TAPS):
            raise SystemExit("%s: unknown columns %s" % (path, head))
        for line in f:
            p = line.split()
            if len(p) == 5:
                rows.append([float(p[0])] + [int(x) for x in p[1:]])
    dt = statistics.median(b[0] - a[0] for a, b in zip(rows, rows[1:]))
    return rows, round(dt, 3)


def module_of(run):
    # (c-lockinit: the C module with its stats_lock initialised, build-cref.sh)
    try:
        with open(os.path.join(run, "module")) as f:
            name = f.read().strip()
        if name:
            return name
    except OSError:
        pass
    m = re.search(r"migrate-(rust|c-lockinit|c)-", os.path.basename(os.path.normpath(run)))
    if m:
        return m.group(1)
    try:
        with open(os.path.join(run, "dmesg.txt")) as f:
            init = re.search(r"nf-init: loading modules(.*)", f.read())
        return "c" if init and " failover.ko" in init.group(1) else "rust"
    except OSError:
        return "?"


class GuestClock:
    """Host time of a guest kernel log stamp (see the head of the file)."""

    def __init__(self, dmesg, pauses, anchors, unplugs, module):
        self.pauses = sorted(pauses)
        self.lines = [(float(m.group(1)), m.group(2)) for m in
                      (re.match(r"\[\s*(\d+\.\d+)\]\s(.*)", x) for x in dmesg.splitlines()) if m]
        self.base, self.resid, self.why, self.anchors = None, {}, None, 0
        pats = TX_LINES.get(module.split("-")[0])
        removed = self.find(REMOVED)
        if not pats or not removed or not any(unplugs):
            self.why = "no dmesg.txt" if not self.lines else "no %s lines in dmesg.txt" % (
                "unplug" if pats else "module's tx")
            return
        # rough: e1000e's remove() in each unplug against the stream on the
        # source's standby (the k-th of each); it only picks the anchor lines
        pairs = [self.running(h) - g for h, g in zip(unplugs, removed) if h]
        if not pairs:
            self.why = "no unplug matched to a remove() line"
            return
        rough = statistics.median(pairs)
        fits = []
        self.anchors = len(anchors)
        for kind, h in anchors:
            cand = self.find(pats[kind == "pri"])
            g = min(cand, key=lambda x: abs(self.running(h) - rough - x), default=None)
            if g is not None and abs(self.running(h) - rough - g) < 1.0:
                fits.append((kind, self.running(h) - g))
        if len(fits) < 2:
            self.why = "%d anchor(s) in dmesg.txt" % len(fits)
            return
        self.base = statistics.median(f for _, f in fits)
        for kind, f in fits:
            self.resid.setdefault(kind, []).append(round((f - self.base) * 1000))

    def find(self, pat):
        return [t for t, s in self.lines if re.search(pat, s)]

    def running(self, h):
        """Host time h less the pauses before it: the guest's clock + base."""
        return h - sum(min(h, b) - a for a, b in self.pauses if h > a)

    def host(self, g):
        h = g + self.base
        for a, b in self.pauses:
            if h >= a:
                h += b - a
        return h


def restamp(r, stamps):
    """QEMU's own stamps for migration r's events, states, STOP and RESUME:
    older rig revisions kept the times at which they read the events (up
    to 0.6 s late), events-<slot>.jsonl keeps both (the same for new runs)."""
    t0 = r["t0"]
    for key, slot in (("src_events", r["from"]), ("dst_events", r["to"])):
        ev = []
        for name, data, t in r.get(key, []):
            m = [q for e, h, q in stamps.get(slot, []) if e == name and abs(h - t0 - t) < 0.002]
            ev.append([name, data, m[0] - t0 if m else t])
        r[key] = ev
    r["states"] = [[d["status"], t] for name, d, t in r["src_events"] if name == "MIGRATION"]
    stop = next((t for name, _, t in r["src_events"] if name == "STOP"), None)
    resume = next((t for name, _, t in r.get("dst_events", []) if name == "RESUME"), None)
    ok = r["status"] == "completed" and resume is not None
    r["resume_t"] = t0 + resume if ok else None
    if ok and stop is not None:
        r["stop_t"] = t0 + stop


def analyse(run):
    """The run's migrations (dicts, recomputed), its GuestClock and tap interval."""
    samples, dt = read_taps(os.path.join(run, "taps.txt"))
    rp = Replay(samples)
    stamps = {}  # slot -> [(event, the rig's time for it, QEMU's stamp)]
    for slot in "ab":
        try:
            with open(os.path.join(run, "events-%s.jsonl" % slot)) as f:
                for e in map(json.loads, f):
                    ts = e.get("timestamp")
                    if ts and "host_time" in e:
                        stamps.setdefault(slot, []).append(
                            (e["event"], e["host_time"], ts["seconds"] + ts["microseconds"] / 1e6))
        except (OSError, ValueError):
            pass
    marks = load(os.path.join(run, "marks.json"), [])
    labels, times = [m[0] for m in marks], [m[1] for m in marks]
    migs = []
    n = 1
    while os.path.exists(os.path.join(run, "mig-%d.json" % n)):
        old = load(os.path.join(run, "mig-%d.json" % n))
        # the raw records only: the derived times are recomputed below
        r = {k: old[k] for k in ("n", "from", "to", "dst_primary", "t0", "cancel_time", "status", "query",
                                 "src_events", "dst_events", "label") if k in old}
        restamp(r, stamps)
        until = next((t for lab, t in marks if lab == "post-%d" % n), None)
        if until is None and "pre-%d" % n in labels:
            i = labels.index("pre-%d" % n)
            until = times[i + 1] if i + 1 < len(times) else samples[-1][0]
        r["until"] = until or samples[-1][0]
        rp.phases(r, r["until"])
        r["lost_at"] = {}
        migs.append(r)
        n += 1
    # the peer's and the guest's lost datagrams, placed in time by the marks
    for d in ("p2g", "g2p"):
        seqs, det = migrig.loss_windows(os.path.join(run, d + ".marks"), os.path.join(run, d + "-detail.json"))
        if det is None or not labels or len(seqs) != len(labels):
            continue
        for i, lab in enumerate(labels[:-1]):
            if not lab.startswith("pre-") or int(lab[4:]) > len(migs):
                continue
            r, lo, hi = migs[int(lab[4:]) - 1], seqs[i], seqs[i + 1]
            at = [times[i] + (q - lo) * (times[i + 1] - times[i]) / max(1, hi - lo)
                  for a, b in det.get("missing", []) for q in range(max(a, lo), min(b, hi - 1) + 1)]
            at += [None] * (migrig.lost_in(det, lo, hi) - len(at))  # past the last seq received
            r["lost_at"][d] = at
            r["lost_" + d] = {c: 0 for c in CLASSES}
            for t in at:
                r["lost_" + d]["other" if t is None else rp.classify(r, t)] += 1
    # the guest's clock
    try:
        with open(os.path.join(run, "dmesg.txt")) as f:
            dmesg = f.read()
    except OSError:
        dmesg = ""
    done = [r for r in migs if r["status"] == "completed" and r.get("stop_t") and r.get("resume_t")]
    anchors = []
    for r in migs:
        if any(e[0] == "UNPLUG_PRIMARY" for e in r.get("src_events", [])) and r.get("t_sb"):
            anchors.append(("sb", r["t_sb"]))
        if r.get("t_pri"):
            anchors.append(("pri", r["t_pri"]))
        if r.get("takeover_flaps") and r["t_pri_end"] != r["t_pri"]:
            anchors.append(("pri", r["t_pri_end"]))
    unplugs = [r.get("t_sb") for r in migs if any(e[0] == "UNPLUG_PRIMARY" for e in r.get("src_events", []))]
    gc = GuestClock(dmesg, [(r["stop_t"], r["resume_t"]) for r in done], anchors, unplugs, module_of(run))
    for r in migs:
        ph, st = dict.fromkeys(PHASES), dict((s, r["t0"] + t) for s, t in reversed(r["states"]))
        ms = lambda a, b: round((b - a) * 1000) if a is not None and b is not None else None  # noqa: E731
        ph["wait-unplug (QEMU)"] = ms(st.get("wait-unplug"), st.get("active")) if "wait-unplug" in st else None
        ph["migrate -> standby carries"] = ms(r["t0"], r.get("t_sb"))
        ph["RAM copy (active -> STOP)"] = ms(st.get("active"), r.get("stop_t"))
        ph["downtime (QEMU's figure)"] = r.get("query", {}).get("downtime")
        ph["pause (STOP -> RESUME)"] = ms(r.get("stop_t"), r["resume_t"])
        ph["STOP -> 1st frame via dest"] = ms(r.get("stop_t"), r.get("t_first"))
        if gc.base is not None and r["resume_t"] and r["dst_primary"]:
            g = [g for g in gc.find(ENSLAVE) if r["resume_t"] < gc.host(g) < r["until"]]
            if g:
                r["t_enslave"] = te = gc.host(g[0])
                ph["~RESUME -> VF enslaved"] = ms(r["resume_t"], te)
                # where that time goes: the guest's log lines of the hot-add
                steps, prev = [], r["resume_t"]
                for name, pat in (("~  RESUME -> PCI function seen", PCI_SEEN), ("~  PCI function -> probe", PROBE),
                                  ("~  probe -> PHC registered", PHC)):
                    t = [gc.host(x) for x in gc.find(pat) if prev <= gc.host(x) <= te]
                    if not t:
                        break
                    ph[name], prev = ms(prev, t[0]), t[0]
                    steps.append(t[0])
                if len(steps) == 3:
                    ph["~  PHC registered -> enslaved"] = ms(prev, te)
                ph["~VF enslaved -> 1st frame on it"] = ms(te, rp.taps.first_frame(["tap-pf-" + r["to"]], te))
                ph["~VF enslaved -> stream on it"] = ms(te, r.get("t_pri"))
        if gc.base is not None and r.get("stop_t"):
            # the unplug of this migration: e1000e's remove() before STOP
            rm = [gc.host(x) for x in gc.find(REMOVED) if r["t0"] <= gc.host(x) <= r["stop_t"]]
            rel = [gc.host(x) for x in gc.find(RELEASED) if rm and rm[0] <= gc.host(x) <= r["stop_t"]]
            if rm and rel:
                ph["~  e1000e remove -> released"] = ms(rm[0], rel[0])
        ph["RESUME -> stream on VF"] = ms(r["resume_t"], r.get("t_pri"))
        ph["VF flap (-> carries for good)"] = r.get("takeover_flap_ms")
        ph["total (QEMU's figure)"] = r.get("query", {}).get("total-time")
        r["ph"] = ph
    return migs, gc, dt


def cell(v):
    v = [x for x in v if x is not None]
    if not v:
        return "n/a"
    med = statistics.median(v)
    return "%s [%s..%s]" % (("%d" if med == int(med) else "%.1f") % med, min(v), max(v))


def report(cols):
    """cols: [(title, [(run, migs, gc, dt)...])...]: the table on stdout."""
    keys = list(PHASES) + ["lost %s: %s" % (name, c) for name in ("peer->guest", "guest->peer")
                           for c in CLASSES + ("total",)]
    heads, cells, notes = [], [], []
    for title, runs in cols:
        migs = [r for _, ms, _, _ in runs for r in ms]
        rt = [r for r in migs if r.get("label") == "roundtrip" and r["status"] == "completed"]
        out = collections.Counter("%s/%s" % (r.get("label"), r["status"]) for r in migs if r not in rt)
        heads.append("%s: %d run(s), %d migr." % (title, len(runs), len(rt)))
        notes.append("%s: left out %s; taps every %s ms" % (
            title, ", ".join("%d %s" % (v, k) for k, v in sorted(out.items())) or "none",
            "/".join(sorted({"%g" % (dt * 1000) for _, _, _, dt in runs}))))
        for run, _, gc, _ in runs:
            try:
                with open(os.path.join(run, "output.txt")) as f:
                    delay = re.findall(r"^# takeover_delay_ms: (\d+)", f.read(), re.M)
            except OSError:
                delay = []
            fit = ", ".join("%d %s anchors %+d..%+d ms" % (len(v), {"sb": "unplug", "pri": "takeover"}[k], min(v),
                                                            max(v)) for k, v in sorted(gc.resid.items()))
            notes.append("  %s%s; guest log -> host clock: %s" % (
                os.path.basename(os.path.normpath(run)), ", takeover_delay_ms " + delay[0] if delay else "",
                "%d of %d anchors matched, residuals at %s" % (sum(len(v) for v in gc.resid.values()), gc.anchors, fit)
                if gc.base is not None else "n/a (%s)" % gc.why))
        c = {k: cell([r["ph"][k] for r in rt]) for k in PHASES}
        for d, name in (("p2g", "peer->guest"), ("g2p", "guest->peer")):
            have = [r["lost_" + d] for r in rt if "lost_" + d in r]
            for cl in CLASSES + ("total",):
                v = [sum(x.values()) if cl == "total" else x[cl] for x in have]
                c["lost %s: %s" % (name, cl)] = "%s sum %d" % (cell(v), sum(v)) if have else "n/a (no marks.json)"
        cells.append(c)
    w0 = max(map(len, keys)) + 2
    ws = [max([len(h)] + [len(c[k]) for k in keys]) + 2 for h, c in zip(heads, cells)]
    print("per phase: median [min..max] in ms (~: estimated from the guest's kernel log); "
          "lost datagrams: median [min..max] per migration and sum")
    print("".ljust(w0) + "".join(h.ljust(w) for h, w in zip(heads, ws)))
    for k in keys:
        print(k.ljust(w0) + "".join(c[k].ljust(w) for c, w in zip(cells, ws)))
    for n in notes:
        print("# " + n)


def png(path, run, migs, gc, dt, n):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--png needs matplotlib (~/.cache/rust-net-failover/venv/bin/python3 -m pip install "
                         "matplotlib)")
    pick = [r for r in migs if (r["n"] == n if n else r.get("label") == "roundtrip" and r["status"] == "completed")]
    if not pick:
        raise SystemExit("no migration %s in %s" % (n or "(completed round trip)", run))
    r = pick[0]
    samples, _ = read_taps(os.path.join(run, "taps.txt"))
    t0 = r["t0"]
    st = dict((s, t0 + t) for s, t in reversed(r["states"]))
    ev = [("migrate", t0, "k"), ("active (wait-unplug over)", st.get("active"), "tab:blue"),
          ("STOP", r.get("stop_t"), "tab:red"), ("RESUME", r["resume_t"], "tab:green"),
          ("~VF enslaved (guest log)", r.get("t_enslave"), "tab:purple"),
          ("stream on primary", r.get("t_pri"), "tab:orange")]
    if r.get("cancel_time") is not None:
        ev.append(("migrate_cancel", t0 + r["cancel_time"], "tab:gray"))
    if r.get("takeover_flaps"):
        ev.append(("primary for good", r.get("t_pri_end"), "tab:brown"))
    lo, hi = t0 - 1, min(r["until"], max(t for _, t, _ in ev if t) + 2)
    zc = r.get("stop_t") or t0
    windows = [(lo, hi), (zc - 0.5, zc + 1.5)]
    taps = [("tap-sb-" + r["from"], "source standby"), ("tap-pf-" + r["from"], "source primary"),
            ("tap-sb-" + r["to"], "dest. standby"), ("tap-pf-" + r["to"], "dest. primary")]
    fig, ax = plt.subplots(len(taps) + 1, 2, sharex="col", figsize=(15, 9),
                           gridspec_kw={"width_ratios": [3, 1]}, squeeze=False)
    lost = [t - t0 for t in r["lost_at"].get("p2g", []) if t is not None]
    lost_g = [t - t0 for t in r["lost_at"].get("g2p", []) if t is not None]
    # the whole migration in bins of at least 100 ms (the counts are
    # cumulative: every k-th sample sums k intervals), the zoom at the file's
    for c, ((a, b), k) in enumerate(zip(windows, (max(1, round(0.1 / dt)), 1))):
        rows = [x for x in samples if a - 1 <= x[0] <= b + 1][::k]
        for i, (tap, name) in enumerate(taps):
            j = migrig.TapSampler.TAPS.index(tap) + 1
            ax[i][c].step([y[0] - t0 for y in rows[1:]], [y[j] - x[j] for x, y in zip(rows, rows[1:])],
                          where="pre", lw=0.9)
            ax[i][0].set_ylabel("%s\n%s" % (name, tap), fontsize=8)
        bins = max(1, int(round((b - a) / (k * dt))))
        ax[-1][c].hist(lost, bins=bins, range=(a - t0, b - t0), color="tab:red", label="lost peer->guest")
        if lost_g:
            ax[-1][c].hist(lost_g, bins=bins, range=(a - t0, b - t0), color="tab:gray", label="lost guest->peer")
        ax[-1][c].set_xlim(a - t0, b - t0)
        ax[-1][c].set_xlabel("s after the migrate command" + (" (zoom)" if c else ""))
        ax[0][c].set_title("frames into each tap, lost datagrams: per %g ms" % (k * dt * 1000), fontsize=9)
        for i in range(len(taps) + 1):
            for name, t, col in ev:
                if t is not None:
                    ax[i][c].axvline(t - t0, color=col, lw=0.8, ls="--", label=name)
            if st.get("wait-unplug") and st.get("active"):
                ax[i][c].axvspan(st["wait-unplug"] - t0, st["active"] - t0, color="tab:blue", alpha=0.08)
            if r.get("stop_t") and r["resume_t"]:
                ax[i][c].axvspan(r["stop_t"] - t0, r["resume_t"] - t0, color="tab:red", alpha=0.2)
    ax[-1][0].set_ylabel("lost datagrams", fontsize=8)
    handles, names = ax[-1][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.965))
    fig.suptitle("%s, migration %d (%s, %s->%s); taps sampled every %g ms; shaded: wait-unplug, pause (STOP->RESUME)"
                 % (os.path.basename(os.path.normpath(run)), r["n"], r.get("label"), r["from"], r["to"], dt * 1000),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=100)
    print("# %s: migration %d of %s" % (path, r["n"], run))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--by-run", action="store_true", help="one column per run dir, not per module")
    ap.add_argument("--png", metavar="FILE", help="timeline of one migration of the first RUN_DIR")
    ap.add_argument("--migration", type=int, metavar="N", help="for --png (default: the first round trip)")
    a = ap.parse_args()
    cols, done = {}, []
    for run in a.runs:
        missing = [f for f in ("taps.txt", "mig-1.json") if not os.path.exists(os.path.join(run, f))]
        if missing:
            print("# %s: skipped, no %s" % (run, " ".join(missing)))
            continue
        title = module_of(run) + (" " + run.rstrip("/")[-11:] if a.by_run else "")
        done.append((run,) + analyse(run))
        cols.setdefault(title, []).append(done[-1])
    if not done:
        return 1
    report(list(cols.items()))
    if a.png:
        png(a.png, *done[0], a.migration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
