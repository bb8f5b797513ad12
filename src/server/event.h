/* event.h - what happened, once: the unit that crosses the core.
 *
 * A chat line, an action, a private message, an arrival, a move into or out of a room, a
 * departure (with its reason), a kick, a room's operator sending someone out or setting
 * its topic, a change of pseudo, the operator's notice or the
 * server's stop is one immutable, reference-counted event: its kind, the room it is for,
 * who did it, the text and the time, and its place in the order once published. It is made
 * once, by whoever saw it happen, and then only read, by any thread.
 *
 * Each protocol renders an event once, into a message (msg.h) shared by all of its
 * recipients that speak that protocol: the rendering is made by the first loop that needs
 * it and kept in the event. Rendering 0, the line protocol's plain form, is written into
 * the event's own allocation when the event is made, and the event's reference count is
 * that message's: a chat line costs one allocation and no copy per recipient, and a queue
 * that holds rendering 0 holds the event. The protocols install their renderers at start
 * (event_set_renderer()), so this file knows none of them. Any thread.
 */
#ifndef CAUSERIE_EVENT_H
#define CAUSERIE_EVENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum event_kind {
    EVENT_CHAT,     /* who says text in room */
    EVENT_ACTION,   /* who does text in room (/me) */
    EVENT_PRIVATE,  /* who says text to one person (/msg); room is EVENT_NO_ROOM */
    EVENT_ARRIVE,   /* who arrived on the server, into room (named where) */
    EVENT_ENTER,    /* who came into room (where) from another */
    EVENT_EXIT,     /* who went from room (where) to another */
    EVENT_QUIT,     /* who left the server from room (where); text: the reason given, or "" */
    EVENT_KICK,     /* who was put out by the operator from room (where); text: the reason */
    EVENT_SENT_OUT, /* who was sent back to the default room from room (where) by one of its
                     * operators; text: the operator's pseudo, then a space and the reason */
    EVENT_TOPIC,    /* who set the topic of room (where) to text */
    EVENT_INVITE,   /* who invites one person into room (where); room is EVENT_NO_ROOM */
    EVENT_RENAME,   /* who is now called text; for everyone (EVENT_ALL_ROOMS) */
    EVENT_NOTICE,   /* the operator says text to everyone */
    EVENT_MARK,     /* with a cluster: the place of a move of this server's in the stream,
                     * origin its number (broadcast.c); never shown */
    EVENT_SHUTDOWN, /* the server stops */
    /* Only for this server's clients, with a cluster: the link to the rest of the chat (the
     * engine) was lost, and their lines wait; it is back. */
    EVENT_LINK_LOST,
    EVENT_LINK_BACK,
};

/* How many renderings an event may have: the line protocol's two forms (plain, and with
 * the events capability) and IRC's three (render.h, irc.h). */
#define EVENT_RENDERINGS 5
/* An event's room when it is for every room, or for none. */
#define EVENT_ALL_ROOMS 0xFFFF
#define EVENT_NO_ROOM   0xFFFE

struct event {
    struct msg line;  /* rendering 0, in this allocation; its count is the event's */
    uint64_t seq;     /* place in the total order: set by broadcast.c when published */
    uint64_t origin;  /* the connection it comes from, which is not sent it; 0: none */
    int64_t time;     /* seconds since the epoch (UTC): when the server learned of it */
    uint16_t room;    /* the room slot it is for; EVENT_ALL_ROOMS, EVENT_NO_ROOM */
    uint8_t kind;     /* enum event_kind */
    uint16_t who_len; /* bytes in who */
    uint16_t where_len;
    uint32_t text_len;
    const char *who;   /* the pseudo it is about, NUL-terminated, in this allocation */
    const char *where; /* the name of its room, without '#', or "" */
    const char *text;  /* what was said, the reason, the new pseudo; or "" */
    /* Rendering n (n >= 1) at [n - 1], made once; a ref held on each but e->line. */
    _Atomic(struct msg *) renderings[EVENT_RENDERINGS - 1];
};

/* What an event is made of; the strings are copied. who, where and text may be NULL for
 * none; time is read only if dated is set (an event read back from the history file),
 * and is now otherwise. */
struct event_fields {
    enum event_kind kind;
    uint16_t room;
    uint64_t origin;
    bool dated;
    int64_t time;
    const char *who, *where, *text;
    size_t who_len, where_len, text_len;
};

/* Writes rendering 0 of e into out, which has room for the size measure() returned, plus a
 * NUL; returns the bytes written, whole '\n'-terminated lines. */
struct event_line_renderer {
    size_t (*measure)(const struct event *e);
    size_t (*write)(const struct event *e, char *out);
};
/* Rendering n >= 1 of e, as a new message with one reference (the event's); or NULL when
 * it is the same bytes as rendering 0, which is then shared. */
typedef struct msg *(*event_renderer)(const struct event *e);

/* Installs the renderers. Main thread, before any event is made. */
void event_set_line_renderer(const struct event_line_renderer *r);
void event_set_renderer(unsigned n, event_renderer r);

/* A new event with one reference, its rendering 0 written. */
struct event *event_new(const struct event_fields *f);

/* The bytes of rendering n of e, made now if no one has yet (by whichever thread asks
 * first); borrowed for as long as e is held. Any thread. */
struct msg *event_rendering(struct event *e, unsigned n);

static inline void event_ref(struct event *e)
{
    msg_ref(&e->line);
}
static inline void event_ref_many(struct event *e, unsigned n)
{
    msg_ref_many(&e->line, n);
}
static inline void event_unref(struct event *e)
{
    msg_unref(&e->line);
}

#endif
