package dev.emperor.proxy.l4;

import io.netty.channel.Channel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The PROXY protocol v2 header (HAProxy's spec, section 2.2) a public port with
 * {@code proxy-protocol} sends to the tenant before any byte of the client: signature,
 * version 2 with command PROXY (0x21), TCP over IPv4 (0x11) or IPv6 (0x21), then the client's
 * address and port and the public address and port it connected to. Encoded by Netty's
 * {@link HAProxyMessageEncoder}.
 *
 * <p>Only the proxy writes it, first on the upstream connection, before the client's bytes are
 * relayed: a client that sends a PROXY header of its own only ever puts it after the real one,
 * where a PROXY-aware server reads it as the client's data, never as a header.
 */
final class ProxyHeader {

    private ProxyHeader() {
    }

    /** The header for a connection from {@code client} to the public address {@code local}. */
    static HAProxyMessage of(InetSocketAddress client, InetSocketAddress local) {
        InetAddress source = client.getAddress();
        InetAddress destination = local.getAddress();
        boolean v4 = source instanceof Inet4Address && destination instanceof Inet4Address;
        if (!v4) { // one side IPv6 (a dual-stack listener): both go as IPv6, an IPv4 one mapped
            source = mapped(source);
            destination = mapped(destination);
        }
        return new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
                v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                source.getHostAddress(), destination.getHostAddress(), client.getPort(), local.getPort());
    }

    /**
     * Writes the header for {@code client}'s connection as the first bytes on {@code upstream},
     * unflushed: {@link Relay#attach} flushes it with whatever the client sent so far, in one
     * send (and at once even if the client sent nothing: a server-first protocol needs it to
     * greet). On the upstream's event loop, before anything else is written to it.
     */
    static void write(Channel upstream, Channel client) {
        HAProxyMessage header = of((InetSocketAddress) client.remoteAddress(), (InetSocketAddress) client.localAddress());
        upstream.pipeline().addFirst(HAProxyMessageEncoder.INSTANCE);
        upstream.write(header, upstream.voidPromise()); // encoded (and released) right here, on this loop
        upstream.pipeline().remove(HAProxyMessageEncoder.INSTANCE);
    }

    private static InetAddress mapped(InetAddress address) {
        if (address instanceof Inet6Address) {
            return address;
        }
        byte[] v4 = address.getAddress();
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xff;
        v6[11] = (byte) 0xff;
        System.arraycopy(v4, 0, v6, 12, 4);
        try {
            return Inet6Address.getByAddress(null, v6, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("16 bytes are always an IPv6 address", e);
        }
    }
}
