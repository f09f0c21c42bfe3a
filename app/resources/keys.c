/* keys.c — HMAC keys of a database: their secrets sealed and opened, their list, and the appliers of their
 * commands.
 *
 * A key's secret is sealed by the front when the request comes (keys_seal),
 * so that the command in the queue, the row, and every copy of the database
 * hold it only encrypted under the server secret (store/secret.c), which is
 * kept out of the database. The processor stores the sealed text as given. */
#include "resources/keys.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isotime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/seal.h"
#include "resources/apply.h"
#include "store/db.h"
#include "store/secret.h"

/* What a sealed secret is bound to: its database, its id and its hash. */
static void aad(char *buf, size_t size, const char *db, const char *id, enum hmac_alg alg)
{
	snprintf(buf, size, "runorg hmac key:%s:%s:%s", db, id, hmac_alg_name(alg));
}

char *keys_seal(const char *db, const char *id, enum hmac_alg alg, const unsigned char *key, size_t n)
{
	unsigned char s[SEAL_KEY_SIZE];
	if (secret_get(s))
		return NULL;
	char a[96];
	aad(a, sizeof a, db, id, alg);
	char *text = seal_text(s, a, key, n);
	OPENSSL_cleanse(s, sizeof s);
	return text;
}

int keys_open(MYSQL *m, const char *db, const char *id, enum hmac_alg *alg, unsigned char *out, size_t *n)
{
	MYSQL_RES *res = db_query(
	    m, "SELECT hash, secret FROM hmac_keys WHERE db = %Q AND id = %Q AND enabled = 1", db, id);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	int r = 0;
	if (row && row[1]) {
		unsigned char s[SEAL_KEY_SIZE];
		*alg = hmac_alg_parse(row[0]);
		char a[96];
		aad(a, sizeof a, db, id, *alg);
		long k = -1;
		if (secret_get(s)) {
			r = -1;
		} else if (*alg == HMAC_NONE || (k = seal_open(s, a, row[1], out, KEY_MAX_BYTES)) < 0) {
			log_warn("key %s of database %s does not open: sealed under another server secret?",
			         id, db);
		} else {
			*n = (size_t)k;
			r = 1;
		}
		OPENSSL_cleanse(s, sizeof s);
	}
	mysql_free_result(res);
	return r;
}

json_object *key_json(MYSQL_ROW row)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(row[0]));
	json_object_object_add(o, "hash", json_object_new_string(row[1]));
	json_object_object_add(o, "created", json_object_new_string(row[2]));
	json_object_object_add(o, "enabled", json_object_new_boolean(atoi(row[3]) != 0));
	return o;
}

/* ---- Appliers (run by the processor inside the apply transaction) ---- */

int keys_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id"), *hash = json_get_string(payload, "hash"),
	           *secret = json_get_string(payload, "secret"),
	           *created = json_get_string(payload, "created");
	long long t;
	if (!id || hmac_alg_parse(hash) == HMAC_NONE || !secret || isotime_parse(created, &t)) {
		snprintf(reason, size, "malformed keys.create command");
		return APPLY_FAILED;
	}
	long long r = db_exec(m,
	                      "INSERT IGNORE INTO hmac_keys (db, id, hash, secret, created, enabled) "
	                      "VALUES (%Q, %Q, %Q, %Q, " ISOTIME_SQL_IN ", 1)",
	                      db, id, hash, secret, created);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Key '%s' already exists", id);
		return APPLY_FAILED;
	}
	return APPLY_OK;
}

int keys_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id");
	if (!id) {
		snprintf(reason, size, "malformed keys.delete command");
		return APPLY_FAILED;
	}
	/* Already disabled, or never there: nothing to do, and nothing wrong. */
	return db_exec(m, "UPDATE hmac_keys SET enabled = 0, secret = NULL WHERE db = %Q AND id = %Q", db,
	               id) < 0
	           ? APPLY_ERROR
	           : APPLY_OK;
}
