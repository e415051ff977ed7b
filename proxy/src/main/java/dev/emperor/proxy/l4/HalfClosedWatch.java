package dev.emperor.proxy.l4;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Native;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a half-closed epoll channel in its event loop's epoll set, so writes to it can still
 * wait for room.
 *
 * <p>Why: Netty 4.2 (checked 4.2.18 to 4.2.20) removes a channel's fd from epoll
 * (EPOLL_CTL_DEL) as soon as the channel asks for no events at all, but still believes it is
 * there: the next request is an EPOLL_CTL_MOD, which fails with ENOENT. A channel whose input
 * has ended asks for nothing whenever its outbound buffer is empty; the first time a later
 * write does not fit in the socket (a slow client still reading the answer after its FIN),
 * Netty sees "epoll_ctl failed: No such file or directory", treats it as a failed write,
 * shuts the output down and drops everything queued: the tail of the answer is lost.
 *
 * <p>The cure is to keep EPOLLERR in the channel's interest set (the kernel reports errors
 * whatever the set says, so this changes nothing else): the set is never empty, the fd is
 * never removed. Netty offers no public call for it, hence the one reflective handle, looked
 * up once. (The HTTP side uses it too, for a client that half-closes after its request.)
 * Called from the handler of the channel's ChannelInputShutdownEvent, while its other
 * direction is still open: Netty fires that event before it drops EPOLLRDHUP, so the fd is
 * still in the set then (and not later: it may be gone as soon as the handler returns).
 */
public final class HalfClosedWatch {

    private static final Logger log = LoggerFactory.getLogger(HalfClosedWatch.class);
    private static final MethodHandle SET_FLAG = findSetFlag();

    private HalfClosedWatch() {}

    private static MethodHandle findSetFlag() {
        try {
            Class<?> epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
            var method = epollChannel.getDeclaredMethod("setFlag", int.class);
            method.setAccessible(true);
            return MethodHandles.lookup().unreflect(method)
                    .asType(MethodType.methodType(void.class, Channel.class, int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("cannot keep half-closed forwards in epoll ({}); a slow reader may lose the end of an answer", e.toString());
            return null;
        }
    }

    /** Keeps {@code channel} (an epoll channel, on its event loop) registered for the rest of its life. */
    public static void keep(Channel channel) {
        if (SET_FLAG == null || !channel.isOpen()) {
            return;
        }
        try {
            SET_FLAG.invokeExact(channel, Native.EPOLLERR);
        } catch (Throwable e) {
            // epoll_ctl failed: the channel is broken anyway; its next write fails and ends the pair
            channel.close();
        }
    }
}
