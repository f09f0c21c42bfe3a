/* dbs.c — the server level: version, status, test auth, databases and /sync. */
#include "resources/dbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/id.h"
#include "core/label.h"
#include "fcgi/auth.h"
#include "fcgi/watcher.h"
#include "resources/common.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/status.h"

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
	json_object_object_add(o, "last_applied", last > 0 ? json_str(time_text(last / 1000000)) : NULL);
	uint64_t polls, waits;
	watcher_stats(&polls, &waits);
	json_object_object_add(o, "watcher_polls", json_object_new_int64((int64_t)polls));
	json_object_object_add(o, "watcher_waits", json_object_new_int64((int64_t)waits));
	return o;
}

/* The per-stream and per-processor parts are store/status.c's, shared with runorgctl. */
int status_get(struct req *rq, struct reply *rp)
{
	json_object *streams = status_streams(rq->m);
	json_object *processors = streams ? status_processors(rq->m) : NULL;
	if (!processors) {
		json_object_put(streams);
		return reply_internal(rp, "status");
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(RUNORG_VERSION));
	json_object_object_add(o, "streams", streams);
	json_object_object_add(o, "processor", processor_info(rq->m));
	json_object_object_add(o, "processors", processors);
	return reply_json(rp, 200, o);
}

int test_auth(struct req *rq, struct reply *rp)
{
	char token[AUTH_TOKEN_LEN + 1];
	if (auth_token_new(rq->m, NULL, NULL, token))
		return reply_internal(rp, "token");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "email", json_object_new_string("test@runorg.com"));
	return reply_json(rp, 200, o);
}

uint64_t dbs_enqueue_create(MYSQL *m, const char *label, char id[ID_LEN + 1])
{
	char created[32];
	id_next(id);
	snprintf(created, sizeof created, "%s", time_text(time(NULL)));
	/* Databases are spread over streams 2..streams+1 and keep theirs for life. */
	uint32_t stream = 2 + (uint32_t)(db_now_us() / 1000 % (uint64_t)cf.streams);
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "label", json_object_new_string(label));
	json_object_object_add(cmd, "stream", json_object_new_int64(stream));
	json_object_object_add(cmd, "created", json_object_new_string(created));
	uint64_t pos = queue_push(m, QUEUE_SERVER_STREAM, NULL, "db.create", json_text(cmd));
	json_object_put(cmd);
	return pos;
}

int db_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"label", NULL};
	char *label = NULL;
	int st = body_object(rq, rp, fields);
	if (!st)
		st = body_label(rq->json, "label", "body.label", true, &label, rp);
	if (st)
		return st;
	char id[ID_LEN + 1];
	uint64_t pos = dbs_enqueue_create(rq->m, label, id);
	free(label);
	if (!pos)
		return reply_internal(rp, "enqueue db.create");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "at", at_json(QUEUE_SERVER_STREAM, pos));
	return reply_json(rp, 202, o);
}

int db_all(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 100, 10000, &limit, &offset, rp);
	if (st)
		return st;
	long long count = db_value(rq->m, "SELECT COUNT(*) FROM dbs");
	MYSQL_RES *res =
	    db_query(rq->m,
	             "SELECT id, label, DATE_FORMAT(created, '%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM dbs "
	             "ORDER BY id LIMIT %lld OFFSET %lld",
	             (long long)limit, (long long)offset);
	if (!res || count < 0) {
		if (res)
			mysql_free_result(res);
		return reply_internal(rp, "db list");
	}
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

int db_sync(struct req *rq, struct reply *rp)
{
	long long head = db_value(rq->m, "SELECT head FROM streams WHERE stream = %u", rq->stream);
	if (head < 0)
		return reply_internal(rp, "stream head");
	struct clock want = {0};
	if (head > 0)
		clock_set(&want, rq->stream, (uint64_t)head);
	/* Nothing is read after this wait, so the connection goes back first. */
	db_release(rq->m, false);
	rq->m = NULL;
	uint64_t started = db_now_us();
	enum wait_result w = watcher_wait(&want, &rp->current);
	rq->wait_us = db_now_us() - started;
	if (w == WAIT_TIMEOUT) {
		rp->timeout = true;
		rp->expected = want;
		return reply_error(rp, 503,
		                   "Data is not yet available for the 'at' you specified. Try again later.");
	}
	if (w != WAIT_REACHED)
		return reply_internal(rp, "sync wait");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "at", clock_to_json(&want));
	return reply_json(rp, 200, o);
}

int dbs_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	(void)db;
	const char *id = json_get_string(payload, "id"), *label = json_get_string(payload, "label"),
	           *created = json_get_string(payload, "created");
	json_object *sj;
	if (!id || !label || !created || !json_object_object_get_ex(payload, "stream", &sj)) {
		snprintf(reason, size, "malformed db.create command");
		return APPLY_FAILED;
	}
	long long stream = json_object_get_int64(sj);
	/* The stream normally exists since start-up (migrate.c); a front configured
	 * with more streams than this processor needs it made. A plain read first:
	 * INSERT IGNORE would lock stream rows that enqueueing requests update. */
	long long have = db_value(m, "SELECT COUNT(*) FROM streams WHERE stream = %lld", stream);
	if (have < 0 || (have == 0 && queue_ensure_streams(m, (int)stream) < 0))
		return APPLY_ERROR;
	long long r = db_exec(m,
	                      "INSERT IGNORE INTO dbs (id, label, created, stream) VALUES (%Q, %Q, "
	                      "STR_TO_DATE(%Q, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), %lld)",
	                      id, label, created, stream);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Database %s already exists", id);
		return APPLY_FAILED;
	}
	return db_exec(m, "INSERT INTO `groups` (db, id, label, count) VALUES (%Q, 'admin', NULL, 0)", id) < 0
	           ? APPLY_ERROR
	           : APPLY_OK;
}
