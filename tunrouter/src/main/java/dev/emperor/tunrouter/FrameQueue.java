package dev.emperor.tunrouter;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * A bounded FIFO of frames copied out of the pump's read buffer, waiting for a full descriptor.
 * A slot's direct buffer is allocated the first time it is used, then kept: a queue that never
 * fills costs nothing, and one that did allocates nothing more. One thread (the pump's).
 */
final class FrameQueue {
    private final ByteBuffer[] slots;
    private final Pointer[] slotPointers;
    private final int[] slotLengths;
    private int head;
    private int queued;

    FrameQueue(int capacity) {
        slots = new ByteBuffer[capacity];
        slotPointers = new Pointer[capacity];
        slotLengths = new int[capacity];
    }

    boolean isEmpty() {
        return queued == 0;
    }

    boolean full() {
        return queued == slots.length;
    }

    /** Copies the first {@code length} bytes of {@code frame} (from position 0) to the tail. */
    void add(ByteBuffer frame, int length) {
        int slot = (head + queued) % slots.length;
        if (slots[slot] == null || slots[slot].capacity() < length) {
            slots[slot] = ByteBuffer.allocateDirect(Math.max(length, 2048));
            slotPointers[slot] = Native.getDirectBufferPointer(slots[slot]);
        }
        slots[slot].clear();
        slots[slot].put(frame.duplicate().position(0).limit(length));
        slotLengths[slot] = length;
        queued++;
    }

    Pointer headPointer() {
        return slotPointers[head];
    }

    int headLength() {
        return slotLengths[head];
    }

    void removeHead() {
        head = (head + 1) % slots.length;
        queued--;
    }
}
