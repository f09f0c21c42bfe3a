/* watcher.h — where a request waits for its at= clock: one polling thread per worker process. */
#ifndef RUNORG_WATCHER_H
#define RUNORG_WATCHER_H

#include <stdint.h>

#include "core/clock.h"

enum wait_result { WAIT_REACHED, WAIT_TIMEOUT, WAIT_NEVER, WAIT_ERROR };

/* Starts the watcher thread of this process. */
int watcher_start(void);

/* Returns WAIT_REACHED at once when the last known clock satisfies `want`;
 * WAIT_NEVER when `want` names a stream that does not exist or a position
 * beyond its head; otherwise sleeps (holding no database connection) until
 * the watcher sees `want` reached (WAIT_REACHED) or cf.sync_timeout_ms runs
 * out (WAIT_TIMEOUT, `current` = the clock reached so far on want's streams). */
enum wait_result watcher_wait(const struct clock *want, struct clock *current);

/* Counters for /status: polls made by this process's watcher, waits that slept. */
void watcher_stats(uint64_t *polls, uint64_t *waits);

#endif
