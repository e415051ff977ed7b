package dev.emperor.proxy.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Real backends for the proxy tests: a JDK HTTP server on TCP, a Netty one on a unix socket. */
final class Backends {

    private Backends() {
    }

    /** JDK HttpServer: echoes who it is, the peer port and the headers; a few special paths. */
    static final class Tcp implements AutoCloseable {
        final HttpServer server;
        final String name;
        final Queue<String> requests = new ConcurrentLinkedQueue<>();
        final Set<Integer> peerPorts = ConcurrentHashMap.newKeySet();
        /** Paths of requests whose body ended early (the proxy closed the connection). */
        final Queue<String> brokenRequests = new ConcurrentLinkedQueue<>();
        /** Paths of /big responses the proxy stopped taking halfway (it closed the connection). */
        final Queue<String> brokenResponses = new ConcurrentLinkedQueue<>();
        private final ExecutorService executor = Executors.newCachedThreadPool();

        Tcp(String name) throws IOException {
            this.name = name;
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
            server.createContext("/", this::handle);
            server.setExecutor(executor);
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        private void handle(HttpExchange exchange) throws IOException {
            String path = exchange.getRequestURI().toString();
            requests.add(exchange.getRequestMethod() + " " + path);
            peerPorts.add(exchange.getRemoteAddress().getPort());
            long received;
            try (InputStream body = exchange.getRequestBody()) {
                received = body.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                brokenRequests.add(path);
                throw e;
            }
            if (path.startsWith("/slow")) {
                sleep(Long.parseLong(path.substring("/slow/".length()).split("\\?")[0])); // a query may tell requests apart
            }
            if (path.startsWith("/big/")) {
                long size = Long.parseLong(path.substring("/big/".length()));
                exchange.sendResponseHeaders(200, 0); // chunked
                byte[] block = new byte[65536];
                try (OutputStream out = exchange.getResponseBody()) {
                    for (long left = size; left > 0; left -= block.length) {
                        out.write(block, 0, (int) Math.min(block.length, left));
                    }
                } catch (IOException e) {
                    brokenResponses.add(path);
                    throw e;
                }
                return;
            }
            StringBuilder text = new StringBuilder("backend=" + name + "\nbody=" + received + "\n");
            Map<String, String> headers = new TreeMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join("|", v)));
            headers.forEach((k, v) -> text.append("h.").append(k).append('=').append(v).append('\n'));
            byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }

        @Override
        public void close() {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    /** Netty on a unix socket: "backend=NAME" for HTTP, and a text echo WebSocket at /ws. */
    static final class Unix implements AutoCloseable {
        final Path path;
        final Channel channel;

        Unix(EventLoopGroup group, Path path, String name) throws InterruptedException {
            this.path = path;
            channel = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                    new WebSocketServerProtocolHandler("/ws"),
                                    new SimpleChannelInboundHandler<FullHttpRequest>() {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                            byte[] body = ("backend=" + name + "\n").getBytes(StandardCharsets.UTF_8);
                                            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                    HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                                            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                                            ctx.writeAndFlush(res);
                                        }
                                    },
                                    new SimpleChannelInboundHandler<TextWebSocketFrame>() {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame f) {
                                            ctx.writeAndFlush(new TextWebSocketFrame(name + ":" + f.text()));
                                        }
                                    });
                        }
                    }).bind(new DomainSocketAddress(path.toString())).sync().channel();
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
