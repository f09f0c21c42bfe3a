/* groups.h — groups and the admin group: their projection (exists, info) and the appliers of their commands. */
#ifndef RUNORG_GROUPS_H
#define RUNORG_GROUPS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* The group every database has from its creation; its members may do everything in the database. */
#define GROUP_ADMIN "admin"

/* 1 when the group exists in the projection, 0 when not (or the id cannot exist), -1 when the database fails. */
int group_exists(MYSQL *m, const char *db, const char *id);

/* <groupinfo> {"id","label","count"} from a row (id, label, count). */
json_object *group_info_json(MYSQL_ROW row);

/* <groupinfo> of each group of `ids` (a JSON array of strings) that exists
 * in `db`, in the order of `ids` (repeated ids repeat); missing groups and non-strings are skipped.
 * Returns a new array (the caller owns it), or NULL when the database fails. */
json_object *group_info_list(MYSQL *m, const char *db, json_object *ids);

/* "('a','b',...)" for the strings of a non-empty array, escaped; malloc'd. */
char *group_quote_ids(MYSQL *m, json_object *ids);

/* 1 when contact is a member of group grp of db, 0 when not, -1 when the database fails. */
int group_has_member(MYSQL *m, const char *db, const char *grp, const char *contact);

/* Command "groups.create" {"id","label","audience"?}: fails when the id is taken (or is admin). */
int groups_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "groups.update" {"id","label"?,"audience"?}: a key present is set (label null clears it;
 * the audience is replaced as a whole); fails when the group is gone. */
int groups_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "groups.add" {"id","contacts":[cid]}: existing contacts become members. */
int groups_apply_add(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "groups.remove" {"id","contacts":[cid]}. */
int groups_apply_remove(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "groups.delete" {"id"}: the group and its memberships go; contacts stay. */
int groups_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
