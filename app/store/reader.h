/* reader.h — the read server of the front (db_read_*): a replica of the primary,
 * a pool of connections of its own, and what it says of its replication. */
#ifndef RUNORG_READER_H
#define RUNORG_READER_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

/* Pool of connections to the read server, shared by the threads of one process
 * like db_acquire's (cf.db_pool of them). Without a replica configured these
 * are db_acquire and db_release themselves. reader_acquire returns NULL at
 * once, without trying, while the server is known down (reader_set_down). */
MYSQL *reader_acquire(void);
void reader_release(MYSQL *m, bool broken);

/* Whether the read server answered the last look of whoever watches it
 * (fcgi/lag.c): while it does not, requests do not try it. */
void reader_set_down(bool down);
bool reader_down(void);

/* Where the reads go, for /status: "primary", "socket /path" or "host:port". */
void reader_name(char *buf, size_t size);

/* What the read server says of its replication (SHOW SLAVE STATUS, which
 * needs the SLAVE MONITOR privilege). */
struct reader_replication {
	bool io_running, sql_running;
	long long seconds_behind; /* -1: NULL (not replicating) */
	char gtid_pos[128];       /* Gtid_IO_Pos: the GTIDs it has received */
	char error[256];          /* Last_IO_Error or Last_SQL_Error, "" when none */
};
/* 1 with *r filled, 0 when the server is no replica, -1 when it cannot be asked
 * (no privilege, or the connection failed). */
int reader_replication(MYSQL *m, struct reader_replication *r);

#endif
