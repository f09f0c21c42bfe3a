/* janitor.h — the processor's periodic maintenance: expired Idempotency-Keys. */
#ifndef RUNORG_JANITOR_H
#define RUNORG_JANITOR_H

/* Starts the thread that deletes the Idempotency-Keys older than
 * idempotency_hours, a few at a time, on a connection of its own: it holds
 * no stream and no lease. Returns 0 or -1. */
int janitor_start(void);

#endif
