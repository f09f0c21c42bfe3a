/* tokens.h — tokens: made at random, stored only as SHA-256 hashes, found by hash, revoked. */
#ifndef RUNORG_TOKENS_H
#define RUNORG_TOKENS_H

#include <mysql.h>
#include <stdbool.h>

#include "core/id.h"

#define TOKEN_LEN 22

/* What a token row says: a server-administrator token (db NULL in the row), or a contact of a database. */
struct token_row {
	bool server_admin;
	char db[ID_LEN + 1];
	char contact[ID_LEN + 1];
};

/* A token is 11..64 characters of [0-9A-Za-z]; anything else is never looked up. */
bool tokens_well_formed(const char *token);

/* The SHA-256 of the token, in lower-case hex: the primary key of its row. */
void tokens_hash(const char *token, char hex[65]);

/* Makes a token and stores its hash inside the caller's transaction (or alone
 * under autocommit). db and contact NULL: a server-administrator token. Returns 0 or -1. */
int tokens_new(MYSQL *m, const char *db, const char *contact, char out[TOKEN_LEN + 1]);

/* The row of the token whose hash is hex: 1 found, 0 not, -1 MySQL failed. */
int tokens_find(MYSQL *m, const char hex[65], struct token_row *t);

/* True when a stored hash is the hash of the token presented (constant time). */
bool tokens_hash_matches(const char *stored, const char hex[65]);

/* Deletes a token, found by its hash, with the token epoch moved in the same
 * transaction, and returns once no worker accepts it any more (after
 * cf.revoke_lag_ms). Returns 1 when it existed, 0 when it did not, -1 on a
 * database error. */
int tokens_revoke(MYSQL *m, const char *token);

#endif
