#!/usr/bin/env python3
"""The tun router's noisy neighbour: what a tenant keeps of its throughput and round-trip time
while another tenant floods UDP at full speed through the same PacketPump.

Two tenant namespaces (victim, flooder) behind one pump (NoisyNeighbourMain), the gateway tun in
the host namespace. Per repeat and victim workload, in turns: the victim alone, next to a
CPU-only neighbour (one busy shell loop in the other namespace: the control, since the flood's
own sender keeps a CPU busy too), and while the neighbour runs `iperf3 -u -b 0 -l 1400` to a
sink on the gateway. The victim measures iperf3 TCP victim -> gateway and a UDP ping-pong (64
bytes, one in flight) to an echo on the gateway: median and p99. Two workloads: `normal`, the
victim offering --victim-rate (1 Gbit/s: a tenant filling a 1 Gbit/s uplink, well within a fair
share of the pump), and `greedy`, the victim sending as fast as it can. Medians over the
repeats; flood/alone is what the flood costs the victim, flood/cpu what it costs beyond the
neighbour's own CPU use.

    tests/bench/router-noisy-neighbour [--seconds 5] [--repeat 3] [--rtt-count 2000]
        [--victim-rate 1G] [--workloads normal,greedy] [--flooder-rate BYTES_PER_S]

Everything it makes (namespaces, tuns, processes) carries a random id and is removed on exit;
processes are stopped by pid. Traffic stays between the namespaces it made and the gateway tun.

Results on this 2-core machine, quiet (load < 2), `--seconds 5 --repeat 5`, medians of 5:

  victim normal (1 Gbit/s)              TCP flood/alone   RTT median      RTT p99
  DRR over pump time, rounds            1.00              2.32x           8.41x
  + sparse tenants first, one turn      1.00              0.92x           1.79x
    per pass (now)
  victim greedy (14-16 Gbit/s alone)    0.44 (0.59 of what it keeps next to a CPU-only neighbour)

Earlier (load 12 to 21): the old pump (frame bursts of 64 per ready tenant) had the victim's
median round trip at 13.5x and 11.4x; `net-rate` 10 MiB/s on the flooder gave a greedy victim
its whole speed back (1.23, noise). A pump thread at nice -10 was tried and dropped: it starved
the processes on its core until the scheduler tick (p99 4.0-4.9 ms against 0.3-3 ms).

Why the greedy victim keeps less than 0.80: alone it uses the whole machine (its iperf3 pair
and the pump on 2 cores); a neighbour that only spins one CPU already takes a third of that
(the +cpu column), and a flooder that also wants the whole pump gets its fair half of the pump
on top. A fair share cannot be more; `net-rate` is the operator's tool for more.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.path.join(REPO, "tunrouter")
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
CLASSPATH_FILE = os.environ.get("TUNROUTER_CP", "/tmp/tunrouter-bench-cp.txt")

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""
# COUNT round trips after a warm-up, one datagram in flight; prints median and p99 in us and the losses.
UDP_PING = """
import socket, statistics, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((host, port))
payload = b"x" * 64
rtts, lost = [], 0
for i in range(count + 200):
    start = time.perf_counter_ns()
    s.send(payload)
    try:
        s.recv(2048)
    except socket.timeout:
        lost += 1
        continue
    if i >= 200:
        rtts.append((time.perf_counter_ns() - start) / 1000)
    time.sleep(0.0005)
rtts.sort()
print("%.1f %.1f %d" % (statistics.median(rtts), rtts[int(len(rtts) * 0.99) - 1], lost))
"""


def run(command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


class Bench:
    def __init__(self, args):
        self.args = args
        self.id = "%04x" % random.randrange(1 << 16)
        self.octet = random.randrange(1, 250)
        # not /tmp: on a shared machine something may clean it while the bench runs
        self.tmp = tempfile.mkdtemp(prefix="emperor-bench-%s-" % self.id, dir="/var/tmp")
        self.processes = []
        self.victim = "emperor-bench-%s-v" % self.id
        self.flooder = "emperor-bench-%s-f" % self.id
        self.gateway = "emp-n-%sg" % self.id
        self.gateway_address = "10.217.%d.1" % self.octet
        self.namespaces = []

    def start(self, command, log_name):
        log = open(os.path.join(self.tmp, log_name), "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def log(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, process):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def setup(self):
        for ns in (self.victim, self.flooder):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        with open(CLASSPATH_FILE) as f:
            classpath = "%s/target/test-classes:%s/target/classes:%s" % (MODULE, MODULE, f.read().strip())
        command = [JAVA_HOME + "/bin/java", "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                   "dev.emperor.tunrouter.bench.NoisyNeighbourMain", "/run/netns/" + self.victim,
                   "/run/netns/" + self.flooder, self.gateway, "10.217.%d.0/24" % self.octet]
        if self.args.flooder_rate:
            command.append(str(self.args.flooder_rate))
        self.pump = self.start(command, "pump.log")
        deadline = time.time() + 30
        while "ready" not in self.log("pump.log") and self.pump.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if "ready" not in self.log("pump.log"):
            raise SystemExit("the pump did not start:\n" + self.log("pump.log"))
        self.start([sys.executable, "-c", UDP_ECHO, self.gateway_address, "15301"], "echo.log")
        # the flood's sink: an iperf3 server that takes datagrams for as long as the bench runs
        self.start(["iperf3", "-s", "-B", self.gateway_address, "-p", "15302"], "sink.log")
        time.sleep(0.5)

    def cleanup(self):
        for process in reversed(self.processes):
            self.stop(process)
        if os.path.exists(os.path.join(self.tmp, "pump.log")):
            print("".join(l for l in open(os.path.join(self.tmp, "pump.log")) if "counters" in l), end="")
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "link", "del", self.gateway], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
        leftovers = [l for l in run(["ip", "-o", "link", "show"]).splitlines() + run(["ip", "netns", "list"]).splitlines()
                     if self.id in l]
        if leftovers:
            print("left over after clean-up:", *leftovers, sep="\n  ", file=sys.stderr)

    def in_victim(self, command):
        return ["ip", "netns", "exec", self.victim] + command

    def throughput(self, rate):
        server = self.start(["iperf3", "-s", "-1", "-B", self.gateway_address, "-p", "15303"], "iperf3.log")
        time.sleep(0.3)
        command = ["iperf3", "-c", self.gateway_address, "-p", "15303", "-t", str(self.args.seconds), "-J"]
        if rate:
            command += ["-b", rate]
        try:
            result = subprocess.run(self.in_victim(command), capture_output=True, text=True,
                                    timeout=self.args.seconds + 30)
            return json.loads(result.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        except (subprocess.TimeoutExpired, ValueError, KeyError):
            print("victim iperf3 failed; counted as 0")
            return 0.0
        finally:
            self.stop(server)

    def rtt(self):
        out = subprocess.run(self.in_victim([sys.executable, "-c", UDP_PING, self.gateway_address, "15301",
                                             str(self.args.rtt_count)]),
                             capture_output=True, text=True, timeout=600).stdout.split()
        return float(out[0]), float(out[1]), int(out[2])

    def neighbour(self, kind):
        """Starts the other tenant's load: nothing, one busy CPU thread, or a UDP flood."""
        if kind == "cpu":
            # the control: what a neighbour that only burns a CPU costs the victim on this machine
            return self.start(["ip", "netns", "exec", self.flooder, "/bin/sh", "-c", "while :; do :; done"], "cpu.log")
        if kind == "flood":
            # long enough for both measurements; stopped right after them
            return self.start(["ip", "netns", "exec", self.flooder, "iperf3", "-u", "-b", "0", "-l", "1400",
                               "-c", self.gateway_address, "-p", "15302", "-t", "600"], "flooder.log")
        return None

    def measure(self, rate, kind):
        neighbour = self.neighbour(kind)
        if neighbour is not None:
            time.sleep(1)
        try:
            gbps = self.throughput(rate)
            median, p99, lost = self.rtt()
        finally:
            if neighbour is not None:
                self.stop(neighbour)
                time.sleep(1)  # the sink server takes the next client only once this one is gone
        return gbps, median, p99, lost


NEIGHBOURS = ("alone", "cpu", "flood")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtt-count", type=int, default=2000)
    parser.add_argument("--victim-rate", default="1G",
                        help="iperf3 -b for the victim's normal workload (default 1G: a tenant filling a 1 Gbit/s uplink)")
    parser.add_argument("--workloads", default="normal,greedy",
                        help="which victim workloads: normal (at --victim-rate), greedy (as fast as it can)")
    parser.add_argument("--flooder-rate", type=int, default=0, help="the flooder's net-rate in bytes/s (default: none)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    workloads = [(w, args.victim_rate if w == "normal" else "") for w in args.workloads.split(",")]
    for name, _ in workloads:
        if name not in ("normal", "greedy"):
            raise SystemExit("--workloads: %r is neither normal nor greedy" % name)
    bench = Bench(args)
    results = {(w, n): [] for w, _ in workloads for n in NEIGHBOURS}
    try:
        bench.setup()
        for i in range(args.repeat):
            for name, rate in workloads:
                for kind in NEIGHBOURS:
                    r = bench.measure(rate, kind)
                    results[(name, kind)].append(r)
                    print("repeat %d %-6s %-5s %6.2f Gbit/s  rtt median %7.1f us  p99 %8.1f us  lost %d"
                          % (i + 1, name, kind, *r), flush=True)
    finally:
        bench.cleanup()
    print()
    for name, rate in workloads:
        m = {n: [statistics.median(x[k] for x in results[(name, n)]) for k in range(3)] for n in NEIGHBOURS}
        print("victim %s (%s), medians of %d" % (name, "offers " + rate + "bit/s" if rate else "as fast as it can",
                                                   args.repeat))
        print("                      alone  +cpu  +flood   flood/alone  flood/cpu")
        print("TCP Gbit/s           %6.2f %6.2f %6.2f    %6.2f      %6.2f"
              % (m["alone"][0], m["cpu"][0], m["flood"][0], m["flood"][0] / m["alone"][0], m["flood"][0] / m["cpu"][0]))
        print("RTT median us        %6.1f %6.1f %6.1f    %6.2fx     %6.2fx"
              % (m["alone"][1], m["cpu"][1], m["flood"][1], m["flood"][1] / m["alone"][1], m["flood"][1] / m["cpu"][1]))
        print("RTT p99 us           %6.1f %6.1f %6.1f    %6.2fx     %6.2fx"
              % (m["alone"][2], m["cpu"][2], m["flood"][2], m["flood"][2] / m["alone"][2], m["flood"][2] / m["cpu"][2]))
        print()
    print("goal (issue 14): throughput flood/alone >= 0.80 and RTT <= 2x for a victim within its fair share (normal);")
    print("a greedy victim that wants the whole machine can keep only what the neighbour's own CPU use leaves it:")
    print("flood/cpu is what the router costs it beyond that.")


if __name__ == "__main__":
    main()
