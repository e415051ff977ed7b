#!/usr/bin/env python3
"""TCP throughput and round-trip time through three paths, side by side in one run:

  veth     a plain veth pair between two namespaces (the kernel baseline);
  emperor  tenant tun0 <-> PacketPump (Router, checksums verified, no operator rules) <-> gateway
           tun in the host namespace, both tuns with IFF_VNET_HDR and offloads (PumpBenchmarkMain);
  uwsgi    uWSGI's tuntap router (--tuntap-router in the host namespace, a tenant instance with
           --tuntap-device tun0 in its own namespace), when uwsgi and its tuntap plugin are installed.

iperf3 runs tenant -> gateway and, with -R, gateway -> tenant, REPEAT times per path, the paths
taking turns so that any drift of the machine hits all of them alike; the median is printed. The
round-trip time is a UDP ping-pong (64-byte datagrams, one in flight) from the tenant side to an
echo on the gateway side. Run as root:

    tunrouter/bench/tun-routers.py [--seconds 5] [--repeat 3] [--mtu 1500] [--txqueuelen 1000]

Needs iperf3, iproute2, nsenter (util-linux), and for the third path uwsgi-core with
uwsgi-infrastructure-plugins. Everything it makes (namespaces, tuns, sockets, processes) carries a
random id and is removed on exit; processes are stopped by pid.
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

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.dirname(HERE)
REPO = os.path.dirname(MODULE)
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
UWSGI_PLUGIN = "/usr/lib/uwsgi/plugins/tuntap_plugin.so"

# Runs where it is started (inside the namespace of its prefix). Echo: answer every datagram.
UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""
# Ping-pong: COUNT round trips after a warm-up, one datagram in flight; prints median and p99 in us.
UDP_PING = """
import socket, statistics, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.connect((host, port))
payload = b"x" * 64
rtts = []
for i in range(count + 200):
    start = time.perf_counter_ns()
    s.send(payload)
    try:
        s.recv(2048)
    except socket.timeout:
        continue
    if i >= 200:
        rtts.append((time.perf_counter_ns() - start) / 1000)
    time.sleep(0.0005)
rtts.sort()
print("%.1f %.1f %d" % (statistics.median(rtts), rtts[int(len(rtts) * 0.99) - 1], len(rtts)))
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.id = "%04x" % random.randrange(1 << 16)
        self.octet = random.randrange(1, 250)
        self.tmp = tempfile.mkdtemp(prefix="emperor-bench-%s-" % self.id)
        self.processes = []  # (Popen, stop signal), stopped in reverse order
        self.namespaces = []
        self.links = []
        self.paths = []  # dicts: name, client (command prefix), server (prefix), address, port
        self.uwsgi_tenant = None
        self.uwsgi_restarts = 0

    # --- processes and clean-up

    def start(self, command, log_name, stop_signal=signal.SIGTERM):
        log = open(os.path.join(self.tmp, log_name), "wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.processes.append((process, stop_signal))
        return process

    def log(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def cleanup(self):
        for process, stop_signal in reversed(self.processes):
            children = child_pids(process.pid)
            if process.poll() is None:
                process.send_signal(stop_signal)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for pid, cmdline in children:  # e.g. uWSGI's gateway process, normally stopped by its master
                if cmdline and read_cmdline(pid) == cmdline:  # still ours, not a recycled pid
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        pump_log = os.path.join(self.tmp, "pump.log")
        if os.path.exists(pump_log):  # the pump prints its counters when it stops
            print("".join(line for line in open(pump_log) if line.startswith(("tenant counters", "unattributed"))), end="")
        for name in sorted(os.listdir(self.tmp)):  # what uWSGI said about its peers, if anything
            if name.startswith("uwsgi-"):
                said = [line.strip() for line in open(os.path.join(self.tmp, name), errors="replace")
                        if "peer" in line or "disconnected" in line]
                for line in said[:3] + (["... %d more" % (len(said) - 3)] if len(said) > 3 else []):
                    print("%s: %s" % (name, line))
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], stderr=subprocess.DEVNULL)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
        leftovers = [line for line in run(["ip", "-o", "link", "show"]).splitlines() if self.id in line]
        leftovers += [line for line in run(["ip", "netns", "list"]).splitlines() if self.id in line]
        if leftovers:
            print("left over after clean-up:", *leftovers, sep="\n  ", file=sys.stderr)

    # --- the three paths

    def add_veth(self):
        a, b = "emperor-bench-%s-a" % self.id, "emperor-bench-%s-b" % self.id
        for ns in (a, b):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", b])
        server_address = "10.215.%d.1" % self.octet
        for ns, address in ((a, server_address), (b, "10.215.%d.2" % self.octet)):
            run(["ip", "-n", ns, "addr", "add", address + "/30", "dev", "veth0"])
            run(["ip", "-n", ns, "link", "set", "veth0", "mtu", str(self.args.mtu), "up"])
        self.paths.append(dict(name="veth", server=["ip", "netns", "exec", a], client=["ip", "netns", "exec", b],
                               address=server_address, port=15201))

    def add_emperor(self):
        tenant = "emperor-bench-%s-t" % self.id
        run(["ip", "netns", "add", tenant])
        self.namespaces.append(tenant)
        run(["ip", "-n", tenant, "link", "set", "lo", "up"])
        gateway = "emp-b-%sg" % self.id
        subnet = "10.214.%d.0/24" % self.octet
        with open("/tmp/tunrouter-bench-cp.txt") as f:
            classpath = "%s/target/test-classes:%s/target/classes:%s" % (MODULE, MODULE, f.read().strip())
        pump = self.start([JAVA_HOME + "/bin/java", "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
                           "dev.emperor.tunrouter.bench.PumpBenchmarkMain", "/run/netns/" + tenant, gateway, subnet,
                           str(self.args.mtu), str(self.args.txqueuelen)], "pump.log")
        self.links.append(gateway)  # removed with the pump; listed in case the JVM is killed
        wait_for(lambda: "ready" in self.log("pump.log") or pump.poll() is not None, 30)
        if "ready" not in self.log("pump.log"):
            raise SystemExit("the pump did not start:\n" + self.log("pump.log"))
        self.paths.append(dict(name="emperor", server=[], client=["ip", "netns", "exec", tenant],
                               address="10.214.%d.1" % self.octet, port=15202))

    def add_uwsgi(self):
        if not shutil.which("uwsgi") or not os.path.exists(UWSGI_PLUGIN):
            print("uwsgi or its tuntap plugin is missing (apt-get install uwsgi-core uwsgi-infrastructure-plugins): skipped")
            return
        gateway = "emp-u-%sg" % self.id
        socket_path = os.path.join(self.tmp, "tuntap.socket")
        gateway_address = "10.216.%d.1" % self.octet
        # The router runs under a master as documented ("The TunTap Router"); SIGINT stops both.
        self.start(["uwsgi", "--plugin", "tuntap", "--master", "--tuntap-router", gateway + " " + socket_path],
                   "uwsgi-router.log", signal.SIGINT)
        self.links.append(gateway)
        wait_for(lambda: os.path.exists("/sys/class/net/" + gateway) and os.path.exists(socket_path), 10)
        run(["ip", "addr", "add", gateway_address + "/24", "dev", gateway])
        run(["ip", "link", "set", gateway, "up"])
        path = dict(name="uwsgi", server=[], client=None, address=gateway_address, port=15203,
                    ensure=lambda: self.start_uwsgi_tenant(path, socket_path, gateway_address))
        if self.start_uwsgi_tenant(path, socket_path, gateway_address):
            self.paths.append(path)

    def start_uwsgi_tenant(self, path, socket_path, gateway_address):
        """(Re)starts uWSGI's tenant unless it runs. Its router drops a peer whose socket is full
        (EAGAIN on write), and the tenant instance then exits: each restart is counted."""
        if self.uwsgi_tenant is not None:
            if self.uwsgi_tenant.poll() is None:
                return True
            self.uwsgi_restarts += 1
        # The tenant instance makes its own network namespace (--unshare net) and its tun0 in it, as
        # a vassal does; its post-jail hooks run only in a jail. IPv6 is off, as in Emperor's tenants.
        log_name = "uwsgi-tenant-%d.log" % self.uwsgi_restarts
        tenant = self.start(["uwsgi", "--plugin", "tuntap", "--unshare", "net",
                             "--socket", os.path.join(self.tmp, "tenant-app-%d.socket" % self.uwsgi_restarts),
                             "--tuntap-device", "tun0 " + socket_path,
                             "--exec-as-root", "sysctl -q -w net.ipv6.conf.all.disable_ipv6=1",
                             "--exec-as-root", "ip link set lo up",
                             "--exec-as-root", "ip addr add 10.216.%d.2/24 dev tun0" % self.octet,
                             "--exec-as-root", "ip link set tun0 up",
                             "--exec-as-root", "ip route add default via " + gateway_address],
                            log_name, signal.SIGINT)
        wait_for(lambda: "multiple interpreter mode" in self.log(log_name) or tenant.poll() is not None, 15)
        if tenant.poll() is not None:
            print("uWSGI's tenant did not start:\n" + self.log(log_name)[-2000:])
            return False
        self.uwsgi_tenant = tenant
        path["client"] = ["nsenter", "--net=/proc/%d/ns/net" % tenant.pid]
        time.sleep(0.5)  # the router learns the peer's address from its first packet
        return True

    # --- measurements

    def start_servers(self):
        for path in self.paths:
            self.start(path["server"] + [sys.executable, "-c", UDP_ECHO, path["address"], str(path["port"])],
                       "echo-%s.log" % path["name"])
        time.sleep(0.5)

    def iperf(self, path, reverse):
        if "ensure" in path and not path["ensure"]():
            return 0.0
        command = path["client"] + ["iperf3", "-c", path["address"], "-p", str(path["port"]),
                                    "-t", str(self.args.seconds), "-J"] + (["-R"] if reverse else [])
        # A fresh one-off server per run: a run cut short (a dead peer) cannot leave it busy.
        server = self.start(path["server"] + ["iperf3", "-s", "-1", "-B", path["address"], "-p", str(path["port"])],
                            "iperf3-%s.log" % path["name"])
        time.sleep(0.3)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=self.args.seconds + 20)
        except subprocess.TimeoutExpired:
            print("iperf3 through %s hung; counted as 0" % path["name"])
            return 0.0
        finally:
            if server.poll() is None:
                server.terminate()
            server.wait()
        try:
            return json.loads(result.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        except (ValueError, KeyError):
            print("iperf3 through %s failed: %s" % (path["name"], (result.stdout + result.stderr)[-500:]))
            return 0.0

    def rtt(self, path):
        if "ensure" in path and not path["ensure"]():
            return float("nan"), float("nan")
        command = path["client"] + [sys.executable, "-c", UDP_PING, path["address"], str(path["port"]),
                                    str(self.args.rtt_count)]
        try:
            median, p99, count = run(command, timeout=60).split()
            return float(median), float(p99)
        except (subprocess.SubprocessError, ValueError) as e:
            print("UDP ping-pong through %s failed: %s" % (path["name"], e))
            return float("nan"), float("nan")

    def measure(self):
        # Round trips first, on a quiet machine (and before uWSGI's router may have given up a peer).
        rtts = {path["name"]: self.rtt(path) for path in self.paths}
        results = {path["name"]: {"out": [], "in": []} for path in self.paths}
        for round_number in range(self.args.repeat):
            for path in self.paths:
                results[path["name"]]["out"].append(self.iperf(path, False))
                results[path["name"]]["in"].append(self.iperf(path, True))
            print("round %d: %s" % (round_number + 1, "  ".join(
                "%s %.2f/%.2f" % (name, r["out"][-1], r["in"][-1]) for name, r in results.items())), flush=True)
        if self.uwsgi_restarts:
            print("uWSGI's router dropped its tenant (EAGAIN writing to the peer socket) and the tenant was "
                  "restarted %d times; runs it broke count as less or 0" % self.uwsgi_restarts)
        return results, rtts


def run(command, timeout=None):
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout).stdout


def interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def child_pids(pid):
    """(pid, command line) of each child of pid."""
    children = []
    try:
        for task in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                children += [(int(c), read_cmdline(int(c))) for c in f.read().split()]
    except OSError:
        pass
    return children


def read_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return None


def report(bench, results, rtts):
    args = bench.args
    print()
    print("TCP, iperf3 %d s, median of %d; MTU %d (veth, emperor), 1500 (uwsgi); tun txqueuelen %d (emperor)"
          % (args.seconds, args.repeat, args.mtu, args.txqueuelen))
    print("%-10s %18s %18s %9s %9s %12s %12s %12s" % ("path", "tenant->gw Gbit/s", "gw->tenant Gbit/s",
                                                       "ratio out", "ratio in", "RTT med us", "RTT p99 us",
                                                       "added med"))
    veth = results.get("veth")
    for name, r in results.items():
        out, into = statistics.median(r["out"]), statistics.median(r["in"])
        ratio_out = out / statistics.median(veth["out"]) if veth else float("nan")
        ratio_in = into / statistics.median(veth["in"]) if veth else float("nan")
        median, p99 = rtts[name]
        added = median - rtts["veth"][0] if "veth" in rtts else float("nan")
        print("%-10s %18.2f %18.2f %9.2f %9.2f %12.1f %12.1f %+12.1f" % (name, out, into, ratio_out, ratio_in,
                                                                        median, p99, added))
    if "emperor" in results and "uwsgi" in results:
        e, u = results["emperor"], results["uwsgi"]
        print("emperor / uwsgi: %s tenant->gateway, %s gateway->tenant" % (
            times(statistics.median(e["out"]), statistics.median(u["out"])),
            times(statistics.median(e["in"]), statistics.median(u["in"]))))


def times(a, b):
    return "%.1fx" % (a / b) if b >= 0.01 else "n/a (uwsgi moved nothing)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each iperf3 run")
    parser.add_argument("--repeat", type=int, default=3, help="iperf3 runs per path and direction (median)")
    parser.add_argument("--mtu", type=int, default=1500, help="MTU of the veth pair and of Emperor's tuns")
    parser.add_argument("--txqueuelen", type=int, default=4096, help="transmit queue length of Emperor's tuns")
    parser.add_argument("--rtt-count", type=int, default=2000, help="UDP round trips per path")
    parser.add_argument("--no-build", action="store_true", help="use the test classes already compiled")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it makes namespaces and tun devices")
    if not args.no_build:
        print("building test classes...", flush=True)
        subprocess.run([os.path.join(REPO, "mvnw"), "-q", "-B", "-ntp", "-pl", "tunrouter", "test-compile", "dependency:build-classpath",
                        "-Dmdep.outputFile=/tmp/tunrouter-bench-cp.txt", "-Dmdep.includeScope=test"],
                       cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, JAVA_HOME=JAVA_HOME))
    bench = Bench(args)
    # SIGTERM (e.g. from timeout) and SIGHUP unwind like Ctrl-C, so the clean-up below still runs.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
    try:
        bench.add_veth()
        bench.add_emperor()
        bench.add_uwsgi()
        bench.start_servers()
        results, rtts = bench.measure()
        report(bench, results, rtts)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
