/* status.c — what an operator looks at: each stream's head, applied position, lag, failures and lease holder.
 *
 * Shared by GET /status and runorgctl status. Ages are computed by the
 * database from its own clock, never by comparing clocks of two hosts. */
#include "store/status.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/isotime.h"
#include "store/db.h"


static json_object *int_or_null(const char *v)
{
	return v ? json_object_new_int64(strtoll(v, NULL, 10)) : NULL;
}

static json_object *string_or_null(const char *v)
{
	return v ? json_object_new_string(v) : NULL;
}

/* Microseconds as seconds, printed with millisecond precision ("0.093", not 0.092999…). */
static json_object *seconds_or_null(const char *us)
{
	if (!us)
		return NULL;
	double v = (double)(strtoll(us, NULL, 10) / 1000) / 1000.0;
	char text[32];
	snprintf(text, sizeof text, "%.3f", v);
	return json_object_new_double_s(v, text);
}

json_object *status_streams(MYSQL *m)
{
	/* Per stream: the oldest command not applied is at done + 1 (a primary key
	 * look-up); failures come from the `failed` index; the lease holder is the
	 * connection that holds the named lock, matched with what it recorded. */
	MYSQL_RES *res = db_query(
	    m,
	    "SELECT s.stream, s.head, c.done, "
	    "(SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, q.created, NOW(6))) FROM commands q "
	    "WHERE q.stream = s.stream AND q.pos = c.done + 1), "
	    "(SELECT COUNT(*) FROM commands f WHERE f.status = 2 AND f.stream = s.stream), "
	    "h.holder, l.processor, " ISOTIME_SQL_OUT("p.heartbeat") ", "
	    "TIMESTAMPDIFF(MICROSECOND, p.heartbeat, UTC_TIMESTAMP(6)) "
	    "FROM streams s JOIN clocks c USING (stream) "
	    "JOIN (SELECT stream, IS_USED_LOCK(CONCAT('runorg.stream.', stream)) AS holder FROM streams) h "
	    "USING (stream) "
	    "LEFT JOIN leases l ON l.stream = s.stream AND l.conn = h.holder "
	    "LEFT JOIN processors p ON p.name = l.processor ORDER BY s.stream");
	if (!res)
		return NULL;
	json_object *list = json_object_new_array();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		long long head = atoll(row[1]), done = atoll(row[2]);
		json_object *s = json_object_new_object();
		json_object_object_add(s, "stream", json_object_new_int64(atoll(row[0])));
		json_object_object_add(s, "head", json_object_new_int64(head));
		json_object_object_add(s, "done", json_object_new_int64(done));
		json_object_object_add(s, "lag", json_object_new_int64(head > done ? head - done : 0));
		json_object_object_add(s, "applied", json_object_new_int64(done));
		json_object_object_add(s, "lag_seconds",
		                       seconds_or_null(head > done && row[3] ? row[3] : "0"));
		json_object_object_add(s, "failed", json_object_new_int64(atoll(row[4])));
		json_object *lease = NULL;
		if (row[5]) {
			lease = json_object_new_object();
			json_object_object_add(lease, "connection", int_or_null(row[5]));
			json_object_object_add(lease, "processor", string_or_null(row[6]));
			json_object_object_add(lease, "heartbeat", string_or_null(row[7]));
			json_object_object_add(lease, "heartbeat_age", seconds_or_null(row[8]));
		}
		json_object_object_add(s, "lease", lease);
		json_object_array_add(list, s);
	}
	mysql_free_result(res);
	return list;
}

json_object *status_processors(MYSQL *m)
{
	MYSQL_RES *res = db_query(
	    m, "SELECT name, host, pid, " ISOTIME_SQL_OUT("started") ", " ISOTIME_SQL_OUT(
	           "heartbeat") ", "
	                        "TIMESTAMPDIFF(MICROSECOND, heartbeat, UTC_TIMESTAMP(6)), problem FROM "
	                        "processors "
	                        "WHERE heartbeat > UTC_TIMESTAMP() - INTERVAL 1 DAY ORDER BY heartbeat DESC");
	if (!res)
		return NULL;
	json_object *list = json_object_new_array();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(row[0]));
		json_object_object_add(p, "host", json_object_new_string(row[1]));
		json_object_object_add(p, "pid", json_object_new_int64(atoll(row[2])));
		json_object_object_add(p, "started", string_or_null(row[3]));
		json_object_object_add(p, "heartbeat", string_or_null(row[4]));
		json_object_object_add(p, "heartbeat_age", seconds_or_null(row[5]));
		json_object_object_add(p, "problem", string_or_null(row[6]));
		json_object_array_add(list, p);
	}
	mysql_free_result(res);
	return list;
}

json_object *status_database(MYSQL *m, bool full)
{
	long long ro = db_value(m, "SELECT @@global.read_only OR @@global.innodb_read_only");
	long long reported = ro < 0
	                         ? -1
	                         : db_value(m, "SELECT COUNT(*) FROM processors WHERE problem = 'disk full' "
	                                       "AND heartbeat > UTC_TIMESTAMP(6) - INTERVAL 10 SECOND");
	if (reported < 0)
		return NULL;
	json_object *o = json_object_new_object();
	const char *state = ro > 0 ? "read-only" : full || reported > 0 ? "disk full" : "up";
	json_object_object_add(o, "state", json_object_new_string(state));
	return o;
}
