/* contacts.c — contacts: import, read, list, search, test auth; and their appliers. */
#include "resources/contacts.h"

#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/id.h"
#include "core/person.h"
#include "fcgi/auth.h"
#include "resources/common.h"
#include "store/db.h"
#include "store/queue.h"

#define SHORT_COLUMNS "id, name, gender, pic"

json_object *contact_short(MYSQL_ROW row)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(row[0]));
	json_object_object_add(o, "name", json_object_new_string(row[1]));
	json_object_object_add(o, "gender", json_str(row[2]));
	json_object_object_add(o, "pic", json_object_new_string(row[3]));
	return o;
}

json_object *contact_short_list(MYSQL_RES *res)
{
	json_object *list = json_object_new_array();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		json_object_array_add(list, contact_short(row));
	mysql_free_result(res);
	return list;
}

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
	int st = body_label(obj, "email", at, required, out, rp);
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
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool known = false;
		for (int k = 0; fields[k] && !known; k++)
			known = !strcmp(key, fields[k]);
		if (!known) {
			snprintf(at, sizeof at, "body[%zu].%.60s", i, key);
			return reply_invalid(rp, at, "unknown field", "Unknown field '%.60s'", key);
		}
	}
	int st;
	snprintf(at, sizeof at, "body[%zu].email", i);
	if ((st = email_field(obj, at, true, &it->email, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].fullname", i);
	if ((st = body_label(obj, "fullname", at, false, &it->fullname, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].firstname", i);
	if ((st = body_label(obj, "firstname", at, false, &it->firstname, rp)))
		return st;
	snprintf(at, sizeof at, "body[%zu].lastname", i);
	if ((st = body_label(obj, "lastname", at, false, &it->lastname, rp)))
		return st;
	json_object *g;
	if (json_object_object_get_ex(obj, "gender", &g) && g) {
		const char *s = json_object_is_type(g, json_type_string) ? json_object_get_string(g) : "";
		if (strcmp(s, "M") && strcmp(s, "F")) {
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

/* What the group-commit leader needs to make an import's command. */
struct import_job {
	const char *db;
	struct item *it;
	size_t n;
};

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
	size_t cap = 128, len = 0;
	char *where = malloc(cap);
	where[0] = 0;
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
		const char **keys = malloc(total * sizeof *keys);
		size_t nk = 0;
		for (int k = j; k < n; k++)
			if (!strcmp(jobs[k]->db, jobs[j]->db))
				for (size_t i = 0; i < jobs[k]->n; i++)
					keys[nk++] = jobs[k]->it[i].key;
		char *in = db_quote_list(m, keys, (int)nk);
		char *one = db_format(m, "%s(db = %Q AND email_key IN %s)", len ? " OR " : "", jobs[j]->db, in);
		free(keys);
		free(in);
		size_t ol = strlen(one);
		if (len + ol + 1 > cap) {
			cap = 2 * (len + ol + 1);
			where = realloc(where, cap);
		}
		memcpy(where + len, one, ol + 1);
		len += ol;
		free(one);
	}
	int r = 0;
	if (len) {
		MYSQL_RES *res = db_query(
		    m, "SELECT db, email_key, MIN(id) FROM contacts WHERE %s GROUP BY db, email_key", where);
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
	free(where);
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
	struct key_table t = {calloc(2 * items + 1, sizeof *t.slot), 2 * items + 1};
	if (!t.slot)
		return -1;
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
		struct printbuf *cmd = printbuf_new();
		int fresh = 0;
		sprintbuf(cmd, "{\"contacts\":[");
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
				sprintbuf(cmd, "%s%s", fresh++ ? "," : "", json_text(c));
				json_object_put(c);
			}
			if (!t.slot[k].id) {
				t.slot[k].id = it->id;
				t.slot[k].job = j;
			}
		}
		sprintbuf(cmd, "]}");
		/* The text is the printbuf's own buffer (a public field of json-c's
		 * printbuf): a bulk import's text is not copied. */
		made[j] = fresh ? cmd->buf : NULL;
		if (fresh)
			cmd->buf = NULL;
		printbuf_free(cmd);
	}
	free(t.slot);
	return 0;
}


int contacts_import(struct req *rq, struct reply *rp)
{
	if (!rq->json || !json_object_is_type(rq->json, json_type_array))
		return reply_invalid(rp, "body", "expected an array of contacts", "Invalid body");
	size_t n = json_object_array_length(rq->json);
	struct item *it = calloc(n ? n : 1, sizeof *it);
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
	struct import_job job = {rq->db, it, n};
	uint64_t pos = 0;
	if (n && queue_push_prepared(rq->m, rq->stream, rq->db, "contacts.import", rq->body_len,
	                             import_prepare, &job, &pos)) {
		items_free(it, n);
		return reply_internal(rp, "enqueue contacts.import");
	}
	json_object *created = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(created, json_object_new_string(it[i].id));
	items_free(it, n);
	/* Nothing new, nor made by an import queued just before: nothing to wait for. */
	json_object *at = pos ? at_json(rq->stream, pos) : json_object_new_array();
	json_object *o = json_object_new_object();
	json_object_object_add(o, "created", created);
	json_object_object_add(o, "at", at);
	return reply_json(rp, 202, o);
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
	long long count = db_value(rq->m, "SELECT COUNT(*) FROM contacts WHERE db = %Q", rq->db);
	MYSQL_RES *res = count < 0
	                     ? NULL
	                     : db_query(rq->m,
	                                "SELECT " SHORT_COLUMNS " FROM contacts WHERE db = %Q ORDER BY id "
	                                "LIMIT %lld OFFSET %lld",
	                                rq->db, (long long)limit, (long long)offset);
	if (!res)
		return reply_internal(rp, "contact list");
	json_object *list = contact_short_list(res);
	return reply_list(rp, "list", list, count);
}

/* A LIKE pattern matching `word` literally, then `tail` ("%" or " %"), starting a word. */
static char *like_word(const char *word, const char *tail)
{
	size_t n = strlen(word);
	char *p = malloc(2 * n + 8), *w = p;
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
	char *copy = strdup(q ? q : ""), *save = NULL;
	for (char *w = strtok_r(copy, " \t\r\n", &save); w && nw < SEARCH_WORDS;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[nw++] = w;
	if (nw == 0) {
		free(copy);
		return reply_invalid(rp, "q", "a search needs at least one word", "Missing q parameter");
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

/* ---- Test mode: a contact and its token ---- */

int db_test_auth(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"email", "admin", NULL};
	char *email = NULL;
	int st = body_object(rq, rp, fields);
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
	struct item it = {.email = email ? email : strdup("test@runorg.com")};
	it.key = person_email_key(it.email);
	char token[AUTH_TOKEN_LEN + 1];
	uint64_t pos = 0;
	if (!item_match(rq->m, rq->db, &it) && !db_begin(rq->m)) {
		json_object *cmd = json_object_new_object();
		json_object_object_add(cmd, "id", json_object_new_string(it.id));
		json_object_object_add(cmd, "email", json_object_new_string(it.email));
		json_object_object_add(cmd, "admin", json_object_new_boolean(admin));
		/* Token and command commit together: the token works at once. */
		if (auth_token_new(rq->m, rq->db, it.id, token) ||
		    !(pos = queue_push_tx(rq->m, rq->stream, rq->db, "contacts.test_auth", json_text(cmd))) ||
		    db_commit(rq->m)) {
			db_rollback(rq->m);
			pos = 0;
		}
		json_object_put(cmd);
	}
	free(it.email);
	free(it.key);
	if (!pos)
		return reply_internal(rp, "test auth");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(token));
	json_object_object_add(o, "at", at_json(rq->stream, pos));
	json_object_object_add(o, "id", json_object_new_string(it.id));
	return reply_json(rp, 202, o);
}

/* ---- Appliers (run by the processor inside the apply transaction) ---- */

/* The VALUES row of one contact with its derived columns (name, picture,
 * search words), malloc'd; NULL for a malformed contact. */
static char *contact_row(MYSQL *m, const char *db, json_object *c)
{
	const char *id = json_get_string(c, "id"), *email = json_get_string(c, "email"),
	           *full = json_get_string(c, "fullname"), *first = json_get_string(c, "firstname"),
	           *last = json_get_string(c, "lastname"), *gender = json_get_string(c, "gender");
	if (!id || !email)
		return NULL;
	char *name = person_name(full, first, last, email), *key = person_email_key(email);
	char pic[PERSON_PIC_SIZE];
	person_pic(email, pic);
	/* Words of the name, then the e-mail and its parts, each preceded by a space. */
	size_t n = strlen(name) + 2 * strlen(email) + 8;
	char *search = malloc(n);
	snprintf(search, n, " %s %s ", name, email);
	size_t len = strlen(search);
	for (const char *p = email; *p && len + 2 < n; p++)
		search[len++] = (*p == '@' || *p == '.' || *p == '-' || *p == '_' || *p == '+') ? ' ' : *p;
	search[len] = 0;
	char *row = db_format(m, "(%Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q)", db, id, email, key, full,
	                      first, last, gender, name, pic, search);
	free(name);
	free(key);
	free(search);
	return row;
}

#define INSERT_CONTACTS                                                                                      \
	"INSERT INTO contacts (db, id, email, email_key, fullname, firstname, lastname, gender, name, pic, " \
	"search) VALUES "
#define ROWS_PER_INSERT 500

/* Builds and runs multi-row INSERTs of contacts, ROWS_PER_INSERT rows each. */
struct inserter {
	MYSQL *m;
	char *sql;
	size_t len, cap;
	int rows;
};

static int inserter_flush(struct inserter *in)
{
	if (in->rows == 0)
		return APPLY_OK;
	long long r = db_exec(in->m, "%s", in->sql);
	in->rows = 0;
	return r < 0 ? APPLY_ERROR : APPLY_OK;
}

static int inserter_add(struct inserter *in, const char *db, json_object *c)
{
	char *row = contact_row(in->m, db, c);
	if (!row)
		return APPLY_FAILED;
	size_t rl = strlen(row);
	if (in->rows == 0)
		in->len = 0;
	if (in->len + rl + sizeof INSERT_CONTACTS + 2 > in->cap) {
		in->cap = 2 * (in->len + rl + sizeof INSERT_CONTACTS + 2);
		in->sql = realloc(in->sql, in->cap);
	}
	if (in->rows == 0)
		in->len = (size_t)sprintf(in->sql, "%s", INSERT_CONTACTS);
	else
		in->sql[in->len++] = ',';
	memcpy(in->sql + in->len, row, rl + 1);
	in->len += rl;
	free(row);
	return ++in->rows == ROWS_PER_INSERT ? inserter_flush(in) : APPLY_OK;
}

/* Inserts the contacts of the "contacts" lists of n import payloads. */
static int insert_contacts(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n,
                           char *reason, size_t size)
{
	struct inserter in = {m, NULL, 0, 0, 0};
	int r = APPLY_OK;
	for (int k = 0; k < n && r == APPLY_OK; k++) {
		json_object *list;
		if (!json_object_object_get_ex(payloads[k], "contacts", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			snprintf(reason, size, "malformed contacts.import command");
			r = APPLY_FAILED;
			break;
		}
		size_t len = json_object_array_length(list);
		for (size_t i = 0; i < len && r == APPLY_OK; i++)
			if ((r = inserter_add(&in, dbs[k], json_object_array_get_idx(list, i))) ==
			    APPLY_FAILED)
				snprintf(reason, size, "malformed contact %zu", i);
	}
	if (r == APPLY_OK)
		r = inserter_flush(&in);
	free(in.sql);
	return r;
}

int contacts_apply_import(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	return insert_contacts(m, &db, &payload, 1, reason, size);
}

int contacts_apply_import_run(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n,
                              char *reason, size_t size)
{
	return insert_contacts(m, dbs, payloads, n, reason, size);
}

int contacts_apply_test_auth(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id");
	json_object *a;
	bool admin = json_object_object_get_ex(payload, "admin", &a) && json_object_get_boolean(a);
	if (!id) {
		snprintf(reason, size, "malformed contacts.test_auth command");
		return APPLY_FAILED;
	}
	long long exists = db_value(m, "SELECT COUNT(*) FROM contacts WHERE db = %Q AND id = %Q", db, id);
	if (exists < 0)
		return APPLY_ERROR;
	if (exists == 0) {
		/* The payload has the fields of one contact: insert it as a one-contact import. */
		json_object *one = json_object_new_object(), *list = json_object_new_array();
		json_object_array_add(list, json_object_get(payload));
		json_object_object_add(one, "contacts", list);
		int r = insert_contacts(m, &db, &one, 1, reason, size);
		json_object_put(one);
		if (r != APPLY_OK)
			return r;
	}
	if (!admin)
		return APPLY_OK;
	if (db_exec(m, "INSERT IGNORE INTO group_members (db, grp, contact) VALUES (%Q, 'admin', %Q)", db,
	            id) < 0 ||
	    db_exec(m,
	            "UPDATE `groups` SET count = (SELECT COUNT(*) FROM group_members WHERE db = %Q AND grp = "
	            "'admin') "
	            "WHERE db = %Q AND id = 'admin'",
	            db, db) < 0)
		return APPLY_ERROR;
	return APPLY_OK;
}
