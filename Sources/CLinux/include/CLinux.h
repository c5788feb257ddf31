#ifndef AURAWELL_CLINUX_H
#define AURAWELL_CLINUX_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// epoll_event is packed on x86_64; these accessors keep Swift away from its layout.
static inline uint64_t clinux_epoll_event_data(const struct epoll_event *event) { return event->data.u64; }
static inline uint32_t clinux_epoll_event_events(const struct epoll_event *event) { return event->events; }

static inline int clinux_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

static inline size_t clinux_epoll_event_size(void) { return sizeof(struct epoll_event); }

// Milliseconds on CLOCK_MONOTONIC (never jumps with wall-clock changes).
static inline uint64_t clinux_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t clinux_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Blocks `signals` for the whole process so that they arrive only through a signalfd.
static inline int clinux_block_signals(const int *signals, int count, sigset_t *set_out) {
    sigemptyset(set_out);
    for (int i = 0; i < count; i++) sigaddset(set_out, signals[i]);
    return sigprocmask(SIG_BLOCK, set_out, NULL);
}

static inline int clinux_errno(void) { return errno; }

// accept4 is a GNU extension: defined in CLinux.c, which is compiled with _GNU_SOURCE.
int clinux_accept4(int fd, int flags);

// memmem is a GNU extension too.
const void *clinux_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

#endif
