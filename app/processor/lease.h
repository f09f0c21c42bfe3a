/* lease.h — a stream's lease: the processor that holds it applies the stream,
 * the others stand by, and take it from a holder gone silent. */
#ifndef RUNORG_LEASE_H
#define RUNORG_LEASE_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

/* What one stream's standby has seen of the holder (zeroed at first). */
struct lease_watch {
	uint64_t since; /* CLOCK_MONOTONIC: it has watched without a gap since then */
	uint64_t last;  /* its last look */
};

/* Tries to take the lease of `stream` on m: 1 when m holds it now (recorded
 * for /status), 0 when another connection holds it, -1 on an error of m.
 * When the holder's processor has not refreshed its heartbeat for
 * cf.lease_timeout_ms, as watched without a gap for that long, the holder's
 * connection is killed first: that ends its lease and rolls back what it
 * had not committed, so it can never commit on the stream again. */
int lease_take(MYSQL *m, uint32_t stream, struct lease_watch *w);

/* Gives the lease up (shutdown). */
void lease_release(MYSQL *m, uint32_t stream);

#endif
