/* contacts_routes.h — the routes of contacts: import, read, list, search, update, test auth. */
#ifndef RUNORG_CONTACTS_ROUTES_H
#define RUNORG_CONTACTS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

int contacts_import(struct req *rq, struct reply *rp);
int contact_get(struct req *rq, struct reply *rp);
int contacts_list(struct req *rq, struct reply *rp);
int contacts_search(struct req *rq, struct reply *rp);
int contact_put(struct req *rq, struct reply *rp);
int db_test_auth(struct req *rq, struct reply *rp);

#endif
