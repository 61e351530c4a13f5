#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Minimal QMP client: run one command against a QEMU QMP unix socket.

  qmp.py SOCK device_del ID [--wait-event DEVICE_DELETED] [--timeout S]
  qmp.py SOCK device_add DRIVER key=value ...
  qmp.py SOCK raw '{"execute": ...}'
  qmp.py SOCK hmp 'cpu 1' 'info lapic 1'   (HMP lines, one monitor session)
Prints the "return" member as JSON; exits 1 on a QMP error or time-out.
"""
import json
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 60.0
    wait_event = None
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    if "--wait-event" in args:
        i = args.index("--wait-event")
        wait_event = args[i + 1]
        del args[i:i + 2]
    sock_path, verb, rest = args[0], args[1], args[2:]
    if verb == "raw":
        cmd = json.loads(rest[0])
    elif verb == "device_del":
        cmd = {"execute": "device_del", "arguments": {"id": rest[0]}}
    elif verb == "device_add":
        props = {"driver": rest[0]}
        for kv in rest[1:]:
            k, v = kv.split("=", 1)
            # QMP is typed: integer and boolean properties (host_mtu,
            # failover) are refused as strings.
            if v.isdigit():
                v = int(v)
            elif v in ("on", "off"):
                v = v == "on"
            props[k] = v
        cmd = {"execute": "device_add", "arguments": props}
    elif verb == "hmp":
        cmd = None
    else:
        cmd = {"execute": verb}

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.settimeout(timeout)
    f = s.makefile("rw")
    deadline = time.monotonic() + timeout

    def read_msg():
        s.settimeout(max(0.1, deadline - time.monotonic()))
        line = f.readline()
        if not line:
            raise SystemExit("qmp: connection closed")
        return json.loads(line)

    read_msg()  # greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    while "return" not in read_msg():
        pass
    def execute(command):
        """Send one command; its "return" value, or None after printing the error."""
        f.write(json.dumps(command) + "\n")
        f.flush()
        while True:
            m = read_msg()
            if "error" in m:
                print(json.dumps(m["error"]))
                return None
            if "return" in m:
                return m["return"]

    if verb == "hmp":
        # "cpu N" selects the CPU for the following lines of this session only
        for line in rest:
            text = execute({"execute": "human-monitor-command",
                            "arguments": {"command-line": line}})
            if text is None:
                return 1
            print(text, end="")
        return 0
    result = execute(cmd)
    if result is None:
        return 1
    if wait_event:
        want_id = cmd.get("arguments", {}).get("id")
        while True:
            try:
                m = read_msg()
            except (socket.timeout, TimeoutError):
                print(f"qmp: no {wait_event} within {timeout}s")
                return 1
            if m.get("event") == wait_event and \
                    m.get("data", {}).get("device") in (None, want_id):
                break
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
