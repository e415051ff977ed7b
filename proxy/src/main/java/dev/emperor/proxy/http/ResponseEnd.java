package dev.emperor.proxy.http;

/**
 * Written to an HTTP/1.1 client pipeline after the last bytes of a relayed response (which
 * go out as plain bytes, not Netty's HTTP objects): tells the handlers that care (access log,
 * pipelining gate) that the response is complete. {@link ResponseWriter} drops it.
 *
 * @param status    the status the client got
 * @param bodyBytes the body's length, without any chunk framing
 */
record ResponseEnd(int status, long bodyBytes) {
}
