package dev.emperor.proxy.http;

import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Raw HTTP/2 connections over TLS from the JDK, for tests that need one doing nothing. */
final class Http2Sockets {

    private Http2Sockets() {
    }

    /** A TLS connection to 127.0.0.1:{@code port} that agreed on h2 (the test certificate is not checked). */
    static SSLSocket handshake(int port) throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLSocket socket = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", port);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {"h2"});
        socket.setSSLParameters(parameters);
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        return socket;
    }

    /** The client preface and an empty SETTINGS frame: an HTTP/2 connection with no stream. */
    static void prefaceAndSettings(SSLSocket socket) throws IOException {
        socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
        socket.getOutputStream().flush();
    }

    /** True if the server closes (EOF or reset) within the socket's timeout; frames before that are skipped. */
    static boolean closedByPeer(SSLSocket socket) throws IOException {
        try {
            while (socket.getInputStream().read(new byte[4096]) >= 0) {
                // the server's SETTINGS, its ACK of ours, a GOAWAY
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
