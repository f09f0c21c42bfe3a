/* hints.c — the processor's side of hints: after each commit, "stream s is at n" to every front that listens.
 *
 * The fronts register their UDP address in `listeners` (fcgi/hints.c); this
 * thread reads the fresh ones every second. A datagram is sent after each
 * commit and a keepalive every 100 ms, so that a front knows hints flow and
 * may poll less while it waits. Nothing here is needed for correctness: a
 * front that hears nothing polls as before. */
#include "processor/hints.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hint.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/db.h"
#include "store/listeners.h"

static int sock = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sockaddr_in *targets; /* guarded by lock */
static int ntargets;

/* "host:port" with a numeric IPv4 host into a; false when it is not one. */
static bool parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host)
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	*a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	return *end == 0 && port > 0 && port < 65536 && inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

static void send_all(const char *buf, int len)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < ntargets; i++)
		sendto(sock, buf, (size_t)len, MSG_DONTWAIT, (const struct sockaddr *)&targets[i], sizeof targets[i]);
	pthread_mutex_unlock(&lock);
}

void hints_commit(uint32_t stream, uint64_t pos)
{
	if (sock < 0)
		return;
	char buf[HINT_MAX_BYTES];
	struct clock_pair p = {.stream = stream, .pos = pos};
	int len = hint_format(buf, sizeof buf, &p, 1);
	if (len > 0)
		send_all(buf, len);
}

static void refresh(MYSQL **m)
{
	if (!*m && !(*m = db_connect()))
		return;
	char **addrs;
	int n = listeners_fresh(*m, &addrs);
	if (n < 0) {
		if (db_gone(*m)) {
			mysql_close(*m);
			*m = NULL;
		}
		return;
	}
	struct sockaddr_in *t = xcalloc((size_t)n + 1, sizeof *t);
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (parse_addr(addrs[i], &t[k]))
			k++;
		free(addrs[i]);
	}
	free(addrs);
	pthread_mutex_lock(&lock);
	free(targets);
	targets = t;
	ntargets = k;
	pthread_mutex_unlock(&lock);
}

static void *run(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	char keepalive[HINT_MAX_BYTES];
	int len = hint_format(keepalive, sizeof keepalive, NULL, 0);
	for (int tick = 0;; tick = (tick + 1) % 10) {
		if (tick == 0)
			refresh(&m);
		send_all(keepalive, len);
		usleep(100000);
	}
	return NULL;
}

int hints_start(void)
{
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		log_warn("hints: no UDP socket; the fronts will poll");
		return -1;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL)) {
		close(sock);
		sock = -1;
		return -1;
	}
	pthread_detach(t);
	return 0;
}
