#!/usr/bin/python3
"""The front proxy's noisy-neighbour numbers: one tenant's visitors alone, then while another
client floods.

The proxy (NoisyNeighbourProxy from the proxy module's test classes, with the daemon's JVM
flags) serves two tenants, victim.test and neighbour.test (512 connections each, the vassal
default; the proxy's default per-client limits), both forwarding to one nginx backend on a
unix socket (a 13-byte file). The victim's visitors are wrk from 127.0.0.2, keep-alive
connections asking victim.test. The neighbour, from 127.0.0.3, at the same time:
  - opens --hold keep-alive connections to victim.test, one request each, and keeps them all
    open (the attack that used to take all 512 of a site's places: 503 for everyone else),
  - floods neighbour.test with wrk (--flood-connections keep-alive connections, no pause).
wrk cannot choose its source address: an LD_PRELOAD shim (bindsrc.c, built here) binds its
sockets to the address first. Each phase runs --runs times in turn (alone, next to a
CPU-only neighbour, with the neighbour, alone, ...): the CPU-only neighbour (one busy shell
loop, as the flood's own wrk keeps one CPU busy) shows what the machine's CPU alone costs
the victim, so with/CPU-only is what the proxy's sharing costs it beyond that; the table shows the medians and the ratios with/alone. No timing is
asserted anywhere: these are numbers to read, on a machine that may be busy.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import DAEMON_GC_FLAGS, table, unsafe_flags
from proxy_vs_nginx_haproxy import Processes, free_port, start_backend, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
PROXY_TARGET = os.path.join(REPO, "proxy", "target")
JVM_FLAGS = DAEMON_GC_FLAGS + ["-Dio.netty.leakDetection.level=disabled"] + unsafe_flags(JAVA_HOME)
VICTIM, NEIGHBOUR = "127.0.0.2", "127.0.0.3"


def unit_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_from(source, shim, port, host, threads, connections, duration):
    """wrk from SOURCE: (req/s, p99 ms, non-2xx, socket errors)."""
    env = dict(os.environ, LD_PRELOAD=shim, BIND_SOURCE=source)
    argv = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency",
            "-H", "Host: " + host, "http://127.0.0.1:%d/small" % port]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = unit_ms(*re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)\b", out).groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0, errors.group(1) if errors else ""


def hold(source, port, host, count):
    """COUNT keep-alive connections from SOURCE, one request each, kept open; returns them and what they got."""
    held, outcomes = [], {}
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            s.sendall(("GET /small HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
            reply = s.recv(4096)
            status = reply.split(b" ")[1].decode() if reply else "closed at accept"
        except OSError as e:
            status = "error " + type(e).__name__
        outcomes[status] = outcomes.get(status, 0) + 1
        held.append(s)
    return held, outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="measurements per phase (median shown)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of victim load before measuring (JIT)")
    parser.add_argument("--connections", type=int, default=32, help="the victim's wrk connections")
    parser.add_argument("--flood-connections", type=int, default=64, help="the neighbour's wrk connections")
    parser.add_argument("--hold", type=int, default=512, help="idle keep-alive connections the neighbour tries to hold")
    parser.add_argument("--loops", type=int, default=2, help="the proxy's event loops")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        raise SystemExit("run as root")

    work = tempfile.mkdtemp(prefix="emperor-noisybench-", dir="/tmp")
    os.chmod(work, 0o755)  # nginx workers (www-data) read the files and the socket
    procs = Processes(work)
    try:
        shim = os.path.join(work, "bindsrc.so")
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(HERE, "bindsrc.c"), "-ldl"],
                       check=True)
        sock = os.path.join(work, "backend.sock")
        start_backend(procs, work, free_port(), sock, None)
        port = free_port()
        classpath = ":".join([os.path.join(PROXY_TARGET, "classes"), os.path.join(PROXY_TARGET, "test-classes"),
                              open(os.path.join(PROXY_TARGET, "bench.classpath")).read().strip()])
        proxy = procs.start("proxy", [os.path.join(JAVA_HOME, "bin", "java"), "--enable-native-access=ALL-UNNAMED"]
                            + JVM_FLAGS + ["-cp", classpath, "dev.emperor.proxy.bench.NoisyNeighbourProxy",
                                           str(port), str(args.loops), "unix:" + sock, work])
        wait_port(port, proxy, "proxy")

        print("warming up (%d s)..." % args.warmup, file=sys.stderr)
        wrk_from(VICTIM, shim, port, "victim.test", 1, args.connections, args.warmup)
        wrk_from(NEIGHBOUR, shim, port, "neighbour.test", 1, args.flood_connections, max(1, args.warmup // 2))

        alone, busy, crowded, floods, holds = [], [], [], [], []
        for run in range(args.runs):
            alone.append(wrk_from(VICTIM, shim, port, "victim.test", 1, args.connections, args.duration))
            # the control: a neighbour that only keeps one CPU busy, as the flood's own wrk does
            spinner = subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"])
            try:
                busy.append(wrk_from(VICTIM, shim, port, "victim.test", 1, args.connections, args.duration))
            finally:
                spinner.kill()
                spinner.wait()
            held, outcomes = hold(NEIGHBOUR, port, "victim.test", args.hold)
            holds.append(outcomes)
            env = dict(os.environ, LD_PRELOAD=shim, BIND_SOURCE=NEIGHBOUR)
            flood = subprocess.Popen(["wrk", "-t1", "-c%d" % args.flood_connections, "-d%ds" % (args.duration + 4),
                                      "-H", "Host: neighbour.test", "http://127.0.0.1:%d/small" % port],
                                     stdout=subprocess.PIPE, text=True, env=env)
            time.sleep(2)  # the flood is under way before the victim is measured
            crowded.append(wrk_from(VICTIM, shim, port, "victim.test", 1, args.connections, args.duration))
            out = flood.communicate()[0]
            floods.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))
            for s in held:
                s.close()
            time.sleep(1)

        def med(rows, i):
            return statistics.median(r[i] for r in rows)

        print("\nvictim: wrk -t1 -c%d from %s to victim.test, %d s x %d runs (medians)"
              % (args.connections, VICTIM, args.duration, args.runs))
        print("neighbour from %s: holds %d keep-alive connections to victim.test (got: %s),"
              " floods neighbour.test with wrk -t1 -c%d (%.0f req/s median)\n"
              % (NEIGHBOUR, args.hold, holds[-1], args.flood_connections, statistics.median(floods)))
        rows = [["alone", "%.0f" % med(alone, 0), "%.2f" % med(alone, 1), sum(r[2] for r in alone),
                 "; ".join(r[3] for r in alone if r[3]) or "-"],
                ["with a CPU-only neighbour", "%.0f" % med(busy, 0), "%.2f" % med(busy, 1), sum(r[2] for r in busy),
                 "; ".join(r[3] for r in busy if r[3]) or "-"],
                ["with the neighbour", "%.0f" % med(crowded, 0), "%.2f" % med(crowded, 1), sum(r[2] for r in crowded),
                 "; ".join(r[3] for r in crowded if r[3]) or "-"],
                ["ratio with/alone", "%.2f" % (med(crowded, 0) / med(alone, 0)),
                 "%.2f" % (med(crowded, 1) / med(alone, 1)), "", ""],
                ["ratio with/CPU-only", "%.2f" % (med(crowded, 0) / med(busy, 0)),
                 "%.2f" % (med(crowded, 1) / med(busy, 1)), "", ""]]
        table(["victim", "req/s", "p99 ms", "non-2xx", "socket errors"], rows)
        print("\nper run: alone %s; with the neighbour %s" % (
            ["%.0f req/s p99 %.2f ms" % (r[0], r[1]) for r in alone],
            ["%.0f req/s p99 %.2f ms" % (r[0], r[1]) for r in crowded]))
    finally:
        procs.stop_all()
        with open(os.path.join(work, "proxy.out")) as f:
            counts = [line.strip() for line in f if line.startswith("counts ")]
        if counts:
            print("proxy " + counts[-1])
        if not args.keep:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
