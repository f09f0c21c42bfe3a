/* cache.h — answers to reads, kept by each worker while their database's stream has not moved. */
#ifndef RUNORG_CACHE_H
#define RUNORG_CACHE_H

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

#endif
