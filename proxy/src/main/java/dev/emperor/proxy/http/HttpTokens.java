package dev.emperor.proxy.http;

/**
 * RFC 9110 character classes: token characters (5.6.2), all a method or a header name may be
 * made of; and the control characters no field value may hold.
 */
final class HttpTokens {

    private static final boolean[] TOKEN = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    private HttpTokens() {
    }

    static boolean isToken(byte b) {
        return b >= 0 && TOKEN[b];
    }

    /** A control character other than HTAB (obs-text, bytes 0x80 and up, is allowed). */
    static boolean isControl(byte c) {
        return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
    }
}
