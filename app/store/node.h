/* node.h — a node number per process, so that identifiers made by different processes never collide. */
#ifndef RUNORG_NODE_H
#define RUNORG_NODE_H

#include <mysql.h>

/* Takes the next number from the nodes table and makes it this process's
 * node (id_set_node). Call once, before the process makes identifiers.
 * Returns 0 or -1. */
int node_take(MYSQL *m);

#endif
