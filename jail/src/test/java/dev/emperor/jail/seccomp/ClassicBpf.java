package dev.emperor.jail.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A classic-BPF interpreter for seccomp programs, enough for what SeccompCompiler emits:
 * LD|W|ABS, JEQ/JSET/JGE/JGT with K, JA, RET K and AND K. Like the kernel's checker it
 * refuses unknown opcodes, jumps outside the program and running off its end.
 */
final class ClassicBpf {
    static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    static final int AUDIT_ARCH_I386 = 0x40000003;

    private ClassicBpf() {}

    /** Runs program over struct seccomp_data {nr, arch, ip, args[6]}; returns the RET value. */
    static int run(byte[] program, int nr, int arch, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x401000L);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        ByteBuffer code = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
        int length = program.length / 8;
        int a = 0;
        int pc = 0;
        while (true) {
            if (pc < 0 || pc >= length) {
                throw new IllegalStateException("pc " + pc + " outside program of " + length);
            }
            int op = code.getShort(pc * 8) & 0xffff;
            int jt = code.get(pc * 8 + 2) & 0xff;
            int jf = code.get(pc * 8 + 3) & 0xff;
            int k = code.getInt(pc * 8 + 4);
            pc++;
            switch (op) {
                case 0x20 -> { // LD | W | ABS
                    if (k < 0 || k > 60 || k % 4 != 0) {
                        throw new IllegalStateException("bad load offset " + k);
                    }
                    a = data.getInt(k);
                }
                case 0x54 -> a &= k;                                            // ALU | AND | K
                case 0x05 -> pc += k;                                           // JMP | JA
                case 0x15 -> pc += (a == k) ? jt : jf;                          // JEQ | K
                case 0x25 -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf; // JGT | K
                case 0x35 -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf; // JGE | K
                case 0x45 -> pc += (a & k) != 0 ? jt : jf;                      // JSET | K
                case 0x06 -> { return k; }                                      // RET | K
                default -> throw new IllegalStateException("unsupported opcode 0x" + Integer.toHexString(op));
            }
        }
    }
}
