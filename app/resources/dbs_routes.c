/* dbs_routes.c — the server-level routes: version, status, test auth, databases, /sync. */
#include "resources/dbs_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/isotime.h"
#include "core/xalloc.h"
#include "fcgi/lag.h"
#include "fcgi/poll.h"
#include "fcgi/retry.h"
#include "fcgi/router.h"
#include "fcgi/validate.h"
#include "resources/dbs.h"
#include "resources/rows.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/reader.h"
#include "store/status.h"
#include "store/tokens.h"

int version_get(struct req *rq, struct reply *rp)
{
	(void)rq;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(RUNORG_VERSION));
	return reply_json(rp, 200, o);
}

/* A stream is leased when a processor holds its named lock (processor/main.c). */
static json_object *processor_info(MYSQL *m)
{
	json_object *o = json_object_new_object();
	long long leased =
	    db_value(m, "SELECT COUNT(*) FROM streams WHERE IS_USED_LOCK(CONCAT('runorg.stream.', stream)) "
	                "IS NOT NULL");
	long long last = db_value(m, "SELECT MAX(done_us) FROM clocks");
	json_object_object_add(o, "leased_streams", json_object_new_int64(leased < 0 ? 0 : leased));
	json_object_object_add(o, "last_applied", last > 0 ? json_str(isotime_text(last / 1000000)) : NULL);
	uint64_t polls, waits;
	poll_stats(&polls, &waits);
	json_object_object_add(o, "watcher_polls", json_object_new_int64((int64_t)polls));
	json_object_object_add(o, "watcher_waits", json_object_new_int64((int64_t)waits));
	json_object_object_add(o, "hints_heard", json_object_new_int64((int64_t)poll_hints_heard()));
	json_object_object_add(o, "watcher_polls_all", json_object_new_int64((int64_t)poll_polls_all()));
	return o;
}

/* This front's read server: where its reads go and, for a replica, how far
 * behind it is (fcgi/lag.c) and what it says of its replication (null when
 * it will not say: SHOW SLAVE STATUS needs the SLAVE MONITOR privilege). */
static json_object *read_info(struct req *rq)
{
	json_object *o = json_object_new_object();
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	char front[300];
	snprintf(front, sizeof front, "%s:%d", host, (int)getpid()); /* the worker that answered */
	json_object_object_add(o, "front", json_object_new_string(front));
	lag_status(o);
	if (!db_read_separate())
		return o;
	struct reader_replication r;
	json_object *rep = NULL;
	if (rq->m_replica && reader_replication(rq->m, &r) == 1) {
		rep = json_object_new_object();
		json_object_object_add(rep, "io_running", json_object_new_boolean(r.io_running));
		json_object_object_add(rep, "sql_running", json_object_new_boolean(r.sql_running));
		json_object_object_add(rep, "seconds_behind_master",
		                       r.seconds_behind < 0 ? NULL : json_object_new_int64(r.seconds_behind));
		json_object_object_add(rep, "gtid_io_pos", json_object_new_string(r.gtid_pos));
		json_object_object_add(rep, "last_error", json_object_new_string(r.error));
	}
	json_object_object_add(o, "replication", rep);
	return o;
}

/* The per-stream and per-processor parts are store/status.c's, shared with
 * runorgctl; they come from the primary (heads and leases are its alone).
 * Like every request it has a deadline (a brief one, R_BRIEF): a hung
 * MariaDB makes it a 503, never a hang. */
int status_get(struct req *rq, struct reply *rp)
{
	MYSQL *pm = req_primary(rq);
	json_object *streams = pm ? status_streams(pm) : NULL;
	json_object *processors = streams ? status_processors(pm) : NULL;
	json_object *database = processors ? status_database(pm, db_disk_full()) : NULL;
	if (!database) {
		json_object_put(streams);
		json_object_put(processors);
		return reply_internal(rp, "status");
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(RUNORG_VERSION));
	json_object_object_add(o, "streams", streams);
	json_object_object_add(o, "processor", processor_info(pm));
	json_object_object_add(o, "processors", processors);
	json_object_object_add(o, "database", database);
	json_object_object_add(o, "read", read_info(rq));
	return reply_json(rp, 200, o);
}

int test_auth(struct req *rq, struct reply *rp)
{
	char token[TOKEN_LEN + 1];
	if (tokens_new(rq->m, NULL, NULL, token))
		return reply_internal(rp, "token");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "email", json_object_new_string("test@runorg.com"));
	return reply_json(rp, 200, o);
}

/* Test mode: {"drop": true} makes every worker of this runorg-fcgi ignore
 * hints (the clock poll alone serves), {"drop": false} undoes it. */
int test_hints(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"drop", NULL};
	bool drop = false;
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = validate_bool(rq->json, "drop", &drop, rp);
	if (st)
		return st;
	poll_drop_hints(drop);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "drop", json_object_new_boolean(drop));
	json_object_object_add(o, "hints_heard", json_object_new_int64((int64_t)poll_hints_heard()));
	return reply_json(rp, 200, o);
}

int db_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"label", NULL};
	char *label = NULL;
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = validate_label(rq->json, "label", "body.label", true, &label, rp);
	if (st)
		return st;
	char id[ID_LEN + 1];
	uint64_t pos;
	int e = dbs_enqueue_create(rq->m, &rq->push, label, id, &pos);
	free(label);
	return retry_accepted(rq, rp, e, "enqueue db.create");
}

int db_all(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 100, 10000, &limit, &offset, rp);
	if (st)
		return st;
	long long count;
	MYSQL_RES *res =
	    rows_page(rq->m, "id, label, " ISOTIME_SQL_OUT("created"), "dbs", NULL, limit, offset, &count);
	if (!res)
		return reply_internal(rp, "db list");
	json_object *list = json_object_new_array();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "id", json_object_new_string(row[0]));
		json_object_object_add(d, "label", json_object_new_string(row[1]));
		json_object_object_add(d, "created", json_object_new_string(row[2]));
		json_object_array_add(list, d);
	}
	mysql_free_result(res);
	return reply_list(rp, "list", list, count);
}

/* Every command of the database queued before this request: the head of its
 * stream now, waited for like any at= (the router waits, then calls again). */
int db_sync(struct req *rq, struct reply *rp)
{
	if (!rq->waited) {
		/* The primary's head: a replica's may not have every command queued yet. */
		MYSQL *pm = req_primary(rq);
		long long head =
		    pm ? db_value(pm, "SELECT head FROM streams WHERE stream = %u", rq->stream) : -1;
		if (head < 0)
			return reply_internal(rp, "stream head");
		rq->wait_for = xcalloc(1, sizeof *rq->wait_for);
		if (head > 0)
			clock_set(rq->wait_for, rq->stream, (uint64_t)head);
		return ROUTE_WAIT;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "at", clock_to_json(rq->wait_for));
	return reply_json(rp, 200, o);
}
