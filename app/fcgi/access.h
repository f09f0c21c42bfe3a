/* access.h — what the caller may do with one group or chat (SPEC §5): its level, or the 404 or 403 that
 * refuses it. */
#ifndef RUNORG_ACCESS_H
#define RUNORG_ACCESS_H

#include "fcgi/reply.h"
#include "fcgi/request.h"
#include "resources/audience.h"

/* The caller's level on resource `id` of `kind` (AUDIENCE_GROUP, AUDIENCE_CHAT)
 * into *level, and what the look-up found into *f (either may be NULL), in one
 * query after the wait (audience_facts). Returns 0 when the level reaches
 * `need`; 404 with the resource's own "does not exist" when it is missing or
 * the caller may not even view it (a hidden resource looks missing); 403
 * "Requires '<level>' access" when it may view it but not reach `need`; 500.
 * Also tells auth_is_admin what it learnt. */
int access_require(struct req *rq, struct reply *rp, char kind, const char *id, int need, int *level,
                   struct audience_facts *f);

/* The 404 of a resource that is missing or hidden. */
int access_missing(struct reply *rp, char kind, const char *id);

/* SQL text of a derived table (rid, level): the resources of kind that the
 * caller may view, with its level on each (every one for a server
 * administrator). Escaped: safe to insert with %s. malloc'd. */
char *access_visible_sql(struct req *rq, char kind);

#endif
