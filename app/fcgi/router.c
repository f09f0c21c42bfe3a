/* router.c — the route table of the whole API and the path every request takes through it. */
#include "fcgi/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "fcgi/auth.h"
#include "fcgi/cache.h"
#include "fcgi/watcher.h"
#include "resources/chat.h"
#include "resources/contacts.h"
#include "resources/dbs.h"
#include "resources/groups.h"
#include "store/db.h"

/* One line per endpoint. Literal segments win over placeholders whatever the order. */
/* clang-format off */
static const struct route routes[] = {
	{"GET",  "/version",                  version_get,     R_OPEN},
	{"GET",  "/status",                   status_get,      R_OPEN},
	{"POST", "/test/auth",                test_auth,       R_OPEN | R_TEST | R_BODY},
	{"POST", "/db/create",                db_create,       R_ADMIN | R_BODY},
	{"GET",  "/db/all",                   db_all,          R_ADMIN},
	{"POST", "/db/{db}/test/auth",        db_test_auth,    R_DB | R_OPEN | R_TEST | R_BODY},
	{"GET",  "/db/{db}/sync",             db_sync,         R_DB},
	{"POST", "/db/{db}/contacts/import",  contacts_import, R_DB | R_BODY},
	{"GET",  "/db/{db}/contacts/search",  contacts_search, R_DB | R_CACHE},
	{"GET",  "/db/{db}/contacts/{cid}",   contact_get,     R_DB | R_CACHE},
	{"GET",  "/db/{db}/contacts",         contacts_list,   R_DB | R_CACHE},
	{"POST", "/db/{db}/groups",           groups_create,   R_DB | R_BODY},
	{"POST", "/db/{db}/groups/{id}/add",  group_add,       R_DB | R_BODY},
	{"POST", "/db/{db}/groups/{id}/remove", group_remove,  R_DB | R_BODY},
	{"GET",  "/db/{db}/groups/{id}/info", group_info,      R_DB | R_CACHE},
	{"GET",  "/db/{db}/groups/{id}",      group_members,   R_DB | R_CACHE},
	{"DELETE", "/db/{db}/groups/{id}",    group_delete,    R_DB},
	{"POST", "/db/{db}/chat/create",      chat_create,     R_DB | R_BODY},
	{"GET",  "/db/{db}/chat/as/{cid}",    chat_as,         R_DB | R_CACHE},
	{"GET",  "/db/{db}/chat/{id}",        chat_get,        R_DB | R_CACHE},
	{"POST", "/db/{db}/chat/{id}",        chat_post,       R_DB | R_BODY},
	{"DELETE", "/db/{db}/chat/{id}",      chat_delete,     R_DB},
	{"GET",  "/db/{db}/chat/{id}/items",  chat_items,      R_DB | R_CACHE},
	{"DELETE", "/db/{db}/chat/{id}/items/{item}", chat_item_delete, R_DB},
};
/* clang-format on */
#define NROUTES (sizeof routes / sizeof routes[0])

/* The i-th segment of a pattern (without slashes) into buf; false past the end. */
static bool pattern_seg(const char *pattern, int i, char *buf, size_t size)
{
	const char *p = pattern;
	for (int k = 0; k <= i; k++) {
		while (*p == '/')
			p++;
		if (!*p)
			return false;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (k == i) {
			snprintf(buf, size, "%.*s", (int)n, p);
			return true;
		}
		p += n;
	}
	return false;
}

/* Matches the request path against a pattern: returns a score where each
 * literal segment counts more than every placeholder after it, or -1. */
static long match(const struct req *rq, const char *pattern)
{
	char seg[64];
	long score = 0;
	int i;
	for (i = 0; pattern_seg(pattern, i, seg, sizeof seg); i++) {
		if (i >= rq->nseg)
			return -1;
		score <<= 1;
		if (seg[0] == '{')
			continue;
		if (strcmp(seg, rq->seg[i]))
			return -1;
		score |= 1;
	}
	return i == rq->nseg ? score : -1;
}

const char *route_param(const struct req *rq, const char *name)
{
	char seg[64];
	for (int i = 0; rq->route && pattern_seg(rq->route->pattern, i, seg, sizeof seg); i++) {
		size_t n = strlen(seg);
		if (seg[0] == '{' && n == strlen(name) + 2 && !strncmp(seg + 1, name, n - 2))
			return rq->seg[i];
	}
	return NULL;
}

/* Finds the route: 404 when no pattern matches, 405 with Allow when only the method differs. */
int router_find(struct req *rq, struct reply *rp)
{
	long best = -1, best_any = -1;
	for (size_t i = 0; i < NROUTES; i++) {
		long s = match(rq, routes[i].pattern);
		if (s > best_any)
			best_any = s;
		if (s > best && !strcmp(routes[i].method, rq->method)) {
			best = s;
			rq->route = &routes[i];
		}
	}
	if (best_any < 0)
		return reply_error(rp, 404, "No such resource");
	if (best == best_any) {
		rq->pattern = rq->route->pattern;
		return 0;
	}
	/* The path names a resource, but not for this method: list the methods it has. */
	rq->route = NULL;
	for (size_t i = 0; i < NROUTES; i++)
		if (match(rq, routes[i].pattern) == best_any && !strstr(rp->allow, routes[i].method)) {
			rq->pattern = routes[i].pattern;
			size_t n = strlen(rp->allow);
			snprintf(rp->allow + n, sizeof rp->allow - n, "%s%s", n ? ", " : "",
			         routes[i].method);
		}
	return reply_error(rp, 405, "Method %s is not allowed here", rq->method);
}

/* at= : wait until the clock is reached, before anything reads state. */
static int wait_at(struct req *rq, struct reply *rp)
{
	const char *at = req_query(rq, "at");
	if (!at)
		return 0;
	struct clock want;
	if (clock_parse(at, strlen(at), &want))
		return reply_invalid(rp, "at", "expected a clock such as [[2,87]]", "Invalid at parameter");
	uint64_t started = db_now_us();
	enum wait_result w = watcher_wait(&want, &rp->current);
	rq->wait_us = db_now_us() - started;
	switch (w) {
	case WAIT_REACHED:
		return 0;
	case WAIT_NEVER:
		return reply_invalid(rp, "at",
		                     "this position was never handed out, so it can never be reached",
		                     "Invalid at parameter");
	case WAIT_TIMEOUT:
		rp->timeout = true;
		rp->expected = want;
		return reply_error(rp, 503,
		                   "Data is not yet available for the 'at' you specified. Try again later.");
	default:
		return reply_internal(rp, "at= wait");
	}
}

static int parse_body(struct req *rq, struct reply *rp)
{
	if (!(rq->route->flags & R_BODY) || rq->body_len == 0)
		return 0;
	return request_parse_json(rq, rp);
}

static int authenticate(struct req *rq, struct reply *rp)
{
	unsigned f = rq->route->flags;
	if (f & R_OPEN)
		return 0;
	if (f & R_ADMIN)
		return auth_server_admin(rq, rp);
	if (f & R_DB)
		return auth_database(rq, rp); /* database (404) and token (401) in one look-up */
	return 0;
}

#define DB_DOWN_MESSAGE "The database is unavailable. Try again later."

/* The handler, or for a cached route the text it gave before, when a poll
 * that started at most cf.cache_lag_us before this request (or after it
 * arrived) shows the stream where it was when that text was read: nothing
 * applied since, so the text is what MySQL would have given then. */
static int handle(struct req *rq, struct reply *rp)
{
	if (!req_m(rq))
		return reply_error(rp, 503, DB_DOWN_MESSAGE);
	return rq->route->handler(rq, rp);
}

static int answer(struct req *rq, struct reply *rp)
{
	uint64_t pos, epoch;
	if (!(rq->route->flags & R_CACHE) ||
	    !watcher_fresh(rq->mark, rq->stream, cf.cache_lag_us, &pos, &epoch))
		return handle(rq, rp);
	char *key = cache_key(rq);
	int st = 200;
	if ((rp->text = cache_get(key, rq->stream, pos))) {
		rp->status = 200;
	} else {
		st = handle(rq, rp);
		if (st == 200 && rp->body)
			cache_put(key, rq->stream, pos, json_text(rp->body));
	}
	free(key);
	return st;
}


/* A 500 while MariaDB is down or read-only is no bug of ours: the client gets a
 * 503 with Retry-After that says so, and may retry (README, "Failures"). A
 * write answered this way may or may not have been queued. */
static int unavailable(struct req *rq, struct reply *rp)
{
	switch (db_state(rq->m, rq->received_us)) {
	case DB_DOWN:
		return reply_error(rp, 503, DB_DOWN_MESSAGE);
	case DB_READ_ONLY:
		return reply_error(rp, 503,
		                   "The database is read-only: writes are refused for now. Try again later.");
	default:
		return 500;
	}
}

/* The path of an unmatched request, for the error body. */
static void request_path(const struct req *rq, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < rq->nseg && n < size; i++)
		n += snprintf(buf + n, size - n, "/%s", rq->seg[i]);
	if (!n)
		snprintf(buf, size, "/");
}

void router_handle(FCGX_Request *fr)
{
	struct req rq = {0};
	struct reply rp = {0};
	rq.received_us = db_now_us();
	rq.mark = watcher_mark();
	int st = request_read(&rq, fr, &rp);
	if (st && rq.nseg) {
		/* A bad body or Content-Length (413, 400): the error names the route template too. */
		struct reply ignored = {0};
		router_find(&rq, &ignored);
	}
	if (!st)
		st = router_find(&rq, &rp);
	if (!st && (rq.route->flags & R_TEST) && !cf.test_mode)
		st = reply_error(&rp, 403, "Test mode is disabled");
	if (!st)
		st = wait_at(&rq, &rp);
	if (!st)
		st = parse_body(&rq, &rp);
	if (!st && (rq.route->flags & R_DB) && (rq.route->flags & R_OPEN))
		st = auth_load_database(&rq, &rp); /* no token: only the database */
	if (!st)
		st = authenticate(&rq, &rp);
	if (!st)
		st = answer(&rq, &rp);
	if (st == 500)
		st = unavailable(&rq, &rp);
	if (rq.m)
		db_release(rq.m, mysql_errno(rq.m) && db_gone(rq.m));

	char path[512];
	if (rq.pattern)
		snprintf(path, sizeof path, "%s", rq.pattern);
	else
		request_path(&rq, path, sizeof path);
	reply_send(fr->out, &rp, path);
	/* The request log: the route template, never the token, the query or the body. */
	log_info("%s %s %d wait=%.1fms total=%.1fms", rq.method, path, rp.status, rq.wait_us / 1000.0,
	         (db_now_us() - rq.received_us) / 1000.0);
	reply_free(&rp);
	request_free(&rq);
}
