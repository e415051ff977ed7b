"""What the benchmark drivers share: an Emperor daemon in a temporary root, /proc readings."""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DISTROS = os.environ.get("EMPEROR_TEST_DISTROS", "/var/cache/emperor-tests/distros")
JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
SUPERVISOR = os.path.join(REPO, "supervisor", "target")
CLASSPATH = os.path.join(SUPERVISOR, "emperor-supervisor.jar") + ":" + os.path.join(SUPERVISOR, "lib", "*")


# The collector and heap start ./emperor runs with (keep in step with it).
DAEMON_GC_FLAGS = ["-XX:+UseG1GC", "-Xms8m", "-Xmx256m", "-XX:MaxDirectMemorySize=256m",
                   "-XX:G1PeriodicGCInterval=60000", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30"]


def unsafe_flags(java_home=JAVA_HOME):
    """What ./emperor passes on JDK 23+ (scripts/java-env.sh): Netty may use sun.misc.Unsafe."""
    try:
        with open(os.path.join(java_home, "release")) as f:
            major = int(re.search(r'JAVA_VERSION="(\d+)', f.read()).group(1))
    except (OSError, AttributeError, ValueError):
        major = 0
    return ["--sun-misc-unsafe-memory-access=allow"] if major >= 23 else []


def java(*args, classpath=CLASSPATH):
    return ([os.path.join(JAVA_HOME, "bin", "java"), "--enable-native-access=ALL-UNNAMED"] + unsafe_flags()
            + ["-cp", classpath] + list(args))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def descendants(pid):
    """pid and every process below it (by PPid)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError):
            pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def remove_cgroup_subtree(name):
    """Kills what is left in /sys/fs/cgroup/*/NAME and removes those directories; returns the pids killed."""
    killed = set()
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy, name)
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in os.walk(top, topdown=False):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        killed.add(int(pid))
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        for dirpath, _, _ in os.walk(top, topdown=False):
            for _ in range(50):
                try:
                    os.rmdir(dirpath)
                    break
                except OSError:
                    time.sleep(0.1)
    return killed


class Emperor:
    """`emperor run` in a temporary root with on-exit = stop; close() leaves nothing behind."""

    def __init__(self, rescan="30s", uid_range="300000-300999", keep=False):
        self.root = tempfile.mkdtemp(prefix="emperor-bench-", dir="/tmp")
        self.cgroup = "emperor-bench-" + secrets.token_hex(4)
        self.keep = keep
        self.vassals = os.path.join(self.root, "vassals")
        os.makedirs(self.vassals)
        self.config = os.path.join(self.root, "emperor.ini")
        with open(self.config, "w") as f:
            f.write("[emperor]\nvassals = vassals\nstate-dir = state\nrun-dir = run\nlog-dir = log\n"
                    "home-dir = home\ndistro-dir = %s\ncgroup = %s\nuid-range = %s\nstop-grace = 2s\n"
                    "rescan = %s\non-exit = stop\ncontrol-socket = run/control.sock\n"
                    % (DISTROS, self.cgroup, uid_range, rescan))
        self.out = open(os.path.join(self.root, "emperor.out"), "w")
        # through the launcher, so the daemon runs with the JVM flags users get (it execs java)
        self.process = subprocess.Popen([os.path.join(REPO, "emperor"), "run", "-c", self.config],
                                        stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(self.root, "run", "control.sock")):
            if self.process.poll() is not None or time.time() > deadline:
                self.close()
                raise SystemExit("emperor did not start; see %s" % self.out.name)
            time.sleep(0.1)

    @property
    def pid(self):
        return self.process.pid

    def run_dir(self, tenant):
        return os.path.join(self.root, "run", "vassals", tenant)

    def status(self):
        out = subprocess.run(java("dev.emperor.supervisor.Main", "status", "-c", self.config, "--json"),
                             stdout=subprocess.PIPE, check=True).stdout
        return json.loads(out)

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # on-exit = stop: every tenant goes down first
            try:
                self.process.wait(180)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        left = remove_cgroup_subtree(self.cgroup)
        if left:
            print("warning: the emperor left %d tenant processes behind (killed)" % len(left), file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def write_temp(path, text):
    """Writes PATH's content under a temporary name beside it; rename it into place yourself."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    return tmp


def table(title_cols, rows):
    widths = [max(len(str(r[i])) for r in [title_cols] + rows) for i in range(len(title_cols))]
    for r in [title_cols] + rows:
        print("  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(r)))
