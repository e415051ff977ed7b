package dev.emperor.proxy.l4;

import dev.emperor.proxy.Upstream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A small blocking server for tests (TCP on 127.0.0.1 or a unix socket): each connection is
 * handled on its own thread by a {@link Behaviour}. Records what each connection received.
 */
final class Backend implements AutoCloseable {

    interface Behaviour {
        void serve(InputStream in, OutputStream out, Backend backend) throws IOException;
    }

    /** Echoes every byte back until the client ends its output, then ends its own. */
    static final Behaviour ECHO = (in, out, b) -> in.transferTo(out);

    /** Reads until EOF, records what it got, answers "NAME:COUNT", then closes. */
    static Behaviour countThenAnswer(String name) {
        return (in, out, b) -> {
            byte[] all = in.readAllBytes();
            b.received.add(all);
            out.write((name + ":" + all.length).getBytes());
        };
    }

    final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final ServerSocketChannel server;
    private final Upstream upstream;
    private final Thread acceptor;
    private volatile int socketBuffers;

    private Backend(ServerSocketChannel server, Upstream upstream, Behaviour behaviour) {
        this.server = server;
        this.upstream = upstream;
        this.acceptor = Thread.ofPlatform().daemon().start(() -> acceptLoop(behaviour));
    }

    static Backend tcp(Behaviour behaviour) throws IOException {
        return tcp(behaviour, 0);
    }

    /**
     * @param socketBuffers SO_RCVBUF and SO_SNDBUF of every accepted connection (0: the kernel's
     *                      default); small buffers make the proxy wait for room on every write
     */
    static Backend tcp(Behaviour behaviour, int socketBuffers) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        if (socketBuffers > 0) {
            s.setOption(StandardSocketOptions.SO_RCVBUF, socketBuffers); // inherited by accepted sockets
        }
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int port = ((InetSocketAddress) s.getLocalAddress()).getPort();
        Backend backend = new Backend(s, new Upstream.Tcp("127.0.0.1", port), behaviour);
        backend.socketBuffers = socketBuffers;
        return backend;
    }

    static Backend unix(Path path, Behaviour behaviour) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        return new Backend(s, new Upstream.UnixSocket(path), behaviour);
    }

    Upstream upstream() {
        return upstream;
    }

    private void acceptLoop(Behaviour behaviour) {
        while (server.isOpen()) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> {
                try (c) {
                    if (socketBuffers > 0) {
                        c.setOption(StandardSocketOptions.SO_SNDBUF, socketBuffers);
                    }
                    InputStream in = Channels.newInputStream(c);
                    OutputStream out = Channels.newOutputStream(c);
                    behaviour.serve(in, out, this);
                    c.shutdownOutput();
                    // keep the socket until the client is done, so our FIN is not a reset
                    in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                    // the test on the other end reports what went wrong
                }
            });
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /** A port on 127.0.0.1 that was free a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toByteArray();
    }
}
