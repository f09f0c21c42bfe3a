/* lag.c — a front that reads a replica watches the primary beside it.
 *
 * One thread per worker, only when db_read_* names a replica. Every period
 * (half of revoke_lag_ms, at most 50 ms) it reads the primary's clock rows
 * and token epoch, then the replica's, in that order:
 *
 * - Tokens. Revoking deletes the token and moves the token epoch on the
 *   primary in one transaction, which reaches the replica when replication
 *   does. A token found on the replica is good only when the replica's epoch
 *   is at least the primary's as read by a watch that started at most
 *   revoke_lag_ms before: then the replica has every revocation committed
 *   before that watch, and a revoke waits revoke_lag_ms before it returns
 *   (store/tokens.c), so none that has returned is missed. Otherwise auth.c
 *   asks the primary. A lagging replica never delays a revoke.
 * - Lag. The primary's clock rows of each watch are kept with the time the
 *   watch started; a later read of the replica that has reached them shows
 *   the replica was at most that old. Clock rows move with every applied
 *   command, in the transaction that changes the projections, so this is
 *   the lag of what reads see.
 * - Down. The replica not answering is published (reader_set_down): requests
 *   then read the primary instead (README, "Scaling out"), until a watch finds
 *   it back. What it reads is learned by the clock poll too (poll_learn), as
 *   its own polls would: both read the same server. */
#include "fcgi/lag.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fcgi/poll.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/reader.h"

#define SAMPLES 64

/* The primary's clock rows at the start of a watch the replica has not been
 * seen to reach yet, oldest first (guarded by lock). When full, the newest
 * replaces the one before it: the lag is then over-estimated, never under. */
static struct sample {
	uint64_t t_us;
	struct clock_table c;
} ring[SAMPLES];
static int nsamples;
static uint64_t caught_up_us;      /* start of the newest watch the replica had reached (guarded by lock) */
static struct clock_table p_clock; /* the primary's clock rows at the newest watch (guarded by lock) */
static struct clock_table r_clock; /* the replica's at the newest watch (guarded by lock) */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Published by the watch: the primary's token epoch and when the watch that
 * read it started (CLOCK_MONOTONIC); whether the last look at each failed. */
static _Atomic uint64_t p_epoch, p_us, r_epoch;
static _Atomic bool p_failing = true, r_failing = true, running;

#define WATCH_TIMEOUT_US 250000 /* one look at a server, as a clock poll (poll.c) */

static long period_us(void)
{
	long us = (long)cf.revoke_lag_ms * 500;
	return us > 50000 ? 50000 : us < 5000 ? 5000 : us;
}

/* Every stream of want is at or below have. */
static bool covers(const struct clock_table *have, const struct clock_table *want)
{
	for (uint32_t s = 1; s < want->n; s++)
		if (want->pos[s] > clock_table_get(have, s))
			return false;
	return true;
}

static void copy_table(struct clock_table *to, const struct clock_table *from)
{
	clock_table_clear(to);
	for (uint32_t s = 1; s < from->n; s++)
		clock_table_raise(to, s, from->pos[s]);
}

/* A new sample of the primary, then what the replica showed after it. Caller holds lock. */
static void add_sample(uint64_t t_us, const struct clock_table *c)
{
	int i = nsamples < SAMPLES ? nsamples++ : SAMPLES - 1;
	ring[i].t_us = t_us;
	copy_table(&ring[i].c, c);
	copy_table(&p_clock, c);
}

static void replica_seen(const struct clock_table *c)
{
	int reached = 0;
	while (reached < nsamples && covers(c, &ring[reached].c))
		reached++;
	if (reached > 0) {
		caught_up_us = ring[reached - 1].t_us;
		/* The ring's tables keep their memory: rotate them, do not free them. */
		struct sample keep[SAMPLES];
		memcpy(keep, ring, reached * sizeof *ring);
		memmove(ring, ring + reached, (nsamples - reached) * sizeof *ring);
		memcpy(ring + nsamples - reached, keep, reached * sizeof *ring);
		nsamples -= reached;
	}
	copy_table(&r_clock, c);
}

static void raise_to(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load(a);
	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

/* A replica that does not answer is tried again every REPLICA_RETRY_US; the
 * primary at every watch, so that a broken connection to it leaves the
 * tokens on its last epoch (lag_tokens_current) no longer than a period. */
#define REPLICA_RETRY_US 200000

static MYSQL *connect_due(MYSQL *m, MYSQL *(*connect)(void), uint64_t *next_try, uint64_t retry_us)
{
	uint64_t now = db_mono_us();
	if (m || now < *next_try)
		return m;
	if (!(m = connect()))
		*next_try = now + retry_us;
	return m;
}

static void *run(void *unused)
{
	(void)unused;
	MYSQL *pm = NULL, *rm = NULL;
	uint64_t p_next = 0, r_next = 0;
	struct clock_table seen = {0};
	bool was_down = false;
	for (;;) {
		uint64_t t0 = db_mono_us(), epoch = 0;
		/* The primary first: whatever the replica shows next, it had this.
		 * Each look gives up after WATCH_TIMEOUT_US, connecting included: a
		 * hung server must not keep the watch from saying so. */
		db_deadline_set(db_mono_us() + WATCH_TIMEOUT_US);
		pm = connect_due(pm, db_connect, &p_next, 0);
		if (pm && queue_done(pm, &seen, &epoch) == 0) {
			pthread_mutex_lock(&lock);
			add_sample(t0, &seen);
			pthread_mutex_unlock(&lock);
			raise_to(&p_epoch, epoch);
			raise_to(&p_us, t0);
			atomic_store(&p_failing, false);
		} else {
			if (pm)
				mysql_close(pm);
			pm = NULL;
			atomic_store(&p_failing, true);
		}
		db_deadline_set(db_mono_us() + WATCH_TIMEOUT_US);
		rm = connect_due(rm, db_connect_read, &r_next, REPLICA_RETRY_US);
		if (rm && queue_done(rm, &seen, &epoch) == 0) {
			pthread_mutex_lock(&lock);
			replica_seen(&seen);
			pthread_mutex_unlock(&lock);
			raise_to(&r_epoch, epoch);
			poll_learn(&seen);
			atomic_store(&r_failing, false);
			reader_set_down(false);
			if (was_down)
				log_warn("the read server answers again");
			was_down = false;
		} else {
			if (rm)
				mysql_close(rm);
			rm = NULL;
			atomic_store(&r_failing, true);
			reader_set_down(true);
			if (!was_down)
				log_warn(
				    "the read server does not answer: reads go to the primary meanwhile");
			was_down = true;
		}
		long wait = period_us() - (long)(db_mono_us() - t0);
		if (wait > 0)
			usleep((useconds_t)wait);
	}
	return NULL;
}

int lag_start(void)
{
	if (!db_read_separate())
		return 0;
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL))
		return -1;
	pthread_detach(t);
	atomic_store(&running, true);
	return 0;
}

uint64_t lag_replica_epoch(void)
{
	return atomic_load(&r_epoch);
}

bool lag_tokens_current(uint64_t replica_epoch)
{
	if (!db_read_separate())
		return true;
	if (!atomic_load(&running) || atomic_load(&p_us) == 0)
		return false; /* never watched (CGI, or just started): the primary decides */
	if (atomic_load(&p_epoch) > replica_epoch)
		return false;
	/* A primary that cannot be reached takes no revocation: the last epoch
	 * read from it stands (README, "Scaling out", for a front cut off from
	 * the primary alone). */
	return atomic_load(&p_failing) ||
	       db_mono_us() - atomic_load(&p_us) <= (uint64_t)cf.revoke_lag_ms * 1000;
}

long lag_ms(void)
{
	if (!db_read_separate() || !atomic_load(&running) || atomic_load(&p_failing) ||
	    atomic_load(&r_failing))
		return -1;
	pthread_mutex_lock(&lock);
	/* Not even the first watch reached: older than that one, at least. */
	uint64_t since = nsamples == 0 ? 0 : caught_up_us ? caught_up_us : ring[0].t_us;
	long ms = since ? (long)((db_mono_us() - since) / 1000) : 0;
	pthread_mutex_unlock(&lock);
	return ms;
}

void lag_status(json_object *o)
{
	char name[300];
	reader_name(name, sizeof name);
	json_object_object_add(o, "server", json_object_new_string(name));
	bool replica = db_read_separate();
	json_object_object_add(o, "replica", json_object_new_boolean(replica));
	if (!replica)
		return;
	long ms = lag_ms();
	json_object_object_add(o, "state",
	                       json_object_new_string(!atomic_load(&running)    ? "unwatched"
	                                              : atomic_load(&r_failing) ? "down"
	                                                                        : "up"));
	json_object_object_add(o, "lag_ms", ms < 0 ? NULL : json_object_new_int64(ms));
	json_object_object_add(o, "stale", json_object_new_boolean(ms > cf.db_read_stale_ms));
	pthread_mutex_lock(&lock);
	json_object *behind = json_object_new_array();
	for (uint32_t s = 1; s < p_clock.n; s++) {
		uint64_t have = clock_table_get(&r_clock, s);
		if (p_clock.pos[s] > have) {
			json_object *pair = json_object_new_array();
			json_object_array_add(pair, json_object_new_int64((int64_t)s));
			json_object_array_add(pair, json_object_new_int64((int64_t)(p_clock.pos[s] - have)));
			json_object_array_add(behind, pair);
		}
	}
	json_object_object_add(o, "clock", clock_table_to_json(&r_clock));
	pthread_mutex_unlock(&lock);
	json_object_object_add(o, "behind", behind);
}
