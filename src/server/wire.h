/* wire.h - the core's events as they cross the cluster's engine: a binary form of their own.
 *
 * What servers share through JetStream is events, never rendered text: each server renders
 * them for its own clients. The form is versioned so that servers of two versions can share
 * a cluster during an upgrade: the first byte is the form's major version, which a reader
 * must know (else it skips the event, counted and logged once); the header says its own
 * length, so a later minor version may add fields behind the ones known here and an older
 * reader skips them. Integers are big-endian. Pure: no I/O, no allocation but the event
 * wire_decode() makes; unit-tested and fuzzed (tests/fuzz/fuzz_wire.c). Any thread.
 *
 *   0  u8  version (WIRE_VERSION)     1  u8  kind (enum event_kind)
 *   2  u16 header length (>= 32)      4  u16 node length   6  u16 who length
 *   8  u16 where length              10  u16 to length     12 u32 text length
 *   16 i64 time (s, UTC)             24  u64 origin (the connection on its node)
 *   then node, who, where, to, text: UTF-8, without NUL
 */
#ifndef CAUSERIE_WIRE_H
#define CAUSERIE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "event.h"

#define WIRE_VERSION     1
#define WIRE_HEADER_SIZE 32

/* An event as it crossed: the event itself (a reference the caller takes over, its room
 * EVENT_NO_ROOM until the caller places it), the node it came from, and to whom it is
 * addressed, for the kinds that go to one person (EVENT_PRIVATE, EVENT_INVITE). */
struct wire_event {
    struct event *e;
    char node[64 + 1];
    char to[128 + 1]; /* a pseudo as typed; "" if none */
};

/* Appends e's wire form, from node (its name) and for `to` (a pseudo, or NULL), to out. */
void wire_encode(const struct event *e, const char *node, const char *to, struct buf *out);

/* Reads one event of len bytes. Returns 0 and fills out; -EPROTO for a version this
 * server does not read; -EINVAL for anything malformed: a length that does not add up, a
 * kind that does not cross servers (EVENT_SHUTDOWN), a pseudo, room name or text that this
 * server would refuse from a client, text longer than max_text bytes. */
int wire_decode(const void *data, size_t len, size_t max_text, struct wire_event *out);

#endif
