#define _GNU_SOURCE
#include "CSystem.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int hy_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int hy_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int hy_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    return hy_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, events, data);
}

int hy_epoll_mod(int epfd, int fd, uint32_t events, uint64_t data) {
    return hy_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, events, data);
}

int hy_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int hy_epoll_wait(int epfd, hy_epoll_event *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    do {
        n = epoll_wait(epfd, evs, max, timeout_ms);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        events[i].events = evs[i].events;
        events[i].data = evs[i].data.u64;
    }
    return n;
}

int hy_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int hy_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

int hy_eventfd_drain(int fd) {
    uint64_t value;
    return read(fd, &value, sizeof value) == sizeof value ? 0 : -1;
}

static void hy_format_peer(const struct sockaddr_storage *ss, char *peer, int peer_len) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        port = ntohs(sin->sin_port);
        snprintf(peer, peer_len, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        port = ntohs(sin6->sin6_port);
        snprintf(peer, peer_len, "[%s]:%d", ip, port);
    } else {
        snprintf(peer, peer_len, "?");
    }
}

int hy_accept(int listen_fd, char *peer, int peer_len) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 && peer && peer_len > 0) hy_format_peer(&ss, peer, peer_len);
    return fd;
}

static int hy_resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof *sin;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof *sin6;
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int hy_listen_tcp(const char *host, int port, int backlog, int *bound_port) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (hy_resolve(host, port, &ss, &len) != 0) return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    struct sockaddr_storage actual;
    socklen_t alen = sizeof actual;
    if (bound_port && getsockname(fd, (struct sockaddr *)&actual, &alen) == 0) {
        *bound_port = actual.ss_family == AF_INET
            ? ntohs(((struct sockaddr_in *)&actual)->sin_port)
            : ntohs(((struct sockaddr_in6 *)&actual)->sin6_port);
    }
    return fd;
}

int hy_connect_tcp(const char *host, int port, int timeout_ms) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (hy_resolve(host, port, &ss, &len) != 0) return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        if (errno != EINPROGRESS) { int e = errno; close(fd); errno = e; return -1; }
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int r = poll(&pfd, 1, timeout_ms);
        int err = 0;
        socklen_t elen = sizeof err;
        if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            close(fd);
            errno = r == 0 ? ETIMEDOUT : (err ? err : errno);
            return -1;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    hy_set_nodelay(fd);
    return fd;
}

int hy_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int hy_set_recv_timeout(int fd, int timeout_ms) {
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int hy_set_recv_buffer(int fd, int bytes) {
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

ssize_t hy_send(int fd, const void *buf, size_t len) {
    ssize_t n;
    do {
        n = send(fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

long hy_raise_nofile_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

int hy_block_shutdown_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    /* A write past RLIMIT_FSIZE then fails with EFBIG, handled like a full disk, instead of
       killing the daemon. */
    sigaddset(&set, SIGXFSZ);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int hy_unblock_all_signals(void) {
    sigset_t set;
    sigfillset(&set);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int hy_wait_shutdown_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    return sig;
}

uint64_t hy_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hy_realtime(int64_t *sec, int32_t *nsec) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = ts.tv_sec;
    *nsec = (int32_t)ts.tv_nsec;
}

int hy_thread_start(unsigned long *thread, const char *name, void *(*body)(void *), void *context) {
    pthread_t created;
    int result = pthread_create(&created, NULL, body, context);
    if (result != 0) return result;
    if (name != NULL) {
        char short_name[16];
        snprintf(short_name, sizeof short_name, "%s", name);
        (void)pthread_setname_np(created, short_name);
    }
    *thread = (unsigned long)created;
    return 0;
}

int hy_thread_join(unsigned long thread, long timeout_ms) {
    if (timeout_ms < 0) return pthread_join((pthread_t)thread, NULL);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np((pthread_t)thread, NULL, &deadline);
}

int hy_thread_detach(unsigned long thread) { return pthread_detach((pthread_t)thread); }
