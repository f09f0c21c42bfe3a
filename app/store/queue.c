/* queue.c — the command queue: enqueue with gap-free positions, heads and clock rows. */
#include "store/queue.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

int queue_ensure_streams(MYSQL *m, int n)
{
	for (int s = 1; s <= n; s++) {
		if (db_exec(m, "INSERT IGNORE INTO streams (stream, head) VALUES (%d, 0)", s) < 0 ||
		    db_exec(m, "INSERT IGNORE INTO clocks (stream, done, done_us) VALUES (%d, 0, 0)", s) < 0)
			return -1;
	}
	return 0;
}

uint64_t queue_push_tx(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload)
{
	/* LAST_INSERT_ID(expr) hands the new head back to this connection only. */
	if (db_exec(m, "UPDATE streams SET head = LAST_INSERT_ID(head + 1) WHERE stream = %u", stream) != 1)
		return 0;
	uint64_t pos = mysql_insert_id(m);
	if (pos == 0)
		return 0;
	if (db_exec(m,
	            "INSERT INTO commands (stream, pos, db, kind, payload, created) "
	            "VALUES (%u, %llu, %Q, %Q, %Q, NOW(6))",
	            stream, (unsigned long long)pos, db, kind, payload) != 1)
		return 0;
	return pos;
}

/* Group commit. Each stream has a list of commands waiting to be queued.
 * A caller appends its command; if no flush of that stream is running, it
 * becomes the leader: it takes the whole list (up to GROUP_BYTES of
 * payload), queues it in one transaction and wakes the others; otherwise it
 * sleeps until a leader has queued its command, or becomes the next leader.
 * Positions follow list order, which is arrival order. */
#define GROUP_BYTES (4 << 20)
#define GROUP_STREAMS 256

struct waiting_cmd {
	uint32_t stream;
	const char *db, *kind, *payload;
	uint64_t pos;
	int state; /* 0 waiting, 1 queued, -1 failed */
	struct waiting_cmd *next;
};

struct group {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct waiting_cmd *head, **tail;
	bool flushing;
};

static struct group groups[GROUP_STREAMS];
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;

static void groups_init(void)
{
	for (int i = 0; i < GROUP_STREAMS; i++) {
		pthread_mutex_init(&groups[i].lock, NULL);
		pthread_cond_init(&groups[i].done, NULL);
		groups[i].tail = &groups[i].head;
	}
}

/* Takes commands off the front of the list, at least one, at most GROUP_BYTES. Caller holds the lock. */
static struct waiting_cmd *take_run(struct group *g, int *n)
{
	struct waiting_cmd *first = g->head, *c = first, *last = NULL;
	size_t bytes = 0;
	*n = 0;
	while (c && (*n == 0 || bytes + strlen(c->payload) <= GROUP_BYTES)) {
		bytes += strlen(c->payload);
		last = c;
		c = c->next;
		(*n)++;
	}
	g->head = c;
	if (!c)
		g->tail = &g->head;
	if (last)
		last->next = NULL;
	return first;
}

/* One transaction for the run: n positions at once, one multi-row INSERT. */
static int flush_run(MYSQL *m, uint32_t stream, struct waiting_cmd *run, int n)
{
	if (db_begin(m))
		return -1;
	if (db_exec(m, "UPDATE streams SET head = LAST_INSERT_ID(head + %d) WHERE stream = %u", n, stream) !=
	    1)
		goto fail;
	uint64_t pos = mysql_insert_id(m) - (uint64_t)n + 1;
	size_t cap = 256;
	for (struct waiting_cmd *c = run; c; c = c->next)
		cap += 2 * (strlen(c->payload) + strlen(c->kind) + (c->db ? strlen(c->db) : 4)) + 96;
	char *sql = malloc(cap), *w = sql;
	if (!sql)
		goto fail;
	w += sprintf(w, "INSERT INTO commands (stream, pos, db, kind, payload, created) VALUES ");
	for (struct waiting_cmd *c = run; c; c = c->next) {
		c->pos = pos++;
		w += sprintf(w, "%s(%u, %llu, ", c == run ? "" : ",", stream, (unsigned long long)c->pos);
		w += db_quote_into(m, w, c->db);
		*w++ = ',';
		w += db_quote_into(m, w, c->kind);
		*w++ = ',';
		w += db_quote_into(m, w, c->payload);
		w += sprintf(w, ", NOW(6))");
	}
	long long r = db_exec(m, "%s", sql);
	free(sql);
	if (r != n || db_commit(m))
		goto fail;
	return 0;
fail:
	db_rollback(m);
	return -1;
}

uint64_t queue_push(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload)
{
	if (stream >= GROUP_STREAMS) {
		/* Beyond the grouped streams: a transaction of its own. */
		if (db_begin(m))
			return 0;
		uint64_t pos = queue_push_tx(m, stream, db, kind, payload);
		if (!pos || db_commit(m)) {
			db_rollback(m);
			return 0;
		}
		return pos;
	}
	pthread_once(&groups_once, groups_init);
	struct group *g = &groups[stream];
	struct waiting_cmd me = {stream, db, kind, payload, 0, 0, NULL};
	pthread_mutex_lock(&g->lock);
	*g->tail = &me;
	g->tail = &me.next;
	while (me.state == 0) {
		if (g->flushing) {
			pthread_cond_wait(&g->done, &g->lock);
			continue;
		}
		/* Lead: my command is still in the list, so the run holds it or an earlier one. */
		int n;
		struct waiting_cmd *run = take_run(g, &n);
		g->flushing = true;
		pthread_mutex_unlock(&g->lock);
		int r = flush_run(m, stream, run, n);
		pthread_mutex_lock(&g->lock);
		for (struct waiting_cmd *c = run, *next; c; c = next) {
			next = c->next; /* c may return (and vanish) as soon as its state is set */
			c->state = r ? -1 : 1;
		}
		g->flushing = false;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->lock);
	return me.state == 1 ? me.pos : 0;
}

/* Reads (stream, a[, b]) rows into clocks; positions 0 are left out (nothing yet). */
static int read_clocks(MYSQL_RES *res, struct clock *a, struct clock *b)
{
	if (!res)
		return -1;
	a->n = 0;
	if (b)
		b->n = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		uint32_t s = strtoul(row[0], NULL, 10);
		uint64_t x = strtoull(row[1], NULL, 10);
		if (x)
			clock_set(a, s, x);
		if (b) {
			uint64_t y = strtoull(row[2], NULL, 10);
			if (y)
				clock_set(b, s, y);
		}
	}
	mysql_free_result(res);
	return 0;
}

int queue_done(MYSQL *m, struct clock *done, uint64_t *token_epoch)
{
	MYSQL_RES *res = db_query(m, "SELECT stream, done, (SELECT n FROM token_epoch) FROM clocks");
	if (!res)
		return -1;
	done->n = 0;
	*token_epoch = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		uint64_t x = strtoull(row[1], NULL, 10);
		if (x)
			clock_set(done, strtoul(row[0], NULL, 10), x);
		if (row[2])
			*token_epoch = strtoull(row[2], NULL, 10);
	}
	mysql_free_result(res);
	return 0;
}

int queue_heads(MYSQL *m, struct clock *heads, struct clock *done)
{
	return read_clocks(
	    db_query(m, "SELECT s.stream, s.head, c.done FROM streams s JOIN clocks c USING (stream)"), heads,
	    done);
}
