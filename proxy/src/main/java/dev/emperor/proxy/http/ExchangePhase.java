package dev.emperor.proxy.http;

/**
 * Where one proxied exchange (a request and its response) stands: the {@link Forwarder}'s
 * whole state for it, in place of flags. The request going up and the response coming down
 * overlap (an app may answer before the request body is all sent), so each combination that
 * can occur is a phase of its own. Each event gives the next phase, or throws
 * {@link IllegalStateException} where it cannot happen: that is a bug in the caller, never
 * something a client or an app can cause (the Forwarder ignores events for an exchange that
 * is {@link #over()}).
 *
 * <pre>
 *   CONNECTING ──request read──▶ CONNECTING_REQUEST_READ
 *       │ connected                     │ connected
 *       ▼                               ▼
 *   SENDING_BODY ──request read──▶ AWAITING_RESPONSE ──101──▶ UPGRADED
 *       │ head (app answers early)      │ head
 *       ▼                               ▼
 *   RESPONDING_EARLY ─request read─▶ RESPONDING ──response end──▶ DONE
 *   (RESPONDING_EARLY ──response end──▶ DONE; SENDING_BODY ──101──▶ UPGRADED)
 *   any phase that is not over ──failure, client gone──▶ ABORTED
 * </pre>
 */
enum ExchangePhase {
    /** Waiting for an upstream connection; the request body read so far is held. */
    CONNECTING,
    /** Waiting for an upstream connection; the whole request is read and held. */
    CONNECTING_REQUEST_READ,
    /** The request goes up as its body arrives; no response yet. */
    SENDING_BODY,
    /** The request is all sent; its response head must come within the response timeout. */
    AWAITING_RESPONSE,
    /** The response goes down while the request body still comes (the client is closed after it). */
    RESPONDING_EARLY,
    /** The response goes down; the request is all sent. */
    RESPONDING,
    /** The response is written whole; the upstream went back to the pool or was closed. */
    DONE,
    /** The app switched protocols (WebSocket): the pair is a byte relay now, without HTTP. */
    UPGRADED,
    /** Ended early: an error page or a close went to the client, the upstream was closed. */
    ABORTED;

    /** A new exchange; an HTTP/2 request without a body arrives whole. */
    static ExchangePhase start(boolean requestWhole) {
        return requestWhole ? CONNECTING_REQUEST_READ : CONNECTING;
    }

    /** The request's last piece came from the client. */
    ExchangePhase requestRead() {
        return switch (this) {
            case CONNECTING -> CONNECTING_REQUEST_READ;
            case SENDING_BODY -> AWAITING_RESPONSE;
            case RESPONDING_EARLY -> RESPONDING;
            default -> throw invalid("the request's end");
        };
    }

    /** The exchange has its upstream connection. */
    ExchangePhase connected() {
        return switch (this) {
            case CONNECTING -> SENDING_BODY;
            case CONNECTING_REQUEST_READ -> AWAITING_RESPONSE;
            default -> throw invalid("an upstream connection");
        };
    }

    /** The app's final response head (not a 101) came. */
    ExchangePhase responseBegan() {
        return switch (this) {
            case SENDING_BODY -> RESPONDING_EARLY;
            case AWAITING_RESPONSE -> RESPONDING;
            default -> throw invalid("a response head");
        };
    }

    /** The response's last byte is written. */
    ExchangePhase responseEnded() {
        return switch (this) {
            case RESPONDING_EARLY, RESPONDING -> DONE;
            default -> throw invalid("the response's end");
        };
    }

    /** The app answered a WebSocket upgrade with 101. */
    ExchangePhase upgraded() {
        return switch (this) {
            case SENDING_BODY, AWAITING_RESPONSE -> UPGRADED;
            default -> throw invalid("a 101");
        };
    }

    /** A failure, a timeout or the client's close ends the exchange early. */
    ExchangePhase aborted() {
        if (over()) {
            throw invalid("an abort");
        }
        return ABORTED;
    }

    /** Nothing more happens to this exchange: events for it come late and are ignored. */
    boolean over() {
        return this == DONE || this == UPGRADED || this == ABORTED;
    }

    /** The client still sends request body: it goes upstream (or is held while connecting). */
    boolean requestBodyOwed() {
        return this == CONNECTING || this == SENDING_BODY || this == RESPONDING_EARLY;
    }

    /** No upstream connection yet: body pieces are held. */
    boolean connecting() {
        return this == CONNECTING || this == CONNECTING_REQUEST_READ;
    }

    /** Response bytes may have gone to the client: a failure now can only close it, never send a page. */
    boolean responseBegun() {
        return this == RESPONDING_EARLY || this == RESPONDING;
    }

    private IllegalStateException invalid(String event) {
        return new IllegalStateException(event + " cannot come while the exchange is " + this);
    }
}
