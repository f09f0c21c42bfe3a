/* wait.c — where a request waits for its clock: at= on any route, and GET /db/{db}/sync.
 *
 * One path for both: a clock this process already knows is reached costs
 * nothing; otherwise the heads of the streams say whether it can ever be
 * reached (a position never handed out is a 400, not a wait); then the wait
 * is admitted or refused at once (so that waiters can never crowd out the
 * rest). When no processor is alive (apply_inline), the request first applies
 * the commands itself (inline.c); if still unreached, it is parked (park.c)
 * holding no thread and no database connection until the clock poll (poll.c)
 * sees its clock reached. */
#include "fcgi/wait.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/xalloc.h"
#include "fcgi/inline.h"
#include "fcgi/poll.h"
#include "store/db.h"
#include "store/queue.h"

int wait_parse_at(const struct req *rq, struct reply *rp, struct clock *want, bool *given)
{
	const char *at = req_query(rq, "at");
	*given = at != NULL;
	if (at && clock_parse(at, strlen(at), want))
		return reply_invalid(rp, "at", "expected a clock such as [[2,87]]", "Invalid at parameter");
	return 0;
}

/* ---- Admission: waits per process and per token ---- */

#define BUCKETS 1024

struct bucket {
	char key[80];
	int n;
	struct bucket *next;
};

static pthread_mutex_t admit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket *buckets[BUCKETS]; /* waits per token (guarded by admit_lock) */
static int waiting;                     /* waits in this process (guarded by admit_lock) */

/* Counts a wait under key, unless a bound is reached. */
static bool admit(const char *key)
{
	unsigned h = hash_str(HASH_START, key) % BUCKETS;
	bool ok = false;
	pthread_mutex_lock(&admit_lock);
	struct bucket *b = buckets[h];
	while (b && strcmp(b->key, key))
		b = b->next;
	if (waiting < cf.max_waits && (!b || b->n < cf.max_waits_per_token)) {
		if (!b) {
			b = xcalloc(1, sizeof *b);
			snprintf(b->key, sizeof b->key, "%s", key);
			b->next = buckets[h];
			buckets[h] = b;
		}
		b->n++;
		waiting++;
		ok = true;
	}
	pthread_mutex_unlock(&admit_lock);
	return ok;
}

static void leave(const char *key)
{
	unsigned h = hash_str(HASH_START, key) % BUCKETS;
	pthread_mutex_lock(&admit_lock);
	struct bucket **at = &buckets[h];
	while (*at && strcmp((*at)->key, key))
		at = &(*at)->next;
	if (*at && --(*at)->n == 0) {
		struct bucket *gone = *at;
		*at = gone->next;
		free(gone);
	}
	waiting--;
	pthread_mutex_unlock(&admit_lock);
}

/* ---- The wait ---- */

/* The heads of the streams this process has read: positions handed out, so
 * reachable. They only grow, so a clock at or below them needs no query: a
 * burst of requests waiting on one clock asks MariaDB once. */
static pthread_mutex_t heads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct clock_table known_heads; /* guarded by heads_lock */

static bool below_known_heads(const struct clock *want)
{
	pthread_mutex_lock(&heads_lock);
	bool below = clock_table_reached(want, &known_heads);
	pthread_mutex_unlock(&heads_lock);
	return below;
}

static bool beyond(const struct clock *want, const struct clock_table *heads)
{
	for (int i = 0; i < want->n; i++)
		if (want->p[i].pos > clock_table_get(heads, want->p[i].stream))
			return true;
	return false;
}

/* 0 when every position of want has been handed out, 400 when one never was,
 * 503 when MySQL cannot say. Learns the clock rows on the way, when they are
 * those of the server the poll reads.
 *
 * Positions are handed out on the primary. A replica knows the heads it has
 * received, which may be behind: what it has not is asked of the primary,
 * which alone says "never handed out" (README, "Scaling out"). */
static int check_heads(struct req *rq, struct reply *rp, const struct clock *want)
{
	if (below_known_heads(want))
		return 0;
	struct clock_table heads = {0}, done = {0};
	MYSQL *m = req_m(rq);
	int r = m ? queue_heads(m, &heads, &done) : -1;
	if (!r && req_m_polled(rq))
		poll_learn(&done);
	if ((r || beyond(want, &heads)) && rq->m_replica) {
		MYSQL *pm = req_primary(rq);
		r = pm ? queue_heads(pm, &heads, &done) : -1; /* the primary's done: never learned */
	}
	int st = 0;
	if (r) {
		st = reply_db(rp, db_state(m, rq->received_us));
	} else {
		pthread_mutex_lock(&heads_lock);
		for (uint32_t s = 1; s < heads.n; s++)
			clock_table_raise(&known_heads, s, heads.pos[s]);
		pthread_mutex_unlock(&heads_lock);
	}
	if (!st && beyond(want, &heads))
		st = reply_invalid(rp, "at", "this position was never handed out, so it can never be reached",
		                   "Invalid at parameter");
	clock_table_free(&heads);
	clock_table_free(&done);
	return st;
}

/* park.c's callback: the wait is over; the exchange goes back to a thread. */
static void parked_done(struct parked *p, bool reached, const struct clock *current)
{
	struct exchange *x = (struct exchange *)((char *)p - offsetof(struct exchange, parked));
	x->reached = reached;
	if (!reached)
		reply_not_yet(&x->rp, &x->want, current);
	leave(x->wait_key);
	x->rq.wait_us += db_mono_us() - x->wait_started;
	x->resume(x);
}

int wait_clock(struct exchange *x, const struct clock *want)
{
	struct req *rq = &x->rq;
	struct reply *rp = &x->rp;
	x->want = *want;
	x->reached = true;
	if (poll_reached(want))
		return 0;
	int st = check_heads(rq, rp, want);
	if (st || poll_reached(want))
		return st;
	/* No processor alive (apply_inline): this request applies what it waits for. */
	if (inline_possible() && inline_apply(req_primary(rq), want) > 0 &&
	    poll_reached(want)) /* the primary */
		return 0;
	snprintf(x->wait_key, sizeof x->wait_key, "%.64s", rq->token ? rq->token : "");
	if (!admit(x->wait_key))
		return reply_error(rp, 503, "Too many requests are waiting for their clock. Try again later.");
	/* Nothing is held while waiting: the connection serves others meanwhile. */
	req_release(rq);
	/* sync_timeout_ms, and never past the request's own deadline. */
	uint64_t started = db_mono_us(), until = started + (uint64_t)cf.sync_timeout_ms * 1000;
	if (x->deadline_us && x->deadline_us < until)
		until = x->deadline_us;
	x->wait_started = started;
	if (x->resume) {
		x->parked = (struct parked){.want = &x->want, .deadline_us = until, .done = parked_done};
		park(&x->parked);
		return WAIT_PARKED;
	}
	struct timespec deadline = {.tv_sec = (time_t)(until / 1000000), .tv_nsec = (long)(until % 1000000) * 1000};
	struct clock current;
	x->reached = poll_sleep(want, &deadline, &current);
	if (!x->reached)
		reply_not_yet(rp, want, &current);
	leave(x->wait_key);
	rq->wait_us += db_mono_us() - started;
	return wait_outcome(x);
}

int wait_outcome(struct exchange *x)
{
	return x->reached ? 0 : x->rp.status; /* the 503 was made when the wait ended */
}
