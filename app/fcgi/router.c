/* router.c — the route table of the whole API and the path every request takes through it. */
#include "fcgi/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "fcgi/auth.h"
#include "fcgi/cache.h"
#include "fcgi/fresh.h"
#include "fcgi/inline.h"
#include "fcgi/lag.h"
#include "fcgi/poll.h"
#include "fcgi/retry.h"
#include "fcgi/wait.h"
#include "resources/chat_routes.h"
#include "resources/commands_routes.h"
#include "resources/contacts_routes.h"
#include "resources/dbs_routes.h"
#include "resources/groups_routes.h"
#include "resources/keys_routes.h"
#include "resources/tokens_routes.h"
#include "store/db.h"

/* One line per endpoint. Literal segments win over placeholders whatever the
 * order. HEAD is answered wherever GET is. */
/* clang-format off */
static const struct route routes[] = {
	{"GET",  "/version",                  version_get,     R_OPEN | R_NODB},
	{"GET",  "/status",                   status_get,      R_OPEN | R_BRIEF},
	{"POST", "/test/auth",                test_auth,       R_OPEN | R_TEST | R_BODY},
	{"POST", "/test/hints",               test_hints,      R_OPEN | R_TEST | R_BODY},
	{"POST", "/db/create",                db_create,       R_ADMIN | R_BODY},
	{"GET",  "/db/all",                   db_all,          R_ADMIN},
	{"GET",  "/commands/{ref}",           server_command_get, R_ADMIN},
	{"POST", "/db/{db}/test/auth",        db_test_auth,    R_DB | R_OPEN | R_TEST | R_BODY},
	{"GET",  "/db/{db}/sync",             db_sync,         R_DB | R_WAITS},
	{"GET",  "/db/{db}/commands/{ref}",   command_get,     R_DB},
	{"POST", "/db/{db}/contacts/import",  contacts_import, R_DB | R_BODY},
	{"GET",  "/db/{db}/contacts/search",  contacts_search, R_DB | R_CACHE},
	{"GET",  "/db/{db}/contacts/{cid}",   contact_get,     R_DB | R_CACHE},
	{"PUT",  "/db/{db}/contacts/{cid}",   contact_put,     R_DB | R_BODY},
	{"GET",  "/db/{db}/contacts",         contacts_list,   R_DB | R_CACHE},
	{"POST", "/db/{db}/groups",           groups_create,   R_DB | R_BODY},
	{"GET",  "/db/{db}/groups",           groups_list,     R_DB | R_CACHE},
	{"POST", "/db/{db}/groups/{id}/add",  group_add,       R_DB | R_BODY},
	{"POST", "/db/{db}/groups/{id}/remove", group_remove,  R_DB | R_BODY},
	{"GET",  "/db/{db}/groups/{id}/info", group_info,      R_DB | R_CACHE},
	{"PUT",  "/db/{db}/groups/{id}/info", group_update,    R_DB | R_BODY},
	{"GET",  "/db/{db}/groups/{id}",      group_members,   R_DB | R_CACHE},
	{"DELETE", "/db/{db}/groups/{id}",    group_delete,    R_DB},
	{"GET",  "/db/{db}/chat",             chat_list,       R_DB | R_CACHE},
	{"POST", "/db/{db}/chat/create",      chat_create,     R_DB | R_BODY},
	{"GET",  "/db/{db}/chat/as/{cid}",    chat_as,         R_DB | R_CACHE},
	{"GET",  "/db/{db}/chat/{id}",        chat_get,        R_DB | R_CACHE},
	{"POST", "/db/{db}/chat/{id}",        chat_post,       R_DB | R_BODY},
	{"PUT",  "/db/{db}/chat/{id}",        chat_update,     R_DB | R_BODY},
	{"DELETE", "/db/{db}/chat/{id}",      chat_delete,     R_DB},
	{"GET",  "/db/{db}/chat/{id}/items",  chat_items,      R_DB | R_CACHE},
	{"DELETE", "/db/{db}/chat/{id}/items/{item}", chat_item_delete, R_DB},
	{"POST", "/db/{db}/contacts/auth/hmac", contacts_auth_hmac, R_DB | R_OPEN | R_BODY},
	{"POST", "/db/{db}/keys",             keys_create,     R_DB | R_BODY},
	{"GET",  "/db/{db}/keys",             keys_list,       R_DB},
	{"DELETE", "/db/{db}/keys/{id}",      key_delete,      R_DB},
	{"GET",  "/db/{db}/tokens/{token}",   token_get,       R_DB},
	{"DELETE", "/db/{db}/tokens/{token}", token_delete,    R_DB},
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

/* The placeholders of the matched pattern, with the segments they stand for. */
static void fill_params(struct req *rq)
{
	char seg[64];
	rq->nparam = 0;
	for (int i = 0; pattern_seg(rq->route->pattern, i, seg, sizeof seg); i++)
		if (seg[0] == '{' && rq->nparam < REQ_MAX_PARAMS) {
			snprintf(rq->param[rq->nparam].name, sizeof rq->param[0].name, "%.*s",
			         (int)strlen(seg) - 2, seg + 1);
			rq->param[rq->nparam++].value = rq->seg[i];
		}
}

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
		fill_params(rq);
		return 0;
	}
	/* The path names a resource, but not for this method: list the methods it has. */
	rq->route = NULL;
	for (size_t i = 0; i < NROUTES; i++)
		if (match(rq, routes[i].pattern) == best_any && !strstr(rp->allow, routes[i].method)) {
			rq->pattern = routes[i].pattern;
			size_t n = strlen(rp->allow);
			snprintf(rp->allow + n, sizeof rp->allow - n, "%s%s%s", n ? ", " : "", routes[i].method,
			         strcmp(routes[i].method, "GET") ? "" : ", HEAD");
		}
	return reply_error(rp, 405, "Method %s is not allowed here", rq->head ? "HEAD" : rq->method);
}

/* Who asks, before anything waits or reads the body: test mode, then the
 * database and the token (and as=) as the route needs them. */
static int check(struct req *rq, struct reply *rp)
{
	unsigned f = rq->route->flags;
	if ((f & R_TEST) && !cf.test_mode)
		return reply_error(rp, 403, "Test mode is disabled");
	if ((f & R_DB) && (f & R_OPEN))
		return auth_load_database(rq, rp); /* no token: only the database */
	if (f & R_OPEN)
		return 0;
	if (f & R_ADMIN)
		return auth_server_admin(rq, rp);
	if (!(f & R_DB))
		return 0;
	int st = auth_database(rq, rp); /* database (404), token (401), as= (401, 400) */
	if (st == 404 && !rq->stream && req_query(rq, "at") && id_valid(req_param(rq, "db"))) {
		/* A database whose creation the at= may be waiting for: only a
		 * server administrator, who may use every database, waits for it
		 * (then it is looked up again); anyone else, and an id that can
		 * never be a database's, gets the 404 now. */
		struct reply scratch = {0};
		if (!auth_server_admin(rq, &scratch)) {
			*rp = (struct reply){.head = rq->head};
			rq->db_pending = true;
			st = 0;
		}
	}
	return st;
}

/* A database left to look up after the wait (check), when the request is
 * refused before any wait (a malformed at=, or one never handed out; a bad
 * Idempotency-Key): the database's 404 comes first (SPEC §8), as it does
 * for a request that would not have waited. */
static int pending_first(struct req *rq, struct reply *rp, int st)
{
	if (st != 400 || !rq->db_pending)
		return st;
	struct reply db = {.head = rq->head};
	int missing = auth_load_database(rq, &db); /* 404 (or 500) */
	if (!missing) {
		reply_free(&db);
		return st; /* created meanwhile: the 400 stands */
	}
	reply_free(rp);
	*rp = db;
	return missing;
}

static int body(struct req *rq, FCGX_Request *fr, struct reply *rp)
{
	if (!(rq->route->flags & R_BODY))
		return 0;
	int st = request_read_body(rq, fr, rp);
	if (!st && rq->body_len > 0)
		st = request_parse_json(rq, rp);
	return st;
}

static int handle(struct req *rq, struct reply *rp)
{
	if (rq->route->flags & R_NODB)
		return rq->route->handler(rq, rp);
	if (!req_m(rq))
		return reply_db(rp, db_state(NULL, rq->received_us));
	int st = auth_as_exists(rq, rp); /* an administrator's as= names a contact (after the wait) */
	return st ? st : rq->route->handler(rq, rp);
}

/* Test mode only: test_pause_ms=N (at most 2 s) sleeps between taking a kept
 * answer's position and the read, so that a test can apply a command there. */
static void test_pause(const struct req *rq)
{
	const char *v = cf.test_mode ? req_query(rq, "test_pause_ms") : NULL;
	long ms = v ? strtol(v, NULL, 10) : 0;
	if (ms > 0)
		usleep((useconds_t)(ms > 2000 ? 2000 : ms) * 1000);
}

/* The handler, or for a cached route the text it gave before, when a poll
 * that started at most cf.cache_lag_us before this request (or after it
 * arrived) shows the stream where it was when that text was read: nothing
 * applied since, so the text is what MySQL would give now.
 *
 * A new answer is kept under a position at which it was true: the clock row,
 * read again after the read, must still show the position the poll gave
 * before it (the projections move only with the clock row, so the read saw
 * exactly that state). When the row has moved, the answer is not kept, and
 * the workers learn the new position at once, so that none answers from an
 * older one after this answer. */
static int answer(struct req *rq, struct reply *rp)
{
	uint64_t pos, epoch;
	if (!(rq->route->flags & R_CACHE) || !fresh_position(rq->mark, rq->stream, cf.cache_lag_us, &pos, &epoch))
		return handle(rq, rp);
	char *key = cache_key(rq);
	int st = 200;
	bool mine = false;
	/* Kept already; or being read by another request (the waits of a burst
	 * on one clock end together): its answer, once it has kept it. */
	if ((rp->text = cache_get(key, rq->stream, pos)) ||
	    (!(mine = cache_claim(key, rq->stream, pos)) &&
	     (rp->text = cache_await(key, rq->stream, pos, db_deadline())))) {
		rp->status = 200;
		rp->kept = cf.test_mode ? (long long)pos : 0;
	} else {
		test_pause(rq);
		st = handle(rq, rp);
		/* Only the server the poll reads may label the answer (not the
		 * primary standing in for a replica that does not answer). */
		long long now = st == 200 && rp->body && req_m_polled(rq)
		                    ? db_value(rq->m, "SELECT done FROM clocks WHERE stream = %u", rq->stream)
		                    : -1;
		if (now >= 0 && (uint64_t)now == pos) {
			cache_put(key, rq->stream, pos, json_text(rp->body));
			rp->kept = cf.test_mode ? (long long)pos : 0;
		} else if (now > 0) {
			poll_raise(rq->stream, (uint64_t)now);
		}
		if (mine)
			cache_release(key);
	}
	free(key);
	return st;
}

/* A 500 while MariaDB is down, read-only, out of disk space or too slow for
 * the request's deadline is no bug of ours: the client gets a 503 with
 * Retry-After that says so, and may retry (README, "Failures"). A write
 * answered this way may or may not have been queued. */
static int unavailable(struct req *rq, struct reply *rp)
{
	return reply_db(rp, db_state(rq->m, rq->received_us));
}

/* When the answer must have gone out (router.h): counted from the request's
 * arrival, by what it is (its route, whether it has at=). */
static uint64_t deadline_of(const struct req *rq, uint64_t arrived_us)
{
	unsigned f = rq->route ? rq->route->flags : 0;
	long long ms = cf.request_timeout_ms;
	if ((f & R_WAITS) || req_query(rq, "at"))
		ms = (long long)cf.sync_timeout_ms + ROUTER_WAIT_MARGIN_MS;
	if ((f & R_BRIEF) && ms > ROUTER_BRIEF_MS)
		ms = ROUTER_BRIEF_MS;
	return arrived_us + (uint64_t)ms * 1000;
}

/* A read of a database served by a replica, without at=, while the replica
 * lags more than db_read_stale_ms: the answer says it may be stale (README,
 * "Scaling out"). With at= (or /sync) it is as fresh as asked; read from the
 * primary (standing in for a replica that does not answer), it is not stale. */
static void stale(struct req *rq, struct reply *rp)
{
	if (!db_read_separate() || rq->at_given || rq->waited || !(rq->route->flags & (R_DB | R_ADMIN)) ||
	    strcmp(rq->method, "GET") || (rq->m && !rq->m_replica))
		return;
	long ms = lag_ms();
	if (ms > cf.db_read_stale_ms)
		rp->stale_ms = ms;
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

/* The steps of router_run, in order; each runs once. */
enum step { STEP_START, STEP_AFTER_AT, STEP_AFTER_HANDLER_WAIT };

/* Sends the answer, logs the request, frees what the exchange holds. */
static void reply(struct exchange *x)
{
	struct req *rq = &x->rq;
	struct reply *rp = &x->rp;
	/* No processor alive (apply_inline): what this request queued is applied
	 * before it is answered, so that a read at its clock answers at once. */
	if (rp->status == 202 && inline_possible()) {
		json_object *made = rp->body ? NULL : rp->text ? json_tokener_parse(rp->text) : NULL;
		inline_apply_queued(req_primary(rq), rp->body ? rp->body : made);
		if (made)
			json_object_put(made);
	}
	req_release(rq);
	char path[512];
	if (rq->pattern)
		snprintf(path, sizeof path, "%s", rq->pattern);
	else
		request_path(rq, path, sizeof path);
	reply_send(x->fr.out, rp, path);
	retry_end(rq); /* its key, if any, is no longer in flight */
	/* The request log: the route template, never the token, the query or the body. */
	log_info("%s %s %d wait=%.1fms total=%.1fms", rq->head ? "HEAD" : rq->method, path, rp->status,
	         rq->wait_us / 1000.0, (db_now_us() - rq->received_us) / 1000.0);
	reply_free(rp);
	request_free(rq);
	db_deadline_set(0);
}

bool router_run(struct exchange *x)
{
	struct req *rq = &x->rq;
	struct reply *rp = &x->rp;
	int st = 0;
	/* Every call to MariaDB from here on ends by the request's deadline (db.h). */
	db_deadline_set(x->deadline_us);
	switch (x->step) {
	case STEP_START: {
		struct clock want;
		bool at = false;
		uint64_t arrived = db_mono_us();
		rq->received_us = db_now_us();
		rq->mark = fresh_mark();
		x->reached = true;
		st = request_read(rq, &x->fr, rp);
		rp->head = rq->head;
		if (st && rq->nseg) {
			/* A bad Content-Length (400): the error names the route template too. */
			struct reply ignored = {0};
			router_find(rq, &ignored);
		}
		if (!st)
			st = router_find(rq, rp);
		x->deadline_us = deadline_of(rq, arrived);
		db_deadline_set(x->deadline_us);
		if (!st)
			st = check(rq, rp);
		if (!st)
			st = request_check_query(rq, rp);
		if (!st)
			st = wait_parse_at(rq, rp, &want, &at);
		rq->at_given = at;
		if (!st)
			st = retry_begin(rq, rp); /* Idempotency-Key: 400, or 409 while in flight */
		x->step = STEP_AFTER_AT;
		if (!st && at && (st = wait_clock(x, &want)) == WAIT_PARKED)
			return false; /* x is the wait's now: not a field of it may be touched */
		st = pending_first(rq, rp, st);
	}
		/* fall through */
	case STEP_AFTER_AT:
		if (!st)
			st = wait_outcome(x);
		if (!st && rq->db_pending)
			st = auth_database(rq, rp); /* the wait is over: the database exists now, or 404 */
		if (!st)
			st = body(rq, &x->fr, rp);
		if (!st)
			retry_ready(rq);
		if (!st)
			st = answer(rq, rp);
		x->step = STEP_AFTER_HANDLER_WAIT;
		if (st == ROUTE_WAIT) {
			rq->waited = true;
			if ((st = wait_clock(x, rq->wait_for)) == WAIT_PARKED)
				return false;
			if (!st && (st = wait_outcome(x)) == 0)
				st = answer(rq, rp);
		}
		break;
	case STEP_AFTER_HANDLER_WAIT:
		/* Back from the handler's own wait. */
		st = wait_outcome(x);
		if (!st)
			st = answer(rq, rp);
		break;
	}
	st = retry_checked(rq, rp, st); /* a 4xx to a key recorded before: its answer */
	if (st == 500)
		st = unavailable(rq, rp);
	if (st == 200)
		stale(rq, rp);
	reply(x);
	return true;
}
