/* wait.c — where a request waits for its clock: at= on any route, and GET /db/{db}/sync.
 *
 * One path for both: a clock this process already knows is reached costs
 * nothing; otherwise the heads of the streams say whether it can ever be
 * reached (a position never handed out is a 400, not a wait), and the
 * request sleeps on the clock poll (poll.c) holding no database connection. */
#include "fcgi/wait.h"

#include <string.h>
#include <time.h>

#include "core/config.h"
#include "fcgi/poll.h"
#include "store/db.h"
#include "store/queue.h"

int wait_parse_at(const struct req *rq, struct reply *rp, struct clock *want, bool *given)
{
	const char *at = req_query(rq, "at");
	*given = at != NULL;
	if (at && clock_parse(at, strlen(at), want))
		return reply_invalid(rp, "at", "expected a clock such as [[2,87]]", "Invalid at parameter");
	return 0;
}

/* 0 when every position of want has been handed out, 400 when one never was,
 * 503 when MySQL cannot say. Learns the clock rows on the way. */
static int check_heads(struct req *rq, struct reply *rp, const struct clock *want)
{
	struct clock_table heads = {0}, done = {0};
	MYSQL *m = req_m(rq);
	int r = m ? queue_heads(m, &heads, &done) : -1;
	int st = 0;
	if (r)
		st = reply_db_unavailable(rp, false);
	else
		poll_learn(&done);
	for (int i = 0; i < want->n && !st; i++)
		if (want->p[i].pos > clock_table_get(&heads, want->p[i].stream))
			st = reply_invalid(rp, "at", "this position was never handed out, so it can never be reached",
			                   "Invalid at parameter");
	clock_table_free(&heads);
	clock_table_free(&done);
	return st;
}

int wait_clock(struct req *rq, struct reply *rp, const struct clock *want)
{
	if (poll_reached(want))
		return 0;
	uint64_t started = db_mono_us();
	int st = check_heads(rq, rp, want);
	if (!st && !poll_reached(want)) {
		/* Nothing is held while asleep: the connection serves others meanwhile. */
		if (rq->m) {
			db_release(rq->m, false);
			rq->m = NULL;
		}
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += cf.sync_timeout_ms / 1000;
		deadline.tv_nsec += (long)(cf.sync_timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		struct clock current;
		if (!poll_sleep(want, &deadline, &current))
			st = reply_not_yet(rp, want, &current);
	}
	rq->wait_us += db_mono_us() - started;
	return st;
}
