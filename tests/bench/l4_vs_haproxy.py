#!/usr/bin/python3
"""L4 port forwarding on 127.0.0.1: direct vs Emperor's PortForwarder vs haproxy `mode tcp`.

haproxy runs twice: its defaults, and with `option splice-auto` (kernel splice, its fastest
TCP relay). Throughput: one iperf3 stream (or --streams P) through each path, Gbit/s. Connection rate:
wrk with `Connection: close` against a tiny nginx answer, so every request is a new TCP
connection through the proxy (accept, connect upstream, relay, two closes). The three paths
are measured in turn inside each run, N runs, medians reported. Emperor and haproxy get the
same number of threads (--threads). Everything started here is stopped here, by pid.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import DAEMON_GC_FLAGS, unsafe_flags

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("process %d exited early (%s)" % (proc.pid, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nothing listens on %d after %ds" % (port, timeout))


def proxy_classpath(tmp):
    out = os.path.join(tmp, "cp.txt")
    subprocess.run([os.path.join(REPO, "mvnw"), "-q", "-B", "-ntp", "-f", os.path.join(REPO, "pom.xml"), "-pl", "proxy",
                    "dependency:build-classpath", "-Dmdep.outputFile=" + out],
                   check=True, stdout=subprocess.DEVNULL)
    deps = open(out).read().strip()
    return ":".join([os.path.join(REPO, "proxy", "target", "test-classes"),
                     os.path.join(REPO, "proxy", "target", "classes"), deps])


def cpu_seconds(pid):
    """user + system CPU time of a process so far (a figure that other load on the box
    disturbs far less than wall-clock throughput)."""
    if pid is None:
        return 0.0
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iperf_gbits(port, seconds, streams):
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-P", str(streams),
                          "-J"], stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def wrk_rate(port, seconds, connections):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", "%ds" % seconds,
                          "-H", "Connection: close", "http://127.0.0.1:%d/" % port],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    errors = re.search(r"Socket errors: (.*)", out)
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    return rate, (errors.group(1) if errors else "")


class Processes:
    """What this run started; stop() kills exactly those pids."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--streams", type=int, default=1, help="parallel iperf3 streams")
    ap.add_argument("--threads", type=int, default=1, help="Emperor event loops = haproxy nbthread")
    ap.add_argument("--connections", type=int, default=32, help="wrk concurrent connections")
    ap.add_argument("--warmup", type=int, default=10,
                    help="seconds of wrk per path before measuring (the JVM compiles for about that long)")
    ap.add_argument("--rate-only", action="store_true", help="skip iperf3: connection rate and its CPU only")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="emperor-l4-bench-")
    procs = Processes()
    try:
        classpath = proxy_classpath(tmp)
        iperf_port, http_port = free_port(), free_port()
        emp_iperf, emp_http, hap_iperf, hap_http = free_port(), free_port(), free_port(), free_port()
        spl_iperf, spl_http = free_port(), free_port()

        iperf = procs.start(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(iperf_port)], stdout=subprocess.DEVNULL)

        nginx_conf = os.path.join(tmp, "nginx.conf")
        with open(nginx_conf, "w") as f:
            f.write("""worker_processes 1; pid %(tmp)s/nginx.pid; error_log %(tmp)s/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path %(tmp)s; proxy_temp_path %(tmp)s; fastcgi_temp_path %(tmp)s;
  uwsgi_temp_path %(tmp)s; scgi_temp_path %(tmp)s;
  server { listen 127.0.0.1:%(port)d reuseport; location / { return 200 "ok\\n"; } } }
""" % {"tmp": tmp, "port": http_port})
        nginx = procs.start(["nginx", "-p", tmp, "-c", nginx_conf, "-g", "daemon off;"])

        haproxy_conf = os.path.join(tmp, "haproxy.cfg")
        with open(haproxy_conf, "w") as f:
            f.write("""global
  nbthread %(threads)d
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen iperf
  bind 127.0.0.1:%(hap_iperf)d
  server s 127.0.0.1:%(iperf)d
listen http
  bind 127.0.0.1:%(hap_http)d
  server s 127.0.0.1:%(http)d
listen iperf-splice
  option splice-auto
  bind 127.0.0.1:%(spl_iperf)d
  server s 127.0.0.1:%(iperf)d
listen http-splice
  option splice-auto
  bind 127.0.0.1:%(spl_http)d
  server s 127.0.0.1:%(http)d
""" % {"threads": args.threads, "hap_iperf": hap_iperf, "iperf": iperf_port, "hap_http": hap_http,
       "http": http_port, "spl_iperf": spl_iperf, "spl_http": spl_http})
        haproxy = procs.start(["haproxy", "-db", "-f", haproxy_conf])

        logback = os.path.join(tmp, "logback.xml")
        with open(logback, "w") as f:
            f.write('<configuration><root level="WARN"/></configuration>\n')
        java = [os.path.join(JAVA_HOME, "bin", "java"), "--enable-native-access=ALL-UNNAMED"]
        java += unsafe_flags(JAVA_HOME) + DAEMON_GC_FLAGS  # as ./emperor
        java += ["-Dlogback.configurationFile=" + logback, "-Dio.netty.leakDetection.level=disabled",
                "-cp", classpath, "dev.emperor.proxy.l4.ForwardMain", str(args.threads),
                "%d=127.0.0.1:%d" % (emp_iperf, iperf_port), "%d=127.0.0.1:%d" % (emp_http, http_port)]
        emperor = procs.start(java, stdout=subprocess.DEVNULL)
        # (probing iperf3's own port would start a test it then reports as broken)
        for port, p in [(http_port, nginx), (hap_http, haproxy), (emp_http, emperor)]:
            wait_port(port, p)
        if iperf.poll() is not None:
            raise SystemExit("iperf3 -s exited")

        paths = [("direct", iperf_port, http_port), ("emperor", emp_iperf, emp_http),
                 ("haproxy", hap_iperf, hap_http), ("haproxy+splice", spl_iperf, spl_http)]
        proxy_pid = {"direct": None, "emperor": emperor.pid, "haproxy": haproxy.pid, "haproxy+splice": haproxy.pid}
        # Warm-up: the JVM compiles the relay's hot path; everyone gets the same treatment. A
        # long-running daemon pays that once; two seconds left C2 compiling (and its CPU counted
        # against the proxy) through the first measured runs.
        for _, ip, hp in paths:
            if not args.rate_only:
                iperf_gbits(ip, 2, args.streams)
            wrk_rate(hp, args.warmup, args.connections)

        gbits = {name: [] for name, _, _ in paths}
        rates = {name: [] for name, _, _ in paths}
        cpu_per_gb = {name: [] for name, _, _ in paths}
        cpu_per_kconn = {name: [] for name, _, _ in paths}
        for run in range(args.runs):
            for name, ip, hp in paths:
                pid = proxy_pid[name]
                before = cpu_seconds(pid)
                g = float("nan") if args.rate_only else iperf_gbits(ip, args.seconds, args.streams)
                middle = cpu_seconds(pid)
                r, errors = wrk_rate(hp, args.seconds, args.connections)
                after = cpu_seconds(pid)
                gbits[name].append(g)
                rates[name].append(r)
                cpu_per_gb[name].append((middle - before) * 1000 / (g * args.seconds / 8))
                cpu_per_kconn[name].append((after - middle) * 1000 / (r * args.seconds / 1000))
                print("run %d %-15s %6.2f Gbit/s (%5.0f proxy CPU ms/GB) %7.0f conn/s (%5.0f proxy CPU ms/1000 conn) %s"
                      % (run + 1, name, g, cpu_per_gb[name][-1], r, cpu_per_kconn[name][-1], errors), flush=True)

        med_g = {k: statistics.median(v) for k, v in gbits.items()}
        med_r = {k: statistics.median(v) for k, v in rates.items()}
        print()
        print("medians of %d runs, %ds each (after %ds of wrk warm-up), %d iperf3 stream(s), %d thread(s), wrk -c %d:"
              % (args.runs, args.seconds, args.warmup, args.streams, args.threads, args.connections))
        med_c = {k: statistics.median(v) for k, v in cpu_per_gb.items()}
        med_k = {k: statistics.median(v) for k, v in cpu_per_kconn.items()}
        print("%-15s %8s %14s %8s %18s" % ("path", "Gbit/s", "CPU ms/GB", "conn/s", "CPU ms/1000 conn"))
        for name in gbits:
            print("%-15s %8.2f %14.0f %8.0f %18.0f" % (name, med_g[name], med_c[name], med_r[name], med_k[name]))
        for other in ("haproxy", "haproxy+splice"):
            print("emperor/%s: throughput %.2f, connection rate %.2f; proxy CPU per GB %.2f, per connection %.2f"
                  % (other, med_g["emperor"] / med_g[other], med_r["emperor"] / med_r[other],
                     med_c["emperor"] / med_c[other], med_k["emperor"] / med_k[other]))
    finally:
        procs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
