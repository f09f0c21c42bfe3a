/* groups_routes.h — the routes of groups: create, update, add, remove, read, list, delete. */
#ifndef RUNORG_GROUPS_ROUTES_H
#define RUNORG_GROUPS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Most contacts one add or remove may name: a request any admin member may
 * send must not hold its stream for long (README, "Limits"). */
#define GROUP_CHANGE_MAX 1000

int groups_create(struct req *rq, struct reply *rp);
int group_add(struct req *rq, struct reply *rp);
int group_remove(struct req *rq, struct reply *rp);
int group_members(struct req *rq, struct reply *rp);
int group_info(struct req *rq, struct reply *rp);
int group_delete(struct req *rq, struct reply *rp);
int group_update(struct req *rq, struct reply *rp);
int groups_list(struct req *rq, struct reply *rp);

#endif
