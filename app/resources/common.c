/* common.c — what every resource module uses: body checks, clocks in replies, lists, appliers' results. */
#include "resources/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/label.h"
#include "store/db.h"

int body_object(struct req *rq, struct reply *rp, const char *const *fields)
{
	if (!rq->json) {
		rq->json = json_object_new_object();
		return 0;
	}
	if (!json_object_is_type(rq->json, json_type_object))
		return reply_invalid(rp, "body", "expected a JSON object", "Invalid body");
	json_object_object_foreach(rq->json, key, val)
	{
		(void)val;
		bool known = false;
		for (int i = 0; fields[i] && !known; i++)
			known = !strcmp(fields[i], key);
		if (!known) {
			char at[96];
			snprintf(at, sizeof at, "body.%.80s", key);
			return reply_invalid(rp, at, "unknown field", "Unknown field '%.80s'", key);
		}
	}
	return 0;
}

int body_label(json_object *obj, const char *key, const char *at, bool required, char **out, struct reply *rp)
{
	json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (required)
			return reply_invalid(rp, at, "required", "Field '%s' is required", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return reply_invalid(rp, at, "expected a string", "Field '%s' must be a string", key);
	char err[128];
	if (label_clean(json_object_get_string(v), json_object_get_string_len(v), out, err, sizeof err))
		return reply_invalid(rp, at, NULL, "%s", err);
	return 0;
}

const char *json_get_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *at_json(uint32_t stream, uint64_t pos)
{
	struct clock c = {0};
	clock_set(&c, stream, pos);
	return clock_to_json(&c);
}

int reply_list(struct reply *rp, const char *key, json_object *list, long long count)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, key, list);
	json_object_object_add(o, "count", json_object_new_int64(count));
	return reply_json(rp, 200, o);
}

json_object *rows_in_order(MYSQL *m, const char *select_sql, const char *db, const char *const *ids, int n,
                           json_object *(*make)(MYSQL_ROW row))
{
	json_object *out = json_object_new_array();
	if (n == 0)
		return out;
	char *in = db_quote_list(m, ids, n);
	MYSQL_RES *res = db_query(m, select_sql, db, in);
	free(in);
	if (!res) {
		json_object_put(out);
		return NULL;
	}
	json_object *by_id = json_object_new_object();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		json_object_object_add(by_id, row[0], make(row));
	mysql_free_result(res);
	for (int i = 0; i < n; i++) {
		json_object *o;
		if (json_object_object_get_ex(by_id, ids[i], &o))
			json_object_array_add(out, json_object_get(o));
	}
	json_object_put(by_id);
	return out;
}

const char *time_text(long long t)
{
	static __thread char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
