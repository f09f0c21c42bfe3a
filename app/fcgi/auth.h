/* auth.h — who a request is: its database, its token (checked on every /db/{db} request), as=, admin. */
#ifndef RUNORG_AUTH_H
#define RUNORG_AUTH_H

#include <stdbool.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"
#include "store/tokens.h"

/* 401 unless the request carries a server-administrator token. */
int auth_server_admin(struct req *rq, struct reply *rp);

/* 404 unless the database of the route exists; fills rq->db and rq->stream. */
int auth_load_database(struct req *rq, struct reply *rp);

/* For /db/{db} routes: 404 unless the database exists (fills rq->db and
 * rq->stream), then 401 unless the token is valid for it (a contact token of
 * that database or a server-administrator token) and as= (if given) is
 * allowed. Fills rq->contact, rq->as and rq->server_admin. */
int auth_database(struct req *rq, struct reply *rp);

/* After the wait: a server administrator's as= must name a contact of the
 * database (404 otherwise). 0 when there is nothing to check. */
int auth_as_exists(struct req *rq, struct reply *rp);

/* The row of a token (not the request's own) by the rules of the request's
 * own: from the read server when it has every revocation the primary has,
 * else from the primary, and from the primary too when the replica has none.
 * 1 found, 0 not (or not a token at all), -1 MySQL failed. Never remembered. */
int auth_token_row(struct req *rq, const char *token, struct token_row *t);

/* The request is a server administrator's: a server-administrator token acting
 * as no contact. With as=<cid> the request is that contact's (SPEC §1 "act as
 * that contact"): its levels, its membership of admin, not the token's powers. */
bool auth_acts_as_server_admin(const struct req *rq);

/* A server administrator's request (auth_acts_as_server_admin), or one acting as
 * a member of the database's group admin (asked of MySQL the first time a
 * request needs it). */
bool auth_is_admin(struct req *rq);

#endif
