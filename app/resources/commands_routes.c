/* commands_routes.c — the routes of commands: what became of a delayed write (SPEC §7).
 *
 * Every 202 names its command in Location: .../commands/<stream>.<pos>, its
 * place in the queue. A ref is easy to guess (positions are no secret: every
 * clock shows them), so the access rule is the whole protection: a command is
 * shown only to the token that queued it, the contact it acted as, members of
 * the database's group admin and server administrators; anyone else, and a
 * command of another database, gets the 404 of a command that does not
 * exist. A write that queued nothing ("at": []) names <stream>.0, which has
 * nothing to apply: "applied", for any token of the database. */
#include "resources/commands_routes.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fcgi/auth.h"
#include "store/queue.h"

/* A decimal number without leading zeros (but "0"), at most max. */
static bool number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool command_ref_parse(const char *ref, uint32_t *stream, uint64_t *pos)
{
	const char *dot = ref ? strchr(ref, '.') : NULL;
	uint64_t s;
	if (!dot || !number(ref, (size_t)(dot - ref), UINT32_MAX, &s) || s == 0 ||
	    !number(dot + 1, strlen(dot + 1), INT64_MAX, pos))
		return false;
	*stream = (uint32_t)s;
	return true;
}

static int missing(struct reply *rp, const char *ref)
{
	return reply_error(rp, 404, "Command '%.64s' does not exist", ref ? ref : "");
}

static int outcome_reply(struct reply *rp, const char *status, const char *reason, uint32_t stream,
                         uint64_t pos)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "reason", json_str(reason));
	json_object_object_add(o, "at", json_at(stream, pos));
	return reply_json(rp, 200, o);
}

/* The command at (stream, pos) of database db (NULL: the server's), if the
 * request may see it. */
static int show(struct req *rq, struct reply *rp, const char *db, uint32_t stream, uint64_t pos)
{
	const char *ref = req_param(rq, "ref");
	struct queue_outcome o;
	int found = queue_outcome(rq->m, stream, pos, &o);
	if (found < 0)
		return reply_internal(rp, "command look-up");
	bool same_db = found && (db ? o.db && !strcmp(o.db, db) : !o.db);
	bool own = found && ((o.token && rq->token_hash[0] && !strcmp(o.token, rq->token_hash)) ||
	                     (o.contact && rq->as[0] && !strcmp(o.contact, rq->as)));
	int st;
	if (!same_db || !(own || auth_is_admin(rq)))
		st = missing(rp, ref);
	else
		st = outcome_reply(rp,
		                   !o.applied ? "queued"
		                   : o.failed ? "failed"
		                              : "applied",
		                   o.applied && o.failed ? (o.reason ? o.reason : "") : NULL, stream, pos);
	queue_outcome_free(&o);
	return st;
}

int command_get(struct req *rq, struct reply *rp)
{
	const char *ref = req_param(rq, "ref");
	uint32_t stream;
	uint64_t pos;
	if (!command_ref_parse(ref, &stream, &pos) || stream != rq->stream)
		return missing(rp, ref);
	if (pos == 0)
		return outcome_reply(rp, "applied", NULL, stream, 0); /* nothing was queued */
	return show(rq, rp, rq->db, stream, pos);
}

int server_command_get(struct req *rq, struct reply *rp)
{
	const char *ref = req_param(rq, "ref");
	uint32_t stream;
	uint64_t pos;
	if (!command_ref_parse(ref, &stream, &pos) || stream != QUEUE_SERVER_STREAM)
		return missing(rp, ref);
	if (pos == 0)
		return outcome_reply(rp, "applied", NULL, stream, 0);
	return show(rq, rp, NULL, stream, pos);
}
