/* request.h — one HTTP request as the handlers see it, read from FastCGI. */
#ifndef RUNORG_REQUEST_H
#define RUNORG_REQUEST_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/id.h"
#include "fcgi/reply.h"
#include "store/idem.h"
#include "store/queue.h"

#define REQ_MAX_SEGS 16
#define REQ_MAX_QUERY 16
#define REQ_MAX_PARAMS 4

struct route;

struct req {
	const char *method;
	char *uri;               /* copy of the raw URI; segments and query point into it */
	char *seg[REQ_MAX_SEGS]; /* decoded path segments, empty ones dropped */
	int nseg;
	struct {
		char *key, *value;
	} query[REQ_MAX_QUERY];
	int nquery;
	bool bad_query;     /* the query could not be read: no parameters, 400 after the token */
	const char *token;  /* from "Authorization: RUNORG token=...", or NULL */
	char token_buf[65]; /* where token points: the value, unquoted */
	char *body;         /* raw body, NUL-terminated, body_len bytes */
	size_t body_len;
	json_object *json; /* parsed body for routes that take one (NULL when empty) */
	const struct route *route;
	const char *pattern; /* the matched path pattern, also when the method was wrong */
	struct {
		char name[16];     /* "db", "cid", ... (without the braces) */
		const char *value; /* the decoded segment */
	} param[REQ_MAX_PARAMS]; /* the route's placeholders, filled by router_find */
	int nparam;
	long long content_length; /* CONTENT_LENGTH, checked against max_body; the body is read later */
	bool head;                /* a HEAD request: answered as GET, without the body */
	MYSQL *m;                 /* the connection of this request, taken when first needed (req_m) */
	bool m_replica;           /* ... to the replica (db_read_*), not the primary */
	MYSQL *pm;                /* a connection to the primary besides m, when m is the replica's (req_primary) */
	bool at_given;            /* the request carries at= (its answer is as fresh as it asked) */

	/* Filled by the router for /db/{db} routes. */
	char db[ID_LEN + 1];
	uint32_t stream;
	bool admin, admin_known;  /* member of the database's admin group: see auth_is_admin() */
	bool server_admin;        /* server administrator token */
	bool db_pending;          /* a server administrator waits on at= for a database not there yet */
	struct clock *wait_for;   /* a handler's own wait (ROUTE_WAIT, router.h; malloc'd) */
	bool waited;              /* ... done: the handler is called again */
	char contact[ID_LEN + 1]; /* contact the token belongs to ("" for a server administrator) */
	char as[ID_LEN + 1];      /* as= contact, else the token's contact */
	uint64_t received_us;
	uint32_t mark;    /* fresh_mark() when the request arrived (see fresh_position) */
	uint64_t wait_us; /* time spent waiting for a clock (at=, /sync), for the request log */

	/* Writes (retry.c): who queues, the answer, the Idempotency-Key. */
	char token_hash[65];     /* SHA-256 hex of the token, once auth found it valid ("" before) */
	const char *idem_header; /* the Idempotency-Key header as sent, or NULL */
	bool keyed;              /* a write whose key counts: key is filled, its slot claimed */
	int key_slot;            /* 1 + the in-flight slot it holds, 0 when none */
	struct idem key;
	char base[192];        /* "<base_path>/db/<db>": where its Locations point */
	struct queue_req push; /* for the handler's queue_push (router: before the handler) */
};

/* Reads method, path, query, token and the announced body length (400 when
 * malformed), but not the body itself, which waits until every check before
 * it has passed (request_read_body). Returns 0, or an error status with the
 * reply filled (404 for an undecodable path, 400 for a bad query or
 * Content-Length). */
int request_read(struct req *rq, FCGX_Request *fr, struct reply *rp);

/* Reads the body announced by request_read: 0, 413 when it is longer than
 * cf.max_body (nothing read), or 400 when it is shorter than announced. */
int request_read_body(struct req *rq, FCGX_Request *fr, struct reply *rp);
void request_free(struct req *rq);

/* The pure parts of request_read, also driven by the fuzz targets (tests/fuzz):
 * splits uri (modified in place; rq's segments and query point into it) into
 * decoded path segments and query parameters: 0 or 404. A query that cannot
 * be read leaves no parameter and sets bad_query (request_check_query). */
int request_parse_uri(struct req *rq, char *uri, struct reply *rp);
/* 400 "Invalid query string" when the query could not be read, else 0: the
 * router asks once route, database and token are checked (SPEC §8). */
int request_check_query(const struct req *rq, struct reply *rp);
/* Parses rq->body (body_len bytes) as one strict JSON value of valid UTF-8,
 * white space around it allowed, into rq->json: 0, or 400 "Invalid JSON body". */
int request_parse_json(struct req *rq, struct reply *rp);

/* The request's MySQL connection, taken from the pool the first time it is
 * needed (an answer from the caches needs none); NULL when MySQL cannot be
 * reached. The router gives it back (req_release). With a replica configured
 * (db_read_*), a GET is served by the replica, and by the primary while the
 * replica does not answer; any other method, which writes, by the primary. */
MYSQL *req_m(struct req *rq);

/* A connection to the primary: req_m's when that is one, else one more, for
 * what only the primary knows (the heads, /sync, tokens the replica lacks). */
MYSQL *req_primary(struct req *rq);

/* req_m's connection reads the server whose clock rows the clock poll reads
 * (the replica; without one, the primary): only what it shows of the clock
 * rows may be taught to the poll (poll_learn, poll_raise) or label a kept answer. */
bool req_m_polled(const struct req *rq);

/* Gives the connections back to their pools (broken ones are dropped). */
void req_release(struct req *rq);

/* Query parameter, or NULL. */
const char *req_query(const struct req *rq, const char *key);

/* Non-negative integer query parameter (dflt when absent, at most max). Returns 0, or 400 with the reply filled. */
int req_count(const struct req *rq, const char *key, long dflt, long max, long *out, struct reply *rp);

/* limit (dflt when absent, at most max) and offset (0 when absent) of a list.
 * Returns 0, or 400 with the reply filled. */
int req_page(const struct req *rq, long dflt, long max, long *limit, long *offset, struct reply *rp);

/* Value of the route's placeholder with this name ("db", "cid", ...), NULL when the route has none. */
const char *req_param(const struct req *rq, const char *name);

#endif
