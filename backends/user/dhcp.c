/*
 * The DHCP server of the user-mode stack, as libslirp's bootp.c behaves:
 * a pool of VK_USER_DHCP_POOL_SIZE addresses from dhcpstart, one per client
 * MAC and kept for the life of the stack; DISCOVER -> OFFER, REQUEST -> ACK,
 * or NAK for an address the client may not have.  Replies always go to
 * 255.255.255.255:68 from the gateway's port 67, TOS 0x10, in a 548-byte
 * BOOTP message (312-byte options area, zero padded), with options in
 * libslirp's order 53, 54, 1, 3, 6, 51, 12, 15, 66, 119 (3 and 6 left out
 * under restrict=on).  A full pool gives no answer, as in libslirp.
 *
 * Departures from libslirp, on purpose: messages without option 53 (plain
 * BOOTP), with a bad cookie or with an option running past the end are
 * dropped with a reason instead of being treated as a REQUEST.
 */
#include "backends/user/user_internal.h"

#include <stdio.h>
#include <string.h>

#include "wire/dhcp.h"

#define DHCP_REPLY_LEN 548 /* 236 + 312: libslirp's struct bootp_t payload */
#define DHCP_OPT_MESSAGE 56
#define DHCP_OPT_TFTP_SERVER 66
#define IPTOS_LOWDELAY 0x10

static const char nak_msg[] = "requested address not available";

static vk_ip4 pool_addr(const vk_user *u, size_t i)
{
    return vk_ip4_from_u32(vk_ip4_to_u32(u->cfg.dhcp_start) + (uint32_t)i);
}

static bool mac_eq(const vk_mac *a, const vk_mac *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The slot for a requested address, if it is in the pool and free or ours. */
static vk_user_dhcp_client *request_addr(vk_user *u, vk_ip4 req, const vk_mac *mac, size_t *idx)
{
    uint32_t r = vk_ip4_to_u32(req), start = vk_ip4_to_u32(u->cfg.dhcp_start);
    if (r < start || r >= start + VK_USER_DHCP_POOL_SIZE)
        return NULL;
    vk_user_dhcp_client *c = &u->dhcp[r - start];
    if (c->allocated && !mac_eq(&c->mac, mac))
        return NULL;
    *idx = r - start;
    return c;
}

/* The client's slot (found by MAC), else the first free one. */
static vk_user_dhcp_client *client_slot(vk_user *u, const vk_mac *mac, bool may_new, size_t *idx)
{
    for (size_t i = 0; i < VK_USER_DHCP_POOL_SIZE; i++)
        if (u->dhcp[i].allocated && mac_eq(&u->dhcp[i].mac, mac)) {
            *idx = i;
            return &u->dhcp[i];
        }
    for (size_t i = 0; may_new && i < VK_USER_DHCP_POOL_SIZE; i++)
        if (!u->dhcp[i].allocated) {
            *idx = i;
            return &u->dhcp[i];
        }
    return NULL;
}

static void put_lease_options(vk_user *u, vk_wr *w, uint8_t type)
{
    const vk_user_config *c = &u->cfg;
    vk_dhcp_put_u8(w, VK_DHCP_OPT_MSG_TYPE, type);
    vk_dhcp_put_ip4(w, VK_DHCP_OPT_SERVER_ID, &c->host);
    vk_dhcp_put_ip4(w, VK_DHCP_OPT_SUBNET_MASK, &c->mask);
    if (!c->restricted) {
        vk_dhcp_put_ip4(w, VK_DHCP_OPT_ROUTER, &c->host);
        vk_dhcp_put_ip4(w, VK_DHCP_OPT_DNS, &c->dns);
    }
    vk_dhcp_put_u32(w, VK_DHCP_OPT_LEASE_TIME, VK_USER_DHCP_LEASE_SECS);
    if (c->hostname)
        vk_dhcp_put_option(w, VK_DHCP_OPT_HOSTNAME, c->hostname, strlen(c->hostname));
    if (c->domainname)
        vk_dhcp_put_option(w, VK_DHCP_OPT_DOMAIN_NAME, c->domainname, strlen(c->domainname));
    if (c->tftp_server_name)
        vk_dhcp_put_option(w, DHCP_OPT_TFTP_SERVER, c->tftp_server_name,
                           strlen(c->tftp_server_name));
    if (c->dnssearch_n > 0)
        vk_dhcp_put_search(w, (const char *const *)c->dnssearch, c->dnssearch_n);
}

/* yiaddr NULL: a NAK, whose yiaddr is 255.255.255.255 in libslirp. */
static int send_reply(vk_user *u, const vk_user_rx *rx, const vk_dhcp_repr *req,
                      const vk_ip4 *yiaddr, uint8_t type)
{
    vk_dhcp_repr rep = {.op = VK_BOOTP_REPLY, .htype = 1, .hlen = 6, .xid = req->xid,
                        .siaddr = u->cfg.host};
    memcpy(rep.chaddr, req->chaddr, 6);
    rep.yiaddr = yiaddr ? *yiaddr : vk_ip4_broadcast();
    if (yiaddr && u->cfg.bootfile)
        snprintf(rep.file, sizeof rep.file, "%s", u->cfg.bootfile);
    uint8_t buf[DHCP_REPLY_LEN];
    vk_wr w;
    vk_wr_init(&w, buf, sizeof buf);
    vk_dhcp_emit_header(&rep, &w);
    if (yiaddr) {
        put_lease_options(u, &w, type);
    } else {
        vk_dhcp_put_u8(&w, VK_DHCP_OPT_MSG_TYPE, VK_DHCP_NAK);
        vk_dhcp_put_option(&w, DHCP_OPT_MESSAGE, nak_msg, sizeof nak_msg - 1);
    }
    if (vk_dhcp_finish(&w, DHCP_REPLY_LEN) != VK_OK)
        return vk_user_drop(u, rx, "DHCP: reply does not fit");
    vk_user_udp_output(u, u->cfg.host, VK_UDP_PORT_BOOTPS, vk_ip4_broadcast(),
                       VK_UDP_PORT_BOOTPC, IPTOS_LOWDELAY, buf, w.off, rx->now);
    return VK_OK;
}

static int lease(vk_user *u, const vk_user_rx *rx, const vk_dhcp_repr *req,
                 vk_user_dhcp_client *c, size_t idx, const vk_mac *mac)
{
    c->allocated = true;
    c->mac = *mac;
    vk_ip4 addr = pool_addr(u, idx);
    vk_user_arp_learn(u, addr, mac);
    bool offer = req->msg_type == VK_DHCP_DISCOVER;
    if (offer)
        u->st.dhcp_offers++;
    else
        u->st.dhcp_acks++;
    return send_reply(u, rx, req, &addr, offer ? VK_DHCP_OFFER : VK_DHCP_ACK);
}

static int no_address(vk_user *u, const vk_user_rx *rx)
{
    u->st.dhcp_pool_exhausted++;
    return vk_user_drop(u, rx, "DHCP: address pool exhausted");
}

static int handle(vk_user *u, const vk_user_rx *rx, const vk_dhcp_repr *req, const vk_mac *mac)
{
    vk_ip4 want = req->has_requested_ip ? req->requested_ip : vk_ip4_from_u32(0);
    if (req->msg_type == VK_DHCP_REQUEST && !req->has_requested_ip)
        want = req->ciaddr;
    size_t idx = 0;
    vk_user_dhcp_client *c = NULL;
    if (vk_ip4_to_u32(want) != 0)
        c = request_addr(u, want, mac, &idx);
    if (req->msg_type == VK_DHCP_REQUEST && vk_ip4_to_u32(want) != 0 && c == NULL) {
        u->st.dhcp_naks++;
        return send_reply(u, rx, req, NULL, VK_DHCP_NAK);
    }
    if (c == NULL)
        c = client_slot(u, mac, true, &idx);
    if (c == NULL)
        return no_address(u, rx);
    return lease(u, rx, req, c, idx, mac);
}

static int malformed(vk_user *u, const vk_user_rx *rx, const char *reason)
{
    u->st.dhcp_malformed++;
    return vk_user_drop(u, rx, reason);
}

static const char *parse_error(const vk_udp_repr *udp, int r)
{
    if (udp->payload_len < VK_DHCP_OPTIONS_OFF)
        return "DHCP: shorter than a BOOTP header";
    if (r == VK_ETRUNC)
        return "DHCP: option runs past the end";
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    if (memcmp(udp->payload + VK_DHCP_FIXED_LEN, cookie, 4) != 0)
        return "DHCP: bad magic cookie";
    return "DHCP: malformed option";
}

int vk_user_dhcp_input(vk_user *u, const vk_user_rx *rx, const vk_ipv4_repr *ip,
                       const vk_udp_repr *udp)
{
    (void)ip;
    vk_dhcp_repr req;
    int r = vk_dhcp_parse(udp->payload, udp->payload_len, &req);
    if (r != VK_OK)
        return malformed(u, rx, parse_error(udp, r));
    if (req.op != VK_BOOTP_REQUEST)
        return malformed(u, rx, "DHCP: not a BOOTREQUEST");
    if (req.msg_type == 0)
        return malformed(u, rx, "DHCP: no message type");
    vk_mac mac;
    if (!vk_dhcp_chaddr_mac(&req, &mac))
        return malformed(u, rx, "DHCP: hardware address is not Ethernet");
    if (req.msg_type != VK_DHCP_DISCOVER && req.msg_type != VK_DHCP_REQUEST)
        return vk_user_drop(u, rx, "DHCP: message type not served (libslirp ignores it)");
    return handle(u, rx, &req, &mac);
}
