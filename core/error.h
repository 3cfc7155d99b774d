/*
 * One error convention for all of vnetkit: functions that can fail return an
 * int that is 0 (VK_OK) or a negative VK_E* code; vk_strerror() gives a short
 * human text and vk_errname() the symbolic name.  User-facing messages that
 * need more context (which option, which file, which frame) go into a
 * vk_diag, filled by the function that found the problem.
 */
#ifndef VK_CORE_ERROR_H
#define VK_CORE_ERROR_H

#include <stddef.h>

enum vk_error {
    VK_OK = 0,
    VK_ENOMEM = -1,      /* allocation failed */
    VK_EINVAL = -2,      /* bad argument or option value */
    VK_EIO = -3,         /* operating-system I/O error */
    VK_ETRUNC = -4,      /* input shorter than its headers claim */
    VK_ENOENT = -5,      /* no such object (id, file, key) */
    VK_EEXIST = -6,      /* duplicate id */
    VK_EFULL = -7,       /* bounded resource exhausted (queue, pool, table) */
    VK_EFORMAT = -8,     /* malformed field in a wire or file format */
    VK_EAGAIN = -9,      /* cannot accept now; try again later */
    VK_ERANGE = -10,     /* value out of range */
    VK_EUNSUPP = -11,    /* valid but not supported */
    VK_EDROP = -12,      /* frame deliberately dropped (policy) */
    /* Outcomes of the outside world's sockets (the user backend's NAT). */
    VK_ECONNREFUSED = -13, /* the peer refused the connection (TCP RST) */
    VK_ENETUNREACH = -14,  /* no route to the network */
    VK_EHOSTUNREACH = -15, /* no route to the host */
    VK_ETIMEDOUT = -16,    /* no answer in time */
    VK_ECONNRESET = -17,   /* the peer reset an open connection */
    VK_EPORTUNREACH = -18, /* a datagram's port was unreachable (ICMP) */
    VK_ERROR_MIN = -18
};

const char *vk_strerror(int err);
const char *vk_errname(int err);

/* A diagnostic message: the one line a user sees on error. */
typedef struct vk_diag {
    char msg[512];
} vk_diag;

/* Writes a formatted message into d (if d is not NULL); returns err so a
 * caller can write `return vk_diag_set(d, VK_EINVAL, "...")`. */
int vk_diag_set(vk_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
