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
	char *search = xmalloc(n);
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
