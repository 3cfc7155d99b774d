/*
 * A pcapng writer (draft-ietf-opsawg-pcapng): one Section Header Block, then
 * Interface Description Blocks and Enhanced Packet Blocks, in that order of
 * use.  It is the tracer's --trace output and is meant for anyone else who
 * writes pcapng (replay's --update-expected).
 *
 * Every block is encoded by a bounds-checked writer into an output buffer of
 * VK_PCAPNG_BUFFER bytes that only holds whole blocks; the buffer is handed to
 * an unbuffered stdio stream in one fwrite when it is full, on
 * vk_pcapng_flush() and on close, so the file grows by whole blocks (a block
 * larger than the buffer gets a buffer of its own size).  All numbers are written little-endian whatever the host, so the
 * same run gives the same bytes everywhere.  Timestamps are nanoseconds
 * (if_tsresol = 9 on every interface).
 *
 * Errors: the first failed write (disk full...) is remembered, nothing more is
 * written after it, and every later call returns VK_EIO;
 * vk_pcapng_status()/vk_pcapng_close() report it.  The packets it loses (those
 * waiting in the buffer, and every one offered after it) are counted by
 * vk_pcapng_packets_lost().
 */
#ifndef VK_WIRE_PCAPNG_H
#define VK_WIRE_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VK_PCAPNG_LINKTYPE_ETHERNET 1

/* Bytes of whole blocks gathered before a write. */
#define VK_PCAPNG_BUFFER (1u << 20)

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
/* Pushes buffered blocks to the kernel (one fwrite). */
int vk_pcapng_flush(vk_pcapng *w);
/* Packets vk_pcapng_write_packet accepted or refused with VK_EIO that are not
 * in the file because of a write error: the ones waiting in the buffer when a
 * write failed, and every one offered after it.  0 while all is well. */
uint64_t vk_pcapng_packets_lost(const vk_pcapng *w);
/* VK_OK, or the first write error with a message naming the file. */
int vk_pcapng_status(const vk_pcapng *w, vk_diag *d);
/* Flushes, closes and frees (NULL ok); returns what vk_pcapng_status would,
 * including a failure of the final flush or fclose. */
int vk_pcapng_close(vk_pcapng *w, vk_diag *d);

#endif
