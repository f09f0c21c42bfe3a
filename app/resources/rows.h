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

/* A page of a table in id order, and the count of the whole table: the rows
 * of database db (NULL: every row), `columns` of `table`. Both come from the
 * code, never from a request; columns are in db_query's format
 * (ISOTIME_SQL_OUT and all). NULL when the database fails (*count -1). */
MYSQL_RES *rows_page(MYSQL *m, const char *columns, const char *table, const char *db, long long limit,
                     long long offset, long long *count);

#endif
