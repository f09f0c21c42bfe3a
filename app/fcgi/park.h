/* park.h — requests waiting for their clock without holding a thread: parked
 * by the stream and position they wait for, handed back when the clock poll
 * sees it reached or when their deadline passes. */
#ifndef RUNORG_PARK_H
#define RUNORG_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"

/* One parked wait; lives inside whatever waits (the router's exchange). */
struct parked {
	const struct clock *want; /* the waiter's own clock, not a copy: it stays put until done */
	uint64_t deadline_us; /* CLOCK_MONOTONIC */
	/* Called once, from the thread that found the outcome (never under a lock
	 * of this module): reached, or not (current = the positions known of
	 * want's streams then). */
	void (*done)(struct parked *p, bool reached, const struct clock *current);
	/* Owned by park.c. */
	uint32_t stream;  /* the first stream of want not reached when last looked at */
	uint64_t pos;     /* and the position it waits for there */
	size_t heap_ix;   /* index in that stream's heap */
	struct parked *prev, *next; /* the deadline list, oldest first */
};

/* Parks p until p->want is reached or p->deadline_us passes; p->done is
 * called either way (at once when want is already reached; at the deadline
 * by a thread of this module that never waits on the database). */
void park(struct parked *p);

/* The clock poll moved these streams forward: hands back every parked wait
 * that is now reached. Called after the positions are known to poll.c. */
void park_advanced(const uint32_t *streams, size_t n);

#endif
