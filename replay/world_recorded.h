/*
 * The recorded world: a vk_world (backends/user/world.h) that answers the
 * user backend's NAT from a recording (replay/recording.h) on a virtual
 * loop, so that a capture's NAT traffic replays offline.  docs/world.md
 * describes the model and what a capture cannot tell.
 *
 * Matching.  tcp_connect takes the first recorded outbound flow to the same
 * guest-view destination not yet taken (preferring the same guest port), so
 * the n-th connection to an address and port gets the n-th recorded one;
 * udp_open likewise by the first datagram's destination; a DNS query is
 * matched by id and question name, an echo request by destination, id and
 * sequence.  tcp_listen (hostfwd) gets the inbound flows whose guest port is
 * its own port, else those of the earliest guest port no listener took.
 *
 * Timing.  Every recorded answer is released on the loop's timers: the
 * connect outcome its recorded delay after tcp_connect; a TCP event once the
 * bytes the stack passed to send() reach the event's guest stream prefix
 * (and shutdown_write came, when the guest's FIN preceded it), plus its
 * recorded delay after the later of that moment and the previous event (one
 * event is scheduled at a time, the next once it is released: a long
 * download holds one release, and a streamed flow's events are asked for
 * in order, vk_recording_event); UDP
 * replies once as many datagrams were sent on the socket as before them in
 * the recording; DNS answers and echo replies their delay after the query.
 * No callback ever comes from inside an operation.
 *
 * guestfwd.  stream_open takes the recorded connection to the guestfwd
 * server:port like tcp_connect, connected at once (libslirp answers the SYN
 * itself and runs the command, with no connect to wait for).
 *
 * Unknown flows (the guest does something the recording does not show): a
 * TCP connect or guestfwd stream is refused, a UDP datagram or DNS query gets a port
 * unreachable, an echo request a host unreachable; each one adds a note to
 * the recording, which the replay report lists.  Bytes the stack sends that
 * differ from the guest's recorded stream are noted the same way.
 *
 * Bytes: chunks, datagrams and the guest's recorded stream are read back
 * through the recording (vk_recording_read: from the capture file, or the
 * held capture) when they are needed; a failure to read them is kept in the
 * recording (io_error) and fails the replay.
 *
 * Ownership: the world holds a reference to the recording; a recording
 * built from a held capture borrows it, which must then outlive the world.
 */
#ifndef VK_REPLAY_WORLD_RECORDED_H
#define VK_REPLAY_WORLD_RECORDED_H

#include "backends/user/world.h"
#include "core/loop.h"
#include "replay/recording.h"

/* A world answering from rec on loop (virtual: the loop's epoch should be
 * the capture's first timestamp, so recorded times line up).  NULL when out
 * of memory. */
vk_world *vk_world_recorded_new(vk_loop *loop, vk_recording *rec);

#endif
