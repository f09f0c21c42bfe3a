/* main.c — runorg-processor: one thread per stream applies queued commands in order.
 *
 * Invariants:
 * - A stream is applied by the one thread that holds its lease, the MySQL
 *   named lock 'runorg.stream.N'; other processors wait as hot standbys.
 * - A command's effects, its status and the clock bump commit in one
 *   transaction, and the bump only moves the clock from pos-1 to pos: a crash
 *   anywhere loses nothing and applies nothing twice, even if two processors
 *   ever believed they held the lease.
 * - A command that cannot be applied is recorded as failed and still
 *   advances the clock, so no reader waits for it forever. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "processor/appliers.h"
#include "resources/common.h"
#include "store/db.h"
#include "store/migrate.h"

#define BATCH 200
#define IDLE_MIN_US 200
#define IDLE_MAX_US 10000

static atomic_int stopping; /* set by main on SIGTERM, read by every stream thread */

/* MySQL errors worth retrying rather than recording the command as failed. */
static bool transient(MYSQL *m)
{
	unsigned e = mysql_errno(m);
	return db_gone(m) || e == 1205 /* lock wait timeout */ || e == 1213 /* deadlock */;
}

/* Records the outcome and moves the clock row from pos-1 to pos. */
static int finish(MYSQL *m, uint32_t stream, uint64_t pos, int status, const char *reason)
{
	if (db_exec(m, "UPDATE commands SET status = %d, reason = %Q WHERE stream = %u AND pos = %llu",
	            status, reason, stream, (unsigned long long)pos) < 0)
		return -1;
	long long n = db_exec(
	    m, "UPDATE clocks SET done = %llu, done_us = %llu WHERE stream = %u AND done = %llu",
	    (unsigned long long)pos, (unsigned long long)db_now_us(), stream, (unsigned long long)pos - 1);
	if (n != 1) {
		log_error("stream %u: clock is not at %llu, not applying %llu", stream,
		          (unsigned long long)pos - 1, (unsigned long long)pos);
		return -1;
	}
	return db_commit(m);
}

/* Applies one command. Returns 0 once committed, -1 to retry later. */
static int apply_one(MYSQL *m, uint32_t stream, uint64_t pos, const char *db, const char *kind,
                     const char *text)
{
	char reason[256] = "";
	apply_fn fn = applier_find(kind);
	json_object *payload = json_tokener_parse(text);
	int r = APPLY_FAILED;
	if (db_begin(m))
		goto fail;
	if (!fn)
		snprintf(reason, sizeof reason, "unknown command kind '%.64s'", kind);
	else if (!payload)
		snprintf(reason, sizeof reason, "unreadable payload");
	else
		r = fn(m, db, payload, reason, sizeof reason);
	if (r == APPLY_ERROR && !transient(m)) {
		/* The same statement would fail again: record why and move on. */
		snprintf(reason, sizeof reason, "database error %u: %.200s", mysql_errno(m), mysql_error(m));
		r = APPLY_FAILED;
	}
	if (r == APPLY_ERROR)
		goto fail;
	if (r == APPLY_FAILED) {
		db_rollback(m);
		log_warn("stream %u pos %llu (%s) failed: %s", stream, (unsigned long long)pos, kind, reason);
		if (db_begin(m))
			goto fail;
	}
	if (finish(m, stream, pos, r == APPLY_OK ? 1 : 2, r == APPLY_OK ? NULL : reason))
		goto fail;
	if (payload)
		json_object_put(payload);
	return 0;
fail:
	db_rollback(m);
	if (payload)
		json_object_put(payload);
	return -1;
}

/* Applies the next commands after the stream's clock. Returns how many, -1 on error. */
static int apply_batch(MYSQL *m, uint32_t stream)
{
	long long done = db_value(m, "SELECT done FROM clocks WHERE stream = %u", stream);
	if (done < 0)
		return -1;
	MYSQL_RES *res =
	    db_query(m,
	             "SELECT pos, db, kind, payload FROM commands WHERE stream = %u AND pos > %lld "
	             "ORDER BY pos LIMIT %d",
	             stream, done, BATCH);
	if (!res)
		return -1;
	int n = 0;
	MYSQL_ROW row;
	while (!stopping && (row = mysql_fetch_row(res))) {
		if (apply_one(m, stream, strtoull(row[0], NULL, 10), row[1], row[2], row[3])) {
			n = -1;
			break;
		}
		n++;
	}
	mysql_free_result(res);
	return n;
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
			} else if (got < 0) {
				mysql_close(m);
				m = NULL;
			} else {
				pause_us(500000); /* another processor applies it: stand by */
			}
			continue;
		}
		int n = apply_batch(m, stream);
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
	if (config_load(conf))
		return 1;
	log_set_level(cf.log_level);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	MYSQL *m = connect_at_start();
	if (!m || migrate_run(m)) {
		log_error("processor: cannot prepare the database");
		return 1;
	}
	MYSQL_RES *res = db_query(m, "SELECT stream FROM streams ORDER BY stream");
	if (!res)
		return 1;
	int n = (int)mysql_num_rows(res);
	pthread_t *threads = calloc(n, sizeof *threads);
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
