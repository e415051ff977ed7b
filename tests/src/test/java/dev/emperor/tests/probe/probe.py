"""The isolation probe: run as a tenant's payload (python3 probe.py ME OTHER MY_KEY OTHER_KEY).

Sets up things the OTHER tenant will try to reach (files in /tmp, /run and the home, a unix
socket by path and by abstract name, a SysV shared memory segment), says it is ready, waits
for the test to write /home/ME/targets (host pids and host paths to aim at), then tries every
forbidden thing once and prints one line per attempt:

    ATTEMPT name: blocked (ERRNAME)     or     ATTEMPT name: ALLOWED

plus SANITY lines showing the probe's own machinery works (its own socket, segment, files).
All lines also go to /run/results (written once, complete). Then it idles.
"""
import errno
import os
import socket
import stat
import subprocess
import sys
import time

# Open descriptors before anything else runs: whatever the emperor leaked is here.
FDS_AT_START = []
for entry in os.listdir("/proc/self/fd"):
    try:
        FDS_AT_START.append((int(entry), os.readlink("/proc/self/fd/" + entry)))
    except OSError:
        pass  # the directory listing's own descriptor, closed by now

me, other, my_key, other_key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe")
SETUID_PROBE = PROBE + "-setuid"
lines = []


def emit(line):
    lines.append(line)
    print(line, flush=True)


def blocked(name, err):
    emit("ATTEMPT %s: blocked (%s)" % (name, err))


def allowed(name, detail=""):
    emit("ATTEMPT %s: ALLOWED%s" % (name, (" " + detail) if detail else ""))


def attempt(name, action):
    """Runs action(); an OSError is the attempt being blocked, returning is it being allowed."""
    try:
        detail = action()
        allowed(name, detail or "")
    except OSError as e:
        blocked(name, errno.errorcode.get(e.errno, str(e.errno)))


def sanity(name, action):
    try:
        action()
        emit("SANITY %s: ok" % name)
    except OSError as e:
        emit("SANITY %s: FAILED (%s)" % (name, errno.errorcode.get(e.errno, str(e.errno))))


def c_probe(*args, binary=PROBE):
    out = subprocess.run([binary] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return out.stdout.decode().strip()


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_file(path):
    with open(path) as f:
        return f.read()


# ---- things the other tenant will try to reach ------------------------------------------------
write_file("/tmp/secret-" + me, "tmp secret of " + me)
write_file("/run/secret-" + me, "run secret of " + me)
write_file(os.path.expanduser("~/secret"), "home secret of " + me)
path_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    os.unlink("/run/%s.sock" % me)
except FileNotFoundError:
    pass
path_socket.bind("/run/%s.sock" % me)
path_socket.listen(8)
abstract_socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
abstract_socket.bind("\0emperor-probe-" + me)
abstract_socket.listen(8)
shm = c_probe("shm-create", my_key)
write_file("/run/ready", "ready\n")

targets_file = os.path.expanduser("~/targets")
while not os.path.exists(targets_file):
    time.sleep(0.1)
time.sleep(0.2)  # written in one go by the test, but be patient with a slow disk
targets = dict(line.split("=", 1) for line in read_file(targets_file).split("\n") if "=" in line)
host_pid = int(targets["host_pid"])
other_pid = int(targets["other_pid"])

# ---- sanity: the probe's own machinery works ------------------------------------------------------
emit("SANITY shm-create: %s" % ("ok" if shm == "" else "FAILED (" + shm + ")"))
own = c_probe("shm-own", my_key)
emit("SANITY shm-own-key: %s" % ("ok" if own.endswith("ALLOWED") else "FAILED (" + own + ")"))


def connect(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(address)
    finally:
        s.close()


sanity("own-socket-path", lambda: connect("/run/%s.sock" % me))
sanity("own-abstract-socket", lambda: connect("\0emperor-probe-" + me))
sanity("write-home", lambda: write_file(os.path.expanduser("~/written"), "x"))
sanity("write-tmp", lambda: write_file("/tmp/written", "x"))
sanity("read-own-tmp", lambda: read_file("/tmp/secret-" + me))

# ---- processes ----------------------------------------------------------------------------------
attempt("signal-host-pid", lambda: os.kill(host_pid, 0))
attempt("signal-other-tenant-pid", lambda: os.kill(other_pid, 0))


def proc_listing():
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    if host_pid in pids or other_pid in pids or len(pids) > 20:
        return "sees %d pids: %s" % (len(pids), sorted(pids)[:30])
    raise OSError(errno.ENOENT, "only own pids: %s" % sorted(pids))


attempt("proc-lists-others", proc_listing)
emit(c_probe("ptrace-outside", str(host_pid)))
emit(c_probe("ptrace-pid1"))

# ---- the other tenant's files and sockets -------------------------------------------------------
attempt("read-other-home", lambda: read_file("/home/%s/secret" % other))
attempt("write-other-home", lambda: write_file("/home/%s/evil" % other, "x"))
attempt("read-other-home-by-host-path", lambda: read_file(targets["other_home"] + "/secret"))
attempt("read-other-tmp", lambda: read_file("/tmp/secret-" + other))
attempt("read-other-run", lambda: read_file("/run/secret-" + other))
attempt("read-other-run-by-host-path", lambda: read_file(targets["other_run"] + "/secret-" + other))
attempt("connect-other-socket-path", lambda: connect("/run/%s.sock" % other))
attempt("connect-other-socket-host-path", lambda: connect(targets["other_run"] + "/%s.sock" % other))
attempt("connect-other-abstract-socket", lambda: connect("\0emperor-probe-" + other))
emit(c_probe("shm-get", other_key))
attempt("connect-emperor-control-socket", lambda: connect(targets["control_socket"]))
attempt("stat-emperor-control-socket", lambda: os.stat(targets["control_socket"]) and "exists")

# ---- the kernel and the host --------------------------------------------------------------------
emit(c_probe("mount"))
attempt("write-root", lambda: write_file("/evil", "x"))
attempt("write-usr", lambda: write_file("/usr/bin/evil", "x"))
emit(c_probe("init-module"))
attempt("write-proc-sys-kernel-hostname", lambda: write_file("/proc/sys/kernel/hostname", "evil"))


def sysrq():
    # /proc/sysrq-trigger may be masked by /dev/null: then the write is harmless.
    with open("/proc/sysrq-trigger", "w") as f:
        st = os.fstat(f.fileno())
        if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3:
            raise OSError(-1, "masked")
        f.write("h")


try:
    sysrq()
    allowed("write-sysrq-trigger")
except OSError as e:
    blocked("write-sysrq-trigger", "MASKED" if e.errno == -1 else errno.errorcode.get(e.errno, str(e.errno)))
emit(c_probe("mknod"))

euid = c_probe("euid", binary=SETUID_PROBE)
if euid == str(os.getuid()):
    blocked("setuid-root-binary", "NOSUID")
else:
    allowed("setuid-root-binary", "euid " + euid)
emit(c_probe("unshare-user"))
emit(c_probe("keyctl"))
emit(c_probe("bpf"))
emit(c_probe("tiocsti"))
emit(c_probe("sethostname"))

caps = [l.split()[1] for l in read_file("/proc/self/status").split("\n") if l.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb"))]
if all(int(c, 16) == 0 for c in caps):
    blocked("capabilities", "NONE")
else:
    allowed("capabilities", " ".join(caps))

emit(c_probe("io-uring-setup"))
emit(c_probe("io-uring-enter"))
emit(c_probe("io-uring-register"))
# vsock reaches the hypervisor and the host's vsock services: it is not network-namespaced.
attempt("socket-vsock", lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM).close())
attempt("socket-vsock-dgram", lambda: socket.socket(socket.AF_VSOCK, socket.SOCK_DGRAM).close())
attempt("socket-alg", lambda: socket.socket(38, socket.SOCK_SEQPACKET).close())
attempt("socket-tipc", lambda: socket.socket(30, socket.SOCK_RDM).close())
attempt("socket-packet", lambda: socket.socket(17, socket.SOCK_RAW).close())
sanity("socket-inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
sanity("socket-netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close())


def host_paths_in_pid1():
    """Pid 1's command line (and environment, if readable) name no host path."""
    seen = read_file("/proc/1/cmdline")
    try:
        seen += read_file("/proc/1/environ")
    except OSError:
        pass  # pid 1 is not dumpable: its environment is not ours to read
    found = [p for p in (targets["emperor_root"], "/jails/", "/var/lib/emperor") if p in seen]
    if found:
        return "pid 1 shows " + repr(seen.replace("\0", " ")[:300])
    raise OSError(-2, "none")


try:
    allowed("host-paths-in-pid1", host_paths_in_pid1())
except OSError as e:
    blocked("host-paths-in-pid1", "NONE" if e.errno == -2 else errno.errorcode.get(e.errno, str(e.errno)))

extra = [(fd, target) for fd, target in FDS_AT_START if fd > 2]
if extra:
    allowed("inherited-fds", str(extra))
else:
    blocked("inherited-fds", "ONLY-STDIO")

emit("DONE uid=%d" % os.getuid())
write_file("/run/results.tmp", "\n".join(lines) + "\n")
os.rename("/run/results.tmp", "/run/results")
while True:
    time.sleep(3600)
