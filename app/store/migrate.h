/* migrate.h — applies the schema files of sql/ that the database has not seen yet. */
#ifndef RUNORG_MIGRATE_H
#define RUNORG_MIGRATE_H

#include <mysql.h>

/* Applies every sql/NNN-*.sql whose number is not in schema_version, in order,
 * under a named lock so that programs starting together apply each once.
 * Then, at the first start only (no stream yet), creates the streams
 * 1..cf.streams+1 (streams_init). Returns 0 or -1. */
int migrate_run(MYSQL *m);

/* Whether the newest schema file of sql_dir is not applied yet (or there is
 * no schema at all): 1, 0, or -1 when it cannot be told. One query. */
int migrate_pending(MYSQL *m);

#endif
