#!/usr/bin/python3
"""How long the operator's short commands take through ./emperor: with the launcher's class
cache (an AOT cache on JDK 25+, a CDS archive on 21-24) and without it (EMPEROR_CLI_CACHE=off),
in turns, in the same run. A daemon (`emperor run`, one busybox tenant) answers `status`;
`check` validates the example vassals; `--help` starts and stops the JVM only. Prints the
median and p90 of --calls calls each, and the ratio cached/uncached. Root (the daemon).

    tests/bench/cli-latency [--calls 50]
"""
import argparse
import os
import statistics
import subprocess
import time

from benchlib import REPO, Emperor, table

LAUNCHER = os.path.join(REPO, "emperor")


def timed(argv, cache):
    env = dict(os.environ, EMPEROR_CLI_CACHE="on" if cache else "off")
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    emperor = Emperor()
    try:
        with open(os.path.join(emperor.vassals, "web.ini"), "w") as f:
            f.write("[vassal]\ndistro = busybox\nexec = sleep 100000\n")
        commands = {
            "status": [LAUNCHER, "status", "-c", emperor.config],
            "status NAME": [LAUNCHER, "status", "-c", emperor.config, "web"],
            "check": [LAUNCHER, "check", "-c", emperor.config] + [os.path.join(REPO, "vassals", "examples", f)
                                                                   for f in sorted(os.listdir(os.path.join(REPO, "vassals", "examples")))],
            "--help": [LAUNCHER, "--help"],
        }
        for argv in commands.values():  # the first cached call makes the cache
            timed(argv, True)
            timed(argv, False)
        rows = []
        for name, argv in commands.items():
            times = {True: [], False: []}
            for _ in range(args.calls):
                for cache in (False, True):
                    times[cache].append(timed(argv, cache))
            stats = {c: (statistics.median(t), statistics.quantiles(t, n=10)[-1]) for c, t in times.items()}
            rows.append([name, "%.0f" % stats[False][0], "%.0f" % stats[False][1], "%.0f" % stats[True][0],
                         "%.0f" % stats[True][1], "%.2f" % (stats[True][0] / stats[False][0])])
        print("\n./emperor COMMAND, %d calls each, ms (EMPEROR_CLI_CACHE=off vs on, in turns)" % args.calls)
        table(["command", "off median", "off p90", "on median", "on p90", "on/off"], rows)
    finally:
        emperor.close()


if __name__ == "__main__":
    main()
