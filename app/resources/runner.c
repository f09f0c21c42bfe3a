/* runner.c — applying a stream's queued commands (runner.h).
 *
 * Invariants (whoever calls it: runorg-processor, the front, runorgctl):
 * - The caller holds the stream's lease, the MySQL named lock
 *   'runorg.stream.N', on the connection it passes.
 * - A run of commands, their failures and the clock bump commit in one
 *   transaction, and the bump only moves the clock from where the run started:
 *   a crash anywhere loses nothing and applies nothing twice, even if two
 *   appliers ever believed they held the lease. Each command sits behind a
 *   savepoint when careful, so one that cannot be applied leaves no trace.
 * - A command that cannot be applied is recorded as failed and still
 *   advances the clock, so no reader waits for it forever. */
#include "resources/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "resources/appliers.h"
#include "resources/apply.h"
#include "store/db.h"

/* A run takes what is queued after the clock, up to BATCH commands and
 * RUN_BYTES of payload: the longer the backlog, the longer the run, so that
 * the cost of a transaction (its commit's flush above all) is shared by more
 * commands exactly when the processor falls behind. RUN_MAX_US only keeps a
 * run of slow commands from holding its transaction open for long; with no
 * backlog a run is the one or two commands there are. */
#define BATCH 100
#define RUN_BYTES (1 << 20)
#define RUN_MAX_US 200000

/* Whether a MySQL error may go away by itself. Only errors about the data of
 * the command itself make it fail for good (recorded, clock advanced); any
 * other (server gone, lock waits, deadlocks, disk or table full, read-only,
 * out of memory, ...) is retried, so that a command that got a 202 is never
 * lost to a passing fault. */
static bool transient(MYSQL *m)
{
	switch (mysql_errno(m)) {
	case 0:    /* an applier's own error, not MySQL's: it would fail again */
	case 1048: /* column cannot be null */
	case 1062: /* duplicate key */
	case 1264: /* out of range value */
	case 1366: /* incorrect string value */
	case 1406: /* data too long */
	case 1452: /* foreign key */
		return false;
	default:
		return true;
	}
}

/* Applies one command in the open transaction. Careful: behind a savepoint, so
 * that a command that cannot be applied leaves no trace. Returns APPLY_OK,
 * APPLY_FAILED (reason filled) or APPLY_ERROR (a transient database error). */
static int apply_one(MYSQL *m, bool careful, const struct applier *a, const char *db, const char *kind,
                     json_object *payload, char *reason, size_t size)
{
	int r = APPLY_FAILED;
	if (careful && db_exec(m, "SAVEPOINT cmd") < 0)
		return APPLY_ERROR;
	if (!a)
		snprintf(
		    reason, size,
		    "Unknown command kind '%.64s': this processor is older than the front that queued it",
		    kind);
	else if (!payload)
		snprintf(reason, size, "Unreadable command (its payload is not JSON)");
	else
		r = a->apply(m, db, payload, reason, size);
	if (r == APPLY_ERROR && !transient(m)) {
		/* The same statement would fail again: record why and move on. */
		snprintf(reason, size, "The database refused the command (error %u: %.160s)", mysql_errno(m),
		         mysql_error(m));
		r = APPLY_FAILED;
	}
	if (careful && r == APPLY_FAILED && db_exec(m, "ROLLBACK TO SAVEPOINT cmd") < 0)
		r = APPLY_ERROR;
	return r;
}

/* The commands of one run, read from the queue. */
struct run {
	int n;
	uint64_t pos[BATCH];
	const char *db[BATCH], *kind[BATCH];
	json_object *payload[BATCH];
};

/* Reads the commands after `done`, stopping at a gap (there is none: positions
 * are handed out without gaps, but a run never skips one). */
/* Payload bytes per command in this thread's last run (each processor thread
 * applies one stream): the next read asks for about RUN_BYTES of them, not
 * BATCH whole payloads of which a run of bulk imports would keep one. */
static __thread size_t last_bytes_per_command;

static int run_read(MYSQL *m, uint32_t stream, long long *done, struct run *run, MYSQL_RES **res)
{
	size_t per = last_bytes_per_command;
	int limit = per ? (int)(RUN_BYTES / per) + 1 : BATCH;
	if (limit > BATCH)
		limit = BATCH;
	/* One query for the clock row and the commands after it: every read
	 * after a wake-up is a single round trip. */
	*res =
	    db_query(m,
	             "SELECT q.pos, q.db, q.kind, q.payload, c.done FROM clocks c JOIN commands q "
	             "ON q.stream = c.stream AND q.pos > c.done WHERE c.stream = %u ORDER BY q.pos LIMIT %d",
	             stream, limit);
	if (!*res)
		return -1;
	MYSQL_ROW row;
	unsigned long *len;
	size_t bytes = 0;
	run->n = 0;
	/* Parsed payloads take several times their text: a run holds at most
	 * RUN_BYTES of it (and always one command). */
	while (bytes < RUN_BYTES && (row = mysql_fetch_row(*res)) && (len = mysql_fetch_lengths(*res))) {
		if (run->n == 0)
			*done = strtoll(row[4], NULL, 10);
		if (strtoull(row[0], NULL, 10) != (uint64_t)*done + run->n + 1)
			break;
		bytes += len[3];
		run->pos[run->n] = strtoull(row[0], NULL, 10);
		run->db[run->n] = row[1];
		run->kind[run->n] = row[2];
		run->payload[run->n] = json_tokener_parse(row[3]);
		run->n++;
	}
	if (run->n)
		last_bytes_per_command = bytes / (size_t)run->n + 1;
	return 0;
}

static void run_free(struct run *run, MYSQL_RES *res)
{
	for (int i = 0; i < run->n; i++)
		if (run->payload[i])
			json_object_put(run->payload[i]);
	mysql_free_result(res);
}

/* Applies commands of the run from i on; returns how many were applied (n
 * on return), or APPLY_ERROR / APPLY_FAILED. The quick way (careful false)
 * hands consecutive commands of a kind that has a run applier to it in one go,
 * and takes no savepoints: it gives up (APPLY_FAILED) at the first command
 * that cannot be applied, and the caller redoes the run carefully. */
static int apply_some(MYSQL *m, bool careful, uint32_t stream, struct run *run, int i, int *n)
{
	const struct applier *a = applier_find(run->kind[i]);
	char reason[256] = "";
	*n = 1;
	if (!careful && a && a->apply_run) {
		while (i + *n < run->n && !strcmp(run->kind[i + *n], run->kind[i]) && run->payload[i + *n])
			(*n)++;
		if (!run->payload[i])
			return APPLY_FAILED;
		int r = a->apply_run(m, run->db + i, run->payload + i, *n, reason, sizeof reason);
		return r == APPLY_ERROR && !transient(m) ? APPLY_FAILED : r;
	}
	int r = apply_one(m, careful, a, run->db[i], run->kind[i], run->payload[i], reason, sizeof reason);
	if (r != APPLY_FAILED || !careful)
		return r;
	log_warn("stream %u pos %llu (%s) failed: %s", stream, (unsigned long long)run->pos[i], run->kind[i],
	         reason);
	if (db_exec(m, "UPDATE commands SET status = 2, reason = %Q WHERE stream = %u AND pos = %llu", reason,
	            stream, (unsigned long long)run->pos[i]) < 0)
		return APPLY_ERROR;
	return APPLY_OK; /* recorded as failed: it still counts as applied */
}

int runner_batch(MYSQL *m, uint32_t stream, bool careful, atomic_int *stop, uint64_t *last_out)
{
	long long done = 0;
	struct run *run = xmalloc(sizeof *run);
	MYSQL_RES *res;
	if (run_read(m, stream, &done, run, &res)) {
		free(run);
		return -1;
	}
	int applied = 0, r = APPLY_OK;
	uint64_t started = db_mono_us();
	if (run->n > 0 && db_begin(m))
		r = APPLY_ERROR;
	while (r == APPLY_OK && applied < run->n) {
		int n;
		r = apply_some(m, careful, stream, run, applied, &n);
		if (r == APPLY_OK)
			applied += n;
		if ((stop && atomic_load(stop)) || db_mono_us() - started > RUN_MAX_US)
			break;
	}
	uint64_t last = applied ? run->pos[applied - 1] : 0;
	run_free(run, res);
	free(run);
	if (r != APPLY_OK || applied == 0) {
		if (applied || r != APPLY_OK)
			db_rollback(m);
		return r == APPLY_OK ? 0 : r == APPLY_FAILED ? -2 : -1;
	}
	/* Only from where this run started: if another processor moved the clock,
	 * nothing here commits. */
	long long moved =
	    db_exec(m, "UPDATE clocks SET done = %llu, done_us = %llu WHERE stream = %u AND done = %lld",
	            (unsigned long long)last, (unsigned long long)db_now_us(), stream, done);
	if (moved != 1 || db_commit(m)) {
		if (moved == 0)
			log_error("stream %u: clock moved away from %lld, run not applied", stream, done);
		db_rollback(m);
		return -1;
	}
	*last_out = last;
	log_info("stream %u: applied %d commands up to %llu in %.1fms", stream, applied,
	         (unsigned long long)last, (db_mono_us() - started) / 1000.0);
	return applied;
}

int runner_inline(MYSQL *m, uint32_t stream, int max_commands, long max_us, uint64_t *last_out)
{
	long long got = db_value(m, "SELECT GET_LOCK(CONCAT('runorg.stream.', %u), 0)", stream);
	if (got != 1)
		return got == 0 ? RUNNER_BUSY : -1;
	uint64_t started = db_mono_us();
	int total = 0, n = 0;
	*last_out = 0;
	while (total < max_commands && db_mono_us() - started < (uint64_t)max_us) {
		uint64_t last = 0;
		n = runner_batch(m, stream, false, NULL, &last);
		if (n == -2) /* a command cannot be applied: one by one */
			n = runner_batch(m, stream, true, NULL, &last);
		if (n <= 0)
			break;
		total += n;
		*last_out = last;
	}
	/* A connection that is gone took the lock with it. */
	if (!db_gone(m))
		db_exec(m, "DO RELEASE_LOCK(CONCAT('runorg.stream.', %u))", stream);
	return n < 0 && total == 0 ? -1 : total;
}

int runner_processor_alive(MYSQL *m)
{
	long long n = db_value(m,
	                       "SELECT COUNT(*) FROM processors WHERE heartbeat > UTC_TIMESTAMP(6) - "
	                       "INTERVAL %lld MICROSECOND",
	                       (cf.lease_timeout_ms > 0 ? cf.lease_timeout_ms : 5000) * 1000LL);
	return n < 0 ? -1 : n > 0;
}
