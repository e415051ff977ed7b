package dev.emperor.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * The fast path of {@link StrictRequestDecoder}: a whole request head, in one array, that is
 * plainly well-formed and announces no body becomes a request in one pass over its bytes.
 * Anything else (a body, an unusual version, a character Netty's strict parser might judge
 * differently, a head over the limits) returns null and goes to Netty's decoder as before, so
 * this path never accepts what the strict decoder would refuse: it only accepts less.
 *
 * <p>Accepted: {@code token SP target SP HTTP/1.x CRLF}, the target visible ASCII; header
 * lines {@code token ":" OWS value OWS CRLF} whose values hold no control character but HTAB;
 * no Content-Length and no Transfer-Encoding. Names and values are
 * kept as sent (values without the surrounding whitespace), as Netty's decoder keeps them.
 */
final class BodilessRequestHead {

    /** Checked here, so not again by the headers. */
    private static final DefaultHttpHeadersFactory UNCHECKED =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
    private static final AsciiString TRANSFER_ENCODING = AsciiString.cached("transfer-encoding");
    /**
     * Header names as browsers, curl and HTTP/2 gateways spell them, shared rather than copied
     * per request (a browser sends a dozen); matched byte for byte, so the name goes on as sent.
     */
    private static final AsciiString[][] COMMON_NAMES = new AsciiString[32][];

    static {
        String[] names = {"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection",
            "Referer", "Cookie", "Cache-Control", "Pragma", "Origin", "Authorization", "If-None-Match",
            "If-Modified-Since", "Upgrade-Insecure-Requests", "DNT", "Priority", "Sec-Fetch-Site", "Sec-Fetch-Mode",
            "Sec-Fetch-Dest", "Sec-Fetch-User", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform"};
        java.util.List<AsciiString> all = new java.util.ArrayList<>();
        for (String name : names) {
            all.add(AsciiString.cached(name));
            all.add(AsciiString.cached(name.toLowerCase(java.util.Locale.ROOT)));
        }
        for (AsciiString name : all) {
            AsciiString[] same = COMMON_NAMES[name.length()];
            if (same == null) {
                COMMON_NAMES[name.length()] = new AsciiString[] {name};
            } else if (!java.util.Arrays.asList(same).contains(name)) {
                same = java.util.Arrays.copyOf(same, same.length + 1);
                same[same.length - 1] = name;
                COMMON_NAMES[name.length()] = same;
            }
        }
    }

    private BodilessRequestHead() {
    }

    /**
     * The request in {@code b[0, end)}, a head ending with its blank line, or null when the
     * strict decoder should judge it.
     *
     * @param maxRequestLine the longest request line the decoder takes (longer: 414 there)
     * @param maxHeaderBytes the most header bytes the decoder takes (more: 431 there)
     */
    static FullHttpRequest parse(byte[] b, int end, int maxRequestLine, int maxHeaderBytes) {
        int i = 0;
        while (i < end && HttpTokens.isToken(b[i])) {
            i++;
        }
        int methodEnd = i;
        if (methodEnd == 0 || i >= end || b[i] != ' ') {
            return null;
        }
        int targetFrom = ++i;
        while (i < end && b[i] > ' ' && b[i] != 0x7f) {
            i++;
        }
        int targetEnd = i;
        if (targetEnd == targetFrom || i >= end || b[i] != ' ') {
            return null;
        }
        i++;
        if (i + 10 > end || b[i] != 'H' || b[i + 1] != 'T' || b[i + 2] != 'T' || b[i + 3] != 'P' || b[i + 4] != '/'
                || b[i + 5] != '1' || b[i + 6] != '.' || (b[i + 7] != '1' && b[i + 7] != '0')
                || b[i + 8] != '\r' || b[i + 9] != '\n') {
            return null;
        }
        HttpVersion version = b[i + 7] == '1' ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0;
        i += 10;
        int headersFrom = i;
        // Counted with their line ends, so never less than the decoder counts: near a limit it decides.
        if (headersFrom > maxRequestLine || end - headersFrom > maxHeaderBytes) {
            return null;
        }
        HttpHeaders headers = UNCHECKED.newHeaders();
        while (true) {
            if (i + 1 >= end) {
                return null;
            }
            if (b[i] == '\r') {
                // The blank line: it must be the head's very end.
                return b[i + 1] == '\n' && i + 2 == end
                        ? request(b, methodEnd, targetFrom, targetEnd, version, headers) : null;
            }
            int nameFrom = i;
            while (i < end && HttpTokens.isToken(b[i])) {
                i++;
            }
            if (i == nameFrom || i >= end || b[i] != ':') {
                return null;
            }
            int nameEnd = i++;
            while (i < end && (b[i] == ' ' || b[i] == '\t')) {
                i++;
            }
            int valueFrom = i;
            int valueEnd = i;
            while (i < end && b[i] != '\r') {
                byte c = b[i];
                if (HttpTokens.isControl(c)) {
                    return null; // a bare LF among them: the strict decoder refuses it
                }
                if (c != ' ' && c != '\t') {
                    valueEnd = i + 1;
                }
                i++;
            }
            if (i + 1 >= end || b[i + 1] != '\n') {
                return null;
            }
            i += 2;
            AsciiString name = name(b, nameFrom, nameEnd - nameFrom);
            if (name.contentEqualsIgnoreCase(TRANSFER_ENCODING) || name.contentEqualsIgnoreCase(CONTENT_LENGTH)) {
                return null; // a body, or the framing questions only the strict decoder answers
            }
            headers.add(name, new String(b, valueFrom, valueEnd - valueFrom, StandardCharsets.ISO_8859_1));
        }
    }

    private static FullHttpRequest request(byte[] b, int methodEnd, int targetFrom, int targetEnd, HttpVersion version,
                                           HttpHeaders headers) {
        return new DefaultFullHttpRequest(version, method(b, methodEnd),
                new String(b, targetFrom, targetEnd - targetFrom, StandardCharsets.ISO_8859_1),
                Unpooled.EMPTY_BUFFER, headers, EmptyHttpHeaders.INSTANCE);
    }

    /** The shared instance of a common name, else a copy of the bytes. */
    private static AsciiString name(byte[] b, int from, int length) {
        AsciiString[] candidates = length < COMMON_NAMES.length ? COMMON_NAMES[length] : null;
        if (candidates != null) {
            for (AsciiString candidate : candidates) {
                if (java.util.Arrays.equals(candidate.array(), candidate.arrayOffset(), candidate.arrayOffset() + length,
                        b, from, from + length)) {
                    return candidate;
                }
            }
        }
        return new AsciiString(b, from, length, true);
    }

    private static HttpMethod method(byte[] b, int length) {
        if (length == 3 && b[0] == 'G' && b[1] == 'E' && b[2] == 'T') {
            return HttpMethod.GET;
        }
        return HttpMethod.valueOf(new String(b, 0, length, StandardCharsets.ISO_8859_1));
    }
}
