/* cache.h — answers to reads, kept by each worker while their database's stream has not moved. */
#ifndef RUNORG_CACHE_H
#define RUNORG_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "fcgi/request.h"

/* What makes two requests of a cached route the same: who asks (token kind,
 * contact, as=) and what (the path segments, the query without at=). Each
 * part is length-prefixed, so no two requests share a key. Caller frees. */
char *cache_key(const struct req *rq);

/* A copy of the text kept under key when it was read at position pos of
 * stream, or NULL. Caller frees. */
char *cache_get(const char *key, uint32_t stream, uint64_t pos);

/* Keeps text under key, read at position pos of stream (no later than the
 * read itself started). Keeps nothing when caching is off or the text is
 * larger than an eighth of cf.cache_kib; forgets everything when full. */
void cache_put(const char *key, uint32_t stream, uint64_t pos, const char *text);

/* One read at a time per key and position (a burst of waits on one clock
 * ends at once, and each would run the same read): cache_claim is true when
 * the caller is the one to read (then it calls cache_release once it has
 * kept the answer, or not); false when another request reads it now: then
 * cache_await waits for it, until deadline_us (CLOCK_MONOTONIC; 0: no
 * deadline) at most, and gives a copy of the answer it kept, or NULL (read
 * it yourself). */
bool cache_claim(const char *key, uint32_t stream, uint64_t pos);
void cache_release(const char *key);
char *cache_await(const char *key, uint32_t stream, uint64_t pos, uint64_t deadline_us);

#endif
