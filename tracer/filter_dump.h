/*
 * QEMU's `-object filter-dump,id=ID,netdev=PORT,file=PATH[,maxlen=N][,queue=all|rx|tx]`:
 * a classic pcap of the frames at one port, written as QEMU writes it
 * (magic 0xa1b2c3d4, microseconds, version 2.4, snaplen = maxlen, default
 * 65536, linktype 1).  queue=rx keeps the frames sent to the port (entering
 * it), tx those it sent, all (the default) both.  The --trace-filter does not
 * apply here, and drops are not recorded (QEMU's file has no place for them).
 *
 * It is a network filter (core/filter.h) with QEMU's common keys: it
 * records the frames passing its place in the netdev's chain (so a dump
 * placed behind a filter-netem sees the frames netem let through, when it
 * let them through) and lets them go on.
 *
 * Lifetime: close it at any time; closing unlinks it from its chain.  The
 * file is flushed after every record, so it is valid at any moment,
 * including after a signal or an input error.
 */
#ifndef VK_TRACER_FILTER_DUMP_H
#define VK_TRACER_FILTER_DUMP_H

#include <stdint.h>

#include "core/error.h"
#include "core/net.h"
#include "core/topology.h"

#define VK_FILTER_DUMP_MAXLEN_DEFAULT 65536u

typedef struct vk_filter_dump vk_filter_dump;

/* Dumps both directions of `port` to path (a filter at the tail of its
 * chain); maxlen 0 means the default.  VK_EIO (cannot create path), message
 * in d. */
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
