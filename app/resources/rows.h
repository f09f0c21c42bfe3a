/* rows.h — reading projection rows as JSON, in the order the caller asks. */
#ifndef RUNORG_ROWS_H
#define RUNORG_ROWS_H

#include <json-c/json.h>
#include <mysql.h>

/* Runs `select_sql`, a db_query format with %Q for the database and %s for
 * the list of ids ("... WHERE db = %Q AND id IN %s", first column the id),
 * and returns make(row) for each of the n ids that has a row, in the order of
 * ids (rows come back in any order). NULL when the database fails. */
json_object *rows_in_order(MYSQL *m, const char *select_sql, const char *db, const char *const *ids, int n,
                           json_object *(*make)(MYSQL_ROW row));

#endif
