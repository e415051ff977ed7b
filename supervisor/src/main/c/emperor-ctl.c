/*
 * emperor-ctl: the fast path of `emperor status|start|stop|reload|logs|check` (no JVM start).
 *
 *   EMPEROR_CLI_FALLBACK=/path/to/jvm/launcher emperor-ctl COMMAND [ARGS...]
 *
 * It sends the command to the running emperor's control socket with "render":"text"
 * (docs/API.md, protocol version 2) and prints the text the emperor sends back: exactly what
 * the Java CLI prints, made by the same Java code, with the same exit code. It is a fast path,
 * never a different behaviour: whenever it cannot be sure to do exactly what the Java CLI
 * does, it execs EMPEROR_CLI_FALLBACK (the JVM CLI) with the same arguments and
 * EMPEROR_NATIVE_CLI=off, before anything was sent. That is: any option or form it does not
 * know (--help, logs -f, @files...), an emperor.ini it cannot read plainly, no emperor
 * listening (connect fails), a check of a file that is not a plain small vassal file, or an
 * emperor too old to render text (it refuses the version-2 request without acting on it).
 *
 * Once a request is sent, nothing is run twice: a timeout, a reply that is not one JSON object
 * with "exit", "stdout" and "stderr", or one over 64 MiB is an error naming the socket, exit 1.
 * Every reply byte is untrusted: bounded buffers, checked parsing, written out with write(2),
 * never used as a format. EMPEROR_CTL_TIMEOUT (seconds, default 60, plus --wait) bounds the wait.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 2
#define MAX_REQUEST (512 * 1024)          /* ControlProtocol.MAX_REQUEST_BYTES */
#define MAX_REPLY (64 * 1024 * 1024)      /* ControlProtocol.MAX_RESPONSE_BYTES */
#define MAX_CONFIG (1024 * 1024)          /* emperor.ini and vassal files: ConfigFiles.MAX_FILE_BYTES */
#define MAX_LOG_LINES 10000               /* more goes to the JVM CLI, which streams them */
#define MAX_JSON_DEPTH 32
#define DEFAULT_CONFIG "/etc/emperor/emperor.ini"
#define DEFAULT_SOCKET "/run/emperor/control.sock"

static char **original_argv;
static const char *socket_path;

/* ---- falling back to the JVM CLI ---- */

static void fall_back(void) {
    const char *jvm = getenv("EMPEROR_CLI_FALLBACK");
    if (jvm == NULL || jvm[0] != '/') {
        fprintf(stderr, "emperor-ctl: EMPEROR_CLI_FALLBACK must name the JVM CLI launcher (an absolute path)\n");
        exit(1);
    }
    setenv("EMPEROR_NATIVE_CLI", "off", 1); /* the launcher then runs the JVM, never us again */
    original_argv[0] = (char *)jvm;
    execv(jvm, original_argv);
    fprintf(stderr, "emperor-ctl: cannot run %s: %s\n", jvm, strerror(errno));
    exit(1);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("emperor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- a growable byte buffer with a hard limit ---- */

struct buf {
    char *data;
    size_t len, cap, max;
};

static int buf_add(struct buf *b, const void *bytes, size_t n) {
    if (n > b->max - b->len) return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        if (cap > b->max) cap = b->max;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) fail("out of memory");
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

static int buf_str(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

/* ---- the request ---- */

/* Only printable ASCII goes into a request (anything else: the JVM CLI, which knows its encoding). */
static int json_string(struct buf *b, const char *s) {
    if (buf_str(b, "\"") < 0) return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f) fall_back();
        if ((*p == '"' || *p == '\\') && buf_str(b, "\\") < 0) return -1;
        if (buf_add(b, p, 1) < 0) return -1;
    }
    return buf_str(b, "\"");
}

static int base64(struct buf *b, const unsigned char *in, size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        char out[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                       i + 1 < n ? alphabet[v >> 6 & 63] : '=', i + 2 < n ? alphabet[v & 63] : '='};
        if (buf_add(b, out, 4) < 0) return -1;
    }
    return 0;
}

/*
 * Reads a regular file of at most MAX_CONFIG bytes into *out, as the emperor reads vassal files
 * (UntrustedFile: O_PATH|O_NOFOLLOW, no link, no FIFO or device). follow: emperor.ini may be a link.
 * Returns 0, or -1 with errno (ENOENT if missing; EINVAL for a file that is not plain).
 */
static int read_file(const char *path, int follow, struct buf *out) {
    /* O_PATH opens no FIFO or device for I/O (a plain open could block or have effects) */
    int held = open(path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (held < 0) return -1;
    struct stat st;
    char proc[64];
    if (fstat(held, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_CONFIG) {
        close(held);
        errno = EINVAL;
        return -1;
    }
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", held);
    int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    int saved = errno;
    close(held);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    out->max = MAX_CONFIG + 1; /* one byte more than allowed: a file that grew is seen to be too large */
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || buf_add(out, chunk, (size_t)n) < 0 || out->len > MAX_CONFIG) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
    }
    close(fd);
    return 0;
}

static char *strip(char *from, char *to) { /* IniParser.strip: spaces, tabs, CRs */
    while (from < to && (*from == ' ' || *from == '\t' || *from == '\r')) from++;
    while (to > from && (to[-1] == ' ' || to[-1] == '\t' || to[-1] == '\r')) to--;
    *to = '\0';
    return from;
}

/* An absolute path that Java's Path.normalize() leaves as it is. */
static int plain_absolute(const char *p) {
    size_t n = strlen(p);
    return p[0] == '/' && n > 1 && p[n - 1] != '/' && strstr(p, "//") == NULL && strstr(p, "/./") == NULL
           && strstr(p, "/../") == NULL && !(n >= 2 && strcmp(p + n - 2, "/.") == 0)
           && !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

/*
 * The control socket of emperor.ini at `config`: control-socket, else run-dir/control.sock.
 * Anything this small reader is not sure to read as EmperorConfig does falls back.
 */
static const char *control_socket(const char *config) {
    struct buf ini = {0};
    if (read_file(config, 1, &ini) < 0) {
        if (errno == ENOENT && strcmp(config, DEFAULT_CONFIG) == 0) return DEFAULT_SOCKET;
        fall_back(); /* the JVM CLI says what is wrong with it */
    }
    if (memchr(ini.data, '\0', ini.len) != NULL) fall_back();
    buf_add(&ini, "", 1);
    char *text = ini.data, *end = ini.data + ini.len - 1;
    if (ini.len >= 4 && memcmp(text, "\xef\xbb\xbf", 3) == 0) text += 3;
    static char socket_value[4096], run_dir[4096];
    int in_section = 0; /* [emperor]: any other section makes EmperorConfig refuse the file */
    socket_value[0] = run_dir[0] = '\0';
    while (text < end) {
        char *nl = memchr(text, '\n', (size_t)(end - text));
        if (nl == NULL) nl = end;
        char *line = strip(text, nl);
        text = nl + 1;
        if (*line == '\0' || *line == ';' || *line == '#') continue;
        if (*line == '[') {
            size_t n = strlen(line);
            if (line[n - 1] != ']') fall_back();
            line[n - 1] = '\0';
            char *name = strip(line + 1, line + n - 1);
            if (strcmp(name, "emperor") != 0) fall_back(); /* EmperorConfig refuses other sections */
            in_section = 1;
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL || !in_section) fall_back();
        *eq = '\0';
        char *key = strip(line, eq);
        char *value = strip(eq + 1, eq + 1 + strlen(eq + 1));
        char *slot = strcmp(key, "control-socket") == 0 ? socket_value
                     : strcmp(key, "run-dir") == 0 ? run_dir : NULL;
        if (slot == NULL) continue;
        if (slot[0] != '\0' || value[0] == '\0') fall_back(); /* given twice, or empty: an error */
        /* a relative path is the config file's directory's (EmperorConfig: base.resolve(value)) */
        size_t dir_len = value[0] == '/' ? 0 : (size_t)(strrchr(config, '/') - config);
        if (dir_len + 1 + strlen(value) >= sizeof socket_value) fall_back();
        snprintf(slot, sizeof socket_value, "%.*s%s%s", (int)dir_len, config, dir_len ? "/" : "", value);
        if (!plain_absolute(slot)) fall_back();
    }
    free(ini.data);
    if (socket_value[0]) return socket_value;
    if (run_dir[0]) {
        static char derived[4096 + 16];
        snprintf(derived, sizeof derived, "%s/control.sock", run_dir);
        return derived;
    }
    return DEFAULT_SOCKET;
}

static int all_digits(const char *s, size_t max_len) {
    size_t n = strlen(s);
    if (n == 0 || n > max_len) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* The files of `check`, each a plain vassal file (not emperor.ini: that is the JVM CLI's). */
static int add_check_files(struct buf *req, char **files, int count) {
    if (buf_str(req, ",\"files\":[") < 0) return -1;
    for (int i = 0; i < count; i++) {
        const char *path = files[i];
        size_t n = strlen(path);
        int ini = n > 4 && strcmp(path + n - 4, ".ini") == 0;
        int json = n > 5 && strcmp(path + n - 5, ".json") == 0;
        if (!ini && !json) fall_back(); /* the JVM CLI names what it is */
        struct buf content = {0};
        if (read_file(path, 0, &content) < 0) fall_back(); /* missing, a link, a FIFO, too large... */
        /* emperor.ini is recognised by an [emperor] line: leave any such file to the JVM CLI */
        if (ini && content.len > 0 && memmem(content.data, content.len, "[emperor]", 9) != NULL) fall_back();
        if ((i > 0 && buf_str(req, ",") < 0) || buf_str(req, "{\"path\":") < 0 || json_string(req, path) < 0
            || buf_str(req, ",\"content\":\"") < 0 || base64(req, (unsigned char *)content.data, content.len) < 0
            || buf_str(req, "\"}") < 0)
            return -1;
        free(content.data);
    }
    return buf_str(req, "]");
}

/*
 * Builds the request for argv, or falls back for any form it does not know. Sets *timeout
 * (seconds) to the wait the command may need.
 */
static void build_request(int argc, char **argv, struct buf *req, int *timeout) {
    const char *cmd = argv[1];
    const char *config = DEFAULT_CONFIG, *wait = NULL, *lines = NULL;
    int json = 0, retired = 0, status = strcmp(cmd, "status") == 0, logs = strcmp(cmd, "logs") == 0;
    int check = strcmp(cmd, "check") == 0, action = !status && !logs && !check;
    char **positional = calloc((size_t)argc, sizeof *positional);
    int count = 0;
    if (positional == NULL) fail("out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && next != NULL) {
            config = next;
            i++;
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (status && strcmp(a, "--json") == 0) {
            json = 1;
        } else if (status && strcmp(a, "--retired") == 0) {
            retired = 1;
        } else if (action && strcmp(a, "--wait") == 0) {
            if (next != NULL && next[0] != '-') { /* picocli takes it as the value: digits only here */
                if (!all_digits(next, 3)) fall_back();
                wait = next;
                i++;
            } else {
                wait = "60"; /* the option's fallback value */
            }
        } else if (action && strncmp(a, "--wait=", 7) == 0) {
            if (!all_digits(a + 7, 3)) fall_back();
            wait = a + 7;
        } else if (logs && (strcmp(a, "-n") == 0 || strcmp(a, "--lines") == 0) && next != NULL) {
            lines = next;
            i++;
        } else if (logs && strncmp(a, "--lines=", 8) == 0) {
            lines = a + 8;
        } else if (a[0] == '-' || a[0] == '@' || a[0] == '\0') {
            fall_back(); /* --help, -f, unknown options, argument files, "" */
        } else {
            positional[count++] = argv[i];
        }
    }
    if (wait != NULL && (atoi(wait) < 1 || atoi(wait) > 600)) fall_back(); /* the JVM CLI's message */
    if (lines != NULL && (!all_digits(lines, 5) || atoi(lines) > MAX_LOG_LINES)) fall_back();
    if (check ? count < 1 : status ? count > 1 : count != 1) fall_back();
    if (!plain_absolute(config)) fall_back(); /* relative: the JVM CLI resolves it in its own way */
    socket_path = control_socket(config);

    req->max = MAX_REQUEST;
    int bad = buf_str(req, "{\"version\":2,\"render\":\"text\",\"cmd\":") < 0 || json_string(req, cmd) < 0;
    if (!check && count == 1) bad = bad || buf_str(req, ",\"name\":") < 0 || json_string(req, positional[0]) < 0;
    if (json) bad = bad || buf_str(req, ",\"json\":true") < 0;
    if (retired) bad = bad || buf_str(req, ",\"retired\":true") < 0;
    if (wait) {
        char number[16];
        snprintf(number, sizeof number, ",\"wait\":%d", atoi(wait));
        bad = bad || buf_str(req, number) < 0;
    }
    if (logs) {
        char number[16];
        snprintf(number, sizeof number, ",\"lines\":%d", lines ? atoi(lines) : 50);
        bad = bad || buf_str(req, number) < 0;
    }
    if (check) bad = bad || buf_str(req, ",\"config\":") < 0 || json_string(req, config) < 0
                     || add_check_files(req, positional, count) < 0;
    bad = bad || buf_str(req, "}\n") < 0;
    if (bad) fall_back(); /* over the emperor's 512 KiB request limit: the JVM CLI reads the files itself */
    free(positional);
    *timeout = 60 + (wait ? atoi(wait) : 0);
    const char *override = getenv("EMPEROR_CTL_TIMEOUT");
    if (override != NULL && all_digits(override, 4) && atoi(override) > 0) *timeout = atoi(override) + (wait ? atoi(wait) : 0);
}

/* ---- talking to the emperor ---- */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline; 0 when ready, else an error exit naming the socket. */
static void await(int fd, short events, long long deadline, int timeout) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) fail("no answer from the emperor on %s within %d s", socket_path, timeout);
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n > 0) return;
        if (n < 0 && errno != EINTR) fail("waiting for the emperor on %s: %s", socket_path, strerror(errno));
    }
}

/* Sends the request and reads the reply line into *reply. */
static void exchange(const struct buf *req, struct buf *reply, int timeout) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path) fall_back();
    strcpy(addr.sun_path, socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) fall_back();
    /* not running, stale, not ours (EACCES), backlog full (EAGAIN: non-blocking, never hangs):
       the JVM CLI does without it or says why */
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) fall_back();
    long long deadline = now_ms() + (long long)timeout * 1000;
    size_t sent = 0;
    while (sent < req->len) {
        await(fd, POLLOUT, deadline, timeout);
        ssize_t n = send(fd, req->data + sent, req->len - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) {
            if (sent == 0 && (errno == ECONNREFUSED || errno == ENOENT)) fall_back();
            break; /* the emperor may have answered (a refusal) and closed: read it */
        }
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    reply->max = MAX_REPLY;
    char chunk[65536];
    for (;;) {
        await(fd, POLLIN, deadline, timeout);
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) fail("reading the emperor's reply on %s: %s", socket_path, strerror(errno));
        if (n == 0) break;
        char *nl = memchr(chunk, '\n', (size_t)n);
        if (buf_add(reply, chunk, nl ? (size_t)(nl - chunk) : (size_t)n) < 0)
            fail("the emperor's reply on %s is larger than %d MiB", socket_path, MAX_REPLY >> 20);
        if (nl) break;
    }
    close(fd);
    if (reply->len == 0) fail("the emperor closed the control connection on %s without answering", socket_path);
}

/* ---- the reply: one JSON object; only exit, stdout and stderr are kept ---- */

struct parser {
    const unsigned char *p, *end;
    const char *error;
};

static void ws(struct parser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int bad(struct parser *j, const char *why) {
    if (j->error == NULL) j->error = why;
    return -1;
}

static int hex4(struct parser *j, unsigned *out) {
    if (j->end - j->p < 4) return bad(j, "truncated \\u escape");
    *out = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *j->p++;
        unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
        if (d == 16) return bad(j, "bad \\u escape");
        *out = *out << 4 | d;
    }
    return 0;
}

static int utf8(struct buf *out, unsigned cp) {
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (unsigned char)cp, n = 1;
    else if (cp < 0x800) b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000)
        b[0] = (unsigned char)(0xe0 | cp >> 12), b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
        b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    else
        b[0] = (unsigned char)(0xf0 | cp >> 18), b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), b[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
    return buf_add(out, b, n);
}

/* A string; decoded into out unless out is NULL. A lone surrogate becomes '?', as Java prints it. */
static int string(struct parser *j, struct buf *out) {
    if (j->p >= j->end || *j->p != '"') return bad(j, "expected a string");
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = *j->p++;
        if (c < 0x20) return bad(j, "control character in a string");
        if (c != '\\') {
            if (out && buf_add(out, &c, 1) < 0) return bad(j, "string too long");
            continue;
        }
        if (j->p >= j->end) break;
        unsigned char e = *j->p++;
        unsigned cp;
        switch (e) {
        case '"': case '\\': case '/': cp = e; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (hex4(j, &cp) < 0) return -1;
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                const unsigned char *mark = j->p;
                unsigned low;
                j->p += 2;
                if (hex4(j, &low) < 0) return -1;
                if (low >= 0xdc00 && low < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                else j->p = mark; /* not a pair: this one is lone, the next is read on its own */
            }
            if (cp >= 0xd800 && cp < 0xe000) cp = '?';
            break;
        default: return bad(j, "bad escape in a string");
        }
        if (out && utf8(out, cp) < 0) return bad(j, "string too long");
    }
    if (j->p >= j->end) return bad(j, "unterminated string");
    j->p++;
    return 0;
}

static int skip_value(struct parser *j, int depth);

static int skip_container(struct parser *j, int depth, char close, int keyed) {
    if (depth > MAX_JSON_DEPTH) return bad(j, "nested too deeply");
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) return j->p++, 0;
    for (;;) {
        if (keyed) {
            if (string(j, NULL) < 0) return -1;
            ws(j);
            if (j->p >= j->end || *j->p++ != ':') return bad(j, "expected ':'");
        }
        if (skip_value(j, depth + 1) < 0) return -1;
        ws(j);
        if (j->p < j->end && *j->p == ',') { j->p++; ws(j); continue; }
        if (j->p < j->end && *j->p == close) return j->p++, 0;
        return bad(j, "expected ',' or the end of a container");
    }
}

static int skip_value(struct parser *j, int depth) {
    ws(j);
    if (j->p >= j->end) return bad(j, "truncated");
    switch (*j->p) {
    case '"': return string(j, NULL);
    case '{': return skip_container(j, depth, '}', 1);
    case '[': return skip_container(j, depth, ']', 0);
    default: break;
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[i], n) == 0) return j->p += n, 0;
    }
    const unsigned char *start = j->p;
    while (j->p < j->end && strchr("0123456789+-.eE", *j->p) != NULL) j->p++;
    return j->p > start ? 0 : bad(j, "unexpected character");
}

/* The exit code: an integer 0..255. */
static int exit_code(struct parser *j, int *out) {
    int value = 0, digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9' && digits < 4) value = value * 10 + (*j->p++ - '0'), digits++;
    if (digits == 0 || value > 255 || (j->p < j->end && strchr("0123456789.eE", *j->p) != NULL))
        return bad(j, "\"exit\" is not a number from 0 to 255");
    *out = value;
    return 0;
}

/* Returns 1 with the three fields, 0 if the reply lacks them (no text: the JVM CLI's turn), -1 if malformed. */
static int parse_reply(const struct buf *reply, int *code, struct buf *out, struct buf *err, const char **why) {
    struct parser j = {(const unsigned char *)reply->data, (const unsigned char *)reply->data + reply->len, NULL};
    int have_exit = 0, have_out = 0, have_err = 0;
    out->max = err->max = MAX_REPLY;
    ws(&j);
    if (j.p >= j.end || *j.p != '{') { *why = "not a JSON object"; return -1; }
    j.p++;
    ws(&j);
    int empty = j.p < j.end && *j.p == '}';
    if (empty) j.p++;
    while (!empty) {
        struct buf key = {.max = 64};
        ws(&j);
        if (string(&j, &key) < 0) break;
        ws(&j);
        if (j.p >= j.end || *j.p++ != ':') { bad(&j, "expected ':'"); free(key.data); break; }
        ws(&j);
        int *seen = NULL, rc;
#define IS(k) (key.len == strlen(k) && memcmp(key.data, k, key.len) == 0)
        if (IS("exit")) seen = &have_exit, rc = *seen ? bad(&j, "\"exit\" given twice") : exit_code(&j, code);
        else if (IS("stdout")) seen = &have_out, rc = *seen ? bad(&j, "\"stdout\" given twice") : string(&j, out);
        else if (IS("stderr")) seen = &have_err, rc = *seen ? bad(&j, "\"stderr\" given twice") : string(&j, err);
        else rc = skip_value(&j, 1);
#undef IS
        free(key.data);
        if (rc < 0) break;
        if (seen) *seen = 1;
        ws(&j);
        if (j.p < j.end && *j.p == ',') { j.p++; continue; }
        if (j.p < j.end && *j.p == '}') { j.p++; break; }
        bad(&j, "expected ',' or '}'");
        break;
    }
    if (j.error == NULL) {
        ws(&j);
        if (j.p != j.end) bad(&j, "text after the object");
    }
    if (j.error != NULL) { *why = j.error; return -1; }
    return have_exit && have_out && have_err;
}

static void write_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) exit(1); /* stdout closed (a pipe's reader left): nothing to tell anyone */
        data += w;
        n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    original_argv = argv;
    if (argc < 2) fall_back();
    const char *cmd = argv[1];
    if (strcmp(cmd, "status") != 0 && strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0
        && strcmp(cmd, "reload") != 0 && strcmp(cmd, "logs") != 0 && strcmp(cmd, "check") != 0)
        fall_back();
    signal(SIGPIPE, SIG_IGN);
    struct buf req = {0}, reply = {0}, out = {0}, err = {0};
    int timeout;
    build_request(argc, argv, &req, &timeout);
    exchange(&req, &reply, timeout);
    int code = 1;
    const char *why = NULL;
    int parsed = parse_reply(&reply, &code, &out, &err, &why);
    if (parsed < 0) fail("bad reply from the emperor on %s: %s", socket_path, why);
    if (parsed == 0) fall_back(); /* refused before it was acted on: an older emperor, or not ours */
    write_all(1, out.data, out.len);
    write_all(2, err.data, err.len);
    return code;
}
