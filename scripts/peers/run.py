#!/usr/bin/env python3
"""Runs one benchmark command and records how it went, for scripts/bench_peers.sh.

Usage: run.py LOG RUN_JSON TIMEOUT_S -- COMMAND [ARG...]

COMMAND's stdout and stderr go to LOG; RUN_JSON gets {"rc", "wall_s", "peak_rss_mib",
"timed_out"}. The peak resident memory is the kernel's ru_maxrss of the finished process, the
figure `/usr/bin/time -v` prints as "Maximum resident set size". Exits with COMMAND's code.
"""
import json, os, subprocess, sys, time

log, out, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
assert sys.argv[4] == "--", "usage: run.py LOG RUN_JSON TIMEOUT_S -- COMMAND [ARG...]"
cmd = sys.argv[5:]
started = time.monotonic()
timed_out = False
with open(log, "wb") as f:
    try:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    except OSError as e:
        f.write(f"cannot start {cmd[0]}: {e}\n".encode())
        json.dump({"rc": 127, "wall_s": 0.0, "peak_rss_mib": None, "timed_out": False}, open(out, "w"))
        sys.exit(127)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            p.kill()
        time.sleep(0.05)
rc = os.waitstatus_to_exitcode(status)
res = {"rc": rc, "wall_s": round(time.monotonic() - started, 3),
       "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "timed_out": timed_out}
with open(out, "w") as f:
    json.dump(res, f)
sys.exit(rc if rc >= 0 else 128 - rc)
