/* tokens.c — tokens: made at random, stored only as SHA-256 hashes, found by hash, revoked. */
#include "store/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "store/db.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool tokens_well_formed(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	return n >= 11 && n <= 64 && strspn(t, alphabet) == n;
}

void tokens_hash(const char *token, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = 0;
}

int tokens_new(MYSQL *m, const char *db, const char *contact, char out[TOKEN_LEN + 1])
{
	/* Rejection sampling keeps every character uniform over the 62. */
	int k = 0;
	while (k < TOKEN_LEN) {
		unsigned char buf[32];
		if (RAND_bytes(buf, sizeof buf) != 1)
			return -1;
		for (size_t i = 0; i < sizeof buf && k < TOKEN_LEN; i++)
			if (buf[i] < 248)
				out[k++] = alphabet[buf[i] % 62];
	}
	out[k] = 0;
	char hex[65];
	tokens_hash(out, hex);
	return db_exec(m, "INSERT INTO tokens (hash, db, contact, created) VALUES (%Q, %Q, %Q, NOW())", hex,
	               db, contact) == 1
	           ? 0
	           : -1;
}

/* The stored hash the look-up found against the hash of the token presented,
 * in constant time. The look-up itself goes through the primary-key index on
 * the hash, whose timing depends only on the hash, never on the token (README,
 * "Security"); this comparison makes the final yes or no independent of the
 * column's collation and of how MariaDB compares strings. */
bool tokens_hash_matches(const char *stored, const char hex[65])
{
	return stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, hex, 64) == 0;
}

int tokens_find(MYSQL *m, const char hex[65], struct token_row *t)
{
	MYSQL_RES *res = db_query(m, "SELECT hash, db, contact FROM tokens WHERE hash = %Q", hex);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	int found = row && tokens_hash_matches(row[0], hex);
	if (found) {
		t->server_admin = row[1] == NULL;
		snprintf(t->db, sizeof t->db, "%s", row[1] ? row[1] : "");
		snprintf(t->contact, sizeof t->contact, "%s", row[2] ? row[2] : "");
	}
	mysql_free_result(res);
	return found;
}

int tokens_revoke(MYSQL *m, const char *token)
{
	if (!tokens_well_formed(token))
		return 0;
	char hex[65];
	tokens_hash(token, hex);
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
