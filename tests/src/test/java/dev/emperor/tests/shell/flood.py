"""A local user floods the emperor's shell socket (run as that user, e.g. with setpriv).

usage: flood.py idle SOCKET N       N idle connections; prints "open", waits for a line on
                                    stdin, then "refused=R pending=P: MESSAGE" (R refused on
                                    arrival, P admitted as pending), then waits until the
                                    emperor has closed every pending one ("pending closed=P").
usage: flood.py sessions SOCKET N   N sessions of `sleep 1000` in the caller's own tenant (one
                                    at a time); prints "started=S refused=R: MESSAGE", then
                                    waits for a line on stdin and leaves.
"""
import array, os, select, socket, struct, sys

mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])


def frame(ftype, body):
    return b"ES" + bytes([2, ftype]) + struct.pack(">I", len(body)) + body


def error_of(data):
    return data[10:].decode() if len(data) >= 10 and data[3] == 0x83 else None


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    return s


if mode == "idle":
    conns = [connect() for _ in range(n)]
    print("open", flush=True)
    sys.stdin.readline()
    refused, admitted, open_ones, message = 0, 0, [], ""
    for s in conns:
        if select.select([s], [], [], 0)[0]:
            try:
                error = error_of(s.recv(65536))
            except ConnectionResetError:
                error = None
            if error and error.startswith("too many"):
                refused += 1
                message = error
                continue
            admitted += 1  # admitted, and already given up on by the emperor (a slow test)
        else:
            admitted += 1
            open_ones.append(s)
    print("refused=%d pending=%d: %s" % (refused, admitted, message), flush=True)
    for s in open_ones:
        s.settimeout(120)
        try:
            s.recv(65536)  # the emperor's error, or end of file, once it gives up on us
        except ConnectionResetError:
            pass
    print("pending closed=%d" % admitted, flush=True)
else:
    null = os.open("/dev/null", os.O_RDWR)
    body = struct.pack(">H", 0) + struct.pack(">I", 10) + b"sleep 1000" + b"\x00" + struct.pack(">HHH", 0, 0, 0)
    started, refused, message, conns = 0, 0, "", []
    for _ in range(n):
        s = connect()
        conns.append(s)
        try:
            s.sendmsg([frame(2, body)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [null] * 3))])
        except OSError:
            pass  # refused on arrival: the reason is waiting to be read
        s.settimeout(60)
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            # Refused while our frame was on its way: the kernel reports the reset before the
            # emperor's answer, which the next read returns.
            data = s.recv(65536)
        error = error_of(data)
        if error is None and data[3] == 0x81:
            started += 1
        else:
            refused += 1
            message = error or message
    print("started=%d refused=%d: %s" % (started, refused, message), flush=True)
    sys.stdin.readline()
