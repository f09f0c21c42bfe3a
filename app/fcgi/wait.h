/* wait.h — where a request waits for its clock: at= on any route, and GET /db/{db}/sync. */
#ifndef RUNORG_WAIT_H
#define RUNORG_WAIT_H

#include <stdbool.h>

#include "core/clock.h"
#include "fcgi/exchange.h"
#include "fcgi/reply.h"
#include "fcgi/request.h"

/* What wait_clock answers when the exchange was parked. */
#define WAIT_PARKED (-2)

/* The at= parameter: 0 with *given false when absent; 0 with *want filled;
 * or 400 "Invalid at parameter" when it is not a clock. */
int wait_parse_at(const struct req *rq, struct reply *rp, struct clock *want, bool *given);

/* Waits until `want` is reached, and not a moment longer. 0 at once when this
 * process already knows it is; 400 when it names a position never handed out
 * (it could never be reached); 503 at once when the wait is not admitted
 * (cf.max_waits waiting in this process, or cf.max_waits_per_token for this
 * request's token). Else the request's database connection goes back to the
 * pool and:
 * - with x->resume (a worker): the exchange is parked, holding no thread, and
 *   WAIT_PARKED is answered; x->resume(x) is called once the clock is reached
 *   or cf.sync_timeout_ms has passed, with x->reached set (and when not, the
 *   503 made in x->rp);
 * - without (CGI): this thread sleeps, then 0, or 503 (reply_not_yet).
 * The time spent is added to rq->wait_us. */
int wait_clock(struct exchange *x, const struct clock *want);

/* After a parked wait: 0 when x->want was reached, else 503 (reply_not_yet). */
int wait_outcome(struct exchange *x);

#endif
