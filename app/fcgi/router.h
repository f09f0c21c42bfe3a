/* router.h — the route table of the whole API and the path every request takes through it. */
#ifndef RUNORG_ROUTER_H
#define RUNORG_ROUTER_H

#include <stdbool.h>

#include "fcgi/exchange.h"
#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Route flags. */
enum {
	R_DB = 1,      /* under /db/{db}: the database must exist, and a token valid for it is needed */
	R_OPEN = 2,    /* no token needed */
	R_ADMIN = 4,   /* a server-administrator token is needed */
	R_TEST = 8,    /* exists only in test mode (403 otherwise) */
	R_BODY = 16,   /* takes a JSON body */
	R_CACHE = 32,  /* a read whose 200 depends only on the database's projections, who asks and
	                  the URL: answered from the worker's cache while valid (cache.h) */
	R_NODB = 64,   /* needs no database connection at all */
	R_BRIEF = 128, /* answers within ROUTER_BRIEF_MS whatever request_timeout_ms says */
	R_WAITS = 256, /* waits for a clock of its own (ROUTE_WAIT): the deadline of an at= request */
};

/* Deadlines (README, "Failures and retries"): a request that waits for a
 * clock (at=, R_WAITS) answers within sync_timeout_ms + ROUTER_WAIT_MARGIN_MS,
 * any other within request_timeout_ms, R_BRIEF ones within ROUTER_BRIEF_MS. */
#define ROUTER_WAIT_MARGIN_MS 1000
#define ROUTER_BRIEF_MS 2000

typedef int (*handler_fn)(struct req *rq, struct reply *rp);

/* What a handler answers when it needs to wait for rq->wait_for first (GET
 * /db/{db}/sync): the router waits as for at=, then calls it again with
 * rq->waited set. */
#define ROUTE_WAIT (-3)

struct route {
	const char *method;
	const char *pattern;
	handler_fn handler;
	unsigned flags;
};

/* Takes an accepted FastCGI request (x->fr) through the steps of SPEC §8:
 * route, database, token, as=, at= (its syntax, then the wait), then the body
 * and the handler with its access checks; then the reply. True when it is
 * answered (the caller finishes x->fr); false when it was parked to wait for
 * its clock: then x belongs to the wait, and x->resume(x) hands it to a
 * thread later, which calls router_run(x) again to go on. */
bool router_run(struct exchange *x);

/* Finds the route of rq's method and segments (rq->route, rq->pattern) and
 * fills rq's placeholders: 0, 404, or 405 with the Allow header. Pure: the
 * fuzz targets drive it (tests/fuzz). */
int router_find(struct req *rq, struct reply *rp);

#endif
