/* tokens_routes.c — the routes of tokens: HMAC login (a site's assertion for a contact), introspection,
 * logout.
 *
 * HMAC login (SPEC §6) needs no token: the proof is the credential. What an
 * unauthenticated caller can learn is kept to nothing: an unknown, deleted
 * or malformed key id costs the same HMAC as a real one and answers the same
 * "Invalid proof"; the proof is compared in constant time (core/hmac.c); the
 * expiry and the contact are looked at only once the proof holds, so only a
 * holder of the key learns whether a contact exists. */
#include "resources/tokens_routes.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmac.h"
#include "core/id.h"
#include "core/xalloc.h"
#include "fcgi/auth.h"
#include "fcgi/validate.h"
#include "resources/contacts.h"
#include "resources/groups.h"
#include "resources/keys.h"
#include "store/db.h"
#include "store/tokens.h"

/* <shortcontact> of cid into *self, or NULL (JSON null) when it does not
 * exist (yet): 0, or -1 when the database fails. */
static int self_of(MYSQL *m, const char *db, const char *cid, json_object **self)
{
	*self = NULL;
	MYSQL_RES *res =
	    db_query(m, "SELECT id, name, gender, pic FROM contacts WHERE db = %Q AND id = %Q", db, cid);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row)
		*self = contact_short(row);
	mysql_free_result(res);
	return 0;
}

/* Whether proof signs msg under the enabled key `keyid` of the request's
 * database: 1 yes, 0 no (whatever the reason), -1 the database or the server
 * secret failed. */
static int proof_holds(struct req *rq, const char *keyid, const char *msg, const char *proof)
{
	enum hmac_alg alg = HMAC_NONE;
	unsigned char key[KEY_MAX_BYTES];
	size_t n = 0;
	int found = id_valid(keyid) ? keys_open(rq->m, rq->db, keyid, &alg, key, &n) : 0;
	if (found < 0)
		return -1;
	if (!found) {
		/* The same HMAC and comparison under a key nobody holds, its result
		 * ignored: what is left to tell a real key from an unknown one is the
		 * AES open of a row found (a microsecond), and a key id that is not
		 * an id at all skips the look-up (ids are no secret). */
		alg = HMAC_SHA256;
		n = 32;
		memset(key, 0, n);
	}
	bool ok = hmac_proof_ok(alg, key, n, msg, proof);
	OPENSSL_cleanse(key, sizeof key);
	return ok && found;
}

int contacts_auth_hmac(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"id", "expires", "key", "proof", NULL};
	const char *cid = NULL, *expires = NULL, *keyid = NULL, *proof = NULL;
	long long until = 0;
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = validate_string(rq->json, "id", "body.id", true, &cid, rp);
	if (!st)
		st = validate_time(rq->json, "expires", "body.expires", &until, &expires, rp);
	if (!st)
		st = validate_string(rq->json, "key", "body.key", true, &keyid, rp);
	if (!st)
		st = validate_string(rq->json, "proof", "body.proof", true, &proof, rp);
	if (st)
		return st;
	size_t len = strlen(cid) + strlen(expires) + 16;
	char *msg = xmalloc(len);
	snprintf(msg, len, "auth:%s:until:%s", cid, expires);
	int holds = proof_holds(rq, keyid, msg, proof);
	free(msg);
	if (holds < 0)
		return reply_internal(rp, "hmac login");
	if (!holds)
		return reply_error(rp, 403, "Invalid proof");
	if (until <= (long long)(db_now_us() / 1000000))
		return reply_error(rp, 403, "Assertion expired");
	json_object *self = NULL;
	if (id_valid(cid) && self_of(rq->m, rq->db, cid, &self))
		return reply_internal(rp, "hmac login contact");
	if (!self)
		return reply_error(rp, 404, "Contact '%.64s' does not exist", cid);
	char token[TOKEN_LEN + 1];
	if (tokens_new(rq->m, rq->db, cid, token)) {
		json_object_put(self);
		return reply_internal(rp, "hmac login token");
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "self", self);
	return reply_json(rp, 200, o);
}

/* The row of the path's token when it is one of this database (or a server
 * administrator's): 1, 0 (reply filled: 404), -1 (500). */
static int path_token(struct req *rq, struct reply *rp, const char *token, struct token_row *t)
{
	int found = auth_token_row(rq, token, t); /* a replica's own rules (README, "Scaling out") */
	if (found < 0)
		return reply_internal(rp, "token lookup");
	if (!found || (!t->server_admin && strcmp(t->db, rq->db)))
		return reply_error(rp, 404, "Token does not exist");
	return 0;
}

int token_get(struct req *rq, struct reply *rp)
{
	const char *token = req_param(rq, "token");
	struct token_row t;
	int st = path_token(rq, rp, token, &t);
	if (st)
		return st;
	json_object *self = NULL;
	int admin = t.server_admin ? 1 : group_has_member(rq->m, rq->db, GROUP_ADMIN, t.contact);
	if (admin < 0 || (!t.server_admin && self_of(rq->m, rq->db, t.contact, &self)))
		return reply_internal(rp, "token introspection");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "self", self);
	json_object_object_add(o, "admin", json_object_new_boolean(admin));
	return reply_json(rp, 200, o);
}

int token_delete(struct req *rq, struct reply *rp)
{
	const char *token = req_param(rq, "token");
	bool own = false;
	if (tokens_well_formed(token) && rq->token_hash[0]) { /* the caller's hash: auth kept it */
		char hex[65];
		tokens_hash(token, hex);
		own = tokens_hash_matches(rq->token_hash, hex);
	}
	if (!own && !auth_is_admin(rq))
		return reply_error(rp, 403,
		                   "Only the token's holder or members of group admin may revoke it");
	struct token_row t;
	int st = path_token(rq, rp, token, &t);
	if (st)
		return st;
	/* A member of group admin revokes the contact tokens of its database;
	 * only a server administrator revokes another server administrator's
	 * (403: GET says the token exists, any token of the database may ask). */
	if (!own && t.server_admin && !auth_acts_as_server_admin(rq))
		return reply_error(rp, 403,
		                   "Only a server administrator may revoke a server administrator's token");
	/* Deleted, the token epoch moved, and revoke_lag_ms waited out: once this
	 * answers, no worker accepts the token (store/tokens.c). */
	if (tokens_revoke(rq->m, token) < 0)
		return reply_internal(rp, "token revoke");
	return reply_json(rp, 200, json_object_new_object());
}
