"""Drives an interactive `ssh -tt` login through a real pty, as a person at a terminal would.

usage: pty_session.py SSH_ARGV...   prints one JSON object with what each step showed.
Steps: wait for the prompt; hostname, id -u, tty, the tenant's pid 1 and 2, stty size; resize
the local terminal (ssh forwards it, emperor-shell copies it to the tenant's pty) and stty size
again; Ctrl-C a `sleep`; `exit 7` and the exit status of ssh.
"""
import fcntl, json, os, pty, select, struct, sys, termios, time

out = b""


def read_until(fd, pattern, timeout=20):
    global out
    deadline = time.time() + timeout
    while pattern not in out:
        left = deadline - time.time()
        if left <= 0:
            raise SystemExit("timed out waiting for %r; got %r" % (pattern, out[-2000:]))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                raise SystemExit("ssh ended while waiting for %r; got %r" % (pattern, out[-2000:]))
            out += data
    before, _, after = out.partition(pattern)
    out = after
    return before


def run(fd, command):
    # The markers are typed with quotes in them, so the terminal's echo of the line never matches.
    os.write(fd, b"echo '@@''B'; " + command + b"; echo '@@''E'\r")
    read_until(fd, b"@@B\r\n")
    return read_until(fd, b"@@E\r\n").decode(errors="replace").replace("\r\n", "\n").strip()


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


pid, fd = pty.fork()
if pid == 0:
    set_size(0, 30, 100)
    os.execvp(sys.argv[1], sys.argv[1:])
result = {}
read_until(fd, b"$ ")
result["hostname"] = run(fd, b"hostname")
result["uid"] = run(fd, b"id -u")
result["tty"] = run(fd, b"tty")
result["pid1"] = run(fd, b"tr '\\0' ' ' < /proc/1/cmdline | cut -d' ' -f1-2")
result["pid2"] = run(fd, b"tr '\\0' ' ' < /proc/2/cmdline")
result["size"] = run(fd, b"stty size")
set_size(fd, 40, 120)
time.sleep(0.5)
result["resized"] = run(fd, b"stty size")
os.write(fd, b"sleep 1000\r")
time.sleep(1)
os.write(fd, b"\x03")
os.write(fd, b"s=$?\r")  # the status of the interrupted sleep, before run() echoes its marker
result["after_ctrl_c"] = run(fd, b"echo status=$s")
os.write(fd, b"exit 7\r")
deadline = time.time() + 20
while True:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    if time.time() > deadline:
        break
_, status = os.waitpid(pid, 0)
result["exit"] = os.waitstatus_to_exitcode(status)
print(json.dumps(result))
