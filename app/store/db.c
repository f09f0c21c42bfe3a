/* db.c — MySQL connections, statements with escaped arguments, and a per-process pool. */
#include "store/db.h"

#include <errmsg.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"

/* What this process (and, after db_share, every process forked from the
 * same master) last saw of the server, in microseconds of the wall clock: a
 * request that failed because another thread's statement failed (a
 * group-commit leader's) learns why from here. */
struct notes {
	_Atomic uint64_t down;      /* the server gone or unreachable */
	_Atomic uint64_t read_only; /* a write refused as read-only */
	_Atomic uint64_t disk_full; /* a write refused for lack of disk space */
	_Atomic uint64_t timeout;   /* a call cut or refused by a deadline */
	_Atomic uint64_t write_ok;  /* a write committed */
};
static struct notes own_notes, *notes = &own_notes;

static bool read_only_error(unsigned e);
static bool disk_full_error(MYSQL *m);

/* ---- Deadlines ----
 *
 * libmariadb waits for its socket through a callback of ours
 * (MARIADB_OPT_IO_WAIT): when connecting, for the server's greeting, and for
 * every answer and every write that would block. The callback polls the
 * socket until libmariadb's own timeout or this thread's deadline, whichever
 * comes first; at the deadline it reports a timeout, and the call fails at
 * once (CR_SERVER_LOST), leaving the connection closed. So a deadline holds
 * to the millisecond for connects and statements alike, with no thread or
 * signal of its own. (libmariadb's MYSQL_OPT_READ_TIMEOUT counts whole
 * seconds and is fixed when the connection is made: measured with libmariadb
 * 3.3.20, setting it afterwards has no effect, so a pooled connection could
 * not follow each request's remaining time. Nor was its non-blocking
 * connect an answer: a connection made with it keeps a pointer to the socket
 * structure of the connect, which mysql_get_socket reads once the connection
 * has been lost and that structure freed; with it, FastCGI connections of
 * the workers were reset after a MariaDB restart in the fault tests, and
 * never without it.) */
static __thread uint64_t my_deadline;
static __thread bool my_timed_out, my_cut, my_retry;
static unsigned io_timeout_s;

static struct timespec mono_ts(uint64_t us)
{
	return (struct timespec){.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
}

static void note_timeout(void)
{
	my_timed_out = true;
	notes->timeout = db_now_us();
}

static int io_wait(my_socket s, my_bool is_read, int timeout_ms)
{
	struct pollfd p = {.fd = (int)s, .events = is_read ? POLLIN : POLLOUT};
	uint64_t start = db_mono_us(), until = timeout_ms > 0 ? start + (uint64_t)timeout_ms * 1000 : 0;
	bool by_deadline = false;
	if (my_deadline && (!until || my_deadline < until)) {
		until = my_deadline;
		by_deadline = true;
	}
	for (;;) {
		uint64_t now = db_mono_us();
		int wait = -1;
		if (until)
			wait = now >= until ? 0 : (int)((until - now + 999) / 1000);
		int r = poll(&p, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && by_deadline) {
			my_cut = true;
			note_timeout();
		}
		return r;
	}
}

void db_deadline_set(uint64_t mono_us)
{
	my_deadline = mono_us;
	my_timed_out = false;
}

uint64_t db_deadline(void)
{
	return my_deadline;
}

uint64_t db_deadline_swap(uint64_t mono_us)
{
	uint64_t old = my_deadline;
	my_deadline = mono_us;
	return old;
}

bool db_timed_out(void)
{
	return my_timed_out;
}

void db_io_timeout_set(unsigned seconds)
{
	io_timeout_s = seconds;
}

void db_retry_unsent(bool on)
{
	my_retry = on;
}

/* The connection's socket, -1 when it has none (closed after an error). */
static int socket_of(MYSQL *m)
{
	return m->net.pvio ? (int)mysql_get_socket(m) : -1;
}

bool db_deadline_over(void)
{
	if (!my_deadline || db_mono_us() < my_deadline)
		return false;
	note_timeout();
	return true;
}

/* Starts a call on m: false when this thread's deadline has passed, and
 * then nothing may be sent. */
static bool call_start(MYSQL *m)
{
	(void)m;
	my_cut = false;
	return !db_deadline_over();
}

/* Ends the call: true when the deadline cut it. */
static bool call_end(void)
{
	return my_cut;
}

static void note_failure(MYSQL *m)
{
	if (my_timed_out)
		return; /* noted as a timeout: the server may be fine */
	if (!m || db_gone(m))
		notes->down = db_now_us();
	else if (read_only_error(mysql_errno(m)))
		notes->read_only = db_now_us();
	else if (disk_full_error(m))
		notes->disk_full = db_now_us();
}

/* ---- Connecting while MariaDB does not answer ----
 *
 * An attempt given up at its deadline stays in the server's queue of
 * connections to accept (its back_log, 250 on the private stack) until the
 * server accepts it, and once that queue is full a connect to a unix socket
 * waits in the kernel for the whole connect timeout, in whole seconds. So at
 * most CONNECTS_AT_ONCE attempts run at once in a process; and once one got
 * no answer in time (the server is silent), one at a time, spaced out from
 * SILENT_FIRST_US to SILENT_MAX_US until one is answered: a thread that may
 * not try meanwhile fails at once, as if its deadline had passed. */
#define CONNECTS_AT_ONCE 4
#define SILENT_FIRST_US 250000
#define SILENT_MAX_US 2000000

static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t connect_done; /* CLOCK_MONOTONIC */
static pthread_once_t connect_once = PTHREAD_ONCE_INIT;
static int connecting;       /* attempts under way (guarded by connect_lock) */
static uint64_t silent_next; /* while silent: no attempt before (CLOCK_MONOTONIC); 0: not silent */
static uint64_t silent_gap;  /* the spacing of the next attempt while silent */

static void connect_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&connect_done, &ca);
	pthread_condattr_destroy(&ca);
}

/* May this thread try to connect now? False: it may not, noted as a timeout. */
static bool connect_enter(void)
{
	pthread_once(&connect_once, connect_init);
	pthread_mutex_lock(&connect_lock);
	struct timespec due = mono_ts(my_deadline);
	for (;;) {
		uint64_t now = db_mono_us();
		if (silent_next) {
			bool go = connecting == 0 && now >= silent_next;
			if (go) {
				connecting++;
				silent_next = now + silent_gap;
				silent_gap = silent_gap * 2 > SILENT_MAX_US ? SILENT_MAX_US : silent_gap * 2;
			}
			pthread_mutex_unlock(&connect_lock);
			if (!go)
				note_timeout();
			return go;
		}
		if (connecting < CONNECTS_AT_ONCE) {
			connecting++;
			pthread_mutex_unlock(&connect_lock);
			return true;
		}
		int e = my_deadline ? pthread_cond_timedwait(&connect_done, &connect_lock, &due)
		                    : pthread_cond_wait(&connect_done, &connect_lock);
		if (e == ETIMEDOUT) {
			pthread_mutex_unlock(&connect_lock);
			note_timeout();
			return false;
		}
	}
}

/* The attempt is over: answered (connected, or refused at once), or silent. */
static void connect_leave(bool silent)
{
	pthread_mutex_lock(&connect_lock);
	connecting--;
	if (!silent) {
		silent_next = 0;
	} else if (!silent_next) {
		silent_gap = SILENT_FIRST_US;
		silent_next = db_mono_us() + silent_gap;
	}
	pthread_cond_broadcast(&connect_done);
	pthread_mutex_unlock(&connect_lock);
}

/* init: a statement run on every connect, reconnects included (session settings). */
/* read: to the read server (db_read_*, a replica) when one is configured. Its
 * failures are not the primary's: they leave db_state() and the pacing of
 * connects to a silent primary alone. */
static MYSQL *connect_to(bool read, unsigned long flags, const char *init)
{
	read = read && db_read_separate();
	if (db_deadline_over() || (!read && !connect_enter()))
		return NULL;
	MYSQL *m = mysql_init(NULL);
	if (!m) {
		if (!read)
			connect_leave(false);
		return NULL;
	}
	/* Whole seconds, for what libmariadb does not wait for through io_wait
	 * (a connect to a unix socket whose queue is full): within the deadline. */
	unsigned int timeout = DB_CONNECT_S;
	if (my_deadline) {
		uint64_t now = db_mono_us(), left = my_deadline > now ? (my_deadline - now) / 1000000 : 0;
		timeout = left < 1 ? 1 : left < DB_CONNECT_S ? (unsigned)left : DB_CONNECT_S;
	}
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (io_timeout_s) {
		mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout_s);
		mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout_s);
	}
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (init)
		mysql_options(m, MYSQL_INIT_COMMAND, init);
	mysql_optionsv(m, MARIADB_OPT_IO_WAIT, io_wait);
	const char *host = read ? cf.db_read_host : cf.db_host;
	unsigned port =
	    read ? (unsigned)(cf.db_read_port ? cf.db_read_port : cf.db_port) : (unsigned)cf.db_port;
	const char *sock = read ? cf.db_read_socket : cf.db_socket;
	my_cut = false;
	uint64_t start = db_mono_us();
	if (!mysql_real_connect(m, host[0] ? host : NULL, cf.db_user, cf.db_password, cf.db_name, port,
	                        sock[0] ? sock : NULL, flags)) {
		if (read) {
			/* A replica that is down is tried again and again: a line a second. */
			static _Atomic time_t read_logged;
			if (atomic_exchange(&read_logged, time(NULL)) != time(NULL))
				log_error("mysql connect (read server): %s", mysql_error(m));
			mysql_close(m);
			return NULL;
		}
		/* Silent: no greeting before the deadline, or an attempt that took long to fail. */
		bool silent = my_cut || db_mono_us() - start >= 1000000;
		connect_leave(silent);
		if (my_cut)
			log_error("mysql connect: no answer before the deadline");
		else
			log_error("mysql connect: %s", mysql_error(m));
		if (silent)
			note_timeout();
		note_failure(NULL);
		mysql_close(m);
		return NULL;
	}
	if (!read)
		connect_leave(false);
	mysql_autocommit(m, 1);
	return m;
}

static MYSQL *connect_with(unsigned long flags, const char *init)
{
	return connect_to(false, flags, init);
}

bool db_read_separate(void)
{
	return cf.db_read_host[0] || cf.db_read_socket[0];
}

MYSQL *db_connect_read(void)
{
	return connect_to(true, 0, NULL);
}

/* The statement was not sent (CR_SERVER_GONE_ERROR: the connection was
 * found closed, or writing to it failed) and no transaction was open on it:
 * connects m again in place (same options, the init command and io_wait
 * included, so within the deadline), for this thread's one retry. */
static bool may_resend(MYSQL *m)
{
	if (!my_retry || mysql_errno(m) != CR_SERVER_GONE_ERROR ||
	    (m->server_status & SERVER_STATUS_IN_TRANS) || db_deadline_over())
		return false;
	my_bool on = 1, off = 0;
	mysql_options(m, MYSQL_OPT_RECONNECT, &on);
	bool ok = mariadb_reconnect(m) == 0;
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	if (ok)
		log_warn("mysql: a statement found its connection closed: sent again on a new one");
	return ok;
}

/* Sends a statement inside a call (call_start done), with the one retry of
 * may_resend. 0, or -1 (logged by the caller). */
static int send_text(MYSQL *m, const char *s, size_t len)
{
	if (mysql_real_query(m, s, len) == 0)
		return 0;
	if (call_end() || !may_resend(m) || !call_start(m))
		return -1;
	return mysql_real_query(m, s, len) == 0 ? 0 : -1;
}

MYSQL *db_connect(void)
{
	return connect_with(0, NULL);
}

MYSQL *db_connect_scripts(void)
{
	/* An init command: a connection made again in place (may_resend) keeps it. */
	return connect_with(CLIENT_MULTI_STATEMENTS,
	                    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
}

/* A call that failed: logged (what), noted, ended. Returns -1. */
static int call_failed(MYSQL *m, const char *what, int shown, const char *text)
{
	call_end();
	if (my_timed_out)
		log_error("mysql: cut at the deadline (%s%.*s)", what, shown, text ? text : "");
	else if (mysql_errno(m) == 1062 /* ER_DUP_ENTRY: see below */)
		log_debug("mysql: duplicate key (%s%.*s)", what, shown, text ? text : "");
	else
		log_error("mysql: %s (%s%.*s)", mysql_error(m), what, shown, text ? text : "");
	note_failure(m);
	return -1;
}

/* call_failed logs a duplicate key (1062) at debug level, without MariaDB's
 * message: it is an answer, not a fault (an Idempotency-Key recorded before,
 * store/idem.c), and the message quotes the key's value, which came with a
 * request. */

int db_script(MYSQL *m, const char *sql, int n, long long *affected, uint64_t *insert_id)
{
	int done = 0;
	if (!call_start(m))
		return call_failed(m, "a script", 0, NULL);
	if (send_text(m, sql, strlen(sql)))
		return call_failed(m, "a script", 0, NULL);
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
			char what[48];
			snprintf(what, sizeof what, "statement %d of a script", done + 1);
			return call_failed(m, what, 0, NULL);
		}
		if (more < 0)
			break;
	}
	call_end();
	if (n > 0 && done == n)
		notes->write_ok = db_now_us(); /* the scripts of this program end with their COMMIT */
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

/* Formats and sends a statement, starting a call that the caller ends
 * (call_end) once it has read the result. 0, or -1 with the call ended. */
static int sql_run(MYSQL *m, const char *fmt, va_list ap)
{
	size_t len;
	char *s = sql_format(m, fmt, ap, &len);
	int r = 0;
	if (!call_start(m) || send_text(m, s, len)) {
		/* The statement up to its first quoted value: request data (bodies) stays out of logs. */
		int shown = (int)strcspn(s, "'");
		r = call_failed(m, "in: ", shown < 200 ? shown : 200, s);
	}
	free(s);
	return r;
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
	if (call_end() || mysql_errno(m))
		return call_failed(m, "reading a result", 0, NULL);
	return (long long)mysql_affected_rows(m);
}

/* The rows of a statement that returns some, stored; NULL with the call ended. */
static MYSQL_RES *sql_rows(MYSQL *m, const char *fmt, va_list ap)
{
	if (sql_run(m, fmt, ap))
		return NULL;
	MYSQL_RES *res = mysql_store_result(m);
	if (call_end() || !res) {
		if (res)
			mysql_free_result(res);
		call_failed(m, "reading a result", 0, NULL);
		return NULL;
	}
	return res;
}

MYSQL_RES *db_query(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	MYSQL_RES *res = sql_rows(m, fmt, ap);
	va_end(ap);
	return res;
}

long long db_value(MYSQL *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	MYSQL_RES *res = sql_rows(m, fmt, ap);
	va_end(ap);
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
	if (!call_start(m) || mysql_commit(m))
		return call_failed(m, "commit", 0, NULL);
	call_end();
	notes->write_ok = db_now_us();
	return 0;
}

/* Past the deadline nothing is sent: the connection, left in its transaction,
 * is dropped when released (db_release), which rolls it back. */
void db_rollback(MYSQL *m)
{
	if (call_start(m)) {
		mysql_rollback(m);
		call_end();
	}
}

bool db_gone(MYSQL *m)
{
	unsigned e = mysql_errno(m);
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == 1053 /* server shutdown */ ||
	       e == 1927 /* connection killed */;
}

bool db_check_idle(MYSQL *m, uint64_t used_us)
{
	/* A healthy idle connection has nothing to read: anything there (the
	 * end of file of a closed connection, an error packet) means it is gone. */
	struct pollfd p = {.fd = socket_of(m), .events = POLLIN};
	if (p.fd < 0 || poll(&p, 1, 0) != 0)
		return false;
	if (db_now_us() - used_us < (uint64_t)DB_IDLE_PING_S * 1000000 && used_us > notes->down)
		return true;
	if (!call_start(m))
		return false;
	bool alive = mysql_ping(m) == 0;
	call_end();
	return alive;
}

/* The pool: idle connections on a stack; `open` counts all connections out or idle.
 * Guarded by pool_lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_free; /* CLOCK_MONOTONIC */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static MYSQL **pool_idle;
static uint64_t *pool_used; /* when each idle connection was released (db_now_us) */
static int pool_nidle, pool_open;

static void pool_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool_free, &ca);
	pthread_condattr_destroy(&ca);
	pool_idle = xcalloc(cf.db_pool, sizeof *pool_idle);
	pool_used = xcalloc(cf.db_pool, sizeof *pool_used);
}

/* A connection counted in pool_open was not handed out after all. */
static void pool_forget(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_open--;
	pthread_cond_signal(&pool_free);
	pthread_mutex_unlock(&pool_lock);
}

MYSQL *db_acquire(void)
{
	pthread_once(&pool_once, pool_init);
	pthread_mutex_lock(&pool_lock);
	struct timespec due = mono_ts(my_deadline);
	while (pool_nidle == 0 && pool_open >= cf.db_pool) {
		if (!my_deadline) {
			pthread_cond_wait(&pool_free, &pool_lock);
		} else if (pthread_cond_timedwait(&pool_free, &pool_lock, &due) == ETIMEDOUT) {
			pthread_mutex_unlock(&pool_lock);
			note_timeout();
			return NULL;
		}
	}
	MYSQL *m = NULL;
	if (pool_nidle > 0) {
		m = pool_idle[--pool_nidle];
		uint64_t used = pool_used[pool_nidle];
		pthread_mutex_unlock(&pool_lock);
		if (db_check_idle(m, used))
			return m;
		mysql_close(m); /* closed by the server while idle: a new one */
	} else {
		pool_open++;
		pthread_mutex_unlock(&pool_lock);
	}
	if (!(m = db_connect()))
		pool_forget();
	return m;
}

/* A broken connection usually means the server restarted: the idle ones are
 * dead too, so they go with it, and the next requests connect afresh instead
 * of each finding out on a stale connection. One cut or refused by this
 * thread's deadline goes alone. */
void db_release(MYSQL *m, bool broken)
{
	if (!m)
		return;
	if (my_timed_out) {
		mysql_close(m);
		pool_forget();
		return;
	}
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
		pool_used[pool_nidle] = db_now_us();
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

/* MariaDB's refusals of a write for lack of space: a table that cannot grow
 * (InnoDB's answer to ENOSPC), the server's own "disk full", and an engine or
 * file error naming ENOSPC or EDQUOT. */
static bool disk_full_error(MYSQL *m)
{
	unsigned e = mysql_errno(m);
	if (e == 1114 /* ER_RECORD_FILE_FULL */ || e == 1021 /* ER_DISK_FULL */)
		return true;
	if (e != 1026 /* ER_ERROR_ON_WRITE */ && e != 1030 /* ER_GET_ERRNO */)
		return false;
	const char *t = mysql_error(m);
	return strstr(t, "No space left") || strstr(t, "Disk quota") || strstr(t, "errno: 28") ||
	       strstr(t, "error 28 ");
}

bool db_disk_full(void)
{
	uint64_t full = notes->disk_full;
	return full && full > notes->write_ok && db_now_us() - full < 60 * 1000000ULL;
}

enum db_state db_state(MYSQL *m, uint64_t since_us)
{
	if (my_timed_out)
		return DB_TIMEOUT;
	if (m && db_gone(m))
		return DB_DOWN;
	if (m && read_only_error(mysql_errno(m)))
		return DB_READ_ONLY;
	if (m && disk_full_error(m))
		return DB_DISK_FULL;
	/* The error came from another connection (a group-commit leader's, say): if
	 * this process saw the server gone, read-only or full meanwhile, or a
	 * leader's deadline cut its run, that was it. */
	if (notes->down >= since_us)
		return DB_DOWN;
	if (notes->read_only >= since_us)
		return DB_READ_ONLY;
	if (notes->disk_full >= since_us)
		return DB_DISK_FULL;
	if (notes->timeout >= since_us)
		return DB_TIMEOUT;
	/* Else ask the server itself, on a connection of our own. */
	MYSQL *probe = db_connect();
	long long ro = probe ? db_value(probe, "SELECT @@global.read_only OR @@global.innodb_read_only") : -1;
	if (probe)
		mysql_close(probe);
	if (my_timed_out)
		return DB_TIMEOUT;
	return ro < 0 ? DB_DOWN : ro > 0 ? DB_READ_ONLY : DB_UP;
}

int db_share(void)
{
	void *p = mmap(NULL, sizeof *notes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memcpy(p, notes, sizeof *notes);
	notes = p;
	return 0;
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
