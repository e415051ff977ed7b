#!/usr/bin/python3
"""The cost of one jail: Emperor's jail API vs bubblewrap vs unshare(1), each running /bin/true
with fresh pid/mount/net/ipc/uts namespaces, medians of N runs; and the helper's (pid 1's)
RSS per tenant, median over 50 sleeping tenants of a real Emperor daemon.

Emperor's number includes what the others do not: a cgroup with limits, the seccomp filter,
the privilege drop and a pidfd reap. bwrap mounts what it is told (the busybox root
read-only, /proc, /dev, /tmp); unshare mounts nothing.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

from benchlib import DISTROS, REPO, Emperor, java, rss_kb, table, CLASSPATH


def hyperfine_median_us(command, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "--style", "none", "--warmup", "20", "--runs", str(runs),
                        "--export-json", out.name, command], check=True, stdout=subprocess.DEVNULL)
        result = json.load(open(out.name))["results"][0]
        return result["median"] * 1e6


def emperor_jail_us(root, runs):
    classpath = os.path.join(REPO, "tests", "target", "test-classes") + ":" + CLASSPATH
    out = subprocess.run(java("dev.emperor.tests.bench.SpawnBenchmark", root, str(runs), classpath=classpath),
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    print(out.strip())
    line = [l for l in out.splitlines() if l.startswith("RESULT ")][0]
    fields = dict(kv.split("=") for kv in line.split()[1:])
    return float(fields["spawn_to_exit_us"]), float(fields["cycle_us"])


def helper_rss_kb(tenants):
    emperor = Emperor()
    try:
        for i in range(tenants):
            path = os.path.join(emperor.vassals, "r%02d.ini" % i)
            with open(path + ".tmp", "w") as f:
                f.write("[vassal]\ndistro = busybox\nexec = sleep 100000\n")
            os.rename(path + ".tmp", path)
        deadline = time.time() + 120
        while True:
            status = emperor.status()
            running = [v for v in status if v["state"] == "running" and v["pid"] > 0]
            if len(running) == tenants:
                break
            if time.time() > deadline:
                raise SystemExit("only %d of %d tenants running" % (len(running), tenants))
            time.sleep(1)
        time.sleep(2)
        helper = [rss_kb(v["pid"]) for v in running]
        return statistics.median(helper), rss_kb(emperor.pid)
    finally:
        emperor.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--tenants", type=int, default=50)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    root = os.path.join(DISTROS, "busybox")

    spawn_us, cycle_us = emperor_jail_us(root, args.runs)
    bwrap_us = hyperfine_median_us("bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --ro-bind %s / "
                                   "--proc /proc --dev /dev --tmpfs /tmp /bin/true" % root, args.runs)
    unshare_us = hyperfine_median_us("unshare --pid --fork --mount --net --ipc --uts /bin/true", args.runs)
    helper_kb, emperor_kb = helper_rss_kb(args.tenants)

    print()
    table(["/bin/true in a fresh jail, median of %d" % args.runs, "microseconds", "vs bwrap"], [
        ["Emperor jail API: spawn -> exit reaped", "%.0f" % spawn_us, "%.2fx" % (spawn_us / bwrap_us)],
        ["Emperor jail API: + cgroup removal", "%.0f" % cycle_us, "%.2fx" % (cycle_us / bwrap_us)],
        ["bwrap (ro root, proc, dev, tmpfs)", "%.0f" % bwrap_us, "1.00x"],
        ["unshare --pid --fork --mount --net --ipc --uts", "%.0f" % unshare_us, "%.2fx" % (unshare_us / bwrap_us)],
    ])
    print()
    table(["memory, %d sleeping busybox tenants" % args.tenants, "KiB"], [
        ["helper (tenant pid 1) VmRSS, median", "%.0f" % helper_kb],
        ["emperor JVM VmRSS", "%d" % emperor_kb],
    ])


if __name__ == "__main__":
    main()
