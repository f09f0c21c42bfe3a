/* tokens_routes.h — the routes of tokens: HMAC login (a site's assertion for a contact), introspection,
 * logout. */
#ifndef RUNORG_TOKENS_ROUTES_H
#define RUNORG_TOKENS_ROUTES_H

#include "fcgi/reply.h"
#include "fcgi/request.h"

int contacts_auth_hmac(struct req *rq, struct reply *rp);
int token_get(struct req *rq, struct reply *rp);
int token_delete(struct req *rq, struct reply *rp);

#endif
