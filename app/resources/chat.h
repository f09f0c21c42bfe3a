/* chat.h — conversations: create, post, read, list, delete; and their appliers. */
#ifndef RUNORG_CHAT_H
#define RUNORG_CHAT_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Largest message body, in bytes of UTF-8. */
#define CHAT_BODY_MAX 65536

int chat_create(struct req *rq, struct reply *rp);
int chat_get(struct req *rq, struct reply *rp);
int chat_post(struct req *rq, struct reply *rp);
int chat_items(struct req *rq, struct reply *rp);
int chat_as(struct req *rq, struct reply *rp);
int chat_delete(struct req *rq, struct reply *rp);
int chat_item_delete(struct req *rq, struct reply *rp);

/* Command "chat.create" {"id","subject","contacts":[cid],"groups":[gid],"public","pm","created"};
 * pm is "<cid>:<cid>" or null. */
int chat_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.post" {"chat","id","author","time","body"}: fails when the chat is gone. */
int chat_apply_post(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.delete" {"chat"}: the chat, its participants and items go (no-op when absent). */
int chat_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "chat.item_delete" {"chat","item"} (no-op when absent). */
int chat_apply_item_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
