/* heartbeat.c — the processor's sign of life for operators: its row in `processors`, and who holds which
 * lease.
 *
 * The named locks are the leases. These rows tell an operator (GET /status,
 * runorgctl status) which processor holds a stream and when it was last seen
 * alive, and tell standbys (lease.c) which connection to kill when a holder
 * has been silent for lease_timeout_ms. All times are the database's
 * UTC_TIMESTAMP, so that clocks of different hosts never get compared. The
 * row also says what keeps the processor from applying (`problem`: "disk
 * full"), for GET /status. */
#include "processor/heartbeat.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "core/log.h"
#include "store/db.h"

#define BEAT_US 1000000

static char name[200], host[128]; /* "host:pid", set once before the thread starts */

static void *beat(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	for (bool first = true;; usleep(BEAT_US)) {
		if (!m && !(m = db_connect()))
			continue;
		if (first &&
		    db_exec(m, "DELETE FROM processors WHERE heartbeat < UTC_TIMESTAMP() - INTERVAL 1 DAY") >=
		        0)
			first = false;
		const char *problem = db_disk_full() ? "disk full" : NULL;
		if (db_exec(
		        m,
		        "INSERT INTO processors (name, host, pid, started, heartbeat, problem) VALUES (%Q, "
		        "%Q, %u, UTC_TIMESTAMP(), UTC_TIMESTAMP(6), %Q) ON DUPLICATE KEY UPDATE heartbeat "
		        "= UTC_TIMESTAMP(6), problem = VALUES(problem)",
		        name, host, (unsigned)getpid(), problem) < 0 &&
		    db_gone(m)) {
			mysql_close(m);
			m = NULL;
		}
	}
	return NULL;
}

int heartbeat_start(void)
{
	if (gethostname(host, sizeof host))
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = 0;
	snprintf(name, sizeof name, "%s:%d", host, (int)getpid());
	pthread_t t;
	if (pthread_create(&t, NULL, beat, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}

void heartbeat_lease(MYSQL *m, uint32_t stream)
{
	if (db_exec(m,
	            "INSERT INTO leases (stream, processor, conn, taken) VALUES (%u, %Q, CONNECTION_ID(), "
	            "UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE processor = VALUES(processor), conn = "
	            "VALUES(conn), taken = VALUES(taken)",
	            stream, name) < 0)
		log_warn("stream %u: lease not recorded for /status", stream);
}
