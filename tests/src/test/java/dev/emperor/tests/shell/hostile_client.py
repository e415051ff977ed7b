"""A hostile client of the emperor's shell socket: broken frames, then a session it abandons.

usage: hostile_client.py SOCKET TENANT   (run as root, which may name any tenant)
Prints one line per probe: "NAME: REPLY" where REPLY is the emperor's error, or its frame type.
The last probe starts `sleep 1000` in the tenant and disconnects without a word; the caller
checks that the sleep is gone and nothing leaked.
"""
import array, os, socket, struct, sys

path, tenant = sys.argv[1], sys.argv[2].encode()


def frame(ftype, body, version=2):
    return b"ES" + bytes([version, ftype]) + struct.pack(">I", len(body)) + body


def s16(b):
    return struct.pack(">H", len(b)) + b


def reply(message, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.settimeout(15)
    if fds:
        s.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        s.send(message)
    data = s.recv(65536)
    s.close()
    if len(data) >= 10 and data[3] == 0x83:
        return data[10:].decode()
    return "type %#x" % data[3] if data else "closed"


null = os.open("/dev/null", os.O_RDWR)
terminal = frame(1, struct.pack(">HH", 24, 80) + s16(b"xterm") + s16(tenant))
NO_TERMINAL = b"\x00" + struct.pack(">HH", 0, 0) + s16(b"")
command = frame(2, s16(tenant) + struct.pack(">I", 4) + b"true" + NO_TERMINAL)
probes = {
    "garbage": b"\x00" * 3,
    "magic": b"XX" + terminal[2:],
    "version": frame(1, terminal[8:], version=9),
    "length": terminal[:-1],
    "type": frame(0x42, b""),
    "truncated": frame(1, struct.pack(">HH", 24, 80) + b"\xff\xff"),
    "huge size": frame(1, struct.pack(">HH", 60000, 80) + s16(b"xterm") + s16(tenant)),
    "bad TERM": frame(1, struct.pack(">HH", 24, 80) + s16(b"x\x1b[2J") + s16(tenant)),
    "bad tenant": frame(1, struct.pack(">HH", 24, 80) + s16(b"xterm") + s16(b"../../etc")),
    "command without fds": command,
}
for name, message in probes.items():
    print("%s: %s" % (name, reply(message)))
print("too many fds: %s" % reply(command, [null] * 8))
print("fds with a terminal: %s" % reply(terminal, [null]))

# A session that is started and then abandoned mid-way.
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
sleeper = frame(2, s16(tenant) + struct.pack(">I", 10) + b"sleep 1000" + NO_TERMINAL)
s.sendmsg([sleeper], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [null, null, null]))])
print("abandoned: %s" % ("type %#x" % s.recv(65536)[3]))
# Then a signal the client may not send, which ends that session too.
t = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
t.connect(path)
t.sendmsg([sleeper], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [null, null, null]))])
t.recv(65536)
t.send(frame(3, b"\x09"))
t.settimeout(15)
data = t.recv(65536)
print("SIGKILL asked: %s" % (data[10:].decode() if data[3] == 0x83 else "type %#x" % data[3]))
s.close()
t.close()
