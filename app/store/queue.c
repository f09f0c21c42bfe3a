/* queue.c — the command queue: enqueue with gap-free positions, heads and clock rows. */
#include "store/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/db.h"

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
 * Positions follow list order, which is arrival order. A command may leave
 * its text to the leader (queue_push_prepared): the leader makes the texts
 * of the run just before its transaction, one call per kind. */
#define GROUP_BYTES (4 << 20)
#define GROUP_STREAMS 256

struct waiting_cmd {
	uint32_t stream;
	const char *db, *kind, *payload;
	size_t size;               /* payload bytes, or the caller's estimate when prepared */
	queue_prepare_fn prepare;  /* NULL: payload is given */
	void *job;                 /* for prepare */
	char *made;                /* the text prepare made (NULL: nothing to queue); freed by its caller */
	bool prepared;             /* prepare_run has handed it to its prepare function */
	bool queued;               /* it has a text: the run gives it a position */
	bool failed;               /* its prepare function failed: not queued, answered -1 */
	struct waiting_cmd *same_as; /* no text, but waits for this earlier command of the run */
	uint64_t pos;
	uint64_t deadline;   /* its caller's (db_deadline), 0: none */
	int state;           /* 0 waiting, 1 queued, -1 failed */
	bool lead;           /* handed the next run by the leader before */
	pthread_cond_t wake; /* signalled when state is set or lead handed over */
	struct waiting_cmd *next;
};

/* One stream's group. Its leader (only ever one: `flushing`) queues runs on
 * the group's own connection, made for scripts (db_connect_scripts). */
struct group {
	pthread_mutex_t lock;
	struct waiting_cmd *head, **tail;
	bool flushing;
	MYSQL *conn;
	uint64_t used; /* when conn last ran a script (db_now_us) */
};

static struct group groups[GROUP_STREAMS];
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;

static pthread_condattr_t wake_attr; /* waits are timed on CLOCK_MONOTONIC, as deadlines are */

static void groups_init(void)
{
	for (int i = 0; i < GROUP_STREAMS; i++) {
		pthread_mutex_init(&groups[i].lock, NULL);
		groups[i].tail = &groups[i].head;
	}
	pthread_condattr_init(&wake_attr);
	pthread_condattr_setclock(&wake_attr, CLOCK_MONOTONIC);
}

/* The deadline a run is flushed under: the latest of its commands', so that
 * none is cut before its own time (0, none, when one has none). */
static uint64_t run_deadline(const struct waiting_cmd *run)
{
	uint64_t d = 0;
	for (const struct waiting_cmd *c = run; c; c = c->next) {
		if (!c->deadline)
			return 0;
		if (c->deadline > d)
			d = c->deadline;
	}
	return d;
}

/* A command whose caller's deadline passed while it waited for a leader
 * leaves the list, unless a run has taken it already (then it waits for
 * that run). True when it left: nothing of it was queued. Caller holds the lock. */
static bool leave_list(struct group *g, struct waiting_cmd *me)
{
	struct waiting_cmd **at = &g->head, *prev = NULL;
	while (*at && *at != me) {
		prev = *at;
		at = &(*at)->next;
	}
	if (!*at)
		return false;
	*at = me->next;
	if (g->tail == &me->next)
		g->tail = prev ? &prev->next : &g->head;
	return true;
}

/* Takes commands off the front of the list, at least one, at most GROUP_BYTES. Caller holds the lock. */
static struct waiting_cmd *take_run(struct group *g, int *n)
{
	struct waiting_cmd *first = g->head, *c = first, *last = NULL;
	size_t bytes = 0;
	*n = 0;
	while (c && (*n == 0 || bytes + c->size <= GROUP_BYTES)) {
		bytes += c->size;
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

/* Has each prepare function of the run make the texts of its commands, all
 * of them in one call, in queue order (before the run's transaction, on its
 * connection). When one fails, its commands fail and the others go on. */
static void prepare_run(MYSQL *m, struct waiting_cmd *run, int n)
{
	void **jobs = xmalloc(n * sizeof *jobs);
	char **made = xmalloc(n * sizeof *made);
	int *after = xmalloc(n * sizeof *after);
	struct waiting_cmd **cmds = xmalloc(n * sizeof *cmds);
	for (struct waiting_cmd *c = run; c; c = c->next) {
		if (!c->prepare || c->prepared)
			continue;
		int k = 0;
		for (struct waiting_cmd *d = c; d; d = d->next)
			if (d->prepare == c->prepare) {
				d->prepared = true;
				cmds[k] = d;
				jobs[k++] = d->job;
			}
		for (int i = 0; i < k; i++)
			after[i] = -1;
		bool failed = c->prepare(m, jobs, made, after, k) != 0;
		for (int i = 0; i < k; i++) {
			cmds[i]->failed = failed;
			cmds[i]->made = failed ? NULL : made[i];
			if (!failed && !made[i] && after[i] >= 0 && after[i] < i)
				cmds[i]->same_as = cmds[after[i]];
		}
	}
	free(jobs);
	free(made);
	free(after);
	free(cmds);
}

static const char *text_of(const struct waiting_cmd *c)
{
	return c->prepare ? c->made : c->payload;
}

/* The texts of the run (prepare_run), then the run in one transaction sent
 * as one script (one round trip): k positions at once and one multi-row
 * INSERT. @h starts NULL, so if the stream row were missing the INSERT would
 * fail (strict mode) before the COMMIT. */
static int flush_run(struct group *g, uint32_t stream, struct waiting_cmd *run, int n)
{
	if (g->conn && !db_check_idle(g->conn, g->used)) {
		mysql_close(g->conn);
		g->conn = NULL;
	}
	if (!g->conn && !(g->conn = db_connect_scripts()))
		return -1;
	g->used = db_now_us();
	MYSQL *m = g->conn;
	int k = 0, r = -1;
	char *sql = NULL;
	prepare_run(m, run, n);
	size_t cap = 512;
	for (struct waiting_cmd *c = run; c; c = c->next)
		if ((c->queued = text_of(c) != NULL)) {
			k++;
			cap += 2 * (strlen(text_of(c)) + strlen(c->kind) + (c->db ? strlen(c->db) : 4)) + 96;
		}
	if (k == 0) { /* every command turned out to have nothing to queue */
		r = 0;
		goto out;
	}
	char *w = sql = xmalloc(cap);
	w += sprintf(w,
	             "START TRANSACTION;SET @h = NULL;"
	             "UPDATE streams SET head = LAST_INSERT_ID(@h := head + %d) WHERE stream = %u;"
	             "INSERT INTO commands (stream, pos, db, kind, payload, created) VALUES ",
	             k, stream);
	int i = 0;
	for (struct waiting_cmd *c = run; c; c = c->next) {
		if (!c->queued)
			continue;
		w += sprintf(w, "%s(%u, @h - %d, ", i ? "," : "", stream, k - 1 - i);
		i++;
		w += db_quote_into(m, w, c->db);
		*w++ = ',';
		w += db_quote_into(m, w, c->kind);
		*w++ = ',';
		w += db_quote_into(m, w, text_of(c));
		w += sprintf(w, ", NOW(6))");
		free(c->made); /* in the script now: a bulk import's text need not live twice */
		c->made = NULL;
	}
	strcpy(w, ";COMMIT");
	long long affected[5];
	uint64_t ids[5];
	if (db_script(m, sql, 5, affected, ids)) {
		db_rollback(m);
		goto out;
	}
	if (affected[2] != 1 || affected[3] != k) {
		log_error("queue: stream %u: head moved %lld rows, %lld commands inserted of %d", stream,
		          affected[2], affected[3], k);
		goto out;
	}
	uint64_t pos = ids[2] - (uint64_t)k + 1;
	for (struct waiting_cmd *c = run; c; c = c->next)
		if (c->queued)
			c->pos = pos++;
		else if (c->same_as)
			c->pos = c->same_as->pos; /* earlier in the run: already set */
	r = 0;
out:
	free(sql);
	if (db_gone(m) || (r && db_timed_out())) { /* also when only a prepare failed on it */
		mysql_close(m);
		g->conn = NULL;
	}
	return r;
}

/* The single-transaction path, for streams beyond the grouped ones. */
static int push_alone(MYSQL *m, struct waiting_cmd *me)
{
	if (db_begin(m))
		return -1;
	prepare_run(m, me, 1);
	if (me->failed) {
		db_rollback(m);
		return -1;
	}
	if (text_of(me) && !(me->pos = queue_push_tx(m, me->stream, me->db, me->kind, text_of(me)))) {
		db_rollback(m);
		return -1;
	}
	return db_commit(m) ? -1 : 0;
}

/* Queues me: alone beyond the grouped streams, else in a run. A caller that
 * finds no flush running leads: it takes the run (which starts with its own
 * command), flushes it, sets each command's state and wakes its caller, and
 * hands the lead to the first command left waiting, if any. */
static int push(MYSQL *m, struct waiting_cmd *me)
{
	int r;
	if (me->stream >= GROUP_STREAMS) {
		r = push_alone(m, me);
		free(me->made);
		return r;
	}
	pthread_once(&groups_once, groups_init);
	struct group *g = &groups[me->stream];
	me->deadline = db_deadline();
	pthread_cond_init(&me->wake, &wake_attr);
	pthread_mutex_lock(&g->lock);
	*g->tail = me;
	g->tail = &me->next;
	if (g->flushing) {
		struct timespec due = {.tv_sec = (time_t)(me->deadline / 1000000),
		                       .tv_nsec = (long)(me->deadline % 1000000) * 1000};
		while (me->state == 0 && !me->lead) {
			if (!me->deadline) {
				pthread_cond_wait(&me->wake, &g->lock);
				continue;
			}
			if (pthread_cond_timedwait(&me->wake, &g->lock, &due) != ETIMEDOUT ||
			    me->state != 0 || me->lead)
				continue;
			if (leave_list(g, me)) {
				pthread_mutex_unlock(&g->lock);
				pthread_cond_destroy(&me->wake);
				db_deadline_over();
				free(me->made);
				return -1;
			}
			me->deadline = 0; /* in a run now: its outcome is the answer */
		}
	} else {
		g->flushing = true;
		me->lead = true;
	}
	if (me->state == 0) {
		int n;
		struct waiting_cmd *run = take_run(g, &n);
		uint64_t deadline = run_deadline(run); /* under the lock: a follower may change its own */
		pthread_mutex_unlock(&g->lock);
		uint64_t mine = db_deadline_swap(deadline);
		int fr = flush_run(g, me->stream, run, n);
		db_deadline_swap(mine);
		pthread_mutex_lock(&g->lock);
		for (struct waiting_cmd *c = run, *next; c; c = next) {
			next = c->next; /* c returns (and vanishes) once it has the lock again */
			c->state = fr || c->failed ? -1 : 1;
			if (c != me)
				pthread_cond_signal(&c->wake);
		}
		if (g->head) {
			g->head->lead = true;
			pthread_cond_signal(&g->head->wake);
		} else {
			g->flushing = false;
		}
	}
	pthread_mutex_unlock(&g->lock);
	pthread_cond_destroy(&me->wake);
	r = me->state == 1 ? 0 : -1;
	free(me->made);
	return r;
}

uint64_t queue_push(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload)
{
	struct waiting_cmd me = {.stream = stream, .db = db, .kind = kind, .payload = payload,
	                         .size = strlen(payload)};
	return push(m, &me) ? 0 : me.pos;
}

int queue_push_prepared(MYSQL *m, uint32_t stream, const char *db, const char *kind, size_t size,
                        queue_prepare_fn prepare, void *job, uint64_t *pos)
{
	struct waiting_cmd me = {.stream = stream, .db = db, .kind = kind, .size = size,
	                         .prepare = prepare, .job = job};
	int r = push(m, &me);
	*pos = me.pos;
	return r;
}

int queue_done(MYSQL *m, struct clock_table *done, uint64_t *token_epoch)
{
	MYSQL_RES *res = db_query(m, "SELECT stream, done, (SELECT n FROM token_epoch) FROM clocks");
	if (!res)
		return -1;
	clock_table_clear(done);
	*token_epoch = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		clock_table_raise(done, strtoul(row[0], NULL, 10), strtoull(row[1], NULL, 10));
		if (row[2])
			*token_epoch = strtoull(row[2], NULL, 10);
	}
	mysql_free_result(res);
	return 0;
}

int queue_heads(MYSQL *m, struct clock_table *heads, struct clock_table *done)
{
	MYSQL_RES *res = db_query(m, "SELECT s.stream, s.head, c.done FROM streams s JOIN clocks c USING (stream)");
	if (!res)
		return -1;
	clock_table_clear(heads);
	clock_table_clear(done);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		uint32_t s = strtoul(row[0], NULL, 10);
		clock_table_raise(heads, s, strtoull(row[1], NULL, 10));
		clock_table_raise(done, s, strtoull(row[2], NULL, 10));
	}
	mysql_free_result(res);
	return 0;
}
