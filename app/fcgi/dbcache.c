/* dbcache.c — which stream a database is on, remembered by each worker (databases never move).
 *
 * Databases never move to another stream and are never removed, so each
 * worker remembers the stream of the databases it has seen: a direct-mapped
 * table, a slot per hash of the id, guarded by `lock`. A database not (yet)
 * created is never remembered. */
#include "fcgi/dbcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/hash.h"
#include "core/id.h"
#include "store/db.h"

#define SLOTS 4096

static struct {
	char id[ID_LEN + 1];
	uint32_t stream;
} slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int dbcache_stream(const char *db, uint32_t *stream, MYSQL *(*m_for)(void *arg), void *arg)
{
	if (!id_valid(db))
		return 0;
	unsigned slot = hash_str(HASH_START, db) % SLOTS;
	pthread_mutex_lock(&lock);
	bool hit = !strcmp(slots[slot].id, db);
	*stream = slots[slot].stream;
	pthread_mutex_unlock(&lock);
	if (hit)
		return 1;
	MYSQL *m = m_for(arg);
	long long s = m ? db_value(m, "SELECT stream FROM dbs WHERE id = %Q", db) : -1;
	if (s == -1)
		return -1;
	if (s < 0)
		return 0; /* no row: not (yet) created */
	*stream = (uint32_t)s;
	pthread_mutex_lock(&lock);
	memcpy(slots[slot].id, db, ID_LEN + 1);
	slots[slot].stream = *stream;
	pthread_mutex_unlock(&lock);
	return 1;
}
