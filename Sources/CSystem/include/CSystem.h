#ifndef HYDRANT_CSYSTEM_H
#define HYDRANT_CSYSTEM_H
// Linux system calls Glibc's Swift overlay does not expose (epoll, eventfd, accept4),
// wrapped so the Swift side never touches variadic or macro-only APIs.
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

typedef struct {
    uint32_t events;
    uint64_t data;
} hy_epoll_event;

enum {
    HY_EPOLLIN = 0x001,
    HY_EPOLLOUT = 0x004,
    HY_EPOLLERR = 0x008,
    HY_EPOLLHUP = 0x010,
    HY_EPOLLRDHUP = 0x2000,
};

int hy_epoll_create(void);
int hy_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int hy_epoll_mod(int epfd, int fd, uint32_t events, uint64_t data);
int hy_epoll_del(int epfd, int fd);
/// Waits for up to `max` events; returns the count, 0 on timeout, -1 with errno.
int hy_epoll_wait(int epfd, hy_epoll_event *events, int max, int timeout_ms);

int hy_eventfd(void);
int hy_eventfd_signal(int fd);
int hy_eventfd_drain(int fd);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; fills a printable peer "ip:port".
int hy_accept(int listen_fd, char *peer, int peer_len);
/// Non-blocking, CLOEXEC, SO_REUSEADDR listening TCP socket on host:port (IPv4 or IPv6
/// literal). Returns fd or -1 with errno; *bound_port receives the actual port.
int hy_listen_tcp(const char *host, int port, int backlog, int *bound_port);
/// Blocking connect to host:port with a timeout; returns fd or -1.
int hy_connect_tcp(const char *host, int port, int timeout_ms);
int hy_set_nodelay(int fd);
int hy_set_recv_timeout(int fd, int timeout_ms);
int hy_set_recv_buffer(int fd, int bytes);
/// send(2) with MSG_NOSIGNAL.
ssize_t hy_send(int fd, const void *buf, size_t len);
/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the new soft limit.
long hy_raise_nofile_limit(void);
/// Blocks SIGINT, SIGTERM and SIGPIPE in the calling thread (inherited by new threads).
int hy_block_shutdown_signals(void);
/// Unblocks every signal in the calling thread (children spawned from it inherit the
/// mask; Dispatch worker threads block signals such as SIGALRM).
int hy_unblock_all_signals(void);
/// Waits for SIGINT, SIGTERM or SIGHUP (blocked beforehand); returns the signal number.
int hy_wait_shutdown_signal(void);

/// Threads: a joinable thread running `body(context)`, named (≤ 15 bytes) for `top -H`
/// and debuggers; 0 or an errno.
int hy_thread_start(unsigned long *thread, const char *name, void *(*body)(void *), void *context);
/// Joins `thread`, waiting at most `timeout_ms` (< 0: without limit); 0 when joined,
/// ETIMEDOUT when it still runs (it stays joinable).
int hy_thread_join(unsigned long thread, long timeout_ms);
/// The thread will not be joined: its resources go when it ends.
int hy_thread_detach(unsigned long thread);
/// Monotonic clock in nanoseconds.
uint64_t hy_monotonic_ns(void);
/// Wall clock: seconds and nanoseconds since the epoch.
void hy_realtime(int64_t *sec, int32_t *nsec);

#endif
