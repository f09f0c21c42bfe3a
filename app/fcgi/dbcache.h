/* dbcache.h — which stream a database is on, remembered by each worker (databases never move). */
#ifndef RUNORG_DBCACHE_H
#define RUNORG_DBCACHE_H

#include <mysql.h>
#include <stdint.h>

/* The stream of a database: 1 (found), 0 (no such database, or not a valid
 * id), -1 (MySQL failed). m is asked only when this worker has not seen the
 * database yet; it may be NULL when m_for gives it: m_for(arg) is called then. */
int dbcache_stream(const char *db, uint32_t *stream, MYSQL *(*m_for)(void *arg), void *arg);

#endif
