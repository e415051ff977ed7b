/*
 * emperor-init: the one native piece of Emperor.
 *
 * The JVM never forks. A Java thread unshares (or setns()es into) a tenant's namespaces,
 * prepares its mounts, and posix_spawn()s this helper, which then does what only a process
 * can: be pid 1 of the new pid namespace, pivot_root into the tenant's root, mount its
 * /proc, and drop privileges for itself alone. It holds no policy: every decision arrives
 * as an argument or an inherited fd. See jail/README.md for the protocol.
 *
 *   emperor-init init  [options] -- PROGRAM [ARGS...]   pid 1 of a new vassal
 *   emperor-init enter [options] -- PROGRAM [ARGS...]   join a running vassal, then exec
 *
 * Any failure writes one line "STEP [OBJECT]: REASON" to the report fd and exits 126
 * (127 if PROGRAM was not found). The set-up below is one straight line; read main().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67 /* Linux 6.4; newer than the headers of some distros */
#endif

#define SETUP_FAILED 126
#define NOT_FOUND 127
#define MAX_LIST 64 /* per repeatable option; far more than Emperor passes */

struct options {
    int init;                    /* 1: init mode, 0: enter mode */
    int cgroup_fds[MAX_LIST];
    int n_cgroup_fds;
    int new_cgroupns, proc, ksm, setsid;
    int root_fd;   /* init: the tenant's root, a directory fd (no host path in our argv) */
    const char *cwd;
    int mntns_fd, seccomp_fd;    /* -1 when not given */
    int log_read_fd;             /* init: the log pipe's read end, kept by pid 1; -1 if none */
    const char *masks[MAX_LIST];
    int n_masks;
    const char *read_only[MAX_LIST];
    int n_read_only;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_LIST];
    int n_groups;
    char **program;              /* PROGRAM [ARGS...], NULL-terminated (argv's tail) */
};

/* The signals pid 1 passes on to the payload; it also waits for SIGCHLD. */
static const int forwarded_signals[] = {
    SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};

static int report_fd = STDERR_FILENO;
static struct sock_filter seccomp_filter[BPF_MAXINSNS + 1];
static unsigned short seccomp_length;

/* Writes "MESSAGE[: strerror(err)]\n" as one write (so the line arrives whole) and exits. */
static _Noreturn __attribute__((format(printf, 3, 4)))
void die(int exit_code, int err, const char *fmt, ...)
{
    char line[1024];
    size_t len, i;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    len = strlen(line);
    if (err != 0)
        snprintf(line + len, sizeof line - len, ": %s", strerror(err));
    len = strlen(line);
    for (i = 0; i < len; i++)   /* a path with a newline in it must not split the line */
        if (line[i] == '\n')
            line[i] = '?';
    if (len == sizeof line - 1)
        len--;
    line[len++] = '\n';
    if (write(report_fd, line, len) != (ssize_t) len && report_fd != STDERR_FILENO)
        if (write(STDERR_FILENO, line, len) < 0)
            _exit(exit_code);
    _exit(exit_code);
}

/* ---- arguments: strict, so that a mistake on the Java side fails closed ---------------- */

static unsigned long number(const char *opt, const char *s, unsigned long min, unsigned long max)
{
    char *end;
    unsigned long v;

    errno = 0;
    if (*s < '0' || *s > '9')   /* strtoul would accept " 12", "+12" and "-12" */
        die(SETUP_FAILED, 0, "args: %s %s: expected a decimal number", opt, s);
    v = strtoul(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        die(SETUP_FAILED, 0, "args: %s %s: expected a decimal number in %lu..%lu", opt, s, min, max);
    return v;
}

static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc || strcmp(argv[*i + 1], "--") == 0)
        die(SETUP_FAILED, 0, "args: %s needs a value", argv[*i]);
    return argv[++*i];
}

static int fd_value(int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    return (int) number(opt, value(argc, argv, i), 3, INT_MAX);   /* 0-2 are the payload's stdio */
}

static const char *path_value(int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *path = value(argc, argv, i);
    if (path[0] != '/')
        die(SETUP_FAILED, 0, "args: %s %s: expected an absolute path", opt, path);
    return path;
}

/* A tenant never runs as root, nor with root's group. */
static unsigned int id_value(int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *s = value(argc, argv, i);
    unsigned long id = number(opt, s, 0, 4294967294UL);   /* (uid_t) -1 means "unchanged" */
    if (id == 0)
        die(SETUP_FAILED, 0, "args: %s 0: a tenant must not run as root", opt);
    return (unsigned int) id;
}

static void only_in(const struct options *o, int init, const char *opt)
{
    if (o->init != init)
        die(SETUP_FAILED, 0, "args: %s is only valid with %s", opt, init ? "init" : "enter");
}

static void once(int already_given, const char *opt)
{
    if (already_given)
        die(SETUP_FAILED, 0, "args: %s given twice", opt);
}

static void room_for_one_more(int n, const char *opt)
{
    if (n == MAX_LIST)
        die(SETUP_FAILED, 0, "args: more than %d %s", MAX_LIST, opt);
}

static void parse_groups(struct options *o, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *list = value(argc, argv, i), *s = list;
    char item[16];
    size_t len;
    unsigned long gid;

    while (*s != '\0') {
        len = strcspn(s, ",");
        if (len == 0 || len >= sizeof item || (s[len] == ',' && s[len + 1] == '\0'))
            die(SETUP_FAILED, 0, "args: %s %s: expected gids separated by commas", opt, list);
        memcpy(item, s, len);
        item[len] = '\0';
        s += len + (s[len] == ',');
        room_for_one_more(o->n_groups, opt);
        gid = number(opt, item, 0, 4294967294UL);
        if (gid == 0)
            die(SETUP_FAILED, 0, "args: %s: a tenant must not have group 0", opt);
        o->groups[o->n_groups++] = (gid_t) gid;
    }
}

static void parse_options(int argc, char **argv, struct options *o)
{
    int i, have_uid = 0, have_gid = 0, have_groups = 0;

    memset(o, 0, sizeof *o);
    o->mntns_fd = o->seccomp_fd = o->root_fd = o->log_read_fd = -1;

    /* Find the report fd first, so that even a bad argument before it is reported there. */
    for (i = 2; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--report-fd") == 0) {
            report_fd = (int) number(argv[i], argv[i + 1], 3, INT_MAX);
            break;
        }

    if (argc < 2 || (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "enter") != 0))
        die(SETUP_FAILED, 0, "args: usage: emperor-init init|enter [options] -- PROGRAM [ARGS...]");
    o->init = strcmp(argv[1], "init") == 0;

    for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--report-fd") == 0) {
            fd_value(argc, argv, &i);   /* already taken above */
        } else if (strcmp(opt, "--cgroup-fd") == 0) {
            room_for_one_more(o->n_cgroup_fds, opt);
            o->cgroup_fds[o->n_cgroup_fds++] = fd_value(argc, argv, &i);
        } else if (strcmp(opt, "--new-cgroupns") == 0) {
            only_in(o, 1, opt);
            o->new_cgroupns = 1;
        } else if (strcmp(opt, "--root-fd") == 0) {
            only_in(o, 1, opt);
            once(o->root_fd >= 0, opt);
            o->root_fd = fd_value(argc, argv, &i);
        } else if (strcmp(opt, "--mntns-fd") == 0) {
            only_in(o, 0, opt);
            once(o->mntns_fd >= 0, opt);
            o->mntns_fd = fd_value(argc, argv, &i);
        } else if (strcmp(opt, "--proc") == 0) {
            only_in(o, 1, opt);
            o->proc = 1;
        } else if (strcmp(opt, "--mask") == 0) {
            only_in(o, 1, opt);
            room_for_one_more(o->n_masks, opt);
            o->masks[o->n_masks++] = path_value(argc, argv, &i);
        } else if (strcmp(opt, "--ro") == 0) {
            only_in(o, 1, opt);
            room_for_one_more(o->n_read_only, opt);
            o->read_only[o->n_read_only++] = path_value(argc, argv, &i);
        } else if (strcmp(opt, "--uid") == 0) {
            once(have_uid++, opt);
            o->uid = id_value(argc, argv, &i);
        } else if (strcmp(opt, "--gid") == 0) {
            once(have_gid++, opt);
            o->gid = id_value(argc, argv, &i);
        } else if (strcmp(opt, "--groups") == 0) {
            once(have_groups++, opt);
            parse_groups(o, argc, argv, &i);
        } else if (strcmp(opt, "--cwd") == 0) {
            once(o->cwd != NULL, opt);
            o->cwd = path_value(argc, argv, &i);
        } else if (strcmp(opt, "--log-read-fd") == 0) {
            if (o->log_read_fd >= 0)
                die(SETUP_FAILED, 0, "args: --log-read-fd given twice");
            o->log_read_fd = fd_value(argc, argv, &i);
        } else if (strcmp(opt, "--seccomp-fd") == 0) {
            once(o->seccomp_fd >= 0, opt);
            o->seccomp_fd = fd_value(argc, argv, &i);
        } else if (strcmp(opt, "--ksm") == 0) {
            o->ksm = 1;
        } else if (strcmp(opt, "--setsid") == 0) {
            only_in(o, 0, opt);
            o->setsid = 1;
        } else if (strncmp(opt, "--", 2) == 0) {
            die(SETUP_FAILED, 0, "args: unknown option %s", opt);
        } else {
            die(SETUP_FAILED, 0, "args: unexpected argument %s: options end with --", opt);
        }
    }
    if (i >= argc)
        die(SETUP_FAILED, 0, "args: missing -- before the program");
    if (i + 1 >= argc || argv[i + 1][0] == '\0')
        die(SETUP_FAILED, 0, "args: missing program after --");
    o->program = argv + i + 1;
    if (!have_uid || !have_gid)
        die(SETUP_FAILED, 0, "args: --uid and --gid are required");
    /* Without these the payload would see the host's filesystem. */
    if (o->init && o->root_fd < 0)
        die(SETUP_FAILED, 0, "args: init needs --root-fd");
    if (!o->init && o->mntns_fd < 0)
        die(SETUP_FAILED, 0, "args: enter needs --mntns-fd");
    if (!o->init && o->log_read_fd >= 0)
        die(SETUP_FAILED, 0, "args: --log-read-fd is for init only");
}

/* ---- set-up steps, in the order main() runs them -------------------------------------- */

/* SIG_IGN survives execve: an ignored SIGCHLD (children auto-reaped) would break pid 1's
 * wait and the tenant's own. Every signal starts at its default. */
static void reset_signal_dispositions(void)
{
    int sig;
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void) signal(sig, SIG_DFL);   /* fails harmlessly for libc's reserved signals */
}

/* A pid namespace's init is sent no signal it has no handler for, not even SIGTERM from the
 * host (only SIGKILL gets through). A blocked signal is queued instead, and pid 1 collects
 * it with sigwaitinfo(): no async handler, no races. Blocking first thing also keeps a stop
 * request that arrives during set-up; it is forwarded as soon as the payload runs. */
static void block_pid1_signals(sigset_t *signals)
{
    size_t i;
    sigemptyset(signals);
    for (i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset(signals, forwarded_signals[i]);
    sigaddset(signals, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, signals, NULL) < 0)
        die(SETUP_FAILED, errno, "sigprocmask");
}

static void close_range_or_die(unsigned int first, unsigned int last)
{
    if (first <= last && syscall(SYS_close_range, first, last, 0) < 0)
        die(SETUP_FAILED, errno, "close_range %u..%u", first, last);
}

/* Whatever the emperor had open (other tenants' pipes, sockets, its database) must not
 * reach the tenant: keep the fds named in the options, close every other fd >= 3. */
static void close_stray_fds(const struct options *o)
{
    int keep[MAX_LIST + 5], n = 0, i, j, fd; /* report, cgroups, mntns, root, seccomp, log */
    unsigned int next = 3;

    if (report_fd > STDERR_FILENO)
        keep[n++] = report_fd;
    for (i = 0; i < o->n_cgroup_fds; i++)
        keep[n++] = o->cgroup_fds[i];
    if (o->mntns_fd >= 0)
        keep[n++] = o->mntns_fd;
    if (o->root_fd >= 0)
        keep[n++] = o->root_fd;
    if (o->seccomp_fd >= 0)
        keep[n++] = o->seccomp_fd;
    if (o->log_read_fd >= 0)
        keep[n++] = o->log_read_fd;
    for (i = 1; i < n; i++)   /* insertion sort; n is tiny */
        for (j = i; j > 0 && keep[j - 1] > keep[j]; j--)
            fd = keep[j], keep[j] = keep[j - 1], keep[j - 1] = fd;
    for (i = 0; i < n; i++) {
        if (i > 0 && keep[i] == keep[i - 1])   /* one step would close another's fd */
            die(SETUP_FAILED, 0, "args: fd %d named twice", keep[i]);
        close_range_or_die(next, (unsigned int) keep[i] - 1);
        next = (unsigned int) keep[i] + 1;
    }
    close_range_or_die(next, ~0U);
}

/* The report fd must not outlive the exec of the payload: its EOF tells Java "exec'd". */
static void keep_report_fd_from_payload(void)
{
    if (report_fd > STDERR_FILENO && fcntl(report_fd, F_SETFD, FD_CLOEXEC) < 0) {
        int err = errno;
        report_fd = STDERR_FILENO;
        die(SETUP_FAILED, err, "report fd");
    }
}

/* pid 1 holds the read end of the tenant's log pipe for as long as the tenant lives, so the
 * pipe never breaks while no emperor reads it (its writers block once it is full; the next
 * emperor takes the read end back with pidfd_getfd). The payload must never hold it: with it
 * a tenant could read, or drain, its own log before the emperor sees it. Close-on-exec does
 * that (pid 1 itself never execs); pid 1 is non-dumpable, so no tenant process can take it
 * from pid 1 through /proc/1/fd or pidfd_getfd either. */
static void keep_log_read_fd_from_payload(int fd)
{
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        die(SETUP_FAILED, errno, "log read fd %d", fd);
}

/* Writing "0" to cgroup.procs (v2) or tasks/cgroup.procs (v1) moves the writer itself:
 * we are in the tenant's cgroups before the payload exists, so nothing escapes the limits. */
static void join_cgroups(const struct options *o)
{
    int i;
    for (i = 0; i < o->n_cgroup_fds; i++) {
        if (write(o->cgroup_fds[i], "0", 1) != 1)
            die(SETUP_FAILED, errno, "cgroup fd %d", o->cgroup_fds[i]);
        close(o->cgroup_fds[i]);
    }
}

/* Read before anything else changes, so a malformed program fails before any mount. */
static void read_seccomp_program(int fd)
{
    char *buf = (char *) seccomp_filter;
    size_t size = 0;
    ssize_t r;

    while (size < sizeof seccomp_filter) {
        r = read(fd, buf + size, sizeof seccomp_filter - size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die(SETUP_FAILED, errno, "seccomp fd %d", fd);
        if (r == 0)
            break;
        size += (size_t) r;
    }
    close(fd);
    if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
        size > BPF_MAXINSNS * sizeof(struct sock_filter))
        die(SETUP_FAILED, 0, "seccomp fd %d: %zu bytes is not a program of 1..%d 8-byte instructions",
            fd, size, BPF_MAXINSNS);
    seccomp_length = (unsigned short) (size / sizeof(struct sock_filter));
}

/* The root comes as an fd, not a path: our argv is the tenant's /proc/1/cmdline, and a
 * host path there (the jails directory, the tenant's name in it) is not the tenant's to see. */
static void switch_root(int root_fd)
{
    struct stat here, old_root;

    /* With "/" shared, our /proc mount and the detach of the old root below would
     * propagate back into the host's mount namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die(SETUP_FAILED, errno, "mount / rprivate");
    if (fchdir(root_fd) < 0)
        die(SETUP_FAILED, errno, "root fd %d", root_fd);
    close(root_fd);
    /* Fail closed: an fd on the host's own root would make it the tenant's. */
    if (stat(".", &here) < 0 || stat("/", &old_root) < 0)
        die(SETUP_FAILED, errno, "stat root");
    if (here.st_dev == old_root.st_dev && here.st_ino == old_root.st_ino)
        die(SETUP_FAILED, 0, "root fd %d: is the host's root, not a tenant's", root_fd);
    /* pivot_root, unlike chroot, leaves no way back: once the old root is detached no
     * path, "..", cwd or fd of ours refers to the host's tree (the classic chroot escape). */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die(SETUP_FAILED, errno, "pivot_root (root fd %d)", root_fd);
    if (umount2(".", MNT_DETACH) < 0)
        die(SETUP_FAILED, errno, "umount old root");
    if (chdir("/") < 0)
        die(SETUP_FAILED, errno, "chdir /");
}

/* Only a process inside the new pid namespace can mount a /proc that shows it; any other
 * /proc would list the host's processes. */
static void mount_proc(void)
{
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die(SETUP_FAILED, errno, "mount proc on /proc");
}

/* Hide a kernel interface (e.g. /proc/kcore): /dev/null over a file, an empty read-only
 * tmpfs over a directory. Paths this kernel lacks are skipped. */
static void mask(const char *path)
{
    struct stat st;
    int r;

    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return;
        die(SETUP_FAILED, errno, "mask %s", path);
    }
    if (S_ISDIR(st.st_mode))
        r = mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555");
    else
        r = mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (r < 0)
        die(SETUP_FAILED, errno, "mask %s", path);
}

/* Make a path (e.g. /proc/sys) read-only. Recursive bind, so masks under it stay; the
 * read-only remount applies to PATH's own mount. */
static void make_read_only(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return;
        die(SETUP_FAILED, errno, "ro %s", path);
    }
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        die(SETUP_FAILED, errno, "ro %s: bind", path);
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        die(SETUP_FAILED, errno, "ro %s: remount read-only", path);
}

static void enter_mount_namespace(int fd)
{
    /* setns also moves our root and cwd to the namespace's root, i.e. the tenant's root:
     * nothing of ours keeps pointing into the host's tree. */
    if (setns(fd, CLONE_NEWNS) < 0)
        die(SETUP_FAILED, errno, "setns mnt fd %d", fd);
    close(fd);
    if (chdir("/") < 0)
        die(SETUP_FAILED, errno, "chdir /");
}

/* Needs CAP_SYS_RESOURCE, so it comes before the drop. Inherited by fork and kept by exec. */
static void enable_ksm(void)
{
    if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0)
        return;
    if (errno == EINVAL)
        die(SETUP_FAILED, 0, "ksm: PR_SET_MEMORY_MERGE not supported by this kernel");
    die(SETUP_FAILED, errno, "ksm");
}

static void drop_privileges(const struct options *o)
{
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
    int cap, i;

    /* Groups before uid (needs CAP_SETGID): otherwise root's groups, inherited from the
     * emperor, would stay and open every group-0 file. */
    if (setgroups((size_t) o->n_groups, o->groups) < 0)
        die(SETUP_FAILED, errno, "setgroups");
    if (setresgid(o->gid, o->gid, o->gid) < 0)
        die(SETUP_FAILED, errno, "setresgid %u", (unsigned int) o->gid);
    /* Empty the bounding set while we still have CAP_SETPCAP: then no later execve, not
     * of a setuid-root binary nor of one with file capabilities, can regain a capability.
     * Loop until the kernel says EINVAL: needs no /proc and knows every cap it has. */
    for (cap = 0;; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
            continue;
        if (errno == EINVAL && cap > 0)
            break;
        die(SETUP_FAILED, errno, "capbset drop %d", cap);
    }
    /* Ambient capabilities would survive execve of ordinary binaries. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        die(SETUP_FAILED, errno, "cap ambient clear");
    if (setresuid(o->uid, o->uid, o->uid) < 0)
        die(SETUP_FAILED, errno, "setresuid %u", (unsigned int) o->uid);
    /* Leaving uid 0 empties permitted and effective unless SECBIT_KEEP_CAPS was inherited.
     * Don't rely on it: clear all three sets ourselves, then check. */
    memset(caps, 0, sizeof caps);
    if (syscall(SYS_capset, &header, caps) < 0)
        die(SETUP_FAILED, errno, "capset");
    if (syscall(SYS_capget, &header, caps) < 0)
        die(SETUP_FAILED, errno, "capget");
    for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (caps[i].effective || caps[i].permitted || caps[i].inheritable)
            die(SETUP_FAILED, 0, "capget: capabilities left after setresuid %u", (unsigned int) o->uid);
    /* Setuid bits and file capabilities mean nothing to any later execve; also what lets an
     * unprivileged process install a seccomp filter. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die(SETUP_FAILED, errno, "no_new_privs");
    /* The tenant's processes run as the same uid: non-dumpable, this process can't be
     * ptraced by them, nor its /proc/PID/{mem,environ,fd} read. setresuid already did this
     * unless the host set fs.suid_dumpable=1; say it regardless. The payload's execve makes
     * the payload dumpable again; pid 1 never execs and stays closed. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        die(SETUP_FAILED, errno, "dumpable");
}

/* Own session in enter mode (a shell); a terminal on fd 0 becomes the controlling tty.
 * TIOCSCTTY with 0 never steals a terminal that is already another session's. */
static void new_session(void)
{
    if (setsid() < 0)
        die(SETUP_FAILED, errno, "setsid");
    if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
        die(SETUP_FAILED, errno, "setsid: TIOCSCTTY on fd 0");
}

/* Last, so the filter need not allow the set-up above; after no_new_privs, which is what
 * allows it without CAP_SYS_ADMIN. In init mode pid 1 runs under it too. */
static void install_seccomp(void)
{
    struct sock_fprog program = { .len = seccomp_length, .filter = seccomp_filter };
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) < 0)
        die(SETUP_FAILED, errno, "seccomp");
}

static _Noreturn void exec_payload(char **program)
{
    sigset_t none;
    int err;

    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        die(SETUP_FAILED, errno, "sigprocmask");
    execvp(program[0], program);   /* PATH from our environ, which Java made the payload's */
    err = errno;
    die(err == ENOENT ? NOT_FOUND : SETUP_FAILED, err, "exec %s", program[0]);
}

/* pid 1: fork the payload, forward signals to it, reap every zombie (orphans of the
 * tenant are re-parented here), and exit with the payload's status. When pid 1 exits the
 * kernel kills everything left in the namespace. */
static _Noreturn void run_as_init(char **program, const sigset_t *signals)
{
    pid_t payload, pid;
    int status, sig;

    payload = fork();
    if (payload < 0)
        die(SETUP_FAILED, errno, "fork");
    if (payload == 0) {
        /* Its own session and process group: the tenant's job control never involves pid 1. */
        if (setsid() < 0)
            die(SETUP_FAILED, errno, "setsid");
        exec_payload(program);
    }
    /* pid 1 keeps nothing but stdio: the report pipe now ends with the payload's exec. */
    if (report_fd > STDERR_FILENO)
        close(report_fd);
    report_fd = STDERR_FILENO;

    for (;;) {
        sig = sigwaitinfo(signals, NULL);
        if (sig < 0)
            continue;   /* EINTR */
        if (sig != SIGCHLD) {
            kill(payload, sig);
            continue;
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            if (pid == payload)
                _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
    }
}

int main(int argc, char **argv)
{
    struct options o;
    sigset_t pid1_signals;
    int i;

    parse_options(argc, argv, &o);
    reset_signal_dispositions();
    if (o.init) {
        block_pid1_signals(&pid1_signals);
        /* Our own session and process group, before anything else: spawned in the emperor's,
         * a Ctrl-C on a foreground `emperor run` (SIGINT to its process group) would reach
         * every pid 1 and be forwarded to every payload. */
        if (setsid() < 0)
            die(SETUP_FAILED, errno, "setsid");
    }
    keep_report_fd_from_payload();
    close_stray_fds(&o);
    keep_log_read_fd_from_payload(o.log_read_fd);
    /* Our /proc and our reaping only make sense as the first process of a new pid
     * namespace; anything else is a bug on the Java side, and would show the host's pids. */
    if (o.init && getpid() != 1)
        die(SETUP_FAILED, 0, "init: running as pid %d, not as pid 1 of a new pid namespace",
            (int) getpid());
    join_cgroups(&o);
    if (o.seccomp_fd >= 0)
        read_seccomp_program(o.seccomp_fd);

    if (o.init) {
        /* After joining: the tenant's cgroup becomes the root of the cgroup tree it sees. */
        if (o.new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
            die(SETUP_FAILED, errno, "unshare CLONE_NEWCGROUP");
        switch_root(o.root_fd);
        if (o.proc)
            mount_proc();
        for (i = 0; i < o.n_masks; i++)
            mask(o.masks[i]);
        for (i = 0; i < o.n_read_only; i++)
            make_read_only(o.read_only[i]);
    } else {
        enter_mount_namespace(o.mntns_fd);
    }

    if (o.ksm)
        enable_ksm();
    drop_privileges(&o);
    /* As the tenant: a directory the tenant may not enter is refused. */
    if (o.cwd && chdir(o.cwd) < 0)
        die(SETUP_FAILED, errno, "chdir %s", o.cwd);
    if (o.setsid)
        new_session();
    if (o.seccomp_fd >= 0)
        install_seccomp();

    if (o.init)
        run_as_init(o.program, &pid1_signals);
    exec_payload(o.program);
}
