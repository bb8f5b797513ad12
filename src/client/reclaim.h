/* reclaim.h - how long a reconnecting client insists on its own pseudo.
 *
 * Pure: no clock, no timer, no I/O, so unit tests drive it and any thread may call it (only
 * the client thread does). When a cluster's server dies without a word (kill -9, a lost
 * machine), the others free its people's pseudos only once its node has been silent for
 * --node-ttl seconds; a client that came back sooner through another server finds its
 * pseudo still taken, by its own old connection. chat.c counts those refusals here and
 * gives the pseudo again after a wait, until the bound, and only then asks the user.
 */
#ifndef CAUSERIE_RECLAIM_H
#define CAUSERIE_RECLAIM_H

/* The wait between two tries of our pseudo, in seconds: short beside the node TTL, so the
 * pseudo is back within this of being freed, and still a handful of lines a minute. */
#define RECLAIM_EVERY_S 2
/* How long we insist, in seconds: three times the server's default --node-ttl (10 s), so a
 * dead server's pseudos are freed well within it, allowing for the engine's heartbeats and
 * a cluster configured with a longer TTL; past it, the pseudo is most likely someone
 * else's, and the user chooses. */
#define RECLAIM_FOR_S 30
/* The refusals waited out before the user is asked. */
#define RECLAIM_TRIES (RECLAIM_FOR_S / RECLAIM_EVERY_S)

/* What to do with a refusal of our pseudo as taken. */
enum reclaim_step {
    RECLAIM_WAIT_FIRST, /* the first refusal: tell the user once, wait, give it again */
    RECLAIM_WAIT,       /* another one within the bound: wait and give it again, silently */
    RECLAIM_GIVE_UP,    /* the bound is reached: the user chooses a pseudo */
};

struct reclaim {
    unsigned refusals; /* refusals of our pseudo since the connection was lost */
};

/* Starts counting again from nothing: at start, and whenever the chat was on. */
void reclaim_reset(struct reclaim *r);
/* One more refusal of our pseudo as taken: what to do. After RECLAIM_GIVE_UP, the count
 * starts again, so a later reconnection insists again as long. */
enum reclaim_step reclaim_refused(struct reclaim *r);

#endif
