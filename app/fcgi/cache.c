/* cache.c — answers to reads, kept by each worker while their database's stream has not moved.
 *
 * Every projection a read can see changes only when the processor applies a
 * command, in the transaction that moves the stream's clock row. So the text
 * of a read made at a position stays the right answer for as long as the
 * clock row shows that position; the router answers from here only with a
 * position from a poll that started at most cf.cache_lag_us before the
 * request, or after it arrived (fresh.c, router.c), and keeps an answer only
 * under a position at which it was true (router.c, answer).
 *
 * A direct-mapped table, a slot per hash of the key, one lock. Within
 * cf.cache_kib: when a new entry would not fit, every entry is dropped.
 * While one request reads an answer, the others asking for it wait for it
 * (cache_claim) instead of reading it too. */
#include "fcgi/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/xalloc.h"

#define CACHE_SLOTS 2048

struct entry {
	char *key, *text;
	size_t size;
	uint32_t stream;
	uint64_t pos;
};

static struct entry slots[CACHE_SLOTS];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Each part length-prefixed ("5:hello;"), so that no two requests share a key. */
static void append(struct printbuf *k, const char *s)
{
	char head[24];
	size_t n = strlen(s);
	xprintbuf_put(k, head, (size_t)snprintf(head, sizeof head, "%zu:", n));
	xprintbuf_put(k, s, n);
	xprintbuf_put(k, ";", 1);
}

char *cache_key(const struct req *rq)
{
	struct printbuf *k = xprintbuf_new();
	append(k, rq->method);
	append(k, rq->server_admin ? "admin" : "contact");
	append(k, rq->contact);
	append(k, rq->as);
	for (int i = 0; i < rq->nseg; i++)
		append(k, rq->seg[i]);
	for (int i = 0; i < rq->nquery; i++) {
		if (!strcmp(rq->query[i].key, "at"))
			continue;
		append(k, rq->query[i].key);
		append(k, rq->query[i].value ? rq->query[i].value : "");
	}
	return xprintbuf_take(k);
}

static struct entry *slot_of(const char *key)
{
	return &slots[hash_str(HASH_START, key) % CACHE_SLOTS];
}

static void drop(struct entry *e)
{
	used -= e->size;
	free(e->key);
	free(e->text);
	*e = (struct entry){0};
}

char *cache_get(const char *key, uint32_t stream, uint64_t pos)
{
	struct entry *e = slot_of(key);
	char *copy = NULL;
	pthread_mutex_lock(&lock);
	if (e->key && e->stream == stream && e->pos == pos && !strcmp(e->key, key))
		copy = xstrdup(e->text);
	pthread_mutex_unlock(&lock);
	return copy;
}

void cache_put(const char *key, uint32_t stream, uint64_t pos, const char *text)
{
	size_t budget = (size_t)cf.cache_kib * 1024;
	size_t size = strlen(key) + strlen(text) + 2 + sizeof(struct entry);
	if (size > budget / 8)
		return;
	char *k = xstrdup(key), *t = xstrdup(text);
	struct entry *e = slot_of(key);
	pthread_mutex_lock(&lock);
	if (e->key)
		drop(e);
	if (used + size > budget)
		for (int i = 0; i < CACHE_SLOTS; i++)
			if (slots[i].key)
				drop(&slots[i]);
	*e = (struct entry){k, t, size, stream, pos};
	used += size;
	pthread_mutex_unlock(&lock);
}

/* ---- One read at a time per key and position ----
 *
 * The reads under way, in a table of their own with the same slots as the
 * answers (a key's read and answer share a slot number); a second key that
 * hashes to a busy slot just reads for itself. Waiters sleep on one
 * condition, broadcast when any read ends: these bursts are short. */
struct flight {
	char *key; /* NULL: free */
	uint32_t stream;
	uint64_t pos;
};

static struct flight flights[CACHE_SLOTS];
static pthread_cond_t landed; /* CLOCK_MONOTONIC */
static pthread_once_t landed_once = PTHREAD_ONCE_INIT;

static void landed_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&landed, &ca);
	pthread_condattr_destroy(&ca);
}

static struct flight *flight_of(const char *key)
{
	return &flights[hash_str(HASH_START, key) % CACHE_SLOTS];
}

bool cache_claim(const char *key, uint32_t stream, uint64_t pos)
{
	if (cf.cache_kib <= 0)
		return true;
	pthread_once(&landed_once, landed_init);
	struct flight *f = flight_of(key);
	bool mine = false, theirs = false;
	pthread_mutex_lock(&lock);
	if (!f->key) {
		f->key = xstrdup(key);
		f->stream = stream;
		f->pos = pos;
		mine = true;
	} else {
		theirs = f->stream == stream && f->pos == pos && !strcmp(f->key, key);
	}
	pthread_mutex_unlock(&lock);
	return mine || !theirs;
}

void cache_release(const char *key)
{
	if (cf.cache_kib <= 0)
		return;
	struct flight *f = flight_of(key);
	pthread_mutex_lock(&lock);
	if (f->key && !strcmp(f->key, key)) {
		free(f->key);
		f->key = NULL;
	}
	pthread_cond_broadcast(&landed);
	pthread_mutex_unlock(&lock);
}

char *cache_await(const char *key, uint32_t stream, uint64_t pos, uint64_t deadline_us)
{
	struct flight *f = flight_of(key);
	struct entry *e = slot_of(key);
	struct timespec due = {.tv_sec = (time_t)(deadline_us / 1000000),
	                       .tv_nsec = (long)(deadline_us % 1000000) * 1000};
	char *copy = NULL;
	pthread_mutex_lock(&lock);
	while (f->key && f->stream == stream && f->pos == pos && !strcmp(f->key, key)) {
		int r = deadline_us ? pthread_cond_timedwait(&landed, &lock, &due)
		                    : pthread_cond_wait(&landed, &lock);
		if (r == ETIMEDOUT)
			break;
	}
	if (e->key && e->stream == stream && e->pos == pos && !strcmp(e->key, key))
		copy = xstrdup(e->text);
	pthread_mutex_unlock(&lock);
	return copy;
}
