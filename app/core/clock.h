/* clock.h — clocks: sets of (stream, position) pairs. Parse, print, merge, compare. */
#ifndef RUNORG_CLOCK_H
#define RUNORG_CLOCK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A clock a client sends (or is sent back) names at most this many streams;
 * a longer one is malformed input. This bounds client input only: what the
 * server knows of every stream is a struct clock_table, which grows. */
#define CLOCK_MAX 64
/* Largest stream number and position accepted (positive, fits a signed 63-bit SQL column). */
#define CLOCK_STREAM_MAX 0x7fffffffu
#define CLOCK_POS_MAX 0x7fffffffffffffffull

struct clock_pair {
	uint32_t stream;
	uint64_t pos;
};

/* Invariant: pairs sorted by ascending stream, no stream twice, every stream and pos >= 1. */
struct clock {
	int n;
	struct clock_pair p[CLOCK_MAX];
};

/* Parses JSON text (array form [[2,83],[3,117]] or object form {"2":83,"3":117}).
 * Rejects anything else: wrong types, zero/negative/fractional/huge numbers,
 * a stream given twice (in either form), trailing garbage, more than CLOCK_MAX pairs.
 * Pairs are sorted on output whatever the input order. Returns 0 or -1. */
int clock_parse(const char *text, size_t len, struct clock *out);

/* Same from an already parsed json-c value (which cannot show an object's
 * repeated keys: json-c kept the last). */
int clock_from_json(json_object *j, struct clock *out);

/* New json-c array [[s,p],...], ascending. */
json_object *clock_to_json(const struct clock *c);

/* Position of a stream in the clock, 0 when absent. */
uint64_t clock_get(const struct clock *c, uint32_t stream);

/* Raises the stream's position to at least pos (adds the stream if absent).
 * Returns -1 when the clock is full. */
int clock_set(struct clock *c, uint32_t stream, uint64_t pos);

/* Per-stream maximum of both, into `into`. Returns -1 when the result would not fit. */
int clock_merge(struct clock *into, const struct clock *other);

/* True when every pair of `want` is at or below the same stream in `have`. */
bool clock_reached(const struct clock *want, const struct clock *have);

/* The positions of every stream the server has seen, indexed by stream
 * number, grown as streams appear (the number of streams is a fact of the
 * database, not of a program's settings). A zeroed struct is an empty table. */
struct clock_table {
	uint64_t *pos; /* pos[s] for s < n; 0 = nothing yet */
	uint32_t n;
};

/* Position of a stream, 0 when the table has none. */
uint64_t clock_table_get(const struct clock_table *t, uint32_t stream);

/* Raises the stream's position to at least pos, growing the table (or
 * aborting when memory is out, see xalloc.h). True when it moved. */
bool clock_table_raise(struct clock_table *t, uint32_t stream, uint64_t pos);

/* True when every pair of `want` is at or below the same stream in `have`. */
bool clock_table_reached(const struct clock *want, const struct clock_table *have);

/* The pairs of `t` for the streams of `want` (for the 503's "current"). */
void clock_table_pick(const struct clock_table *t, const struct clock *want, struct clock *out);

/* Every stream with a position, as a JSON clock [[s,p],...] (not bounded by CLOCK_MAX). */
json_object *clock_table_to_json(const struct clock_table *t);

/* Every position back to 0, keeping the memory (for a table filled again and again). */
void clock_table_clear(struct clock_table *t);

void clock_table_free(struct clock_table *t);

#endif
