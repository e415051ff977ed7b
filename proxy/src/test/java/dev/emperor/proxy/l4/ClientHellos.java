package dev.emperor.proxy.l4;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/** ClientHello bytes for tests: real ones from the JDK's TLS stack, and hand-made ones. */
final class ClientHellos {

    private ClientHellos() {}

    /** The first flight of a real JDK TLS client asking for {@code host} (null: no SNI). */
    static byte[] fromJdk(String host) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, null, null);
        SSLEngine engine = host == null ? context.createSSLEngine() : context.createSSLEngine(host, 443);
        engine.setUseClientMode(true);
        if (host != null) {
            SSLParameters params = engine.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName(host)));
            engine.setSSLParameters(params);
        }
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }

    /** A minimal ClientHello body with the given extensions block (null: none at all). */
    static byte[] body(byte[] extensions) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(3);
        b.write(3);
        b.writeBytes(new byte[32]); // random
        b.write(0); // session id
        u16(b, 2);
        b.write(0x13);
        b.write(0x01);
        b.write(1);
        b.write(0); // null compression
        if (extensions != null) {
            u16(b, extensions.length);
            b.writeBytes(extensions);
        }
        return b.toByteArray();
    }

    /** An extension: type, length, data. */
    static byte[] extension(int type, byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        u16(b, type);
        u16(b, data.length);
        b.writeBytes(data);
        return b.toByteArray();
    }

    /** server_name extension data holding the given host names (type 0). */
    static byte[] serverNames(String... names) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (String n : names) {
            list.write(0);
            u16(list, n.length());
            list.writeBytes(n.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        u16(b, list.size());
        b.writeBytes(list.toByteArray());
        return b.toByteArray();
    }

    /** A handshake message (type 1) around the body. */
    static byte[] handshake(byte[] body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(1);
        b.write(body.length >>> 16);
        b.write(body.length >>> 8);
        b.write(body.length);
        b.writeBytes(body);
        return b.toByteArray();
    }

    /** The handshake bytes cut into TLS records of at most {@code chunk} bytes each. */
    static byte[] records(byte[] handshake, int chunk) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < handshake.length; i += chunk) {
            int n = Math.min(chunk, handshake.length - i);
            b.write(22);
            b.write(3);
            b.write(1);
            u16(b, n);
            b.write(handshake, i, n);
        }
        return b.toByteArray();
    }

    static byte[] helloWithSni(String... names) {
        return records(handshake(body(extension(0, serverNames(names)))), 1 << 14);
    }

    /** Joins the record fragments of a single-record message and re-cuts them. */
    static byte[] recut(byte[] singleRecord, int chunk) {
        byte[] handshake = java.util.Arrays.copyOfRange(singleRecord, 5, singleRecord.length);
        return records(handshake, chunk);
    }

    private static void u16(ByteArrayOutputStream b, int v) {
        b.write(v >>> 8);
        b.write(v);
    }
}
