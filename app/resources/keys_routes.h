/* keys_routes.h — the routes of HMAC keys: create, list, delete (members of group admin). */
#ifndef RUNORG_KEYS_ROUTES_H
#define RUNORG_KEYS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

int keys_create(struct req *rq, struct reply *rp);
int keys_list(struct req *rq, struct reply *rp);
int key_delete(struct req *rq, struct reply *rp);

#endif
