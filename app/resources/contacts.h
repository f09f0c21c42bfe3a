/* contacts.h — contacts: their projection rows (<shortcontact>) and the appliers of their commands. */
#ifndef RUNORG_CONTACTS_H
#define RUNORG_CONTACTS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* Command "contacts.import" {"contacts":[{"id","email","fullname","firstname","lastname","gender"}]}. */
int contacts_apply_import(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);
/* Several "contacts.import" commands (of any databases) in one go. */
int contacts_apply_import_run(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n,
                              char *reason, size_t size);
/* Command "contacts.test_auth" {"id","email","admin"}: the contact exists afterwards, in group admin if
 * asked. */
int contacts_apply_test_auth(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* Command "contacts.update" {"id","set":{"email"?,"fullname"?,"firstname"?,"lastname"?,"gender"?}}:
 * the fields named are replaced (null clears them), name, picture and search
 * words follow; fails when the contact is gone or another has the e-mail. */
int contacts_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* Whether every contact of ids (a JSON array of id strings) exists in db:
 * 0 when all do, 1 with *missing the first that does not (in array order),
 * -1 when the database fails. One query, whatever the number of ids. */
int contacts_missing(MYSQL *m, const char *db, json_object *ids, const char **missing);

/* <shortcontact> from a row (id, name, gender, pic). */
json_object *contact_short(MYSQL_ROW row);

/* An array of <shortcontact>, one per row of res (which it frees). */
json_object *contact_short_list(MYSQL_RES *res);

#endif
