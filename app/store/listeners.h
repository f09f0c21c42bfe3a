/* listeners.h — the fronts that listen for hints: their UDP addresses and heartbeats (sql/030-listeners.sql). */
#ifndef RUNORG_LISTENERS_H
#define RUNORG_LISTENERS_H

#include <mysql.h>

/* A listener whose heartbeat is older than this is not sent to any more. */
#define LISTENERS_TTL_S 5

/* Registers addr ("host:port") or refreshes its heartbeat. Returns 0 or -1. */
int listeners_beat(MYSQL *m, const char *addr);

/* The addresses whose heartbeat is fresh, into a malloc'd array of malloc'd
 * strings (*addrs; the caller frees both). Returns how many, or -1. */
int listeners_fresh(MYSQL *m, char ***addrs);

/* Deletes the listeners gone for a day (the janitor's sweep). Rows deleted, or -1. */
long long listeners_sweep(MYSQL *m);

#endif
