"""Root runs `printf 'typed\\n' | emperor-shell shop CMD` with its stdout and stderr on a terminal.

usage: root_terminal.py CLIENT SOCKET TENANT COMMAND    (as root)
The terminal is a pty made here (the host's, like root's own); stdin is a pipe. Prints JSON:
the host terminal's identity as stat shows it inside ("DEV:MAJOR:MINOR", hex major/minor),
what arrived on the terminal, and the client's exit code.
"""
import json, os, subprocess, sys

client, sock, tenant, command = sys.argv[1:5]
master, slave = os.openpty()
st = os.fstat(slave)
identity = "%d:%x:%x" % (st.st_dev, os.major(st.st_rdev), os.minor(st.st_rdev))
env = dict(os.environ, SSH_ORIGINAL_COMMAND=command, TERM="xterm")
p = subprocess.Popen([client, "--socket", sock, tenant], stdin=subprocess.PIPE, stdout=slave, stderr=slave, env=env)
os.close(slave)
p.stdin.write(b"typed\n")
p.stdin.close()
code = p.wait(timeout=60)
seen = b""
os.set_blocking(master, False)
while True:
    try:
        chunk = os.read(master, 65536)
    except (BlockingIOError, OSError):
        break
    if not chunk:
        break
    seen += chunk
print(json.dumps({"host_terminal": identity, "terminal": seen.decode(errors="replace"), "code": code}))
