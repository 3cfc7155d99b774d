/*
 * A pcapng writer (draft-ietf-opsawg-pcapng): one Section Header Block, then
 * Interface Description Blocks and Enhanced Packet Blocks, in that order of
 * use.  It is the tracer's --trace output and is meant for anyone else who
 * writes pcapng (replay's --update-expected).
 *
 * Every block is encoded into a memory buffer by a bounds-checked writer and
 * then handed to stdio in one fwrite, so the file only ever grows by whole
 * blocks.  All numbers are written little-endian whatever the host, so the
 * same run gives the same bytes everywhere.  Timestamps are nanoseconds
 * (if_tsresol = 9 on every interface).
 *
 * Errors: the first failed write (disk full...) is remembered, nothing more is
 * written after it (so the file stays a sequence of whole blocks), and every
 * later call returns VK_EIO; vk_pcapng_status()/vk_pcapng_close() report it.
 */
#ifndef VK_TRACER_PCAPNG_H
#define VK_TRACER_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VK_PCAPNG_LINKTYPE_ETHERNET 1

/* epb_flags direction bits (bits 0-1) */
#define VK_PCAPNG_FLAG_INBOUND 0x1u
#define VK_PCAPNG_FLAG_OUTBOUND 0x2u

typedef struct vk_pcapng vk_pcapng;

/* Section Header Block options; NULL members are left out. */
typedef struct vk_pcapng_section {
    const char *userappl; /* shb_userappl, e.g. "vnetkit 0.1.0" */
    const char *os;       /* shb_os */
    const char *hardware; /* shb_hardware */
    const char *comment;  /* opt_comment */
} vk_pcapng_section;

/* One Enhanced Packet Block.  caplen is clamped to the interface's snaplen;
 * origlen must be >= caplen.  flags 0 and packet_id 0 leave those options
 * out; comment NULL leaves opt_comment out. */
typedef struct vk_pcapng_packet {
    uint32_t iface;
    uint64_t ts_ns;
    const uint8_t *data;
    uint32_t caplen;
    uint32_t origlen;
    uint32_t flags;     /* epb_flags, VK_PCAPNG_FLAG_* */
    uint64_t packet_id; /* epb_packetid */
    const char *comment;
} vk_pcapng_packet;

/* Creates (truncates) path and writes the Section Header Block.  Option
 * strings longer than 65535 bytes are cut to that length (an option's
 * length is 16 bits). */
int vk_pcapng_open(const char *path, const vk_pcapng_section *shb, vk_pcapng **out,
                   vk_diag *d);
/* Writes an Interface Description Block (if_name, if_description, if_tsresol
 * = 9); *iface_out gets its interface number (0, 1, ... in call order).
 * snaplen 0 means "no limit" as in the spec.  libpcap (not Wireshark) only
 * reads files whose interfaces share one link type and one snaplen. */
int vk_pcapng_add_interface(vk_pcapng *w, uint16_t linktype, uint32_t snaplen, const char *name,
                            const char *description, uint32_t *iface_out);
/* VK_EINVAL for an unknown interface or caplen > origlen; VK_EIO after a
 * write error. */
int vk_pcapng_write_packet(vk_pcapng *w, const vk_pcapng_packet *pkt);
/* Pushes buffered blocks to the kernel. */
int vk_pcapng_flush(vk_pcapng *w);
/* VK_OK, or the first write error with a message naming the file. */
int vk_pcapng_status(const vk_pcapng *w, vk_diag *d);
/* Flushes, closes and frees (NULL ok); returns what vk_pcapng_status would,
 * including a failure of the final flush or fclose. */
int vk_pcapng_close(vk_pcapng *w, vk_diag *d);

#endif
