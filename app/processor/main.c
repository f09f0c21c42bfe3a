/* main.c — runorg-processor: one thread per stream applies queued commands in order.
 *
 * The streams are those of the `streams` table, followed as it grows: a
 * dispatcher thread looks for new ones every second and starts their
 * threads. It is also the only one that polls for work while streams are
 * idle (one query for all of them), and wakes the threads whose streams
 * have commands after their clock.
 *
 * Invariants:
 * - A stream is applied by the one thread that holds its lease, the MySQL
 *   named lock 'runorg.stream.N'; other processors wait as hot standbys, and
 *   fence and replace a holder that stops heart-beating (lease.c).
 * - A run of commands (runner.c), their failures and the clock bump commit in one
 *   transaction, and the bump only moves the clock from where the run started:
 *   a crash anywhere loses nothing and applies nothing twice, even if two
 *   processors ever believed they held the lease. Each command sits behind a
 *   savepoint, so one that cannot be applied leaves no trace.
 * - A command that cannot be applied is recorded as failed and still
 *   advances the clock, so no reader waits for it forever. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "processor/heartbeat.h"
#include "processor/hints.h"
#include "processor/janitor.h"
#include "processor/lease.h"
#include "resources/runner.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/streams.h"

/* Runs (their size, their transaction, the clock bump) are runner.c's. */
#define IDLE_MIN_US 200   /* the dispatcher's first look after it found work */
#define IDLE_MAX_US 10000 /* its longest interval while it finds none */
#define FOLLOW_US 1000000 /* how often the dispatcher looks for new streams */
#define STANDBY_US 500000 /* how often a standby tries the lease */
/* An idle stream reads the queue on its own after max(FALLBACK_MIN_US,
 * FALLBACK_PER_STREAM_US x streams) without a word from the dispatcher. */
#define FALLBACK_MIN_US 1000000
#define FALLBACK_PER_STREAM_US 10000

static atomic_int stopping; /* set by main on SIGTERM, read by every stream thread */

/* One stream this processor follows. Its thread applies it while it holds
 * the lease, and otherwise stands by; the dispatcher tells it when commands
 * wait after its clock, so that an idle stream costs no query of its own. */
struct stream {
	uint32_t number;
	bool started; /* its thread runs and is joined at shutdown (written by the dispatcher only) */
	pthread_t thread;
	pthread_cond_t wake; /* signalled when work is set while idle, and at shutdown */
	/* Guarded by lock: */
	bool leased; /* the thread holds the lease: the dispatcher looks for its commands */
	bool idle;   /* the thread waits for work */
	bool work;   /* the dispatcher saw commands after the clock since the thread last looked */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dispatcher_wake; /* hurry, and shutdown (with lock) */
static int idle_count;                 /* streams with idle set (guarded by lock) */
static bool hurry;                     /* a stream has just gone idle after applying (guarded by lock) */
static atomic_int threads_started;     /* stream threads running: sizes the fallback wait */

/* The streams followed, indexed by number. Grown and written by the
 * dispatcher only; main reads it once the dispatcher has ended. */
static struct stream **streams;
static uint32_t streams_size;

static struct timespec after_us(long us)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += us / 1000000;
	t.tv_nsec += (us % 1000000) * 1000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* Sleeps us microseconds on cond, cut short only by shutdown, so that
 * SIGTERM never waits for a stand-by or a retry pause to end. */
static void nap(pthread_cond_t *cond, long us)
{
	struct timespec due = after_us(us);
	pthread_mutex_lock(&lock);
	while (!stopping && pthread_cond_timedwait(cond, &lock, &due) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&lock);
}

/* Waits until the dispatcher sees commands after the clock, at most us (the
 * fallback in case the dispatcher cannot reach MariaDB). Clears work before
 * the caller reads the queue: a command the read misses was committed after
 * it, so the dispatcher's next look sets work again. */
static void wait_for_work(struct stream *s, long us)
{
	struct timespec due = after_us(us);
	pthread_mutex_lock(&lock);
	if (!s->work) {
		s->idle = true;
		idle_count++;
		while (!s->work && !stopping && pthread_cond_timedwait(&s->wake, &lock, &due) != ETIMEDOUT)
			;
		s->idle = false;
		idle_count--;
	}
	s->work = false;
	pthread_mutex_unlock(&lock);
}

static void set_leased(struct stream *s, bool leased)
{
	pthread_mutex_lock(&lock);
	s->leased = leased;
	pthread_mutex_unlock(&lock);
}

/* The stream has applied commands and found no more: the dispatcher's next
 * look comes soon, as it would have for the stream polling on its own. */
static void hurry_dispatcher(void)
{
	pthread_mutex_lock(&lock);
	hurry = true;
	pthread_cond_signal(&dispatcher_wake);
	pthread_mutex_unlock(&lock);
}

/* The longest an idle stream waits without being woken: the total of these
 * fallback reads stays near 100 per second however many streams there are. */
static long fallback_us(void)
{
	long us = (long)atomic_load(&threads_started) * FALLBACK_PER_STREAM_US;
	return us < FALLBACK_MIN_US ? FALLBACK_MIN_US : us;
}

static void *run_stream(void *arg)
{
	struct stream *s = arg;
	uint32_t stream = s->number;
	MYSQL *m = NULL;
	bool leased = false, standing_by = false, busy = false;
	struct lease_watch watch = {0};
	while (!stopping) {
		if (!m && !(m = db_connect())) {
			nap(&s->wake, 1000000);
			continue;
		}
		if (!leased) {
			int got = lease_take(m, stream, &watch);
			if (got == 1) {
				leased = true;
				standing_by = false;
				log_info("stream %u: lease taken", stream);
				set_leased(s, true);
			} else if (got < 0) {
				mysql_close(m);
				m = NULL;
			} else {
				if (!standing_by)
					log_info("stream %u: standing by (another processor holds the lease)",
					         stream);
				standing_by = true;
				nap(&s->wake, STANDBY_US);
			}
			continue;
		}
		uint64_t last = 0;
		int n = runner_batch(m, stream, false, &stopping, &last);
		if (n == -2)
			n = runner_batch(m, stream, true, &stopping, &last); /* one by one */
		if (n > 0)
			hints_commit(stream, last); /* the fronts waiting on it read the clock rows now */
		if (n < 0) {
			if (db_gone(m)) {
				/* Killed by a standby that took the stream over, or MariaDB
				 * went away: either way the lease went with the connection. */
				log_warn("stream %u: connection lost (%s), lease lost, reconnecting", stream,
				         mysql_error(m));
				mysql_close(m);
				m = NULL;
				leased = false;
				set_leased(s, false);
			}
			/* Retried (nothing is given up for a passing fault), at a
			 * slower pace while MariaDB has no room to write. */
			nap(&s->wake, db_disk_full() ? 1000000 : 100000);
		} else if (n == 0) {
			if (busy)
				hurry_dispatcher();
			busy = false;
			wait_for_work(s, fallback_us());
		} else {
			busy = true;
		}
	}
	if (m) {
		lease_release(m, stream);
		mysql_close(m);
	}
	return NULL;
}

/* Starts a thread for every stream of the table that has none: the streams
 * added since the last look (runorgctl streams add), and those whose thread
 * could not be started then. Returns 0, or -1 when the table cannot be read. */
static int follow_streams(MYSQL *m)
{
	static bool said_beyond;
	uint32_t *list;
	int n = streams_list(m, &list);
	if (n < 0)
		return -1;
	int started = 0, failed = 0, err = 0;
	uint32_t lowest = 0, highest = 0, first_failed = 0;
	for (int i = 0; i < n; i++) {
		uint32_t number = list[i];
		if (number > STREAMS_MAX) {
			if (!said_beyond)
				log_error("processor: stream %u is beyond %d: not applied", number,
				          STREAMS_MAX);
			said_beyond = true;
			continue;
		}
		if (number >= streams_size) {
			struct stream **grown = realloc(streams, (number + 1) * sizeof *grown);
			if (!grown)
				break;
			memset(grown + streams_size, 0, (number + 1 - streams_size) * sizeof *grown);
			streams = grown;
			streams_size = number + 1;
		}
		struct stream *s = streams[number];
		if (!s) {
			pthread_condattr_t ca;
			if (!(s = calloc(1, sizeof *s)))
				break;
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&s->wake, &ca);
			pthread_condattr_destroy(&ca);
			s->number = number;
			streams[number] = s;
		}
		if (s->started)
			continue;
		/* A failure (threads or memory exhausted) is retried at the next
		 * look; the handle of a thread that was not created is never used. */
		int e = pthread_create(&s->thread, NULL, run_stream, s);
		if (e) {
			if (!failed++) {
				err = e;
				first_failed = number;
			}
			continue;
		}
		s->started = true;
		atomic_fetch_add(&threads_started, 1);
		if (!started++)
			lowest = number;
		highest = number;
	}
	free(list);
	if (started)
		log_info("processor: following %d more streams (%u..%u), %d in all", started, lowest, highest,
		         atomic_load(&threads_started));
	if (failed)
		log_error("processor: no thread for %d streams (the first %u): %s; trying again in %d ms",
		          failed, first_failed, strerror(err), FOLLOW_US / 1000);
	return 0;
}

/* Sets work on the leased streams that have commands after their clock,
 * and wakes those that are idle. Returns how many it woke, -1 on error. */
static int wake_streams(MYSQL *m)
{
	MYSQL_RES *res =
	    db_query(m, "SELECT s.stream FROM streams s JOIN clocks c USING (stream) WHERE s.head > c.done");
	if (!res)
		return -1;
	int woke = 0;
	MYSQL_ROW row;
	pthread_mutex_lock(&lock);
	while ((row = mysql_fetch_row(res))) {
		unsigned long number = strtoul(row[0], NULL, 10);
		struct stream *s = number < streams_size ? streams[number] : NULL;
		if (!s || !s->leased)
			continue; /* another processor applies it */
		/* Also when busy: it may be past its last read and about to wait. */
		s->work = true;
		if (s->idle) {
			pthread_cond_signal(&s->wake);
			woke++;
		}
	}
	pthread_mutex_unlock(&lock);
	mysql_free_result(res);
	return woke;
}

/* The dispatcher: the one thread of the processor that polls MariaDB for
 * work, with one query per tick for all streams, so that idle streams cost
 * the same whatever their number. It backs off from IDLE_MIN_US to
 * IDLE_MAX_US while it finds nothing, and skips the query while no leased
 * stream waits. Every FOLLOW_US it also looks for new streams. */
static void *dispatch(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	long interval = IDLE_MIN_US;
	uint64_t followed = 0;
	bool first = true;
	while (!stopping) {
		if (!m && !(m = db_connect())) {
			nap(&dispatcher_wake, 1000000);
			continue;
		}
		int r = 0;
		if (first || db_mono_us() - followed >= FOLLOW_US) {
			first = false;
			followed = db_mono_us();
			r = follow_streams(m);
		}
		pthread_mutex_lock(&lock);
		bool waiting = idle_count > 0;
		pthread_mutex_unlock(&lock);
		int woke = 0;
		if (!r && waiting)
			woke = r = wake_streams(m);
		if (r < 0 && db_gone(m)) {
			log_warn("processor: dispatcher connection lost, reconnecting");
			mysql_close(m);
			m = NULL;
		}
		interval = woke > 0 ? IDLE_MIN_US : interval * 2 > IDLE_MAX_US ? IDLE_MAX_US : interval * 2;
		/* A stream that has just gone idle after applying is the likeliest
		 * to get more (hurry_dispatcher): the next look comes IDLE_MIN_US
		 * later at most. Only ever shortened, so hurries cannot put it off. */
		struct timespec due = after_us(interval);
		pthread_mutex_lock(&lock);
		while (!stopping) {
			if (hurry && interval > IDLE_MIN_US) {
				interval = IDLE_MIN_US;
				due = after_us(interval);
			}
			hurry = false;
			if (pthread_cond_timedwait(&dispatcher_wake, &lock, &due) == ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&lock);
	}
	if (m)
		mysql_close(m);
	return NULL;
}

static MYSQL *connect_at_start(void)
{
	for (int i = 0; i < 30; i++) {
		MYSQL *m = db_connect();
		if (m)
			return m;
		sleep(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf = argv[++i];
	if (config_load(conf) || log_set_file(cf.log_file))
		return 1;
	log_set_level(cf.log_level);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* `streams` of the configuration only sizes a new installation
	 * (migrate_run): the streams applied are those of the table. */
	MYSQL *m = connect_at_start();
	bool ready = m && migrate_run(m) == 0;
	if (m)
		mysql_close(m);
	/* From here on (not for the migrations, which may take long), a read or
	 * write on a connection of a hung MariaDB gives up after this, and the
	 * thread reconnects: well above any statement of a run. */
	db_io_timeout_set(60);
	if (!ready || heartbeat_start() || janitor_start()) {
		log_error("processor: cannot prepare the database");
		return 1;
	}
	hints_start(); /* without it, the fronts poll: nothing depends on hints */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dispatcher_wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t dispatcher;
	if (pthread_create(&dispatcher, NULL, dispatch, NULL)) {
		log_error("processor: cannot start the dispatcher thread");
		return 1;
	}

	int sig;
	sigwait(&sigs, &sig);
	log_info("processor: signal %d, finishing the current commands", sig);
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&dispatcher_wake);
	pthread_mutex_unlock(&lock);
	pthread_join(dispatcher, NULL);
	/* The dispatcher has ended: the table of streams is main's alone now. */
	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < streams_size; i++)
		if (streams[i])
			pthread_cond_broadcast(&streams[i]->wake);
	pthread_mutex_unlock(&lock);
	for (uint32_t i = 0; i < streams_size; i++) {
		if (streams[i] && streams[i]->started)
			pthread_join(streams[i]->thread, NULL);
		if (streams[i])
			pthread_cond_destroy(&streams[i]->wake);
		free(streams[i]);
	}
	free(streams);
	log_info("processor: stopped");
	return 0;
}
