/* dbs_routes.h — the server-level routes: version, status, test auth, databases, /sync. */
#ifndef RUNORG_DBS_ROUTES_H
#define RUNORG_DBS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

int version_get(struct req *rq, struct reply *rp);
int status_get(struct req *rq, struct reply *rp);
int test_auth(struct req *rq, struct reply *rp);
int test_hints(struct req *rq, struct reply *rp);
int db_create(struct req *rq, struct reply *rp);
int db_all(struct req *rq, struct reply *rp);
int db_sync(struct req *rq, struct reply *rp);

#endif
