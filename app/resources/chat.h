/* chat.h — conversations: their projection (exists) and the appliers of their commands. */
#ifndef RUNORG_CHAT_H
#define RUNORG_CHAT_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* 1 when the chat exists in the projection, 0 when not (or the id cannot exist), -1 when the database fails. */
int chat_exists(MYSQL *m, const char *db, const char *id);

/* Command "chat.create" {"id","subject","contacts":[cid],"groups":[gid],"public","pm","created",
 * "creator"?,"audience"?}; pm is "<cid>:<cid>" or null, creator the contact that asked (or absent).
 * Writes the audience rows the fields give (sql/006-audiences.sql) and the given audience. */
int chat_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.update" {"chat","subject"?,"audience"?}: a key present is set (subject null clears
 * it; the given audience is replaced as a whole); fails when the chat is gone. */
int chat_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.post" {"chat","id","author","time","body"}: fails when the chat is gone. */
int chat_apply_post(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.delete" {"chat"}: the chat, its participants and items go (no-op when absent). */
int chat_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.item_delete" {"chat","item","author"?} (no-op when absent, or not by author). */
int chat_apply_item_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
