/* hint.h — the datagram a processor sends to the fronts after a commit: "stream s is now at n". */
#ifndef RUNORG_HINT_H
#define RUNORG_HINT_H

#include <stddef.h>

#include "core/clock.h"

/* Pairs one datagram may carry (a keepalive carries none). */
#define HINT_MAX_PAIRS 32
/* A datagram is at most this long. */
#define HINT_MAX_BYTES 1024

/* Writes "RUNORG-HINT 1 s:n s:n ...\n" (no pair: a keepalive, which tells a
 * front that hints flow). Returns its length, or -1 when it does not fit. */
int hint_format(char *buf, size_t size, const struct clock_pair *pairs, int n);

/* Reads a datagram: the number of pairs (0 for a keepalive), or -1 when it
 * is not a hint (wrong magic, version, syntax, stream or position out of
 * range, more than max pairs). Never trusts the sender: a hint only makes a
 * front poll sooner. */
int hint_parse(const char *buf, size_t len, struct clock_pair *pairs, int max);

#endif
