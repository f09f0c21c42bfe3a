/* keys_routes.c — the routes of HMAC keys: create, list, delete (members of group admin).
 *
 * A key lets its holder log in as any contact of the database (POST
 * /contacts/auth/hmac), so only members of group admin and server
 * administrators may see or change them (403 otherwise). The secret is
 * sealed here, before anything is queued (resources/keys.c); no answer, no
 * error message and no log line repeats it. */
#include "resources/keys_routes.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/isotime.h"
#include "fcgi/auth.h"
#include "fcgi/retry.h"
#include "fcgi/validate.h"
#include "resources/keys.h"
#include "resources/rows.h"
#include "store/db.h"

static int need_admin(struct req *rq, struct reply *rp)
{
	if (auth_is_admin(rq))
		return 0;
	return reply_error(rp, 403, "Only members of group admin may manage keys");
}

/* The request's copies of the key, wiped before they are freed: the raw body
 * and the string json-c parsed from it. */
static void wipe_body(struct req *rq, json_object *key)
{
	if (key && json_object_is_type(key, json_type_string))
		OPENSSL_cleanse((char *)json_object_get_string(key), (size_t)json_object_get_string_len(key));
	if (rq->body)
		OPENSSL_cleanse(rq->body, rq->body_len);
}

int keys_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"hash", "key", "encoding", NULL};
	unsigned char key[KEY_MAX_BYTES];
	size_t n = 0;
	const char *hash = NULL, *encoding = NULL;
	json_object *k = NULL;
	int st = need_admin(rq, rp);
	if (!st)
		st = validate_body_object(rq, rp, fields);
	if (!st) {
		json_object_object_get_ex(rq->json, "key", &k);
		st = validate_string(rq->json, "hash", "body.hash", true, &hash, rp);
	}
	if (!st && hmac_alg_parse(hash) == HMAC_NONE)
		st = reply_invalid(rp, "body.hash", "expected \"SHA-1\" or \"SHA-256\"", "Invalid hash");
	if (!st)
		st = validate_string(rq->json, "encoding", "body.encoding", false, &encoding, rp);
	if (!st && encoding && strcmp(encoding, "hex"))
		st = reply_invalid(rp, "body.encoding", "expected \"hex\"", "Invalid encoding");
	if (!st)
		st = validate_hex(rq->json, "key", "body.key", KEY_MIN_BYTES, KEY_MAX_BYTES, key, &n, rp);
	char *sealed = NULL, id[ID_LEN + 1];
	if (!st) {
		id_next(id);
		if (!(sealed = keys_seal(rq->db, id, hmac_alg_parse(hash), key, n)))
			st = reply_internal(rp, "server secret (key_secret) unavailable");
	}
	OPENSSL_cleanse(key, sizeof key);
	wipe_body(rq, k);
	if (st)
		return st;
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "hash", json_object_new_string(hash));
	json_object_object_add(cmd, "secret", json_object_new_string(sealed));
	json_object_object_add(cmd, "created", json_object_new_string(isotime_text(db_now_us() / 1000000)));
	free(sealed);
	return retry_enqueue(rq, rp, "keys.create", cmd, id);
}

int keys_list(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = need_admin(rq, rp);
	if (!st)
		st = req_page(rq, 100, 1000, &limit, &offset, rp);
	if (st)
		return st;
	long long count;
	MYSQL_RES *res = rows_page(rq->m, KEY_COLUMNS, "hmac_keys", rq->db, limit, offset, &count);
	if (!res)
		return reply_internal(rp, "key list");
	json_object *list = json_object_new_array();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		json_object_array_add(list, key_json(row));
	mysql_free_result(res);
	return reply_list(rp, "list", list, count);
}

int key_delete(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	int st = need_admin(rq, rp);
	if (st)
		return st;
	long long enabled =
	    id_valid(id)
	        ? db_value(rq->m, "SELECT enabled FROM hmac_keys WHERE db = %Q AND id = %Q", rq->db, id)
	        : -2;
	if (enabled == -1)
		return reply_internal(rp, "key lookup");
	if (enabled == -2)
		return reply_error(rp, 404, "Key '%.64s' does not exist", id);
	/* Deleted already: nothing left to do, nothing queued, nothing to wait for. */
	json_object *cmd = NULL;
	if (enabled != 0) {
		cmd = json_object_new_object();
		json_object_object_add(cmd, "id", json_object_new_string(id));
	}
	return retry_enqueue(rq, rp, "keys.delete", cmd, NULL);
}
