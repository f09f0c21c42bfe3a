/* fresh.c — what the caches rely on: a stream's position and the token epoch from a recent enough clock poll.
 *
 * Every projection a read can see changes only when the processor applies a
 * command, in the transaction that moves the stream's clock row. So a kept
 * answer (cache.c) or a checked token (auth.c) stays right for as long as the
 * position (or the token epoch) it was read at is the newest one: here is how
 * a request learns the newest one without asking MySQL itself. */
#include "fcgi/fresh.h"

#include "fcgi/poll.h"
#include "store/db.h"

uint32_t fresh_mark(void)
{
	return poll_started();
}

bool fresh_position(uint32_t mark, uint32_t stream, long lag_us, uint64_t *pos, uint64_t *token_epoch)
{
	if (!poll_fresh_served() || stream >= POLL_SHARED_STREAMS)
		return false;
	bool recent = false;
	if (lag_us > 0) {
		/* Keeps the polls coming while requests use them, for the shortest lag asked. */
		poll_demand(lag_us);
		recent = db_mono_us() - poll_newest_us() <= (uint64_t)lag_us;
	}
	if (!recent && !poll_ended_after(mark) && !poll_failing())
		poll_await(mark);
	if (poll_failing()) {
		poll_probe(); /* answer from MySQL meanwhile; a poll now and then finds it back */
		return false;
	}
	if (!recent && !poll_ended_after(mark))
		return false;
	*pos = poll_position(stream);
	*token_epoch = poll_epoch();
	return true;
}
