/* queue.c — the command queue: enqueue with gap-free positions, heads and clock rows. */
#include "store/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/db.h"

/* NULL for an empty string: "no contact" is NULL in the table. */
static const char *or_null(const char *s)
{
	return s && *s ? s : NULL;
}

uint64_t queue_push_tx(MYSQL *m, const struct queue_req *from, uint32_t stream, const char *db,
                       const char *kind, const char *payload)
{
	/* LAST_INSERT_ID(expr) hands the new head back to this connection only. */
	if (db_exec(m, "UPDATE streams SET head = LAST_INSERT_ID(head + 1) WHERE stream = %u", stream) != 1)
		return 0;
	uint64_t pos = mysql_insert_id(m);
	if (pos == 0)
		return 0;
	if (db_exec(m,
	            "INSERT INTO commands (stream, pos, db, kind, payload, created, token, contact) "
	            "VALUES (%u, %llu, %Q, %Q, %Q, NOW(6), %Q, %Q)",
	            stream, (unsigned long long)pos, db, kind, payload, from ? from->token : NULL,
	            from ? or_null(from->contact) : NULL) != 1)
		return 0;
	return pos;
}

/* The answer of r at pos (0: nothing queued), made in C. */
static void make_answer(struct queue_req *r, uint32_t stream, uint64_t pos)
{
	free(r->body);
	free(r->location);
	idem_answer(r->head ? r->head : "", r->base ? r->base : "", stream, pos, &r->body, &r->location);
}

int queue_answer_tx(MYSQL *m, struct queue_req *r, uint32_t stream, uint64_t pos)
{
	make_answer(r, stream, pos);
	if (!r->key)
		return QUEUE_OK;
	int e = idem_record_tx(m, r->key, 202, r->location, r->body);
	return e == 0 ? QUEUE_OK : e == 1 ? QUEUE_TAKEN : QUEUE_FAILED;
}

void queue_req_free(struct queue_req *r)
{
	free(r->head);
	free(r->body);
	free(r->location);
	r->head = r->body = r->location = NULL;
}

/* Group commit. Each stream has a list of commands waiting to be queued.
 * A caller appends its command; if no flush of that stream is running, it
 * becomes the leader: it takes the whole list (up to GROUP_BYTES of
 * payload), queues it in one transaction and wakes the others; otherwise it
 * sleeps until a leader has queued its command, or becomes the next leader.
 * Positions follow list order, which is arrival order. A command may leave
 * its text to the leader (queue_push_prepared): the leader makes the texts
 * of the run just before its transaction, one call per kind.
 *
 * Idempotency-Keys: the run's transaction also inserts the key rows of its
 * requests, with their answers (templates the script fills with the
 * positions it takes, store/idem.c), before the commands. A key recorded
 * before (by a request that got its answer, or whose answer was lost) makes
 * that INSERT fail on the primary key, and with it the whole script: then the
 * leader reads the rows of the run's keys, answers the requests whose key is
 * taken from them, and redoes the run without them. Two requests of one run
 * with the same key: the second is answered "busy" (its first is in flight). */
#define GROUP_BYTES (4 << 20)
#define GROUP_STREAMS 256
#define GROUP_ATTEMPTS 4 /* a run redone because of taken keys; a key taken again and again: fail */

struct waiting_cmd {
	uint32_t stream;
	const char *db, *kind, *payload;
	struct queue_req *req;       /* who queues it, its answer and key (NULL: none) */
	size_t size;                 /* payload bytes, or the caller's estimate when prepared */
	queue_prepare_fn prepare;    /* NULL: payload is given */
	void *job;                   /* for prepare */
	char *made;                  /* the text prepare made (NULL: nothing to queue); freed by its caller */
	bool prepared;               /* prepare_run has handed it to its prepare function */
	bool queued;                 /* it has a text: the run gives it a position */
	bool failed;                 /* its prepare function failed: not queued, answered -1 */
	int out;                     /* QUEUE_TAKEN or QUEUE_BUSY: out of the run, answered so */
	int index;                   /* among the run's queued commands (when queued) */
	struct waiting_cmd *same_as; /* no text, but waits for this earlier command of the run */
	uint64_t pos;
	uint64_t deadline;   /* its caller's (db_deadline), 0: none */
	int state;           /* 0 waiting, 1 answered (result set) */
	int result;          /* QUEUE_OK, QUEUE_FAILED, QUEUE_TAKEN, QUEUE_BUSY */
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

/* Out of the run: a prepare function failed for it, or its key is taken or busy. */
static bool out_of_run(const struct waiting_cmd *c)
{
	return c->failed || c->out;
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
		if (!c->prepare || c->prepared || out_of_run(c))
			continue;
		int k = 0;
		for (struct waiting_cmd *d = c; d; d = d->next)
			if (d->prepare == c->prepare && !d->prepared && !out_of_run(d)) {
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
			cmds[i]->same_as = NULL;
			if (!failed && !made[i] && after[i] >= 0 && after[i] < i)
				cmds[i]->same_as = cmds[after[i]];
		}
	}
	free(jobs);
	free(made);
	free(after);
	free(cmds);
}

/* Before a redo: the prepared commands still in the run are prepared again
 * (without the ones taken out, an import may have to create a contact that
 * one of them was to create). */
static void unprepare_run(struct waiting_cmd *run)
{
	for (struct waiting_cmd *c = run; c; c = c->next)
		if (c->prepare && !out_of_run(c)) {
			free(c->made);
			c->made = NULL;
			c->prepared = false;
			c->same_as = NULL;
		}
}

static const char *text_of(const struct waiting_cmd *c)
{
	return c->prepare ? c->made : c->payload;
}

static struct idem *key_of(const struct waiting_cmd *c)
{
	return c->req && !out_of_run(c) ? c->req->key : NULL;
}

/* A later command of the run with the key of an earlier one is "busy": its
 * first is in flight in this very run. */
static void mark_busy(struct waiting_cmd *run, int n)
{
	size_t size = 2 * (size_t)n + 1;
	struct waiting_cmd **slot = xcalloc(size, sizeof *slot);
	for (struct waiting_cmd *c = run; c; c = c->next) {
		struct idem *k = key_of(c);
		if (!k)
			continue;
		size_t i = hash_str(HASH_START, k->id) % size;
		for (; slot[i]; i = (i + 1) % size)
			if (!strcmp(slot[i]->req->key->id, k->id))
				break;
		if (slot[i])
			c->out = QUEUE_BUSY;
		else
			slot[i] = c;
	}
	free(slot);
}

static int by_key(const void *a, const void *b)
{
	const struct idem *x = (*(struct waiting_cmd *const *)a)->req->key,
	                  *y = (*(struct waiting_cmd *const *)b)->req->key;
	return strcmp(x->id, y->id);
}

/* The INSERT of the run's key rows (keyed: the n commands that have a key),
 * sorted by key so that two runs wanting the same keys lock them in the
 * same order. k: how many commands the run queues (the script's @h is the
 * last position). NULL when no command has a key. */
static char *key_rows(MYSQL *m, uint32_t stream, struct waiting_cmd **keyed, int n, int k)
{
	if (n == 0)
		return NULL;
	qsort(keyed, (size_t)n, sizeof *keyed, by_key);
	struct printbuf *sql = xprintbuf_new();
	xprintbuf_puts(sql, IDEM_INSERT);
	for (int i = 0; i < n; i++) {
		struct waiting_cmd *c = keyed[i], *at = c->queued ? c : c->same_as;
		struct queue_req *r = c->req;
		char *body, *location, pos_sql[32] = "";
		if (at) {
			idem_template(r->head ? r->head : "", r->base ? r->base : "", stream, &body,
			              &location);
			snprintf(pos_sql, sizeof pos_sql, "@h - %d", k - 1 - at->index);
		} else {
			idem_answer(r->head ? r->head : "", r->base ? r->base : "", stream, 0, &body,
			            &location);
		}
		if (i)
			xprintbuf_puts(sql, ",");
		idem_append_row(sql, m, r->key, 202, location, body, at ? pos_sql : NULL);
		free(body);
		free(location);
	}
	return xprintbuf_take(sql);
}

/* After a run failed on a key recorded before: the rows of the run's keys.
 * Those found live take their commands out of the run (QUEUE_TAKEN); those
 * expired are deleted by the redo (*expired_sql). 0, or -1 on error. */
static int taken_keys(MYSQL *m, struct waiting_cmd *run, int n, char **expired_sql)
{
	struct idem **keys = xmalloc(n * sizeof *keys);
	struct waiting_cmd **cmds = xmalloc(n * sizeof *cmds);
	bool *expired = xmalloc(n * sizeof *expired);
	int nk = 0, ne = 0;
	for (struct waiting_cmd *c = run; c; c = c->next)
		if (key_of(c)) {
			cmds[nk] = c;
			keys[nk++] = c->req->key;
		}
	int r = idem_find_many(m, keys, nk, expired);
	for (int i = 0; i < nk && r == 0; i++) {
		if (keys[i]->found)
			cmds[i]->out = QUEUE_TAKEN;
		else if (expired[i])
			keys[ne++] = keys[i];
	}
	free(*expired_sql);
	*expired_sql = r == 0 && ne ? idem_delete_expired(m, keys, ne) : NULL;
	free(keys);
	free(cmds);
	free(expired);
	return r;
}

enum { RUN_AGAIN = 1 };

/* One attempt at the run: the texts (prepare_run), then one transaction sent
 * as one script (one round trip): k positions at once, the key rows, one
 * multi-row INSERT of the commands. @h starts NULL, so if the stream row
 * were missing the INSERTs would fail (strict mode) before the COMMIT.
 * Returns 0, -1, or RUN_AGAIN when keys turned out taken (then the run is
 * to be redone without them; expired_sql: rows to delete first). */
static int flush_once(MYSQL *m, uint32_t stream, struct waiting_cmd *run, int n, char **expired_sql)
{
	int k = 0, nkeys = 0, r = -1;
	char *sql = NULL, *keys_sql = NULL;
	prepare_run(m, run, n);
	mark_busy(run, n);
	struct waiting_cmd **keyed = xmalloc(n * sizeof *keyed);
	size_t cap = 512;
	for (struct waiting_cmd *c = run; c; c = c->next) {
		c->queued = !out_of_run(c) && text_of(c) != NULL;
		if (c->queued) {
			c->index = k++;
			cap += 2 * (strlen(text_of(c)) + strlen(c->kind) + (c->db ? strlen(c->db) : 4)) + 256;
		}
		if (key_of(c))
			keyed[nkeys++] = c;
	}
	keys_sql = key_rows(m, stream, keyed, nkeys, k);
	if (k == 0 && !keys_sql) { /* nothing to queue, nothing to record */
		r = 0;
		goto answers;
	}
	cap += (keys_sql ? strlen(keys_sql) : 0) + (*expired_sql ? strlen(*expired_sql) : 0);
	char *w = sql = xmalloc(cap);
	int nst = 0, st_head = -1, st_keys = -1, st_cmds = -1;
	w += sprintf(w, "START TRANSACTION;SET @h = NULL;");
	nst += 2;
	if (k) {
		w +=
		    sprintf(w, "UPDATE streams SET head = LAST_INSERT_ID(@h := head + %d) WHERE stream = %u;",
		            k, stream);
		st_head = nst++;
	}
	if (*expired_sql) {
		w += sprintf(w, "%s;", *expired_sql);
		nst++;
	}
	if (keys_sql) {
		w += sprintf(w, "%s;", keys_sql);
		st_keys = nst++;
	}
	if (k) {
		w += sprintf(
		    w,
		    "INSERT INTO commands (stream, pos, db, kind, payload, created, token, contact) VALUES ");
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
			w += sprintf(w, ", NOW(6), ");
			w += db_quote_into(m, w, c->req ? c->req->token : NULL);
			*w++ = ',';
			w += db_quote_into(m, w, c->req ? or_null(c->req->contact) : NULL);
			*w++ = ')';
			free(c->made); /* in the script now: a bulk import's text need not live twice */
			c->made = NULL;
		}
		*w++ = ';';
		st_cmds = nst++;
	}
	strcpy(w, "COMMIT");
	nst++;
	long long affected[8];
	uint64_t ids[8];
	if (db_script(m, sql, nst, affected, ids)) {
		bool taken = nkeys && mysql_errno(m) == IDEM_DUPLICATE;
		db_rollback(m);
		if (taken && taken_keys(m, run, n, expired_sql) == 0) {
			unprepare_run(run);
			r = RUN_AGAIN;
		}
		goto out;
	}
	if ((k && (affected[st_head] != 1 || affected[st_cmds] != k)) ||
	    (keys_sql && affected[st_keys] != nkeys)) {
		log_error(
		    "queue: stream %u: head moved %lld rows, %lld commands inserted of %d, %lld keys of %d",
		    stream, k ? affected[st_head] : 0, k ? affected[st_cmds] : 0, k,
		    keys_sql ? affected[st_keys] : 0, nkeys);
		goto out;
	}
	uint64_t pos = k ? ids[st_head] - (uint64_t)k + 1 : 0;
	for (struct waiting_cmd *c = run; c; c = c->next)
		if (c->queued)
			c->pos = pos++;
		else if (c->same_as)
			c->pos = c->same_as->pos; /* earlier in the run: already set */
	r = 0;
answers:
	for (struct waiting_cmd *c = run; c; c = c->next)
		if (c->req && !out_of_run(c))
			make_answer(c->req, stream, c->pos);
out:
	free(sql);
	free(keys_sql);
	free(keyed);
	return r;
}

/* The run, redone while keys turn out taken. */
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
	char *expired_sql = NULL;
	int r = RUN_AGAIN;
	for (int attempt = 0; attempt < GROUP_ATTEMPTS && r == RUN_AGAIN; attempt++)
		r = flush_once(m, stream, run, n, &expired_sql);
	free(expired_sql);
	if (db_gone(m) || (r != 0 && db_timed_out())) { /* also when only a prepare failed on it */
		mysql_close(m);
		g->conn = NULL;
	}
	return r == 0 ? 0 : -1;
}

/* The single-transaction path, for streams beyond the grouped ones. */
static int push_alone(MYSQL *m, struct waiting_cmd *me)
{
	if (db_begin(m))
		return QUEUE_FAILED;
	prepare_run(m, me, 1);
	if (me->failed) {
		db_rollback(m);
		return QUEUE_FAILED;
	}
	if (text_of(me) &&
	    !(me->pos = queue_push_tx(m, me->req, me->stream, me->db, me->kind, text_of(me)))) {
		db_rollback(m);
		return QUEUE_FAILED;
	}
	int r = me->req ? queue_answer_tx(m, me->req, me->stream, me->pos) : QUEUE_OK;
	if (r != QUEUE_OK) {
		db_rollback(m);
		return r;
	}
	return db_commit(m) ? QUEUE_FAILED : QUEUE_OK;
}

/* What a command of a flushed run answers. */
static int result_of(const struct waiting_cmd *c, bool run_failed)
{
	if (c->out)
		return c->out; /* known even when the run failed afterwards */
	return run_failed || c->failed ? QUEUE_FAILED : QUEUE_OK;
}

/* Queues me: alone beyond the grouped streams, else in a run. A caller that
 * finds no flush running leads: it takes the run (which starts with its own
 * command), flushes it, sets each command's result and wakes its caller, and
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
				return QUEUE_FAILED;
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
			c->result = result_of(c, fr != 0);
			c->state = 1;
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
	r = me->result;
	free(me->made);
	return r;
}

int queue_push(MYSQL *m, struct queue_req *r, uint32_t stream, const char *db, const char *kind,
               const char *payload, uint64_t *pos)
{
	if (!payload && !(r && r->key)) { /* nothing to queue, nothing to record */
		if (r)
			make_answer(r, stream, 0);
		*pos = 0;
		return QUEUE_OK;
	}
	struct waiting_cmd me = {.stream = stream,
	                         .db = db,
	                         .kind = kind,
	                         .payload = payload,
	                         .req = r,
	                         .size = payload ? strlen(payload) : 0};
	int e = push(m, &me);
	*pos = e == QUEUE_OK ? me.pos : 0;
	return e;
}

int queue_push_prepared(MYSQL *m, struct queue_req *r, uint32_t stream, const char *db, const char *kind,
                        size_t size, queue_prepare_fn prepare, void *job, uint64_t *pos)
{
	struct waiting_cmd me = {
	    .stream = stream, .db = db, .kind = kind, .size = size, .req = r, .prepare = prepare, .job = job};
	int e = push(m, &me);
	*pos = e == QUEUE_OK ? me.pos : 0;
	return e;
}

int queue_outcome(MYSQL *m, uint32_t stream, uint64_t pos, struct queue_outcome *o)
{
	memset(o, 0, sizeof *o);
	/* One statement: the command's status and the clock row agree (the
	 * processor writes both in the transaction that applies it). */
	MYSQL_RES *res = db_query(m,
	                          "SELECT q.db, q.token, q.contact, q.status, q.reason, c.done >= q.pos "
	                          "FROM commands q JOIN clocks c ON c.stream = q.stream "
	                          "WHERE q.stream = %u AND q.pos = %llu",
	                          stream, (unsigned long long)pos);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row) {
		o->db = row[0] ? xstrdup(row[0]) : NULL;
		o->token = row[1] ? xstrdup(row[1]) : NULL;
		o->contact = row[2] ? xstrdup(row[2]) : NULL;
		o->failed = row[3] && atoi(row[3]) == 2;
		o->reason = row[4] ? xstrdup(row[4]) : NULL;
		o->applied = row[5] && row[5][0] == '1';
	}
	mysql_free_result(res);
	return row ? 1 : 0;
}

void queue_outcome_free(struct queue_outcome *o)
{
	free(o->db);
	free(o->token);
	free(o->contact);
	free(o->reason);
	memset(o, 0, sizeof *o);
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
