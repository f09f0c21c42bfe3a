/* status.h — what an operator looks at: each stream's head, applied position, lag, failures and lease holder.
 */
#ifndef RUNORG_STATUS_H
#define RUNORG_STATUS_H

#include <json-c/json.h>
#include <mysql.h>

/* [{"stream", "head", "done", "lag", "applied", "lag_seconds", "failed", "lease"}] by stream
 * (the first four as SPEC §3 has them, then what issue 7 added):
 * done = applied = last position applied (done is the older name); lag =
 * head - applied, in commands; lag_seconds = age of the oldest command not yet
 * applied (0 when none); failed = commands recorded as failed; lease = null
 * when no processor holds the stream, else {"connection", "processor",
 * "heartbeat", "heartbeat_age"} (processor and heartbeat null when the
 * holder did not record itself). NULL on a database error. */
json_object *status_streams(MYSQL *m);

/* [{"name", "host", "pid", "started", "heartbeat", "heartbeat_age"}]: the
 * processors that ran in the last day, newest heartbeat first. NULL on error. */
json_object *status_processors(MYSQL *m);

#endif
