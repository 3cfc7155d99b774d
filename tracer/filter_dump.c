/*
 * filter-dump (see filter_dump.h): a network filter (core/filter.h) that
 * keeps the frames passing its place in a netdev's chain in a classic
 * microsecond pcap through libpcap's dump API, and lets them go on.  QEMU
 * writes each record with its own write(2); we do the same: the stdio
 * buffer (ours, set before the first write) holds a whole record of the
 * largest size, and is flushed after each record, so pcap_dump's two fwrites
 * never reach the file apart and the file on disk always ends with a whole
 * record, even when the process is killed.
 */
#include "tracer/filter_dump.h"

#include "core/filter.h"
#include "core/frame.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vk_filter_dump {
    vk_filter flt; /* on the chain of the dumped netdev */
    unsigned maxlen;
    pcap_t *dead;
    pcap_dumper_t *dumper; /* NULL after a write error */
    char *path;
    char *iobuf; /* the dump's stdio buffer: freed after the stream is closed */
    uint64_t written;
    int err;
    vk_diag err_diag;
};

static int dump_receive(vk_filter *flt, vk_filter_dir dir, vk_frame *f)
{
    (void)dir;
    vk_filter_dump *fd = flt->priv;
    if (fd->dumper == NULL)
        return VK_FILTER_PASS;
    uint64_t ts = vk_net_timestamp(vk_filter_net(flt));
    struct pcap_pkthdr h = {
        .ts.tv_sec = (time_t)(ts / VK_NS_PER_SEC),
        .ts.tv_usec = (suseconds_t)(ts % VK_NS_PER_SEC / 1000),
        .caplen = (bpf_u_int32)(f->len < fd->maxlen ? f->len : fd->maxlen),
        .len = (bpf_u_int32)f->len,
    };
    pcap_dump((u_char *)fd->dumper, &h, f->data);
    if (ferror(pcap_dump_file(fd->dumper)) == 0 && pcap_dump_flush(fd->dumper) == 0) {
        fd->written++;
        return VK_FILTER_PASS;
    }
    fd->err = vk_diag_set(&fd->err_diag, VK_EIO, "filter-dump: writing %s: %s", fd->path,
                          strerror(errno));
    pcap_dump_close(fd->dumper);
    fd->dumper = NULL;
    return VK_FILTER_PASS;
}

static void dump_print_stats(const vk_filter *flt, FILE *out)
{
    const vk_filter_dump *fd = flt->priv;
    fprintf(out, " %llu records written to %s", (unsigned long long)fd->written, fd->path);
}

static const vk_filter_ops dump_filter_ops = {
    .type = "filter-dump",
    .receive = dump_receive,
    .print_stats = dump_print_stats,
};

static void dump_free(vk_filter_dump *fd)
{
    vk_filter_detach(&fd->flt);
    if (fd->dumper != NULL)
        pcap_dump_close(fd->dumper);
    if (fd->dead != NULL)
        pcap_close(fd->dead);
    free(fd->iobuf);
    free(fd->path);
    free(fd);
}

/* Creates the dump and its file; the caller links fd->flt into a chain. */
static int dump_open(const char *path, unsigned maxlen, vk_filter_dump **out, vk_diag *d)
{
    vk_filter_dump *fd = calloc(1, sizeof *fd);
    if (fd == NULL)
        return vk_diag_set(d, VK_ENOMEM, "filter-dump: out of memory");
    fd->flt.ops = &dump_filter_ops;
    fd->flt.priv = fd;
    fd->maxlen = maxlen ? maxlen : VK_FILTER_DUMP_MAXLEN_DEFAULT;
    fd->path = strdup(path);
    fd->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)fd->maxlen,
                                                    PCAP_TSTAMP_PRECISION_MICRO);
    if (fd->path == NULL || fd->dead == NULL) {
        dump_free(fd);
        return vk_diag_set(d, VK_ENOMEM, "filter-dump: out of memory");
    }
    /* a record header and the largest record it can hold */
    size_t iosize = 16 + (fd->maxlen < VK_FRAME_MAX ? fd->maxlen : VK_FRAME_MAX);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL) {
        vk_diag_set(d, VK_EIO, "filter-dump: cannot create %s: %s", path, strerror(errno));
        dump_free(fd);
        return VK_EIO;
    }
    if ((fd->iobuf = malloc(iosize)) == NULL || setvbuf(fp, fd->iobuf, _IOFBF, iosize) != 0) {
        fclose(fp);
        dump_free(fd);
        return vk_diag_set(d, VK_ENOMEM, "filter-dump: out of memory");
    }
    fd->dumper = pcap_dump_fopen(fd->dead, fp);
    if (fd->dumper == NULL) {
        vk_diag_set(d, VK_EIO, "filter-dump: cannot write %s: %s", path, pcap_geterr(fd->dead));
        fclose(fp);
        dump_free(fd);
        return VK_EIO;
    }
    /* the header alone is a valid empty capture */
    if (pcap_dump_flush(fd->dumper) != 0) {
        vk_diag_set(d, VK_EIO, "filter-dump: writing %s: %s", path, strerror(errno));
        dump_free(fd);
        return VK_EIO;
    }
    *out = fd;
    return VK_OK;
}

int vk_filter_dump_open(vk_net *net, vk_port *port, const char *path, unsigned maxlen,
                        vk_filter_dump **out, vk_diag *d)
{
    (void)net;
    int r = dump_open(path, maxlen, out, d);
    if (r == VK_OK)
        vk_filter_attach_tail(&(*out)->flt, port, "dump", VK_FILTER_RX | VK_FILTER_TX);
    return r;
}

uint64_t vk_filter_dump_written(const vk_filter_dump *fd)
{
    return fd->written;
}

int vk_filter_dump_status(const vk_filter_dump *fd, vk_diag *d)
{
    if (fd->err == VK_OK)
        return VK_OK;
    return vk_diag_set(d, fd->err, "%s", fd->err_diag.msg);
}

void vk_filter_dump_close(vk_filter_dump *fd)
{
    if (fd != NULL)
        dump_free(fd);
}

/* ---- the -object filter-dump type ---- */

static int object_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    const char *file = vk_opts_get(o, "file");
    if (file == NULL || file[0] == '\0')
        return vk_opts_error(o, d, VK_EINVAL, "file", "missing");
    uint64_t maxlen;
    int r = vk_opts_get_uint(o, "maxlen", VK_FILTER_DUMP_MAXLEN_DEFAULT, 1, INT32_MAX, &maxlen, d);
    if (r != VK_OK)
        return r;
    /* the netdev is checked before a file is created for it */
    const char *netdev = vk_opts_get(o, "netdev");
    if (netdev != NULL && vk_net_find_port(net, netdev) == NULL)
        return vk_opts_error(o, d, VK_ENOENT, "netdev", "no netdev '%s'", netdev);
    vk_filter_dump *fd = NULL;
    if ((r = dump_open(file, (unsigned)maxlen, &fd, d)) != VK_OK)
        return r;
    if ((r = vk_filter_attach(&fd->flt, net, o, d)) != VK_OK) {
        dump_free(fd);
        return r;
    }
    *out = fd;
    return VK_OK;
}

static void object_destroy(void *obj)
{
    vk_filter_dump_close(obj);
}

static const char *const filter_dump_keys[] = {"netdev", "file",     "maxlen", "queue",
                                               "status", "position", "insert", NULL};

const vk_object_type vk_object_filter_dump = {
    .name = "filter-dump",
    .keys = filter_dump_keys,
    .create = object_create,
    .destroy = object_destroy,
};
