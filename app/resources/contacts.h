/* contacts.h — contacts: import, read, list, search, test auth; and their appliers. */
#ifndef RUNORG_CONTACTS_H
#define RUNORG_CONTACTS_H

#include <json-c/json.h>
#include <mysql.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

int contacts_import(struct req *rq, struct reply *rp);
int contact_get(struct req *rq, struct reply *rp);
int contacts_list(struct req *rq, struct reply *rp);
int contacts_search(struct req *rq, struct reply *rp);
int db_test_auth(struct req *rq, struct reply *rp);

/* Command "contacts.import" {"contacts":[{"id","email","fullname","firstname","lastname","gender"}]}. */
int contacts_apply_import(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Several "contacts.import" commands (of any databases) in one go. */
int contacts_apply_import_run(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n,
                              char *reason, size_t size);
/* Command "contacts.test_auth" {"id","email","admin"}: the contact exists afterwards, in group admin if
 * asked. */
int contacts_apply_test_auth(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* <shortcontact> from a row (id, name, gender, pic). */
json_object *contact_short(MYSQL_ROW row);

/* An array of <shortcontact>, one per row of res (which it frees). */
json_object *contact_short_list(MYSQL_RES *res);

#endif
