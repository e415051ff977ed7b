package dev.emperor.tests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The web tests' tenant app and the host-side clients that talk to it through the emperor's
 * front proxy. The app is a python3 script (the bookworm test distro's python3-minimal has no
 * http.server, so HTTP and WebSocket are done by hand) that the tests put in the emperor's
 * opt-dir, where every tenant sees it as /opt/app.py. On /run/app.sock it answers:
 * <ul>
 *   <li>{@code /page.html}: an HTML page saying "hello from NAME" whose script writes the
 *       protocol the browser used ({@code protocol=h2}) into the page;</li>
 *   <li>{@code /big}: 4 MiB of 'x' (for slow readers);</li>
 *   <li>a WebSocket handshake on any path: an RFC 6455 text echo, "NAME echoes TEXT";</li>
 *   <li>anything else: "hello from NAME xff=X-FORWARDED-FOR", after reading any request body
 *       to its end, as a real app would;</li>
 * </ul>
 * and echoes lines on TCP port 7000 of its own address.
 */
final class TenantWebApp {
    static final String SCRIPT = """
            import base64, hashlib, os, socket, struct, sys, threading
            name = sys.argv[1]
            BIG = b"x" * (4 << 20)
            PAGE = ("<!DOCTYPE html><html><head><title>%s</title></head><body><p>hello from %s</p>"
                    "<p id=proto>protocol unknown</p><script>document.getElementById('proto').textContent ="
                    " 'protocol=' + performance.getEntriesByType('navigation')[0].nextHopProtocol;</script>"
                    "</body></html>" % (name, name)).encode()
            def respond(conn, ctype, body):
                conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: " + ctype + b"\\r\\nContent-Length: "
                             + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
            def websocket(conn, key):
                accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
                conn.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                             b"Sec-WebSocket-Accept: " + accept + b"\\r\\n\\r\\n")
                stream = conn.makefile("rb")
                def send(opcode, data):
                    n = len(data)
                    size = bytes([n]) if n < 126 else (b"\\x7e" + struct.pack("!H", n) if n < 65536 else b"\\x7f" + struct.pack("!Q", n))
                    conn.sendall(bytes([0x80 | opcode]) + size + data)
                while True:
                    head = stream.read(2)
                    if len(head) < 2:
                        break
                    opcode, n = head[0] & 0x0f, head[1] & 0x7f
                    if n == 126:
                        n = struct.unpack("!H", stream.read(2))[0]
                    elif n == 127:
                        n = struct.unpack("!Q", stream.read(8))[0]
                    mask = stream.read(4) if head[1] & 0x80 else b"\\0\\0\\0\\0"
                    data = bytes(b ^ mask[i % 4] for i, b in enumerate(stream.read(n)))
                    if opcode == 8:
                        send(8, data[:2])
                        break
                    if opcode == 9:
                        send(10, data)
                    elif opcode == 1:
                        send(1, ("%s echoes %s" % (name, data.decode())).encode())
                conn.close()
            def page(conn):
                # HTTP/1.1 with keep-alive, by hand
                buf = b""
                while True:
                    while b"\\r\\n\\r\\n" not in buf:
                        data = conn.recv(65536)
                        if not data:
                            conn.close()
                            return
                        buf += data
                    head, buf = buf.split(b"\\r\\n\\r\\n", 1)
                    lines = head.decode("latin-1").split("\\r\\n")
                    path = lines[0].split(" ")[1] if lines[0].count(" ") >= 2 else "/"
                    headers = {}
                    for line in lines[1:]:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                    if headers.get("upgrade", "").lower() == "websocket":
                        websocket(conn, headers.get("sec-websocket-key", ""))
                        return
                    length = int(headers.get("content-length", "0"))
                    while len(buf) < length:
                        data = conn.recv(65536)
                        if not data:
                            conn.close()
                            return
                        buf += data
                    buf = buf[length:]
                    if path == "/big":
                        respond(conn, b"application/octet-stream", BIG)
                    elif path == "/page.html":
                        respond(conn, b"text/html; charset=utf-8", PAGE)
                    else:
                        respond(conn, b"text/plain", ("hello from %s xff=%s\\n" % (name, headers.get("x-forwarded-for"))).encode())
            def echo(conn):
                while True:
                    data = conn.recv(65536)
                    if not data:
                        conn.close()
                        return
                    conn.sendall(data)
            def serve(listener, handler):
                while True:
                    conn, _ = listener.accept()
                    threading.Thread(target=handler, args=(conn,), daemon=True).start()
            tcp = socket.socket()
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(("0.0.0.0", 7000))
            tcp.listen(64)
            threading.Thread(target=serve, args=(tcp, echo), daemon=True).start()
            try:
                os.unlink("/run/app.sock")
            except FileNotFoundError:
                pass
            unix = socket.socket(socket.AF_UNIX)
            unix.bind("/run/app.sock")
            unix.listen(1024)
            serve(unix, page)
            """;

    private TenantWebApp() {
    }

    /** Puts the app in a fresh opt-dir under the emperor's root and points the emperor at it; call before start. */
    static void install(EmperorProcess emperor) {
        try {
            Path opt = Files.createDirectories(emperor.root().resolve("opt"));
            Files.writeString(opt.resolve("app.py"), SCRIPT);
            emperor.set("opt-dir", opt.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the vassal file of a bookworm tenant running the app, plus {@code extra} lines. */
    static void tenant(EmperorProcess emperor, String name, String... extra) {
        List<String> lines = new ArrayList<>(List.of("exec = /usr/bin/python3 /opt/app.py " + name, "distro = bookworm"));
        lines.addAll(List.of(extra));
        emperor.vassal(name, lines.toArray(String[]::new));
    }

    /** One curl answer: the status line's code and protocol, and headers + body. */
    record Curl(String status, String protocol, String text) {}

    /** {@code curl -s -i} of {@code host}'s {@code path} on the emperor's HTTP(S) port, the name --resolve'd to 127.0.0.1. */
    static Curl curl(EmperorProcess emperor, String host, boolean https, String path, String... extra) {
        int port = https ? emperor.httpsPort() : emperor.httpPort();
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-i", "--max-time", "10",
                "--resolve", host + ":" + port + ":127.0.0.1"));
        cmd.addAll(List.of(extra));
        cmd.add((https ? "https://" : "http://") + host + ":" + port + path);
        String out = run(cmd);
        String[] first = out.split("\r?\n", 2)[0].split(" ");
        return new Curl(first.length > 1 ? first[1] : "", first[0], out);
    }

    /** Runs a host command to its end (at most 60 s) and returns its output, stderr included. */
    /** Sends one line to the app's echo (port 7000) through a public port and returns the line it answers. */
    static String echo(int port, String line) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(5000);
            s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        }
    }

    static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
