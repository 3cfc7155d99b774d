/*
 * DNS message header and first question (RFC 1035 4.1), read only: what a
 * recorded world needs to pair a query with its answer (id and question name)
 * without interpreting anything else.  The name is read label by label with
 * compression pointers followed at most VK_DNS_MAX_JUMPS times and only
 * backwards, so a hostile message cannot loop; it is written lower-case,
 * dot-separated, without the final dot ("" for the root), at most
 * VK_DNS_NAME_MAX characters.
 */
#ifndef VK_WIRE_DNS_H
#define VK_WIRE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VK_DNS_HLEN 12
#define VK_DNS_NAME_MAX 253
#define VK_DNS_MAX_JUMPS 16

typedef struct vk_dns_question {
    uint16_t id;
    bool response;    /* QR bit */
    uint16_t qdcount;
    char name[VK_DNS_NAME_MAX + 1];
    uint16_t qtype, qclass;
} vk_dns_question;

/* p/len is the UDP payload (or the TCP message after its length prefix).
 * VK_OK; VK_ETRUNC when the header or question runs past len; VK_EFORMAT
 * for no question, a bad label type, a forward or looping pointer, or a
 * name that is too long. */
int vk_dns_parse_question(const uint8_t *p, size_t len, vk_dns_question *out);

#endif
