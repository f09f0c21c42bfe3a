/* reply.h — what a handler answers: a JSON body or an error; written to the client in one place. */
#ifndef RUNORG_REPLY_H
#define RUNORG_REPLY_H

#include <fcgiapp.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "core/clock.h"
#include "core/json.h"
#include "store/db.h"

struct reply {
	int status;
	json_object *body; /* success body, owned by the reply */
	char *text;        /* or its text already made (from the reply cache), owned by the reply */
	char error[512];   /* error message (status >= 400) */
	char at[96];       /* optional: where in the input the fault is, e.g. "body[0].email" */
	char reason[256];  /* optional: why */
	char allow[64];    /* 405: the Allow header */
	bool timeout;      /* 503 after waiting on at= (reply_not_yet) */
	struct clock *current, *expected; /* then (malloc'd, freed by reply_free) */
	bool head;         /* answer to HEAD: status and headers only */
	char *location;    /* Location: the command a delayed write queued (retry.c), owned, or NULL */
	int retry_after;   /* Retry-After in seconds: every 503 has one (0: 1); a 409 when set */
	long long kept;    /* > 0: test mode shows the position a kept answer is labelled with */
	long stale_ms;     /* > 0: read from a replica this far behind (a Warning header) */
};

/* Each returns the status, so handlers can `return reply_json(rp, 200, obj);`. */
int reply_json(struct reply *rp, int status, json_object *body);
int reply_error(struct reply *rp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 400 that points at the faulty part of the input. */
int reply_invalid(struct reply *rp, const char *at, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 500, logged with the route; the client only sees "Internal error". */
int reply_internal(struct reply *rp, const char *what);

/* 503 (with Retry-After) after waiting for `want` in vain: the body names both
 * clocks. The one place this answer is made (at= and /sync). */
int reply_not_yet(struct reply *rp, const struct clock *want, const struct clock *current);

/* The answer to a request that failed on the database, from why (db_state):
 * a 503 with Retry-After that says what the client can do about it (README,
 * "Failures and retries"), or a 500 when MariaDB is up and well. */
int reply_db(struct reply *rp, enum db_state why);

/* 200 {"<key>": list, "count": count} */
int reply_list(struct reply *rp, const char *key, json_object *list, long long count);

/* Writes status, headers and body: every error body is {"error","path"} (+ "at", "reason",
 * or for 503 "current" and "expected"). */
void reply_send(FCGX_Stream *out, const struct reply *rp, const char *path);
void reply_free(struct reply *rp);

#endif
