/* streams.h — the streams of an installation: made at its first start, added by the operator, chosen for new
 * databases. */
#ifndef RUNORG_STREAMS_H
#define RUNORG_STREAMS_H

#include <mysql.h>
#include <stdint.h>

/* Most streams an installation may have (stream 1 included): each one costs
 * every processor a thread and a MariaDB connection. */
#define STREAMS_MAX 65535

/* At the first start (no stream at all): creates stream 1 (server commands)
 * and streams 2..n+1 (databases), with their clock rows. When any stream
 * exists, does nothing: the count is the database's, not a setting's.
 * Returns 0 or -1. */
int streams_init(MYSQL *m, int n);

/* Adds n streams after the highest one, with their clock rows, in one
 * transaction; *first and *last are the new range. Refuses (-2, nothing
 * added) when there would be more than STREAMS_MAX streams or n < 1.
 * Returns 0, -1 on a database error, -2 when refused. */
int streams_add(MYSQL *m, int n, uint32_t *first, uint32_t *last);

/* The stream a new database goes to: among streams >= 2, the one with the
 * fewest databases, counting those whose creation is queued but not applied
 * yet; ties go to the lowest number. -1 on error or when there is no such
 * stream. */
long long streams_pick(MYSQL *m);

/* How many streams exist; -1 on error. */
int streams_count(MYSQL *m);

/* Every stream number, ascending, in *list (malloc'd, the caller frees it;
 * NULL when there is none). Returns how many, or -1 on error. */
int streams_list(MYSQL *m, uint32_t **list);

#endif
