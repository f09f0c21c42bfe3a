/* db.h — MySQL connections, statements with escaped arguments, and a per-process pool. */
#ifndef RUNORG_DB_H
#define RUNORG_DB_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Opens a connection from the configuration (utf8mb4, autocommit on).
 * Returns NULL (and logs why) when MySQL cannot be reached. */
MYSQL *db_connect(void);

/* A read server (db_read_host or db_read_socket, a replica of the primary) is
 * configured; db_connect_read() opens a connection to it, or to the primary
 * when there is none. Only the front reads there (README, "Scaling out"). */
bool db_read_separate(void);
MYSQL *db_connect_read(void);

/* The same with multi-statement scripts allowed (db_script) and strict SQL
 * mode in the session. For the program's own connections that run scripts;
 * never handed to request handlers. */
MYSQL *db_connect_scripts(void);

/* Runs n statements sent as one text on a db_connect_scripts() connection, in
 * one round trip. Fills affected[i] and insert_id[i] of each (either may be
 * NULL). MariaDB stops at the first statement that fails: returns 0 when all n
 * ran (any number when n is 0), else -1 (the caller rolls back). Every value
 * in sql must have been escaped (%Q, db_format). */
int db_script(MYSQL *m, const char *sql, int n, long long *affected, uint64_t *insert_id);

/* Formats a statement and runs it. Conversions:
 *   %Q  const char *, sent as a quoted, escaped string literal (NULL → NULL)
 *   %d  int      %u unsigned      %lld long long      %llu unsigned long long
 *   %s  const char *, inserted as is: only for SQL text of the program itself,
 *       never for anything that came with a request.
 * db_exec returns the number of affected rows, or -1 on error. */
long long db_exec(MYSQL *m, const char *fmt, ...);

/* The statement text db_exec would run, malloc'd: for building multi-row
 * statements piece by piece (each piece escaped by its own %Q). */
char *db_format(MYSQL *m, const char *fmt, ...);

/* Same, for a statement that returns rows; NULL on error (the caller frees the result). */
MYSQL_RES *db_query(MYSQL *m, const char *fmt, ...);

/* First column of the first row as a number (>= 0 for the counts and
 * positions it is used for); -2 when there is no row (or it is NULL), -1 on error. */
long long db_value(MYSQL *m, const char *fmt, ...);

/* "('a','b',...)": each item escaped and quoted, for an IN list built by the
 * program (safe to insert with %s). malloc'd; n must be > 0. */
char *db_quote_list(MYSQL *m, const char *const *items, int n);

/* Writes s quoted and escaped (or NULL) at out, which has room for
 * 2 * strlen(s) + 3 bytes; returns the length written (no NUL). */
size_t db_quote_into(MYSQL *m, char *out, const char *s);

int db_begin(MYSQL *m);
int db_commit(MYSQL *m);
void db_rollback(MYSQL *m);

/* True when the last error means the connection is gone and must be replaced. */
bool db_gone(MYSQL *m);

/* A connection idle for DB_IDLE_PING_S or more may have been closed by the
 * server (wait_timeout): db_idle_alive pings it then, and is false when it is
 * gone (close it and connect again). used: when it was last used. */
#define DB_IDLE_PING_S 60
bool db_idle_alive(MYSQL *m, time_t used);

/* Pool of connections of one process, shared by its threads: acquire blocks
 * while all `cf.db_pool` connections are in use. Release with broken = true
 * drops the connection instead of reusing it. */
MYSQL *db_acquire(void);
void db_release(MYSQL *m, bool broken);

/* After a request (received at since_us) failed: whether the database is down
 * (no connection, or the connection died), read-only (writes refused), or up
 * (the failure was something else). Looks at m's last error (m may be NULL),
 * then at what any thread of the process saw since since_us, then asks the
 * server on a connection of its own. Only for error paths: it may connect. */
enum db_state { DB_UP, DB_DOWN, DB_READ_ONLY };
enum db_state db_state(MYSQL *m, uint64_t since_us);

/* Microseconds since the epoch, wall clock. */
uint64_t db_now_us(void);
/* Microseconds of CLOCK_MONOTONIC (the same in every process of the machine), for durations. */
uint64_t db_mono_us(void);

#endif
