/* queue.h — the command queue: enqueue with gap-free positions, heads and clock rows. */
#ifndef RUNORG_QUEUE_H
#define RUNORG_QUEUE_H

#include <mysql.h>
#include <stdint.h>

#include "core/clock.h"

/* Stream 1 carries server commands (creating databases); 2.. carry databases. */
#define QUEUE_SERVER_STREAM 1

/* Appends a command inside the caller's transaction: takes the stream's next
 * position (the stream row stays locked until the caller commits, so commit
 * order is position order and no position is skipped). Returns the position,
 * 0 on error. */
uint64_t queue_push_tx(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload);

/* Appends a command in a transaction of its own, committed before it returns:
 * a non-zero position means the command is durable. Concurrent callers of one
 * process on one stream are grouped: one of them takes a run of positions and
 * inserts the whole group in one transaction, sent as one script on the
 * stream's own connection, so one commit and one round trip serve many
 * requests. m serves only streams beyond the first 255, one command each. */
uint64_t queue_push(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload);

/* Makes the texts of n commands of one run, in queue order, from their jobs:
 * made[i] is a malloc'd text (the queue frees it) or NULL to queue nothing for
 * jobs[i]; then after[i] (-1 when called) may name an earlier command j < i
 * of the call whose position jobs[i] must wait for (it uses what j creates).
 * Called by the group-commit leader just before the run's transaction, with
 * its connection m: what it reads, it reads for the whole run in one go.
 * Returns 0, or -1 with nothing left in made (those n commands fail; the
 * rest of the run is queued). */
typedef int (*queue_prepare_fn)(MYSQL *m, void **jobs, char **made, int *after, int n);

/* queue_push for a command whose text the leader makes with prepare(job).
 * size: about how long the text will be (runs are bounded by their bytes).
 * Returns 0 with *pos its position (0 when prepare queued nothing), or -1. */
int queue_push_prepared(MYSQL *m, uint32_t stream, const char *db, const char *kind, size_t size,
                        queue_prepare_fn prepare, void *job, uint64_t *pos);

/* Clock rows (last applied positions) of every stream, and the token epoch
 * (sql/005-token-epoch.sql) read by the same query; and the streams' heads.
 * The tables are cleared, then filled: every stream of the database fits. */
int queue_done(MYSQL *m, struct clock_table *done, uint64_t *token_epoch);
int queue_heads(MYSQL *m, struct clock_table *heads, struct clock_table *done);

#endif
