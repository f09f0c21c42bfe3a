/* dbs.h — databases (tenants): queueing a creation, and its applier. */
#ifndef RUNORG_DBS_H
#define RUNORG_DBS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "core/id.h"
#include "store/queue.h"

#define RUNORG_VERSION "0.1.0"

/* Queues the creation of a database with a clean label (command "db.create"
 * on the server stream), as POST /db/create does: picks its id (into `id`)
 * and its stream. r: who asks, and the answer to make (its head is set
 * here), or NULL. Returns what queue_push returns (QUEUE_OK: durable, *pos
 * is the position). */
int dbs_enqueue_create(MYSQL *m, struct queue_req *r, const char *label, char id[ID_LEN + 1], uint64_t *pos);

/* Command "db.create" {"id","label","stream","created"}. */
int dbs_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

#endif
