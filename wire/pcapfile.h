/*
 * Classic pcap files (the libpcap "savefile" format) read and written in
 * large buffers: no system call and no library call per record.
 *
 * Reader: the standard magics only (microsecond or nanosecond, either byte
 * order), version 2, Ethernet; anything else (pcapng, the "modified" pcap
 * variants, other link types) is VK_EUNSUPP so the caller can hand the file
 * to libpcap, which knows every format and words every error.  Every record
 * header is checked before its bytes are used: a captured length beyond the
 * file's snapshot length or VK_FRAME_MAX, and a record cut by the end of the
 * file, are errors; the snapshot length is read as libpcap does (0 or more
 * than 262144 means 262144).
 *
 * Writer: the file libpcap's pcap_dump writes for DLT_EN10MB at nanosecond
 * precision, byte for byte (host byte order, magic 0xa1b23c4d).  Records are
 * gathered whole in a buffer of the size given at open and handed to the
 * kernel with one write(2) when the next does not fit, on flush and on close.
 * After a failed write nothing more is written: the records that were in the
 * buffer and every one offered later count as lost (vk_pcapfile_lost).
 *
 * Ownership: each reader and writer owns its fd and buffer; a record's data
 * points into the reader's buffer and is valid until the next call.
 */
#ifndef VK_WIRE_PCAPFILE_H
#define VK_WIRE_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VK_PCAPFILE_HEADER 24u
#define VK_PCAPFILE_RECORD_HEADER 16u
/* Bytes the reader asks the kernel for at a time. */
#define VK_PCAPFILE_READ_BUFFER (1u << 20)
/* The snapshot length libpcap gives Ethernet files that state none. */
#define VK_PCAPFILE_SNAPLEN_MAX 262144u

typedef struct vk_pcapfile_reader vk_pcapfile_reader;
typedef struct vk_pcapfile_writer vk_pcapfile_writer;

typedef struct vk_pcapfile_record {
    uint64_t ts_ns;        /* as libpcap gives it at nanosecond precision */
    uint32_t caplen;       /* bytes at data */
    uint32_t origlen;      /* length on the wire, as recorded */
    const uint8_t *data;   /* valid until the next call on the reader */
} vk_pcapfile_record;

/* Opens path for reading.  VK_EUNSUPP: not a regular file or not a format
 * this reader takes (see above; nothing is wrong with it necessarily);
 * VK_EIO: cannot open or read (message in d). */
int vk_pcapfile_open_read(const char *path, vk_pcapfile_reader **out, vk_diag *d);
/* 1 with a record, 0 at the end of the file, VK_ETRUNC for a record cut
 * short, VK_EFORMAT for a captured length over the snapshot length or
 * VK_FRAME_MAX, VK_EIO for a read error; d (may be NULL) gets a message
 * without the file name, e.g. "truncated dump file; ...".  After an error the
 * reader only returns that error again. */
int vk_pcapfile_next(vk_pcapfile_reader *r, vk_pcapfile_record *rec, vk_diag *d);
/* The snapshot length in effect (libpcap's reading of the header). */
uint32_t vk_pcapfile_snaplen(const vk_pcapfile_reader *r);
/* Bytes of the file taken so far: the offset of the next record. */
uint64_t vk_pcapfile_offset(const vk_pcapfile_reader *r);
void vk_pcapfile_close_read(vk_pcapfile_reader *r);

/* Creates (truncates) path and buffers the file header.  buffer is the
 * batch size in bytes (at least 64 KiB is used).  VK_EIO/VK_ENOMEM. */
int vk_pcapfile_open_write(const char *path, uint32_t snaplen, size_t buffer,
                           vk_pcapfile_writer **out, vk_diag *d);
/* Appends one record (caplen bytes of data).  VK_OK, VK_EINVAL when caplen
 * > origlen, or VK_EIO once a write has failed (the record is lost). */
int vk_pcapfile_write(vk_pcapfile_writer *w, uint64_t ts_ns, const uint8_t *data,
                      uint32_t caplen, uint32_t origlen);
/* Hands the buffered records to the kernel.  VK_OK or VK_EIO. */
int vk_pcapfile_flush(vk_pcapfile_writer *w);
/* Records accepted that are not in the file because a write failed. */
uint64_t vk_pcapfile_lost(const vk_pcapfile_writer *w);
/* VK_OK or the first write error, with a message naming the file. */
int vk_pcapfile_status(const vk_pcapfile_writer *w, vk_diag *d);
/* Flushes, closes and frees (NULL ok); returns what vk_pcapfile_status
 * would, including a failure of the last write or of close. */
int vk_pcapfile_close_write(vk_pcapfile_writer *w, vk_diag *d);

/* Why libpcap could not open a capture file, in plain words: its messages
 * ("unknown file format", "truncated dump file; tried to read 24 file header
 * bytes, only got 3", "invalid length 28 < 4294967280 < 1048576") become
 * "empty file", "not a pcap or pcapng file", "the file ends inside its
 * header", "a pcapng block has an impossible length", with libpcap's own
 * words kept in parentheses.  Writes into buf (cap bytes) and returns it. */
const char *vk_pcap_open_error_plain(const char *path, const char *libpcap_msg, char *buf,
                                     size_t cap);

#endif
