/* rows.c — reading projection rows as JSON, in the order the caller asks. */
#include "resources/rows.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"

json_object *rows_in_order(MYSQL *m, const char *select_sql, const char *db, const char *const *ids, int n,
                           json_object *(*make)(MYSQL_ROW row))
{
	json_object *out = json_object_new_array();
	if (n == 0)
		return out;
	char *in = db_quote_list(m, ids, n);
	MYSQL_RES *res = db_query(m, select_sql, db, in);
	free(in);
	if (!res) {
		json_object_put(out);
		return NULL;
	}
	json_object *by_id = json_object_new_object();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		json_object_object_add(by_id, row[0], make(row));
	mysql_free_result(res);
	for (int i = 0; i < n; i++) {
		json_object *o;
		if (json_object_object_get_ex(by_id, ids[i], &o))
			json_object_array_add(out, json_object_get(o));
	}
	json_object_put(by_id);
	return out;
}

MYSQL_RES *rows_page(MYSQL *m, const char *columns, const char *table, const char *db, long long limit,
                     long long offset, long long *count)
{
	*count = db ? db_value(m, "SELECT COUNT(*) FROM %s WHERE db = %Q", table, db)
	            : db_value(m, "SELECT COUNT(*) FROM %s", table);
	if (*count < 0)
		return NULL;
	/* The columns join the format itself: they may hold db_query's own
	 * escapes (ISOTIME_SQL_OUT's %%). */
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s ORDER BY id LIMIT %%lld OFFSET %%lld", columns, table,
	         db ? "db = %Q" : "TRUE");
	MYSQL_RES *res = db ? db_query(m, sql, db, limit, offset) : db_query(m, sql, limit, offset);
	if (!res)
		*count = -1;
	return res;
}
