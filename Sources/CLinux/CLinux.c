#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include "CLinux.h"

int clinux_accept4(int fd, int flags) {
    return accept4(fd, NULL, NULL, flags);
}

const void *clinux_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
    return memmem(haystack, haystack_length, needle, needle_length);
}
