/* runner.h — applying a stream's queued commands: the run, its transaction and
 * the clock bump. Shared by runorg-processor (which holds the stream's lease
 * for as long as it lives) and by whoever applies without one running: the
 * front (apply_inline) and runorgctl process --once, which take the lease
 * without waiting, apply a bounded amount and give it back. */
#ifndef RUNORG_RUNNER_H
#define RUNORG_RUNNER_H

#include <mysql.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What runner_inline answers when another connection holds the lease. */
#define RUNNER_BUSY (-3)

/* Applies the next run of commands after the stream's clock in one
 * transaction, which also moves the clock row from where the run started to
 * the last one applied (*last). The caller holds the stream's lease on m.
 * Careful: one savepoint per command, a command that cannot be applied is
 * recorded as failed and still counts. Stops early when *stop (may be NULL)
 * becomes true. Returns how many were applied, -1 on error (nothing
 * committed), -2 when a command cannot be applied and the run must be redone
 * carefully. */
int runner_batch(MYSQL *m, uint32_t stream, bool careful, atomic_int *stop, uint64_t *last);

/* Takes the stream's lease on m without waiting, applies what is queued
 * (runs of runner_batch, until none is left, max_commands are applied or
 * max_us have passed), then releases the lease. *last: the clock after the
 * last run it committed (0: none). Returns how many commands
 * were applied (0: none queued), RUNNER_BUSY when another connection holds
 * the lease, -1 on a database error (what was committed stays). */
int runner_inline(MYSQL *m, uint32_t stream, int max_commands, long max_us, uint64_t *last);

/* Whether a runorg-processor has refreshed its heartbeat within
 * cf.lease_timeout_ms (the database's clock): 1, 0, or -1 on error. */
int runner_processor_alive(MYSQL *m);

#endif
