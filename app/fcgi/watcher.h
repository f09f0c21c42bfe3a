/* watcher.h — where a request waits for its at= clock: one polling thread per worker process. */
#ifndef RUNORG_WATCHER_H
#define RUNORG_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

enum wait_result { WAIT_REACHED, WAIT_TIMEOUT, WAIT_NEVER, WAIT_ERROR };

/* Starts the watcher thread of this process. fresh: answer watcher_fresh()
 * (a worker; not CGI, where a process serves one request and has no cache). */
int watcher_start(bool fresh);

/* Returns WAIT_REACHED at once when the last known clock satisfies `want`;
 * WAIT_NEVER when `want` names a stream that does not exist or a position
 * beyond its head; otherwise sleeps (holding no database connection) until
 * the watcher sees `want` reached (WAIT_REACHED) or cf.sync_timeout_ms runs
 * out (WAIT_TIMEOUT, `current` = the clock reached so far on want's streams). */
enum wait_result watcher_wait(const struct clock *want, struct clock *current);

/* Called by the master before it forks workers: from then on the workers share
 * what their watchers learn (positions, token epoch, when the last poll was). */
int watcher_share(void);

/* Taken when a request arrives, for watcher_fresh(). */
uint32_t watcher_mark(void);

/* Gives the position of `stream` and the token epoch as the workers know them,
 * once a poll of the clock rows has started at most lag_us ago (by any
 * worker), or, when none has or lag_us is 0, after waiting for a
 * poll of this worker that started after `mark` was taken (one poll serves
 * every request waiting). A cached answer read at that position (or a token
 * read at that epoch) misses nothing applied before that poll started. False
 * when there is no such poll (CGI mode, MySQL failing, or no poll within
 * 1 s): the caller asks MySQL instead of its cache. */
bool watcher_fresh(uint32_t mark, uint32_t stream, long lag_us, uint64_t *pos, uint64_t *token_epoch);

/* Counters for /status: polls made by this process's watcher, waits that slept. */
void watcher_stats(uint64_t *polls, uint64_t *waits);

#endif
