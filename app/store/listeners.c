/* listeners.c — the fronts that listen for hints: their UDP addresses and heartbeats (sql/030-listeners.sql).
 * Times are the database's own (UTC_TIMESTAMP), so that clocks of different
 * hosts are never compared. */
#include "store/listeners.h"

#include "core/xalloc.h"
#include "store/db.h"

int listeners_beat(MYSQL *m, const char *addr)
{
	return db_exec(m,
	               "INSERT INTO listeners (addr, heartbeat) VALUES (%Q, UTC_TIMESTAMP(6)) "
	               "ON DUPLICATE KEY UPDATE heartbeat = UTC_TIMESTAMP(6)",
	               addr) < 0
	           ? -1
	           : 0;
}

int listeners_fresh(MYSQL *m, char ***addrs)
{
	*addrs = NULL;
	MYSQL_RES *res = db_query(m, "SELECT addr FROM listeners WHERE heartbeat >= UTC_TIMESTAMP(6) - INTERVAL %d SECOND",
	                          LISTENERS_TTL_S);
	if (!res)
		return -1;
	int n = (int)mysql_num_rows(res), i = 0;
	*addrs = xcalloc((size_t)n + 1, sizeof **addrs);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) && i < n)
		(*addrs)[i++] = xstrdup(row[0]);
	mysql_free_result(res);
	return i;
}

long long listeners_sweep(MYSQL *m)
{
	return db_exec(m, "DELETE FROM listeners WHERE heartbeat < UTC_TIMESTAMP() - INTERVAL 1 DAY");
}
