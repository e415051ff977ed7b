/*
 * The isolation probe's system-call half (the Python script cannot make raw system calls:
 * python3-minimal has no ctypes). Runs inside a tenant, as the tenant.
 *
 *   probe ATTEMPT [ARG]   tries one forbidden thing and prints
 *                         "ATTEMPT name: blocked (ERRNAME)" or "ATTEMPT name: ALLOWED"
 *   probe shm-create KEY  creates a SysV shared memory segment (kept after exit)
 *   probe euid            prints the effective uid (run from a setuid-root copy)
 *
 * Built static on the host by IsolationTest, so it runs on any distro root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ENOTTY: return "ENOTTY";
    case EFAULT: return "EFAULT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EIO: return "EIO";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    default: return "OTHER";
    }
}

/* rc < 0 means the call failed with errno. */
static int report(const char *name, long rc) {
    if (rc < 0) {
        printf("ATTEMPT %s: blocked (%s)\n", name, errname(errno));
    } else {
        printf("ATTEMPT %s: ALLOWED\n", name);
    }
    return 0;
}

/* TIOCSTI pushes a byte into a terminal's input queue: the classic sandbox escape through a
 * shared tty. Tried on a pty of the tenant's own devpts instance (so the ioctl is otherwise
 * legitimate), or on /dev/null if no pty can be had (the seccomp filter checks the request
 * number, not the fd, so EPERM there still means "filtered" and ENOTTY means "not"). */
static long tiocsti(void) {
    int fd = -1;
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
    if (master >= 0) {
        int unlock = 0, n = -1;
        char path[64];
        if (ioctl(master, TIOCSPTLCK, &unlock) == 0 && ioctl(master, TIOCGPTN, &n) == 0) {
            snprintf(path, sizeof path, "/dev/pts/%d", n);
            fd = open(path, O_RDWR | O_NOCTTY);
        }
    }
    if (fd < 0) fd = open("/dev/null", O_RDWR);
    char c = 'x';
    return ioctl(fd, TIOCSTI, &c);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: probe ATTEMPT [ARG]\n");
        return 2;
    }
    const char *what = argv[1];
    const char *arg = argc > 2 ? argv[2] : "0";
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(what, "euid")) {
        printf("%d\n", (int) geteuid());
        return 0;
    }
    if (!strcmp(what, "shm-create")) {
        int id = shmget((key_t) strtol(arg, NULL, 0), 4096, IPC_CREAT | 0600);
        if (id < 0) {
            printf("shm-create: %s\n", errname(errno));
            return 1;
        }
        return 0;
    }
    if (!strcmp(what, "shm-get")) return report("shm-other-key", shmget((key_t) strtol(arg, NULL, 0), 0, 0));
    if (!strcmp(what, "shm-own")) return report("shm-own-key", shmget((key_t) strtol(arg, NULL, 0), 0, 0));
    if (!strcmp(what, "mount")) return report("mount", mount("none", "/tmp", "tmpfs", 0, ""));
    if (!strcmp(what, "ptrace-outside")) return report("ptrace-outside", ptrace(PTRACE_ATTACH, atoi(arg), 0, 0));
    if (!strcmp(what, "ptrace-pid1")) return report("ptrace-pid1", ptrace(PTRACE_ATTACH, 1, 0, 0));
    if (!strcmp(what, "init-module")) {
        static char image[64];
        return report("init-module", syscall(SYS_init_module, image, sizeof image, ""));
    }
    if (!strcmp(what, "mknod")) return report("mknod", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)));
    if (!strcmp(what, "unshare-user")) return report("unshare-user", unshare(CLONE_NEWUSER));
    if (!strcmp(what, "keyctl")) {
        /* KEYCTL_GET_KEYRING_ID of KEY_SPEC_SESSION_KEYRING: harmless, but keyrings are host-wide */
        return report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
    }
    if (!strcmp(what, "bpf")) {
        char attr[128] = {0};
        return report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr));
    }
    if (!strcmp(what, "io-uring-setup")) {
        static char params[120]; /* struct io_uring_params */
        return report("io-uring-setup", syscall(425, 4, params));
    }
    if (!strcmp(what, "io-uring-enter")) return report("io-uring-enter", syscall(426, 0, 0, 0, 0, NULL, 0));
    if (!strcmp(what, "io-uring-register")) return report("io-uring-register", syscall(427, 0, 0, NULL, 0));
    if (!strcmp(what, "tiocsti")) return report("tiocsti", tiocsti());
    if (!strcmp(what, "sethostname")) return report("sethostname", sethostname("evil", 4));
    fprintf(stderr, "probe: unknown attempt %s\n", what);
    return 2;
}
