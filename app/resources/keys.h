/* keys.h — HMAC keys of a database: their secrets sealed and opened, their list, and the appliers of their
 * commands. */
#ifndef RUNORG_KEYS_H
#define RUNORG_KEYS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

#include "core/hmac.h"
#include "core/isotime.h"

#define KEY_MIN_BYTES 16
#define KEY_MAX_BYTES 128

/* The key's secret sealed under the server secret and bound to (db, id, alg):
 * the text the command keys.create carries and hmac_keys.secret holds.
 * malloc'd; NULL when the server secret is unavailable (logged). */
char *keys_seal(const char *db, const char *id, enum hmac_alg alg, const unsigned char *key, size_t n);

/* The enabled key `id` of db, opened: 1 with *alg and its n bytes in out
 * (room for KEY_MAX_BYTES); 0 when there is no such enabled key, or it does
 * not open (sealed under another server secret: logged); -1 when the
 * database or the server secret fails. */
int keys_open(MYSQL *m, const char *db, const char *id, enum hmac_alg *alg, unsigned char *out, size_t *n);

/* The columns key_json reads, in its order, for a SELECT of hmac_keys. */
#define KEY_COLUMNS "id, hash, " ISOTIME_SQL_OUT("created") ", enabled"
/* {"id","hash","created","enabled"} from a row of KEY_COLUMNS: never the secret. */
json_object *key_json(MYSQL_ROW row);

/* Command "keys.create" {"id","hash","secret" (sealed),"created"}. */
int keys_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Command "keys.delete" {"id"}: the key is disabled and its sealed secret wiped. */
int keys_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
