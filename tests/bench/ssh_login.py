#!/usr/bin/env python3
"""Time from `ssh` start to the first prompt byte: a tenant login (sshd ForceCommand ->
emperor-shell -> a new pty in the tenant, bash -l) vs a plain host login through the same sshd
in the same run (bash -l as a host user). Medians over N runs of each, interleaved, and the ratio.

usage: sudo tests/bench/ssh_login.py [N]      (default 30; needs a built tree: ./mvnw package)

The sshd runs in a private mount namespace with temporary copies of /etc/passwd, shadow and
group bind-mounted over the host's (the host's user database is never touched); it and the
emperor are killed by pid at the end.
"""
import os
import pty
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402

TENANT_UID = 300501
PLAIN_UID = 300502
CLIENT = os.path.join(benchlib.SUPERVISOR, "emperor-shell")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sshd(d, socket_path):
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, key)], check=True)
    shutil.copy(os.path.join(d, "client_key.pub"), os.path.join(d, "authorized_keys"))
    users = {"shop": TENANT_UID, "plain": PLAIN_UID}
    extra = {"passwd": "", "shadow": "", "group": ""}
    for name, uid in users.items():
        home = os.path.join(d, "home-" + name)
        os.makedirs(home)
        os.chown(home, uid, uid)
        extra["passwd"] += "%s:x:%d:%d::%s:/bin/bash\n" % (name, uid, uid, home)
        extra["shadow"] += "%s:*:19000:0:99999:7:::\n" % name
        extra["group"] += "%s:x:%d:\n" % (name, uid)
    for f, lines in extra.items():
        with open("/etc/" + f) as src, open(os.path.join(d, f), "w") as dst:
            dst.write(src.read() + lines)
    port = free_port()
    with open(os.path.join(d, "sshd_config"), "w") as f:
        f.write("ListenAddress 127.0.0.1\nHostKey %s/host_key\nPidFile none\nUsePAM no\nStrictModes no\n"
                "AuthorizedKeysFile %s/authorized_keys\nPasswordAuthentication no\nPrintMotd no\nPrintLastLog no\n"
                "Match User shop\n    ForceCommand %s --socket %s\n" % (d, d, CLIENT, socket_path))
    os.makedirs("/run/sshd", exist_ok=True)
    script = ('mount --make-rprivate / && for f in passwd shadow group; do mount --bind "$1/$f" /etc/$f || exit 1; done'
              ' && exec /usr/sbin/sshd -D -e -f "$1/sshd_config" -p "$2"')
    log = open(os.path.join(d, "sshd.log"), "w")
    sshd = subprocess.Popen(["unshare", "-m", "sh", "-c", script, "sh", d, str(port)], stdout=log, stderr=log)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return sshd, port
        except OSError:
            if sshd.poll() is not None or time.time() > deadline:
                raise SystemExit("sshd did not start; see %s/sshd.log" % d)
            time.sleep(0.05)


def first_prompt_seconds(d, port, user):
    """ssh -tt USER@127.0.0.1 on a pty; seconds until the first byte of the prompt ('$')."""
    argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", os.path.join(d, "client_key"), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-tt",
            user + "@127.0.0.1"]
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PS1"] = "$ "
        os.execvp(argv[0], argv)
    seen = b""
    try:
        while b"$" not in seen:
            r, _, _ = select.select([fd], [], [], 20)
            if not r:
                raise SystemExit("no prompt from %s within 20 s; got %r" % (user, seen))
            seen += os.read(fd, 4096)
        elapsed = time.perf_counter() - start
        os.write(fd, b"exit\r")
        _, status = os.waitpid(pid, 0)
        return elapsed
    finally:
        os.close(fd)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    if not os.access(CLIENT, os.X_OK):
        raise SystemExit("build first: ./mvnw -q -B -DskipTests -pl supervisor -am package")
    emperor = benchlib.Emperor(uid_range="300000-300400")
    os.chmod(emperor.root, 0o755)  # the users sshd logs in must reach the shell socket
    sshd = None
    try:
        with open(os.path.join(emperor.vassals, "shop.ini"), "w") as f:
            f.write("[vassal]\nexec = sleep 100000\ndistro = bookworm\nuid = %d\n" % TENANT_UID)
        deadline = time.time() + 30
        while not any(v["name"] == "shop" and v["state"] == "running" for v in emperor.status()):
            if time.time() > deadline:
                raise SystemExit("tenant did not start")
            time.sleep(0.2)
        d = os.path.join(emperor.root, "ssh")
        os.makedirs(d)
        sshd, port = start_sshd(d, os.path.join(emperor.root, "run", "shell.sock"))
        first_prompt_seconds(d, port, "shop")  # warm-up: page cache, sshd's first fork
        first_prompt_seconds(d, port, "plain")
        tenant, plain = [], []
        for _ in range(runs):
            tenant.append(first_prompt_seconds(d, port, "shop"))
            plain.append(first_prompt_seconds(d, port, "plain"))
        t, p = statistics.median(tenant), statistics.median(plain)
        print("ssh start -> first prompt byte, median of %d runs each (same sshd, interleaved)" % runs)
        benchlib.table(["login", "median ms", "min ms", "max ms"], [
            ["tenant (emperor-shell, pty in tenant)", "%.1f" % (t * 1000), "%.1f" % (min(tenant) * 1000), "%.1f" % (max(tenant) * 1000)],
            ["plain host user (bash -l)", "%.1f" % (p * 1000), "%.1f" % (min(plain) * 1000), "%.1f" % (max(plain) * 1000)],
        ])
        print("ratio tenant / plain: %.2f" % (t / p))
    finally:
        if sshd is not None:
            sshd.send_signal(signal.SIGTERM)
            sshd.wait(10)
        emperor.close()


if __name__ == "__main__":
    main()
