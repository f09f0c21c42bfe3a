/* fresh.h — what the caches rely on: a stream's position and the token epoch from a recent enough clock poll. */
#ifndef RUNORG_FRESH_H
#define RUNORG_FRESH_H

#include <stdbool.h>
#include <stdint.h>

/* Taken when a request arrives, for fresh_position(). */
uint32_t fresh_mark(void);

/* Gives the position of `stream` and the token epoch as the workers know them,
 * once a poll of the clock rows has started at most lag_us ago (by any
 * worker), or, when none has or lag_us is 0, after waiting for a poll of this
 * worker that started after `mark` was taken (one poll serves every request
 * waiting). A kept answer read at that position (or a token read at that
 * epoch) misses nothing applied before that poll started. False when there is
 * no such poll (CGI mode, MySQL failing, or no poll within about 1 s): the
 * caller asks MySQL instead of its cache. */
bool fresh_position(uint32_t mark, uint32_t stream, long lag_us, uint64_t *pos, uint64_t *token_epoch);

#endif
