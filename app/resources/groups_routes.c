/* groups_routes.c — the routes of groups: create, update, add, remove, read, list, delete.
 *
 * Who may do what (SPEC §5): creating a group is running the database, so it takes a member of
 * group admin or a server administrator (403 otherwise). Everything else follows the group's
 * audiences: view its info, list its members, moderate (add, remove), admin (update, delete);
 * members of admin and server administrators have every level. A group the caller may not
 * view is answered as a missing one (404), a level it lacks with 403. */
#include "resources/groups_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "fcgi/access.h"
#include "fcgi/auth.h"
#include "fcgi/retry.h"
#include "fcgi/validate.h"
#include "resources/audience.h"
#include "resources/contacts.h"
#include "resources/groups.h"
#include "store/db.h"

static int need_admin(struct req *rq, struct reply *rp)
{
	if (auth_is_admin(rq))
		return 0;
	return reply_error(rp, 403, "Only members of group admin may change groups");
}

/* ---- Create ---- */

int groups_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"id", "label", "audience", NULL};
	int st = need_admin(rq, rp);
	if (!st)
		st = validate_body_object(rq, rp, fields);
	if (st)
		return st;
	char id[ID_LEN + 1] = "";
	json_object *v = NULL;
	if (json_object_object_get_ex(rq->json, "id", &v) && v) {
		const char *s = validate_plain(v);
		if (!s || !id_custom_valid(s))
			return reply_invalid(rp, "body.id", "expected 1 to 10 characters [0-9A-Za-z]",
			                     "Invalid group id");
		snprintf(id, sizeof id, "%s", s);
	}
	char *label = NULL;
	json_object *audience = NULL;
	if ((st = validate_label(rq->json, "label", "body.label", false, &label, rp)))
		return st;
	if ((st = validate_audience(rq->json, "audience", "body.audience", AUDIENCE_GROUP, &audience, rp))) {
		free(label);
		return st;
	}
	if (id[0]) {
		/* Checked here for a clear answer, and again by the applier: another request may
		 * take the id between this check and the apply. */
		int e = strcmp(id, GROUP_ADMIN) ? group_exists(rq->m, rq->db, id) : 1;
		if (e) {
			free(label);
			json_object_put(audience);
			return e < 0 ? reply_internal(rp, "group lookup")
			             : reply_error(rp, 409, "Group '%s' already exists", id);
		}
	} else {
		id_next(id);
	}
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "label", json_str(label));
	if (audience)
		json_object_object_add(cmd, "audience", audience);
	free(label);
	return retry_enqueue(rq, rp, "groups.create", cmd, id);
}

/* ---- Update: label and audience ---- */

int group_update(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"label", "audience", NULL};
	const char *id = req_param(rq, "id");
	int st = validate_body_object(rq, rp, fields);
	if (st)
		return st;
	char *label = NULL;
	json_object *audience = NULL;
	bool has_label = json_object_object_get_ex(rq->json, "label", NULL);
	if ((st = validate_label(rq->json, "label", "body.label", false, &label, rp)) ||
	    (st = validate_audience(rq->json, "audience", "body.audience", AUDIENCE_GROUP, &audience, rp)) ||
	    (st = access_require(rq, rp, AUDIENCE_GROUP, id, GROUP_CAN_ADMIN, NULL, NULL))) {
		free(label);
		json_object_put(audience);
		return st;
	}
	if (!has_label && !audience) /* nothing to change: nothing to wait for ("at": []) */
		return retry_enqueue(rq, rp, "groups.update", NULL, NULL);
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	if (has_label)
		json_object_object_add(cmd, "label", json_str(label));
	if (audience)
		json_object_object_add(cmd, "audience", audience);
	free(label);
	return retry_enqueue(rq, rp, "groups.update", cmd, NULL);
}

/* ---- Add, remove ---- */

/* Any string: group add and remove decide themselves what an id that cannot exist means. */
static bool any_id(const char *s)
{
	(void)s;
	return true;
}

/* The contact ids of the body, an array of at most GROUP_CHANGE_MAX strings, without repeats
 * (first occurrence kept). `strict`: an id that cannot exist is named in a 404 (add); else it
 * is dropped (remove). */
static int body_contacts(struct req *rq, struct reply *rp, bool strict, json_object **out)
{
	json_object *all;
	*out = NULL;
	int st = validate_id_array(rq->json, NULL, "body", any_id, GROUP_CHANGE_MAX, &all, rp);
	if (st)
		return st;
	*out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(all) && !st; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(all, i));
		if (id_valid(s))
			json_object_array_add(*out, json_object_new_string(s));
		else if (strict)
			st = reply_error(rp, 404, "Contact '%.64s' does not exist", s);
	}
	json_object_put(all);
	if (st) {
		json_object_put(*out);
		*out = NULL;
	}
	return st;
}

static int change_members(struct req *rq, struct reply *rp, bool add)
{
	const char *id = req_param(rq, "id");
	json_object *ids = NULL;
	/* The body first (it says nothing about the group), then who asks. */
	int st = body_contacts(rq, rp, add, &ids);
	if (!st)
		st = access_require(rq, rp, AUDIENCE_GROUP, id, GROUP_CAN_MODERATE, NULL, NULL);
	if (!st && add)
		st = validate_contacts_exist(rq, rp, ids);
	if (st) {
		if (ids)
			json_object_put(ids);
		return st;
	}
	if (json_object_array_length(ids) == 0) {
		/* Nothing to change: nothing to wait for ("at": []). */
		json_object_put(ids);
		return retry_enqueue(rq, rp, add ? "groups.add" : "groups.remove", NULL, NULL);
	}
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "contacts", ids);
	return retry_enqueue(rq, rp, add ? "groups.add" : "groups.remove", cmd, NULL);
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
	int st = access_require(rq, rp, AUDIENCE_GROUP, id, GROUP_CAN_ADMIN, NULL, NULL);
	if (!st && !strcmp(id, GROUP_ADMIN))
		st = reply_error(rp, 403, "Group admin cannot be deleted");
	if (st)
		return st;
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	return retry_enqueue(rq, rp, "groups.delete", cmd, NULL);
}

/* ---- Reads ---- */

/* <groupinfo> with "access": the caller's levels, highest first. */
static json_object *info_with_access(MYSQL_ROW row, int level)
{
	json_object *o = group_info_json(row);
	json_object_object_add(o, "access", audience_access_json(AUDIENCE_GROUP, level));
	return o;
}

int group_info(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	int level;
	int st = access_require(rq, rp, AUDIENCE_GROUP, id, GROUP_CAN_VIEW, &level, NULL);
	if (st)
		return st;
	MYSQL_RES *res =
	    db_query(rq->m, "SELECT id, label, count FROM `groups` WHERE db = %Q AND id = %Q", rq->db, id);
	if (!res)
		return reply_internal(rp, "group info");
	MYSQL_ROW row = mysql_fetch_row(res);
	st = row ? reply_json(rp, 200, info_with_access(row, level)) : access_missing(rp, AUDIENCE_GROUP, id);
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
	if ((st = access_require(rq, rp, AUDIENCE_GROUP, id, GROUP_CAN_LIST, NULL, NULL)))
		return st;
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
		return access_missing(rp, AUDIENCE_GROUP, id);
	if (!res)
		return reply_internal(rp, "group members");
	json_object *list = contact_short_list(res);
	return reply_list(rp, "list", list, count);
}

int groups_list(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 100, 1000, &limit, &offset, rp);
	if (st)
		return st;
	/* One query: the groups the caller may view (audience_visible_sql), a page of
	 * them in creation order, and their number on every row. */
	char *visible = access_visible_sql(rq, AUDIENCE_GROUP);
	MYSQL_RES *res = db_query(rq->m,
	                          "SELECT STRAIGHT_JOIN g.id, g.label, g.count, v.level, COUNT(*) OVER () "
	                          "FROM %s v JOIN `groups` g "
	                          "ON g.db = %Q AND g.id = v.rid ORDER BY g.seq LIMIT %lld OFFSET %lld",
	                          visible, rq->db, (long long)limit, (long long)offset);
	json_object *list = json_object_new_array();
	long long count = -1;
	MYSQL_ROW row;
	while (res && (row = mysql_fetch_row(res))) {
		json_object_array_add(list, info_with_access(row, atoi(row[3])));
		count = atoll(row[4]);
	}
	if (res)
		mysql_free_result(res);
	if (res && count < 0) /* an empty page (limit=0, or past the end) has no row to carry the count */
		count =
		    db_value(rq->m, "SELECT COUNT(*) FROM %s v JOIN `groups` g ON g.db = %Q AND g.id = v.rid",
		             visible, rq->db);
	free(visible);
	if (!res || count < 0) {
		json_object_put(list);
		return reply_internal(rp, "group list");
	}
	return reply_list(rp, "list", list, count);
}
