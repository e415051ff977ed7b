package dev.emperor.jail.seccomp;

import static dev.emperor.jail.seccomp.ClassicBpf.AUDIT_ARCH_I386;
import static dev.emperor.jail.seccomp.ClassicBpf.AUDIT_ARCH_X86_64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SeccompCompilerTest {
    static final int ALLOW = 0x7fff0000;
    static final int EAFNOSUPPORT = 0x00050000 | 97;
    static final int SOCKET = 41, SOCKETPAIR = 53;
    static final int EPERM = 0x00050000 | 1;
    static final int ENOSYS = 0x00050000 | 38;
    static final int KILL_PROCESS = 0x80000000;

    /** x86_64 numbers of the syscalls denied whatever their arguments (arch/x86/entry/syscalls). */
    static final Map<String, Integer> ALWAYS_DENIED = new TreeMap<>(Map.ofEntries(
            Map.entry("keyctl", 250), Map.entry("add_key", 248), Map.entry("request_key", 249),
            Map.entry("bpf", 321), Map.entry("perf_event_open", 298),
            Map.entry("open_by_handle_at", 304), Map.entry("name_to_handle_at", 303),
            Map.entry("kexec_load", 246), Map.entry("kexec_file_load", 320),
            Map.entry("init_module", 175), Map.entry("finit_module", 313),
            Map.entry("delete_module", 176), Map.entry("mount", 165), Map.entry("umount2", 166),
            Map.entry("pivot_root", 155), Map.entry("move_mount", 429), Map.entry("open_tree", 428),
            Map.entry("open_tree_attr", 467), Map.entry("fsopen", 430), Map.entry("fsconfig", 431),
            Map.entry("fsmount", 432), Map.entry("fspick", 433), Map.entry("mount_setattr", 442),
            Map.entry("swapon", 167), Map.entry("swapoff", 168), Map.entry("reboot", 169),
            Map.entry("acct", 163), Map.entry("settimeofday", 164), Map.entry("clock_settime", 227),
            Map.entry("clock_adjtime", 305), Map.entry("adjtimex", 159),
            Map.entry("userfaultfd", 323), Map.entry("lookup_dcookie", 212),
            Map.entry("quotactl", 179), Map.entry("quotactl_fd", 443), Map.entry("nfsservctl", 180),
            Map.entry("iopl", 172), Map.entry("ioperm", 173), Map.entry("create_module", 174),
            Map.entry("get_kernel_syms", 177), Map.entry("query_module", 178),
            Map.entry("uselib", 134), Map.entry("sysfs", 139), Map.entry("_sysctl", 156),
            Map.entry("setns", 308), Map.entry("io_uring_setup", 425), Map.entry("io_uring_enter", 426),
            Map.entry("io_uring_register", 427)));
    static final Set<String> CONDITIONAL = Set.of("ioctl", "clone", "unshare", "personality", "clone3");

    static final int READ = 0, WRITE = 1, IOCTL = 16, CLONE = 56, GETPID = 39, PTRACE = 101,
            PERSONALITY = 135, OPENAT = 257, UNSHARE = 272, PROCESS_VM_READV = 310,
            PROCESS_VM_WRITEV = 311, CLONE3 = 435;
    static final long SIGCHLD = 17;
    static final long PTHREAD_CLONE_FLAGS = 0x3d0f00; // VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    static final long[] CLONE_NEW = {0x80, 0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000,
            0x20000000, 0x40000000};

    final byte[] program = SeccompCompiler.compile(SeccompPolicy.DEFAULT);

    int run(int nr, long... args) {
        return ClassicBpf.run(program, nr, AUDIT_ARCH_X86_64, args);
    }

    @Test
    void deniedSyscallsAreTheAlwaysDeniedPlusTheArgumentCheckedOnesSorted() {
        Set<String> expected = new TreeSet<>(ALWAYS_DENIED.keySet());
        expected.addAll(CONDITIONAL);
        assertThat(SeccompCompiler.deniedSyscalls()).containsExactlyElementsOf(expected);
    }

    @Test
    void everyAlwaysDeniedSyscallFailsWithEperm() {
        ALWAYS_DENIED.forEach((name, nr) ->
                assertThat(run(nr)).as(name).isEqualTo(EPERM));
    }

    @Test
    void ordinarySyscallsAreAllowedIncludingPtraceAndProcessVm() {
        for (int nr : new int[] {READ, WRITE, OPENAT, GETPID, PTRACE, PROCESS_VM_READV, PROCESS_VM_WRITEV}) {
            assertThat(run(nr, 3, 0, 0)).as("nr %d", nr).isEqualTo(ALLOW);
        }
    }

    @Test
    void everyNumberOutsideTheDenyListIsAllowed() {
        Set<Integer> checked = new TreeSet<>(ALWAYS_DENIED.values());
        checked.addAll(Set.of(IOCTL, CLONE, UNSHARE, PERSONALITY, CLONE3, SOCKET, SOCKETPAIR));
        for (int nr = 0; nr < 600; nr++) {
            if (!checked.contains(nr)) {
                assertThat(run(nr)).as("nr %d", nr).isEqualTo(ALLOW);
            }
        }
    }

    @Test
    void foreignArchitectureKillsTheProcess() {
        assertThat(ClassicBpf.run(program, READ, AUDIT_ARCH_I386)).isEqualTo(KILL_PROCESS);
        assertThat(ClassicBpf.run(program, 250, AUDIT_ARCH_I386)).isEqualTo(KILL_PROCESS);
        assertThat(ClassicBpf.run(program, READ, 0xC00000B7 /* aarch64 */)).isEqualTo(KILL_PROCESS);
    }

    @Test
    void x32SyscallsFailWithEpermButMinusOneIsLeftToTheKernel() {
        assertThat(run(0x40000000 | READ)).isEqualTo(EPERM);
        assertThat(run(0x40000000 | GETPID)).isEqualTo(EPERM);
        assertThat(run(-1)).isEqualTo(ALLOW);
    }

    @Test
    void cloneWithoutNamespaceFlagsIsAllowed() {
        assertThat(run(CLONE, SIGCHLD)).isEqualTo(ALLOW);
        assertThat(run(CLONE, PTHREAD_CLONE_FLAGS)).isEqualTo(ALLOW);
        // the kernel uses only the low 32 bits of clone's flags
        assertThat(run(CLONE, 0x1_0000_0000L | SIGCHLD)).isEqualTo(ALLOW);
    }

    @Test
    void cloneWithAnyNamespaceFlagFailsWithEperm() {
        for (long flag : CLONE_NEW) {
            assertThat(run(CLONE, flag | SIGCHLD)).as("flag 0x%x", flag).isEqualTo(EPERM);
        }
    }

    @Test
    void unshareOfFilesFsAndSysvsemIsAllowedButNamespacesAreNot() {
        assertThat(run(UNSHARE, 0x200 | 0x400 | 0x40000)).isEqualTo(ALLOW);
        for (long flag : CLONE_NEW) {
            assertThat(run(UNSHARE, flag)).as("flag 0x%x", flag).isEqualTo(EPERM);
            assertThat(run(UNSHARE, flag | 0x200)).as("flag 0x%x", flag).isEqualTo(EPERM);
        }
    }

    @Test
    void clone3FailsWithEnosysSoGlibcFallsBackToClone() {
        assertThat(run(CLONE3, 0x7ffc0000L, 88)).isEqualTo(ENOSYS);
    }

    @Test
    void terminalInjectionIoctlsFailButOtherIoctlsWork() {
        assertThat(run(IOCTL, 0, 0x5412)).isEqualTo(EPERM);              // TIOCSTI
        assertThat(run(IOCTL, 0, 0x541C)).isEqualTo(EPERM);              // TIOCLINUX
        assertThat(run(IOCTL, 0, 0xffffffff_00005412L)).isEqualTo(EPERM); // cmd is an unsigned int
        assertThat(run(IOCTL, 0, 0x5401)).isEqualTo(ALLOW);              // TCGETS
        assertThat(run(IOCTL, 0, 0x5413)).isEqualTo(ALLOW);              // TIOCGWINSZ
    }

    @Test
    void personalityAllowsOnlyDockersValues() {
        for (long persona : new long[] {0, 0x0008, 0x20000, 0x20008, 0xffffffffL}) {
            assertThat(run(PERSONALITY, persona)).as("0x%x", persona).isEqualTo(ALLOW);
        }
        assertThat(run(PERSONALITY, 0x0400000)).isEqualTo(EPERM); // READ_IMPLIES_EXEC
        assertThat(run(PERSONALITY, 0x0040000)).isEqualTo(EPERM); // ADDR_NO_RANDOMIZE
        assertThat(run(PERSONALITY, 0x0000001)).isEqualTo(EPERM);
    }

    @Test
    void relaxedSyscallsAreAllowedAndTheRestStayDenied() {
        byte[] relaxed = SeccompCompiler.compile(new SeccompPolicy(Set.of("keyctl", "mount", "clone3",
                "personality", "ioctl", "unshare", "clone")));
        int x86 = AUDIT_ARCH_X86_64;
        assertThat(ClassicBpf.run(relaxed, 250, x86)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, 165, x86)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, CLONE3, x86)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, PERSONALITY, x86, 0x0400000)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, IOCTL, x86, 0, 0x5412)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, UNSHARE, x86, 0x20000)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, CLONE, x86, 0x10000000)).isEqualTo(ALLOW);
        assertThat(ClassicBpf.run(relaxed, 248, x86)).as("add_key").isEqualTo(EPERM);
        assertThat(ClassicBpf.run(relaxed, 166, x86)).as("umount2").isEqualTo(EPERM);
        assertThat(ClassicBpf.run(relaxed, 0x40000000, x86)).as("x32").isEqualTo(EPERM);
        assertThat(ClassicBpf.run(relaxed, READ, AUDIT_ARCH_I386)).isEqualTo(KILL_PROCESS);
    }

    @Test
    void relaxingEverythingLeavesOnlyTheArchX32AndSocketFamilyChecks() {
        byte[] open = SeccompCompiler.compile(new SeccompPolicy(Set.copyOf(SeccompCompiler.deniedSyscalls())));
        for (int nr = 0; nr < 600; nr++) {
            assertThat(ClassicBpf.run(open, nr, AUDIT_ARCH_X86_64, 1, 0x5412)).as("nr %d", nr).isEqualTo(ALLOW);
        }
        assertThat(ClassicBpf.run(open, SOCKET, AUDIT_ARCH_X86_64, 40, 1)).isEqualTo(EAFNOSUPPORT);
    }

    @Test
    void socketCreatesOnlyUnixInetInet6AndNetlinkSockets() {
        for (long family : new long[] {1, 2, 10, 16}) {
            assertThat(run(SOCKET, family, 1, 0)).as("family %d", family).isEqualTo(ALLOW);
            assertThat(run(SOCKETPAIR, family, 1, 0)).as("family %d", family).isEqualTo(ALLOW);
        }
        // AF_UNSPEC, AF_KEY, AF_PACKET, AF_BLUETOOTH, AF_CAN, AF_TIPC, AF_ALG, AF_VSOCK, AF_XDP, ...
        for (long family = 0; family < 64; family++) {
            if (family == 1 || family == 2 || family == 10 || family == 16) continue;
            assertThat(run(SOCKET, family, 1, 0)).as("family %d", family).isEqualTo(EAFNOSUPPORT);
            assertThat(run(SOCKETPAIR, family, 1, 0)).as("family %d", family).isEqualTo(EAFNOSUPPORT);
        }
        // only the low 32 bits are the kernel's int: high garbage does not smuggle AF_VSOCK past
        assertThat(run(SOCKET, 0x1_0000_0028L, 1, 0)).isEqualTo(EAFNOSUPPORT);
    }

    @Test
    void ioUringIsDeniedUnlessAllThreeAreRelaxed() {
        assertThat(run(425)).isEqualTo(EPERM);
        assertThat(run(426)).isEqualTo(EPERM);
        assertThat(run(427)).isEqualTo(EPERM);
        byte[] relaxed = SeccompCompiler.compile(
                new SeccompPolicy(Set.of("io_uring_setup", "io_uring_enter", "io_uring_register")));
        for (int nr : new int[] {425, 426, 427}) {
            assertThat(ClassicBpf.run(relaxed, nr, AUDIT_ARCH_X86_64)).isEqualTo(ALLOW);
        }
    }

    @Test
    void unknownOrNonRelaxableNamesAreRejected() {
        assertThatThrownBy(() -> SeccompCompiler.compile(new SeccompPolicy(Set.of("frobnicate"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown or non-relaxable syscall: frobnicate");
        assertThatThrownBy(() -> SeccompCompiler.compile(new SeccompPolicy(Set.of("ptrace"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown or non-relaxable syscall: ptrace");
    }

    @Test
    void programIsWellFormedAndFarBelowBpfMaxinsns() {
        assertThat(program.length % 8).isZero();
        assertThat(program.length / 8).isLessThan(4096);
        // the last instruction is RET ALLOW (code 0x06)
        assertThat(program[program.length - 8]).isEqualTo((byte) 0x06);
    }

    /** Chains split at any length must decide exactly like one long chain. */
    @Test
    void splittingTheDenyChainDoesNotChangeAnyDecision() {
        byte[] split = SeccompCompiler.compile(SeccompPolicy.DEFAULT, 3);
        assertThat(split.length).isGreaterThan(program.length);
        long[][] argSets = {{}, {0x5412, 0x5412}, {0x20000, 0}, {0x8, 0}, {SIGCHLD, 0}};
        for (int nr = -1; nr < 600; nr++) {
            for (long[] args : argSets) {
                assertThat(ClassicBpf.run(split, nr, AUDIT_ARCH_X86_64, args))
                        .as("nr %d", nr)
                        .isEqualTo(ClassicBpf.run(program, nr, AUDIT_ARCH_X86_64, args));
            }
        }
    }

    /** An independent check of the numbers above against the C library's header, when installed. */
    @Test
    void syscallNumbersMatchTheSystemHeader() throws IOException {
        Path header = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
        assumeThat(Files.exists(header)).as("kernel headers installed").isTrue();
        Map<String, Integer> fromHeader = new TreeMap<>();
        Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(header));
        while (m.find()) {
            fromHeader.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        ALWAYS_DENIED.forEach((name, nr) -> {
            if (fromHeader.containsKey(name)) { // older headers lack the newest calls
                assertThat(nr).as(name).isEqualTo(fromHeader.get(name));
            }
        });
        assertThat(fromHeader).containsEntry("ioctl", IOCTL).containsEntry("clone", CLONE)
                .containsEntry("unshare", UNSHARE).containsEntry("personality", PERSONALITY)
                .containsEntry("clone3", CLONE3);
    }
}
