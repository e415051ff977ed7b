package dev.emperor.proxy.http;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * Several handlers stop reading a channel for different reasons (a peer that cannot keep up,
 * a request waiting its turn, an upstream still connecting). Reading resumes only when none
 * of them holds it, so one handler's resume never overrides another's pause.
 */
final class ReadPauses {

    static final int PEER_BUSY = 1;
    static final int PIPELINED = 2;
    static final int CONNECTING = 4;

    private static final AttributeKey<Integer> HELD = AttributeKey.valueOf("emperor.readPauses");

    private ReadPauses() {
    }

    static void pause(Channel channel, int reason) {
        update(channel, held(channel) | reason);
    }

    static void resume(Channel channel, int reason) {
        int held = held(channel);
        if ((held & reason) != 0) { // usually nothing to lift: leave the attribute and config alone
            update(channel, held & ~reason);
        }
    }

    private static int held(Channel channel) {
        Integer held = channel.attr(HELD).get();
        return held == null ? 0 : held;
    }

    private static void update(Channel channel, int held) {
        channel.attr(HELD).set(held);
        boolean read = held == 0;
        if (channel.config().isAutoRead() != read) {
            channel.config().setAutoRead(read);
        }
    }
}
