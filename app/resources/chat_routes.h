/* chat_routes.h — the routes of conversations: create, update, post, read, list, delete. */
#ifndef RUNORG_CHAT_ROUTES_H
#define RUNORG_CHAT_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Largest message body, in bytes of UTF-8. */
#define CHAT_BODY_MAX 65536
/* Most participants one create may name: a request any contact may send
 * must not hold its stream for long (README, "Limits"). */
#define CHAT_CONTACTS_MAX 1000
#define CHAT_GROUPS_MAX 100

int chat_create(struct req *rq, struct reply *rp);
int chat_get(struct req *rq, struct reply *rp);
int chat_post(struct req *rq, struct reply *rp);
int chat_items(struct req *rq, struct reply *rp);
int chat_as(struct req *rq, struct reply *rp);
int chat_list(struct req *rq, struct reply *rp);
int chat_update(struct req *rq, struct reply *rp);
int chat_delete(struct req *rq, struct reply *rp);
int chat_item_delete(struct req *rq, struct reply *rp);

#endif
