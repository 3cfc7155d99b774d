/*
 * The read-only TFTP server of the user-mode stack (RFC 1350, options from
 * RFC 2347/2348/2349), answering as libslirp's tftp.c: everything from the
 * gateway's port 69 (no new TID), TOS 0x10; an OACK listing the accepted
 * options in the client's order (tsize=0 becomes the file size, blksize is
 * capped at 1428); DATA in lock-step with the ACKs; an extra empty block
 * when the size is a multiple of the block size; ERROR 1 "File not found",
 * 2 "Access violation", 4 "Unsupported transfer mode" as libslirp words them.
 *
 * Files are confined to tftp=DIR: names with a ".." component, absolute
 * names, and names whose real path (symlinks resolved) leaves DIR are an
 * access violation.  At most VK_USER_TFTP_SESSIONS_MAX sessions; each ends
 * after VK_USER_TFTP_IDLE_NS without traffic.  Beyond libslirp (which never
 * retransmits), the last packet is resent after 1 s up to
 * VK_USER_TFTP_RETRIES times, on the loop's clock.  As libslirp, only tsize
 * and blksize are acknowledged: a client's `timeout` (curl always asks) is
 * left out of the OACK, so the client keeps its default (RFC 2349).
 */
#include "backends/user/user_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/tftp.h"

#define IPTOS_LOWDELAY 0x10
#define TFTP_MAX_ACKED_OPTIONS 3

static void session_end(vk_user_tftp_session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->used = false;
    vk_timer_cancel(s->timer);
}

static void send_last(vk_user_tftp_session *s, uint64_t now)
{
    vk_user *u = s->u;
    vk_user_udp_output(u, u->cfg.host, VK_UDP_PORT_TFTP, s->client, s->client_port,
                       IPTOS_LOWDELAY, s->last, s->last_len, now);
    s->last_active = now;
    vk_timer_arm(s->timer, now + s->timeout_ns);
}

static void session_timer(void *arg, uint64_t now)
{
    vk_user_tftp_session *s = arg;
    if (s->retries >= VK_USER_TFTP_RETRIES) {
        s->u->st.tftp_timeouts++;
        session_end(s);
        return;
    }
    s->retries++;
    s->u->st.tftp_retransmits++;
    send_last(s, now);
}

static int send_error(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_udp_repr *udp, uint16_t code, const char *msg)
{
    uint8_t buf[64];
    vk_tftp_repr e = {.opcode = VK_TFTP_ERROR, .error_code = code, .error_msg = msg};
    size_t n;
    if (vk_tftp_emit(&e, buf, sizeof buf, &n) != VK_OK)
        return VK_EINVAL;
    u->st.tftp_errors_sent++;
    return vk_user_udp_output(u, u->cfg.host, VK_UDP_PORT_TFTP, ip->src, udp->src_port,
                              IPTOS_LOWDELAY, buf, n, rx->now);
}

static vk_user_tftp_session *session_find(vk_user *u, vk_ip4 ip, uint16_t port)
{
    for (size_t i = 0; i < VK_USER_TFTP_SESSIONS_MAX; i++) {
        vk_user_tftp_session *s = &u->tftp[i];
        if (s->used && s->client_port == port && memcmp(&s->client, &ip, sizeof ip) == 0)
            return s;
    }
    return NULL;
}

static vk_user_tftp_session *session_new(vk_user *u, vk_ip4 ip, uint16_t port, uint64_t now)
{
    for (size_t i = 0; i < VK_USER_TFTP_SESSIONS_MAX; i++) {
        vk_user_tftp_session *s = &u->tftp[i];
        if (s->used && now - s->last_active > VK_USER_TFTP_IDLE_NS) {
            u->st.tftp_timeouts++;
            session_end(s);
        }
        if (s->used)
            continue;
        s->used = true;
        s->client = ip;
        s->client_port = port;
        s->fd = -1;
        s->block_size = VK_TFTP_BLOCK_SIZE;
        s->block_nr = 0;
        s->oack_pending = false;
        s->last_sent = false;
        s->retries = 0;
        s->timeout_ns = VK_USER_TFTP_RETRANS_NS;
        s->last_active = now;
        return s;
    }
    return NULL;
}

static bool has_dotdot(const char *name)
{
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        p += *p == '/';
    }
    return false;
}

/* Opens name under the root: VK_OK, VK_ENOENT, or VK_EDROP (escape). */
static int open_confined(const vk_user *u, const char *name, int *fd, uint64_t *size)
{
    size_t n = strlen(name);
    if (n == 0 || n > VK_USER_TFTP_FILENAME_MAX || name[0] == '/' || name[n - 1] == '/' ||
        has_dotdot(name))
        return VK_EDROP;
    char path[PATH_MAX], real[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", u->cfg.tftp_root, name) >= (int)sizeof path)
        return VK_EDROP;
    if (realpath(path, real) == NULL)
        return VK_ENOENT;
    size_t rl = strlen(u->cfg.tftp_root);
    if (strncmp(real, u->cfg.tftp_root, rl) != 0 || real[rl] != '/')
        return VK_EDROP;
    int f = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f >= 0)
            close(f);
        return VK_ENOENT;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return VK_OK;
}

/* Sends DATA block s->block_nr + 1. */
static void send_block(vk_user_tftp_session *s, uint64_t now)
{
    uint32_t blk = s->block_nr + 1;
    uint8_t *p = s->last;
    p[0] = 0;
    p[1] = VK_TFTP_DATA;
    p[2] = (uint8_t)(blk >> 8);
    p[3] = (uint8_t)blk;
    off_t off = (off_t)s->block_nr * s->block_size;
    ssize_t got = pread(s->fd, p + 4, s->block_size, off);
    if (got < 0)
        got = 0;
    s->last_len = 4 + (size_t)got;
    s->last_sent = (size_t)got < s->block_size;
    s->retries = 0;
    send_last(s, now);
}

static char *put_pair(char *p, char *end, const char *name, uint64_t v)
{
    int n = snprintf(p, (size_t)(end - p), "%s%c%llu", name, 0, (unsigned long long)v);
    return n < 0 || n + 1 > end - p ? end : p + n + 1;
}

/* Builds the OACK in s->last; returns the number of options acknowledged. */
static size_t negotiate(vk_user_tftp_session *s, const vk_tftp_repr *t)
{
    char *p = (char *)s->last + 2, *end = (char *)s->last + sizeof s->last;
    size_t acked = 0;
    for (size_t i = 0; i < t->option_count && acked < TFTP_MAX_ACKED_OPTIONS; i++) {
        const char *name = t->options[i].name;
        if (!strcasecmp(name, "tsize") && t->has_tsize) {
            p = put_pair(p, end, "tsize", t->tsize == 0 ? s->size : t->tsize);
        } else if (!strcasecmp(name, "blksize") && t->has_blksize && t->blksize > 0) {
            s->block_size = t->blksize < VK_USER_TFTP_BLKSIZE_MAX ? t->blksize
                                                                  : VK_USER_TFTP_BLKSIZE_MAX;
            p = put_pair(p, end, "blksize", s->block_size);
        } else {
            continue;
        }
        acked++;
    }
    s->last[0] = 0;
    s->last[1] = VK_TFTP_OACK;
    s->last_len = (size_t)(p - (char *)s->last);
    return acked;
}

static int handle_rrq(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_udp_repr *udp, const vk_tftp_repr *t)
{
    vk_user_tftp_session *s = session_find(u, ip->src, udp->src_port);
    if (s != NULL)
        session_end(s);
    if ((s = session_new(u, ip->src, udp->src_port, rx->now)) == NULL) {
        u->st.tftp_sessions_full++;
        return vk_user_drop(u, rx, "TFTP: too many sessions");
    }
    /* libslirp's order: no directory, a name of TFTP_FILENAME_MAX bytes or
     * more, or fewer than 6 bytes after the name (room for "octet") are an
     * access violation, before the mode is looked at */
    size_t name_len = strlen(t->filename);
    if (u->cfg.tftp_root == NULL || name_len >= VK_USER_TFTP_FILENAME_MAX ||
        udp->payload_len - 2 - (name_len + 1) < 6) {
        session_end(s);
        return send_error(u, rx, ip, udp, VK_TFTP_ERR_ACCESS, "Access violation");
    }
    if (strcasecmp(t->mode, "octet") != 0) {
        session_end(s);
        return send_error(u, rx, ip, udp, VK_TFTP_ERR_ILLEGAL_OP, "Unsupported transfer mode");
    }
    int r = open_confined(u, t->filename, &s->fd, &s->size);
    if (r != VK_OK) {
        session_end(s);
        if (r == VK_ENOENT)
            return send_error(u, rx, ip, udp, VK_TFTP_ERR_NOT_FOUND, "File not found");
        return send_error(u, rx, ip, udp, VK_TFTP_ERR_ACCESS, "Access violation");
    }
    if (negotiate(s, t) > 0) {
        s->oack_pending = true;
        send_last(s, rx->now);
        return VK_OK;
    }
    send_block(s, rx->now);
    return VK_OK;
}

static int handle_ack(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_udp_repr *udp, const vk_tftp_repr *t)
{
    vk_user_tftp_session *s = session_find(u, ip->src, udp->src_port);
    if (s == NULL)
        return vk_user_drop(u, rx, "TFTP: ACK for no session");
    if (s->oack_pending) {
        if (t->block != 0)
            return vk_user_drop(u, rx, "TFTP: ACK does not match the OACK");
        s->oack_pending = false;
        send_block(s, rx->now);
        return VK_OK;
    }
    if (t->block != (uint16_t)(s->block_nr + 1))
        return vk_user_drop(u, rx, "TFTP: duplicate or stale ACK");
    s->block_nr++;
    if (s->last_sent) {
        session_end(s);
        return VK_OK;
    }
    send_block(s, rx->now);
    return VK_OK;
}

static int bad_packet(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                      const vk_udp_repr *udp)
{
    if (udp->payload_len >= 2 && udp->payload[0] == 0 && udp->payload[1] == VK_TFTP_RRQ)
        return send_error(u, rx, ip, udp, VK_TFTP_ERR_ACCESS, "Access violation");
    if (udp->payload_len >= 2 && udp->payload[0] == 0 && udp->payload[1] >= VK_TFTP_RRQ &&
        udp->payload[1] <= VK_TFTP_OACK)
        return vk_user_drop(u, rx, "TFTP: malformed packet");
    return vk_user_drop(u, rx, "TFTP: unknown opcode");
}

int vk_user_tftp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const vk_udp_repr *udp)
{
    vk_tftp_repr t;
    if (vk_tftp_parse(udp->payload, udp->payload_len, &t) != VK_OK)
        return bad_packet(u, rx, ip, udp);
    switch (t.opcode) {
    case VK_TFTP_RRQ:
        return handle_rrq(u, rx, ip, udp, &t);
    case VK_TFTP_ACK:
        return handle_ack(u, rx, ip, udp, &t);
    case VK_TFTP_ERROR: {
        vk_user_tftp_session *s = session_find(u, ip->src, udp->src_port);
        if (s != NULL)
            session_end(s);
        return VK_OK;
    }
    case VK_TFTP_WRQ:
        return vk_user_drop(u, rx, "TFTP: write requests are not served");
    default:
        return vk_user_drop(u, rx, "TFTP: unexpected opcode from a client");
    }
}

int vk_user_tftp_init(vk_user *u)
{
    for (size_t i = 0; i < VK_USER_TFTP_SESSIONS_MAX; i++) {
        vk_user_tftp_session *s = &u->tftp[i];
        s->u = u;
        s->fd = -1;
        s->timer = vk_timer_new(u->loop, session_timer, s);
        if (s->timer == NULL)
            return VK_ENOMEM;
    }
    return VK_OK;
}

void vk_user_tftp_cleanup(vk_user *u)
{
    for (size_t i = 0; i < VK_USER_TFTP_SESSIONS_MAX; i++) {
        vk_user_tftp_session *s = &u->tftp[i];
        if (s->u == NULL)
            continue;
        if (s->used)
            session_end(s);
        vk_timer_free(s->timer);
        s->timer = NULL;
    }
}
