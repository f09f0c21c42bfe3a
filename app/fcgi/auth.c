/* auth.c — tokens: made at random, stored as SHA-256 hashes, checked on every /db/{db} request. */
#include "fcgi/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
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
	long long n = db_exec(m, "DELETE FROM tokens WHERE hash = %Q", hex);
	return n < 0 ? -1 : n > 0;
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

int auth_server_admin(struct req *rq, struct reply *rp)
{
	if (!token_well_formed(rq->token))
		return reply_error(rp, 401, "A server administrator token is required");
	char hex[65];
	token_hash(rq->token, hex);
	MYSQL_RES *res = db_query(rq->m, "SELECT hash FROM tokens WHERE hash = %Q AND db IS NULL", hex);
	if (!res)
		return reply_internal(rp, "token lookup");
	MYSQL_ROW row = mysql_fetch_row(res);
	bool ok = row && hash_matches(row[0], hex);
	mysql_free_result(res);
	if (!ok)
		return reply_error(rp, 401, "A server administrator token is required");
	rq->server_admin = true;
	rq->admin = true;
	return 0;
}

/* One query answers both "does the database exist" and "whose token is this". */
int auth_database(struct req *rq, struct reply *rp)
{
	const char *db = req_param(rq, "db");
	if (!id_valid(db))
		return reply_error(rp, 404, "Database %s does not exist", db);
	char hex[65] = "";
	if (token_well_formed(rq->token))
		token_hash(rq->token, hex);
	MYSQL_RES *res =
	    db_query(rq->m,
	             "SELECT d.stream, t.hash, t.db, t.contact, (SELECT COUNT(*) FROM group_members g "
	             "WHERE g.db = d.id AND g.grp = 'admin' AND g.contact = t.contact) "
	             "FROM dbs d LEFT JOIN tokens t ON t.hash = %Q WHERE d.id = %Q",
	             hex, db);
	if (!res)
		return reply_internal(rp, "database and token lookup");
	MYSQL_ROW row = mysql_fetch_row(res);
	int r = 0;
	if (!row) {
		r = reply_error(rp, 404, "Database %s does not exist", db);
	} else {
		snprintf(rq->db, sizeof rq->db, "%s", db);
		rq->stream = (uint32_t)strtoul(row[0], NULL, 10);
		if (!hex[0] || !hash_matches(row[1], hex) || (row[2] && strcmp(row[2], db))) {
			r = reply_error(rp, 401, "Token is not valid for database %s", db);
		} else {
			rq->server_admin = row[2] == NULL;
			snprintf(rq->contact, sizeof rq->contact, "%s", row[3] ? row[3] : "");
			rq->admin = rq->server_admin || (row[4] && atoi(row[4]) > 0);
		}
	}
	mysql_free_result(res);
	if (r)
		return r;
	const char *as = req_query(rq, "as");
	if (as && !rq->server_admin && strcmp(as, rq->contact))
		return reply_error(rp, 401, "This token may not act as contact '%.64s'", as);
	if (as && !id_valid(as))
		return reply_invalid(rp, "as", "expected a contact id", "Invalid as parameter");
	snprintf(rq->as, sizeof rq->as, "%s", as ? as : rq->contact);
	return 0;
}
