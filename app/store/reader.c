/* reader.c — the read server of the front (db_read_*): a replica of the primary,
 * a pool of connections of its own, and what it says of its replication.
 *
 * The pool works like db.c's (idle connections on a stack, at most cf.db_pool
 * open, a broken one takes the idle ones with it), apart from it so that a
 * replica that dies never holds up the connections writes need. */
#include "store/reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/xalloc.h"
#include "store/db.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed; /* CLOCK_MONOTONIC, like the request's deadline */
static pthread_once_t freed_once = PTHREAD_ONCE_INIT;

static void freed_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&freed, &ca);
	pthread_condattr_destroy(&ca);
}
static MYSQL **idle;      /* guarded by lock */
static uint64_t *used;      /* when each idle connection was released (guarded by lock) */
static int nidle, open_n; /* guarded by lock */
static _Atomic bool down;

/* The idle connections go: once the server is back, they would be dead. */
static void drop_idle(void)
{
	pthread_mutex_lock(&lock);
	MYSQL **stale = idle;
	int nstale = nidle;
	idle = stale ? xcalloc(cf.db_pool, sizeof *idle) : NULL;
	nidle = 0;
	open_n -= nstale;
	pthread_cond_broadcast(&freed);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nstale; i++)
		mysql_close(stale[i]);
	free(stale);
}

void reader_set_down(bool d)
{
	if (atomic_exchange(&down, d) != d && d)
		drop_idle();
}

bool reader_down(void)
{
	return db_read_separate() && atomic_load(&down);
}

/* One connection fewer is open (it failed or was dropped). */
static void closed_one(void)
{
	pthread_mutex_lock(&lock);
	open_n--;
	pthread_cond_signal(&freed);
	pthread_mutex_unlock(&lock);
}

MYSQL *reader_acquire(void)
{
	if (!db_read_separate())
		return db_acquire();
	if (reader_down())
		return NULL;
	pthread_once(&freed_once, freed_init);
	pthread_mutex_lock(&lock);
	if (!idle) {
		idle = xcalloc(cf.db_pool, sizeof *idle);
		used = xcalloc(cf.db_pool, sizeof *used);
	}
	/* Never past the request's deadline (db_acquire's rule): NULL then, and
	 * the caller reads the primary, whose pool has the same bound. */
	uint64_t deadline = db_deadline();
	struct timespec due = {.tv_sec = (time_t)(deadline / 1000000), .tv_nsec = (long)(deadline % 1000000) * 1000};
	while (nidle == 0 && open_n >= cf.db_pool) {
		if (!deadline) {
			pthread_cond_wait(&freed, &lock);
		} else if (pthread_cond_timedwait(&freed, &lock, &due) == ETIMEDOUT) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
	}
	MYSQL *m = NULL;
	if (nidle > 0) {
		m = idle[--nidle];
		uint64_t at = used[nidle];
		pthread_mutex_unlock(&lock);
		if (db_check_idle(m, at))
			return m;
		mysql_close(m);
	} else {
		open_n++;
		pthread_mutex_unlock(&lock);
	}
	if ((m = db_connect_read()))
		return m;
	closed_one();
	/* Down until the watch (fcgi/lag.c) finds it back; not when only this
	 * request's deadline cut the connect short (one slow request would send
	 * every read of the worker to the primary). */
	if (!db_timed_out())
		reader_set_down(true);
	return NULL;
}

void reader_release(MYSQL *m, bool broken)
{
	if (!db_read_separate()) {
		db_release(m, broken);
		return;
	}
	if (!m)
		return;
	MYSQL **stale = NULL;
	int nstale = 0;
	pthread_mutex_lock(&lock);
	if (broken) {
		stale = idle;
		nstale = nidle;
		idle = xcalloc(cf.db_pool, sizeof *idle);
		nidle = 0;
		open_n -= 1 + nstale;
	} else {
		used[nidle] = db_now_us();
		idle[nidle++] = m;
	}
	pthread_cond_broadcast(&freed);
	pthread_mutex_unlock(&lock);
	if (broken) {
		mysql_close(m);
		for (int i = 0; i < nstale; i++)
			mysql_close(stale[i]);
		free(stale);
	}
}

void reader_name(char *buf, size_t size)
{
	if (!db_read_separate())
		snprintf(buf, size, "primary");
	else if (cf.db_read_socket[0])
		snprintf(buf, size, "socket %s", cf.db_read_socket);
	else
		snprintf(buf, size, "%s:%d", cf.db_read_host, cf.db_read_port ? cf.db_read_port : cf.db_port);
}

/* The value of column `name` of SHOW SLAVE STATUS's row, or NULL. */
static const char *column(MYSQL_RES *res, MYSQL_ROW row, const char *name)
{
	unsigned n = mysql_num_fields(res);
	MYSQL_FIELD *f = mysql_fetch_fields(res);
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return row[i];
	return NULL;
}

static bool yes(const char *v)
{
	return v && !strcmp(v, "Yes");
}

int reader_replication(MYSQL *m, struct reader_replication *r)
{
	memset(r, 0, sizeof *r);
	r->seconds_behind = -1;
	if (!m || mysql_query(m, "SHOW SLAVE STATUS"))
		return -1;
	MYSQL_RES *res = mysql_store_result(m);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row) {
		r->io_running = yes(column(res, row, "Slave_IO_Running"));
		r->sql_running = yes(column(res, row, "Slave_SQL_Running"));
		const char *s = column(res, row, "Seconds_Behind_Master");
		r->seconds_behind = s ? strtoll(s, NULL, 10) : -1;
		s = column(res, row, "Gtid_IO_Pos");
		snprintf(r->gtid_pos, sizeof r->gtid_pos, "%s", s ? s : "");
		const char *io = column(res, row, "Last_IO_Error"), *sql = column(res, row, "Last_SQL_Error");
		snprintf(r->error, sizeof r->error, "%s", sql && *sql ? sql : io ? io : "");
	}
	mysql_free_result(res);
	return row != NULL;
}
