/* park.c — requests waiting for their clock without holding a thread.
 *
 * A parked wait is filed under the first stream of its clock that is not
 * reached yet, in that stream's min-heap by position, and in one list by
 * deadline (every wait gets the same timeout, so a new one goes at the end
 * of the list, but for the rare one whose request's deadline came first).
 * An advance of a stream pops only the waits it reaches; each is looked at
 * again (another stream of its clock may still lag: it is filed there) or
 * handed back. So the cost of an advance is the number of waits it ends, not
 * the number parked.
 *
 * A thread of this module (expirer) answers each wait at its deadline.
 *
 * A wait is filed under `lock`, and its "not reached yet" is decided under
 * that lock too, while the poll thread learns positions first and takes the
 * lock after (park_advanced): an advance is either seen by the filing or
 * finds the wait filed. */
#include "fcgi/park.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/xalloc.h"
#include "fcgi/poll.h"
#include "store/db.h"

struct heap {
	struct parked **a;
	size_t n, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t expire_wake; /* CLOCK_MONOTONIC: a wait due earlier than all others was parked */
static pthread_once_t expire_once = PTHREAD_ONCE_INIT;
static struct heap *heaps;             /* heaps[s]: the waits filed under stream s (guarded by lock) */
static uint32_t nheaps;
static struct parked *oldest, *newest; /* the deadline list (guarded by lock) */

static void swap(struct heap *h, size_t i, size_t k)
{
	struct parked *t = h->a[i];
	h->a[i] = h->a[k];
	h->a[k] = t;
	h->a[i]->heap_ix = i;
	h->a[k]->heap_ix = k;
}

static void sift_up(struct heap *h, size_t i)
{
	while (i > 0 && h->a[(i - 1) / 2]->pos > h->a[i]->pos) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->a[l]->pos < h->a[m]->pos)
			m = l;
		if (r < h->n && h->a[r]->pos < h->a[m]->pos)
			m = r;
		if (m == i)
			return;
		swap(h, i, m);
		i = m;
	}
}

static void heap_add(struct parked *p)
{
	if (p->stream >= nheaps) {
		uint32_t n = nheaps ? nheaps : 16;
		while (n <= p->stream)
			n *= 2;
		heaps = xrealloc(heaps, (size_t)n * sizeof *heaps);
		for (uint32_t s = nheaps; s < n; s++)
			heaps[s] = (struct heap){0};
		nheaps = n;
	}
	struct heap *h = &heaps[p->stream];
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 16;
		h->a = xrealloc(h->a, h->cap * sizeof *h->a);
	}
	p->heap_ix = h->n;
	h->a[h->n++] = p;
	sift_up(h, p->heap_ix);
}

static void heap_remove(struct parked *p)
{
	struct heap *h = &heaps[p->stream];
	size_t i = p->heap_ix;
	h->n--;
	if (i == h->n)
		return;
	swap(h, i, h->n);
	sift_down(h, i);
	sift_up(h, i);
}

static void list_remove(struct parked *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		oldest = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		newest = p->prev;
	p->prev = p->next = NULL;
}

/* Files p under the first pair of its clock not reached; false when all are. Caller holds lock. */
static bool file(struct parked *p)
{
	if (!poll_first_unreached(p->want, &p->stream, &p->pos))
		return false;
	heap_add(p);
	return true;
}

static void expire(uint64_t now_us);

/* The thread that answers the waits at their deadline: it touches no
 * database, so nothing MariaDB does (a hang, say) can make those 503s late. */
static void *expirer(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		if (!oldest) {
			pthread_cond_wait(&expire_wake, &lock);
			continue;
		}
		uint64_t due = oldest->deadline_us, now = db_mono_us();
		if (due <= now) {
			pthread_mutex_unlock(&lock);
			expire(now);
			pthread_mutex_lock(&lock);
			continue;
		}
		struct timespec ts = {.tv_sec = (time_t)(due / 1000000),
		                      .tv_nsec = (long)(due % 1000000) * 1000};
		pthread_cond_timedwait(&expire_wake, &lock, &ts);
	}
	return NULL;
}

static void expire_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&expire_wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t t;
	if (pthread_create(&t, NULL, expirer, NULL))
		abort(); /* no thread to answer the waits: better a restarted worker than waits for ever */
	pthread_detach(t);
}

void park(struct parked *p)
{
	pthread_once(&expire_once, expire_start);
	pthread_mutex_lock(&lock);
	bool filed = file(p);
	if (filed) {
		/* After the last wait due no later: the newest, but for a wait
		 * whose request's own deadline cut its timeout short (wait.c). */
		struct parked *after = newest;
		while (after && after->deadline_us > p->deadline_us)
			after = after->prev;
		p->prev = after;
		p->next = after ? after->next : oldest;
		if (p->next)
			p->next->prev = p;
		else
			newest = p;
		if (after) {
			after->next = p;
		} else {
			oldest = p;
			pthread_cond_signal(&expire_wake); /* due before all the others */
		}
		poll_waiting(+1); /* under the lock (order park -> poll): never counted after its own -1 */
	}
	pthread_mutex_unlock(&lock);
	if (!filed)
		p->done(p, true, NULL);
}

void park_advanced(const uint32_t *streams, size_t n)
{
	struct parked *ready = NULL;
	size_t nready = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n; i++) {
		uint32_t s = streams[i];
		if (s >= nheaps)
			continue;
		uint64_t at = poll_known(s);
		struct heap *h;
		/* heaps may move while this loop files waits elsewhere (heap_add): look it up each time. */
		while ((h = &heaps[s])->n > 0 && h->a[0]->pos <= at) {
			struct parked *p = h->a[0];
			heap_remove(p);
			if (file(p))
				continue; /* another stream of its clock lags: filed there now */
			list_remove(p);
			p->next = ready; /* the deadline list's links carry the ready ones now */
			ready = p;
			nready++;
		}
	}
	if (nready)
		poll_waiting(-(int)nready); /* under the lock (order park -> poll), like the +1 */
	pthread_mutex_unlock(&lock);
	while (ready) {
		struct parked *p = ready;
		ready = p->next;
		p->next = NULL;
		p->done(p, true, NULL);
	}
}

/* Hands back, not reached, every parked wait whose deadline is at or before now_us. */
static void expire(uint64_t now_us)
{
	struct parked *late = NULL;
	size_t nlate = 0;
	pthread_mutex_lock(&lock);
	while (oldest && oldest->deadline_us <= now_us) {
		struct parked *p = oldest;
		heap_remove(p);
		list_remove(p);
		p->next = late;
		late = p;
		nlate++;
	}
	if (nlate)
		poll_waiting(-(int)nlate);
	pthread_mutex_unlock(&lock);
	while (late) {
		struct parked *p = late;
		late = p->next;
		p->next = NULL;
		/* Its clock may have been reached a moment ago, before the advance got here. */
		uint32_t s;
		uint64_t pos;
		struct clock current;
		bool reached = !poll_first_unreached(p->want, &s, &pos);
		if (!reached)
			poll_current(p->want, &current);
		p->done(p, reached, reached ? NULL : &current);
	}
}
