/*
 * filter-dump (see filter_dump.h): a tap that keeps one port's frames in a
 * classic microsecond pcap through libpcap's dump API.  QEMU writes each
 * record with its own write(2); we flush after each record for the same
 * effect: the file on disk always ends with a whole record.
 */
#include "tracer/filter_dump.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct vk_filter_dump {
    const vk_port *port; /* identity only */
    unsigned dirs;       /* VK_DIR_IN and/or VK_DIR_OUT bits */
    unsigned maxlen;
    pcap_t *dead;
    pcap_dumper_t *dumper; /* NULL after a write error */
    char *path;
    uint64_t written;
    int err;
    vk_diag err_diag;
};

static void dump_frame(void *arg, const vk_port *p, vk_dir dir, const vk_frame *f, uint64_t ts)
{
    vk_filter_dump *fd = arg;
    if (p != fd->port || (fd->dirs & (unsigned)dir) == 0 || fd->dumper == NULL)
        return;
    struct pcap_pkthdr h = {
        .ts.tv_sec = (time_t)(ts / VK_NS_PER_SEC),
        .ts.tv_usec = (suseconds_t)(ts % VK_NS_PER_SEC / 1000),
        .caplen = (bpf_u_int32)(f->len < fd->maxlen ? f->len : fd->maxlen),
        .len = (bpf_u_int32)f->len,
    };
    pcap_dump((u_char *)fd->dumper, &h, f->data);
    if (ferror(pcap_dump_file(fd->dumper)) == 0 && pcap_dump_flush(fd->dumper) == 0) {
        fd->written++;
        return;
    }
    fd->err = vk_diag_set(&fd->err_diag, VK_EIO, "filter-dump: writing %s: %s", fd->path,
                          strerror(errno));
    pcap_dump_close(fd->dumper);
    fd->dumper = NULL;
}

static const vk_tap_ops dump_tap_ops = {.frame = dump_frame};

static void dump_free(vk_filter_dump *fd)
{
    if (fd->dumper != NULL)
        pcap_dump_close(fd->dumper);
    if (fd->dead != NULL)
        pcap_close(fd->dead);
    free(fd->path);
    free(fd);
}

static int dump_open(vk_net *net, vk_port *port, const char *path, unsigned maxlen,
                     unsigned dirs, vk_filter_dump **out, vk_diag *d)
{
    vk_filter_dump *fd = calloc(1, sizeof *fd);
    if (fd == NULL)
        return vk_diag_set(d, VK_ENOMEM, "filter-dump: out of memory");
    fd->port = port;
    fd->dirs = dirs;
    fd->maxlen = maxlen ? maxlen : VK_FILTER_DUMP_MAXLEN_DEFAULT;
    fd->path = strdup(path);
    fd->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)fd->maxlen,
                                                    PCAP_TSTAMP_PRECISION_MICRO);
    if (fd->path == NULL || fd->dead == NULL) {
        dump_free(fd);
        return vk_diag_set(d, VK_ENOMEM, "filter-dump: out of memory");
    }
    fd->dumper = pcap_dump_open(fd->dead, path);
    if (fd->dumper == NULL) {
        vk_diag_set(d, VK_EIO, "filter-dump: cannot create %s: %s", path, pcap_geterr(fd->dead));
        dump_free(fd);
        return VK_EIO;
    }
    /* the header alone is a valid empty capture */
    if (pcap_dump_flush(fd->dumper) != 0) {
        vk_diag_set(d, VK_EIO, "filter-dump: writing %s: %s", path, strerror(errno));
        dump_free(fd);
        return VK_EIO;
    }
    int r = vk_net_add_tap(net, &dump_tap_ops, fd);
    if (r != VK_OK) {
        dump_free(fd);
        return vk_diag_set(d, r, "filter-dump: cannot add a tap to the net: %s", vk_strerror(r));
    }
    *out = fd;
    return VK_OK;
}

int vk_filter_dump_open(vk_net *net, vk_port *port, const char *path, unsigned maxlen,
                        vk_filter_dump **out, vk_diag *d)
{
    return dump_open(net, port, path, maxlen, VK_DIR_IN | VK_DIR_OUT, out, d);
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

static int queue_dirs(vk_opts *o, unsigned *dirs, vk_diag *d)
{
    const char *q = vk_opts_get(o, "queue");
    if (q == NULL || strcmp(q, "all") == 0)
        *dirs = VK_DIR_IN | VK_DIR_OUT;
    else if (strcmp(q, "rx") == 0) /* QEMU: packets sent to the netdev */
        *dirs = VK_DIR_IN;
    else if (strcmp(q, "tx") == 0) /* QEMU: packets sent by the netdev */
        *dirs = VK_DIR_OUT;
    else
        return vk_opts_error(o, d, VK_EINVAL, "queue", "'%s' is not all, rx or tx", q);
    return VK_OK;
}

static int object_create(vk_net *net, vk_opts *o, void **out, vk_diag *d)
{
    vk_opts_mark_used(o, "id");
    const char *netdev = vk_opts_get(o, "netdev");
    if (netdev == NULL)
        return vk_opts_error(o, d, VK_EINVAL, "netdev", "missing");
    vk_port *port = vk_net_find_port(net, netdev);
    if (port == NULL)
        return vk_opts_error(o, d, VK_ENOENT, "netdev", "no netdev '%s'", netdev);
    const char *file = vk_opts_get(o, "file");
    if (file == NULL || file[0] == '\0')
        return vk_opts_error(o, d, VK_EINVAL, "file", "missing");
    uint64_t maxlen;
    int r = vk_opts_get_uint(o, "maxlen", VK_FILTER_DUMP_MAXLEN_DEFAULT, 1, INT32_MAX, &maxlen, d);
    if (r != VK_OK)
        return r;
    unsigned dirs = 0;
    if ((r = queue_dirs(o, &dirs, d)) != VK_OK)
        return r;
    vk_filter_dump *fd = NULL;
    r = dump_open(net, port, file, (unsigned)maxlen, dirs, &fd, d);
    if (r != VK_OK)
        return r;
    *out = fd;
    return VK_OK;
}

static void object_destroy(void *obj)
{
    vk_filter_dump_close(obj);
}

static const char *const filter_dump_keys[] = {"netdev", "file", "maxlen", "queue", NULL};

const vk_object_type vk_object_filter_dump = {
    .name = "filter-dump",
    .keys = filter_dump_keys,
    .create = object_create,
    .destroy = object_destroy,
};
