/* db.h — MySQL connections, statements with escaped arguments, and a per-process pool. */
#ifndef RUNORG_DB_H
#define RUNORG_DB_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- Deadlines ----
 *
 * Each thread may have a deadline (CLOCK_MONOTONIC, microseconds): every
 * MySQL call the thread makes through this module ends by then, connecting
 * included. A call that would start after it is not sent; one still waiting
 * for the server at the deadline fails then (libmariadb waits through a
 * callback of ours, MARIADB_OPT_IO_WAIT, which never waits past it), and the
 * connection is closed. Without a deadline, connecting takes at most
 * DB_CONNECT_S, and each read or write on the socket at most the backstop of
 * db_io_timeout_set (libmariadb's MYSQL_OPT_READ_TIMEOUT/WRITE_TIMEOUT: whole
 * seconds, fixed when the connection is made). */
#define DB_CONNECT_S 5

/* Sets this thread's deadline (0: none) and forgets whether the last one was met. */
void db_deadline_set(uint64_t mono_us);
uint64_t db_deadline(void);
/* Sets the deadline for the calls that follow (a group-commit leader's run),
 * keeping what db_timed_out says; returns the one it replaces. */
uint64_t db_deadline_swap(uint64_t mono_us);
/* True (and from then on db_timed_out) when this thread's deadline has passed. */
bool db_deadline_over(void);

/* True when a call of this thread was refused or cut by its deadline since
 * db_deadline_set: the request answers "did not answer in time". */
bool db_timed_out(void);

/* The read and write timeouts, in seconds, of connections made from now on
 * (0: none). A backstop for calls made without a deadline. */
void db_io_timeout_set(unsigned seconds);

/* This thread's connections hold no session state between its statements
 * (no named lock, no variable): a statement whose sending failed (nothing
 * reached the server, CR_SERVER_GONE_ERROR) outside a transaction is sent
 * once more on a fresh connection, made in place. Never for a connection
 * whose named lock is a lease. */
void db_retry_unsent(bool on);

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

/* Before an idle connection is used again: false when it is gone (close it
 * and connect again). A connection the server closed (a restart, a kill,
 * wait_timeout) has its end of file waiting on the socket, which costs one
 * poll(2) to see; one idle for DB_IDLE_PING_S or more, or unused since this
 * process last saw the server go down, is also pinged. used_us: when it was
 * last used (db_now_us). */
#define DB_IDLE_PING_S 60
bool db_check_idle(MYSQL *m, uint64_t used_us);

/* Pool of connections of one process, shared by its threads: acquire blocks
 * while all `cf.db_pool` connections are in use, until this thread's deadline
 * at most (then NULL, db_timed_out). An idle connection is checked
 * (db_check_idle) before it is handed out. Release with broken = true drops
 * the connection instead of reusing it, and the idle ones with it (the server
 * probably restarted); a connection whose call met this thread's deadline is
 * dropped alone (it may be in the middle of a transaction). */
MYSQL *db_acquire(void);
void db_release(MYSQL *m, bool broken);

/* After a request (received at since_us) failed: whether its deadline cut a
 * call (DB_TIMEOUT), the database is down (no connection, or the connection
 * died), read-only or out of disk space (writes refused), or up (the failure
 * was something else). Looks at this thread's deadline, at m's last error (m
 * may be NULL), then at what any thread of the process (and of the processes
 * sharing with it, db_share) saw since since_us, then asks the server on a
 * connection of its own, within the deadline. Only for error paths. */
enum db_state { DB_UP, DB_DOWN, DB_READ_ONLY, DB_DISK_FULL, DB_TIMEOUT };
enum db_state db_state(MYSQL *m, uint64_t since_us);

/* True when MariaDB refused a write for lack of disk space (errors 1114,
 * 1021, ENOSPC) within the last minute, and no write committed since. */
bool db_disk_full(void);

/* Called by a master before it forks: from then on its children share what
 * they note about the server (down, read-only, disk full, timeouts). */
int db_share(void);

/* Microseconds since the epoch, wall clock. */
uint64_t db_now_us(void);
/* Microseconds of CLOCK_MONOTONIC (the same in every process of the machine), for durations. */
uint64_t db_mono_us(void);

#endif
