/* hints.c — the front's side of hints: each worker listens for "stream s is at n" and polls at once.
 *
 * A processor sends a datagram after each commit (processor/hints.c). A hint
 * is never trusted: it only makes the clock poll (poll.c) read the clock rows
 * now instead of at its next tick, from this front's own read server, so a
 * lost, late, duplicated or forged hint costs latency at worst. The worker's
 * address is registered in `listeners` (every second, like a heartbeat), so
 * processors find fronts on any host through MariaDB, and stop sending to a
 * front whose worker died once its heartbeat is LISTENERS_TTL_S old. */
#include "fcgi/hints.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/hint.h"
#include "core/log.h"
#include "fcgi/poll.h"
#include "store/db.h"
#include "store/listeners.h"

static int sock = -1;
static char addr[80];

static void *run(void *unused)
{
	(void)unused;
	MYSQL *m = NULL;
	time_t beat = 0;
	char buf[HINT_MAX_BYTES];
	struct clock_pair pairs[HINT_MAX_PAIRS];
	for (;;) {
		if (time(NULL) != beat) {
			beat = time(NULL);
			/* The heartbeat gives up after half a second, connecting
			 * included: the hints keep being heard meanwhile. */
			db_deadline_set(db_mono_us() + 500000);
			if (!m)
				m = db_connect();
			if (m && listeners_beat(m, addr) && db_gone(m)) {
				mysql_close(m);
				m = NULL;
			}
		}
		ssize_t n = recv(sock, buf, sizeof buf, 0); /* at most 200 ms (SO_RCVTIMEO) */
		if (n <= 0)
			continue;
		int k = hint_parse(buf, (size_t)n, pairs, HINT_MAX_PAIRS);
		if (k >= 0)
			poll_hint(pairs, k);
	}
	return NULL;
}

int hints_listen(void)
{
	if (!cf.hint_host[0])
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, cf.hint_host, &a.sin_addr) != 1) {
		log_error("hints: hint_host '%s' is not an IPv4 address", cf.hint_host);
		return -1;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof a;
	struct timeval tv = {0, 200000};
	if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof a) ||
	    getsockname(sock, (struct sockaddr *)&a, &len) ||
	    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)) {
		log_error("hints: cannot listen on %s: the clock poll alone will serve", cf.hint_host);
		if (sock >= 0)
			close(sock);
		sock = -1;
		return -1;
	}
	snprintf(addr, sizeof addr, "%s:%u", cf.hint_host, (unsigned)ntohs(a.sin_port));
	pthread_t t;
	if (pthread_create(&t, NULL, run, NULL))
		return -1;
	pthread_detach(t);
	return 0;
}
