/* main.c — runorg-fcgi: a master that preforks worker processes, each running
 * request threads on the shared FastCGI socket plus one clock poll thread (poll.c).
 *
 * The master only forks, restarts workers that die, and on SIGTERM/SIGINT
 * asks every worker to drain (finish the requests it has accepted) and exit.
 *
 * How the program was started decides what it does (README, "Deploying"):
 * 1. file descriptor 0 is a listening socket: a web server (lighttpd bin-path,
 *    Apache mod_fcgid) or spawn-fcgi started it as a FastCGI
 *    application: it is one worker on that socket, and the spawner decides
 *    how many processes run; cf.socket is ignored;
 * 2. else GATEWAY_INTERFACE is in the environment (RFC 3875 makes every CGI
 *    server set it): a plain CGI program, one request and exit;
 * 3. else the standalone daemon: master and prefork workers on cf.socket.
 * Not "stdin is a socket": Apache's mod_cgid gives CGI programs a connected
 * socket as stdin; only a listening one means FastCGI. And not "socket empty":
 * one configuration file then serves every mode. */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "fcgi/cgi.h"
#include "fcgi/router.h"
#include "core/xalloc.h"
#include "fcgi/hints.h"
#include "fcgi/inline.h"
#include "fcgi/lag.h"
#include "fcgi/poll.h"
#include "fcgi/retry.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/node.h"
#include "store/secret.h"

static int listen_fd;
static atomic_int stopping, busy; /* busy: exchanges accepted and not finished, parked ones included */

/* Replacing a master (README, "Operating"): the live master holds an
 * exclusive flock(2) on "<socket>.lock" (its workers close their copy), so a
 * new master that gets the lock knows that whatever answers on the socket
 * are the workers of a dead one. It binds a new socket under a temporary
 * name and renames it over the old path: the web server's next connection
 * reaches the new master, the old workers finish what they accepted, see
 * that the path is no longer their socket, and exit. Not one request finds
 * no socket. */
static int lock_fd = -1;
static pid_t master_pid;
static ino_t socket_ino; /* the inode of cf.socket once this master renamed its socket there */

/* One thread at a time sits in accept(): with hundreds of idle threads,
 * letting them all wait in the kernel costs a quarter of the throughput. The
 * others wait on a stack, the most recently idle on top, and the one that
 * accepted a connection wakes the top one to accept the next. So only about as
 * many threads as there are requests in flight ever run, and they stay warm
 * (their stacks, their malloc caches) while the rest sleep untouched.
 *
 * A request waiting for its clock is parked (wait.c) and its thread goes back
 * here. When its wait is over, it is handed to the top idle thread, or, when
 * none is idle, queued on `ready`, which every thread looks at before it
 * accepts again. */
struct idler {
	pthread_cond_t wake;
	bool go;
	struct exchange *work; /* a parked exchange to go on with, or NULL: accept */
	struct idler *next;
};
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct idler *idle_top;                  /* guarded by accept_lock */
static bool accepting;                          /* a thread accepts, or has been woken to (guarded by accept_lock) */
static struct exchange *ready_head, *ready_tail; /* parked exchanges to go on with (guarded by accept_lock) */

/* Gives a parked exchange whose wait is over to a thread (exchange.h). */
static void resume(struct exchange *x)
{
	x->next_ready = NULL;
	pthread_mutex_lock(&accept_lock);
	if (idle_top) {
		struct idler *t = idle_top;
		idle_top = t->next;
		t->work = x;
		t->go = true;
		pthread_cond_signal(&t->wake);
	} else {
		if (ready_tail)
			ready_tail->next_ready = x;
		else
			ready_head = x;
		ready_tail = x;
	}
	pthread_mutex_unlock(&accept_lock);
}

/* Caller holds accept_lock. */
static struct exchange *take_ready(void)
{
	struct exchange *x = ready_head;
	if (x) {
		ready_head = x->next_ready;
		if (!ready_head)
			ready_tail = NULL;
	}
	return x;
}

/* The next exchange this thread runs: one whose wait is over, or a new one
 * accepted. NULL when the worker stops or accept fails. */
static struct exchange *next_exchange(struct idler *me)
{
	pthread_mutex_lock(&accept_lock);
	struct exchange *x = take_ready();
	/* Wait on the idle stack while another thread accepts, and while the
	 * worker stops (it accepts no more, but parked requests still need a
	 * thread to be answered). */
	bool woken = false;
	while (!x && ((accepting && !woken) || atomic_load(&stopping))) {
		me->go = false;
		me->work = NULL;
		me->next = idle_top;
		idle_top = me;
		while (!me->go)
			pthread_cond_wait(&me->wake, &accept_lock);
		x = me->work;
		woken = true;
	}
	if (x) {
		pthread_mutex_unlock(&accept_lock);
		return x;
	}
	accepting = true;
	pthread_mutex_unlock(&accept_lock);
	x = xcalloc(1, sizeof *x);
	FCGX_InitRequest(&x->fr, listen_fd, 0);
	/* With one thread, a parked request would wait for a thread that sits in
	 * accept: it sleeps in its thread instead, as under CGI. */
	x->resume = cf.threads > 1 ? resume : NULL;
	int r = atomic_load(&stopping) ? -1 : FCGX_Accept_r(&x->fr);
	pthread_mutex_lock(&accept_lock);
	if (idle_top) {
		struct idler *next = idle_top;
		idle_top = next->next;
		next->work = NULL;
		next->go = true;
		pthread_cond_signal(&next->wake);
	} else {
		accepting = false;
	}
	pthread_mutex_unlock(&accept_lock);
	if (r < 0) {
		free(x);
		return NULL;
	}
	atomic_fetch_add(&busy, 1);
	return x;
}

static void *serve(void *unused)
{
	(void)unused;
	db_retry_unsent(true); /* request connections hold nothing from one request to the next */
	struct idler me = {.go = false};
	pthread_cond_init(&me.wake, NULL);
	struct exchange *x;
	while ((x = next_exchange(&me))) {
		if (!router_run(x))
			continue; /* parked: the wait has it now */
		FCGX_Finish_r(&x->fr);
		/* A web server that asked to keep the connection (FCGI_KEEP_CONN:
		 * Apache's mod_proxy_fcgi) finds it closed and opens another: the
		 * exchange that knew it is gone. */
		if (x->fr.ipcFd >= 0)
			close(x->fr.ipcFd);
		free(x);
		atomic_fetch_sub(&busy, 1);
	}
	return NULL;
}

/* Each parked request holds its connection: let the process hold many. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			log_warn("runorg-fcgi: cannot raise the file descriptor limit");
	}
}

/* A worker's node number keeps its identifiers apart from every other process's. */
static int take_node(void)
{
	MYSQL *m = db_connect();
	int r = m ? node_take(m) : -1;
	if (m)
		mysql_close(m);
	return r;
}

static void worker(const sigset_t *sigs)
{
	if (take_node() || poll_start(cf.cache_kib > 0) || hints_listen() || lag_start()) {
		log_error("worker: cannot start");
		_exit(1);
	}
	/* Many threads, most of them asleep in accept() or on an at= wait: small
	 * stacks, and one malloc arena (threads keep their own small caches) so
	 * that memory freed by one thread serves the next request of another. */
	mallopt(M_ARENA_MAX, 1);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < cf.threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, serve, NULL))
			log_error("worker: only %d request threads", i);
	}
	pthread_attr_destroy(&attr);
	/* SIGTERM from the master; or, once the master is gone (killed), a new
	 * master's socket in our path: then nothing reaches ours any more. */
	struct timespec second = {1, 0};
	while (sigtimedwait(sigs, NULL, &second) < 0) {
		struct stat st;
		if (socket_ino && getppid() != master_pid &&
		    (stat(cf.socket, &st) || st.st_ino != socket_ino)) {
			log_info("worker: the master is gone and %s is another's now: finishing", cf.socket);
			break;
		}
	}
	atomic_store(&stopping, 1);
	/* Drain: the requests already accepted finish, parked ones included (at
	 * most sync_timeout_ms away); the idle threads wait on the idle stack for
	 * the parked ones, and die with the process. Two quiet looks in a row, at
	 * most sync_timeout_ms + 5 s. */
	int looks = (cf.sync_timeout_ms + 5000) / 50;
	for (int i = 0, quiet = 0; i < looks && quiet < 2; i++) {
		usleep(50000);
		quiet = atomic_load(&busy) == 0 ? quiet + 1 : 0;
	}
	_exit(0);
}

static pid_t spawn(const sigset_t *sigs)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (lock_fd >= 0)
			close(lock_fd); /* the lock is the master's alone: it goes when the master does */
		worker(sigs);
	}
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

/* The master's lock (see lock_fd): -1 when another master holds it. */
static int take_master_lock(void)
{
	char path[sizeof cf.socket + 8];
	snprintf(path, sizeof path, "%s.lock", cf.socket);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0) {
		log_error("runorg-fcgi: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB)) {
		log_error("runorg-fcgi: another runorg-fcgi serves %s (it holds %s)", cf.socket, path);
		close(lock_fd);
		lock_fd = -1;
		return -1;
	}
	return 0;
}

/* Binds a new socket at "<socket>.<pid>" and renames it over cf.socket, so
 * that the path always leads to a socket that answers: the old one (orphaned
 * workers of a dead master) until the rename, ours from then on. */
static int open_socket(void)
{
	if (!cf.socket[0]) {
		log_error("runorg-fcgi: no socket configured, and not started by a web server");
		return -1;
	}
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n = snprintf(a.sun_path, sizeof a.sun_path, "%s.%d", cf.socket, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof a.sun_path) {
		log_error("runorg-fcgi: the socket path %s is too long", cf.socket);
		return -1;
	}
	if (take_master_lock())
		return -1;
	unlink(a.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A burst of at= requests: a long backlog (the kernel caps it at somaxconn). */
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
		log_error("cannot listen on %s: %s", a.sun_path, strerror(errno));
		goto fail;
	}
	/* The web server may run as another user: let it connect. */
	chmod(a.sun_path, 0666);
	struct stat st;
	if (rename(a.sun_path, cf.socket) || stat(cf.socket, &st)) {
		log_error("cannot put the socket at %s: %s", cf.socket, strerror(errno));
		goto fail;
	}
	socket_ino = st.st_ino;
	master_pid = getpid();
	return fd;
fail:
	unlink(a.sun_path);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int prepare_database(void)
{
	for (int i = 0; i < 30; i++) {
		MYSQL *m = db_connect();
		if (m) {
			int r = migrate_run(m);
			mysql_close(m);
			return r;
		}
		sleep(1);
	}
	return -1;
}

/* The read and write timeouts of the connections made from now on: a
 * backstop above every request's deadline, which the deadlines enforce to
 * the millisecond (db.h). */
static void set_io_timeout(void)
{
	long long ms = cf.request_timeout_ms;
	if ((long long)cf.sync_timeout_ms + ROUTER_WAIT_MARGIN_MS > ms)
		ms = (long long)cf.sync_timeout_ms + ROUTER_WAIT_MARGIN_MS;
	long long s = ms / 1000 + 5;
	db_io_timeout_set(s > 86400 ? 86400 : (unsigned)s);
}

/* A web server passed a listening socket as fd 0 (mode 1 above). */
static bool spawned(void)
{
	int listening = 0;
	socklen_t len = sizeof listening;
	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

/* Mode 2: one request from the environment and stdin. A request that finds
 * the newest schema file of sql_dir not applied (one primary-key lookup)
 * runs the migrations, under the named lock 'runorg.migrate' that keeps two
 * racing first requests apart (the second waits, then finds them done): on
 * shared hosting with plain CGI nothing else would. A node number is taken
 * only by requests that may make identifiers, on the connection the request
 * then uses. The poll thread runs as in a worker, so at= waits and their 503
 * behave the same. */
static int serve_cgi(void)
{
	MYSQL *mm = db_acquire();
	if (mm && migrate_pending(mm) == 1) {
		db_io_timeout_set(0);
		if (migrate_run(mm))
			log_error("runorg-fcgi (CGI): the migrations failed");
		set_io_timeout();
	}
	db_release(mm, !mm || (mysql_errno(mm) && db_gone(mm)));
	const char *method = getenv("REQUEST_METHOD");
	if (method && strcmp(method, "GET") && strcmp(method, "HEAD")) {
		MYSQL *m = db_acquire();
		int r = m ? node_take(m) : -1;
		db_release(m, r != 0);
		if (r)
			log_error("runorg-fcgi (CGI): cannot take a node number");
	}
	if (poll_start(false)) {
		log_error("runorg-fcgi (CGI): cannot start the clock poll");
		return 1;
	}
	db_retry_unsent(true);
	return cgi_serve();
}

static void master(const sigset_t *sigs)
{
	pid_t *pids = xcalloc(cf.workers, sizeof *pids);
	time_t *born = xcalloc(cf.workers, sizeof *born);
	for (int i = 0; i < cf.workers; i++) {
		pids[i] = spawn(sigs);
		born[i] = time(NULL);
	}
	log_info("runorg-fcgi: %d workers x %d threads on %s", cf.workers, cf.threads, cf.socket);
	for (;;) {
		int sig;
		sigwait(sigs, &sig);
		if (sig != SIGCHLD)
			break;
		pid_t pid;
		int status;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (int i = 0; i < cf.workers; i++)
				if (pids[i] == pid) {
					log_warn("worker %d exited (status %d), restarting", (int)pid,
					         status);
					if (time(NULL) - born[i] < 1)
						sleep(1); /* a worker that dies at once: do not spin */
					pids[i] = spawn(sigs);
					born[i] = time(NULL);
				}
	}
	log_info("runorg-fcgi: stopping");
	for (int i = 0; i < cf.workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int left = cf.workers, tries = 0; left > 0 && tries < 300; tries++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			left--;
		if (left > 0)
			usleep(50000);
	}
	for (int i = 0; i < cf.workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	struct stat st;
	if (stat(cf.socket, &st) == 0 && st.st_ino == socket_ino)
		unlink(cf.socket); /* ours still: no newer master put its own there */
	free(pids);
	free(born);
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			conf = argv[++i];
		} else if (!getenv("GATEWAY_INTERFACE")) { /* CGI may pass words of a query as arguments */
			fprintf(stderr, "usage: runorg-fcgi [-c runorg.conf]\n"
			                "(server-administrator tokens: runorgctl token admin)\n");
			return 2;
		}
	}
	if (config_load(conf) || log_set_file(cf.log_file))
		return 1;
	log_set_level(cf.log_level);

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	bool from_server = spawned();
	if (from_server || getenv("GATEWAY_INTERFACE"))
		inline_spawned(); /* shared hosting, perhaps: apply_inline = auto applies here */
	if (!from_server && getenv("GATEWAY_INTERFACE")) {
		set_io_timeout();
		return serve_cgi();
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (prepare_database()) {
		log_error("runorg-fcgi: cannot prepare the database");
		return 1;
	}
	/* Read (or made) now, so that a missing or unwritable key_secret_file
	 * shows in the log at start; the workers inherit it. */
	unsigned char secret[SEAL_KEY_SIZE];
	if (secret_get(secret))
		log_error("runorg-fcgi: no server secret: HMAC keys and logins answer 500 until it is fixed");
	OPENSSL_cleanse(secret, sizeof secret);
	set_io_timeout(); /* after the migrations, which may take long */
	if (FCGX_Init())
		return 1;
	if (from_server) {
		log_info("runorg-fcgi: spawned by the web server, %d threads on fd 0", cf.threads);
		listen_fd = 0;
		worker(&sigs); /* does not return */
	}
	if ((listen_fd = open_socket()) < 0)
		return 1;
	if (poll_share())
		log_error("runorg-fcgi: workers will not share their clock polls");
	if (retry_share())
		log_error("runorg-fcgi: workers will not share the Idempotency-Keys in flight");
	if (db_share())
		log_error("runorg-fcgi: workers will not share what they see of MariaDB");
	master(&sigs);
	return 0;
}
