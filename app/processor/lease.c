/* lease.c — a stream's lease: the processor that holds it applies the stream,
 * the others stand by, and take it from a holder gone silent.
 *
 * The lease is the MySQL named lock 'runorg.stream.N', held by the
 * connection of the stream's thread in its processor: a processor that dies
 * loses its connections, and with them its leases, at once. One that is
 * frozen (SIGSTOP, a hung host, a partition) keeps them: its heartbeat
 * (heartbeat.c) stops, and after cf.lease_timeout_ms a standby kills the
 * holder's connection, whose id the holder recorded in `leases` when it took
 * the lease. MariaDB then rolls back the holder's open transaction and
 * releases the lock before the standby gets it; the holder, when it wakes,
 * finds its connection dead and can commit nothing on the stream (the clock
 * check of the apply transaction would refuse a run applied twice anyway),
 * reconnects and stands by.
 *
 * Ages are the database's (UTC_TIMESTAMP): no two hosts' clocks are
 * compared. A standby judges only what it has watched without a gap: after
 * MariaDB itself stalled (every heartbeat stops then), or the standby did,
 * it watches for lease_timeout_ms again, during which a live holder beats. */
#include "processor/lease.h"

#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "processor/heartbeat.h"
#include "store/db.h"

/* Looks further apart than this break the watch (standbys look every 0.5 s). */
#define WATCH_GAP_US 1500000
/* How long a standby waits for the lock of a holder it has just killed. */
#define FENCE_WAIT_S 2

/* The holder's connection, when its processor has been silent too long; 0 when not. */
static unsigned long long silent_holder(MYSQL *m, uint32_t stream, struct lease_watch *w, int *err)
{
	MYSQL_RES *res =
	    db_query(m,
	             "SELECT l.conn, l.processor, TIMESTAMPDIFF(MICROSECOND, p.heartbeat, "
	             "UTC_TIMESTAMP(6)) FROM leases l JOIN processors p ON p.name = l.processor "
	             "WHERE l.stream = %u AND l.conn = IS_USED_LOCK(CONCAT('runorg.stream.', %u))",
	             stream, stream);
	if (!res) {
		*err = -1;
		return 0;
	}
	uint64_t now = db_mono_us(), timeout = (uint64_t)cf.lease_timeout_ms * 1000;
	if (!w->last || now - w->last > WATCH_GAP_US)
		w->since = now;
	w->last = now;
	unsigned long long conn = 0;
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row && row[0] && row[2] && atoll(row[2]) > (long long)timeout && now - w->since >= timeout) {
		conn = strtoull(row[0], NULL, 10);
		log_warn("stream %u: the lease holder %s (connection %llu) has been silent for %.1f s: "
		         "taking the stream over",
		         stream, row[1] ? row[1] : "?", conn, atoll(row[2]) / 1e6);
	}
	mysql_free_result(res);
	return conn;
}

int lease_take(MYSQL *m, uint32_t stream, struct lease_watch *w)
{
	long long got = db_value(m, "SELECT GET_LOCK(CONCAT('runorg.stream.', %u), 0)", stream);
	if (got == 0 && cf.lease_timeout_ms > 0) {
		int err = 0;
		unsigned long long conn = silent_holder(m, stream, w, &err);
		if (err)
			return -1;
		if (!conn)
			return 0;
		/* The fence. 1094: the connection has ended meanwhile, which is as good. */
		if (db_exec(m, "KILL CONNECTION %llu", conn) < 0 && mysql_errno(m) != 1094) {
			log_error(
			    "stream %u: cannot kill connection %llu of the silent holder (the programs must "
			    "connect as one user, or have CONNECTION ADMIN): not taking the stream",
			    stream, conn);
			return db_gone(m) ? -1 : 0;
		}
		got = db_value(m, "SELECT GET_LOCK(CONCAT('runorg.stream.', %u), %d)", stream, FENCE_WAIT_S);
	}
	if (got != 1)
		return got < 0 ? -1 : 0;
	*w = (struct lease_watch){0};
	heartbeat_lease(m, stream);
	return 1;
}

void lease_release(MYSQL *m, uint32_t stream)
{
	db_exec(m, "DO RELEASE_LOCK(CONCAT('runorg.stream.', %u))", stream);
}
