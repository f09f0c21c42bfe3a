/* id.h — 11-character identifiers [0-9A-Za-z] that sort by creation time. */
#ifndef RUNORG_ID_H
#define RUNORG_ID_H

#include <stdbool.h>
#include <stdint.h>

#define ID_LEN 11
#define ID_CUSTOM_MAX 10

/* Layout, base 62 in ASCII order (so byte order = numeric order):
 * 7 chars milliseconds since 2020-01-01 UTC, 2 chars node, 2 chars sequence. */
void id_make(char out[ID_LEN + 1], uint64_t ms, uint32_t node, uint32_t seq);

/* Sets this process's node number (0..3843), taken from the database at start. */
void id_set_node(uint32_t node);

/* Next identifier of this process: thread-safe, strictly increasing within the
 * process, unique across processes with distinct nodes. */
void id_next(char out[ID_LEN + 1]);

/* Exactly 11 characters of [0-9A-Za-z]. */
bool id_valid(const char *s);

/* A custom identifier (group ids): 1..10 characters of [0-9A-Za-z]. */
bool id_custom_valid(const char *s);

/* A group id as it can appear in a path or a body: generated (11 characters) or custom (1..10). */
bool id_group_valid(const char *s);

#endif
