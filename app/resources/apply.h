/* apply.h — what an applier is: a function the processor calls inside its transaction, and what it answers. */
#ifndef RUNORG_APPLY_H
#define RUNORG_APPLY_H

#include <json-c/json.h>
#include <mysql.h>
#include <stddef.h>

/* What an applier returns to the processor. */
enum apply_result {
	APPLY_OK = 0,     /* applied; commit with the clock bump */
	APPLY_FAILED = 1, /* cannot be applied (reason filled): recorded as failed, clock still advances */
	APPLY_ERROR = -1, /* the database failed: roll back, retry later */
};

/* Applies one command inside the processor's transaction; returns an apply_result. */
typedef int (*apply_fn)(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size);

/* Applies n commands of one kind at once (say, one multi-row INSERT), all or
 * nothing; any result but APPLY_OK makes the processor redo them one by one. */
typedef int (*apply_run_fn)(MYSQL *m, const char *const *dbs, json_object *const *payloads, int n, char *reason,
                            size_t size);

#endif
