/* node.c — a node number per process, so that identifiers made by different processes never collide. */
#include "store/node.h"

#include "core/id.h"
#include "store/db.h"

/* Identifiers hold the node modulo 3844 (two base-62 characters). */
#define NODE_COUNT 3844

int node_take(MYSQL *m)
{
	if (db_exec(m, "INSERT INTO nodes (started) VALUES (NOW())") != 1)
		return -1;
	unsigned long long node = mysql_insert_id(m);
	id_set_node((uint32_t)(node % NODE_COUNT));
	/* Only the counter matters, and a row NODE_COUNT numbers back names the
	 * same node as this one: now and then, drop those (a CGI front takes a
	 * number per request, so the table would otherwise grow without end). */
	if (node % 1024 == 0)
		db_exec(m, "DELETE FROM nodes WHERE node + %d < %llu", NODE_COUNT, node);
	return 0;
}
