/* groups_routes.c — the routes of groups: create, add, remove, read, delete.
 *
 * Who may write: creating, changing and deleting groups is running the database, so it takes a
 * member of group admin or a server administrator (403 otherwise). Otherwise any contact could
 * add itself to admin, or to a group that opens conversations to it. Any valid token may read. */
#include "resources/groups_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "fcgi/auth.h"
#include "fcgi/retry.h"
#include "fcgi/validate.h"
#include "resources/contacts.h"
#include "resources/groups.h"
#include "store/db.h"
#include "store/queue.h"

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

/* Queues one command of this database (none when cmd is NULL: nothing to change) and
 * answers 202 {"at"} (plus "id" when given), with its Location. */
static int enqueue(struct req *rq, struct reply *rp, const char *kind, json_object *cmd, const char *id)
{
	json_object *head = NULL;
	if (id) {
		head = json_object_new_object();
		json_object_object_add(head, "id", json_object_new_string(id));
	}
	retry_head(rq, head);
	uint64_t pos;
	int e = queue_push(rq->m, &rq->push, rq->stream, rq->db, kind, cmd ? json_text(cmd) : NULL, &pos);
	if (cmd)
		json_object_put(cmd);
	return retry_accepted(rq, rp, e, kind);
}

/* ---- Create ---- */

int groups_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"id", "label", NULL};
	int st = need_admin(rq, rp);
	if (!st)
		st = validate_body_object(rq, rp, fields);
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
	if ((st = validate_label(rq->json, "label", "body.label", false, &label, rp)))
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
	const char *id;
	json_object *ids = NULL;
	int st = need_admin(rq, rp);
	if (!st)
		st = body_contacts(rq, rp, add, &ids);
	if (!st)
		st = group_found(rq, rp, &id);
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
		return enqueue(rq, rp, add ? "groups.add" : "groups.remove", NULL, NULL);
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

int group_info(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	if (!id_group_valid(id))
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
	if (!id_group_valid(id))
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

