/* lag.h — a front that reads a replica watches the primary beside it: the
 * token epoch, for revocations the replica has not received yet, and the
 * clock rows, for how far behind the replica is (README, "Scaling out"). */
#ifndef RUNORG_LAG_H
#define RUNORG_LAG_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Starts the watch thread of this worker when a replica is configured (a
 * no-op otherwise): every LAG_PERIOD it reads the primary's clock rows and
 * token epoch, then the replica's. */
int lag_start(void);

/* Whether the replica at token epoch replica_epoch has every revocation the
 * primary had at a watch that started at most cf.revoke_lag_ms ago (or, while
 * the primary cannot be reached, at the last watch that could): then a token
 * found there at that epoch, or remembered under it, is good. When not, the
 * primary decides. Always true without a replica. */
bool lag_tokens_current(uint64_t replica_epoch);

/* The newest token epoch the watch has read on the replica. */
uint64_t lag_replica_epoch(void);

/* How far behind the primary the replica is, in milliseconds: 0 when it has
 * reached the primary's clock rows of the newest watch, else the time since
 * the newest watch whose clock rows it had reached started (a bound, to
 * within LAG_PERIOD). -1 when unknown (no replica, or either server is not
 * answering). */
long lag_ms(void);

/* Adds to o, for /status: "server" (where reads go: "primary", "host:port" or
 * "socket /path") and "replica" (false: the primary itself); for a replica,
 * "state" ("up", or "down": reads go to the primary meanwhile), "lag_ms"
 * (lag_ms(), null when unknown), "stale" (lag_ms over db_read_stale_ms),
 * "clock" (the replica's clock rows) and "behind" ([[stream, commands]] the
 * replica has yet to apply, as of the newest watch of the primary). */
void lag_status(json_object *o);

#endif
