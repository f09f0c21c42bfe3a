/* main.c — runorg-processor: one thread per stream applies queued commands in order.
 *
 * Invariants:
 * - A stream is applied by the one thread that holds its lease, the MySQL
 *   named lock 'runorg.stream.N'; other processors wait as hot standbys.
 * - A run of commands, their failures and the clock bump commit in one
 *   transaction, and the bump only moves the clock from where the run started:
 *   a crash anywhere loses nothing and applies nothing twice, even if two
 *   processors ever believed they held the lease. Each command sits behind a
 *   savepoint, so one that cannot be applied leaves no trace.
 * - A command that cannot be applied is recorded as failed and still
 *   advances the clock, so no reader waits for it forever. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "processor/appliers.h"
#include "processor/heartbeat.h"
#include "resources/apply.h"
#include "store/db.h"
#include "store/migrate.h"

#define BATCH 100     /* commands read at once */
#define BATCH_US 5000 /* a transaction stops taking commands after this long */
#define RUN_BYTES (1 << 20)
#define IDLE_MIN_US 200
#define IDLE_MAX_US 10000

static atomic_int stopping; /* set by main on SIGTERM, read by every stream thread */

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
		snprintf(reason, size, "unknown command kind '%.64s'", kind);
	else if (!payload)
		snprintf(reason, size, "unreadable payload");
	else
		r = a->apply(m, db, payload, reason, size);
	if (r == APPLY_ERROR && !transient(m)) {
		/* The same statement would fail again: record why and move on. */
		snprintf(reason, size, "database error %u: %.200s", mysql_errno(m), mysql_error(m));
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
static int run_read(MYSQL *m, uint32_t stream, long long *done, struct run *run, MYSQL_RES **res)
{
	/* One query for the clock row and the commands after it: an idle stream
	 * is polled often, so every poll is a single round trip. */
	*res =
	    db_query(m,
	             "SELECT q.pos, q.db, q.kind, q.payload, c.done FROM clocks c JOIN commands q "
	             "ON q.stream = c.stream AND q.pos > c.done WHERE c.stream = %u ORDER BY q.pos LIMIT %d",
	             stream, BATCH);
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

/* Applies the next run of commands after the stream's clock in one
 * transaction, which also moves the clock row from its old position to the
 * last one applied. Returns how many, -1 on error (nothing was committed),
 * -2 when a command cannot be applied and the run must be redone carefully. */
static int apply_batch(MYSQL *m, uint32_t stream, bool careful)
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
		if (stopping || db_mono_us() - started > BATCH_US)
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
	log_info("stream %u: applied %d commands up to %llu in %.1fms", stream, applied,
	         (unsigned long long)last, (db_mono_us() - started) / 1000.0);
	return applied;
}

static void pause_us(long us)
{
	usleep((useconds_t)us);
}

static void *run_stream(void *arg)
{
	uint32_t stream = (uint32_t)(uintptr_t)arg;
	MYSQL *m = NULL;
	bool leased = false;
	long idle = IDLE_MIN_US;
	while (!stopping) {
		if (!m && !(m = db_connect())) {
			pause_us(1000000);
			continue;
		}
		if (!leased) {
			long long got =
			    db_value(m, "SELECT GET_LOCK(CONCAT('runorg.stream.', %u), 0)", stream);
			if (got == 1) {
				leased = true;
				log_info("stream %u: lease taken", stream);
				heartbeat_lease(m, stream);
			} else if (got < 0) {
				mysql_close(m);
				m = NULL;
			} else {
				pause_us(500000); /* another processor applies it: stand by */
			}
			continue;
		}
		int n = apply_batch(m, stream, false);
		if (n == -2)
			n = apply_batch(m, stream, true); /* a command cannot be applied: one by one */
		if (n < 0) {
			if (db_gone(m)) {
				log_warn("stream %u: connection lost, reconnecting", stream);
				mysql_close(m);
				m = NULL;
				leased = false;
			}
			pause_us(100000);
		} else if (n == 0) {
			pause_us(idle);
			idle = idle * 2 > IDLE_MAX_US ? IDLE_MAX_US : idle * 2;
		} else {
			idle = IDLE_MIN_US;
		}
	}
	if (m) {
		db_exec(m, "DO RELEASE_LOCK(CONCAT('runorg.stream.', %u))", stream);
		mysql_close(m);
	}
	return NULL;
}

static MYSQL *connect_at_start(void)
{
	for (int i = 0; i < 30; i++) {
		MYSQL *m = db_connect();
		if (m)
			return m;
		sleep(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf = argv[++i];
	if (config_load(conf) || log_set_file(cf.log_file))
		return 1;
	log_set_level(cf.log_level);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	MYSQL *m = connect_at_start();
	if (!m || migrate_run(m) || heartbeat_start()) {
		log_error("processor: cannot prepare the database");
		return 1;
	}
	MYSQL_RES *res = db_query(m, "SELECT stream FROM streams ORDER BY stream");
	if (!res)
		return 1;
	int n = (int)mysql_num_rows(res);
	pthread_t *threads = xcalloc(n, sizeof *threads);
	MYSQL_ROW row;
	for (int i = 0; (row = mysql_fetch_row(res)); i++)
		pthread_create(&threads[i], NULL, run_stream, (void *)(uintptr_t)strtoul(row[0], NULL, 10));
	mysql_free_result(res);
	mysql_close(m);
	log_info("processor: applying %d streams", n);

	int sig;
	sigwait(&sigs, &sig);
	log_info("processor: signal %d, finishing the current commands", sig);
	stopping = 1;
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	log_info("processor: stopped");
	return 0;
}
