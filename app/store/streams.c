/* streams.c — the streams of an installation: made at its first start, added by the operator, chosen for new
 * databases.
 *
 * How many streams there are is a fact of the database (the `streams`
 * table), never of one program's settings: a front or processor started
 * with another `streams` setting follows the table. Streams are only ever
 * added, after the highest, each with its clock row, so that every stream
 * that can receive a command has a clock for the processor to move. */
#include "store/streams.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "store/db.h"

/* Rows per INSERT statement: keeps a statement well under max_allowed_packet. */
#define ROWS_PER_INSERT 1000

/* Serializes the programs that create streams (first start, streams add),
 * so that two of them never compute the same new range. Enqueueing requests
 * never take it: they only update the head of an existing stream. */
static int lock_streams(MYSQL *m)
{
	if (db_value(m, "SELECT GET_LOCK('runorg.streams', 30)") != 1) {
		log_error("streams: could not take the lock 'runorg.streams'");
		return -1;
	}
	return 0;
}

static void unlock_streams(MYSQL *m)
{
	db_exec(m, "DO RELEASE_LOCK('runorg.streams')");
}

/* Inserts the rows (first..last, ...) into `table` in statements of
 * ROWS_PER_INSERT rows; `values` is the text after the stream number. */
static int insert_rows(MYSQL *m, const char *table, const char *values, uint32_t first, uint32_t last)
{
	size_t size = 64 + (size_t)ROWS_PER_INSERT * 40;
	char *sql = malloc(size);
	if (!sql)
		return -1;
	int r = 0;
	for (uint32_t s = first; !r && s <= last;) {
		int len = snprintf(sql, size, "INSERT INTO %s VALUES ", table);
		for (int i = 0; i < ROWS_PER_INSERT && s <= last; i++, s++)
			len += snprintf(sql + len, size - len, "%s(%u, %s)", i ? ", " : "", s, values);
		r = db_exec(m, "%s", sql) < 0 ? -1 : 0;
	}
	free(sql);
	return r;
}

/* Creates the streams first..last and their clock rows in one transaction:
 * a stream never exists without its clock row. Plain INSERTs: a stream that
 * already exists is a mistake to report, not to skip. */
static int create_range(MYSQL *m, uint32_t first, uint32_t last)
{
	if (db_begin(m))
		return -1;
	if (insert_rows(m, "streams (stream, head)", "0", first, last) ||
	    insert_rows(m, "clocks (stream, done, done_us)", "0, 0", first, last) || db_commit(m)) {
		db_rollback(m);
		return -1;
	}
	return 0;
}

static long long highest(MYSQL *m)
{
	return db_value(m, "SELECT IFNULL(MAX(stream), 0) FROM streams");
}

int streams_init(MYSQL *m, int n)
{
	if (n < 1 || n >= STREAMS_MAX)
		return -1;
	if (lock_streams(m))
		return -1;
	long long have = highest(m);
	int r = have < 0 ? -1 : 0;
	if (have == 0) {
		r = create_range(m, 1, (uint32_t)n + 1);
		if (!r)
			log_info("streams: created streams 1..%d (a new installation)", n + 1);
	}
	unlock_streams(m);
	return r;
}

int streams_add(MYSQL *m, int n, uint32_t *first, uint32_t *last)
{
	if (n < 1 || n > STREAMS_MAX)
		return -2;
	if (lock_streams(m))
		return -1;
	/* The bound is on the highest number, which is the count as long as
	 * streams are only made here (without gaps). */
	long long have = highest(m);
	int r = have < 0 ? -1 : have + n > STREAMS_MAX ? -2 : 0;
	if (!r) {
		*first = (uint32_t)have + 1;
		*last = (uint32_t)(have + n);
		r = create_range(m, *first, *last);
		if (!r)
			log_info("streams: added streams %u..%u", *first, *last);
	}
	unlock_streams(m);
	return r;
}

long long streams_pick(MYSQL *m)
{
	/* Databases are counted where they are (dbs) and where their creation is
	 * queued but not applied yet (db.create commands of stream 1 after its
	 * clock), so that a burst of creations spreads too. The second part
	 * reads only the unapplied tail of stream 1. */
	long long s = db_value(
	    m, "SELECT s.stream FROM streams s "
	       "LEFT JOIN (SELECT stream, COUNT(*) AS n FROM dbs GROUP BY stream) d ON d.stream = s.stream "
	       "LEFT JOIN (SELECT CAST(JSON_EXTRACT(q.payload, '$.stream') AS UNSIGNED) AS stream, COUNT(*) "
	       "AS n "
	       "FROM clocks c JOIN commands q ON q.stream = c.stream AND q.pos > c.done "
	       "WHERE c.stream = 1 AND q.kind = 'db.create' GROUP BY 1) p ON p.stream = s.stream "
	       "WHERE s.stream >= 2 ORDER BY IFNULL(d.n, 0) + IFNULL(p.n, 0), s.stream LIMIT 1");
	if (s == -2)
		log_error("streams: there is no database stream (stream 2 or above)");
	return s < 0 ? -1 : s;
}

int streams_count(MYSQL *m)
{
	long long n = db_value(m, "SELECT COUNT(*) FROM streams");
	return n < 0 ? -1 : (int)n;
}

int streams_list(MYSQL *m, uint32_t **list)
{
	*list = NULL;
	MYSQL_RES *res = db_query(m, "SELECT stream FROM streams ORDER BY stream");
	if (!res)
		return -1;
	int n = (int)mysql_num_rows(res);
	if (n > 0 && !(*list = malloc(n * sizeof **list))) {
		mysql_free_result(res);
		return -1;
	}
	MYSQL_ROW row;
	for (int i = 0; i < n && (row = mysql_fetch_row(res)); i++)
		(*list)[i] = (uint32_t)strtoul(row[0], NULL, 10);
	mysql_free_result(res);
	return n;
}
