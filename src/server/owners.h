/* owners.h - whose room it is: founders, operators, bans, invitations, topics.
 *
 * Part of the presence layer, below room.c, which asks it who may enter a room and what a
 * room's view shows. A room is owned when a registered person created it (its founder) or
 * when the server holds it (#général, or a room an administrator took charge of); an
 * unowned room has none of what follows, and behaves as rooms always did. An owned room's
 * founder, topic, operators, bans and invite-only flag live here in memory, read from the
 * store at start and written through it on every change, in the order of the changes;
 * in a cluster, the other servers' changes come back up from the store and are applied
 * here too. Invitations are this server's own: they last until used or until it stops. Everything
 * is named by folded keys: rooms by their name's, people by their pseudo's, which for an operator
 * or a founder is an account's. Any thread, but owners_init() and owners_shutdown(); one mutex,
 * taken inside room.c's rooms_lock when room.c calls, held for a look-up and a copy.
 */
#ifndef CAUSERIE_OWNERS_H
#define CAUSERIE_OWNERS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

struct store;
struct store_room;
struct store_change;

/* The founder's key of a room the server holds. */
#define OWNERS_SERVER ""

/* What the options set: bytes in a topic, entries in each of a room's lists (operators,
 * bans, invitations), rooms founded per account. */
struct owners_limits {
    size_t max_topic;
    unsigned max_list;
    unsigned max_founded;
};

/* Reads the owned rooms from store (borrowed until owners_shutdown(); NULL: nothing is kept
 * across restarts), and makes the server the owner of the room whose key and name are
 * default_key and default_name if it is not already. Main thread, before the loops start.
 * Returns how many rooms are owned, or -1 if the store could not be read (logged). */
long owners_init(struct store *store, const struct owners_limits *limits, const char *default_key,
                 const char *default_name);
void owners_shutdown(void);

/* Calls fn with the name of every owned room. Main thread, before the loops start. */
void owners_each(void (*fn)(const char *name, void *ctx), void *ctx);

/* Whether the room whose key is room is owned. */
bool owners_is_owned(const char *room);

/* Makes founder (an account's key, or OWNERS_SERVER) the owner of the room room, called
 * name. Returns 0; -EEXIST if the room is owned already; -EDQUOT if founder has founded
 * max_founded rooms already. */
int owners_found(const char *room, const char *name, const char *founder);

enum owners_role {
    OWNERS_NOBODY,   /* or the room is not owned */
    OWNERS_OPERATOR, /* named by /op */
    OWNERS_FOUNDER,  /* who created the room; an operator that cannot be removed */
};
/* What account (an account's key; NULL for a person logged in to none) is in room. */
enum owners_role owners_role(const char *room, const char *account);

enum owners_entry {
    OWNERS_ENTER,       /* welcome */
    OWNERS_BANNED,      /* the account or the address is banned */
    OWNERS_INVITE_ONLY, /* invite only, and no invitation: one is used up on entering */
};
/* Whether a person may enter room: its pseudo's key, its account (NULL for none) and its
 * host (client_peer_host()). Operators always may; an invitation for pseudo is used up. */
enum owners_entry owners_enter(const char *room, const char *pseudo, const char *account,
                               const char *host);
/* Whether a person coming back into room (after logging in elsewhere) is banned from it;
 * an invitation it no longer needs. */
bool owners_banned(const char *room, const char *account, const char *host);

/* Each returns 0, or -ENOENT when the room is not owned, and the errors listed. */
/* Sets room's topic to text (len bytes, sanitised). -E2BIG: longer than max_topic. */
int owners_set_topic(const char *room, const char *text, size_t len);
/* The longest topic, in bytes (--max-topic). */
size_t owners_max_topic(void);
/* Appends room's topic to out ("" for none or an unowned room). */
void owners_topic(const char *room, struct buf *out);
/* account becomes an operator. -EALREADY: it is one (or the founder); -ENOSPC: the list is
 * full. */
int owners_add_operator(const char *room, const char *account);
/* account is an operator no more. -ESRCH: it was not one; -EPERM: it is the founder. */
int owners_remove_operator(const char *room, const char *account);
/* Bans the pseudo key (shown as name): its account if host is "", else that address. An
 * account's ban and an address's under the same pseudo are two bans. -EALREADY: banned
 * so already; -ENOSPC: the list is full; -EPERM: key is an operator. */
int owners_ban(const char *room, const char *key, const char *name, const char *host);
/* Lifts the bans on the pseudo key, of its account and of its address. -ESRCH: none. */
int owners_unban(const char *room, const char *key);
/* Appends the bans of room to out, one per line: "NAME" or "NAME HOST". Returns how many. */
size_t owners_bans(const char *room, struct buf *out);
/* Invites the pseudo key into room, until it enters or the server stops; in a room that
 * is not invite-only, nothing is kept. -EALREADY: it is invited already; -ENOSPC: the
 * list is full. */
int owners_invite(const char *room, const char *key);
/* Sets or clears invite-only. -EALREADY: it was so already. */
int owners_set_invite_only(const char *room, bool on);
/* Whether room is invite-only. */
bool owners_invite_only(const char *room);

/* account was unregistered: the rooms it founded are nobody's any more, it is an operator
 * of none and its account's bans go; a pseudo that registers later under the same name
 * inherits nothing. */
void owners_forget_account(const char *account);

/* Another server put r's whole state (its invitations, which are each server's own, stay),
 * or r is no one's any more: applied here, in memory only, if store_change_take(c)
 * (store.h, struct store_follower). The store's follower thread. */
void owners_followed(const struct store_room *r, struct store_change *c);
void owners_followed_gone(const char *room, struct store_change *c);

#endif
