/* auth.h — tokens: made at random, stored as SHA-256 hashes, checked on every /db/{db} request. */
#ifndef RUNORG_AUTH_H
#define RUNORG_AUTH_H

#include <mysql.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

#define AUTH_TOKEN_LEN 22

/* Makes a token and stores its hash inside the caller's transaction (or alone
 * under autocommit). db and contact NULL: a server-administrator token. Returns 0 or -1. */
int auth_token_new(MYSQL *m, const char *db, const char *contact, char out[AUTH_TOKEN_LEN + 1]);

/* Deletes a token, found by its hash (runorgctl token revoke), and returns
 * once no worker accepts it any more (after cf.revoke_lag_ms). Returns 1 when
 * it existed, 0 when it did not, -1 on a database error. */
int auth_token_revoke(MYSQL *m, const char *token);

/* 401 unless the request carries a server-administrator token. */
int auth_server_admin(struct req *rq, struct reply *rp);

/* 404 unless the database of the route exists; fills rq->db and rq->stream. */
int auth_load_database(struct req *rq, struct reply *rp);

/* For /db/{db} routes: 404 unless the database exists (fills rq->db and
 * rq->stream), then 401 unless the token is valid for it (a contact token of
 * that database or a server-administrator token) and as= (if given) is
 * allowed. Fills rq->contact, rq->as and rq->server_admin. */
int auth_database(struct req *rq, struct reply *rp);

/* The stream of a database: 1 (found), 0 (no such database), -1 (MySQL failed). */
int auth_db_stream(struct req *rq, const char *db, uint32_t *stream);

/* Server administrator, or member of the database's group admin (asked of
 * MySQL the first time a request needs it). */
bool auth_is_admin(struct req *rq);

#endif
