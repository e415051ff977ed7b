package dev.emperor.proxy.http;

import dev.emperor.proxy.TenantSite;
import dev.emperor.proxy.TenantTraffic;
import dev.emperor.proxy.Upstream;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A request head the router accepted, with where it goes and the tenant's traffic counters.
 * Its body follows as HttpContent.
 */
record Routed(HttpRequest request, TenantSite site, Upstream upstream, TenantTraffic.Counters traffic) {
}
