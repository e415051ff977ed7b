package dev.emperor.supervisor.config;

import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The syscalls of the jail's default deny list that a vassal file may allow again with
 * {@code seccomp-allow}: ones with legitimate uses (profilers, eBPF tools, keyrings, some
 * runtimes) whose risk falls mostly on the tenant itself. (ptrace and process_vm_* are not
 * denied in the first place: the pid namespace already confines them to the tenant.) Syscalls that only ever threaten
 * the host (kexec_load, init_module, reboot, swapon...) are not here and cannot be relaxed.
 * io_uring is here for runtimes that want it; its kernel surface is the tenant's risk to opt
 * into, as its requests are still bound by the tenant's namespaces and credentials. The
 * socket address-family check (no AF_VSOCK, ...) is never relaxable.
 * The jail checks the names again when it builds the filter.
 */
public final class RelaxableSyscalls {

    public static final SortedSet<String> NAMES = Collections.unmodifiableSortedSet(new TreeSet<>(List.of(
            "add_key",
            "bpf",
            "io_uring_enter",
            "io_uring_register",
            "io_uring_setup",
            "keyctl",
            "mount",
            "name_to_handle_at",
            "perf_event_open",
            "personality",
            "request_key",
            "setns",
            "umount2",
            "unshare",
            "userfaultfd")));

    private RelaxableSyscalls() {}
}
