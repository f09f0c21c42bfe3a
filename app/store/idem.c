/* idem.c — Idempotency-Key rows (sql/031-idempotency.sql), and the answer of a delayed write they record.
 *
 * A key row is written by the transaction that queues its request's command
 * (store/queue.c), with the answer: the answer of a delayed write names its
 * position, which the queue learns only inside that transaction, so the row
 * is sent as a template (IDEM_POS where the position goes) that the script
 * fills in with CONCAT(); the request's own answer is idem_answer with the
 * position: the first answer and every replay are the same bytes
 * (tests/unit/test_idem.c checks the two agree).
 *
 * A row counts while it is younger than idempotency_hours (UTC times of the
 * database); an older one is as good as absent, and goes before its key is
 * recorded again, or when the processor's janitor sweeps it. */
#include "store/idem.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/hex.h"
#include "core/xalloc.h"
#include "store/db.h"

/* The oldest creation time of a live row, as SQL. */
#define LIVE_SINCE "UTC_TIMESTAMP(6) - INTERVAL %d HOUR"

/* SHA-256 fetched once: OpenSSL 3 looks an algorithm up by name, under a
 * lock, each time EVP_sha256() is handed to EVP_DigestInit_ex. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void idem_digest(const void *const *parts, const size_t *lens, int n, char hex[IDEM_HEX + 1])
{
	pthread_once(&sha256_once, sha256_fetch);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		abort(); /* out of memory: see core/xalloc.h */
	EVP_DigestInit_ex(c, sha256 ? sha256 : EVP_sha256(), NULL);
	for (int i = 0; i < n; i++)
		if (lens[i])
			EVP_DigestUpdate(c, parts[i], lens[i]);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	hex_encode(md, IDEM_HEX / 2, hex);
}

void idem_set(struct idem *k, const char *token_hash, const char *key)
{
	idem_forget(k);
	snprintf(k->key, sizeof k->key, "%s", key);
	const void *parts[] = {token_hash, "\n", k->key};
	size_t lens[] = {strlen(token_hash), 1, strlen(k->key)};
	idem_digest(parts, lens, 3, k->id);
}

bool idem_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n < 1 || n > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7e)
			return false;
	return true;
}

/* The answer with pos_text where the position goes (NULL: nothing queued). */
static void answer(const char *head, const char *base, uint32_t stream, const char *pos_text, char **body,
                   char **location)
{
	size_t nb = strlen(head) + 64, nl = strlen(base) + 64;
	*body = xmalloc(nb);
	*location = xmalloc(nl);
	if (pos_text) {
		snprintf(*body, nb, "{%s\"at\":[[%u,%s]]}", head, stream, pos_text);
		snprintf(*location, nl, "%s/commands/%u.%s", base, stream, pos_text);
	} else {
		snprintf(*body, nb, "{%s\"at\":[]}", head);
		snprintf(*location, nl, "%s/commands/%u.0", base, stream);
	}
}

void idem_answer(const char *head, const char *base, uint32_t stream, uint64_t pos, char **body,
                 char **location)
{
	char num[24];
	snprintf(num, sizeof num, "%llu", (unsigned long long)pos);
	answer(head, base, stream, pos ? num : NULL, body, location);
}

void idem_template(const char *head, const char *base, uint32_t stream, char **body, char **location)
{
	static const char mark[2] = {IDEM_POS, 0};
	answer(head, base, stream, mark, body, location);
}

/* The columns fill_row reads, in its order. */
#define ROW_COLUMNS "LOWER(HEX(request)), status, location, body"

static void fill_row(struct idem *k, MYSQL_ROW row, unsigned long *len)
{
	idem_forget(k);
	k->found = true;
	snprintf(k->found_request, sizeof k->found_request, "%s", row[0]);
	k->status = atoi(row[1]);
	k->location = xstrdup(row[2]);
	k->body = xmalloc(len[3] + 1);
	memcpy(k->body, row[3], len[3]);
	k->body[len[3]] = 0;
}

int idem_find(MYSQL *m, struct idem *k)
{
	MYSQL_RES *res = db_query(
	    m, "SELECT " ROW_COLUMNS " FROM idempotency WHERE id = UNHEX(%Q) AND created >= " LIVE_SINCE,
	    k->id, cf.idempotency_hours);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	unsigned long *len = row ? mysql_fetch_lengths(res) : NULL;
	if (row)
		fill_row(k, row, len);
	mysql_free_result(res);
	return row ? 1 : 0;
}

/* "(UNHEX('..'),UNHEX('..'),...)": the ids of the keys, malloc'd. n > 0. */
static char *ids_in(MYSQL *m, struct idem *const *keys, int n)
{
	struct printbuf *w = xprintbuf_new();
	for (int i = 0; i < n; i++) {
		char *one = db_format(m, "%sUNHEX(%Q)", i ? "," : "(", keys[i]->id);
		xprintbuf_puts(w, one);
		free(one);
	}
	xprintbuf_puts(w, ")");
	return xprintbuf_take(w);
}

int idem_find_many(MYSQL *m, struct idem *const *keys, int n, bool *expired)
{
	for (int i = 0; i < n; i++)
		expired[i] = false;
	if (n == 0)
		return 0;
	char *in = ids_in(m, keys, n);
	MYSQL_RES *res = db_query(m,
	                          "SELECT " ROW_COLUMNS ", LOWER(HEX(id)), created >= " LIVE_SINCE
	                          " FROM idempotency WHERE id IN %s",
	                          cf.idempotency_hours, in);
	free(in);
	if (!res)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		for (int i = 0; i < n; i++) {
			if (strcmp(keys[i]->id, row[4]))
				continue;
			if (row[5][0] == '1')
				fill_row(keys[i], row, len);
			else
				expired[i] = true;
		}
	}
	mysql_free_result(res);
	return 0;
}

char *idem_delete_expired(MYSQL *m, struct idem *const *keys, int n)
{
	char *in = ids_in(m, keys, n);
	char *sql = db_format(m, "DELETE FROM idempotency WHERE id IN %s AND created < " LIVE_SINCE, in,
	                      cf.idempotency_hours);
	free(in);
	return sql;
}

/* s quoted and escaped, appended to sql. */
static void put_quoted(struct printbuf *sql, MYSQL *m, const char *s)
{
	char small[512];
	size_t n = 2 * strlen(s) + 3;
	char *e = n <= sizeof small ? small : xmalloc(n);
	xprintbuf_put(sql, e, db_quote_into(m, e, s));
	if (e != small)
		free(e);
}

/* A template as SQL: CONCAT('<text before IDEM_POS>', pos_sql, '<text after>', ...)
 * (CONCAT costs MariaDB a fraction of what REPLACE does), or the quoted text. */
static void put_filled(struct printbuf *sql, MYSQL *m, const char *text, const char *pos_sql)
{
	if (!pos_sql || !strchr(text, IDEM_POS)) {
		put_quoted(sql, m, text);
		return;
	}
	char *copy = xstrdup(text), *part = copy, *mark;
	xprintbuf_puts(sql, "CONCAT(");
	while ((mark = strchr(part, IDEM_POS))) {
		*mark = 0;
		put_quoted(sql, m, part);
		xprintbuf_puts(sql, ", ");
		xprintbuf_puts(sql, pos_sql);
		xprintbuf_puts(sql, ", ");
		part = mark + 1;
	}
	put_quoted(sql, m, part);
	xprintbuf_puts(sql, ")");
	free(copy);
}

void idem_append_row(struct printbuf *sql, MYSQL *m, const struct idem *k, int status, const char *location,
                     const char *body, const char *pos_sql)
{
	/* id and request are hex digits this program made (idem_digest). */
	char head[2 * IDEM_HEX + 48];
	snprintf(head, sizeof head, "(UNHEX('%s'), UNHEX('%s'), %d, ", k->id, k->request, status);
	xprintbuf_puts(sql, head);
	put_filled(sql, m, location, pos_sql);
	xprintbuf_puts(sql, ", ");
	put_filled(sql, m, body, pos_sql);
	xprintbuf_puts(sql, ", UTC_TIMESTAMP(6))");
}

int idem_record_tx(MYSQL *m, const struct idem *k, int status, const char *location, const char *body)
{
	if (db_exec(m, "DELETE FROM idempotency WHERE id = UNHEX(%Q) AND created < " LIVE_SINCE, k->id,
	            cf.idempotency_hours) < 0)
		return -1;
	struct printbuf *sql = xprintbuf_new();
	xprintbuf_puts(sql, IDEM_INSERT);
	idem_append_row(sql, m, k, status, location, body, NULL);
	long long r = db_exec(m, "%s", sql->buf);
	printbuf_free(sql);
	if (r == 1)
		return 0;
	return mysql_errno(m) == IDEM_DUPLICATE ? 1 : -1;
}

long long idem_sweep(MYSQL *m, int limit)
{
	return db_exec(m, "DELETE FROM idempotency WHERE created < " LIVE_SINCE " ORDER BY created LIMIT %d",
	               cf.idempotency_hours, limit);
}

void idem_forget(struct idem *k)
{
	free(k->body);
	free(k->location);
	k->body = k->location = NULL;
	k->found = false;
}
