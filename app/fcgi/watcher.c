/* watcher.c — where a request waits for its at= clock: one polling thread per worker process.
 *
 * Waiters register under `lock` and sleep on `advanced`. While anyone waits,
 * the watcher thread polls every clock row in one query, starting at
 * cf.poll_min_us after a registration and doubling up to cf.poll_max_us while
 * nothing moves; each time the clock advances it wakes every waiter, and each
 * re-checks its own clock. A waiter checks `known` under the same lock it
 * registers with, so an advance between its check and its sleep is never missed. */
#include "fcgi/watcher.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/queue.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t advanced; /* broadcast when `known` moves forward */
static pthread_cond_t wake;     /* signals the watcher that someone registered */
static struct clock known;      /* last clock rows seen by this process (guarded by lock) */
static int waiting;             /* registered waiters (guarded by lock) */
static bool hurry;              /* a new waiter: poll again soon (guarded by lock) */
static uint64_t polls, waits;   /* counters (guarded by lock) */

static void deadline_after(struct timespec *ts, long us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Takes the newer of each stream's position; returns true when anything moved. Caller holds lock. */
static bool learn(const struct clock *seen)
{
	bool moved = false;
	for (int i = 0; i < seen->n; i++)
		if (seen->p[i].pos > clock_get(&known, seen->p[i].stream)) {
			clock_set(&known, seen->p[i].stream, seen->p[i].pos);
			moved = true;
		}
	return moved;
}

/* Moves the deadline earlier to now + us when that is sooner. */
static void no_later_than(struct timespec *deadline, long us)
{
	struct timespec soon;
	deadline_after(&soon, us);
	if (soon.tv_sec < deadline->tv_sec ||
	    (soon.tv_sec == deadline->tv_sec && soon.tv_nsec < deadline->tv_nsec))
		*deadline = soon;
}

static void *watch(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	long interval = cf.poll_min_us;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (waiting == 0)
			pthread_cond_wait(&wake, &lock);
		hurry = false;
		pthread_mutex_unlock(&lock);

		struct clock seen;
		if (!m)
			m = db_connect();
		int r = m ? queue_done(m, &seen) : -1;
		if (r && m) {
			mysql_close(m);
			m = NULL;
		}

		pthread_mutex_lock(&lock);
		polls++;
		if (!r && learn(&seen)) {
			pthread_cond_broadcast(&advanced);
			interval = cf.poll_min_us;
		} else {
			interval = interval * 2 > cf.poll_max_us ? cf.poll_max_us : interval * 2;
		}
		/* Sleep one interval. A new waiter has just read the clock rows
		 * itself (check_heads), so it does not need a poll at once, only
		 * the short interval again. */
		struct timespec deadline;
		deadline_after(&deadline, r ? 100000 : interval);
		while (waiting > 0) {
			int e = pthread_cond_timedwait(&wake, &lock, &deadline);
			if (hurry) {
				hurry = false;
				interval = cf.poll_min_us;
				no_later_than(&deadline, interval);
			}
			if (e == ETIMEDOUT)
				break;
		}
	}
	return NULL;
}

int watcher_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&advanced, &ca);
	pthread_cond_init(&wake, &ca);
	pthread_t t;
	return pthread_create(&t, NULL, watch, NULL) ? -1 : 0;
}

/* Checks want against the streams' heads; also learns the clock rows. */
static enum wait_result check_heads(const struct clock *want)
{
	MYSQL *m = db_acquire();
	struct clock heads, done;
	int r = m ? queue_heads(m, &heads, &done) : -1;
	db_release(m, r != 0);
	if (r)
		return WAIT_ERROR;
	pthread_mutex_lock(&lock);
	if (learn(&done))
		pthread_cond_broadcast(&advanced);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < want->n; i++)
		if (want->p[i].pos > clock_get(&heads, want->p[i].stream))
			return WAIT_NEVER;
	return WAIT_REACHED;
}

static void current_of(const struct clock *want, struct clock *current)
{
	current->n = 0;
	for (int i = 0; i < want->n; i++) {
		uint64_t pos = clock_get(&known, want->p[i].stream);
		if (pos)
			clock_set(current, want->p[i].stream, pos);
	}
}

enum wait_result watcher_wait(const struct clock *want, struct clock *current)
{
	pthread_mutex_lock(&lock);
	bool reached = clock_reached(want, &known);
	pthread_mutex_unlock(&lock);
	if (reached)
		return WAIT_REACHED;

	enum wait_result r = check_heads(want);
	if (r != WAIT_REACHED)
		return r;

	struct timespec deadline;
	deadline_after(&deadline, (long)cf.sync_timeout_ms * 1000);
	pthread_mutex_lock(&lock);
	waiting++;
	waits++;
	hurry = true;
	pthread_cond_signal(&wake);
	int e = 0;
	while (!(reached = clock_reached(want, &known)) && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&advanced, &lock, &deadline);
	waiting--;
	if (!reached)
		current_of(want, current);
	pthread_mutex_unlock(&lock);
	return reached ? WAIT_REACHED : WAIT_TIMEOUT;
}

void watcher_stats(uint64_t *p, uint64_t *w)
{
	pthread_mutex_lock(&lock);
	*p = polls;
	*w = waits;
	pthread_mutex_unlock(&lock);
}
