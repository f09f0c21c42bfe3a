/* contacts.c — contacts: their projection rows (<shortcontact>) and the appliers of their commands. */
#include "resources/contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/person.h"
#include "core/xalloc.h"
#include "resources/apply.h"
#include "store/db.h"
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

/* ---- Appliers (run by the processor inside the apply transaction) ---- */

int contacts_missing(MYSQL *m, const char *db, json_object *ids, const char **missing)
{
	size_t n = json_object_array_length(ids);
	if (n == 0)
		return 0;
	const char **v = xmalloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_object_get_string(json_object_array_get_idx(ids, i));
	char *in = db_quote_list(m, v, (int)n);
	MYSQL_RES *res = db_query(m, "SELECT id FROM contacts WHERE db = %Q AND id IN %s", db, in);
	free(in);
	if (!res) {
		free(v);
		return -1;
	}
	json_object *found = json_object_new_object(); /* a set: one look-up per id */
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		json_object_object_add(found, row[0], NULL);
	mysql_free_result(res);
	int r = 0;
	for (size_t i = 0; i < n && !r; i++)
		if (!json_object_object_get_ex(found, v[i], NULL)) {
			*missing = json_object_get_string(json_object_array_get_idx(ids, i));
			r = 1;
		}
	json_object_put(found);
	free(v);
	return r;
}

/* What a contact's row derives from its fields: the display name, the e-mail
 * key (duplicates), the gravatar picture and the search words. */
struct derived {
	char *name, *key, *search;
	char pic[PERSON_PIC_SIZE];
};

static void derive(const char *email, const char *full, const char *first, const char *last,
                   struct derived *d)
{
	d->name = person_name(full, first, last, email);
	d->key = person_email_key(email);
	person_pic(email, d->pic);
	/* Words of the name, then the e-mail and its parts, each preceded by a
	 * space; then, for a name with a hyphen, its parts too (q=marie finds
	 * "Anne-Marie Dupont"; sql/033-search-hyphens.sql did it for older rows). */
	bool hyphen = strchr(d->name, '-') != NULL;
	size_t n = 2 * strlen(d->name) + 2 * strlen(email) + 8;
	d->search = xmalloc(n);
	snprintf(d->search, n, " %s %s ", d->name, email);
	size_t len = strlen(d->search);
	for (const char *p = email; *p && len + 2 < n; p++)
		d->search[len++] = (*p == '@' || *p == '.' || *p == '-' || *p == '_' || *p == '+') ? ' ' : *p;
	if (hyphen) {
		d->search[len++] = ' ';
		for (const char *p = d->name; *p && len + 2 < n; p++)
			d->search[len++] = *p == '-' ? ' ' : *p;
	}
	d->search[len] = 0;
}

static void derived_free(struct derived *d)
{
	free(d->name);
	free(d->key);
	free(d->search);
}

/* The VALUES row of one contact with its derived columns (name, picture,
 * search words), malloc'd; NULL for a malformed contact. */
static char *contact_row(MYSQL *m, const char *db, json_object *c)
{
	const char *id = json_get_string(c, "id"), *email = json_get_string(c, "email"),
	           *full = json_get_string(c, "fullname"), *first = json_get_string(c, "firstname"),
	           *last = json_get_string(c, "lastname"), *gender = json_get_string(c, "gender");
	if (!id || !email)
		return NULL;
	struct derived d;
	derive(email, full, first, last, &d);
	char *row = db_format(m, "(%Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q, %Q)", db, id, email, d.key, full,
	                      first, last, gender, d.name, d.pic, d.search);
	derived_free(&d);
	return row;
}

#define INSERT_CONTACTS                                                                                      \
	"INSERT INTO contacts (db, id, email, email_key, fullname, firstname, lastname, gender, name, pic, " \
	"search) VALUES "
#define ROWS_PER_INSERT 500

/* Builds and runs multi-row INSERTs of contacts, ROWS_PER_INSERT rows each. */
struct inserter {
	MYSQL *m;
	struct printbuf *sql;
	int rows;
};

static int inserter_flush(struct inserter *in)
{
	if (in->rows == 0)
		return APPLY_OK;
	long long r = db_exec(in->m, "%s", in->sql->buf);
	in->rows = 0;
	printbuf_reset(in->sql);
	return r < 0 ? APPLY_ERROR : APPLY_OK;
}

static int inserter_add(struct inserter *in, const char *db, json_object *c)
{
	char *row = contact_row(in->m, db, c);
	if (!row)
		return APPLY_FAILED;
	xprintbuf_puts(in->sql, in->rows == 0 ? INSERT_CONTACTS : ",");
	xprintbuf_puts(in->sql, row);
	free(row);
	return ++in->rows == ROWS_PER_INSERT ? inserter_flush(in) : APPLY_OK;
}

/* Inserts the contacts of the "contacts" lists of n import payloads. */
static int insert_contacts(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n,
                           char *reason, size_t size)
{
	struct inserter in = {m, xprintbuf_new(), 0};
	int r = APPLY_OK;
	for (int k = 0; k < n && r == APPLY_OK; k++) {
		json_object *list;
		if (!json_object_object_get_ex(payloads[k], "contacts", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			snprintf(reason, size, "Malformed contacts.import command");
			r = APPLY_FAILED;
			break;
		}
		size_t len = json_object_array_length(list);
		for (size_t i = 0; i < len && r == APPLY_OK; i++)
			if ((r = inserter_add(&in, dbs[k], json_object_array_get_idx(list, i))) ==
			    APPLY_FAILED)
				snprintf(reason, size, "Malformed contact %zu", i);
	}
	if (r == APPLY_OK)
		r = inserter_flush(&in);
	printbuf_free(in.sql);
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
		snprintf(reason, size, "Malformed contacts.test_auth command");
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

/* The fields of an update: those named in "set" replace the row's (null
 * clears them), the others stay. */
static const char *field(json_object *set, const char *key, const char *now, bool *given)
{
	json_object *v;
	if (!json_object_object_get_ex(set, key, &v))
		return now;
	*given = true;
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int contacts_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id");
	json_object *set;
	if (!id || !json_object_object_get_ex(payload, "set", &set) ||
	    !json_object_is_type(set, json_type_object)) {
		snprintf(reason, size, "malformed contacts.update command");
		return APPLY_FAILED;
	}
	MYSQL_RES *res = db_query(m,
	                          "SELECT email, fullname, firstname, lastname, gender FROM contacts "
	                          "WHERE db = %Q AND id = %Q FOR UPDATE",
	                          db, id);
	if (!res)
		return APPLY_ERROR;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (!row) {
		mysql_free_result(res);
		snprintf(reason, size, "Contact '%s' does not exist", id);
		return APPLY_FAILED;
	}
	bool new_email = false, ignored = false;
	const char *email = field(set, "email", row[0], &new_email),
	           *full = field(set, "fullname", row[1], &ignored),
	           *first = field(set, "firstname", row[2], &ignored),
	           *last = field(set, "lastname", row[3], &ignored),
	           *gender = field(set, "gender", row[4], &ignored);
	int r = APPLY_OK;
	struct derived d = {0};
	if (!email) {
		snprintf(reason, size, "malformed contacts.update command");
		r = APPLY_FAILED;
	} else {
		derive(email, full, first, last, &d);
	}
	/* Checked when the request came, checked again: another contact may have
	 * taken the e-mail since. */
	long long taken = r == APPLY_OK && new_email
	                      ? db_value(m,
	                                 "SELECT COUNT(*) FROM contacts WHERE db = %Q AND "
	                                 "email_key = %Q AND id <> %Q",
	                                 db, d.key, id)
	                      : 0;
	if (taken < 0) {
		r = APPLY_ERROR;
	} else if (taken > 0) {
		snprintf(reason, size, "E-mail '%.200s' is taken by another contact", email);
		r = APPLY_FAILED;
	} else if (r == APPLY_OK &&
	           db_exec(m,
	                   "UPDATE contacts SET email = %Q, email_key = %Q, fullname = %Q, firstname = %Q, "
	                   "lastname = %Q, gender = %Q, name = %Q, pic = %Q, search = %Q WHERE db = %Q AND "
	                   "id = %Q",
	                   email, d.key, full, first, last, gender, d.name, d.pic, d.search, db, id) < 0) {
		r = APPLY_ERROR;
	}
	if (email)
		derived_free(&d);
	mysql_free_result(res);
	return r;
}
