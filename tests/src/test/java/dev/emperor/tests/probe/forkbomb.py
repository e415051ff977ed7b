"""Forks sleeping children until the kernel says no, reports, cleans up, idles."""
import errno
import os
import time

children = []
failure = None
try:
    while len(children) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        children.append(pid)
except OSError as e:
    failure = errno.errorcode.get(e.errno, str(e.errno))
for pid in children:
    os.kill(pid, 9)
for pid in children:
    os.waitpid(pid, 0)
verdict = "blocked (%s)" % failure if failure else "ALLOWED"
print("ATTEMPT fork-bomb: %s after %d children" % (verdict, len(children)), flush=True)
while True:
    time.sleep(3600)
