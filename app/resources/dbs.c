/* dbs.c — databases (tenants): queueing a creation, and its applier. */
#include "resources/dbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/isotime.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "resources/apply.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/streams.h"

int dbs_enqueue_create(MYSQL *m, struct queue_req *r, const char *label, char id[ID_LEN + 1], uint64_t *pos)
{
	char created[32];
	*pos = 0;
	id_next(id);
	snprintf(created, sizeof created, "%s", isotime_text(time(NULL)));
	/* Databases go to the stream with the fewest (the streams are the
	 * database's, store/streams.c) and keep theirs for life. */
	long long stream = streams_pick(m);
	if (stream < 2)
		return QUEUE_FAILED;
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "label", json_object_new_string(label));
	json_object_object_add(cmd, "stream", json_object_new_int64(stream));
	json_object_object_add(cmd, "created", json_object_new_string(created));
	if (r) {
		size_t n = strlen(id) + 16;
		free(r->head);
		r->head = xmalloc(n);
		snprintf(r->head, n, "\"id\":\"%s\",", id);
	}
	int e = queue_push(m, r, QUEUE_SERVER_STREAM, NULL, "db.create", json_text(cmd), pos);
	json_object_put(cmd);
	return e;
}

int dbs_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	(void)db;
	const char *id = json_get_string(payload, "id"), *label = json_get_string(payload, "label"),
	           *created = json_get_string(payload, "created");
	json_object *sj;
	if (!id || !label || !created || !json_object_object_get_ex(payload, "stream", &sj)) {
		snprintf(reason, size, "Malformed db.create command");
		return APPLY_FAILED;
	}
	long long stream = json_object_get_int64(sj);
	/* The stream was picked among those of the streams table, and streams are
	 * never removed: a command naming another one is malformed. */
	long long have = db_value(m, "SELECT COUNT(*) FROM streams WHERE stream = %lld", stream);
	if (have < 0)
		return APPLY_ERROR;
	if (have == 0 || stream < 2) {
		snprintf(reason, size, "Stream %lld, named by db.create, does not exist", stream);
		return APPLY_FAILED;
	}
	long long r = db_exec(m,
	                      "INSERT IGNORE INTO dbs (id, label, created, stream) VALUES (%Q, %Q, " ISOTIME_SQL_IN
	                      ", %lld)",
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
