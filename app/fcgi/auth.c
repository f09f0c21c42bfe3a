/* auth.c — tokens: made at random, stored as SHA-256 hashes, checked on every /db/{db} request. */
#include "fcgi/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/id.h"
#include "fcgi/watcher.h"
#include "store/db.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void token_hash(const char *token, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = 0;
}

int auth_token_new(MYSQL *m, const char *db, const char *contact, char out[AUTH_TOKEN_LEN + 1])
{
	/* Rejection sampling keeps every character uniform over the 62. */
	int k = 0;
	while (k < AUTH_TOKEN_LEN) {
		unsigned char buf[32];
		if (RAND_bytes(buf, sizeof buf) != 1)
			return -1;
		for (size_t i = 0; i < sizeof buf && k < AUTH_TOKEN_LEN; i++)
			if (buf[i] < 248)
				out[k++] = alphabet[buf[i] % 62];
	}
	out[k] = 0;
	char hex[65];
	token_hash(out, hex);
	return db_exec(m, "INSERT INTO tokens (hash, db, contact, created) VALUES (%Q, %Q, %Q, NOW())", hex,
	               db, contact) == 1
	           ? 0
	           : -1;
}

/* A token is 11..64 characters of [0-9A-Za-z]; anything else is not looked up. */
static int token_well_formed(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	return n >= 11 && n <= 64 && strspn(t, alphabet) == n;
}

int auth_token_revoke(MYSQL *m, const char *token)
{
	if (!token_well_formed(token))
		return 0;
	char hex[65];
	token_hash(token, hex);
	/* The epoch moves with the delete, in one transaction: every worker
	 * forgets the tokens it remembers within revoke_lag_ms. Without the
	 * epoch's row (sql/005-token-epoch.sql) nothing is deleted. */
	if (db_begin(m))
		return -1;
	long long n = db_exec(m, "DELETE FROM tokens WHERE hash = %Q", hex);
	if (n < 0 || (n > 0 && db_exec(m, "UPDATE token_epoch SET n = n + 1") != 1) || db_commit(m)) {
		db_rollback(m);
		return -1;
	}
	/* Workers refuse it once a poll of theirs has seen the new epoch: at
	 * most revoke_lag_ms from now. When this returns, it is refused. */
	if (n > 0)
		usleep((useconds_t)cf.revoke_lag_ms * 1000 + 5000);
	return n > 0;
}

/* The stored hash the look-up found against the hash of the token presented,
 * in constant time. The look-up itself goes through the primary-key index on
 * the hash, whose timing depends only on the hash, never on the token (README,
 * "Security"); this comparison makes the final yes or no independent of the
 * column's collation and of how MariaDB compares strings. */
static bool hash_matches(const char *stored, const char hex[65])
{
	return stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, hex, 64) == 0;
}

/* What a token row says: a server-administrator token (db NULL), or the contact of a database. */
struct token_row {
	bool server_admin;
	char db[ID_LEN + 1];
	char contact[ID_LEN + 1];
};

/* Each worker remembers the tokens it has found: a direct-mapped table, a
 * slot per stored hash, guarded by token_cache_lock. An entry holds while the
 * token epoch it was read under is the epoch of a poll that started at most
 * cf.revoke_lag_ms before the request (watcher_fresh): revoking bumps the
 * epoch (auth_token_revoke), so a revoked token is refused that long after
 * the revoke at most (runorgctl waits it out). Tokens not found are never
 * remembered. */
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

/* The row of the token whose hash is hex: 1 found, 0 not, -1 MySQL failed. */
static int token_find(struct req *rq, const char hex[65], struct token_row *t)
{
	uint64_t pos, epoch;
	bool fresh = watcher_fresh(rq->mark, rq->stream, cf.revoke_lag_ms * 1000L, &pos, &epoch);
	unsigned slot = token_slot(hex);
	if (fresh) {
		pthread_mutex_lock(&token_cache_lock);
		bool hit = token_cache[slot].epoch == epoch && hash_matches(token_cache[slot].hash, hex);
		if (hit)
			*t = token_cache[slot].row;
		pthread_mutex_unlock(&token_cache_lock);
		if (hit)
			return 1;
	}
	MYSQL *m = req_m(rq);
	MYSQL_RES *res = m ? db_query(m, "SELECT hash, db, contact FROM tokens WHERE hash = %Q", hex) : NULL;
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	int found = row && hash_matches(row[0], hex);
	if (found) {
		t->server_admin = row[1] == NULL;
		snprintf(t->db, sizeof t->db, "%s", row[1] ? row[1] : "");
		snprintf(t->contact, sizeof t->contact, "%s", row[2] ? row[2] : "");
	}
	mysql_free_result(res);
	if (found && fresh) {
		pthread_mutex_lock(&token_cache_lock);
		memcpy(token_cache[slot].hash, hex, 65);
		token_cache[slot].epoch = epoch;
		token_cache[slot].row = *t;
		pthread_mutex_unlock(&token_cache_lock);
	}
	return found;
}

int auth_server_admin(struct req *rq, struct reply *rp)
{
	if (!token_well_formed(rq->token))
		return reply_error(rp, 401, "A server administrator token is required");
	char hex[65];
	token_hash(rq->token, hex);
	struct token_row t;
	int found = token_find(rq, hex, &t);
	if (found < 0)
		return reply_internal(rp, "token lookup");
	if (!found || !t.server_admin)
		return reply_error(rp, 401, "A server administrator token is required");
	rq->server_admin = true;
	rq->admin = true;
	return 0;
}

/* Databases never move to another stream and are never removed, so each
 * worker remembers the stream of the databases it has seen: a direct-mapped
 * table, a slot per hash of the id, guarded by db_cache_lock. */
#define DB_CACHE_SLOTS 4096
static struct {
	char id[ID_LEN + 1];
	uint32_t stream;
} db_cache[DB_CACHE_SLOTS];
static pthread_mutex_t db_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned db_slot(const char *id)
{
	return hash_str(HASH_START, id) % DB_CACHE_SLOTS;
}

int auth_db_stream(struct req *rq, const char *db, uint32_t *stream)
{
	if (!id_valid(db))
		return 0;
	unsigned slot = db_slot(db);
	pthread_mutex_lock(&db_cache_lock);
	bool hit = !strcmp(db_cache[slot].id, db);
	*stream = db_cache[slot].stream;
	pthread_mutex_unlock(&db_cache_lock);
	if (hit)
		return 1;
	MYSQL *m = req_m(rq);
	long long s = m ? db_value(m, "SELECT stream FROM dbs WHERE id = %Q", db) : -1;
	if (s == -1)
		return -1;
	if (s < 0)
		return 0; /* not (yet) created: not remembered */
	*stream = (uint32_t)s;
	pthread_mutex_lock(&db_cache_lock);
	memcpy(db_cache[slot].id, db, ID_LEN + 1);
	db_cache[slot].stream = *stream;
	pthread_mutex_unlock(&db_cache_lock);
	return 1;
}

bool auth_is_admin(struct req *rq)
{
	if (rq->server_admin || rq->admin_known)
		return rq->server_admin || rq->admin;
	MYSQL *m = req_m(rq);
	long long n = m ? db_value(m,
	                           "SELECT COUNT(*) FROM group_members WHERE db = %Q AND grp = 'admin' "
	                           "AND contact = %Q",
	                           rq->db, rq->contact)
	                : -1;
	rq->admin = n > 0;
	rq->admin_known = n >= 0;
	return rq->admin;
}

int auth_load_database(struct req *rq, struct reply *rp)
{
	const char *db = req_param(rq, "db");
	int found = auth_db_stream(rq, db, &rq->stream);
	if (found < 0)
		return reply_internal(rp, "database lookup");
	if (!found)
		return reply_error(rp, 404, "Database %s does not exist", db);
	snprintf(rq->db, sizeof rq->db, "%s", db);
	return 0;
}

int auth_database(struct req *rq, struct reply *rp)
{
	int st = auth_load_database(rq, rp);
	if (st)
		return st;
	const char *db = rq->db;
	if (!token_well_formed(rq->token))
		return reply_error(rp, 401, "Token is not valid for database %s", db);
	char hex[65];
	token_hash(rq->token, hex);
	struct token_row t;
	int found = token_find(rq, hex, &t);
	if (found < 0)
		return reply_internal(rp, "token lookup");
	if (!found || (!t.server_admin && strcmp(t.db, db)))
		return reply_error(rp, 401, "Token is not valid for database %s", db);
	rq->server_admin = t.server_admin;
	snprintf(rq->contact, sizeof rq->contact, "%s", t.contact);
	const char *as = req_query(rq, "as");
	if (as && !rq->server_admin && strcmp(as, rq->contact))
		return reply_error(rp, 401, "This token may not act as contact '%.64s'", as);
	if (as && !id_valid(as))
		return reply_invalid(rp, "as", "expected a contact id", "Invalid as parameter");
	snprintf(rq->as, sizeof rq->as, "%s", as ? as : rq->contact);
	return 0;
}
