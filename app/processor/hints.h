/* hints.h — the processor's side of hints: after each commit, "stream s is at n" to every front that listens. */
#ifndef RUNORG_PROCESSOR_HINTS_H
#define RUNORG_PROCESSOR_HINTS_H

#include <stdint.h>

/* Starts the thread that follows the listeners table (every second) and
 * tells the fronts that hints flow (a keepalive every 100 ms). 0 or -1. */
int hints_start(void);

/* A run of stream committed up to pos: one datagram to each listener, never
 * waiting (a hint that cannot be sent is dropped: it only costs latency). */
void hints_commit(uint32_t stream, uint64_t pos);

#endif
