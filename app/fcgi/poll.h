/* poll.h — the clock poll of a worker process: one thread reads every clock
 * row and the token epoch in one query while someone needs it, and publishes
 * what it saw. Two kinds of users tell it what they need: requests waiting on
 * at= (wait.c) and the caches relying on recent positions (fresh.c). */
#ifndef RUNORG_POLL_H
#define RUNORG_POLL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/clock.h"

/* Streams whose positions the workers of one master share (fresh.c); a
 * stream beyond is never answered from a cache, which stays correct. */
#define POLL_SHARED_STREAMS 65536

/* Starts the poll thread of this process. fresh: the caches are served (a
 * worker; not CGI, where a process serves one request and keeps nothing). */
int poll_start(bool fresh);

/* Called by the master before it forks workers: from then on the workers share
 * what their polls learn (positions, token epoch, when the newest poll started). */
int poll_share(void);

/* Counters for /status: polls made by this process, at= waits that slept. */
void poll_stats(uint64_t *polls, uint64_t *waits);

/* ---- For at= waits (wait.c) ---- */

/* True when the positions this process knows reach want. */
bool poll_reached(const struct clock *want);

/* Learns clock rows read elsewhere (the heads check of a new waiter): raises
 * the known positions and wakes the waiters they satisfy. */
void poll_learn(const struct clock_table *done);

/* Registers a waiter, makes the poll hurry, and sleeps (holding no database
 * connection) until want is reached (true) or the deadline (CLOCK_MONOTONIC)
 * passes (false, current = the known positions of want's streams). */
bool poll_sleep(const struct clock *want, const struct timespec *deadline, struct clock *current);

/* ---- For parked waits (park.c) ---- */

/* The first pair of want this process does not know reached: true with its
 * stream and position, false when want is reached. */
bool poll_first_unreached(const struct clock *want, uint32_t *stream, uint64_t *pos);
/* The position of a stream this process knows. */
uint64_t poll_known(uint32_t stream);
/* The known positions of want's streams (for a 503's "current"). */
void poll_current(const struct clock *want, struct clock *out);
/* delta more (or fewer) waits parked: the poll runs while any is. */
void poll_waiting(int delta);

/* ---- Hints (hints.c) ---- */

/* A processor says these streams moved (n may be 0: a keepalive, hints flow).
 * The poll reads the clock rows at once when one of them is ahead of what
 * this process knows; while hints flow and nothing is due, waiters cost a
 * poll every POLL_HINTED_US only. */
void poll_hint(const struct clock_pair *pairs, int n);
/* How long a waiter may go without a poll while hints flow. */
#define POLL_HINTED_US 25000
/* Test switch (POST /test/hints): every worker of this master ignores hints. */
void poll_drop_hints(bool drop);
/* Hints heard by the workers of this master (those not dropped). */
uint64_t poll_hints_heard(void);
/* Clock polls run by every worker of this master (/status: watcher_polls_all). */
uint64_t poll_polls_all(void);

/* ---- For the caches (fresh.c) ---- */

/* Whether this process serves the caches at all (poll_start's fresh). */
bool poll_fresh_served(void);
/* Polls are numbered from 1 as they start (modulo 2^32). */
uint32_t poll_started(void);
/* True when a poll that started after poll number `mark` has succeeded. */
bool poll_ended_after(uint32_t mark);
/* The last poll failed (MySQL unreachable): caches must not be relied on. */
bool poll_failing(void);
/* Asks for polls at least twice per lag_us while requests keep asking. */
void poll_demand(long lag_us);
/* When (CLOCK_MONOTONIC, us) the newest successful poll of any worker started. */
uint64_t poll_newest_us(void);
/* Sleeps until a poll that started after `mark` has ended (or one failed),
 * about a second at most; one poll wakes every request sleeping here. */
void poll_await(uint32_t mark);
/* Asks for one poll soon, to learn whether MySQL is back. */
void poll_probe(void);
/* The newest position of a stream (0 beyond POLL_SHARED_STREAMS) and the
 * newest token epoch that any worker of this master has seen. */
uint64_t poll_position(uint32_t stream);
uint64_t poll_epoch(void);
/* Publishes a position learned outside the poll (a read that found the
 * stream further than the poll said): it only ever grows. */
void poll_raise(uint32_t stream, uint64_t pos);

#endif
