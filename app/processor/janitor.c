/* janitor.c — the processor's periodic maintenance: expired Idempotency-Keys,
 * and listeners (store/listeners.c) gone for a day.
 *
 * Every processor sweeps (they may overlap: a row deleted twice is deleted
 * once), every SWEEP_S seconds (every second in test mode, so that the tests
 * see a sweep), in batches of BATCH rows oldest first, each its own short
 * transaction, with a pause between them: a backlog of keys never holds
 * locks for long, nor takes MariaDB from the streams. The rows are already
 * ignored once expired (store/idem.c): the sweep only gives the space back. */
#include "processor/janitor.h"

#include <pthread.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "store/db.h"
#include "store/idem.h"
#include "store/listeners.h"

#define SWEEP_S 10
#define BATCH 500
#define PAUSE_US 20000

static void *sweep(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	for (;; sleep(cf.test_mode ? 1 : SWEEP_S)) {
		if (!m && !(m = db_connect()))
			continue;
		long long total = 0, n;
		while ((n = idem_sweep(m, BATCH)) == BATCH) {
			total += n;
			usleep(PAUSE_US);
		}
		if (n > 0)
			total += n;
		if (n >= 0)
			n = listeners_sweep(m) < 0 ? -1 : n;
		if (total > 0)
			log_info("janitor: %lld expired Idempotency-Keys deleted", total);
		if (n < 0 && db_gone(m)) {
			mysql_close(m);
			m = NULL;
		}
	}
	return NULL;
}

int janitor_start(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, sweep, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}
