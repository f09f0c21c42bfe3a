/* watcher.c — where a request waits for its at= clock: one polling thread per worker process.
 *
 * Waiters register under `lock` and sleep on `advanced`. While anyone waits,
 * the watcher thread polls every clock row in one query, every cf.poll_min_us
 * (from one poll's start to the next) after a registration, the interval
 * doubling up to cf.poll_max_us while nothing moves; each time the clock advances it wakes every waiter, and each
 * re-checks its own clock. A waiter checks `known` under the same lock it
 * registers with, so an advance between its check and its sleep is never missed.
 *
 * The same polls serve the worker's caches (auth.c, cache.c). A cached answer
 * holds while the stream's position is the one it was read at; the workers of
 * one master share the positions they learn (watcher_share), so once one has
 * answered at a position, none answers from an older one. A cache may rely on
 * the positions while the newest poll of any worker started at most its lag
 * ago (cf.cache_lag_us for answers, cf.revoke_lag_ms for tokens): while
 * requests use the caches, the workers poll twice in the shortest lag asked.
 * Otherwise (an idle worker, or a lag of 0) the request waits for a poll that
 * starts after it arrived; polls start at most once per cf.poll_min_us, and
 * each one serves every request waiting. */
#include "fcgi/watcher.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/queue.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t advanced; /* broadcast when `known` moves forward */
static pthread_cond_t wake;     /* signals the watcher that someone registered */
static struct clock known;      /* last clock rows seen by this process (guarded by lock) */
static int waiting;             /* registered at= waiters (guarded by lock) */
static bool hurry;              /* a new waiter: poll again soon (guarded by lock) */
static bool probe;              /* poll once, to learn whether MySQL is back (guarded by lock) */
static bool fresh_served;       /* watcher_fresh answers (workers, not CGI) */
static uint64_t polls, waits;   /* counters (guarded by lock) */

/* What watcher_fresh reads without the lock (each written by the watcher
 * thread, or under lock): polls are numbered from 1 as they start (started,
 * modulo 2^32); `ended` is the number of the last one that succeeded; the
 * positions and the token epoch it saw are published before it; `tick` moves
 * at the end of every poll and is the futex word fresh waiters sleep on, so a
 * poll wakes them without a herd on `lock`. */
#define FRESH_STREAMS 1024
static _Atomic uint32_t started, ended, tick;
static _Atomic bool failing;   /* the last poll failed */
/* The shortest lag a request using a cache asked for since the last poll
 * started (0: none asked): while requests keep asking, a poll every half of it. */
static _Atomic uint64_t demanded;

/* What the workers of one master learn, shared between them (watcher_share):
 * the newest position seen of each stream, the newest token epoch, and when
 * the newest successful poll by any of them started. Each only grows. */
struct shared {
	_Atomic uint64_t pos[FRESH_STREAMS];
	_Atomic uint64_t epoch;
	_Atomic uint64_t polled_us;  /* CLOCK_MONOTONIC, microseconds */
	_Atomic uint64_t claimed_us; /* when a worker last took the turn to poll for the caches */
};
static struct shared own, *shared = &own;
static _Atomic int fresh_waiting;
/* The watcher sleeps without counting on fresh waiters: a new one must wake
 * it (under lock). Set before the watcher reads fresh_waiting, read after a
 * waiter counts itself, so one of the two always sees the other. */
static _Atomic bool unaware;

static void add_us(struct timespec *ts, long us)
{
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void deadline_after(struct timespec *ts, long us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	add_us(ts, us);
}

static uint64_t us_of(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000 + (uint64_t)ts->tv_nsec / 1000;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* *a = max(*a, v), whoever else writes it. */
static void raise_to(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t cur = atomic_load(a);
	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

/* Takes the newer of each stream's position; returns true when anything moved. Caller holds lock. */
static bool learn(const struct clock *seen)
{
	bool moved = false;
	for (int i = 0; i < seen->n; i++)
		if (seen->p[i].pos > clock_get(&known, seen->p[i].stream)) {
			clock_set(&known, seen->p[i].stream, seen->p[i].pos);
			if (seen->p[i].stream < FRESH_STREAMS)
				raise_to(&shared->pos[seen->p[i].stream], seen->p[i].pos);
			moved = true;
		}
	return moved;
}

/* When the next poll is due, after the last one this process started: 100 ms
 * after a failure; the shortest interval while requests wait for a fresh
 * poll; the current interval while at= waiters wait; and while requests use
 * the caches, half of the shortest lag they asked for after the newest poll
 * (or turn taken) of any worker, so that one is always recent enough.
 * Caller holds lock. */
static struct timespec next_poll(const struct timespec *last, long interval, bool fresh, uint64_t demand)
{
	struct timespec due = *last;
	if (failing) {
		add_us(&due, 100000);
		return due;
	}
	long us = fresh ? cf.poll_min_us : waiting > 0 ? interval : -1;
	if (demand) {
		uint64_t polled = atomic_load(&shared->polled_us), claimed = atomic_load(&shared->claimed_us);
		if (claimed > polled)
			polled = claimed;
		uint64_t mine = us_of(last);
		long lag_us = (long)(polled > mine ? polled - mine : 0) + (long)demand / 2;
		us = us < 0 || lag_us < us ? lag_us : us;
	}
	add_us(&due, us);
	return due;
}

/* A poll only for the caches: the workers take turns, one poll per half of
 * the lag asked (demand) between them. True when it is this worker's turn. */
static bool take_turn(uint64_t now, uint64_t demand)
{
	uint64_t claimed = atomic_load(&shared->claimed_us);
	return claimed + demand / 2 <= now &&
	       atomic_compare_exchange_strong(&shared->claimed_us, &claimed, now);
}

static void *watch(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	long interval = cf.poll_min_us;
	struct timespec last = {0, 0};
	pthread_mutex_lock(&lock);
	for (;;) {
		/* Sleep until someone waits and a poll is due (intervals count
		 * from the start of the last poll). A new at= waiter has just read
		 * the clock rows itself (check_heads), so it only brings the short
		 * interval back. */
		for (;;) {
			atomic_store(&unaware, true);
			bool fresh = atomic_load(&fresh_waiting) > 0;
			uint64_t demand = atomic_load(&demanded);
			if (waiting == 0 && !fresh && !demand && !probe) {
				pthread_cond_wait(&wake, &lock);
				continue;
			}
			if (fresh)
				atomic_store(&unaware, false);
			if (hurry) {
				hurry = false;
				interval = cf.poll_min_us;
			}
			struct timespec now, due = next_poll(&last, interval, fresh, demand);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!before(&now, &due)) {
				if (failing || fresh || waiting > 0 || probe || take_turn(us_of(&now), demand))
					break;
				continue; /* another worker polls for the caches now */
			}
			pthread_cond_timedwait(&wake, &lock, &due);
		}
		probe = false;
		atomic_store(&unaware, false);
		atomic_store(&demanded, 0);
		uint32_t seq = atomic_fetch_add(&started, 1) + 1;
		clock_gettime(CLOCK_MONOTONIC, &last);
		uint64_t started_us = us_of(&last);
		pthread_mutex_unlock(&lock);

		struct clock seen;
		uint64_t seen_epoch = 0;
		if (!m)
			m = db_connect();
		int r = m ? queue_done(m, &seen, &seen_epoch) : -1;
		if (r && m) {
			mysql_close(m);
			m = NULL;
		}

		pthread_mutex_lock(&lock);
		polls++;
		bool moved = !r && learn(&seen);
		if (!r) {
			raise_to(&shared->epoch, seen_epoch);
			raise_to(&shared->polled_us, started_us);
			atomic_store(&ended, seq);
		}
		atomic_store(&failing, r != 0);
		atomic_fetch_add(&tick, 1);
		if (atomic_load(&fresh_waiting) > 0)
			syscall(SYS_futex, &tick, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		if (moved) {
			pthread_cond_broadcast(&advanced);
			interval = cf.poll_min_us;
		} else {
			interval = interval * 2 > cf.poll_max_us ? cf.poll_max_us : interval * 2;
		}
	}
	return NULL;
}

int watcher_start(bool fresh)
{
	fresh_served = fresh;
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

uint32_t watcher_mark(void)
{
	return atomic_load(&started);
}

/* Whether poll number `ended` started after the poll numbered `mark` (modulo 2^32). */
static bool after(uint32_t ended_poll, uint32_t mark)
{
	return (int32_t)(ended_poll - mark) > 0;
}

bool watcher_fresh(uint32_t mark, uint32_t stream, long lag_us, uint64_t *pos, uint64_t *token_epoch)
{
	if (!fresh_served || stream >= FRESH_STREAMS)
		return false;
	bool recent = false;
	if (lag_us > 0) {
		/* Keeps the polls coming while requests use them, for the shortest lag asked. */
		uint64_t d = atomic_load(&demanded);
		while ((d == 0 || (uint64_t)lag_us < d) &&
		       !atomic_compare_exchange_weak(&demanded, &d, (uint64_t)lag_us))
			;
		recent = db_mono_us() - atomic_load(&shared->polled_us) <= (uint64_t)lag_us;
	}
	if (!recent && !after(atomic_load(&ended), mark) && !atomic_load(&failing)) {
		atomic_fetch_add(&fresh_waiting, 1);
		if (atomic_load(&unaware)) {
			pthread_mutex_lock(&lock);
			pthread_cond_signal(&wake);
			pthread_mutex_unlock(&lock);
		}
		/* Each poll moves tick: sleep on it until a poll that started after
		 * mark has succeeded, or one failed, or about a second went by. */
		for (int i = 0; i < 100; i++) {
			uint32_t t = atomic_load(&tick);
			if (after(atomic_load(&ended), mark) || atomic_load(&failing))
				break;
			struct timespec ten_ms = {0, 10000000};
			syscall(SYS_futex, &tick, FUTEX_WAIT_PRIVATE, t, &ten_ms, NULL, 0);
		}
		atomic_fetch_sub(&fresh_waiting, 1);
	}
	if (atomic_load(&failing)) {
		pthread_mutex_lock(&lock);
		probe = true; /* answer from MySQL meanwhile; a poll now and then finds it back */
		pthread_cond_signal(&wake);
		pthread_mutex_unlock(&lock);
		return false;
	}
	if (!recent && !after(atomic_load(&ended), mark))
		return false;
	*pos = atomic_load(&shared->pos[stream]);
	*token_epoch = atomic_load(&shared->epoch);
	return true;
}

int watcher_share(void)
{
	void *p = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	shared = p; /* zero-filled, like own */
	return 0;
}

void watcher_stats(uint64_t *p, uint64_t *w)
{
	pthread_mutex_lock(&lock);
	*p = polls;
	*w = waits;
	pthread_mutex_unlock(&lock);
}
