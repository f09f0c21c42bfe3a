/* heartbeat.h — the processor's sign of life for operators: its row in `processors`, and who holds which
 * lease. */
#ifndef RUNORG_HEARTBEAT_H
#define RUNORG_HEARTBEAT_H

#include <mysql.h>
#include <stdint.h>

/* Starts the thread that refreshes this processor's row every second. Returns 0 or -1. */
int heartbeat_start(void);

/* Records that connection m, which has just taken the lease of `stream`,
 * belongs to this processor (GET /status names the holder from it). */
void heartbeat_lease(MYSQL *m, uint32_t stream);

#endif
