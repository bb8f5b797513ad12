/* guard.h - slows password guessing down: per account, and per address.
 *
 * Every wrong password is counted twice: for the account it was tried on, and for the
 * address it came from (an IPv4 address, or an IPv6 /64, as admission.c counts them).
 * Once either has --login-tries failures within GUARD_WINDOW_S, it may try only once every
 * --login-delay seconds until a whole window has passed without a failure. A right
 * password clears its account's count, not its address's: one's own account must not
 * wash away guesses at others'. One mutex over a table that forgets entries past their
 * window, never held across I/O. Any thread.
 */
#ifndef CAUSERIE_GUARD_H
#define CAUSERIE_GUARD_H

#include <stdbool.h>
#include <stdint.h>

/* How long failures are remembered. */
#define GUARD_WINDOW_S 600
/* Entries the table holds at most: past it, failures from new addresses are counted only
 * against their accounts (which are bounded by registration), and that is logged. */
#define GUARD_MAX_ENTRIES 100000

/* tries: failures before the slowing (0: never slowed); delay_s: seconds between tries
 * once slowed. Main thread, before the loops start. */
void guard_init(unsigned tries, unsigned delay_s);
void guard_shutdown(void);

/* Seconds to wait before a password may be tried for account (a folded pseudo) from
 * address; 0: now. now_s is any monotonic clock in seconds. */
unsigned guard_wait(const char *account, const char *address, uint64_t now_s);
/* A wrong password was given for account from address at now_s; returns true if this
 * failure is the one that starts the slowing for either (worth a line in the log). */
bool guard_failed(const char *account, const char *address, uint64_t now_s);
/* The right password was given for account: its failures are forgotten. */
void guard_succeeded(const char *account);

#endif
