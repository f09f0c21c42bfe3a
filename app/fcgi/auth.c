/* auth.c — who a request is: its database, its token (checked on every /db/{db} request), as=, admin.
 *
 * Each worker remembers the tokens it has found: a direct-mapped table, a
 * slot per stored hash, guarded by token_cache_lock. An entry holds while the
 * token epoch it was read under is the epoch of a poll that started at most
 * cf.revoke_lag_ms before the request (fresh.c): revoking bumps the epoch
 * (tokens_revoke), so a revoked token is refused that long after the revoke
 * at most, and tokens_revoke waits it out. Tokens not found are never
 * remembered. */
#include "fcgi/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/id.h"
#include "fcgi/dbcache.h"
#include "fcgi/fresh.h"
#include "fcgi/lag.h"
#include "fcgi/poll.h"
#include "fcgi/router.h"
#include "resources/groups.h"
#include "store/db.h"
#include "store/tokens.h"

#define TOKEN_CACHE_SLOTS 1024
static struct {
	char hash[65];
	uint64_t epoch;
	struct token_row row;
} token_cache[TOKEN_CACHE_SLOTS];
static pthread_mutex_t token_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned token_slot(const char hex[65])
{
	unsigned h = 0;
	for (int i = 0; i < 8; i++)
		h = h * 16 + (unsigned)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return h % TOKEN_CACHE_SLOTS;
}

/* The token's row from the read server when it may be asked (current), else,
 * or when it has none, from the primary: 1 found, 0 not, -1 MySQL failed. */
static int lookup(struct req *rq, const char hex[65], bool current, struct token_row *t)
{
	MYSQL *m = current ? req_m(rq) : req_primary(rq);
	int found = m ? tokens_find(m, hex, t) : -1;
	if (found == 0 && current && rq->m_replica) {
		m = req_primary(rq);
		found = m ? tokens_find(m, hex, t) : -1;
	}
	return found;
}

int auth_token_row(struct req *rq, const char *token, struct token_row *t)
{
	if (!tokens_well_formed(token))
		return 0;
	char hex[65];
	tokens_hash(token, hex);
	uint64_t newest = lag_replica_epoch() > poll_epoch() ? lag_replica_epoch() : poll_epoch();
	return lookup(rq, hex, lag_tokens_current(newest), t);
}

/* The row of the token whose hash is hex: 1 found, 0 not, -1 MySQL failed.
 *
 * With a replica (db_read_*), a token is taken from it (or from this cache)
 * only while it has every revocation the primary had a moment ago
 * (lag_tokens_current); else, and for a token it does not have (made on
 * another host a moment ago), the primary decides. */
static int token_find(struct req *rq, const char hex[65], struct token_row *t)
{
	uint64_t pos, epoch;
	bool fresh = fresh_position(rq->mark, rq->stream, cf.revoke_lag_ms * 1000L, &pos, &epoch);
	/* keep: what is remembered under this epoch holds; current: the replica,
	 * which is at least at the newest epoch read there, may be asked. */
	bool keep = fresh && lag_tokens_current(epoch);
	uint64_t newest = lag_replica_epoch() > poll_epoch() ? lag_replica_epoch() : poll_epoch();
	bool current = keep || lag_tokens_current(newest);
	unsigned slot = token_slot(hex);
	if (keep) {
		pthread_mutex_lock(&token_cache_lock);
		bool hit = token_cache[slot].epoch == epoch && tokens_hash_matches(token_cache[slot].hash, hex);
		if (hit)
			*t = token_cache[slot].row;
		pthread_mutex_unlock(&token_cache_lock);
		if (hit)
			return 1;
	}
	int found = lookup(rq, hex, current, t);
	/* Kept under the epoch the read server showed: a revocation moves it
	 * there, or keeps that epoch behind the primary's (not current). */
	if (found == 1 && keep) {
		pthread_mutex_lock(&token_cache_lock);
		memcpy(token_cache[slot].hash, hex, 65);
		token_cache[slot].epoch = epoch;
		token_cache[slot].row = *t;
		pthread_mutex_unlock(&token_cache_lock);
	}
	return found;
}

/* The row of the request's token and the token's hash (hex): 1 found, 0 not
 * (also when it is no token at all), -1 MySQL failed. */
static int request_token(struct req *rq, char hex[65], struct token_row *t)
{
	if (!tokens_well_formed(rq->token))
		return 0;
	tokens_hash(rq->token, hex);
	return token_find(rq, hex, t);
}

int auth_server_admin(struct req *rq, struct reply *rp)
{
	char hex[65];
	struct token_row t;
	int found = request_token(rq, hex, &t);
	if (found < 0)
		return reply_internal(rp, "token lookup");
	if (!found || !t.server_admin)
		return reply_error(rp, 401, "A server administrator token is required");
	memcpy(rq->token_hash, hex, sizeof rq->token_hash);
	rq->server_admin = true;
	rq->admin = true;
	rq->admin_known = true;
	return 0;
}

bool auth_acts_as_server_admin(const struct req *rq)
{
	return rq->server_admin && !rq->as[0];
}

bool auth_is_admin(struct req *rq)
{
	if (auth_acts_as_server_admin(rq))
		return true;
	if (rq->admin_known)
		return rq->admin;
	MYSQL *m = req_m(rq);
	int n = m ? group_has_member(m, rq->db, GROUP_ADMIN, rq->as) : -1;
	rq->admin = n > 0;
	rq->admin_known = n >= 0;
	return rq->admin;
}

static MYSQL *m_of(void *rq)
{
	return req_m(rq);
}

static MYSQL *primary_of(void *rq)
{
	return req_primary(rq);
}

int auth_load_database(struct req *rq, struct reply *rp)
{
	const char *db = req_param(rq, "db");
	int found = dbcache_stream(db, &rq->stream, m_of, rq);
	/* A database a replica does not have yet may be on the primary (databases
	 * are never removed nor moved: what the primary says is kept). */
	if (found == 0 && rq->m_replica)
		found = dbcache_stream(db, &rq->stream, primary_of, rq);
	if (found < 0)
		return reply_internal(rp, "database lookup");
	if (!found)
		return reply_error(rp, 404, "Database %.64s does not exist", db);
	snprintf(rq->db, sizeof rq->db, "%s", db);
	return 0;
}

int auth_database(struct req *rq, struct reply *rp)
{
	int st = auth_load_database(rq, rp);
	if (st)
		return st;
	const char *db = rq->db;
	char hex[65];
	struct token_row t;
	int found = request_token(rq, hex, &t);
	if (found < 0)
		return reply_internal(rp, "token lookup");
	if (!found || (!t.server_admin && strcmp(t.db, db)))
		return reply_error(rp, 401, "Token is not valid for database %s", db);
	rq->server_admin = t.server_admin;
	rq->admin = rq->admin_known = false; /* decided for the contact of as= (auth_is_admin) */
	memcpy(rq->token_hash, hex, sizeof rq->token_hash);
	snprintf(rq->contact, sizeof rq->contact, "%s", t.contact);
	const char *as = req_query(rq, "as");
	if (as && !rq->server_admin && strcmp(as, rq->contact))
		return reply_error(rp, 401, "This token may not act as contact '%.64s'", as);
	if (as && !id_valid(as))
		return reply_invalid(rp, "as", "expected a contact id", "Invalid as parameter");
	snprintf(rq->as, sizeof rq->as, "%s", as ? as : rq->contact);
	return 0;
}

int auth_as_exists(struct req *rq, struct reply *rp)
{
	if (!rq->server_admin || !rq->as[0] || !(rq->route->flags & R_DB) || (rq->route->flags & R_OPEN))
		return 0;
	long long n = db_value(rq->m, "SELECT COUNT(*) FROM contacts WHERE db = %Q AND id = %Q", rq->db, rq->as);
	if (n < 0)
		return reply_internal(rp, "as= lookup");
	return n ? 0 : reply_error(rp, 404, "Contact '%s' does not exist", rq->as);
}
