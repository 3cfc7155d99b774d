/*
 * QEMU's `-object filter-dump,id=ID,netdev=PORT,file=PATH[,maxlen=N][,queue=all|rx|tx]`:
 * a classic pcap of the frames at one port, written as QEMU writes it
 * (magic 0xa1b2c3d4, microseconds, version 2.4, snaplen = maxlen, default
 * 65536, linktype 1).  queue=rx keeps the frames sent to the port (entering
 * it), tx those it sent, all (the default) both.  The --trace-filter does not
 * apply here, and drops are not recorded (QEMU's file has no place for them).
 *
 * Lifetime: the dump is a tap of the net, which cannot remove taps; close it
 * after vk_net_free() (the topology frees its objects after the net), or at
 * least once no frame can move.  The file is flushed after every record, so
 * it is valid at any moment, including after a signal or an input error.
 */
#ifndef VK_TRACER_FILTER_DUMP_H
#define VK_TRACER_FILTER_DUMP_H

#include <stdint.h>

#include "core/error.h"
#include "core/net.h"
#include "core/topology.h"

#define VK_FILTER_DUMP_MAXLEN_DEFAULT 65536u

typedef struct vk_filter_dump vk_filter_dump;

/* Dumps both directions of `port` to path; maxlen 0 means the default.
 * VK_EIO (cannot create path) or VK_EFULL (no tap left), message in d. */
int vk_filter_dump_open(vk_net *net, vk_port *port, const char *path, unsigned maxlen,
                        vk_filter_dump **out, vk_diag *d);
/* Records written so far. */
uint64_t vk_filter_dump_written(const vk_filter_dump *fd);
/* VK_OK, or the first write error (VK_EIO) with its message. */
int vk_filter_dump_status(const vk_filter_dump *fd, vk_diag *d);
/* Closes the file and frees (NULL ok). */
void vk_filter_dump_close(vk_filter_dump *fd);

/* The "filter-dump" object type for the topology registry. */
extern const vk_object_type vk_object_filter_dump;

#endif
