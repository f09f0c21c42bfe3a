/* queue.c — the command queue: enqueue with gap-free positions, heads and clock rows. */
#include "store/queue.h"

#include <stdlib.h>

#include "store/db.h"

int queue_ensure_streams(MYSQL *m, int n)
{
	for (int s = 1; s <= n; s++) {
		if (db_exec(m, "INSERT IGNORE INTO streams (stream, head) VALUES (%d, 0)", s) < 0 ||
		    db_exec(m, "INSERT IGNORE INTO clocks (stream, done, done_us) VALUES (%d, 0, 0)", s) < 0)
			return -1;
	}
	return 0;
}

uint64_t queue_push_tx(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload)
{
	/* LAST_INSERT_ID(expr) hands the new head back to this connection only. */
	if (db_exec(m, "UPDATE streams SET head = LAST_INSERT_ID(head + 1) WHERE stream = %u", stream) != 1)
		return 0;
	uint64_t pos = mysql_insert_id(m);
	if (pos == 0)
		return 0;
	if (db_exec(m,
	            "INSERT INTO commands (stream, pos, db, kind, payload, created) "
	            "VALUES (%u, %llu, %Q, %Q, %Q, NOW(6))",
	            stream, (unsigned long long)pos, db, kind, payload) != 1)
		return 0;
	return pos;
}

uint64_t queue_push(MYSQL *m, uint32_t stream, const char *db, const char *kind, const char *payload)
{
	if (db_begin(m))
		return 0;
	uint64_t pos = queue_push_tx(m, stream, db, kind, payload);
	if (!pos || db_commit(m)) {
		db_rollback(m);
		return 0;
	}
	return pos;
}

/* Reads (stream, a[, b]) rows into clocks; positions 0 are left out (nothing yet). */
static int read_clocks(MYSQL_RES *res, struct clock *a, struct clock *b)
{
	if (!res)
		return -1;
	a->n = 0;
	if (b)
		b->n = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		uint32_t s = strtoul(row[0], NULL, 10);
		uint64_t x = strtoull(row[1], NULL, 10);
		if (x)
			clock_set(a, s, x);
		if (b) {
			uint64_t y = strtoull(row[2], NULL, 10);
			if (y)
				clock_set(b, s, y);
		}
	}
	mysql_free_result(res);
	return 0;
}

int queue_done(MYSQL *m, struct clock *done)
{
	return read_clocks(db_query(m, "SELECT stream, done FROM clocks"), done, NULL);
}

int queue_heads(MYSQL *m, struct clock *heads, struct clock *done)
{
	return read_clocks(
	    db_query(m, "SELECT s.stream, s.head, c.done FROM streams s JOIN clocks c USING (stream)"), heads,
	    done);
}
