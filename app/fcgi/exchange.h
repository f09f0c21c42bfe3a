/* exchange.h — one request and its answer as they travel through the front:
 * accepted by a request thread, perhaps parked while it waits for its clock
 * (holding no thread), then answered by whichever thread picks it up. */
#ifndef RUNORG_EXCHANGE_H
#define RUNORG_EXCHANGE_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "fcgi/park.h"
#include "fcgi/reply.h"
#include "fcgi/request.h"

struct exchange {
	FCGX_Request fr;
	struct req rq;
	struct reply rp;
	int step;             /* how far router_run got (router.c) */
	uint64_t deadline_us; /* CLOCK_MONOTONIC: the answer goes out by then, whatever MariaDB does */
	/* The wait (wait.c): the clock, its outcome, and while parked its place. */
	struct clock want;
	bool reached;         /* when not, rp holds the 503 (reply_not_yet) */
	struct parked parked;
	uint64_t wait_started; /* CLOCK_MONOTONIC, while parked */
	char wait_key[80];    /* the admission bucket counted while waiting ("" = none) */
	struct exchange *next_ready; /* main.c's queue of exchanges whose wait is over */
	/* Gives a parked exchange back to a request thread (main.c); NULL where a
	 * request cannot be parked (CGI: the process serves this one request). */
	void (*resume)(struct exchange *x);
};

#endif
