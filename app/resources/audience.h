/* audience.h — who may see and do what with groups and chats: access levels, audience rows, the caller's
 * level.
 *
 * An audience is "anyone" or {"groups":[gid], "contacts":[cid]}; a resource has
 * one per access level (SPEC §5). The rows live in the table audiences
 * (sql/006-audiences.sql, which explains their shape); levels are ranks, each
 * including the ones below it. */
#ifndef RUNORG_AUDIENCE_H
#define RUNORG_AUDIENCE_H

#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

/* Resource kinds, as stored in audiences.kind. */
#define AUDIENCE_GROUP 'g'
#define AUDIENCE_CHAT 'c'

/* Levels of a group and of a chat, lowest first; 0 is no access at all. */
enum { GROUP_CAN_VIEW = 1, GROUP_CAN_LIST, GROUP_CAN_MODERATE, GROUP_CAN_ADMIN };
enum { CHAT_CAN_VIEW = 1, CHAT_CAN_READ, CHAT_CAN_WRITE, CHAT_CAN_MODERATE, CHAT_CAN_ADMIN };

/* Where a row of audiences comes from (the column origin). */
enum { AUDIENCE_GIVEN = 0, AUDIENCE_DERIVED = 1 };

/* Most groups, and most contacts, one level's audience may name. */
#define AUDIENCE_IDS_MAX 1000

/* The level names of a kind, indexed by rank (entry 0 is NULL, then "view", ...),
 * NULL-terminated after the highest. */
const char *const *audience_levels(char kind);
/* The highest rank of a kind (GROUP_CAN_ADMIN, CHAT_CAN_ADMIN). */
int audience_top(char kind);
/* The rank of a level name for a kind, 0 when it has none. */
int audience_rank(char kind, const char *name);

/* ["admin","moderate",...]: the names of rank `level` and every one below, highest first. */
json_object *audience_access_json(char kind, int level);

/* What one query tells about a resource and a contact (audience_facts). */
struct audience_facts {
	int rows;        /* highest level the audience rows give the contact (0: none) */
	bool admin;      /* the contact is a member of group admin */
	bool pm;         /* a private-message chat */
	long long count; /* the resource's count column (members, items) */
};

/* The caller's level from the facts: a server administrator has every level;
 * a private-message chat gives exactly what its rows give (not even members
 * of admin get more); otherwise members of admin have every level. */
int audience_level(char kind, const struct audience_facts *f, bool server_admin);

/* One query: whether resource rid of kind exists in db (1, 0; -1 when the
 * database fails), and if so the facts about it for `contact` ("" for none). */
int audience_facts(MYSQL *m, const char *db, char kind, const char *rid, const char *contact,
                   struct audience_facts *f);

/* SQL text of a derived table (rid, level) of the resources of kind in db that
 * `contact` may view, with its level on each: from its audience rows (anyone,
 * the contact, its groups), and when with_admin, every resource for a member
 * of group admin (private-message chats excepted). Every value in it is
 * escaped: safe to insert with %s. malloc'd. */
char *audience_visible_sql(MYSQL *m, const char *db, char kind, const char *contact, bool with_admin);

/* For appliers: writes the rows of `audience` (the form validate_audience
 * makes: {"<level>": "anyone" | {"groups":[...], "contacts":[...]}}) of
 * resource rid with the given origin, one statement. APPLY_OK, or APPLY_FAILED
 * (reason filled) when malformed, or APPLY_ERROR. NULL adds nothing. */
int audience_insert(MYSQL *m, const char *db, char kind, const char *rid, json_object *audience, int origin,
                    char *reason, size_t size);

/* For appliers: forgets the rows of resource rid, of one origin or (origin < 0) all. */
int audience_forget(MYSQL *m, const char *db, char kind, const char *rid, int origin);

#endif
