/* dbs.h — databases (tenants): queueing a creation, and its applier. */
#ifndef RUNORG_DBS_H
#define RUNORG_DBS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "core/id.h"

#define RUNORG_VERSION "0.1.0"

/* Queues the creation of a database with a clean label (command "db.create"
 * on the server stream), as POST /db/create does: picks its id (into `id`)
 * and its stream. Returns the position, durable once returned; 0 on error. */
uint64_t dbs_enqueue_create(MYSQL *m, const char *label, char id[ID_LEN + 1]);

/* Command "db.create" {"id","label","stream","created"}. */
int dbs_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
