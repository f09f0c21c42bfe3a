/* appliers.h — the command table: which function applies which kind of command. */
#ifndef RUNORG_APPLIERS_H
#define RUNORG_APPLIERS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* Applies one command inside the processor's transaction; returns an apply_result (resources/common.h). */
typedef int (*apply_fn)(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* Applies n commands of one kind at once (say, one multi-row INSERT), all or
 * nothing; any result but APPLY_OK makes the processor redo them one by one. */
typedef int (*apply_run_fn)(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n, char *reason,
			    size_t size);

struct applier {
	const char *kind;
	apply_fn apply;
	apply_run_fn apply_run; /* optional */
};

/* The applier of a command kind, NULL for an unknown kind. */
const struct applier *applier_find(const char *kind);

#endif
