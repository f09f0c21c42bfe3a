/* groups.c — groups and the admin group: create, add, remove, read, delete; and their appliers.
 *
 * Who may write: creating, changing and deleting groups is running the database, so it takes a
 * member of group admin or a server administrator (403 otherwise). Otherwise any contact could
 * add itself to admin, or to a group that opens conversations to it. Any valid token may read.
 *
 * Member counts: `groups.count` is recomputed from group_members by every applier that changes
 * memberships. A database's commands are applied one at a time by its stream's thread, inside
 * the apply transaction, so the count is exact whatever the concurrency of the requests. */
#include "resources/groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "fcgi/auth.h"
#include "resources/common.h"
#include "resources/contacts.h"
#include "store/db.h"
#include "store/queue.h"

/* A group id as it can appear in a path: generated (11 chars) or custom (1..10). */
static bool group_id_valid(const char *id)
{
	return id && (id_valid(id) || id_custom_valid(id));
}

/* 1 when the group exists in the projection, 0 when not, -1 when the database fails. */
static int group_exists(MYSQL *m, const char *db, const char *id)
{
	if (!group_id_valid(id))
		return 0;
	long long n = db_value(m, "SELECT COUNT(*) FROM `groups` WHERE db = %Q AND id = %Q", db, id);
	return n < 0 ? -1 : n > 0;
}

/* The {id} of the route: 0 when the group exists, else 404 (or 500) with the reply filled. */
static int group_found(struct req *rq, struct reply *rp, const char **id)
{
	*id = req_param(rq, "id");
	int e = group_exists(rq->m, rq->db, *id);
	if (e < 0)
		return reply_internal(rp, "group lookup");
	if (!e)
		return reply_error(rp, 404, "Group '%.64s' does not exist", *id ? *id : "");
	return 0;
}

static int need_admin(struct req *rq, struct reply *rp)
{
	if (auth_is_admin(rq))
		return 0;
	return reply_error(rp, 403, "Only members of group admin may change groups");
}

/* Queues one command of this database and answers 202 {"at"} (plus "id" when given). */
static int enqueue(struct req *rq, struct reply *rp, const char *kind, json_object *cmd, const char *id)
{
	uint64_t pos = queue_push(rq->m, rq->stream, rq->db, kind, json_text(cmd));
	json_object_put(cmd);
	if (!pos)
		return reply_internal(rp, kind);
	json_object *o = json_object_new_object();
	if (id)
		json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "at", at_json(rq->stream, pos));
	return reply_json(rp, 202, o);
}

/* ---- Create ---- */

int groups_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"id", "label", NULL};
	int st = need_admin(rq, rp);
	if (!st)
		st = body_object(rq, rp, fields);
	if (st)
		return st;
	char id[ID_LEN + 1] = "";
	json_object *v = NULL;
	if (json_object_object_get_ex(rq->json, "id", &v) && v) {
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!s || !id_custom_valid(s))
			return reply_invalid(rp, "body.id", "expected 1 to 10 characters [0-9A-Za-z]",
			                     "Invalid group id");
		snprintf(id, sizeof id, "%s", s);
	}
	char *label = NULL;
	if ((st = body_label(rq->json, "label", "body.label", false, &label, rp)))
		return st;
	if (id[0]) {
		/* Checked here for a clear answer, and again by the applier: another request may
		 * take the id between this check and the apply. */
		int e = strcmp(id, GROUP_ADMIN) ? group_exists(rq->m, rq->db, id) : 1;
		if (e) {
			free(label);
			return e < 0 ? reply_internal(rp, "group lookup")
			             : reply_error(rp, 409, "Group '%s' already exists", id);
		}
	} else {
		id_next(id);
	}
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "label", json_str(label));
	free(label);
	return enqueue(rq, rp, "groups.create", cmd, id);
}

/* ---- Add, remove ---- */

/* The contact ids of the body, an array of strings, without repeats (first occurrence kept).
 * `strict`: an id that cannot exist is named in a 404 (add); else it is dropped (remove). */
static int body_contacts(struct req *rq, struct reply *rp, bool strict, json_object **out)
{
	*out = NULL;
	if (!rq->json || !json_object_is_type(rq->json, json_type_array))
		return reply_invalid(rp, "body", "expected an array of contact ids", "Invalid body");
	size_t n = json_object_array_length(rq->json);
	json_object *ids = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(rq->json, i);
		if (!json_object_is_type(v, json_type_string)) {
			char at[32];
			snprintf(at, sizeof at, "body[%zu]", i);
			json_object_put(ids);
			return reply_invalid(rp, at, "expected a contact id", "Invalid contact id");
		}
		const char *s = json_object_get_string(v);
		if (!id_valid(s)) {
			if (!strict)
				continue;
			json_object_put(ids);
			return reply_error(rp, 404, "Contact '%.64s' does not exist", s);
		}
		bool seen = false;
		size_t k = json_object_array_length(ids);
		for (size_t j = 0; j < k && !seen; j++)
			seen = !strcmp(s, json_object_get_string(json_object_array_get_idx(ids, j)));
		if (!seen)
			json_object_array_add(ids, json_object_new_string(s));
	}
	*out = ids;
	return 0;
}

/* "('a','b',...)" for the strings of a non-empty array, escaped; malloc'd. */
static char *quote_ids(MYSQL *m, json_object *ids)
{
	int n = (int)json_object_array_length(ids);
	const char **v = malloc((size_t)n * sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = json_object_get_string(json_object_array_get_idx(ids, i));
	char *in = db_quote_list(m, v, n);
	free(v);
	return in;
}

/* 0 when every contact exists; else 404 naming the first missing one (in body order). */
static int contacts_exist(struct req *rq, struct reply *rp, json_object *ids)
{
	size_t n = json_object_array_length(ids);
	if (n == 0)
		return 0;
	char *in = quote_ids(rq->m, ids);
	MYSQL_RES *res = db_query(rq->m, "SELECT id FROM contacts WHERE db = %Q AND id IN %s", rq->db, in);
	free(in);
	if (!res)
		return reply_internal(rp, "contact lookup");
	bool *found = calloc(n, sizeof *found);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		for (size_t i = 0; i < n; i++)
			if (!strcmp(row[0], json_object_get_string(json_object_array_get_idx(ids, i))))
				found[i] = true;
	mysql_free_result(res);
	int st = 0;
	for (size_t i = 0; i < n && !st; i++)
		if (!found[i])
			st = reply_error(rp, 404, "Contact '%s' does not exist",
			                 json_object_get_string(json_object_array_get_idx(ids, i)));
	free(found);
	return st;
}

static int change_members(struct req *rq, struct reply *rp, bool add)
{
	const char *id;
	json_object *ids = NULL;
	int st = need_admin(rq, rp);
	if (!st)
		st = body_contacts(rq, rp, add, &ids);
	if (!st)
		st = group_found(rq, rp, &id);
	if (!st && add)
		st = contacts_exist(rq, rp, ids);
	if (st) {
		if (ids)
			json_object_put(ids);
		return st;
	}
	if (json_object_array_length(ids) == 0) {
		/* Nothing to change: nothing to wait for. */
		json_object_put(ids);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "at", json_object_new_array());
		return reply_json(rp, 202, o);
	}
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "contacts", ids);
	return enqueue(rq, rp, add ? "groups.add" : "groups.remove", cmd, NULL);
}

int group_add(struct req *rq, struct reply *rp)
{
	return change_members(rq, rp, true);
}

int group_remove(struct req *rq, struct reply *rp)
{
	return change_members(rq, rp, false);
}

/* ---- Delete ---- */

int group_delete(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	int st = need_admin(rq, rp);
	if (!st && !strcmp(id, GROUP_ADMIN))
		st = reply_error(rp, 403, "Group admin cannot be deleted");
	if (!st)
		st = group_found(rq, rp, &id);
	if (st)
		return st;
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	return enqueue(rq, rp, "groups.delete", cmd, NULL);
}

/* ---- Reads ---- */

/* <groupinfo> from a row (id, label, count). */
static json_object *group_info_json(MYSQL_ROW row)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(row[0]));
	json_object_object_add(o, "label", json_str(row[1]));
	json_object_object_add(o, "count", json_object_new_int64(atoll(row[2])));
	return o;
}

int group_info(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	if (!group_id_valid(id))
		return reply_error(rp, 404, "Group '%.64s' does not exist", id ? id : "");
	MYSQL_RES *res =
	    db_query(rq->m, "SELECT id, label, count FROM `groups` WHERE db = %Q AND id = %Q", rq->db, id);
	if (!res)
		return reply_internal(rp, "group info");
	MYSQL_ROW row = mysql_fetch_row(res);
	int st = row ? reply_json(rp, 200, group_info_json(row))
	             : reply_error(rp, 404, "Group '%s' does not exist", id);
	mysql_free_result(res);
	return st;
}

int group_members(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 1000, 10000, &limit, &offset, rp);
	if (st)
		return st;
	const char *id = req_param(rq, "id");
	if (!group_id_valid(id))
		return reply_error(rp, 404, "Group '%.64s' does not exist", id ? id : "");
	/* One snapshot for the count and the page, so they agree even while an add commits. */
	if (db_exec(rq->m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") < 0)
		return reply_internal(rp, "group members");
	long long count = db_value(rq->m, "SELECT count FROM `groups` WHERE db = %Q AND id = %Q", rq->db, id);
	MYSQL_RES *res = NULL;
	if (count >= 0)
		res = db_query(rq->m,
		               "SELECT c.id, c.name, c.gender, c.pic FROM group_members g JOIN contacts c "
		               "ON c.db = g.db AND c.id = g.contact WHERE g.db = %Q AND g.grp = %Q "
		               "ORDER BY g.contact LIMIT %lld OFFSET %lld",
		               rq->db, id, (long long)limit, (long long)offset);
	db_commit(rq->m);
	if (count == -2) /* db_value: no row */
		return reply_error(rp, 404, "Group '%s' does not exist", id);
	if (!res)
		return reply_internal(rp, "group members");
	json_object *list = contact_short_list(res);
	return reply_list(rp, "list", list, count);
}

json_object *group_info_list(MYSQL *m, const char *db, json_object *ids)
{
	size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
	const char **v = malloc((n ? n : 1) * sizeof *v);
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(ids, i);
		if (json_object_is_type(s, json_type_string) && group_id_valid(json_object_get_string(s)))
			v[k++] = json_object_get_string(s);
	}
	json_object *out = rows_in_order(
	    m, "SELECT id, label, count FROM `groups` WHERE db = %Q AND id IN %s", db, v, k, group_info_json);
	free(v);
	return out;
}

/* ---- Appliers (run by the processor inside the apply transaction) ---- */

/* The group's count from its memberships, in the apply transaction. */
static int recount(MYSQL *m, const char *db, const char *id)
{
	return db_exec(m,
	               "UPDATE `groups` SET count = (SELECT COUNT(*) FROM group_members WHERE db = %Q AND "
	               "grp = %Q) WHERE db = %Q AND id = %Q",
	               db, id, db, id) < 0
	           ? APPLY_ERROR
	           : APPLY_OK;
}

int groups_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id"), *label = json_get_string(payload, "label");
	if (!id || !group_id_valid(id)) {
		snprintf(reason, size, "malformed groups.create command");
		return APPLY_FAILED;
	}
	long long r = strcmp(id, GROUP_ADMIN) ? db_exec(m,
	                                                "INSERT IGNORE INTO `groups` (db, id, label, count) "
	                                                "VALUES (%Q, %Q, %Q, 0)",
	                                                db, id, label)
	                                      : 0;
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Group '%s' already exists", id);
		return APPLY_FAILED;
	}
	/* A deleted group left no memberships, but be sure a re-created one starts empty. */
	if (db_exec(m, "DELETE FROM group_members WHERE db = %Q AND grp = %Q", db, id) < 0)
		return APPLY_ERROR;
	return APPLY_OK;
}

/* The group id and contact list of an add/remove; FAILED when malformed or the group is gone. */
static int members_command(MYSQL *m, const char *db, json_object *payload, const char **id, char **in,
                           char *reason, size_t size)
{
	json_object *list;
	*id = json_get_string(payload, "id");
	*in = NULL;
	if (!*id || !json_object_object_get_ex(payload, "contacts", &list) ||
	    !json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0) {
		snprintf(reason, size, "malformed groups membership command");
		return APPLY_FAILED;
	}
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(list, i), json_type_string)) {
			snprintf(reason, size, "malformed groups membership command");
			return APPLY_FAILED;
		}
	int e = group_exists(m, db, *id);
	if (e < 0)
		return APPLY_ERROR;
	if (!e) {
		snprintf(reason, size, "Group '%s' does not exist", *id);
		return APPLY_FAILED;
	}
	*in = quote_ids(m, list);
	return APPLY_OK;
}

int groups_apply_add(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id;
	char *in;
	int r = members_command(m, db, payload, &id, &in, reason, size);
	if (r != APPLY_OK)
		return r;
	/* Only contacts that exist become members (they were checked when the request came). */
	long long n = db_exec(m,
	                      "INSERT IGNORE INTO group_members (db, grp, contact) SELECT db, %Q, id FROM "
	                      "contacts WHERE db = %Q AND id IN %s",
	                      id, db, in);
	free(in);
	return n < 0 ? APPLY_ERROR : recount(m, db, id);
}

int groups_apply_remove(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id;
	char *in;
	int r = members_command(m, db, payload, &id, &in, reason, size);
	if (r != APPLY_OK)
		return r;
	long long n =
	    db_exec(m, "DELETE FROM group_members WHERE db = %Q AND grp = %Q AND contact IN %s", db, id, in);
	free(in);
	return n < 0 ? APPLY_ERROR : recount(m, db, id);
}

int groups_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id");
	if (!id || !strcmp(id, GROUP_ADMIN)) {
		snprintf(reason, size, "malformed groups.delete command");
		return APPLY_FAILED;
	}
	long long r = db_exec(m, "DELETE FROM `groups` WHERE db = %Q AND id = %Q", db, id);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Group '%s' does not exist", id);
		return APPLY_FAILED;
	}
	return db_exec(m, "DELETE FROM group_members WHERE db = %Q AND grp = %Q", db, id) < 0 ? APPLY_ERROR
	                                                                                      : APPLY_OK;
}
