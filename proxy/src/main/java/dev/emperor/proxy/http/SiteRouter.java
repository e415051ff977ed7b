package dev.emperor.proxy.http;

import dev.emperor.proxy.AcmeChallenges;
import dev.emperor.proxy.ClientConnections;
import dev.emperor.proxy.SiteTable;
import dev.emperor.proxy.TenantAvailability;
import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.Upstream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Decides what happens to each request: ACME challenge answers first, then Host → tenant,
 * then the tenant's switches (HTTPS redirect, connection limits, maintenance, body size).
 * Requests it answers itself never reach the forwarder; their bodies are read and dropped.
 */
final class SiteRouter extends ChannelInboundHandlerAdapter {

    private static final String ACME_PREFIX = "/.well-known/acme-challenge/";

    private final Supplier<SiteTable> sites;
    private final TenantTraffic traffic;
    private final AcmeChallenges acme;
    private final TenantConnections connections;
    private final TenantAvailability availability;
    private final boolean overTls;
    private final boolean http2Stream;
    /** Told which tenant each request is for. */
    private final AccessLogHandler accessLog;
    /** The tenant whose connection slot this connection holds, or null. */
    private String slotTenant;
    private boolean dropBody;
    /**
     * The last request's Host header, its host name and the site it found in which table: a
     * keep-alive connection asks for the same host again and again, and the table only changes
     * when sites do (a new table, never an edited one).
     */
    private boolean looked;
    private String lookedHostHeader;
    private String lookedHost;
    private SiteTable lookedIn;
    private TenantSite lookedSite;

    SiteRouter(Supplier<SiteTable> sites, AcmeChallenges acme, TenantConnections connections,
               TenantAvailability availability, boolean overTls, boolean http2Stream, AccessLogHandler accessLog,
               TenantTraffic traffic) {
        this.traffic = traffic;
        this.sites = sites;
        this.acme = acme;
        this.connections = connections;
        this.availability = availability;
        this.overTls = overTls;
        this.http2Stream = http2Stream;
        this.accessLog = accessLog;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            dropBody = false;
            Routed routed = route(ctx, request);
            if (routed != null) {
                ctx.fireChannelRead(routed);
            } else {
                dropBody = true;
                ReferenceCountUtil.release(request);
            }
        } else if (msg instanceof HttpContent && dropBody) {
            if (msg instanceof LastHttpContent) {
                dropBody = false;
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(msg instanceof HttpRequest)) {
            ctx.fireChannelRead(msg);
        }
    }

    /** The route for {@code request}, or null after answering it here. */
    private Routed route(ChannelHandlerContext ctx, HttpRequest request) {
        String hostHeader = request.headers().get(HttpHeaderNames.HOST);
        if (!looked || !Objects.equals(hostHeader, lookedHostHeader)) {
            looked = true;
            lookedHostHeader = hostHeader;
            lookedHost = SiteTable.hostOf(hostHeader);
            lookedIn = null;
        }
        String host = lookedHost;
        String path = request.uri();

        if (path.startsWith(ACME_PREFIX) && request.method() == HttpMethod.GET && host != null) {
            Optional<String> answer = acme.keyAuthorization(host, path.substring(ACME_PREFIX.length()));
            FullHttpResponse response = answer.map(key -> ErrorPages.text(HttpResponseStatus.OK, key))
                    .orElseGet(() -> ErrorPages.page(HttpResponseStatus.NOT_FOUND));
            answer(ctx, request, response);
            return null;
        }
        SiteTable table = sites.get();
        if (table != lookedIn) {
            lookedIn = table;
            lookedSite = table.find(hostHeader);
        }
        TenantSite site = lookedSite;
        if (site == null) {
            answer(ctx, request, ErrorPages.page(HttpResponseStatus.NOT_FOUND));
            return null;
        }
        accessLog.tenant(site.tenant());
        // Every request routed to the tenant counts, whatever answers it (app, 503, 429, redirect).
        TenantTraffic.Counters counted = traffic.of(site.tenant());
        counted.requests.increment();
        if (site.redirectToHttps() && !overTls) {
            FullHttpResponse redirect = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.PERMANENT_REDIRECT);
            redirect.headers().set(HttpHeaderNames.LOCATION, "https://" + host + path)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
            answer(ctx, request, redirect);
            return null;
        }
        HttpResponseStatus full = holdSlot(ctx, site);
        if (full != null) {
            answer(ctx, request, ErrorPages.page(full), true);
            return null;
        }
        Upstream upstream = site.app();
        if (site.maintenance()) {
            if (site.maintenanceBackend() == null) {
                FullHttpResponse page = ErrorPages.page(HttpResponseStatus.SERVICE_UNAVAILABLE);
                page.headers().set(HttpHeaderNames.RETRY_AFTER, "120");
                answer(ctx, request, page);
                return null;
            }
            upstream = site.maintenanceBackend();
        } else {
            int retryAfter = availability.retryAfter(site.tenant());
            if (retryAfter >= 0) { // stopped, starting or backing off: say so now, not after a connect timeout
                FullHttpResponse page = ErrorPages.page(HttpResponseStatus.SERVICE_UNAVAILABLE);
                if (retryAfter > 0) page.headers().setInt(HttpHeaderNames.RETRY_AFTER, retryAfter);
                answer(ctx, request, page);
                return null;
            }
        }
        if (HttpUtil.getContentLength(request, 0L) > site.maxBodyBytes()) {
            // Close: the body is still coming and is not worth reading.
            answer(ctx, request, ErrorPages.page(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE), true);
            return null;
        }
        return new Routed(request, site, upstream, counted);
    }

    /**
     * Moves this connection's slot to the site's tenant: null, or 429 if this client already
     * holds its share of the site's connections (one client must never fill a site alone:
     * it used to take all 512 with idle keep-alive connections, and everyone else got 503),
     * or 503 if the tenant is full.
     */
    private HttpResponseStatus holdSlot(ChannelHandlerContext ctx, TenantSite site) {
        if (site.tenant().equals(slotTenant)) {
            return null;
        }
        ClientConnections.Client client = ClientConnections.of(ctx.channel());
        if (client != null && !client.holdSite(site.tenant(), site.maxConnections(), !http2Stream)) {
            return HttpResponseStatus.TOO_MANY_REQUESTS;
        }
        if (slotTenant != null) {
            connections.release(slotTenant);
            slotTenant = null;
        }
        if (!connections.tryAcquire(site.tenant(), site.maxConnections())) {
            return HttpResponseStatus.SERVICE_UNAVAILABLE;
        }
        slotTenant = site.tenant();
        return null;
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request, FullHttpResponse response) {
        answer(ctx, request, response, false);
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request, FullHttpResponse response, boolean close) {
        if (request.method() == HttpMethod.HEAD) {
            response.content().clear();
        }
        ErrorPages.send(ctx, response, close || (!http2Stream && !HttpUtil.isKeepAlive(request)));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (slotTenant != null) {
            connections.release(slotTenant);
            slotTenant = null;
        }
        ctx.fireChannelInactive();
    }
}
