/* contacts_routes.h — the routes of contacts: import, read, list, search, update, test auth. */
#ifndef RUNORG_CONTACTS_ROUTES_H
#define RUNORG_CONTACTS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* The most contacts one import may carry (README "Limits"): about 0.2 s of
 * the processor's time on its stream. */
#define CONTACTS_IMPORT_MAX 10000

int contacts_import(struct req *rq, struct reply *rp);
int contact_get(struct req *rq, struct reply *rp);
int contacts_list(struct req *rq, struct reply *rp);
int contacts_search(struct req *rq, struct reply *rp);
int contact_put(struct req *rq, struct reply *rp);
int db_test_auth(struct req *rq, struct reply *rp);

#endif
