/* router.h — the route table of the whole API and the path every request takes through it. */
#ifndef RUNORG_ROUTER_H
#define RUNORG_ROUTER_H

#include <fcgiapp.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Route flags. */
enum {
	R_DB = 1,     /* under /db/{db}: the database must exist, and a token valid for it is needed */
	R_OPEN = 2,   /* no token needed */
	R_ADMIN = 4,  /* a server-administrator token is needed */
	R_TEST = 8,   /* exists only in test mode (403 otherwise) */
	R_BODY = 16,  /* takes a JSON body */
	R_CACHE = 32, /* a read whose 200 depends only on the database's projections, who asks and
	                 the URL: answered from the worker's cache while valid (cache.h) */
};

typedef int (*handler_fn)(struct req *rq, struct reply *rp);

struct route {
	const char *method;
	const char *pattern;
	handler_fn handler;
	unsigned flags;
};

/* Handles one accepted FastCGI request from start to finish, in the order of
 * SPEC §8: route, database, token, as=, at= (its syntax, then the wait), then
 * the body and the handler with its access checks; then the reply. */
void router_handle(FCGX_Request *fr);

/* Finds the route of rq's method and segments (rq->route, rq->pattern) and
 * fills rq's placeholders: 0, 404, or 405 with the Allow header. Pure: the
 * fuzz targets drive it (tests/fuzz). */
int router_find(struct req *rq, struct reply *rp);

#endif
