/*
 * Reading a capture for replay: every frame of a pcap or pcapng file, read by
 * libpcap at nanosecond precision (any file resolution), kept in memory with
 * its timestamp and 1-based frame number.  For pcapng files the blocks are
 * also walked by our own bounds-checked reader, because libpcap does not
 * expose which interface a packet was captured on, its direction flags
 * (epb_flags) or its comment; the two readers must agree on the packet count.
 *
 * Ownership: a vk_capture owns its frames' bytes and interface names; the
 * caller frees it with vk_capture_free().  vk_capture_read() holds every
 * frame; the streaming reader below (what `vnetkit replay` uses, reading the
 * file more than once) holds one at a time.  Ethernet captures are read as
 * they are; LINUX_SLL, LINUX_SLL2 and raw IP captures are given Ethernet
 * headers (replay/linktype.h says which MACs).  Only whole frames (caplen ==
 * original length) are accepted: a truncated frame cannot be replayed
 * faithfully, so it is an error naming the frame.  A record too short to be
 * a frame (a runt, shorter than an Ethernet header) or one the link-type
 * conversion cannot carry is not an error: it is kept apart in `skipped`,
 * with why, and the replay traces it as a drop and goes on, as `run` does.
 */
#ifndef VK_REPLAY_CAPTURE_H
#define VK_REPLAY_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/fileid.h"

/* Block and interface caps for the pcapng walk: a hostile file cannot make
 * us allocate more than this per block or keep more interfaces. */
#define VK_CAPTURE_BLOCK_MAX (16u * 1024 * 1024)
#define VK_CAPTURE_IFACES_MAX 4096

/* A frame's position: where its byte 0 is in its byte source (the file
 * for a streaming reader, memory for a capture read whole), so that byte k
 * of the frame (k >= 14 for a frame given an Ethernet header) is at pos + k.
 * VK_CAP_POS_NONE: the reader could not tell (its walk of the file and
 * libpcap disagree on the record's length); the bytes must then be copied. */
#define VK_CAP_POS_NONE UINT64_MAX

typedef struct vk_cap_frame {
    uint64_t no;     /* 1-based number in the file */
    uint64_t ts_ns;  /* absolute, nanoseconds */
    uint8_t *data;
    size_t len;
    uint64_t pos;    /* see VK_CAP_POS_NONE */
    uint32_t iface;  /* pcapng interface (sections numbered on); 0 for pcap */
    uint32_t flags;  /* epb_flags; 0 when absent or pcap */
    bool dropped;    /* a vnetkit trace drop record ("dropped: ..." comment) */
} vk_cap_frame;

/* A record left out of the frames; data (up to its first
 * VK_CAPTURE_SKIP_KEEP bytes) lives in the capture's chunks. */
typedef struct vk_cap_skip {
    uint64_t no;
    uint64_t ts_ns;
    uint8_t *data;
    size_t len;      /* bytes kept in data */
    size_t caplen;   /* bytes of the record */
    const char *why; /* a static phrase */
} vk_cap_skip;

#define VK_CAPTURE_SKIP_KEEP 64

typedef struct vk_capture {
    char *path;
    vk_file_id id; /* the file as it was when the reader opened it (core/fileid.h):
                    * the replay reads it once per pass and checks it is the same */
    bool pcapng;
    int linktype;       /* the file's DLT (frames are Ethernet whatever it is) */
    vk_cap_skip *skipped;
    size_t nskipped, skipped_cap;
    vk_cap_frame *frames;   /* NULL in a streaming reader's capture (count still counts) */
    size_t count, cap;
    char **iface_names; /* if_name of each pcapng interface, "" if none */
    size_t iface_count;
    /* frame bytes, packed into chunks: the first VK_CAPTURE_CHUNK_FIRST
     * bytes, each next one twice the last up to VK_CAPTURE_CHUNK (a larger
     * frame gets a chunk of its own): one allocation per MiB, not per frame */
    uint8_t **chunks;
    size_t nchunks, chunks_cap;
    size_t chunk_used, chunk_size; /* of the last chunk */
} vk_capture;

#define VK_CAPTURE_CHUNK (1u << 20)
#define VK_CAPTURE_CHUNK_FIRST (16u << 10)

/* Reads the whole file.  Errors (message names the file, and the frame when
 * one is at fault): VK_EIO cannot open, VK_EFORMAT unreadable or malformed,
 * VK_EUNSUPP link type not Ethernet, SLL, SLL2 or raw IP, VK_ETRUNC
 * truncated frame or file, VK_ENOENT no frames at all (skipped records do
 * not count). */
int vk_capture_read(const char *path, vk_capture **out, vk_diag *d);
/* Streaming: the same reading, one frame at a time, nothing kept but the
 * file's description (path, link type, interface names) and the records
 * kept apart (skipped), in vk_capture_reader_info().  vk_capture_next()
 * returns 1 with the next frame in *f (f->data is the reader's, valid until
 * the next call, and may be changed by the caller), 0 at the end of the
 * file once the checks of the whole file passed, or the error
 * vk_capture_read() would return for the same file, with the same message.
 * Its frames carry their file position (f->pos). */
typedef struct vk_capture_reader vk_capture_reader;
int vk_capture_open(const char *path, vk_capture_reader **out, vk_diag *d);
/* The same with flags: VK_CAPTURE_POSITIONS, the caller needs f->pos (else
 * it may be VK_CAP_POS_NONE, which spares a walk of a classic pcap beside
 * libpcap's); VK_CAPTURE_CHECKED, the file was read through once already
 * (a later pass): a classic Ethernet pcap is then read by the buffered
 * reader of wire/pcapfile.h (positions included), not libpcap, and its
 * errors, if the file changed since, are worded by that reader. */
enum { VK_CAPTURE_POSITIONS = 1, VK_CAPTURE_CHECKED = 2 };
int vk_capture_open_ex(const char *path, unsigned flags, vk_capture_reader **out, vk_diag *d);
int vk_capture_next(vk_capture_reader *r, vk_cap_frame *f, vk_diag *d);
/* The capture so far: count frames read, skipped records, interfaces; no
 * frames are stored in it. */
const vk_capture *vk_capture_reader_info(const vk_capture_reader *r);
/* Hands that capture to the caller (who frees it); the reader keeps none. */
vk_capture *vk_capture_reader_take(vk_capture_reader *r);
void vk_capture_reader_free(vk_capture_reader *r);

/* An empty capture for building one by hand (tests); path may be NULL. */
vk_capture *vk_capture_new(const char *path);
/* Appends a copy of a frame.  VK_ENOMEM. */
int vk_capture_append(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t len,
                      uint32_t iface, uint32_t flags);
/* Keeps a record out of the frames with why (a static phrase).  VK_ENOMEM. */
int vk_capture_skip(vk_capture *c, uint64_t ts_ns, const uint8_t *data, size_t caplen,
                    const char *why);
/* Adds a named interface (tests and the pcapng walk).  VK_ENOMEM/VK_EFULL. */
int vk_capture_add_iface(vk_capture *c, const char *name);
void vk_capture_free(vk_capture *c);

#endif
