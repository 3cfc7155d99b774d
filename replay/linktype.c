/* Ethernet headers for SLL, SLL2 and raw IP captures (rules in linktype.h). */
#include "replay/linktype.h"

#include <pcap/pcap.h>
#include <string.h>

#include "core/error.h"
#include "wire/arp.h"
#include "wire/buf.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/sll.h"

/* LINKTYPE_ values libpcap may hand back as they are in the file. */
enum { LT_RAW = 101, LT_IPV4 = 228, LT_IPV6 = 229 };

static const uint8_t guest_mac[6] = VK_LINKTYPE_GUEST_MAC;
static const uint8_t net_mac[6] = VK_LINKTYPE_NET_MAC;

static bool is_raw(int dlt)
{
    return dlt == DLT_RAW || dlt == LT_RAW || dlt == LT_IPV4 || dlt == LT_IPV6;
}

bool vk_linktype_supported(int dlt)
{
    return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 || is_raw(dlt);
}

void vk_linktype_init(vk_linktype *lt, int dlt)
{
    memset(lt, 0, sizeof *lt);
    lt->dlt = dlt;
}

/* The destination MAC an IP packet's address implies, or false (unicast). */
static bool group_mac(uint16_t type, const uint8_t *l3, size_t len, uint8_t mac[6])
{
    vk_ipv4_repr ip4;
    vk_ipv6_repr ip6;
    if (type == VK_ETHERTYPE_IPV4 && vk_ipv4_parse(l3, len, &ip4) == VK_OK) {
        const uint8_t *d = ip4.dst.b;
        if (d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255) {
            memset(mac, 0xff, 6);
            return true;
        }
        if ((d[0] & 0xf0) == 0xe0) { /* RFC 1112 */
            const uint8_t m[6] = {0x01, 0x00, 0x5e, (uint8_t)(d[1] & 0x7f), d[2], d[3]};
            memcpy(mac, m, 6);
            return true;
        }
    } else if (type == VK_ETHERTYPE_IPV6 && vk_ipv6_parse(l3, len, &ip6) == VK_OK &&
               ip6.dst.b[0] == 0xff) { /* RFC 2464 */
        const uint8_t m[6] = {0x33, 0x33, ip6.dst.b[12], ip6.dst.b[13], ip6.dst.b[14],
                              ip6.dst.b[15]};
        memcpy(mac, m, 6);
        return true;
    } else if (type == VK_ETHERTYPE_ARP) {
        vk_arp_repr arp;
        if (vk_arp_parse(l3, len, &arp) == VK_OK && arp.op == 1) {
            memset(mac, 0xff, 6);
            return true;
        }
    }
    return false;
}

/* Packets only the network sends: DHCP and DHCPv6 servers' answers, router
 * advertisements.  Their sources never name the guest. */
static bool network_only(uint8_t proto, const uint8_t *l4, size_t len)
{
    if (proto == 17 && len >= 2) {
        unsigned sport = (unsigned)l4[0] << 8 | l4[1];
        return sport == 67 || sport == 547;
    }
    return proto == 58 && len >= 1 && l4[0] == 134;
}

/* Raw IP: is the packet the guest's?  The first source of each family is. */
static int raw_from_guest(vk_linktype *lt, const uint8_t *p, size_t len, uint16_t *type,
                          bool *from_guest, const char **why)
{
    vk_ipv4_repr ip4;
    vk_ipv6_repr ip6;
    unsigned version = len > 0 ? p[0] >> 4 : 0;
    static const uint8_t unspecified[16] = {0};
    if (version == 4 && vk_ipv4_parse(p, len, &ip4) == VK_OK) {
        *type = VK_ETHERTYPE_IPV4;
        /* 0.0.0.0 is a guest without an address yet (DHCP): the guest's,
         * but not the address it will use */
        if (memcmp(ip4.src.b, unspecified, 4) == 0 ||
            network_only(ip4.proto, ip4.payload, ip4.payload_len)) {
            *from_guest = !network_only(ip4.proto, ip4.payload, ip4.payload_len);
            return VK_OK;
        }
        if (!lt->have_guest4) {
            memcpy(lt->guest4, ip4.src.b, 4);
            lt->have_guest4 = true;
        }
        *from_guest = memcmp(ip4.src.b, lt->guest4, 4) == 0;
        return VK_OK;
    }
    if (version == 6 && vk_ipv6_parse(p, len, &ip6) == VK_OK) {
        *type = VK_ETHERTYPE_IPV6;
        if (memcmp(ip6.src.b, unspecified, 16) == 0 || /* duplicate address detection */
            network_only(ip6.proto, ip6.payload, ip6.payload_len)) {
            *from_guest = !network_only(ip6.proto, ip6.payload, ip6.payload_len);
            return VK_OK;
        }
        if (!lt->have_guest6) {
            memcpy(lt->guest6, ip6.src.b, 16);
            lt->have_guest6 = true;
        }
        *from_guest = memcmp(ip6.src.b, lt->guest6, 16) == 0;
        return VK_OK;
    }
    *why = "raw record is not an IPv4 or IPv6 packet that parses";
    return VK_EINVAL;
}

static int emit(uint16_t type, bool from_guest, const uint8_t *l3, size_t len, uint8_t *out,
                size_t cap, size_t *out_len)
{
    vk_eth_repr eth = {.ethertype = type, .payload = l3, .payload_len = len};
    memcpy(eth.src.b, from_guest ? guest_mac : net_mac, 6);
    if (!group_mac(type, l3, len, eth.dst.b))
        memcpy(eth.dst.b, from_guest ? net_mac : guest_mac, 6);
    return vk_eth_emit(&eth, out, cap, out_len);
}

int vk_linktype_to_ethernet(vk_linktype *lt, const uint8_t *p, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len, const char **why)
{
    *why = NULL;
    if (lt->dlt == DLT_EN10MB) {
        if (len > cap)
            return VK_EFULL;
        memcpy(out, p, len);
        *out_len = len;
        return VK_OK;
    }
    uint16_t type;
    bool from_guest;
    const uint8_t *l3 = p;
    size_t l3_len = len;
    if (lt->dlt == DLT_LINUX_SLL || lt->dlt == DLT_LINUX_SLL2) {
        vk_sll_repr sll;
        int e = lt->dlt == DLT_LINUX_SLL ? vk_sll_parse(p, len, &sll)
                                         : vk_sll2_parse(p, len, &sll);
        if (e != VK_OK) {
            *why = "record shorter than its SLL header";
            return VK_EINVAL;
        }
        if (sll.protocol < 0x0600) {
            *why = "SLL frame without an EtherType (802.2 or a link protocol)";
            return VK_EINVAL;
        }
        type = sll.protocol;
        from_guest = sll.pkttype == VK_SLL_OUTGOING;
        l3 = sll.payload;
        l3_len = sll.payload_len;
    } else if (raw_from_guest(lt, p, len, &type, &from_guest, why) != VK_OK) {
        return VK_EINVAL;
    }
    if (emit(type, from_guest, l3, l3_len, out, cap, out_len) != VK_OK) {
        *why = "frame too large once given an Ethernet header";
        return VK_EINVAL;
    }
    return VK_OK;
}
