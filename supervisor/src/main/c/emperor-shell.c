/*
 * emperor-shell: the client sshd's ForceCommand runs (`emperor shell` execs it).
 *
 *   emperor-shell [--socket PATH] [TENANT]
 *
 * It asks the emperor, over its shell socket (default /run/emperor/shell.sock), to start a
 * process inside a tenant: the tenant whose uid we run as, or TENANT (root only). The emperor
 * checks who we are with SO_PEERCRED; nothing we say about ourselves is trusted.
 *
 * - With a terminal on stdin and no SSH_ORIGINAL_COMMAND: the tenant's login shell on a new
 *   pty made in the tenant. The emperor hands us the pty master (SCM_RIGHTS); we put our
 *   terminal in raw mode and relay bytes between it and the master ourselves, and copy our
 *   window size to the master on SIGWINCH. The JVM relays nothing.
 * - Otherwise: SSH_ORIGINAL_COMMAND (or, if unset, the login shell). Those of our fds 0, 1, 2
 *   that are a terminal are never passed (a tenant process holding root's terminal could read
 *   what root types after the session): they get a pty made in the tenant, which we relay.
 *   The others, for a tenant's own session, are passed to the emperor as the command's
 *   stdin, stdout and stderr (sshd's pipes: binary-safe, no copying, which is what scp,
 *   rsync and sftp-server need); for root, they are pipes we make and relay, so that no fd
 *   of root's (a file root redirected to) is ever held inside a tenant.
 *
 * Either way the exit status comes back in an EXIT frame and becomes ours. SIGINT, SIGQUIT,
 * SIGTERM, SIGUSR1 and SIGUSR2 are forwarded to the entered process group; on SIGHUP we
 * leave, and the emperor hangs the session up. Frames: see ShellProtocol.java.
 *
 * Kept small and static so that a login costs one exec, not a JVM start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define VERSION 2
#define T_TERMINAL 1
#define T_COMMAND 2
#define T_SIGNAL 3
#define T_STARTED 0x81
#define T_EXIT 0x82
#define T_ERROR 0x83
#define MAX_FRAME (64 * 1024)
#define HEADER 8

static const char *default_socket = "/run/emperor/shell.sock";
static int sock = -1;
static int sig_pipe[2] = {-1, -1};
static struct termios saved_tty;
static int tty_saved;

static void restore_tty(void) {
    if (tty_saved) tcsetattr(0, TCSADRAIN, &saved_tty);
    tty_saved = 0;
}

static void die(int code, const char *fmt, ...) {
    va_list ap;
    restore_tty();
    fputs("emperor-shell: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static void on_signal(int sig) {
    unsigned char s = (unsigned char)sig;
    int saved = errno;
    if (write(sig_pipe[1], &s, 1) < 0) { /* pipe full: a signal is pending anyway */ }
    errno = saved;
}

/* ---- frames ---------------------------------------------------------------------------- */

struct buf { unsigned char data[MAX_FRAME]; size_t len; };

static void put_u8(struct buf *b, unsigned v) { b->data[b->len++] = (unsigned char)v; }
static void put_u16(struct buf *b, unsigned v) { put_u8(b, v >> 8); put_u8(b, v & 0xff); }
static void put_u32(struct buf *b, uint32_t v) { put_u16(b, v >> 16); put_u16(b, v & 0xffff); }

static void put_bytes(struct buf *b, const char *s, size_t n) {
    if (n > MAX_FRAME - b->len) die(1, "request too long");
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_string(struct buf *b, const char *s) {
    size_t n = strlen(s);
    if (n > 0xffff || n + 2 > MAX_FRAME - b->len) die(1, "request too long");
    put_u16(b, (unsigned)n);
    put_bytes(b, s, n);
}

static void begin(struct buf *b, unsigned type) {
    b->len = 0;
    put_u8(b, 'E'); put_u8(b, 'S'); put_u8(b, VERSION); put_u8(b, type); put_u32(b, 0);
}

/* Sends the frame in b with fds attached (SCM_RIGHTS). */
static void send_frame(struct buf *b, const int *fds, int nfds) {
    uint32_t body = (uint32_t)(b->len - HEADER);
    b->data[4] = body >> 24; b->data[5] = body >> 16; b->data[6] = body >> 8; b->data[7] = body;
    struct iovec iov = { .iov_base = b->data, .iov_len = b->len };
    union { char space[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.space;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
        if (errno != EINTR) die(255, "cannot talk to the emperor: %s", strerror(errno));
    }
}

/* Receives one frame from the emperor into b; returns its type, *fd = a passed fd or -1. */
static int recv_frame(struct buf *b, int *fd) {
    union { char space[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = { .iov_base = b->data, .iov_len = sizeof b->data };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                          .msg_controllen = sizeof control.space };
    ssize_t n;
    *fd = -1;
    int resets = 0;
    while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
        /* A refusal that crossed our request: the kernel reports the reset first, and the
         * emperor's answer (queued before it closed) on the next read. */
        if (errno == ECONNRESET && resets++ == 0) continue;
        if (errno != EINTR) die(255, "lost the emperor: %s", strerror(errno));
    }
    if (n == 0) die(255, "the emperor closed the session");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
    b->len = (size_t)n;
    if (n < HEADER || b->data[0] != 'E' || b->data[1] != 'S' || b->data[2] != VERSION)
        die(255, "bad reply from the emperor");
    return b->data[3];
}

/* Acts on EXIT or ERROR (both end the session); returns for anything else. */
static void finish_on(struct buf *b, int type) {
    if (type == T_EXIT && b->len == HEADER + 1) {
        restore_tty();
        exit(b->data[HEADER]);
    }
    if (type == T_ERROR && b->len >= HEADER + 2) {
        size_t n = ((size_t)b->data[HEADER] << 8) | b->data[HEADER + 1];
        if (n > b->len - HEADER - 2) n = b->len - HEADER - 2;
        die(1, "%.*s", (int)n, (const char *)b->data + HEADER + 2);
    }
}

static void forward_signal(int sig) {
    struct buf b;
    begin(&b, T_SIGNAL);
    put_u8(&b, (unsigned)sig);
    send_frame(&b, NULL, 0);
}

/* Handles pending signals; returns 1 if the window size changed. */
static int drain_signals(void) {
    unsigned char s[64];
    int winch = 0;
    ssize_t n = read(sig_pipe[0], s, sizeof s);
    for (ssize_t i = 0; i < n; i++) {
        if (s[i] == SIGWINCH) winch = 1;
        else if (s[i] == SIGHUP) die(129, "hung up");
        else forward_signal(s[i]);
    }
    return winch;
}

/* ---- the two modes ----------------------------------------------------------------------- */

static void write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { struct pollfd pf = { .fd = fd, .events = POLLOUT }; poll(&pf, 1, -1); continue; }
            return; /* our side is gone: nothing to show the bytes to */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void copy_window_size(int master) {
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

static void terminal_session(const char *tenant) {
    struct winsize ws = {0};
    ioctl(0, TIOCGWINSZ, &ws);
    const char *term = getenv("TERM");
    struct buf b;
    begin(&b, T_TERMINAL);
    put_u16(&b, ws.ws_row > 10000 ? 0 : ws.ws_row);
    put_u16(&b, ws.ws_col > 10000 ? 0 : ws.ws_col);
    put_string(&b, term && strlen(term) <= 64 ? term : "");
    put_string(&b, tenant);
    send_frame(&b, NULL, 0);

    int master;
    int type = recv_frame(&b, &master);
    finish_on(&b, type);
    if (type != T_STARTED || master < 0) die(255, "bad reply from the emperor");
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    copy_window_size(master); /* it may have changed while we waited */

    if (tcgetattr(0, &saved_tty) == 0) {
        struct termios raw = saved_tty;
        tty_saved = 1;
        cfmakeraw(&raw);
        tcsetattr(0, TCSADRAIN, &raw);
    }

    /* Keystrokes not yet taken by the master: we read stdin only when this is empty, so a
     * shell that stops reading slows the typist down instead of blocking our output relay. */
    static unsigned char in[4096], out[16384];
    size_t in_len = 0, in_off = 0;
    int stdin_open = 1, master_open = 1;
    for (;;) {
        struct pollfd p[4] = {
            { .fd = (stdin_open && in_len == 0) ? 0 : -1, .events = POLLIN },
            { .fd = master_open ? master : -1, .events = POLLIN | (in_len ? POLLOUT : 0) },
            { .fd = sock, .events = POLLIN },
            { .fd = sig_pipe[0], .events = POLLIN },
        };
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR) continue;
            die(255, "poll: %s", strerror(errno));
        }
        if (p[3].revents && drain_signals()) copy_window_size(master);
        if (p[0].revents) {
            ssize_t n = read(0, in, sizeof in);
            if (n > 0) { in_len = (size_t)n; in_off = 0; }
            else if (n == 0 || errno != EINTR) stdin_open = 0;
        }
        if (master_open && in_len && (p[1].revents & POLLOUT || p[0].revents)) {
            ssize_t w = write(master, in + in_off, in_len);
            if (w > 0) { in_off += (size_t)w; in_len -= (size_t)w; }
            else if (w < 0 && errno != EAGAIN && errno != EINTR) in_len = 0;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(master, out, sizeof out);
            if (n > 0) write_all(1, out, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR)) master_open = 0; /* EIO: every slave closed */
        }
        if (p[2].revents) {
            int fd;
            type = recv_frame(&b, &fd);
            if (fd >= 0) close(fd);
            if (type == T_EXIT) { /* show what the shell wrote last */
                ssize_t n;
                while (master_open && (n = read(master, out, sizeof out)) > 0) write_all(1, out, (size_t)n);
            }
            finish_on(&b, type);
        }
    }
}

/* One direction of a command session's relay: bytes read from src are written to dst. */
struct pump { int src, dst, own_dst; size_t len, off; unsigned char buf[16384]; };

/* Moves what src has now; src must be non-blocking. Returns 0 once src has ended. */
static int pump_out(struct pump *p) {
    ssize_t n = read(p->src, p->buf, sizeof p->buf);
    if (n > 0) { write_all(p->dst, p->buf, (size_t)n); return 1; }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return 0; /* end of file, or EIO: every slave of the pty is closed */
}

/* After EXIT: what the command wrote last, up to the end (root: every writer is gone by now). */
static void drain(struct pump *p) {
    if (p->src < 0) return;
    while (pump_out(p)) {
        struct pollfd pf = { .fd = p->src, .events = POLLIN };
        if (poll(&pf, 1, 0) <= 0) break; /* a tenant's own process may still hold it: don't wait */
    }
}

static void command_session(const char *tenant, const char *command) {
    /* Our terminal never enters the tenant: a process there holding it could read what is
     * typed on it after the session. The std streams that are a terminal get a pty made in
     * the tenant instead, which we relay, as in a login. */
    unsigned terminals = 0;
    int tty = -1;
    for (int i = 2; i >= 0; i--)
        if (isatty(i)) { terminals |= 1u << i; tty = i; }
    /* The other streams: a tenant's own session (sshd's pipes) hands them over as they are,
     * binary-safe with no copy. Root's go through pipes we make and relay, so that no fd of
     * root's (a file opened for `> /root/out`) is ever held by a tenant's process. */
    int root = geteuid() == 0;
    int pass[3], npass = 0, to_stdin = -1, from[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        int p[2];
        if (terminals & (1u << i)) continue;
        if (!root) { pass[npass++] = i; continue; }
        if (pipe2(p, O_CLOEXEC) < 0) die(255, "pipe: %s", strerror(errno));
        if (i == 0) { pass[npass++] = p[0]; to_stdin = p[1]; }
        else { pass[npass++] = p[1]; from[i] = p[0]; }
    }

    struct winsize ws = {0};
    if (tty >= 0) ioctl(tty, TIOCGWINSZ, &ws);
    const char *term = getenv("TERM");
    struct buf b;
    size_t n = strlen(command);
    if (n > MAX_FRAME - 1024) die(1, "command too long");
    begin(&b, T_COMMAND);
    put_string(&b, tenant);
    put_u32(&b, (uint32_t)n);
    put_bytes(&b, command, n);
    put_u8(&b, terminals);
    put_u16(&b, ws.ws_row > 10000 ? 0 : ws.ws_row);
    put_u16(&b, ws.ws_col > 10000 ? 0 : ws.ws_col);
    put_string(&b, terminals && term && strlen(term) <= 64 ? term : "");
    send_frame(&b, pass, npass);

    int master;
    int type = recv_frame(&b, &master);
    finish_on(&b, type);
    if (type != T_STARTED || (terminals != 0) != (master >= 0)) die(255, "bad reply from the emperor");
    if (root) {
        for (int i = 0; i < npass; i++) close(pass[i]); /* the command has its own copies */
    } else {
        /* The command has its own copies: ours must not keep sshd waiting for end-of-file. */
        int devnull = open("/dev/null", O_RDWR);
        for (int i = 0; i < npass && devnull >= 0; i++) if (pass[i] < 2) dup2(devnull, pass[i]);
        if (devnull > 2) close(devnull);
    }

    /* out[0]: the pty's output, to our terminal; out[1], out[2]: root's relayed stdout, stderr. */
    static struct pump out[3], in;
    out[0].src = master;
    out[0].dst = (terminals & 2) ? 1 : (terminals & 4) ? 2 : 0;
    out[1].src = from[1]; out[1].dst = 1;
    out[2].src = from[2]; out[2].dst = 2;
    in.src = ((terminals & 1) || to_stdin >= 0) ? 0 : -1;
    in.dst = (terminals & 1) ? master : to_stdin;
    for (int i = 0; i < 3; i++) if (out[i].src >= 0) fcntl(out[i].src, F_SETFL, fcntl(out[i].src, F_GETFL) | O_NONBLOCK);
    if (in.dst >= 0) fcntl(in.dst, F_SETFL, fcntl(in.dst, F_GETFL) | O_NONBLOCK);
    if (master >= 0 && tty >= 0) { struct winsize now; if (ioctl(tty, TIOCGWINSZ, &now) == 0) ioctl(master, TIOCSWINSZ, &now); }
    if ((terminals & 1) && tcgetattr(0, &saved_tty) == 0) {
        struct termios raw = saved_tty;
        tty_saved = 1;
        cfmakeraw(&raw);
        tcsetattr(0, TCSADRAIN, &raw);
    }

    for (;;) {
        struct pollfd all[7] = {
            { .fd = sock, .events = POLLIN },
            { .fd = sig_pipe[0], .events = POLLIN },
            { .fd = (in.src >= 0 && in.len == 0) ? in.src : -1, .events = POLLIN },
            { .fd = in.len ? in.dst : -1, .events = POLLOUT },
            { .fd = out[0].src, .events = POLLIN },
            { .fd = out[1].src, .events = POLLIN },
            { .fd = out[2].src, .events = POLLIN },
        };
        if (poll(all, 7, -1) < 0) {
            if (errno == EINTR) continue;
            die(255, "poll: %s", strerror(errno));
        }
        if (all[1].revents && drain_signals() && master >= 0 && tty >= 0) {
            struct winsize now;
            if (ioctl(tty, TIOCGWINSZ, &now) == 0) ioctl(master, TIOCSWINSZ, &now);
        }
        if (all[2].revents) {
            ssize_t r = read(in.src, in.buf, sizeof in.buf);
            if (r > 0) { in.len = (size_t)r; in.off = 0; }
            else if (r == 0 || errno != EINTR) {
                in.src = -1; /* our stdin ended: so does the command's (a pty's never does) */
                if (to_stdin >= 0) { close(to_stdin); to_stdin = -1; in.dst = -1; }
            }
        }
        if (in.len && in.dst >= 0) {
            ssize_t w = write(in.dst, in.buf + in.off, in.len);
            if (w > 0) { in.off += (size_t)w; in.len -= (size_t)w; }
            else if (w < 0 && errno != EAGAIN && errno != EINTR) { in.len = 0; in.src = -1; } /* the command stopped reading for good */
        }
        for (int i = 0; i < 3; i++)
            if (all[4 + i].revents && !pump_out(&out[i])) { if (i > 0) close(out[i].src); out[i].src = -1; }
        if (all[0].revents) {
            int fd;
            type = recv_frame(&b, &fd);
            if (fd >= 0) close(fd);
            if (type == T_EXIT) for (int i = 0; i < 3; i++) drain(&out[i]);
            finish_on(&b, type);
        }
    }
}

int main(int argc, char **argv) {
    const char *path = default_socket;
    const char *tenant = "";
    int i = 1;
    if (i < argc && strcmp(argv[i], "shell") == 0) i++; /* run as `emperor shell ...` */
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) path = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: emperor shell [--socket PATH] [TENANT]\n"
                   "Enters a tenant: its login shell on a terminal, or $SSH_ORIGINAL_COMMAND.\n"
                   "Meant as sshd's ForceCommand; TENANT may be given by root only.\n");
            return 0;
        } else if (argv[i][0] != '-' && !*tenant) tenant = argv[i];
        else die(2, "usage: emperor shell [--socket PATH] [TENANT]");
    }

    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path) die(2, "socket path too long: %s", path);
    strcpy(addr.sun_path, path);
    sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        die(255, "cannot reach the emperor at %s: %s", path, strerror(errno));

    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) die(255, "pipe: %s", strerror(errno));
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    int handled[] = { SIGWINCH, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };
    for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++) sigaction(handled[k], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *command = getenv("SSH_ORIGINAL_COMMAND");
    if (!command && isatty(0)) terminal_session(tenant);
    else command_session(tenant, command ? command : "");
    return 255;
}
