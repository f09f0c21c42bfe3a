/* idem.h — Idempotency-Key rows (sql/031-idempotency.sql), and the answer of a delayed write they record. */
#ifndef RUNORG_IDEM_H
#define RUNORG_IDEM_H

#include <json-c/printbuf.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDEM_KEY_MAX 255

/* Stands for the position in an answer template: JSON text never holds a raw
 * control character, nor does a Location, so it cannot be confused. */
#define IDEM_POS '\x01'

/* Hex digits of a row's id and of a request's fingerprint: 16 bytes each. */
#define IDEM_HEX 32

/* A request's Idempotency-Key, and the row recorded for it once found. */
struct idem {
	char key[IDEM_KEY_MAX + 1]; /* the header as sent */
	char id[IDEM_HEX + 1];      /* names the row: SHA-256 of the token's hash and the key (idem_set) */
	char request[IDEM_HEX + 1]; /* the request's fingerprint (fcgi/retry.c) */
	/* The row of the key, when there is a live one (idem_find, or the queue meeting it): */
	bool found;
	int status;
	char found_request[IDEM_HEX + 1];
	char *body, *location; /* malloc'd; idem_forget frees them */
};

/* The key of a request with the token whose SHA-256 is token_hash (keys are
 * per token): fills key and id, forgets any row. */
void idem_set(struct idem *k, const char *token_hash, const char *key);

/* The first IDEM_HEX hex digits of the SHA-256 of n parts (lengths given). */
void idem_digest(const void *const *parts, const size_t *lens, int n, char hex[IDEM_HEX + 1]);

/* 1 to IDEM_KEY_MAX printable ASCII characters (space to tilde). */
bool idem_key_valid(const char *key);

/* What a delayed write answers (SPEC §2, §7): body {<head>"at":[[stream,pos]]}
 * and Location <base>/commands/<stream>.<pos>, both malloc'd. head: the
 * members before "at", each followed by a comma ("" when none). pos 0:
 * nothing was queued: "at":[] and <stream>.0. idem_template makes the same
 * texts with IDEM_POS where the position goes (store/queue.c fills it in SQL). */
void idem_answer(const char *head, const char *base, uint32_t stream, uint64_t pos, char **body,
                 char **location);
void idem_template(const char *head, const char *base, uint32_t stream, char **body, char **location);

/* The live row (younger than idempotency_hours) of k's id: 1 found
 * (k->found and the row's fields filled), 0 none, -1 on error. */
int idem_find(MYSQL *m, struct idem *k);

/* The same for n keys in one query (the keys of a group-commit run): each
 * found one is filled; expired[i] tells that keys[i] has a row, but one too
 * old to count (it must go before the key is recorded again). 0 or -1. */
int idem_find_many(MYSQL *m, struct idem *const *keys, int n, bool *expired);

/* The statement that deletes the rows of these keys when they are expired,
 * malloc'd (for a script). n > 0. */
char *idem_delete_expired(MYSQL *m, struct idem *const *keys, int n);

/* INSERT of key rows, for a script: IDEM_INSERT, then one idem_append_row
 * per key, comma separated. The row's answer is the templates with IDEM_POS
 * replaced by pos_sql, an SQL expression of the script (NULL when the
 * templates hold no IDEM_POS). */
#define IDEM_INSERT "INSERT INTO idempotency (id, request, status, location, body, created) VALUES "
void idem_append_row(struct printbuf *sql, MYSQL *m, const struct idem *k, int status, const char *location,
                     const char *body, const char *pos_sql);

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
