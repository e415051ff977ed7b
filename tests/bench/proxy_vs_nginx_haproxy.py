#!/usr/bin/python3
"""Emperor's front proxy vs nginx and haproxy (Debian packages) in one run, same backend.

The backend is a separate nginx instance (static files, keep-alive without a request cap)
listening on a unix socket and on TCP; each proxy forwards to it with pooled keep-alive
upstream connections and the same worker count. Load: wrk (HTTP/1.1 keep-alive) for a 13-byte
and a 16 KiB body, and h2load (HTTP/2 over TLS) through the unix-socket upstream. Every
configuration runs --runs times, the proxies taking turns in rotating order; the table shows
medians (req/s, p99, the proxy's CPU time per request) and Emperor's ratios. CPU per
request is the number to trust on a busy machine: throughput moves with whatever else runs,
the work each proxy does per request much less. Emperor runs as StandaloneProxy from the proxy
module's test classes (run through ./proxy-vs-nginx-haproxy, which builds them), with the
daemon launcher's JVM flags unless --jvm-flags says otherwise, and is warmed up (JIT) before
anything is measured; the others get the same warm-up.
"""
import argparse
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

from benchlib import DAEMON_GC_FLAGS, descendants, table, unsafe_flags

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
PROXY_TARGET = os.path.join(REPO, "proxy", "target")

# What ./emperor gives the daemon (scripts/java-env.sh: Netty's Unsafe buffers on JDK 23+).
DAEMON_JVM_FLAGS = " ".join(DAEMON_GC_FLAGS + ["-Dio.netty.leakDetection.level=disabled"]
                            + unsafe_flags(JAVA_HOME))
HOST = "bench.test"
SMALL_BODY = b"hello world!\n"  # 13 bytes
BIG_BODY = bytes((i * 7 + 13) % 256 for i in range(16384))
BODIES = [("13 B", "/small"), ("16 KiB", "/16k")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit("%s exited with %d" % (what, process.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s did not listen on %d" % (what, port))


class Processes:
    """Everything this run started, stopped by pid at the end (SIGTERM, then SIGKILL)."""

    def __init__(self, work):
        self.work = work
        self.started = []

    def start(self, name, argv, cpus=None):
        if cpus:
            argv = ["taskset", "-c", cpus] + argv
        log = open(os.path.join(self.work, name + ".out"), "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.work)
        self.started.append((name, process))
        return process

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for _, process in reversed(self.started):
            self.stop(process)


def nginx_conf(work, name, workers, body):
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
    tmp = os.path.join(root, "tmp")
    path = os.path.join(root, "nginx.conf")
    with open(path, "w") as f:
        f.write("""worker_processes %d;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 4096; }
http {
    default_type application/octet-stream;
    client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/fcgi;
    uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
%s
}
""" % (workers, root, root, tmp, tmp, tmp, tmp, tmp, body))
    return path


def start_backend(procs, work, tcp_port, sock, cpus):
    files = os.path.join(work, "www")
    os.makedirs(files, exist_ok=True)
    with open(os.path.join(files, "small"), "wb") as f:
        f.write(SMALL_BODY)
    with open(os.path.join(files, "16k"), "wb") as f:
        f.write(BIG_BODY)
    conf = nginx_conf(work, "backend", 2, """
    access_log off;
    sendfile on; tcp_nopush on;
    open_file_cache max=16 inactive=1h;
    open_file_cache_valid 1h;
    server {
        listen 127.0.0.1:%d backlog=4096;
        listen unix:%s backlog=4096;
        root %s;
    }""" % (tcp_port, sock, files))
    process = procs.start("backend", ["nginx", "-c", conf, "-p", os.path.join(work, "backend")], cpus)
    wait_port(tcp_port, process, "backend nginx")
    return process


def tls_pair(work):
    key, cert = os.path.join(work, "tls.key"), os.path.join(work, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + HOST,
                    "-addext", "subjectAltName=DNS:" + HOST], check=True, capture_output=True)
    pem = os.path.join(work, "tls.pem")
    with open(pem, "w") as out:
        out.write(open(cert).read() + open(key).read())
    return key, cert, pem


def start_nginx(procs, work, name, port, tls_port, upstream, workers, tls, cpus):
    server = "unix:" + upstream if upstream.startswith("/") else upstream
    key, cert, _ = tls
    conf = nginx_conf(work, name, workers, """
    access_log %s/access.log combined buffer=64k flush=1s;
    upstream app { server %s; keepalive 64; keepalive_requests 100000000; }
    server {
        listen 127.0.0.1:%d backlog=4096;
        listen 127.0.0.1:%d ssl http2 backlog=4096;
        ssl_certificate %s; ssl_certificate_key %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }
    }""" % (os.path.join(work, name), server, port, tls_port, cert, key))
    process = procs.start(name, ["nginx", "-c", conf, "-p", os.path.join(work, name)], cpus)
    wait_port(port, process, name)
    return process


def start_haproxy(procs, work, name, port, tls_port, upstream, workers, tls, cpus):
    _, _, pem = tls
    conf = os.path.join(work, name + ".cfg")
    with open(conf, "w") as f:
        f.write("""global
    nbthread %d
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    option forwardfor
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
    default_backend app
backend app
    http-reuse always
    server app %s
""" % (workers, port, tls_port, pem, upstream))
    process = procs.start(name, ["haproxy", "-db", "-f", conf], cpus)
    wait_port(port, process, name)
    return process


def start_emperor(procs, work, name, port, tls_port, upstream, workers, jvm_flags, cpus):
    classpath = ":".join([os.path.join(PROXY_TARGET, "classes"), os.path.join(PROXY_TARGET, "test-classes"),
                          open(os.path.join(PROXY_TARGET, "bench.classpath")).read().strip()])
    spec = "unix:" + upstream if upstream.startswith("/") else upstream
    dirname = os.path.join(work, name)
    os.makedirs(dirname, exist_ok=True)
    argv = ([os.path.join(JAVA_HOME, "bin", "java"), "--enable-native-access=ALL-UNNAMED"] + jvm_flags.split()
            + ["-cp", classpath, "dev.emperor.proxy.bench.StandaloneProxy",
               str(port), str(tls_port), str(workers), HOST, spec, dirname])
    process = procs.start(name, argv, cpus)
    wait_port(port, process, name)
    wait_port(tls_port, process, name)
    return process


def cpu_seconds(pid):
    """User + system CPU time of a proxy (nginx: master and workers), in seconds."""
    total = 0
    for p in descendants(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLOCK_TICKS


def unit_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port, path, args, cpus):
    argv = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections, "-d%ds" % args.duration, "--latency",
            "-H", "Host: " + HOST, "http://127.0.0.1:%d%s" % (port, path)]
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    problem = (errors.group(1) if errors else "") + (" non-2xx " + non2xx.group(1) if non2xx else "")
    return rps, unit_ms(*p99.groups()), problem.strip()


def h2load(port, path, args, cpus, work):
    log = os.path.join(work, "h2load.log")
    argv = ["h2load", "-t%d" % args.threads, "-c%d" % args.h2_connections, "-m%d" % args.h2_streams,
            "-D%d" % args.duration, "--connection-inactivity-timeout=5", "--log-file=" + log, "-H", ":authority: " + HOST,
            "https://127.0.0.1:%d%s" % (port, path)]
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=args.duration + 30).stdout
    except subprocess.TimeoutExpired:
        return 0.0, float("nan"), "h2load hung (some streams never finished)"
    except subprocess.CalledProcessError as e:
        # Debian 12's h2load (nghttp2 1.52) sometimes aborts in libev's epoll_ctl (EBADF on
        # its own socket), whichever proxy it runs against: report it, keep the run going.
        if os.path.exists(log):
            os.unlink(log)
        return 0.0, float("nan"), "h2load failed (%s): %s" % (e.returncode, (e.stderr or "").strip()[-160:])
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    failed = re.search(r"requests: .* (\d+) failed, .* (\d+) errored", out)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    durations = []
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                durations.append(int(parts[2]))
    os.unlink(log)
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] / 1000.0 if durations else float("nan")
    problem = ""
    if failed and (int(failed.group(1)) or int(failed.group(2))):
        problem = "failed %s errored %s" % failed.groups()
    if status and int(status.group(1)) == 0:
        problem += " no 2xx"
    return rps, p99, problem.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="measurements per configuration (median shown)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=30,
                        help="seconds of load per proxy before measuring (the JIT needs about 30 s to settle)")
    parser.add_argument("--threads", type=int, default=2, help="load generator threads")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--h2-connections", type=int, default=32)
    parser.add_argument("--h2-streams", type=int, default=10, help="h2load concurrent streams per connection")
    parser.add_argument("--workers", type=int, default=2,
                        help="nginx worker_processes = haproxy nbthread = Emperor event loops")
    parser.add_argument("--jvm-flags", default=DAEMON_JVM_FLAGS, help="Emperor's JVM flags")
    parser.add_argument("--upstreams", default="unix,tcp", help="which backend sockets: unix,tcp")
    parser.add_argument("--proxies", default="emperor,nginx,haproxy")
    parser.add_argument("--no-h2", action="store_true", help="skip HTTP/2 over TLS")
    parser.add_argument("--h2-only", action="store_true", help="only HTTP/2 over TLS (unix upstream)")
    parser.add_argument("--pin", action="store_true",
                        help="load generator on CPU 1, proxies and backend on CPU 0 (the same for all)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    # `timeout` and Ctrl-C: still stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    for tool in ("wrk", "h2load", "nginx", "haproxy", "openssl"):
        if not shutil.which(tool):
            raise SystemExit("needs %s (Debian: wrk nghttp2-client nginx haproxy openssl)" % tool)
    client_cpus, server_cpus = ("1", "0") if args.pin else (None, None)
    if args.h2_only:
        args.no_h2, args.upstreams = False, "unix"
    proxies = args.proxies.split(",")

    work = tempfile.mkdtemp(prefix="emperor-proxybench-", dir="/tmp")
    os.chmod(work, 0o755)  # nginx workers (www-data) read the files and the socket
    procs = Processes(work)
    results = {}  # (protocol, upstream, body, proxy) -> [(rps, p99)]
    problems = []
    try:
        tls = tls_pair(work)
        sock = os.path.join(work, "backend.sock")
        backend_port = free_port()
        start_backend(procs, work, backend_port, sock, server_cpus)
        print("work dir %s; %d x %ds per configuration, wrk -t%d -c%d, h2load -t%d -c%d -m%d, %d workers%s"
              % (work, args.runs, args.duration, args.threads, args.connections, args.threads,
                 args.h2_connections, args.h2_streams, args.workers, ", pinned" if args.pin else ""),
              flush=True)
        print("Emperor JVM flags: %s" % args.jvm_flags, flush=True)
        for _, path in BODIES if not args.h2_only else []:
            rps, p99, problem = wrk(backend_port, path, args, client_cpus)
            results.setdefault(("http/1.1", "direct", path, "backend"), []).append((rps, p99, None))

        for kind in args.upstreams.split(","):
            upstream = sock if kind == "unix" else "127.0.0.1:%d" % backend_port
            ports = {}
            running = {}
            for name in proxies:
                port, tls_port = free_port(), free_port()
                ports[name] = (port, tls_port)
                if name == "emperor":
                    running[name] = start_emperor(procs, work, name, port, tls_port, upstream, args.workers,
                                                  args.jvm_flags, server_cpus)
                elif name == "nginx":
                    running[name] = start_nginx(procs, work, name, port, tls_port, upstream, args.workers, tls,
                                                server_cpus)
                else:
                    running[name] = start_haproxy(procs, work, name, port, tls_port, upstream, args.workers, tls,
                                                  server_cpus)
            # Warm-up: the same for every proxy (JIT for Emperor; caches and pools for all).
            warm = argparse.Namespace(**vars(args))
            warm.duration = max(1, args.warmup // 2)
            for name in proxies:
                for _, path in BODIES:
                    if not args.h2_only:
                        wrk(ports[name][0], path, warm, client_cpus)
                    if not args.no_h2 and kind == "unix":
                        h2load(ports[name][1], path, warm, client_cpus, work)
            protocols = (["http/1.1"] if not args.h2_only else []) + (["h2+tls"] if not args.no_h2 and kind == "unix" else [])
            for run in range(args.runs):
                order = proxies[run % len(proxies):] + proxies[:run % len(proxies)]
                for protocol in protocols:
                    for _, path in BODIES:
                        for name in order:
                            port, tls_port = ports[name]
                            cpu_before, started = cpu_seconds(running[name].pid), time.time()
                            if protocol == "http/1.1":
                                rps, p99, problem = wrk(port, path, args, client_cpus)
                            else:
                                rps, p99, problem = h2load(tls_port, path, args, client_cpus, work)
                            cpu = cpu_seconds(running[name].pid) - cpu_before
                            # requests = rps x the load's own duration; the wall clock here adds start-up
                            cpu_us = cpu / max(1.0, rps * args.duration) * 1e6
                            if problem:
                                problems.append("%s %s %s %s: %s" % (name, protocol, kind, path, problem))
                            results.setdefault((protocol, kind, path, name), []).append((rps, p99, cpu_us))
                            print("  run %d %-8s %-6s %-5s %-8s %9.0f req/s  p99 %7.2f ms  cpu %6.1f us/req %s"
                                  % (run + 1, protocol, kind, path, name, rps, p99, cpu_us, problem), flush=True)
            for name in proxies:
                procs.stop(running[name])
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def median(key, index):
        values = [r[index] for r in results.get(key, [])]
        return statistics.median(values) if values else None

    rows = []
    seen = []
    for key in results:
        if key[:3] not in seen:
            seen.append(key[:3])
    label = dict((path, text) for text, path in BODIES)
    for protocol, kind, path in seen:
        if kind == "direct":
            rps, p99 = median((protocol, kind, path, "backend"), 0), median((protocol, kind, path, "backend"), 1)
            rows.append([protocol, "(backend direct)", label[path], "%.0f" % rps, "", "", "%.2f" % p99, "", "",
                         "", "", "", "", "", "", "", "", ""])
            continue
        cells = {}
        for name in ("emperor", "nginx", "haproxy"):
            cells[name] = tuple(median((protocol, kind, path, name), i) for i in range(3))

        def fmt(value, pattern):
            return pattern % value if value is not None else "-"

        def ratio(a, b):
            return "%.2f" % (a / b) if a is not None and b else "-"
        e, n, h = cells["emperor"], cells["nginx"], cells["haproxy"]
        rows.append([protocol, kind, label[path],
                     fmt(e[0], "%.0f"), fmt(n[0], "%.0f"), fmt(h[0], "%.0f"),
                     fmt(e[1], "%.2f"), fmt(n[1], "%.2f"), fmt(h[1], "%.2f"),
                     ratio(e[0], n[0]), ratio(e[0], h[0]), ratio(e[1], n[1]), ratio(e[1], h[1]),
                     fmt(e[2], "%.1f"), fmt(n[2], "%.1f"), fmt(h[2], "%.1f"), ratio(e[2], n[2]), ratio(e[2], h[2])])
    print()
    print("medians of %d runs; req/s higher is better, p99 (ms) and CPU us per request lower is better;"
          " ratios Emperor/other" % args.runs)
    table(["protocol", "upstream", "body", "emperor r/s", "nginx r/s", "haproxy r/s",
           "emperor p99", "nginx p99", "haproxy p99", "r/s E/ngx", "r/s E/hap", "p99 E/ngx", "p99 E/hap",
           "emperor cpu", "nginx cpu", "haproxy cpu", "cpu E/ngx", "cpu E/hap"], rows)
    if problems:
        print("\nerrors seen:")
        for p in problems:
            print("  " + p)


if __name__ == "__main__":
    sys.exit(main())
