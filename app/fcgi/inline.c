/* inline.c — the front applies queued commands itself when no processor is
 * alive (apply_inline). The run, its transaction and the clock rule are
 * runner.c's, the same as the processor's: exactly once comes from the lease
 * (taken without waiting: whoever holds it applies) and from the clock check
 * of the run's transaction. A request that finds the lease taken leaves the
 * stream to its holder (a processor, or another request). */
#include "fcgi/inline.h"

#include <pthread.h>

#include "core/config.h"
#include "core/log.h"
#include "fcgi/poll.h"
#include "resources/runner.h"
#include "store/db.h"

#define INLINE_MAX_COMMANDS 100
#define INLINE_MAX_US 200000
#define ALIVE_CHECK_US 1000000 /* how long a look at the processors' heartbeats is trusted */

static bool spawned_front; /* set once at start: CGI, or spawned by the web server */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t checked_us; /* CLOCK_MONOTONIC of the last look, 0: none (guarded by lock) */
static int alive;           /* what it saw (guarded by lock) */

void inline_spawned(void)
{
	spawned_front = true;
}

/* Whether this front applies now: never, always, or (auto) when it is a CGI
 * or spawned front and no processor has beaten within lease_timeout_ms. One
 * look per second per process. */
static bool wanted(MYSQL *m)
{
	if (cf.inline_mode != INLINE_AUTO)
		return cf.inline_mode == INLINE_ALWAYS;
	if (!spawned_front)
		return false; /* the daemon: deployed with processors, which it leaves the commands to */
	uint64_t now = db_mono_us();
	pthread_mutex_lock(&lock);
	bool fresh = checked_us && now - checked_us < ALIVE_CHECK_US;
	int seen = alive;
	pthread_mutex_unlock(&lock);
	if (!fresh) {
		seen = runner_processor_alive(m);
		if (seen < 0)
			return false;
		pthread_mutex_lock(&lock);
		checked_us = now;
		alive = seen;
		pthread_mutex_unlock(&lock);
	}
	return !seen;
}

static int apply_stream(MYSQL *m, uint32_t stream)
{
	uint64_t last = 0;
	int n = runner_inline(m, stream, INLINE_MAX_COMMANDS, INLINE_MAX_US, &last);
	if (last)
		poll_raise(stream, last);
	if (n > 0)
		log_debug("stream %u: %d commands applied inline, up to %llu", stream, n,
		          (unsigned long long)last);
	return n > 0 ? n : 0;
}

int inline_apply(MYSQL *m, const struct clock *want)
{
	if (!m || cf.inline_mode == INLINE_NEVER)
		return 0;
	int total = 0;
	bool checked = false;
	for (int i = 0; i < want->n; i++) {
		if (poll_known(want->p[i].stream) >= want->p[i].pos)
			continue;
		if (!checked && !wanted(m))
			return 0;
		checked = true;
		total += apply_stream(m, want->p[i].stream);
	}
	return total;
}

int inline_apply_queued(MYSQL *m, json_object *body)
{
	json_object *at;
	struct clock want;
	if (!m || !body || !inline_possible() || !json_object_object_get_ex(body, "at", &at) ||
	    clock_from_json(at, &want))
		return 0;
	return inline_apply(m, &want);
}

bool inline_possible(void)
{
	return cf.inline_mode == INLINE_ALWAYS || (cf.inline_mode == INLINE_AUTO && spawned_front);
}
