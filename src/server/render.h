/* render.h - how the line protocol shows events and views: docs/PROTOCOL.md in code.
 *
 * The protocol layer's writer for the line protocol, in its two forms: plain, what `nc`
 * shows (rendering 0 of every event, written into the event itself), and with the events
 * capability, where arrivals, departures and changes of pseudo carry fields a program
 * reads (rendering RENDER_EVENTS, made once per event by the first loop that needs it).
 * Chat lines, actions and private messages read the same in both forms, so they share one
 * message. Also here: the lines built for one client from what the presence layer
 * returns (a room's view, the list of rooms), the history lines, and the French texts of
 * all of them. Pure: no I/O, no lock; any thread.
 */
#ifndef CAUSERIE_RENDER_H
#define CAUSERIE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct event;
struct event_fields;
struct room_entry;
struct room_view;

/* The renderings of events (event.h) that the line protocol uses. */
enum render_form {
    RENDER_PLAIN = 0,  /* the sentences, as `nc` shows them */
    RENDER_EVENTS = 1, /* with the events capability: '^', '-', '|', '#', '$' lines */
};

/* Bytes a history line adds to its event's line: "~ ", the time (20) and a space. */
#define RENDER_HISTORY_OVERHEAD 23

/* Installs the line protocol's renderings into event.c. Main thread, before any event. */
void render_init(void);

/* A '>' or '&' line read back from the history file ("> bob: salut"), as the fields of
 * the event it was: kind, who and text point into line. False if it is not such a line. */
bool render_parse_kept(const char *line, size_t len, struct event_fields *f);

/* What a client is sent when it enters a room (on arrival with the events capability, and
 * after /join or /part): the room's name, then its '=' line, then its topic if it has one;
 * only the topic for a view that has only that (an arrival without the capability). */
void render_moved(enum render_form form, const struct room_view *v, struct buf *out);
/* A notice with room's topic; none when it has none, unless it was asked for (/topic). */
void render_topic(const char *room, const char *topic, bool asked, struct buf *out);
/* "= #ROOM COUNT : PSEUDO @PSEUDO ...\n": who is in the room, operators marked. */
void render_who(const struct room_view *v, struct buf *out);
/* The newest of the n history events (oldest first) whose "~ TIME LINE" lines fit in
 * budget bytes, oldest first: what a newcomer can take without being dropped as slow.
 * Returns the index of the first written (n if none fits). */
size_t render_history(struct event *const *history, size_t n, size_t budget, struct buf *out);
/* "2026-11-25T14:03:12Z": t (seconds since the epoch) in UTC, as history lines show it. */
void render_utc_stamp(int64_t t, char out[32]);
/* The other way, as IRCv3 writes times: "2026-11-25T14:03:12.345Z" (the fraction, of up to
 * three digits, optional) into t and *ms. False if text is not such a time. */
bool render_parse_utc_stamp(const char *text, int64_t *t, unsigned *ms);
/* The answer to /rooms: "+ N salons :" then a line per room. */
void render_rooms(enum render_form form, const struct room_entry *rooms, size_t n, struct buf *out);
/* The answer to the /nick of the one renamed. */
void render_renamed(enum render_form form, const char *was, const char *now, struct buf *out);

#endif
