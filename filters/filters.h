/*
 * The -object filter-* types of filters/ (QEMU's netfilters on the chain of
 * core/filter.h), for the topology registry.
 */
#ifndef VK_FILTERS_FILTERS_H
#define VK_FILTERS_FILTERS_H

#include "core/topology.h"

extern const vk_object_type vk_object_filter_buffer; /* buffer.c */
extern const vk_object_type vk_object_filter_netem;  /* netem.c, engine in netem.h */
extern const vk_object_type vk_object_filter_mirror;     /* mirror.c */
extern const vk_object_type vk_object_filter_redirector; /* mirror.c */

#endif
