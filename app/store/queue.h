/* queue.h — the command queue: enqueue with gap-free positions, heads and clock rows. */
#ifndef RUNORG_QUEUE_H
#define RUNORG_QUEUE_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "store/idem.h"

/* Stream 1 carries server commands (creating databases); 2.. carry databases. */
#define QUEUE_SERVER_STREAM 1

/* Who queues a command, and what its request answers (SPEC §7): the queue
 * records both with the command, in the transaction that queues it. */
struct queue_req {
	/* Set by the caller: */
	const char *token;   /* SHA-256 hex of the request's token, or NULL (runorgctl) */
	const char *contact; /* the contact the request acts as, or NULL */
	const char *base;    /* the answer's Location before "/commands/": "/db/<db>", or "" */
	char *head;          /* the answer's members before "at" (idem_answer), malloc'd, or NULL;
	                        an import's prepare function makes it (the queue frees it then) */
	struct idem *key;    /* the request's Idempotency-Key, recorded with the answer; or NULL */
	/* Set by the queue when it answers QUEUE_OK: */
	char *body, *location; /* the 202's body and Location, malloc'd (the caller frees them) */
};

/* What queueing answers. */
enum {
	QUEUE_FAILED = -1, /* nothing queued, nothing recorded */
	QUEUE_OK = 0,      /* queued (or nothing to queue), answer made and recorded */
	QUEUE_TAKEN = 1,   /* the key has a live row: nothing queued; key->found is filled, or when
	                      not, the row is to be read with idem_find (the caller rolled back) */
	QUEUE_BUSY = 2,    /* the key's first request is being queued in this very run: nothing queued */
};

/* Appends a command inside the caller's transaction: takes the stream's next
 * position (the stream row stays locked until the caller commits, so commit
 * order is position order and no position is skipped), and records who
 * queues it (from, which may be NULL). Returns the position, 0 on error. */
uint64_t queue_push_tx(MYSQL *m, const struct queue_req *from, uint32_t stream, const char *db,
                       const char *kind, const char *payload);

/* Inside the caller's transaction, after queue_push_tx (pos 0: nothing was
 * queued): makes r's answer and records it under r's key, if any. QUEUE_OK,
 * QUEUE_TAKEN (roll back) or QUEUE_FAILED. */
int queue_answer_tx(MYSQL *m, struct queue_req *r, uint32_t stream, uint64_t pos);

/* Appends a command in a transaction of its own, committed before it returns:
 * QUEUE_OK means the command is durable, and so is r's answer under its key.
 * Concurrent callers of one process on one stream are grouped: one of them
 * takes a run of positions and inserts the whole group in one transaction,
 * sent as one script on the stream's own connection, so one commit and one
 * round trip serve many requests. m serves only streams beyond the first
 * 255, one command each. payload NULL: nothing to queue, only r's answer
 * ("at": []) to make and record. *pos: the position, 0 when none. */
int queue_push(MYSQL *m, struct queue_req *r, uint32_t stream, const char *db, const char *kind,
               const char *payload, uint64_t *pos);

/* Makes the texts of n commands of one run, in queue order, from their jobs:
 * made[i] is a malloc'd text (the queue frees it) or NULL to queue nothing for
 * jobs[i]; then after[i] (-1 when called) may name an earlier command j < i
 * of the call whose position jobs[i] must wait for (it uses what j creates).
 * Called by the group-commit leader just before the run's transaction, with
 * its connection m: what it reads, it reads for the whole run in one go; and
 * again if the run is redone without some of its commands (their keys had
 * been recorded before). It may make the head of its jobs' answers.
 * Returns 0, or -1 with nothing left in made (those n commands fail; the
 * rest of the run is queued). */
typedef int (*queue_prepare_fn)(MYSQL *m, void **jobs, char **made, int *after, int n);

/* queue_push for a command whose text the leader makes with prepare(job).
 * size: about how long the text will be (runs are bounded by their bytes).
 * *pos is 0 when prepare queued nothing. */
int queue_push_prepared(MYSQL *m, struct queue_req *r, uint32_t stream, const char *db, const char *kind,
                        size_t size, queue_prepare_fn prepare, void *job, uint64_t *pos);

/* Frees what r holds (head, body, location). */
void queue_req_free(struct queue_req *r);

/* A command's outcome (GET .../commands/<ref>): 1 with its database (NULL
 * on the server stream), who queued it, whether it failed and why, and
 * whether its stream's clock has reached it; 0 when there is no such
 * command; -1 on error. The strings are malloc'd (NULL when NULL). */
struct queue_outcome {
	char *db, *token, *contact, *reason;
	bool failed, applied;
};
int queue_outcome(MYSQL *m, uint32_t stream, uint64_t pos, struct queue_outcome *o);
void queue_outcome_free(struct queue_outcome *o);

/* Clock rows (last applied positions) of every stream, and the token epoch
 * (sql/005-token-epoch.sql) read by the same query; and the streams' heads.
 * The tables are cleared, then filled: every stream of the database fits. */
int queue_done(MYSQL *m, struct clock_table *done, uint64_t *token_epoch);
int queue_heads(MYSQL *m, struct clock_table *heads, struct clock_table *done);

#endif
