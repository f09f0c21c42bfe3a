/* access.c — what the caller may do with one group or chat (SPEC §5): its level, or the 404 or 403 that
 * refuses it.
 *
 * Checked at request time, after the at= wait, against the memberships and
 * audiences applied so far: a request carrying the clock of a groups.add sees
 * the new member's access, one carrying the clock of a groups.remove refuses
 * the removed contact. Answers depend only on the projections and on who
 * asks, so the routes that use this stay cacheable (router.c, R_CACHE). */
#include "fcgi/access.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/id.h"
#include "fcgi/auth.h"
#include "store/db.h"

int access_missing(struct reply *rp, char kind, const char *id)
{
	return reply_error(rp, 404, "%s '%.64s' does not exist", kind == AUDIENCE_GROUP ? "Group" : "Chat",
	                   id ? id : "");
}

int access_require(struct req *rq, struct reply *rp, char kind, const char *id, int need, int *level,
                   struct audience_facts *f)
{
	struct audience_facts mine;
	int lv = 0;
	if (!f)
		f = &mine;
	*f = (struct audience_facts){0};
	if (level)
		*level = 0;
	bool valid = id && (kind == AUDIENCE_GROUP ? id_group_valid(id) : id_valid(id));
	int found = valid ? audience_facts(rq->m, rq->db, kind, id, rq->as, f) : 0;
	if (found < 0)
		return reply_internal(rp, "access");
	bool server_admin = auth_acts_as_server_admin(rq);
	if (found && !server_admin) {
		rq->admin = f->admin;
		rq->admin_known = true;
	}
	if (found)
		lv = audience_level(kind, f, server_admin);
	if (level)
		*level = lv;
	if (lv < 1)
		return access_missing(rp, kind, id);
	if (lv < need)
		return reply_error(rp, 403, "Requires '%s' access", audience_levels(kind)[need]);
	return 0;
}

char *access_visible_sql(struct req *rq, char kind)
{
	if (auth_acts_as_server_admin(rq))
		return db_format(rq->m, "(SELECT id AS rid, %d AS level FROM %s WHERE db = %Q)",
		                 audience_top(kind), kind == AUDIENCE_GROUP ? "`groups`" : "chats", rq->db);
	return audience_visible_sql(rq->m, rq->db, kind, rq->as, true);
}
