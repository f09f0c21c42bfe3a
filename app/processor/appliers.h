/* appliers.h — the command table: which function applies which kind of command. */
#ifndef RUNORG_APPLIERS_H
#define RUNORG_APPLIERS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* Applies one command inside the processor's transaction; returns an apply_result (resources/common.h). */
typedef int (*apply_fn)(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* The applier of a command kind, NULL for an unknown kind. */
apply_fn applier_find(const char *kind);

#endif
