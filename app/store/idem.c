/* idem.c — Idempotency-Key rows (sql/006-idempotency.sql), and the answer of a delayed write they record.
 *
 * A key row is written by the transaction that queues its request's command
 * (store/queue.c), with the answer: the answer of a delayed write names its
 * position, which the queue learns only inside that transaction, so the row
 * is sent as a template (IDEM_POS where the position goes) that the script
 * fills with REPLACE(). idem_fill does the same in C for the request's own
 * answer: the first answer and every replay are the same bytes.
 *
 * A row counts while it is younger than idempotency_hours (UTC times of the
 * database); an older one is as good as absent, and goes before its key is
 * recorded again, or when the processor's janitor sweeps it. */
#include "store/idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/xalloc.h"
#include "store/db.h"

/* The oldest creation time of a live row, as SQL. */
#define LIVE_SINCE "UTC_TIMESTAMP(6) - INTERVAL %d HOUR"

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

char *idem_fill(const char *template, uint64_t pos)
{
	char num[24];
	int k = snprintf(num, sizeof num, "%llu", (unsigned long long)pos);
	size_t n = strlen(template), marks = 0;
	for (size_t i = 0; i < n; i++)
		marks += template[i] == IDEM_POS;
	char *out = xmalloc(n + marks * (size_t)k + 1), *w = out;
	for (const char *r = template; *r; r++) {
		if (*r == IDEM_POS) {
			memcpy(w, num, (size_t)k);
			w += k;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return out;
}

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
	MYSQL_RES *res =
	    db_query(m,
	             "SELECT request, status, location, body FROM idempotency WHERE token = %Q AND "
	             "idem_key = %Q AND created >= " LIVE_SINCE,
	             k->token, k->key, cf.idempotency_hours);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	unsigned long *len = row ? mysql_fetch_lengths(res) : NULL;
	if (row)
		fill_row(k, row, len);
	mysql_free_result(res);
	return row ? 1 : 0;
}

/* "(token = 'a' AND idem_key = 'b') OR ...", malloc'd. */
static char *keys_where(MYSQL *m, struct idem *const *keys, int n)
{
	struct printbuf *w = xprintbuf_new();
	for (int i = 0; i < n; i++) {
		char *one = db_format(m, "%s(token = %Q AND idem_key = %Q)", i ? " OR " : "", keys[i]->token,
		                      keys[i]->key);
		xprintbuf_puts(w, one);
		free(one);
	}
	return xprintbuf_take(w);
}

int idem_find_many(MYSQL *m, struct idem *const *keys, int n, bool *expired)
{
	for (int i = 0; i < n; i++)
		expired[i] = false;
	if (n == 0)
		return 0;
	char *where = keys_where(m, keys, n);
	MYSQL_RES *res =
	    db_query(m,
	             "SELECT request, status, location, body, token, idem_key, created >= " LIVE_SINCE
	             " FROM idempotency WHERE %s",
	             cf.idempotency_hours, where);
	free(where);
	if (!res)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		for (int i = 0; i < n; i++) {
			if (strcmp(keys[i]->token, row[4]) || strcmp(keys[i]->key, row[5]))
				continue;
			if (row[6][0] == '1')
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
	char *where = keys_where(m, keys, n);
	char *sql = db_format(m, "DELETE FROM idempotency WHERE created < " LIVE_SINCE " AND (%s)",
	                      cf.idempotency_hours, where);
	free(where);
	return sql;
}

/* A template as SQL: REPLACE('<escaped>', CHAR(1), pos_sql), or the quoted text. */
static char *filled_sql(MYSQL *m, const char *text, const char *pos_sql)
{
	if (pos_sql && strchr(text, IDEM_POS))
		return db_format(m, "REPLACE(%Q, CHAR(1), %s)", text, pos_sql);
	return db_format(m, "%Q", text);
}

char *idem_insert_row(MYSQL *m, const struct idem *k, int status, const char *location, const char *body,
                      const char *pos_sql)
{
	char *loc = filled_sql(m, location, pos_sql), *b = filled_sql(m, body, pos_sql);
	char *row = db_format(m, "(%Q, %Q, %Q, %d, %s, %s, UTC_TIMESTAMP(6))", k->token, k->key, k->request,
	                      status, loc, b);
	free(loc);
	free(b);
	return row;
}

int idem_record_tx(MYSQL *m, const struct idem *k, int status, const char *location, const char *body)
{
	if (db_exec(m, "DELETE FROM idempotency WHERE token = %Q AND idem_key = %Q AND created < " LIVE_SINCE,
	            k->token, k->key, cf.idempotency_hours) < 0)
		return -1;
	char *row = idem_insert_row(m, k, status, location, body, NULL);
	long long r = db_exec(m, IDEM_INSERT "%s", row);
	free(row);
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
