/* db.c — MySQL connections, statements with escaped arguments, and a per-process pool. */
#include "store/db.h"

#include <errmsg.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"

/* When this process last saw the server gone or refusing a write as read-only
 * (microseconds, wall clock): a request that failed because another thread's
 * statement failed (a group-commit leader's) learns why from here. */
static _Atomic uint64_t last_down_us, last_read_only_us;

static bool read_only_error(unsigned e);

static void note_failure(MYSQL *m)
{
	if (!m || db_gone(m))
		last_down_us = db_now_us();
	else if (read_only_error(mysql_errno(m)))
		last_read_only_us = db_now_us();
}

/* read: to the read server (db_read_*, a replica) when one is configured. Its
 * failures are not the primary's: they leave db_state() alone. */
static MYSQL *connect_to(bool read, unsigned long flags)
{
	MYSQL *m = mysql_init(NULL);
	if (!m)
		return NULL;
	unsigned int timeout = 5;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	read = read && db_read_separate();
	const char *host = read ? cf.db_read_host : cf.db_host;
	unsigned port =
	    read ? (unsigned)(cf.db_read_port ? cf.db_read_port : cf.db_port) : (unsigned)cf.db_port;
	const char *sock = read ? cf.db_read_socket : cf.db_socket;
	if (!mysql_real_connect(m, host[0] ? host : NULL, cf.db_user, cf.db_password, cf.db_name, port,
	                        sock[0] ? sock : NULL, flags)) {
		/* A replica that is down is tried again and again: a line a second. */
		static _Atomic time_t read_logged;
		if (!read || atomic_exchange(&read_logged, time(NULL)) != time(NULL))
			log_error("mysql connect%s: %s", read ? " (read server)" : "", mysql_error(m));
		if (!read)
			note_failure(NULL);
		mysql_close(m);
		return NULL;
	}
	mysql_autocommit(m, 1);
	return m;
}

static MYSQL *connect_with(unsigned long flags)
{
	return connect_to(false, flags);
}

bool db_read_separate(void)
{
	return cf.db_read_host[0] || cf.db_read_socket[0];
}

MYSQL *db_connect_read(void)
{
	return connect_to(true, 0);
}

MYSQL *db_connect(void)
{
	return connect_with(0);
}

MYSQL *db_connect_scripts(void)
{
	MYSQL *m = connect_with(CLIENT_MULTI_STATEMENTS);
	if (m && db_exec(m, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'") < 0) {
		mysql_close(m);
		return NULL;
	}
	return m;
}

int db_script(MYSQL *m, const char *sql, int n, long long *affected, uint64_t *insert_id)
{
	int done = 0;
	if (mysql_real_query(m, sql, strlen(sql))) {
		log_error("mysql: %s (in a script of %d statements)", mysql_error(m), n);
		note_failure(m);
		return -1;
	}
	for (;;) {
		MYSQL_RES *res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		if (done < n && affected)
			affected[done] = (long long)mysql_affected_rows(m);
		if (done < n && insert_id)
			insert_id[done] = mysql_insert_id(m);
		done++;
		int more = mysql_next_result(m);
		if (more > 0) {
			log_error("mysql: %s (statement %d of a script)", mysql_error(m), done + 1);
			note_failure(m);
			return -1;
		}
		if (more < 0)
			break;
	}
	return n == 0 || done == n ? 0 : -1;
}

/* Appends s quoted and escaped (or NULL) to the statement being built. */
static void sql_quote(struct printbuf *q, MYSQL *m, const char *s)
{
	if (!s) {
		xprintbuf_put(q, "NULL", 4);
		return;
	}
	size_t n = strlen(s);
	char *e = xmalloc(2 * n + 3);
	size_t k = db_quote_into(m, e, s);
	xprintbuf_put(q, e, k);
	free(e);
}

size_t db_quote_into(MYSQL *m, char *out, const char *s)
{
	if (!s) {
		memcpy(out, "NULL", 4);
		return 4;
	}
	out[0] = '\'';
	unsigned long k = mysql_real_escape_string(m, out + 1, s, strlen(s));
	out[k + 1] = '\'';
	return k + 2;
}

char *db_quote_list(MYSQL *m, const char *const *items, int n)
{
	struct printbuf *q = xprintbuf_new();
	xprintbuf_put(q, "(", 1);
	for (int i = 0; i < n; i++) {
		if (i)
			xprintbuf_put(q, ",", 1);
		sql_quote(q, m, items[i]);
	}
	xprintbuf_put(q, ")", 1);
	return xprintbuf_take(q);
}

/* Builds the statement text from the format (see db.h). */
static char *sql_format(MYSQL *m, const char *fmt, va_list ap, size_t *len)
{
	struct printbuf *q = xprintbuf_new();
	char num[32];
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			const char *e = strchr(p, '%');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			xprintbuf_put(q, p, n);
			p += n - 1;
			continue;
		}
		p++;
		if (*p == 'Q') {
			sql_quote(q, m, va_arg(ap, const char *));
		} else if (*p == 's') {
			xprintbuf_puts(q, va_arg(ap, const char *));
		} else if (*p == 'd') {
			xprintbuf_put(q, num, snprintf(num, sizeof num, "%d", va_arg(ap, int)));
		} else if (*p == 'u') {
			xprintbuf_put(q, num, snprintf(num, sizeof num, "%u", va_arg(ap, unsigned)));
		} else if (!strncmp(p, "lld", 3)) {
			xprintbuf_put(q, num, snprintf(num, sizeof num, "%lld", va_arg(ap, long long)));
			p += 2;
		} else if (!strncmp(p, "llu", 3)) {
			xprintbuf_put(q, num, snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long)));
			p += 2;
		} else if (*p == '%') {
			xprintbuf_put(q, "%", 1);
		} else {
			log_error("db: bad format %s", fmt);
			abort();
		}
	}
	*len = (size_t)q->bpos;
	return xprintbuf_take(q);
}

static int sql_run(MYSQL *m, const char *fmt, va_list ap)
{
	size_t len;
	char *s = sql_format(m, fmt, ap, &len);
	int r = mysql_real_query(m, s, len);
	if (r) {
		/* The statement up to its first quoted value: request data (bodies) stays out of logs. */
		int shown = (int)strcspn(s, "'");
		log_error("mysql: %s (in: %.*s)", mysql_error(m), shown < 200 ? shown : 200, s);
		note_failure(m);
	}
	free(s);
	return r ? -1 : 0;
}

char *db_format(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	size_t len;
	va_start(ap, fmt);
	char *s = sql_format(m, fmt, ap, &len);
	va_end(ap);
	return s;
}

long long db_exec(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = sql_run(m, fmt, ap);
	va_end(ap);
	if (r)
		return -1;
	/* A statement that returned rows anyway: drain them. */
	MYSQL_RES *res = mysql_store_result(m);
	if (res)
		mysql_free_result(res);
	return (long long)mysql_affected_rows(m);
}

MYSQL_RES *db_query(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = sql_run(m, fmt, ap);
	va_end(ap);
	if (r)
		return NULL;
	MYSQL_RES *res = mysql_store_result(m);
	if (!res)
		log_error("mysql: %s", mysql_error(m));
	return res;
}

long long db_value(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = sql_run(m, fmt, ap);
	va_end(ap);
	if (r)
		return -1;
	MYSQL_RES *res = mysql_store_result(m);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	long long v = -2;
	if (row && row[0])
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(res);
	return v;
}

int db_begin(MYSQL *m)
{
	return db_exec(m, "START TRANSACTION") < 0 ? -1 : 0;
}

int db_commit(MYSQL *m)
{
	if (mysql_commit(m)) {
		log_error("mysql commit: %s", mysql_error(m));
		note_failure(m);
		return -1;
	}
	return 0;
}

void db_rollback(MYSQL *m)
{
	mysql_rollback(m);
}

bool db_gone(MYSQL *m)
{
	unsigned e = mysql_errno(m);
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == 1053 /* server shutdown */ ||
	       e == 1927 /* connection killed */;
}

/* The pool: idle connections on a stack; `open` counts all connections out or idle.
 * Guarded by pool_lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_free = PTHREAD_COND_INITIALIZER;
static MYSQL **pool_idle;
static time_t *pool_used; /* when each idle connection was released */
static int pool_nidle, pool_open;

bool db_idle_alive(MYSQL *m, time_t used)
{
	return time(NULL) - used < DB_IDLE_PING_S || mysql_ping(m) == 0;
}

MYSQL *db_acquire(void)
{
	pthread_mutex_lock(&pool_lock);
	if (!pool_idle) {
		pool_idle = xcalloc(cf.db_pool, sizeof *pool_idle);
		pool_used = xcalloc(cf.db_pool, sizeof *pool_used);
	}
	while (pool_nidle == 0 && pool_open >= cf.db_pool)
		pthread_cond_wait(&pool_free, &pool_lock);
	MYSQL *m = NULL;
	if (pool_nidle > 0) {
		m = pool_idle[--pool_nidle];
		time_t used = pool_used[pool_nidle];
		pthread_mutex_unlock(&pool_lock);
		if (db_idle_alive(m, used))
			return m;
		mysql_close(m); /* closed by the server while idle (wait_timeout): a new one */
		m = db_connect();
		if (m)
			return m;
		pthread_mutex_lock(&pool_lock);
		pool_open--;
		pthread_cond_signal(&pool_free);
		pthread_mutex_unlock(&pool_lock);
		return NULL;
	}
	pool_open++;
	pthread_mutex_unlock(&pool_lock);
	m = db_connect();
	if (!m) {
		pthread_mutex_lock(&pool_lock);
		pool_open--;
		pthread_cond_signal(&pool_free);
		pthread_mutex_unlock(&pool_lock);
	}
	return m;
}

/* A broken connection usually means the server restarted: the idle ones are
 * dead too, so they go with it, and the next requests connect afresh instead
 * of each finding out on a stale connection. */
void db_release(MYSQL *m, bool broken)
{
	if (!m)
		return;
	MYSQL **stale = NULL;
	int nstale = 0;
	pthread_mutex_lock(&pool_lock);
	if (broken) {
		stale = pool_idle;
		nstale = pool_nidle;
		pool_idle = xcalloc(cf.db_pool, sizeof *pool_idle);
		pool_nidle = 0;
		pool_open -= 1 + nstale;
	} else {
		pool_used[pool_nidle] = time(NULL);
		pool_idle[pool_nidle++] = m;
	}
	pthread_cond_broadcast(&pool_free);
	pthread_mutex_unlock(&pool_lock);
	if (broken) {
		mysql_close(m);
		for (int i = 0; i < nstale; i++)
			mysql_close(stale[i]);
		free(stale);
	}
}

/* MariaDB's refusals of a write while the server is read-only. */
static bool read_only_error(unsigned e)
{
	return e == 1290 /* ER_OPTION_PREVENTS_STATEMENT (--read-only) */ ||
	       e == 1836 /* ER_READ_ONLY_MODE */ || e == 1792 /* read-only transaction */;
}

enum db_state db_state(MYSQL *m, uint64_t since_us)
{
	if (m && db_gone(m))
		return DB_DOWN;
	if (m && read_only_error(mysql_errno(m)))
		return DB_READ_ONLY;
	/* The error came from another connection (a group-commit leader's, say): if
	 * this process saw the server gone or read-only meanwhile, that was it. */
	if (last_down_us >= since_us)
		return DB_DOWN;
	if (last_read_only_us >= since_us)
		return DB_READ_ONLY;
	/* Else ask the server itself, on a connection of our own. */
	MYSQL *probe = db_connect();
	if (!probe)
		return DB_DOWN;
	long long ro = db_value(probe, "SELECT @@global.read_only OR @@global.innodb_read_only");
	mysql_close(probe);
	return ro < 0 ? DB_DOWN : ro > 0 ? DB_READ_ONLY : DB_UP;
}

uint64_t db_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t db_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
