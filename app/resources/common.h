/* common.h — what every resource module uses: body checks, clocks in replies, lists, appliers' results. */
#ifndef RUNORG_COMMON_H
#define RUNORG_COMMON_H

#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* What an applier returns to the processor. */
enum apply_result {
	APPLY_OK = 0,     /* applied; commit with the clock bump */
	APPLY_FAILED = 1, /* cannot be applied (reason filled): recorded as failed, clock still advances */
	APPLY_ERROR = -1, /* the database failed: roll back, retry later */
};

/* 400 unless the body is a JSON object whose keys are all in `fields` (NULL-terminated).
 * A missing body counts as {}. */
int body_object(struct req *rq, struct reply *rp, const char *const *fields);

/* Reads field `key` of obj as a clean label into *out (malloc'd, NULL when
 * absent or null and !required). `at` names the field in errors. */
int body_label(json_object *obj, const char *key, const char *at, bool required, char **out,
               struct reply *rp);

/* String member or NULL. */
const char *json_get_string(json_object *obj, const char *key);

/* [[stream, pos]] */
json_object *at_json(uint32_t stream, uint64_t pos);

/* 200 {"<key>": list, "count": count} */
int reply_list(struct reply *rp, const char *key, json_object *list, long long count);

/* Runs `select_sql`, a db_query format with %Q for the database and %s for
 * the list of ids ("... WHERE db = %Q AND id IN %s", first column the id),
 * and returns make(row) for each of the n ids that has a row, in the order of
 * ids (rows come back in any order). NULL when the database fails. */
json_object *rows_in_order(MYSQL *m, const char *select_sql, const char *db, const char *const *ids, int n,
                           json_object *(*make)(MYSQL_ROW row));

/* "2013-10-08T21:42:00Z" for a Unix time, in a thread-local buffer. */
const char *time_text(long long t);

#endif
