/*
 * TFTP (RFC 1350) with option negotiation (RFC 2347: blksize 2348, timeout
 * and tsize 2349).  Every string -- filename, mode, option names and values,
 * error message -- must end with a NUL inside the packet, else VK_EFORMAT;
 * parsed strings point into the packet and are therefore safe C strings.
 * At most VK_TFTP_MAX_OPTIONS option pairs are accepted (more is
 * VK_EFORMAT): a peer cannot make us store an unbounded list.  Unknown
 * options are kept by name; known ones whose value is not a plain decimal
 * number are kept by name too but leave has_* false, so the server simply
 * does not acknowledge them.
 */
#ifndef VK_WIRE_TFTP_H
#define VK_WIRE_TFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VK_TFTP_MAX_OPTIONS 8
#define VK_TFTP_BLOCK_SIZE 512 /* without blksize negotiation */

enum {
    VK_TFTP_RRQ = 1,
    VK_TFTP_WRQ = 2,
    VK_TFTP_DATA = 3,
    VK_TFTP_ACK = 4,
    VK_TFTP_ERROR = 5,
    VK_TFTP_OACK = 6
};

enum {
    VK_TFTP_ERR_UNDEF = 0,
    VK_TFTP_ERR_NOT_FOUND = 1,
    VK_TFTP_ERR_ACCESS = 2,
    VK_TFTP_ERR_DISK_FULL = 3,
    VK_TFTP_ERR_ILLEGAL_OP = 4,
    VK_TFTP_ERR_UNKNOWN_TID = 5,
    VK_TFTP_ERR_EXISTS = 6,
    VK_TFTP_ERR_NO_USER = 7,
    VK_TFTP_ERR_OPTION = 8
};

typedef struct vk_tftp_option {
    const char *name;
    const char *value;
} vk_tftp_option;

typedef struct vk_tftp_repr {
    uint16_t opcode;
    /* RRQ/WRQ */
    const char *filename;
    const char *mode;
    /* RRQ/WRQ/OACK, in packet order; emit writes exactly these. */
    size_t option_count;
    vk_tftp_option options[VK_TFTP_MAX_OPTIONS];
    bool has_blksize;
    uint32_t blksize;
    bool has_timeout;
    uint32_t timeout;
    bool has_tsize;
    uint64_t tsize;
    /* DATA/ACK */
    uint16_t block;
    const uint8_t *data; /* DATA only: an ACK's trailing bytes are ignored */
    size_t data_len;
    /* ERROR */
    uint16_t error_code;
    const char *error_msg;
} vk_tftp_repr;

/* p/len is the UDP payload.  VK_OK, VK_ETRUNC (shorter than the opcode's
 * fixed part), VK_EFORMAT (unknown opcode, unterminated string, option
 * without value, too many options). */
int vk_tftp_parse(const uint8_t *p, size_t len, vk_tftp_repr *out);
/* Writes the packet for r->opcode; strings must be non-NULL.  VK_EINVAL for
 * an unknown opcode, VK_EFULL if cap is short. */
int vk_tftp_emit(const vk_tftp_repr *r, uint8_t *buf, size_t cap, size_t *written);
/* "RRQ", ..., "OACK", or "?" */
const char *vk_tftp_op_name(uint16_t opcode);

#endif
