#!/usr/bin/python3
"""Emperor vs the uWSGI Emperor: time from a vassal file appearing to its payload running,
for 1 vassal (several trials) and for a burst of N vassals, and each emperor's own RSS with 0
and with N vassals. Run through ./emperor-vs-uwsgi (it builds nothing: run `./mvnw package` first).

The payload writes the realtime clock (date +%s%N) to a file; the driver takes the clock just
before it renames the vassal file into place, so "latency" = payload's clock - rename time.
Emperor's tenants run on the bookworm test distro (its `date` has %N); the uWSGI vassals use
`hook-as-user = exec:date ...`, which runs in the vassal after it dropped privileges, inside
the namespaces asked for with --emperor-use-clone.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

from benchlib import Emperor, descendants, rss_kb, table, write_temp


def wait_stamps(files, timeout):
    """{name: path} -> {name: int stamp}; fails after timeout with the missing names."""
    pending = dict(files)
    stamps = {}
    deadline = time.time() + timeout
    while pending:
        for name, path in list(pending.items()):
            try:
                with open(path) as f:
                    text = f.read().strip()
                if text:
                    stamps[name] = int(text)
                    del pending[name]
            except (OSError, ValueError):
                pass
        if pending:
            if time.time() > deadline:
                raise SystemExit("timed out waiting for %d payloads, e.g. %s" % (len(pending), sorted(pending)[:5]))
            time.sleep(0.01)
    return stamps


def measure(vassals_dir, vassal_text, stamp_path, ext, trials, burst, emperor_pid, settle):
    """Runs the single-vassal trials and the burst against one emperor; returns the numbers."""
    single = []
    for i in range(trials):
        name = "s%02d" % i
        final = os.path.join(vassals_dir, name + ext)
        tmp = write_temp(final, vassal_text(name))
        t0 = time.time_ns()
        os.rename(tmp, final)
        stamp = wait_stamps({name: stamp_path(name)}, 60)[name]
        single.append((stamp - t0) / 1e6)
        os.unlink(final)
        time.sleep(0.5)
    time.sleep(settle)
    rss0 = rss_kb(emperor_pid)

    names = ["b%03d" % i for i in range(burst)]
    tmps = {n: write_temp(os.path.join(vassals_dir, n + ext), vassal_text(n)) for n in names}
    t0s = {}
    for n in names:
        t0s[n] = time.time_ns()
        os.rename(tmps[n], os.path.join(vassals_dir, n + ext))
    stamps = wait_stamps({n: stamp_path(n) for n in names}, 240)
    lat = sorted((stamps[n] - t0s[n]) / 1e6 for n in names)
    total = (max(stamps.values()) - min(t0s.values())) / 1e6
    time.sleep(settle)
    rss_n = rss_kb(emperor_pid)
    return {
        "single_median_ms": statistics.median(single),
        "single_all_ms": single,
        "burst_median_ms": statistics.median(lat),
        "burst_p90_ms": lat[int(len(lat) * 0.9) - 1],
        "burst_total_ms": total,
        "rss0_kb": rss0,
        "rssN_kb": rss_n,
    }


def run_emperor(args):
    emperor = Emperor(keep=args.keep)
    try:
        def vassal(name):
            return ("[vassal]\ndistro = bookworm\n"
                    "exec = sh -c \"date +%s%N > /run/started; exec sleep 100000\"\n")

        return measure(emperor.vassals, vassal, lambda name: os.path.join(emperor.run_dir(name), "started"),
                       ".ini", args.trials, args.n, emperor.pid, args.settle)
    finally:
        emperor.close()


def run_uwsgi(args):
    root = tempfile.mkdtemp(prefix="uwsgi-bench-", dir="/tmp")
    os.chmod(root, 0o755)  # the vassals run as nobody
    vassals = os.path.join(root, "vassals")
    for d in ("vassals", "out", "sock"):
        os.makedirs(os.path.join(root, d))
    for d in ("out", "sock"):
        os.chmod(os.path.join(root, d), 0o777)
    log = open(os.path.join(root, "uwsgi.log"), "w")
    emperor = subprocess.Popen(["uwsgi", "--emperor", vassals, "--emperor-use-clone", "fs,ipc,uts,net,pid",
                                "--emperor-freq", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        time.sleep(1)

        def vassal(name):
            # uWSGI ini: %n is the vassal's name, %% a literal percent sign
            return ("[uwsgi]\nuid = 65534\ngid = 65534\nsocket = %s/sock/%%n.sock\n"
                    "hook-as-user = exec:date +%%%%s%%%%N > %s/out/%%n\n" % (root, root))

        def stamp(name):
            return os.path.join(root, "out", name)

        result = measure(vassals, vassal, stamp, ".ini", args.trials, args.n, emperor.pid, args.settle)
    finally:
        tree = descendants(emperor.pid)
        emperor.send_signal(signal.SIGINT)  # the uWSGI Emperor's "stop everything"
        try:
            emperor.wait(120)
        except subprocess.TimeoutExpired:
            emperor.kill()
        time.sleep(2)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=500, help="vassals in the burst (default 500)")
    p.add_argument("--trials", type=int, default=10, help="single-vassal trials (default 10)")
    p.add_argument("--settle", type=float, default=5, help="seconds to wait before reading RSS")
    p.add_argument("--keep", action="store_true", help="keep the temporary roots")
    p.add_argument("--only", choices=["emperor", "uwsgi"])
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (namespaces, cgroups)")
    results = {}
    if args.only != "uwsgi":
        results["Emperor"] = run_emperor(args)
    if args.only != "emperor":
        results["uWSGI Emperor"] = run_uwsgi(args)
    rows = [
        ("1 vassal: file -> payload, median (ms)", "single_median_ms"),
        ("%d vassals: file -> payload, median (ms)" % args.n, "burst_median_ms"),
        ("%d vassals: file -> payload, p90 (ms)" % args.n, "burst_p90_ms"),
        ("%d vassals: first file -> last payload (ms)" % args.n, "burst_total_ms"),
        ("emperor RSS, 0 vassals (MiB)", "rss0_kb"),
        ("emperor RSS, %d vassals (MiB)" % args.n, "rssN_kb"),
    ]
    names = list(results)
    lines = []
    for label, key in rows:
        vals = [results[n][key] / (1024 if key.startswith("rss") else 1) for n in names]
        line = [label] + ["%.1f" % v for v in vals]
        if len(vals) == 2:
            line.append("%.2fx" % (vals[0] / vals[1]) if vals[1] else "-")
        lines.append(line)
    print()
    table([""] + names + (["Emperor/uWSGI"] if len(names) == 2 else []), lines)
    for n in names:
        print("%s single trials (ms): %s" % (n, ", ".join("%.0f" % v for v in results[n]["single_all_ms"])))
    print("(uWSGI scans its vassal directory every --emperor-freq = 1 s, the minimum; Emperor uses inotify)")


if __name__ == "__main__":
    main()
