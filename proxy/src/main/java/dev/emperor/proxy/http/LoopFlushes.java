package dev.emperor.proxy.http;

import io.netty.channel.Channel;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;

/**
 * Flushes asked for while an event loop handles its ready sockets, done together once it has
 * handled them all (a task runs right after the I/O batch). The sends then leave back to back,
 * so the peer (the app, the client) is woken once for several requests rather than once for
 * each, and does more per wake-up. One per event loop thread.
 */
final class LoopFlushes implements Runnable {

    private static final FastThreadLocal<LoopFlushes> PER_LOOP = new FastThreadLocal<>() {
        @Override
        protected LoopFlushes initialValue() {
            return new LoopFlushes();
        }
    };

    private final ArrayList<Channel> pending = new ArrayList<>();

    private LoopFlushes() {
    }

    /** Flushes {@code channel} once this loop has handled its ready sockets; call on its loop. */
    static void flushSoon(Channel channel) {
        if (!channel.eventLoop().inEventLoop()) {
            channel.flush();
            return;
        }
        LoopFlushes flushes = PER_LOOP.get();
        if (flushes.pending.isEmpty()) {
            channel.eventLoop().execute(flushes);
        }
        flushes.pending.add(channel);
    }

    @Override
    public void run() {
        ArrayList<Channel> channels = pending;
        for (int i = 0; i < channels.size(); i++) {
            channels.get(i).flush(); // a closed channel's flush does nothing
        }
        channels.clear();
    }
}
