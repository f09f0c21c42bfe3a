/* poll.c — the clock poll of a worker process: one thread reads every clock
 * row and the token epoch in one query while someone needs it.
 *
 * Who needs it:
 * - at= waiters (wait.c) register under `lock` and sleep on `advanced`. While
 *   any waits, the thread polls every cf.poll_min_us (from one poll's start to
 *   the next) after a registration, the interval doubling up to
 *   cf.poll_max_us while nothing moves; each advance wakes every waiter, and
 *   each re-checks its own clock. A waiter checks `known` under the same lock
 *   it registers with, so an advance between its check and its sleep is never
 *   missed.
 * - the caches (fresh.c): a kept answer holds while the stream's position is
 *   the one it was read at. While requests use the caches, the workers poll
 *   twice in the shortest lag asked (poll_demand), taking turns; a request
 *   that needs a poll newer than its arrival sleeps on `tick`, a futex word
 *   that moves at the end of every poll, so a poll wakes them without a herd
 *   on `lock`.
 *
 * The workers of one master share the positions they learn (poll_share), so
 * once one has answered at a position, none answers from an older one. */
#include "fcgi/poll.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "fcgi/park.h"
#include "store/db.h"
#include "store/queue.h"

/* The longest a poll may take, connecting included (db.h, deadlines). The
 * waits past their deadline are answered by park.c, whatever the poll does. */
#define POLL_TIMEOUT_US 250000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t advanced;  /* broadcast when `known` moves forward */
static pthread_cond_t wake;      /* signals the thread that someone needs a poll */
static struct clock_table known; /* positions seen by this process (guarded by lock) */
static int waiting;              /* registered at= waiters (guarded by lock) */
static bool hurry;               /* a new waiter: poll again soon (guarded by lock) */
static bool probe;               /* poll once, to learn whether MySQL is back (guarded by lock) */
static bool fresh_served;        /* the caches are served (workers, not CGI) */
static uint64_t polls, waits;    /* counters (guarded by lock) */

/* Read without the lock (each written by the poll thread, or under lock):
 * `started` numbers polls as they start; `ended` is the number of the last
 * one that succeeded, published after the positions it saw; `tick` moves at
 * the end of every poll. */
static _Atomic uint32_t started, ended, tick;
static _Atomic bool failing; /* the last poll failed */
/* The shortest lag a request using a cache asked for since the last poll
 * started (0: none asked). */
static _Atomic uint64_t demanded;
static _Atomic int fresh_waiting;
/* The thread sleeps without counting on fresh waiters: a new one must wake
 * it (under lock). Set before the thread reads fresh_waiting, read after a
 * waiter counts itself, so one of the two always sees the other. */
static _Atomic bool unaware;
/* Hints (hints.c): when this worker last heard one (CLOCK_MONOTONIC us), and
 * whether one named a position beyond what it knows (guarded by lock). */
static _Atomic uint64_t heard_us;
static bool hinted;
/* The positions hints named beyond what the polls saw, and until when they
 * count (CLOCK_MONOTONIC us; guarded by lock). A front reading a replica
 * hears of a commit before the replica has it: until its poll sees the
 * hinted positions, it keeps polling every poll_max_us rather than backing
 * off to POLL_HINTED_US, for HINT_PENDING_US after the hint at most. */
static struct clock_table hinted_pos;
static uint64_t pending_until;
#define HINT_PENDING_US 100000

/* What the workers of one master learn, shared between them (poll_share):
 * the newest position seen of each stream, the newest token epoch, and when
 * the newest successful poll by any of them started. Each only grows. */
struct shared {
	_Atomic uint64_t pos[POLL_SHARED_STREAMS];
	_Atomic uint64_t epoch;
	_Atomic uint64_t polled_us;  /* CLOCK_MONOTONIC, microseconds */
	_Atomic uint64_t claimed_us; /* when a worker last took the turn to poll for the caches */
	_Atomic uint64_t hints;      /* hints heard (naming a position) */
	_Atomic uint64_t polls;      /* clock polls run, by every worker */
	_Atomic bool drop_hints;     /* test switch: hints are ignored */
};
static struct shared own, *shared = &own;

static void add_us(struct timespec *ts, long us)
{
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
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

/* Streams that moved in one learn(), for park_advanced. */
struct moved {
	uint32_t *s;
	size_t n, cap;
};

/* Takes the newer of each stream's position, noting the streams that moved
 * in *mv (emptied first); true when any did. Caller holds lock. */
static bool learn(const struct clock_table *seen, struct moved *mv)
{
	mv->n = 0;
	for (uint32_t s = 1; s < seen->n; s++)
		if (clock_table_raise(&known, s, seen->pos[s])) {
			if (s < POLL_SHARED_STREAMS)
				raise_to(&shared->pos[s], seen->pos[s]);
			if (mv->n == mv->cap) {
				mv->cap = mv->cap ? 2 * mv->cap : 16;
				mv->s = xrealloc(mv->s, mv->cap * sizeof *mv->s);
			}
			mv->s[mv->n++] = s;
		}
	return mv->n > 0;
}

/* Hints flow when one (or a keepalive) was heard in the last 300 ms. */
static bool hints_flow(void)
{
	uint64_t h = atomic_load(&heard_us), now = db_mono_us();
	return h && (h > now || now - h < 300000) && !atomic_load(&shared->drop_hints);
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
	/* While hints flow, a waiter's clock is read when a hint says it moved,
	 * and the interval backs off to POLL_HINTED_US (a lost hint costs that
	 * much at most); once they stop, back to cf.poll_max_us at most. */
	if (us == interval && us > cf.poll_max_us && !hints_flow())
		us = cf.poll_max_us;
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

/* Whether a hint named a position the polls have not seen yet, lately.
 * Caller holds lock. */
static bool hint_pending(void)
{
	if (!pending_until)
		return false;
	if (db_mono_us() < pending_until)
		for (uint32_t s = 1; s < hinted_pos.n; s++)
			if (hinted_pos.pos[s] > clock_table_get(&known, s))
				return true;
	pending_until = 0;
	clock_table_clear(&hinted_pos);
	return false;
}

static void *run(void *unused)
{
	(void)unused;
	db_retry_unsent(true); /* its connection holds nothing between polls */
	MYSQL *m = NULL;
	long interval = cf.poll_min_us;
	struct timespec last = {0, 0};
	struct clock_table seen = {0};
	struct moved mv = {0};
	pthread_mutex_lock(&lock);
	for (;;) {
		/* Sleep until someone needs a poll and one is due (intervals count
		 * from the start of the last poll). A new at= waiter has just read
		 * the clock rows itself (its heads check), so it only brings the
		 * short interval back. */
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
			if (hinted) {
				/* A processor says a stream moved: the next poll is due
				 * poll_min_us after the last one started, never sooner, so
				 * that hints (which anyone may send) cannot make the polls
				 * come faster than waiters alone would. */
				hinted = false;
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

		/* A poll never outlasts POLL_TIMEOUT_US, connecting included: the
		 * waiters learn as soon as MariaDB answers again. */
		uint64_t seen_epoch = 0;
		db_deadline_set(started_us + POLL_TIMEOUT_US);
		if (!m)
			m = db_connect_read(); /* the replica's clock rows, when reads go there */
		int r = m ? queue_done(m, &seen, &seen_epoch) : -1;
		if (r && m) {
			mysql_close(m);
			m = NULL;
		}

		pthread_mutex_lock(&lock);
		polls++;
		atomic_fetch_add(&shared->polls, 1);
		bool moved = !r && learn(&seen, &mv);
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
			pthread_mutex_unlock(&lock);
			park_advanced(mv.s, mv.n); /* never under lock: park.c takes its own, then ours */
			pthread_mutex_lock(&lock);
		} else {
			long cap = hints_flow() && !hint_pending() ? POLL_HINTED_US : cf.poll_max_us;
			interval = interval * 2 > cap ? cap : interval * 2;
		}
	}
	return NULL;
}

int poll_start(bool fresh)
{
	fresh_served = fresh;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&advanced, &ca);
	pthread_cond_init(&wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}

int poll_share(void)
{
	/* Pages of streams never used are never touched: the mapping costs only
	 * what the streams in use need. */
	void *p = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
	               -1, 0);
	if (p == MAP_FAILED)
		return -1;
	shared = p; /* zero-filled, like own */
	return 0;
}

void poll_stats(uint64_t *p, uint64_t *w)
{
	pthread_mutex_lock(&lock);
	*p = polls;
	*w = waits;
	pthread_mutex_unlock(&lock);
}

/* ---- at= waits ---- */

bool poll_reached(const struct clock *want)
{
	pthread_mutex_lock(&lock);
	bool reached = clock_table_reached(want, &known);
	pthread_mutex_unlock(&lock);
	return reached;
}

void poll_learn(const struct clock_table *done)
{
	struct moved mv = {0};
	pthread_mutex_lock(&lock);
	bool moved = learn(done, &mv);
	if (moved)
		pthread_cond_broadcast(&advanced);
	pthread_mutex_unlock(&lock);
	if (moved)
		park_advanced(mv.s, mv.n);
	free(mv.s);
}

bool poll_sleep(const struct clock *want, const struct timespec *deadline, struct clock *current)
{
	pthread_mutex_lock(&lock);
	waiting++;
	waits++;
	hurry = true;
	pthread_cond_signal(&wake);
	bool reached;
	int e = 0;
	while (!(reached = clock_table_reached(want, &known)) && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&advanced, &lock, deadline);
	waiting--;
	if (!reached)
		clock_table_pick(&known, want, current);
	pthread_mutex_unlock(&lock);
	return reached;
}

/* ---- The caches ---- */

uint32_t poll_started(void)
{
	return atomic_load(&started);
}

/* Whether poll number `ended` started after the poll numbered `mark` (modulo 2^32). */
bool poll_ended_after(uint32_t mark)
{
	return (int32_t)(atomic_load(&ended) - mark) > 0;
}

bool poll_failing(void)
{
	return atomic_load(&failing);
}

void poll_demand(long lag_us)
{
	uint64_t d = atomic_load(&demanded);
	while ((d == 0 || (uint64_t)lag_us < d) && !atomic_compare_exchange_weak(&demanded, &d, (uint64_t)lag_us))
		;
}

uint64_t poll_newest_us(void)
{
	return atomic_load(&shared->polled_us);
}

void poll_await(uint32_t mark)
{
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
		if (poll_ended_after(mark) || atomic_load(&failing))
			break;
		struct timespec ten_ms = {0, 10000000};
		syscall(SYS_futex, &tick, FUTEX_WAIT_PRIVATE, t, &ten_ms, NULL, 0);
	}
	atomic_fetch_sub(&fresh_waiting, 1);
}

void poll_probe(void)
{
	pthread_mutex_lock(&lock);
	probe = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

uint64_t poll_position(uint32_t stream)
{
	return stream < POLL_SHARED_STREAMS ? atomic_load(&shared->pos[stream]) : 0;
}

uint64_t poll_epoch(void)
{
	return atomic_load(&shared->epoch);
}

void poll_raise(uint32_t stream, uint64_t pos)
{
	pthread_mutex_lock(&lock);
	bool moved = clock_table_raise(&known, stream, pos);
	if (moved)
		pthread_cond_broadcast(&advanced);
	pthread_mutex_unlock(&lock);
	if (stream < POLL_SHARED_STREAMS)
		raise_to(&shared->pos[stream], pos);
	if (moved)
		park_advanced(&stream, 1);
}

bool poll_first_unreached(const struct clock *want, uint32_t *stream, uint64_t *pos)
{
	bool found = false;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < want->n && !found; i++)
		if (want->p[i].pos > clock_table_get(&known, want->p[i].stream)) {
			*stream = want->p[i].stream;
			*pos = want->p[i].pos;
			found = true;
		}
	pthread_mutex_unlock(&lock);
	return found;
}

uint64_t poll_known(uint32_t stream)
{
	pthread_mutex_lock(&lock);
	uint64_t pos = clock_table_get(&known, stream);
	pthread_mutex_unlock(&lock);
	return pos;
}

void poll_current(const struct clock *want, struct clock *out)
{
	pthread_mutex_lock(&lock);
	clock_table_pick(&known, want, out);
	pthread_mutex_unlock(&lock);
}

void poll_waiting(int delta)
{
	pthread_mutex_lock(&lock);
	waiting += delta;
	if (delta > 0) {
		waits += (uint64_t)delta;
		hurry = true;
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
}

bool poll_fresh_served(void)
{
	return fresh_served;
}

/* ---- Hints ---- */

void poll_hint(const struct clock_pair *pairs, int n)
{
	if (atomic_load(&shared->drop_hints))
		return;
	atomic_store(&heard_us, db_mono_us());
	if (n == 0)
		return;
	atomic_fetch_add(&shared->hints, 1);
	pthread_mutex_lock(&lock);
	bool ahead = false;
	for (int i = 0; i < n; i++)
		if (pairs[i].pos > clock_table_get(&known, pairs[i].stream)) {
			ahead = true;
			/* Only a stream the polls know (the table never grows at a
			 * datagram's word: anyone may send one naming stream 2^31). */
			if (waiting > 0 && pairs[i].stream < known.n)
				clock_table_raise(&hinted_pos, pairs[i].stream, pairs[i].pos);
		}
	if (ahead && waiting > 0) {
		hinted = true;
		pending_until = db_mono_us() + HINT_PENDING_US;
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
}

void poll_drop_hints(bool drop)
{
	atomic_store(&shared->drop_hints, drop);
}

uint64_t poll_polls_all(void)
{
	return atomic_load(&shared->polls);
}

uint64_t poll_hints_heard(void)
{
	return atomic_load(&shared->hints);
}
