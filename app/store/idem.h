/* idem.h — Idempotency-Key rows (sql/006-idempotency.sql), and the answer of a delayed write they record. */
#ifndef RUNORG_IDEM_H
#define RUNORG_IDEM_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#define IDEM_KEY_MAX 255

/* Stands for the position in an answer template: JSON text never holds a raw
 * control character, nor does a Location, so it cannot be confused. */
#define IDEM_POS '\x01'

/* A request's Idempotency-Key, and the row recorded for it once found. */
struct idem {
	char token[65];             /* SHA-256 hex of the request's token: keys are per token */
	char key[IDEM_KEY_MAX + 1]; /* the header as sent */
	char request[65];           /* the request's fingerprint: SHA-256 hex of method, path, as= and body */
	/* The row of (token, key), when there is a live one (idem_find, or the queue meeting it): */
	bool found;
	int status;
	char found_request[65];
	char *body, *location; /* malloc'd; idem_forget frees them */
};

/* 1 to IDEM_KEY_MAX printable ASCII characters (space to tilde). */
bool idem_key_valid(const char *key);

/* What a delayed write answers (SPEC §2, §7): body {<head>"at":[[stream,pos]]}
 * and Location <base>/commands/<stream>.<pos>, both malloc'd. head: the
 * members before "at", each followed by a comma ("" when none). pos 0:
 * nothing was queued: "at":[] and <stream>.0. idem_template makes the same
 * texts with IDEM_POS where the position goes; idem_fill puts it there. */
void idem_answer(const char *head, const char *base, uint32_t stream, uint64_t pos, char **body,
                 char **location);
void idem_template(const char *head, const char *base, uint32_t stream, char **body, char **location);
char *idem_fill(const char *template, uint64_t pos);

/* The live row (younger than idempotency_hours) of k's token and key: 1 found
 * (k->found and the row's fields filled), 0 none, -1 on error. */
int idem_find(MYSQL *m, struct idem *k);

/* The same for n keys in one query (the keys of a group-commit run): each
 * found one is filled; expired[i] tells that keys[i] has a row, but one too
 * old to count (it must go before the key is recorded again). 0 or -1. */
int idem_find_many(MYSQL *m, struct idem *const *keys, int n, bool *expired);

/* The statement that deletes the rows of these keys when they are expired,
 * malloc'd (for a script). n > 0. */
char *idem_delete_expired(MYSQL *m, struct idem *const *keys, int n);

/* INSERT of key rows, for a script: idem_insert_head, then one
 * idem_insert_row per key, comma separated. The row's answer is the
 * templates with IDEM_POS replaced by pos_sql, an SQL expression of the
 * script (NULL when the templates hold no IDEM_POS). All malloc'd. */
#define IDEM_INSERT                                                                                          \
	"INSERT INTO idempotency (token, idem_key, request, status, location, body, created) VALUES "
char *idem_insert_row(MYSQL *m, const struct idem *k, int status, const char *location, const char *body,
                      const char *pos_sql);

/* Records k with its answer inside the caller's transaction (after removing
 * an expired row of the same key): 0; 1 when the key has a live row already
 * (the caller rolls back: idem_find then reads it); -1 on error. */
int idem_record_tx(MYSQL *m, const struct idem *k, int status, const char *location, const char *body);

/* Deletes at most `limit` rows older than idempotency_hours, oldest first:
 * how many, or -1 on error. */
long long idem_sweep(MYSQL *m, int limit);

/* Frees what a found row holds, and forgets it. */
void idem_forget(struct idem *k);

/* MariaDB's error for a key recorded already (ER_DUP_ENTRY). */
#define IDEM_DUPLICATE 1062

#endif
