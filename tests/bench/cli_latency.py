#!/usr/bin/python3
"""How long the operator's short commands take through ./emperor, three ways in turns in the
same run: the JVM CLI without the launcher's class cache (EMPEROR_NATIVE_CLI=off
EMPEROR_CLI_CACHE=off), the JVM CLI with it (an AOT cache on JDK 25+, a CDS archive on
21-24), and the native client emperor-ctl (the launcher's default for status, start, stop,
reload, logs and check). A daemon (`emperor run`, one busybox tenant) answers `status`;
`check` validates the example vassals; `--help` starts and stops the JVM only (the native
client hands it over: its cost is the hand-over). Prints the median and p90 of --calls calls
each. Root (the daemon).

    tests/bench/cli-latency [--calls 50]
"""
import argparse
import os
import statistics
import subprocess
import time

from benchlib import REPO, Emperor, table

LAUNCHER = os.path.join(REPO, "emperor")


MODES = {  # the environment of each way of running a command
    "jvm": {"EMPEROR_NATIVE_CLI": "off", "EMPEROR_CLI_CACHE": "off"},
    "jvm+cache": {"EMPEROR_NATIVE_CLI": "off", "EMPEROR_CLI_CACHE": "on"},
    "native": {"EMPEROR_NATIVE_CLI": "on", "EMPEROR_CLI_CACHE": "on"},
}


def run(argv, mode):
    env = dict(os.environ, **MODES[mode])
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)


def timed(argv, mode):
    start = time.perf_counter()
    run(argv, mode)
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
        for name, argv in commands.items():  # the first cached call makes the cache
            outputs = {mode: run(argv, mode) for mode in MODES}
            # (status shows the tenant's uptime, which moves between calls: tests/NativeCliTest compares it)
            if name in ("check", "--help") and len({(r.stdout, r.stderr) for r in outputs.values()}) != 1:
                raise SystemExit("%s: the three ways print different things: %r" % (name, outputs))
        rows = []
        for name, argv in commands.items():
            times = {mode: [] for mode in MODES}
            for _ in range(args.calls):
                for mode in MODES:
                    times[mode].append(timed(argv, mode))
            row = [name]
            for mode in MODES:
                row += ["%.0f" % statistics.median(times[mode]), "%.0f" % statistics.quantiles(times[mode], n=10)[-1]]
            rows.append(row)
        print("\n./emperor COMMAND, %d calls each, ms (JVM without and with the class cache, native client; in turns)"
              % args.calls)
        table(["command", "jvm median", "jvm p90", "jvm+cache median", "jvm+cache p90", "native median", "native p90"], rows)
    finally:
        emperor.close()


if __name__ == "__main__":
    main()
