package dev.emperor.proxy.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Locale;

/**
 * Finds the server name (SNI, RFC 6066) in the first bytes a TLS client sends, without
 * consuming them: the bytes are relayed to the tenant unchanged afterwards.
 *
 * <p>The input comes from anyone on the internet, so this never throws and never trusts a
 * length: every length is checked against what is actually there. The ClientHello may be
 * split over several TLS records (large post-quantum key shares do that), which are joined.
 */
public final class ClientHelloSni {

    /** What the bytes so far say. */
    public enum Status {
        /** Looks like TLS so far, but the ClientHello is not complete yet: read more. */
        NEED_MORE,
        /** A complete ClientHello with a host name; {@link Result#serverName()} holds it. */
        FOUND,
        /** A complete, well-formed ClientHello without a server name. */
        NO_SNI,
        /** Not TLS, or a malformed ClientHello; {@link Result#reason()} says why. */
        INVALID
    }

    /**
     * @param serverName the host name, lower case, trailing dot removed (FOUND only)
     * @param reason     why the input was refused (INVALID only)
     */
    public record Result(Status status, String serverName, String reason) {
        static final Result NEED_MORE = new Result(Status.NEED_MORE, null, null);
        static final Result NO_SNI = new Result(Status.NO_SNI, null, null);

        static Result found(String name) {
            return new Result(Status.FOUND, name, null);
        }

        static Result invalid(String reason) {
            return new Result(Status.INVALID, null, reason);
        }
    }

    private static final int RECORD_HEADER = 5;
    private static final int CONTENT_HANDSHAKE = 22;
    private static final int HANDSHAKE_CLIENT_HELLO = 1;
    private static final int MAX_RECORD = 1 << 14; // RFC 8446 5.1: plaintext records are at most 2^14 bytes
    private static final int EXTENSION_SERVER_NAME = 0;
    private static final int NAME_TYPE_HOST = 0;
    private static final int MAX_HOST_NAME = 253;

    private ClientHelloSni() {}

    public static Result parse(byte[] data) {
        return parse(Unpooled.wrappedBuffer(data));
    }

    /** Looks at the readable bytes of {@code in} without moving its indexes. */
    public static Result parse(ByteBuf in) {
        try {
            return parseRecords(in, in.readerIndex(), in.writerIndex());
        } catch (IndexOutOfBoundsException e) {
            // Every read below is bounds-checked first; this is the net under a mistake there.
            return Result.invalid("malformed ClientHello");
        }
    }

    /** Joins the handshake fragments of consecutive records until the ClientHello is whole. */
    private static Result parseRecords(ByteBuf in, int pos, int end) {
        ByteBuf handshake = Unpooled.buffer(0);
        int needed = -1; // total handshake bytes (4-byte header + body), once the header is known
        while (true) {
            if (end - pos < 1) {
                return Result.NEED_MORE;
            }
            if (in.getUnsignedByte(pos) != CONTENT_HANDSHAKE) {
                return Result.invalid(pos == in.readerIndex() ? "not a TLS handshake" : "unexpected TLS record type");
            }
            if (end - pos >= 2 && in.getUnsignedByte(pos + 1) != 3) {
                return Result.invalid("not a TLS handshake (record version)");
            }
            if (end - pos < RECORD_HEADER) {
                return Result.NEED_MORE;
            }
            int length = in.getUnsignedShort(pos + 3);
            if (length == 0 || length > MAX_RECORD) {
                return Result.invalid("bad TLS record length " + length);
            }
            int available = Math.min(length, end - pos - RECORD_HEADER);
            handshake.writeBytes(in, pos + RECORD_HEADER, available);
            if (needed < 0 && handshake.readableBytes() >= 4) {
                if (handshake.getUnsignedByte(0) != HANDSHAKE_CLIENT_HELLO) {
                    return Result.invalid("first handshake message is not a ClientHello");
                }
                needed = 4 + handshake.getUnsignedMedium(1);
            }
            if (needed >= 0 && handshake.readableBytes() >= needed) {
                return parseClientHello(handshake.slice(4, needed - 4));
            }
            if (available < length) {
                return Result.NEED_MORE; // this record is not complete yet
            }
            pos += RECORD_HEADER + length;
        }
    }

    /** The ClientHello body (RFC 8446 4.1.2; TLS 1.0-1.2 have the same layout). */
    private static Result parseClientHello(ByteBuf body) {
        Reader r = new Reader(body);
        if (!r.skip(2 + 32)) { // legacy_version, random
            return Result.invalid("ClientHello too short");
        }
        int sessionId = r.u8();
        if (sessionId < 0 || sessionId > 32 || !r.skip(sessionId)) {
            return Result.invalid("bad session id");
        }
        int suites = r.u16();
        if (suites < 2 || suites % 2 != 0 || !r.skip(suites)) {
            return Result.invalid("bad cipher suites");
        }
        int compression = r.u8();
        if (compression < 1 || !r.skip(compression)) {
            return Result.invalid("bad compression methods");
        }
        if (r.remaining() == 0) {
            return Result.NO_SNI; // TLS 1.0-1.2 hellos may carry no extensions at all
        }
        int extensionsLength = r.u16();
        if (extensionsLength < 0 || extensionsLength != r.remaining()) {
            return Result.invalid("bad extensions length");
        }
        String name = null;
        while (r.remaining() > 0) {
            int type = r.u16();
            int length = r.u16();
            if (length < 0 || length > r.remaining()) {
                return Result.invalid("bad extension length");
            }
            if (type == EXTENSION_SERVER_NAME) {
                if (name != null) {
                    return Result.invalid("server_name extension given twice");
                }
                Result sni = parseServerName(new Reader(r.slice(length)));
                if (sni.status() != Status.FOUND) {
                    return sni;
                }
                name = sni.serverName();
            }
            r.skip(length);
        }
        return name == null ? Result.NO_SNI : Result.found(name);
    }

    /** The server_name extension: a list that may hold one host name (RFC 6066 section 3). */
    private static Result parseServerName(Reader r) {
        int listLength = r.u16();
        if (listLength < 0 || listLength != r.remaining() || listLength == 0) {
            return Result.invalid("bad server name list");
        }
        String host = null;
        while (r.remaining() > 0) {
            int type = r.u8();
            int length = r.u16();
            if (length < 1 || length > r.remaining()) {
                return Result.invalid("bad server name length");
            }
            ByteBuf nameBytes = r.slice(length);
            r.skip(length);
            if (type != NAME_TYPE_HOST) {
                continue; // unknown name types are allowed and ignored
            }
            if (host != null) {
                // Two names would let us check one while the tenant's server uses the other.
                return Result.invalid("more than one host name");
            }
            host = hostName(nameBytes);
            if (host == null) {
                return Result.invalid("server name is not a DNS host name");
            }
        }
        return host == null ? Result.NO_SNI : Result.found(host);
    }

    /** A DNS name in ASCII (IDNs arrive as xn-- labels), lower-cased; null if it is not one. */
    private static String hostName(ByteBuf bytes) {
        int length = bytes.readableBytes();
        if (length > 0 && bytes.getByte(bytes.readerIndex() + length - 1) == '.') {
            length--;
        }
        if (length < 1 || length > MAX_HOST_NAME) {
            return null;
        }
        StringBuilder name = new StringBuilder(length);
        char previous = '.';
        for (int i = 0; i < length; i++) {
            char c = (char) bytes.getUnsignedByte(bytes.readerIndex() + i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || (c == '.' && previous != '.');
            if (!ok) {
                return null;
            }
            name.append(c);
            previous = c;
        }
        if (previous == '.') {
            return null;
        }
        return name.toString().toLowerCase(Locale.ROOT);
    }

    /** Bounds-checked big-endian reads; -1 (or false) when the bytes are not there. */
    private static final class Reader {
        private final ByteBuf buf;
        private int pos;
        private final int end;

        Reader(ByteBuf buf) {
            this.buf = buf;
            this.pos = buf.readerIndex();
            this.end = buf.writerIndex();
        }

        int remaining() {
            return end - pos;
        }

        boolean skip(int n) {
            if (n < 0 || n > remaining()) {
                return false;
            }
            pos += n;
            return true;
        }

        int u8() {
            return remaining() < 1 ? -1 : buf.getUnsignedByte(pos++);
        }

        int u16() {
            if (remaining() < 2) {
                pos = end;
                return -1;
            }
            int v = buf.getUnsignedShort(pos);
            pos += 2;
            return v;
        }

        ByteBuf slice(int n) {
            return buf.slice(pos, Math.min(n, remaining()));
        }
    }
}
