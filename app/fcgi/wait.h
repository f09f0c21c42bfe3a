/* wait.h — where a request waits for its clock: at= on any route, and GET /db/{db}/sync. */
#ifndef RUNORG_WAIT_H
#define RUNORG_WAIT_H

#include <stdbool.h>

#include "core/clock.h"
#include "fcgi/reply.h"
#include "fcgi/request.h"

/* The at= parameter: 0 with *given false when absent; 0 with *want filled;
 * or 400 "Invalid at parameter" when it is not a clock. */
int wait_parse_at(const struct req *rq, struct reply *rp, struct clock *want, bool *given);

/* Waits until `want` is reached, and not a moment longer: 0 at once when this
 * process already knows it is; 400 when it names a position never handed out
 * (it could never be reached); else the request's database connection goes
 * back to the pool and the request sleeps until the clock poll sees `want`
 * reached (0) or cf.sync_timeout_ms runs out (503, reply_not_yet). The time
 * spent is added to rq->wait_us. */
int wait_clock(struct req *rq, struct reply *rp, const struct clock *want);

#endif
