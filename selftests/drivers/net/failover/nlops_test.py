#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check nlops.py against ip(8) and ethtool(8) (root; host or guest).

  nlops_test.py            creates the network namespaces nf17test and
                           nf17test2, runs the checks inside nf17test
                           (ip netns exec), deletes both namespaces
  nlops_test.py --inner    the checks, in the current namespace

Every nlops operation is done on veth/bridge/macvlan devices (dummy and
VLAN where the kernel has them, else that check is skipped), then what
"ip -j -d link", "ip -j maddr", "ip -j addr" and ethtool report is
compared with what was asked; an operation the kernel refuses must fail
both ways (nlops status and errno name, the tool's non-zero exit). Prints
KTAP; exits 1 on any failure.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nlops  # noqa: E402

NS, NS2 = "nf17test", "nf17test2"
results = []


def sh(*cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def ipj(*args):
    st, out = sh("ip", "-j", *args)
    return json.loads(out) if st == 0 and out.strip() else []


def link(dev, *pre):
    got = ipj(*(pre + ("-d", "link", "show", "dev", dev)))
    return got[0] if got else None


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def skip(name, why):
    results.append((name, None, why))


def refused_both(name, res, cmd):
    """RES (nlops) and CMD (the tool) both fail."""
    rc, out = sh(*cmd)
    check(name, res[0] != 0 and res[1].startswith("E") and rc != 0,
          "nlops %s / %s: rc=%d %s" % (res, " ".join(cmd), rc, out.strip().splitlines()[-1:]))


def kind_available(kind, *args):
    st, _ = sh("ip", "link", "add", *(args + ("name", "nfprobe", "type", kind)))
    if st == 0:
        sh("ip", "link", "del", "nfprobe")
    return st == 0


def inner():
    sh("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
    sh("ip", "link", "add", "br0", "type", "bridge")
    idx = link("va")["ifindex"]

    # renames, MTU, flags, address
    res = nlops.link_set("va", name="vr")
    lk = link("vr")
    check("rename", res == (0, "") and lk and lk["ifindex"] == idx, (res, lk and lk["ifname"]))
    res = nlops.link_set("vr", mtu=1400)
    check("mtu", res == (0, "") and link("vr")["mtu"] == 1400, (res, link("vr")["mtu"]))
    res = nlops.link_set("vr", mtu=67)
    refused_both("mtu out of range", res, ("ip", "link", "set", "dev", "vr", "mtu", "67"))
    check("mtu refused has errno name", res[1].startswith("EINVAL"), res)
    _, out = sh("ip", "link", "set", "dev", "vr", "mtu", "67")
    msg = out.strip().splitlines()[-1].replace("Error: ", "").rstrip(".")
    check("mtu refused has the extack message of ip", msg and "(%s)" % msg in res[1], (res, msg))
    res = nlops.link_set("vr", up=True)
    check("up", res[0] == 0 and "UP" in link("vr")["flags"], (res, link("vr")["flags"]))
    res = nlops.link_set("vr", promisc=True)
    check("promisc on", res[0] == 0 and link("vr")["promiscuity"] == 1 and "PROMISC" in link("vr")["flags"],
          (res, link("vr")["promiscuity"]))
    res = nlops.link_set("vr", promisc=False)
    check("promisc off", res[0] == 0 and link("vr")["promiscuity"] == 0, (res, link("vr")["promiscuity"]))
    res = nlops.link_set("vr", allmulti=True)
    check("allmulti on", res[0] == 0 and "ALLMULTI" in link("vr")["flags"], (res, link("vr")["flags"]))
    res = nlops.link_set("vr", allmulti=False)
    check("allmulti off", res[0] == 0 and "ALLMULTI" not in link("vr")["flags"], (res, link("vr")["flags"]))
    res = nlops.link_set("vr", up=False)
    check("down", res[0] == 0 and "UP" not in link("vr")["flags"], (res, link("vr")["flags"]))
    res = nlops.link_set("vr", address="02:4e:53:01:02:03")
    check("address", res[0] == 0 and link("vr")["address"] == "02:4e:53:01:02:03", (res, link("vr")["address"]))
    res = nlops.link_set("vr", address="01:00:5e:00:00:01")
    refused_both("multicast address refused", res,
                 ("ip", "link", "set", "dev", "vr", "address", "01:00:5e:00:00:01"))
    res = nlops.link_set("nosuchdev", mtu=1500)
    check("no such device", res[0] == 19 and res[1].startswith("ENODEV"), res)
    res = nlops.link_set("vr", name="vb")
    refused_both("rename to a taken name", res, ("ip", "link", "set", "dev", "vr", "name", "vb"))
    nlops.link_set("vr", up=True)
    res = nlops.link_set("vr", name="va")
    if res[0] == 0:
        check("rename while up", link("va") is not None and link("vr") is None, res)
    else:
        refused_both("rename while up", res, ("ip", "link", "set", "dev", "vr", "name", "va"))
        nlops.link_set("vr", up=False)
        nlops.link_set("vr", name="va")

    # links: macvlan, vlan, dummy
    res = nlops.link_add("mv0", "macvlan", link="va", address="02:4e:53:00:00:09", macvlan_mode="bridge")
    lk = link("mv0")
    check("macvlan add", res == (0, "") and lk and lk["linkinfo"]["info_kind"] == "macvlan" and
          lk["linkinfo"]["info_data"]["mode"] == "bridge" and lk["link"] == "va" and
          lk["address"] == "02:4e:53:00:00:09", (res, lk and lk.get("linkinfo")))
    res = nlops.link_add("mv0", "macvlan", link="va", macvlan_mode="bridge")
    refused_both("macvlan add twice", res,
                 ("ip", "link", "add", "link", "va", "name", "mv0", "type", "macvlan"))
    check("macvlan add twice: EEXIST", res[1].startswith("EEXIST"), res)
    res = nlops.link_del("mv0")
    check("macvlan del", res == (0, "") and link("mv0") is None, res)
    res = nlops.link_del("mv0")
    check("del of a missing device", res[0] == 19, res)
    if kind_available("vlan", "link", "va", "id", "1"):
        res = nlops.link_add("vl7", "vlan", link="va", vlan_id=7)
        lk = link("vl7")
        check("vlan add", res == (0, "") and lk and lk["linkinfo"]["info_data"]["id"] == 7 and lk["link"] == "va",
              (res, lk and lk.get("linkinfo")))
        res = nlops.link_add("vl8", "vlan", link="va", vlan_id=4095)
        refused_both("vlan id 4095", res, ("ip", "link", "add", "link", "va", "name", "vl8", "type", "vlan",
                                           "id", "4095"))
        check("vlan del", nlops.link_del("vl7") == (0, "") and link("vl7") is None)
    else:
        res = nlops.link_add("vl7", "vlan", link="va", vlan_id=7)
        check("vlan add without 8021q: refused", res[0] != 0, res)
        nlops.link_del("vl7")
        skip("vlan add", "no 8021q in this kernel (%s)" % res[1])
    if kind_available("dummy"):
        res = nlops.link_add("nfimp0", "dummy", address="52:54:00:12:34:56")
        lk = link("nfimp0")
        check("dummy add", res == (0, "") and lk and lk["linkinfo"]["info_kind"] == "dummy" and
              lk["address"] == "52:54:00:12:34:56", (res, lk and lk.get("address")))
        check("dummy del", nlops.link_del("nfimp0") == (0, ""))
    else:
        res = nlops.link_add("nfimp0", "dummy", address="52:54:00:12:34:56")
        refused_both("dummy add without dummy", res, ("ip", "link", "add", "nfimp0", "type", "dummy"))
        skip("dummy add", "no dummy in this kernel (%s)" % res[1])

    # multicast addresses and IPv4 address
    maddrs = lambda: [a.get("link") for m in ipj("maddr", "show", "dev", "va") for a in m.get("maddr", [])]
    res = nlops.maddr("va", "01:00:5e:01:02:03")
    check("maddr add", res == (0, "") and "01:00:5e:01:02:03" in maddrs(), (res, maddrs()))
    res = nlops.maddr("va", "01:00:5e:01:02:03", add=False)
    check("maddr del", res == (0, "") and "01:00:5e:01:02:03" not in maddrs(), (res, maddrs()))
    res = nlops.maddr("va", "01:00:5e:01:02:03", add=False)
    refused_both("maddr del of a missing address", res, ("ip", "maddr", "del", "01:00:5e:01:02:03", "dev", "va"))
    addrs = lambda: [(a["local"], a["prefixlen"]) for i in ipj("addr", "show", "dev", "va")
                     for a in i["addr_info"] if a["family"] == "inet"]
    r1 = nlops.addr_replace("va", "192.0.2.2/24")
    r2 = nlops.addr_replace("va", "192.0.2.2/24")
    check("addr replace (twice)", r1 == r2 == (0, "") and addrs() == [("192.0.2.2", 24)], (r1, r2, addrs()))

    # netns moves: out by name, back from inside the other namespace
    res = nlops.link_set("vb", netns=NS2)
    there = link("vb", "-n", NS2)
    check("netns out", res == (0, "") and link("vb") is None and there is not None, (res, there and there["ifname"]))
    res = nlops.link_set("vb", ns=NS2, name="vb2")
    check("rename inside the other netns", res == (0, "") and link("vb2", "-n", NS2) is not None, res)
    res = nlops.link_set("vb2", ns=NS2, netns=NS)
    check("netns back", res == (0, "") and link("vb2") is not None, res)
    res = nlops.link_set("vb2", netns="nosuchns")
    check("netns that does not exist", res[0] == 2 and res[1].startswith("ENOENT"), res)

    # ethtool queries: same success/failure as ethtool(8), same values where
    # both print them
    for q in ["-i", "-k", "-S", "-g", "-l", "-c", "-a", "-P", "-T", "--show-priv-flags", "-m", ""]:
        for dev in ("va", "br0"):
            res = nlops.ethtool_query(dev, q)
            rc, out = sh(*(["ethtool"] + ([q] if q else []) + [dev]))
            ok = (res[0] == 0) == (rc == 0)
            if q == "-i" and res[0] == 0:
                ok = ok and ("driver: " + out.split("driver: ")[1].split()[0]) in res[1]
            if q == "-S" and res[0] == 0:
                n = len([ln for ln in out.splitlines()[1:] if ":" in ln])
                ok = ok and res[1].startswith("%d stats" % n)
            if q == "-P" and res[0] == 0:
                ok = ok and res[1].split()[-1] in out
            if q == "-k" and res[0] == 0:
                # every line of ethtool -k that names a feature string
                feats = nlops.ethtool_features(dev)
                seen = bad = 0
                for ln in out.splitlines()[1:]:
                    name, _, rest = ln.strip().partition(": ")
                    if name in feats:
                        seen += 1
                        bad += feats[name] != (rest.split()[0] == "on", "[fixed]" in rest)
                ok = ok and seen >= 20 and bad == 0
                res = (res[0], res[1] + " (%d compared, %d differ)" % (seen, bad))
            check("ethtool %s %s" % (q or "(link)", dev), ok,
                  "nlops %s / ethtool rc=%d %s" % (res, rc, out.strip().splitlines()[:1]))

    # ethtool settings
    for feat, text in (("gro", "generic-receive-offload"), ("tso", "tcp-segmentation-offload"),
                       ("sg", "scatter-gather"), ("rxvlan", "rx-vlan-offload")):
        for on in (False, True):
            res = nlops.ethtool_feature("va", feat, on)
            _, out = sh("ethtool", "-k", "va")
            line = [ln for ln in out.splitlines() if ln.startswith(text + ":")]
            state = line[0].split(":")[1].split()[0] if line else "?"
            fixed = "[fixed]" in (line[0] if line else "")
            want = "on" if on else "off"
            check("ethtool -K va %s %s" % (feat, want),
                  (res[0] == 0 and state == want) or (res[0] != 0 and fixed and state != want),
                  (res, line))
    res = nlops.ethtool_feature("va", "nosuchfeature", True)
    check("ethtool -K of an unknown feature", res[0] == 95, res)
    res = nlops.ethtool_rings("va", 256, 256)
    rc, out = sh("ethtool", "-G", "va", "rx", "256", "tx", "256")
    check("ethtool -G va (same outcome as ethtool)", (res[0] == 0) == (rc == 0), (res, rc, out.strip()))
    res = nlops.ethtool_link("va", speed=100, duplex="full", autoneg=False)
    rc, out = sh("ethtool", "-s", "va", "speed", "100", "duplex", "full", "autoneg", "off")
    check("ethtool -s va speed (same outcome as ethtool)", (res[0] == 0) == (rc == 0), (res, rc, out.strip()))
    res = nlops.ethtool_query("nosuchdev", "-i")
    check("ethtool on a missing device", res[0] == 19, res)

    print("TAP version 13")
    print("1..%d" % len(results))
    fail = 0
    for i, (name, ok, detail) in enumerate(results, 1):
        if ok is None:
            print("ok %d %s # SKIP %s" % (i, name, detail))
        elif ok:
            print("ok %d %s" % (i, name))
            print("#   %s" % (detail,)) if os.environ.get("V") else None
        else:
            fail += 1
            print("not ok %d %s" % (i, name))
            print("# %s" % (detail,))
    print("# %d checks, %d failed" % (len(results), fail))
    return 1 if fail else 0


def outer():
    for ns in (NS, NS2):
        sh("ip", "netns", "del", ns)
        st, out = sh("ip", "netns", "add", ns)
        if st:
            print("cannot create netns %s: %s" % (ns, out))
            return 4
    try:
        return subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__),
                               "--inner"]).returncode
    finally:
        for ns in (NS, NS2):
            sh("ip", "netns", "del", ns)


if __name__ == "__main__":
    sys.exit(inner() if sys.argv[1:] == ["--inner"] else outer())
