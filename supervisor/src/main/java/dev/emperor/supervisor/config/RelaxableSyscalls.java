package dev.emperor.supervisor.config;

import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The syscalls of the jail's default deny list that a vassal file may allow again with
 * {@code seccomp-allow}: ones with legitimate uses (debuggers, profilers, some runtimes and
 * databases) whose risk falls mostly on the tenant itself. Syscalls that only ever threaten
 * the host (kexec_load, init_module, reboot, swapon...) are not here and cannot be relaxed.
 * The jail checks the names again when it builds the filter.
 */
public final class RelaxableSyscalls {

    public static final SortedSet<String> NAMES = Collections.unmodifiableSortedSet(new TreeSet<>(List.of(
            "add_key",
            "bpf",
            "get_mempolicy",
            "io_uring_enter",
            "io_uring_register",
            "io_uring_setup",
            "kcmp",
            "keyctl",
            "mbind",
            "migrate_pages",
            "mount",
            "move_pages",
            "name_to_handle_at",
            "perf_event_open",
            "personality",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
            "request_key",
            "set_mempolicy",
            "setns",
            "umount2",
            "unshare",
            "userfaultfd")));

    private RelaxableSyscalls() {}
}
