/* audience.c — who may see and do what with groups and chats: access levels, audience rows, the caller's
 * level.
 *
 * Everything here is decided by MariaDB where the memberships are: one query
 * gives a contact's level on one resource (audience_facts), one derived table
 * the resources it may view (audience_visible_sql). Both follow the indexes of
 * sql/006-audiences.sql, so their cost follows the resource's few rows or the
 * caller's own rows, never the number of groups of the database. */
#include "resources/audience.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "resources/apply.h"
#include "resources/groups.h"
#include "store/db.h"

static const char *const group_levels[] = {NULL, "view", "list", "moderate", "admin", NULL};
static const char *const chat_levels[] = {NULL, "view", "read", "write", "moderate", "admin", NULL};

const char *const *audience_levels(char kind)
{
	return kind == AUDIENCE_GROUP ? group_levels : chat_levels;
}

int audience_top(char kind)
{
	return kind == AUDIENCE_GROUP ? GROUP_CAN_ADMIN : CHAT_CAN_ADMIN;
}

int audience_rank(char kind, const char *name)
{
	const char *const *names = audience_levels(kind);
	for (int i = 1; names[i]; i++)
		if (!strcmp(names[i], name))
			return i;
	return 0;
}

json_object *audience_access_json(char kind, int level)
{
	const char *const *names = audience_levels(kind);
	json_object *a = json_object_new_array();
	for (int i = level; i >= 1; i--)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

int audience_level(char kind, const struct audience_facts *f, bool server_admin)
{
	if (server_admin)
		return audience_top(kind);
	if (f->pm)
		return f->rows;
	return f->admin ? audience_top(kind) : f->rows;
}

/* The table of a kind's resources, and what makes one a private-message chat. */
static const char *table_of(char kind)
{
	return kind == AUDIENCE_GROUP ? "`groups`" : "chats";
}

static const char *kind_text(char kind)
{
	return kind == AUDIENCE_GROUP ? "g" : "c";
}

int audience_facts(MYSQL *m, const char *db, char kind, const char *rid, const char *contact,
                   struct audience_facts *f)
{
	*f = (struct audience_facts){0};
	/* The resource's row, whether the contact is in admin, and the highest of the
	 * resource's rows that hold the contact: anyone, the contact itself, or a
	 * group it is in (group_members' primary key, one look-up per group row). */
	MYSQL_RES *res = db_query(
	    m,
	    "SELECT %s, r.count, EXISTS (SELECT 1 FROM group_members WHERE db = %Q AND grp = '" GROUP_ADMIN
	    "' AND contact = %Q), "
	    "(SELECT MAX(a.level) FROM audiences a FORCE INDEX (PRIMARY) LEFT JOIN group_members gm "
	    "FORCE INDEX (PRIMARY) ON a.mkind = 'g' AND gm.db = a.db AND gm.grp = a.mid AND gm.contact = %Q "
	    "WHERE a.db = %Q AND a.kind = %Q AND a.rid = %Q AND "
	    "(a.mkind = 'a' OR (a.mkind = 'c' AND a.mid = %Q) OR gm.contact IS NOT NULL)) "
	    "FROM %s r WHERE r.db = %Q AND r.id = %Q",
	    kind == AUDIENCE_CHAT ? "r.pm IS NOT NULL" : "0", db, contact, contact, db, kind_text(kind), rid,
	    contact, table_of(kind), db, rid);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row) {
		f->pm = row[0] && row[0][0] == '1';
		f->count = row[1] ? atoll(row[1]) : 0;
		f->admin = row[2] && row[2][0] == '1';
		f->rows = row[3] ? atoi(row[3]) : 0;
	}
	mysql_free_result(res);
	return row != NULL;
}

char *audience_visible_sql(MYSQL *m, const char *db, char kind, const char *contact, bool with_admin)
{
	const char *k = kind_text(kind);
	char *rows = db_format(
	    m,
	    "SELECT rid, level FROM audiences WHERE db = %Q AND kind = %Q AND mkind = 'a' AND mid = '' "
	    "UNION ALL SELECT rid, level FROM audiences WHERE db = %Q AND kind = %Q AND mkind = 'c' AND mid "
	    "= %Q "
	    "UNION ALL SELECT a.rid, a.level FROM group_members gm JOIN audiences a FORCE INDEX (by_member) "
	    "ON a.db = gm.db AND "
	    "a.kind = %Q AND a.mkind = 'g' AND a.mid = gm.grp WHERE gm.db = %Q AND gm.contact = %Q",
	    db, k, db, k, contact, k, db, contact);
	/* Members of admin: every resource (for chats, every one but the private
	 * rooms). For anyone else the EXISTS is false, and MariaDB, which
	 * evaluates such a constant subquery once, reads no row of this branch. */
	char *admin = with_admin
	                  ? db_format(m,
	                              " UNION ALL SELECT r.id, %d FROM %s r WHERE r.db = %Q%s AND EXISTS "
	                              "(SELECT 1 FROM group_members WHERE db = %Q AND grp = '" GROUP_ADMIN
	                              "' AND contact = %Q)",
	                              audience_top(kind), table_of(kind), db,
	                              kind == AUDIENCE_CHAT ? " AND r.pm IS NULL" : "", db, contact)
	                  : xstrdup("");
	char *sql =
	    db_format(m, "(SELECT v.rid, MAX(v.level) AS level FROM (%s%s) v GROUP BY v.rid)", rows, admin);
	free(rows);
	free(admin);
	return sql;
}

/* ---- Appliers' side ---- */

/* Appends one row's values to the INSERT being built. */
static void row_add(MYSQL *m, struct printbuf *sql, int *n, const char *db, char kind, const char *rid,
                    char mkind, const char *mid, int origin, int level)
{
	char mk[2] = {mkind, 0};
	char *v = db_format(m, "%s(%Q, %Q, %Q, %Q, %Q, %d, %d)", *n ? "," : "", db, kind_text(kind), rid, mk,
	                    mid, origin, level);
	xprintbuf_puts(sql, v);
	free(v);
	(*n)++;
}

/* Runs the INSERT of n rows; a member named at two levels keeps the higher. */
static int rows_run(MYSQL *m, struct printbuf *sql, int n)
{
	if (n == 0)
		return APPLY_OK;
	xprintbuf_puts(sql, " ON DUPLICATE KEY UPDATE level = GREATEST(level, VALUES(level))");
	return db_exec(m, "%s", sql->buf) < 0 ? APPLY_ERROR : APPLY_OK;
}

static struct printbuf *rows_start(void)
{
	struct printbuf *sql = xprintbuf_new();
	xprintbuf_puts(sql, "INSERT INTO audiences (db, kind, rid, mkind, mid, origin, level) VALUES ");
	return sql;
}

/* Adds the rows of the ids of list (an array of strings) as members of mkind. */
static bool ids_add(MYSQL *m, struct printbuf *sql, int *n, const char *db, char kind, const char *rid,
                    char mkind, json_object *list, int origin, int level)
{
	if (!list)
		return true;
	if (!json_object_is_type(list, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *s = json_object_array_get_idx(list, i);
		if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) > 11)
			return false;
		row_add(m, sql, n, db, kind, rid, mkind, json_object_get_string(s), origin, level);
	}
	return true;
}

int audience_insert(MYSQL *m, const char *db, char kind, const char *rid, json_object *audience, int origin,
                    char *reason, size_t size)
{
	if (!audience)
		return APPLY_OK;
	if (!json_object_is_type(audience, json_type_object)) {
		snprintf(reason, size, "malformed audience");
		return APPLY_FAILED;
	}
	struct printbuf *sql = rows_start();
	int n = 0;
	bool ok = true;
	json_object_object_foreach(audience, name, who)
	{
		int level = audience_rank(kind, name);
		if (!level) {
			ok = false;
		} else if (json_object_is_type(who, json_type_string)) {
			ok = !strcmp(json_object_get_string(who), "anyone");
			if (ok)
				row_add(m, sql, &n, db, kind, rid, 'a', "", origin, level);
		} else if (json_object_is_type(who, json_type_object)) {
			json_object *g = NULL, *c = NULL;
			json_object_object_get_ex(who, "groups", &g);
			json_object_object_get_ex(who, "contacts", &c);
			ok = ids_add(m, sql, &n, db, kind, rid, 'g', g, origin, level) &&
			     ids_add(m, sql, &n, db, kind, rid, 'c', c, origin, level);
		} else if (who) {
			ok = false;
		}
		if (!ok)
			break;
	}
	int r = ok ? rows_run(m, sql, n) : APPLY_FAILED;
	printbuf_free(sql);
	if (!ok)
		snprintf(reason, size, "malformed audience");
	return r;
}

int audience_forget(MYSQL *m, const char *db, char kind, const char *rid, int origin)
{
	long long r = origin < 0
	                  ? db_exec(m, "DELETE FROM audiences WHERE db = %Q AND kind = %Q AND rid = %Q", db,
	                            kind_text(kind), rid)
	                  : db_exec(m,
	                            "DELETE FROM audiences WHERE db = %Q AND kind = %Q AND rid = %Q AND "
	                            "origin = %d",
	                            db, kind_text(kind), rid, origin);
	return r < 0 ? APPLY_ERROR : APPLY_OK;
}
