/* groups.c — groups and the admin group: their projection (exists, info) and the appliers of their commands.
 *
 * Member counts: `groups.count` is recomputed from group_members by every applier that changes
 * memberships. A database's commands are applied one at a time by its stream's thread, inside
 * the apply transaction, so the count is exact whatever the concurrency of the requests. */
#include "resources/groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "resources/apply.h"
#include "resources/audience.h"
#include "resources/rows.h"
#include "store/db.h"

int group_exists(MYSQL *m, const char *db, const char *id)
{
	if (!id_group_valid(id))
		return 0;
	long long n = db_value(m, "SELECT COUNT(*) FROM `groups` WHERE db = %Q AND id = %Q", db, id);
	return n < 0 ? -1 : n > 0;
}

json_object *group_info_json(MYSQL_ROW row)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(row[0]));
	json_object_object_add(o, "label", json_str(row[1]));
	json_object_object_add(o, "count", json_object_new_int64(atoll(row[2])));
	return o;
}

json_object *group_info_list(MYSQL *m, const char *db, json_object *ids)
{
	size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
	const char **v = xmalloc((n ? n : 1) * sizeof *v);
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(ids, i);
		if (json_object_is_type(s, json_type_string) && id_group_valid(json_object_get_string(s)))
			v[k++] = json_object_get_string(s);
	}
	json_object *out = rows_in_order(
	    m, "SELECT id, label, count FROM `groups` WHERE db = %Q AND id IN %s", db, v, k, group_info_json);
	free(v);
	return out;
}

char *group_quote_ids(MYSQL *m, json_object *ids)
{
	int n = (int)json_object_array_length(ids);
	const char **v = xmalloc((size_t)(n ? n : 1) * sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = json_object_get_string(json_object_array_get_idx(ids, i));
	char *in = db_quote_list(m, v, n);
	free(v);
	return in;
}

int group_has_member(MYSQL *m, const char *db, const char *grp, const char *contact)
{
	long long n =
	    db_value(m, "SELECT COUNT(*) FROM group_members WHERE db = %Q AND grp = %Q AND contact = %Q", db,
	             grp, contact);
	return n < 0 ? -1 : n > 0;
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
	if (!id || !id_group_valid(id)) {
		snprintf(reason, size, "Malformed groups.create command");
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
		snprintf(reason, size, "Group '%s' was created by an earlier command: choose another id", id);
		return APPLY_FAILED;
	}
	/* A deleted group left no memberships nor audience, but be sure a re-created one starts empty. */
	if (db_exec(m, "DELETE FROM group_members WHERE db = %Q AND grp = %Q", db, id) < 0 ||
	    audience_forget(m, db, AUDIENCE_GROUP, id, -1) != APPLY_OK)
		return APPLY_ERROR;
	json_object *audience = NULL;
	json_object_object_get_ex(payload, "audience", &audience);
	return audience_insert(m, db, AUDIENCE_GROUP, id, audience, AUDIENCE_GIVEN, reason, size);
}

int groups_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id");
	json_object *label = NULL, *audience = NULL;
	bool has_label = json_object_object_get_ex(payload, "label", &label);
	bool has_audience = json_object_object_get_ex(payload, "audience", &audience);
	if (!id || (label && !json_object_is_type(label, json_type_string))) {
		snprintf(reason, size, "malformed groups.update command");
		return APPLY_FAILED;
	}
	int e = group_exists(m, db, id);
	if (e < 0)
		return APPLY_ERROR;
	if (!e) {
		snprintf(reason, size, "Group '%s' does not exist", id);
		return APPLY_FAILED;
	}
	if (has_label && db_exec(m, "UPDATE `groups` SET label = %Q WHERE db = %Q AND id = %Q",
	                         label ? json_object_get_string(label) : NULL, db, id) < 0)
		return APPLY_ERROR;
	if (!has_audience)
		return APPLY_OK;
	/* The audience is replaced as a whole: levels not named are nobody. */
	int r = audience_forget(m, db, AUDIENCE_GROUP, id, AUDIENCE_GIVEN);
	return r != APPLY_OK
	           ? r
	           : audience_insert(m, db, AUDIENCE_GROUP, id, audience, AUDIENCE_GIVEN, reason, size);
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
		snprintf(reason, size, "Malformed groups membership command");
		return APPLY_FAILED;
	}
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(list, i), json_type_string)) {
			snprintf(reason, size, "Malformed groups membership command");
			return APPLY_FAILED;
		}
	int e = group_exists(m, db, *id);
	if (e < 0)
		return APPLY_ERROR;
	if (!e) {
		snprintf(reason, size, "Group '%s' was deleted before this change was applied", *id);
		return APPLY_FAILED;
	}
	*in = group_quote_ids(m, list);
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
		snprintf(reason, size, "Malformed groups.delete command");
		return APPLY_FAILED;
	}
	long long r = db_exec(m, "DELETE FROM `groups` WHERE db = %Q AND id = %Q", db, id);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Group '%s' was already deleted by an earlier command", id);
		return APPLY_FAILED;
	}
	if (db_exec(m, "DELETE FROM group_members WHERE db = %Q AND grp = %Q", db, id) < 0)
		return APPLY_ERROR;
	/* Its own audience goes; audiences of other resources that name it keep
	 * the id, which matches nobody while no group has it. */
	return audience_forget(m, db, AUDIENCE_GROUP, id, -1);
}
