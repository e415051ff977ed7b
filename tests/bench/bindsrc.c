/* LD_PRELOAD shim for the noisy-neighbour bench: every IPv4 TCP socket a program connects is
 * first bound to $BIND_SOURCE (port 0), so wrk, which cannot choose its source address, can
 * come from 127.0.0.2 while another client comes from 127.0.0.3. Built by the bench itself:
 *   gcc -shared -fPIC -O2 -o bindsrc.so bindsrc.c -ldl */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    if (!real_connect) real_connect = dlsym(RTLD_NEXT, "connect");
    const char *source = getenv("BIND_SOURCE");
    if (source && addr && addr->sa_family == AF_INET) {
        struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = 0};
        if (inet_pton(AF_INET, source, &local.sin_addr) == 1) {
            bind(fd, (struct sockaddr *) &local, sizeof local); /* already bound: connect decides */
        }
    }
    return real_connect(fd, addr, len);
}
