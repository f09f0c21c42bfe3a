/* contacts_routes.c — the routes of contacts: import (validation, duplicates, enqueue), read, list, search, test auth. */
#include "resources/contacts_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/id.h"
#include "core/person.h"
#include "core/xalloc.h"
#include "fcgi/auth.h"
#include "fcgi/retry.h"
#include "fcgi/validate.h"
#include "resources/contacts.h"
#include "resources/rows.h"
#include "store/db.h"
#include "store/queue.h"
#include "store/tokens.h"

#define SHORT_COLUMNS "id, name, gender, pic"

/* ---- Import: validation, duplicates, enqueue ---- */

struct item {
	char *email, *key, *fullname, *firstname, *lastname;
	const char *gender;
	char id[ID_LEN + 1];
	bool is_new;
};

static void items_free(struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].email);
		free(it[i].key);
		free(it[i].fullname);
		free(it[i].firstname);
		free(it[i].lastname);
	}
	free(it);
}

static int email_field(json_object *obj, const char *at, bool required, char **out, struct reply *rp)
{
	int st = validate_label(obj, "email", at, required, out, rp);
	if (!st && *out && person_email_check(*out))
		st = reply_invalid(rp, at, "expected an e-mail address", "Invalid e-mail '%.200s'", *out);
	return st;
}

static int item_read(json_object *obj, size_t i, struct item *it, struct reply *rp)
{
	static const char *const fields[] = {"email", "fullname", "firstname", "lastname", "gender", NULL};
	char at[96];
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(at, sizeof at, "body[%zu]", i);
		return reply_invalid(rp, at, "expected an object", "Contact %zu is not an object", i);
	}
	snprintf(at, sizeof at, "body[%zu]", i);
	int st = validate_fields(obj, fields, at, rp);
	if (st)
		return st;
	snprintf(at, sizeof at, "body[%zu].email", i);
	if ((st = email_field(obj, at, true, &it->email, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].fullname", i);
	if ((st = validate_label(obj, "fullname", at, false, &it->fullname, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].firstname", i);
	if ((st = validate_label(obj, "firstname", at, false, &it->firstname, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].lastname", i);
	if ((st = validate_label(obj, "lastname", at, false, &it->lastname, rp)))
		return st;
	json_object *g;
	if (json_object_object_get_ex(obj, "gender", &g) && g) {
		const char *s = json_object_is_type(g, json_type_string) ? json_object_get_string(g) : "";
		if (json_object_get_string_len(g) != 1 || (strcmp(s, "M") && strcmp(s, "F"))) {
			snprintf(at, sizeof at, "body[%zu].gender", i);
			return reply_invalid(rp, at, "expected \"M\" or \"F\"", "Invalid gender");
		}
		it->gender = s[0] == 'M' ? "M" : "F";
	}
	it->key = person_email_key(it->email);
	return 0;
}

/* Gives the item the id of an existing contact with the same e-mail
 * (case-insensitive), or a new one. */
static int item_match(MYSQL *m, const char *db, struct item *it)
{
	MYSQL_RES *res =
	    db_query(m, "SELECT MIN(id) FROM contacts WHERE db = %Q AND email_key = %Q", db, it->key);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row && row[0]) {
		snprintf(it->id, sizeof it->id, "%s", row[0]);
	} else {
		id_next(it->id);
		it->is_new = true;
	}
	mysql_free_result(res);
	return 0;
}

/* What the group-commit leader needs to make an import's command, and the
 * head of its answer ("created"), which only the leader knows. */
struct import_job {
	const char *db;
	struct item *it;
	size_t n;
	struct queue_req *req;
};

/* The head of an import's answer: "created":[ids in input order], */
static void created_head(struct import_job *job)
{
	json_object *head = json_object_new_object(), *created = json_object_new_array();
	for (size_t i = 0; i < job->n; i++)
		json_object_array_add(created, json_object_new_string(job->it[i].id));
	json_object_object_add(head, "created", created);
	const char *t = json_text(head);
	size_t n = strlen(t); /* {"created":[...]} without its braces, then a comma */
	free(job->req->head);
	job->req->head = xmalloc(n);
	memcpy(job->req->head, t + 1, n - 2);
	job->req->head[n - 2] = ',';
	job->req->head[n - 1] = 0;
	json_object_put(head);
}

/* (db, e-mail key) -> the id it gets within one run: open addressing over
 * pointers into the run's items, sized twice their number. */
struct key_table {
	struct {
		const char *db, *key;
		const char *id;             /* the id an item of the run took for it */
		int job;                    /* the job whose command creates that id */
		char existing[ID_LEN + 1];  /* or the id of a contact that has it already */
	} *slot;
	size_t size;
};

static size_t key_hash(const struct key_table *t, const char *db, const char *key)
{
	return hash_str(hash_str(HASH_START, db), key) % t->size;
}

/* The slot of (db, key): where it is, or the empty one where it would go. */
static size_t key_find(const struct key_table *t, const char *db, const char *key)
{
	size_t i = key_hash(t, db, key);
	while (t->slot[i].key && (strcmp(t->slot[i].key, key) || strcmp(t->slot[i].db, db)))
		i = (i + 1) % t->size;
	return i;
}

/* Every e-mail key of the run's jobs that a contact of their database already
 * has, with the smallest such id: one query for the whole run. */
static int existing_ids(MYSQL *m, struct import_job **jobs, int n, struct key_table *t)
{
	struct printbuf *where = xprintbuf_new();
	for (int j = 0; j < n; j++) {
		bool seen_db = false;
		for (int k = 0; k < j && !seen_db; k++)
			seen_db = !strcmp(jobs[k]->db, jobs[j]->db);
		if (seen_db || jobs[j]->n == 0)
			continue;
		/* The keys of every job of this database. */
		size_t total = 0;
		for (int k = j; k < n; k++)
			if (!strcmp(jobs[k]->db, jobs[j]->db))
				total += jobs[k]->n;
		const char **keys = xmalloc(total * sizeof *keys);
		size_t nk = 0;
		for (int k = j; k < n; k++)
			if (!strcmp(jobs[k]->db, jobs[j]->db))
				for (size_t i = 0; i < jobs[k]->n; i++)
					keys[nk++] = jobs[k]->it[i].key;
		char *in = db_quote_list(m, keys, (int)nk);
		char *one = db_format(m, "%s(db = %Q AND email_key IN %s)", where->bpos ? " OR " : "", jobs[j]->db, in);
		free(keys);
		free(in);
		xprintbuf_puts(where, one);
		free(one);
	}
	int r = 0;
	if (where->bpos) {
		MYSQL_RES *res = db_query(
		    m, "SELECT db, email_key, MIN(id) FROM contacts WHERE %s GROUP BY db, email_key", where->buf);
		if (!res) {
			r = -1;
		} else {
			MYSQL_ROW row;
			while ((row = mysql_fetch_row(res))) {
				size_t i = key_find(t, row[0], row[1]);
				if (t->slot[i].key) /* else the collation matched a key written otherwise */
					snprintf(t->slot[i].existing, sizeof t->slot[i].existing, "%s", row[2]);
			}
			mysql_free_result(res);
		}
	}
	printbuf_free(where);
	return r;
}

static json_object *item_command(const struct item *it)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "id", json_object_new_string(it->id));
	json_object_object_add(c, "email", json_object_new_string(it->email));
	json_object_object_add(c, "fullname", json_str(it->fullname));
	json_object_object_add(c, "firstname", json_str(it->firstname));
	json_object_object_add(c, "lastname", json_str(it->lastname));
	json_object_object_add(c, "gender", json_str(it->gender));
	return c;
}

/* The prepare function of contacts.import (queue_push_prepared): gives each
 * item the id of an existing contact with the same e-mail (case-insensitive),
 * or of an earlier item of the run with the same e-mail (in this request or
 * one queued before it), or a new one; each job's command lists its new
 * contacts. A job with none queues nothing: it waits for the last earlier
 * job whose contacts it names (after[j]), or for nothing. */
static int import_prepare(MYSQL *m, void **jobv, char **made, int *after, int n)
{
	struct import_job **jobs = (struct import_job **)jobv;
	size_t items = 0;
	for (int j = 0; j < n; j++)
		items += jobs[j]->n;
	struct key_table t = {xcalloc(2 * items + 1, sizeof *t.slot), 2 * items + 1};
	/* Each key once, pointing at the first item that has it. */
	for (int j = 0; j < n; j++)
		for (size_t i = 0; i < jobs[j]->n; i++) {
			struct item *it = &jobs[j]->it[i];
			size_t k = key_find(&t, jobs[j]->db, it->key);
			if (!t.slot[k].key) {
				t.slot[k].db = jobs[j]->db;
				t.slot[k].key = it->key;
			}
		}
	if (existing_ids(m, jobs, n, &t)) {
		free(t.slot);
		return -1;
	}
	for (int j = 0; j < n; j++) {
		struct printbuf *cmd = xprintbuf_new();
		int fresh = 0;
		xprintbuf_puts(cmd, "{\"contacts\":[");
		for (size_t i = 0; i < jobs[j]->n; i++) {
			struct item *it = &jobs[j]->it[i];
			size_t k = key_find(&t, jobs[j]->db, it->key);
			if (t.slot[k].existing[0]) {
				memcpy(it->id, t.slot[k].existing, sizeof it->id);
			} else if (t.slot[k].id) {
				memcpy(it->id, t.slot[k].id, sizeof it->id); /* an earlier item's */
				if (t.slot[k].job != j && t.slot[k].job > after[j])
					after[j] = t.slot[k].job;
			} else {
				id_next(it->id);
				it->is_new = true;
				json_object *c = item_command(it);
				if (fresh++)
					xprintbuf_puts(cmd, ",");
				xprintbuf_puts(cmd, json_text(c));
				json_object_put(c);
			}
			if (!t.slot[k].id) {
				t.slot[k].id = it->id;
				t.slot[k].job = j;
			}
		}
		xprintbuf_puts(cmd, "]}");
		created_head(jobs[j]);
		/* A bulk import's text is not copied. */
		if (fresh) {
			made[j] = xprintbuf_take(cmd);
		} else {
			made[j] = NULL;
			printbuf_free(cmd);
		}
	}
	free(t.slot);
	return 0;
}

/* Importing is running the database (SPEC §5): members of group admin and
 * server administrators only. Any contact of the database may read contacts. */
int contacts_import(struct req *rq, struct reply *rp)
{
	if (!auth_is_admin(rq))
		return reply_error(rp, 403, "Only members of group admin may import contacts");
	if (!rq->json || !json_object_is_type(rq->json, json_type_array))
		return reply_invalid(rp, "body", "expected an array of contacts", "Invalid body");
	size_t n = json_object_array_length(rq->json);
	if (n > CONTACTS_IMPORT_MAX)
		return reply_error(rp, 413, "%zu contacts in body, only %d allowed", n, CONTACTS_IMPORT_MAX);
	struct item *it = xcalloc(n ? n : 1, sizeof *it);
	int st = 0;
	for (size_t i = 0; i < n && !st; i++)
		st = item_read(json_object_array_get_idx(rq->json, i), i, &it[i], rp);
	if (st) {
		items_free(it, n);
		return st;
	}
	/* A bulk import is large: drop the parsed body now; the leader of the
	 * run that queues it writes the command text one contact at a time. */
	json_object_put(rq->json);
	rq->json = NULL;
	struct import_job job = {rq->db, it, n, &rq->push};
	uint64_t pos = 0;
	int e;
	if (n) {
		e = queue_push_prepared(rq->m, &rq->push, rq->stream, rq->db, "contacts.import", rq->body_len,
		                        import_prepare, &job, &pos);
	} else {
		created_head(&job);
		e = queue_push(rq->m, &rq->push, rq->stream, rq->db, "contacts.import", NULL, &pos);
	}
	/* Nothing new, nor made by an import queued just before: "at": []. */
	items_free(it, n);
	return retry_accepted(rq, rp, e, "enqueue contacts.import");
}

/* ---- Reads ---- */

int contact_get(struct req *rq, struct reply *rp)
{
	const char *cid = req_param(rq, "cid");
	MYSQL_RES *res = NULL;
	if (id_valid(cid)) {
		res = db_query(rq->m, "SELECT " SHORT_COLUMNS " FROM contacts WHERE db = %Q AND id = %Q",
		               rq->db, cid);
		if (!res)
			return reply_internal(rp, "contact get");
	}
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	int st = row ? reply_json(rp, 200, contact_short(row))
	             : reply_error(rp, 404, "Contact '%.64s' does not exist", cid);
	if (res)
		mysql_free_result(res);
	return st;
}

int contacts_list(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 1000, 10000, &limit, &offset, rp);
	if (st)
		return st;
	long long count;
	MYSQL_RES *res = rows_page(rq->m, SHORT_COLUMNS, "contacts", rq->db, limit, offset, &count);
	if (!res)
		return reply_internal(rp, "contact list");
	json_object *list = contact_short_list(res);
	return reply_list(rp, "list", list, count);
}

/* A LIKE pattern matching `word` literally, then `tail` ("%" or " %"), starting a word. */
static char *like_word(const char *word, const char *tail)
{
	size_t n = strlen(word);
	char *p = xmalloc(2 * n + 8), *w = p;
	*w++ = '%';
	*w++ = ' ';
	for (const char *r = word; *r; r++) {
		if (*r == '%' || *r == '_' || *r == '\\')
			*w++ = '\\';
		*w++ = *r;
	}
	strcpy(w, tail);
	return p;
}

#define SEARCH_WORDS 8

int contacts_search(struct req *rq, struct reply *rp)
{
	const char *q = req_query(rq, "q");
	long limit;
	int st = req_count(rq, "limit", 10, 100, &limit, rp);
	if (st)
		return st;
	char *words[SEARCH_WORDS];
	int nw = 0;
	char *copy = xstrdup(q ? q : ""), *save = NULL;
	for (char *w = strtok_r(copy, " \t\r\n", &save); w && nw < SEARCH_WORDS;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[nw++] = w;
	if (nw == 0) {
		/* No word (q empty or blank): the first contacts, as RunOrg answered. */
		free(copy);
		if (!q)
			return reply_invalid(rp, "q", "a search needs a q parameter", "Missing q parameter");
		MYSQL_RES *res = db_query(rq->m,
		                          "SELECT " SHORT_COLUMNS " FROM contacts WHERE db = %Q ORDER BY id LIMIT %lld",
		                          rq->db, (long long)limit);
		if (!res)
			return reply_internal(rp, "contact search");
		json_object *o = json_object_new_object();
		json_object_object_add(o, "list", contact_short_list(res));
		return reply_json(rp, 200, o);
	}
	/* Every word but the last must match a whole word; the last is a prefix. The
	 * search column's collation makes the match case- and accent-insensitive. */
	char *pat[SEARCH_WORDS] = {0};
	for (int i = 0; i < SEARCH_WORDS; i++)
		pat[i] = like_word(i < nw ? words[i] : "", i < nw - 1 ? " %" : "%");
	/* Best matches first: the name begins with the first word. */
	char *first = like_word(words[0], "%");
	MYSQL_RES *res = db_query(
	    rq->m,
	    "SELECT " SHORT_COLUMNS " FROM contacts WHERE db = %Q AND search LIKE %Q AND search LIKE %Q "
	    "AND search LIKE %Q AND search LIKE %Q AND search LIKE %Q AND search LIKE %Q AND search LIKE %Q "
	    "AND search LIKE %Q ORDER BY search LIKE %Q DESC, name, id LIMIT %lld",
	    rq->db, pat[0], pat[1], pat[2], pat[3], pat[4], pat[5], pat[6], pat[7], first + 1,
	    (long long)limit);
	for (int i = 0; i < SEARCH_WORDS; i++)
		free(pat[i]);
	free(first);
	free(copy);
	if (!res)
		return reply_internal(rp, "contact search");
	json_object *list = contact_short_list(res);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "list", list);
	return reply_json(rp, 200, o);
}

/* ---- Update ---- */

/* Puts field `key` of the body into set when it is there: a clean label, or null. */
static int label_or_null(json_object *body, const char *key, json_object *set, struct reply *rp)
{
	json_object *v;
	if (!json_object_object_get_ex(body, key, &v))
		return 0;
	char at[32], *label = NULL;
	snprintf(at, sizeof at, "body.%s", key);
	int st = validate_label(body, key, at, false, &label, rp);
	if (!st)
		json_object_object_add(set, key, json_str(label));
	free(label);
	return st;
}

/* The changes a PUT asks for, checked, into set; *email the new e-mail's key (or NULL). */
static int update_read(json_object *body, json_object *set, char **email_key, struct reply *rp)
{
	json_object *v;
	int st = 0;
	*email_key = NULL;
	if (json_object_object_get_ex(body, "email", &v)) {
		char *email = NULL;
		if (!v)
			st = reply_invalid(rp, "body.email", "a contact keeps an e-mail",
			                   "Field 'email' cannot be null");
		if (!st)
			st = email_field(body, "body.email", true, &email, rp);
		if (!st) {
			json_object_object_add(set, "email", json_object_new_string(email));
			*email_key = person_email_key(email);
		}
		free(email);
	}
	static const char *const names[] = {"fullname", "firstname", "lastname"};
	for (size_t i = 0; i < 3 && !st; i++)
		st = label_or_null(body, names[i], set, rp);
	if (!st && json_object_object_get_ex(body, "gender", &v)) {
		const char *g =
		    v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		if (v && (json_object_get_string_len(v) != 1 || (strcmp(g, "M") && strcmp(g, "F"))))
			st = reply_invalid(rp, "body.gender", "expected \"M\", \"F\" or null",
			                   "Invalid gender");
		else
			json_object_object_add(set, "gender", v ? json_object_new_string(g) : NULL);
	}
	return st;
}

int contact_put(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"email", "fullname", "firstname", "lastname", "gender", NULL};
	const char *cid = req_param(rq, "cid");
	if (strcmp(rq->as, cid) && !auth_is_admin(rq))
		return reply_error(rp, 403,
		                   "Only the contact itself or members of group admin may change it");
	json_object *set = json_object_new_object();
	char *key = NULL;
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = update_read(rq->json, set, &key, rp);
	long long n =
	    st ? 0
	    : id_valid(cid)
	        ? db_value(rq->m, "SELECT COUNT(*) FROM contacts WHERE db = %Q AND id = %Q", rq->db, cid)
	        : 0;
	if (!st && n < 0)
		st = reply_internal(rp, "contact lookup");
	if (!st && n == 0)
		st = reply_error(rp, 404, "Contact '%.64s' does not exist", cid);
	/* Checked here for a clear answer, and again by the applier. */
	long long taken = !st && key
	                      ? db_value(rq->m,
	                                 "SELECT COUNT(*) FROM contacts WHERE db = %Q AND email_key = %Q "
	                                 "AND id <> %Q",
	                                 rq->db, key, cid)
	                      : 0;
	free(key);
	if (!st && taken < 0)
		st = reply_internal(rp, "e-mail lookup");
	if (!st && taken > 0)
		st = reply_error(rp, 409, "E-mail '%.200s' is taken by another contact",
		                 json_get_string(set, "email"));
	if (st) {
		json_object_put(set);
		return st;
	}
	/* Nothing to change: nothing queued, nothing to wait for ("at": []). */
	json_object *cmd = NULL;
	if (json_object_object_length(set) > 0) {
		cmd = json_object_new_object();
		json_object_object_add(cmd, "id", json_object_new_string(cid));
		json_object_object_add(cmd, "set", json_object_get(set));
	}
	json_object_put(set);
	return retry_enqueue(rq, rp, "contacts.update", cmd, NULL);
}

/* ---- Test mode: a contact and its token ---- */

int db_test_auth(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"email", "admin", NULL};
	char *email = NULL;
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = email_field(rq->json, "body.email", false, &email, rp);
	json_object *a = NULL;
	bool admin = true;
	if (!st && json_object_object_get_ex(rq->json, "admin", &a) && a) {
		if (!json_object_is_type(a, json_type_boolean))
			st = reply_invalid(rp, "body.admin", "expected true or false", "Invalid admin");
		admin = json_object_get_boolean(a);
	}
	if (st) {
		free(email);
		return st;
	}
	struct item it = {.email = email ? email : xstrdup("test@runorg.com")};
	it.key = person_email_key(it.email);
	char token[TOKEN_LEN + 1], hash[65];
	uint64_t pos = 0;
	if (!item_match(rq->m, rq->db, &it) && !db_begin(rq->m)) {
		json_object *cmd = json_object_new_object();
		json_object_object_add(cmd, "id", json_object_new_string(it.id));
		json_object_object_add(cmd, "email", json_object_new_string(it.email));
		json_object_object_add(cmd, "admin", json_object_new_boolean(admin));
		/* Token and command commit together: the token works at once, and the
		 * command is its own (it may read it at its Location). */
		bool ok = !tokens_new(rq->m, rq->db, it.id, token);
		if (ok) {
			tokens_hash(token, hash);
			rq->push.token = hash;
			rq->push.contact = it.id;
		}
		if (!ok ||
		    !(pos = queue_push_tx(rq->m, &rq->push, rq->stream, rq->db, "contacts.test_auth",
		                          json_text(cmd))) ||
		    queue_answer_tx(rq->m, &rq->push, rq->stream, pos) != QUEUE_OK || db_commit(rq->m)) {
			db_rollback(rq->m);
			pos = 0;
		}
		rq->push.token = NULL;
		rq->push.contact = NULL;
		json_object_put(cmd);
	}
	free(it.email);
	free(it.key);
	if (!pos)
		return reply_internal(rp, "test auth");
	/* Not the answer queue_answer_tx made: this one holds a token, and has no
	 * key to record (the route takes no token, so keys are not its). */
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "at", json_at(rq->stream, pos));
	json_object_object_add(o, "id", json_object_new_string(it.id));
	rp->location = rq->push.location;
	rq->push.location = NULL;
	return reply_json(rp, 202, o);
}

