/* status.h — what an operator looks at: each stream's head, applied position, lag, failures and lease holder.
 */
#ifndef RUNORG_STATUS_H
#define RUNORG_STATUS_H

#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>

/* [{"stream", "head", "done", "lag", "applied", "lag_seconds", "failed", "lease"}] by stream
 * (the first four as SPEC §3 has them, then what issue 7 added):
 * done = applied = last position applied (done is the older name); lag =
 * head - applied, in commands; lag_seconds = age of the oldest command not yet
 * applied (0 when none); failed = commands recorded as failed; lease = null
 * when no processor holds the stream, else {"connection", "processor",
 * "heartbeat", "heartbeat_age"} (processor and heartbeat null when the
 * holder did not record itself). NULL on a database error. */
json_object *status_streams(MYSQL *m);

/* [{"name", "host", "pid", "started", "heartbeat", "heartbeat_age", "problem"}]:
 * the processors that ran in the last day, newest heartbeat first; problem is
 * what keeps one from applying (null, or "disk full"). NULL on error. */
json_object *status_processors(MYSQL *m);

/* {"state": "up" | "read-only" | "disk full"}: whether MariaDB takes writes.
 * Read-only is the server's setting; disk full is what the caller has seen
 * (full: db_disk_full) or a processor reported with its last heartbeat
 * (processors.problem). NULL on error. */
json_object *status_database(MYSQL *m, bool full);

#endif
