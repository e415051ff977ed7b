package dev.emperor.jail.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compiles a {@link SeccompPolicy} into a classic BPF program for x86_64: an array of
 * struct sock_filter {u16 code; u8 jt; u8 jf; u32 k;}, little-endian, 8 bytes each, ready for
 * prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) in the helper.
 *
 * <p>The policy follows Docker's default profile for an unprivileged container: everything is
 * allowed except what lets a tenant reach the kernel's or the host's shared state (keyrings,
 * modules, mounts, clocks, swap, namespaces, BPF, perf, terminal injection). A denied call
 * fails with EPERM, as it would for any process without the capability, so programs take
 * their ordinary fallback path instead of dying. ptrace and process_vm_readv/writev stay
 * allowed: tenants debug their own processes, and the pid namespace plus a non-dumpable
 * pid 1 keep that inside the tenant.
 *
 * <p>socket() and socketpair() accept only the address families a tenant's programs use:
 * AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK; any other fails with EAFNOSUPPORT, as for a
 * family the kernel lacks. This check is not relaxable: AF_VSOCK is not network-namespaced
 * (it reaches the hypervisor and the host's vsock services past the tun router), and the
 * rest (AF_ALG, AF_TIPC, AF_RDS, AF_CAN, AF_BLUETOOTH, AF_KEY, AF_PACKET, ...) are either
 * refused to an unprivileged uid anyway or rarely used kernel code with a history of
 * exploitable bugs that an unprivileged socket() would otherwise load and reach.
 *
 * <p>Layout (every conditional jump is short by construction, jt/jf being 8-bit):
 * <pre>
 *   arch != AUDIT_ARCH_X86_64           -> KILL_PROCESS  (i386 int 0x80 would bypass the numbers below)
 *   nr >= 0x40000000 (x32), nr != -1    -> ERRNO(EPERM)
 *   socket, socketpair                  -> family not allowed: ERRNO(EAFNOSUPPORT) (never relaxed)
 *   ioctl, clone, unshare, personality  -> argument checks, each a block ending in RET
 *   deny chain: JEQ nr -> shared RET ERRNO(EPERM), at most 255 per chain
 *   clone3                              -> ERRNO(ENOSYS): its flags sit behind a pointer
 *                                          BPF cannot read; glibc then falls back to clone
 *   RET ALLOW
 * </pre>
 * Syscalls whose outcome does not depend on arguments are resolved once by the kernel's
 * seccomp action cache (Linux 5.11+), so the linear chain costs nothing for read, write....
 */
public final class SeccompCompiler {
    // struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6];
    private static final int NR_OFFSET = 0;
    private static final int ARCH_OFFSET = 4;
    private static final int ARGS_OFFSET = 16;

    private static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    private static final int X32_SYSCALL_BIT = 0x40000000;

    private static final int SECCOMP_RET_KILL_PROCESS = 0x80000000;
    private static final int SECCOMP_RET_ERRNO = 0x00050000;
    private static final int SECCOMP_RET_ALLOW = 0x7fff0000;
    private static final int EPERM = 1;
    private static final int ENOSYS = 38;
    private static final int EAFNOSUPPORT = 97;
    private static final int RET_EPERM = SECCOMP_RET_ERRNO | EPERM;
    private static final int RET_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;
    private static final int RET_EAFNOSUPPORT = SECCOMP_RET_ERRNO | EAFNOSUPPORT;

    /** AF_UNIX, AF_INET, AF_INET6, AF_NETLINK: the only families socket() may create. */
    static final int[] SOCKET_FAMILIES_ALLOWED = {1, 2, 10, 16};

    /** Every CLONE_NEW* flag; CLONE_NEWTIME (0x80) shares bits with clone's exit signal,
     *  which is at most 64, so testing it on clone never refuses a valid call. */
    private static final int CLONE_NEW_FLAGS = 0x00000080 // CLONE_NEWTIME
            | 0x00020000  // CLONE_NEWNS
            | 0x02000000  // CLONE_NEWCGROUP
            | 0x04000000  // CLONE_NEWUTS
            | 0x08000000  // CLONE_NEWIPC
            | 0x10000000  // CLONE_NEWUSER
            | 0x20000000  // CLONE_NEWPID
            | 0x40000000; // CLONE_NEWNET
    private static final int TIOCSTI = 0x5412;   // push bytes into a terminal's input
    private static final int TIOCLINUX = 0x541C; // console selection: same injection
    /** personality() values a normal program uses (Docker's list); 0xffffffff only queries. */
    private static final int[] PERSONALITY_ALLOWED = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

    private static final int NR_IOCTL = 16;
    private static final int NR_SOCKET = 41;
    private static final int NR_SOCKETPAIR = 53;
    private static final int NR_CLONE = 56;
    private static final int NR_PERSONALITY = 135;
    private static final int NR_UNSHARE = 272;
    private static final int NR_CLONE3 = 435;

    /**
     * Denied whatever the arguments, with their x86_64 numbers. (vm86 and vm86old exist only
     * on i386, which the arch check already kills.)
     */
    private static final Map<String, Integer> ALWAYS_DENIED = new LinkedHashMap<>();

    static {
        // keyrings are not namespaced: one tenant could read or fill another's keys
        deny("keyctl", 250); deny("add_key", 248); deny("request_key", 249);
        // kernel attack surface without a tenant use
        deny("bpf", 321); deny("perf_event_open", 298); deny("userfaultfd", 323);
        deny("lookup_dcookie", 212);
        // file handles bypass path permissions (the "shocker" escape)
        deny("open_by_handle_at", 304); deny("name_to_handle_at", 303);
        // replacing the kernel or loading code into it
        deny("kexec_load", 246); deny("kexec_file_load", 320); deny("init_module", 175);
        deny("finit_module", 313); deny("delete_module", 176); deny("create_module", 174);
        deny("get_kernel_syms", 177); deny("query_module", 178);
        // the mount table is the jail; old and new mount APIs alike
        deny("mount", 165); deny("umount2", 166); deny("pivot_root", 155);
        deny("move_mount", 429); deny("open_tree", 428); deny("open_tree_attr", 467);
        deny("fsopen", 430); deny("fsconfig", 431); deny("fsmount", 432); deny("fspick", 433);
        deny("mount_setattr", 442);
        // host-wide state: swap, power, accounting, clocks, quotas
        deny("swapon", 167); deny("swapoff", 168); deny("reboot", 169); deny("acct", 163);
        deny("settimeofday", 164); deny("clock_settime", 227); deny("clock_adjtime", 305);
        deny("adjtimex", 159); deny("quotactl", 179); deny("quotactl_fd", 443);
        deny("nfsservctl", 180);
        // raw I/O port access
        deny("iopl", 172); deny("ioperm", 173);
        // obsolete interfaces nobody needs and few audit
        deny("uselib", 134); deny("sysfs", 139); deny("_sysctl", 156);
        // joining another namespace
        deny("setns", 308);
        // io_uring: a large kernel surface with a long record of privilege escalations, and
        // its requests run in kernel workers that seccomp never sees
        deny("io_uring_setup", 425); deny("io_uring_enter", 426); deny("io_uring_register", 427);
    }

    private static void deny(String name, int nr) {
        ALWAYS_DENIED.put(name, nr);
    }

    /** Denied only with certain arguments (or, for clone3, with a different errno). */
    private static final List<String> CONDITIONALLY_DENIED =
            List.of("ioctl", "clone", "unshare", "personality", "clone3");

    /** Classic BPF jt/jf are 8-bit: a chain of JEQs to one shared RET has at most 255. */
    static final int MAX_CHAIN = 255;

    private SeccompCompiler() {}

    /** Every syscall the default program can refuse, sorted: the names a policy may relax. */
    public static List<String> deniedSyscalls() {
        TreeSet<String> names = new TreeSet<>(ALWAYS_DENIED.keySet());
        names.addAll(CONDITIONALLY_DENIED);
        return List.copyOf(names);
    }

    /**
     * The program for policy: the default deny list minus policy.relaxed().
     *
     * @throws IllegalArgumentException if a relaxed name is not in {@link #deniedSyscalls()}
     */
    public static byte[] compile(SeccompPolicy policy) {
        return compile(policy, MAX_CHAIN);
    }

    static byte[] compile(SeccompPolicy policy, int maxChain) {
        List<String> deniable = deniedSyscalls();
        for (String name : policy.relaxed()) {
            if (!deniable.contains(name)) {
                throw new IllegalArgumentException("unknown or non-relaxable syscall: " + name);
            }
        }
        var relaxed = policy.relaxed();
        Program p = new Program();

        // Syscall numbers mean something else on other ABIs; only x86_64 numbers are checked.
        p.load(ARCH_OFFSET);
        p.jeq(AUDIT_ARCH_X86_64, 1, 0);
        p.ret(SECCOMP_RET_KILL_PROCESS);

        // x32 calls are x86_64 with bit 30 set: same arch value, different numbers. -1 is
        // left to the kernel (ENOSYS), as a tracer uses it to skip a call.
        p.load(NR_OFFSET);
        p.jge(X32_SYSCALL_BIT, 0, 2);
        p.jeq(0xffffffff, 1, 0);
        p.ret(RET_EPERM);

        // Address families, whatever the policy relaxes (see the class comment).
        for (int nr : new int[] {NR_SOCKET, NR_SOCKETPAIR}) {
            Program body = new Program();
            body.load(argLow(0));
            body.retIfAnyOf(SOCKET_FAMILIES_ALLOWED, SECCOMP_RET_ALLOW, RET_EAFNOSUPPORT);
            p.block(nr, body);
        }

        // Argument checks. Each block ends in RET on every path, so A still holds nr for
        // whatever follows when the JEQ skips it. Arguments are compared on their low 32
        // bits, which is all the kernel reads of them (int or unsigned int parameters;
        // clone takes lower_32_bits(flags)).
        if (!relaxed.contains("ioctl")) {
            Program body = new Program();
            body.load(argLow(1));
            body.retIfAnyOf(new int[] {TIOCSTI, TIOCLINUX}, RET_EPERM, SECCOMP_RET_ALLOW);
            p.block(NR_IOCTL, body);
        }
        if (!relaxed.contains("clone")) {
            p.block(NR_CLONE, denyIfAnyFlag(CLONE_NEW_FLAGS));
        }
        if (!relaxed.contains("unshare")) {
            // unshare(CLONE_FILES|CLONE_FS|CLONE_SYSVSEM) stays usable.
            p.block(NR_UNSHARE, denyIfAnyFlag(CLONE_NEW_FLAGS));
        }
        if (!relaxed.contains("personality")) {
            Program body = new Program();
            body.load(argLow(0));
            body.retIfAnyOf(PERSONALITY_ALLOWED, SECCOMP_RET_ALLOW, RET_EPERM);
            p.block(NR_PERSONALITY, body);
        }

        List<Integer> denied = new ArrayList<>();
        ALWAYS_DENIED.forEach((name, nr) -> {
            if (!relaxed.contains(name)) {
                denied.add(nr);
            }
        });
        p.denyChain(denied, RET_EPERM, maxChain);
        if (!relaxed.contains("clone3")) {
            p.denyChain(List.of(NR_CLONE3), RET_ENOSYS, maxChain);
        }
        p.ret(SECCOMP_RET_ALLOW);
        return p.toBytes();
    }

    private static Program denyIfAnyFlag(int flags) {
        Program body = new Program();
        body.load(argLow(0));
        body.jset(flags, 0, 1);
        body.ret(RET_EPERM);
        body.ret(SECCOMP_RET_ALLOW);
        return body;
    }

    /** Offset of the low 32 bits of args[i] (x86_64 is little-endian). */
    private static int argLow(int i) {
        return ARGS_OFFSET + 8 * i;
    }

    /** A classic BPF program under construction: a list of (code, jt, jf, k). */
    private static final class Program {
        // instruction classes and fields of <linux/bpf_common.h>
        private static final int BPF_LD_W_ABS = 0x00 | 0x00 | 0x20;
        private static final int BPF_JMP = 0x05;
        private static final int BPF_JA = 0x00;
        private static final int BPF_JEQ = 0x10;
        private static final int BPF_JGE = 0x30;
        private static final int BPF_JSET = 0x40;
        private static final int BPF_K = 0x00;
        private static final int BPF_RET_K = 0x06 | BPF_K;

        private final List<long[]> insns = new ArrayList<>();

        int size() {
            return insns.size();
        }

        void load(int offset) {
            emit(BPF_LD_W_ABS, 0, 0, offset);
        }

        void jeq(int k, int jt, int jf) {
            emit(BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k);
        }

        void jge(int k, int jt, int jf) {
            emit(BPF_JMP | BPF_JGE | BPF_K, jt, jf, k);
        }

        void jset(int k, int jt, int jf) {
            emit(BPF_JMP | BPF_JSET | BPF_K, jt, jf, k);
        }

        /** Unconditional jump: k is 32-bit, unlike jt/jf. */
        void ja(int k) {
            emit(BPF_JMP | BPF_JA, 0, 0, k);
        }

        void ret(int action) {
            emit(BPF_RET_K, 0, 0, action);
        }

        /** "if nr == NR then body" where body returns on every path. */
        void block(int nr, Program body) {
            jeq(nr, 0, body.size());
            insns.addAll(body.insns);
        }

        /** RET onMatch if A equals any of values, else RET otherwise. */
        void retIfAnyOf(int[] values, int onMatch, int otherwise) {
            int n = values.length;
            for (int i = 0; i < n; i++) {
                jeq(values[i], n - i, 0); // to the second RET below
            }
            ret(otherwise);
            ret(onMatch);
        }

        /**
         * For each run of up to maxChain numbers: "JEQ nr_i, jt -> RET action" ..., then
         * "JA over the RET" so a mismatch falls through to what follows.
         */
        void denyChain(List<Integer> numbers, int action, int maxChain) {
            for (int from = 0; from < numbers.size(); from += maxChain) {
                List<Integer> chain = numbers.subList(from, Math.min(numbers.size(), from + maxChain));
                int n = chain.size();
                for (int i = 0; i < n; i++) {
                    jeq(chain.get(i), n - i, 0); // RET action sits at chain offset n + 1
                }
                ja(1);
                ret(action);
            }
        }

        private void emit(int code, int jt, int jf, int k) {
            if (jt < 0 || jt > 255 || jf < 0 || jf > 255) {
                throw new IllegalStateException("BPF jump out of 8-bit range: jt=" + jt + " jf=" + jf);
            }
            insns.add(new long[] {code, jt, jf, k & 0xffffffffL});
        }

        byte[] toBytes() {
            ByteBuffer out = ByteBuffer.allocate(insns.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long[] insn : insns) {
                out.putShort((short) insn[0]).put((byte) insn[1]).put((byte) insn[2]).putInt((int) insn[3]);
            }
            return out.array();
        }
    }
}
