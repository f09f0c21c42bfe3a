/* main.c — runorg-fcgi: a master that preforks worker processes, each running
 * request threads on the shared FastCGI socket plus one clock watcher.
 *
 * The master only forks, restarts workers that die, and on SIGTERM/SIGINT
 * asks every worker to drain (finish the requests it has accepted) and exit. */
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/id.h"
#include "core/log.h"
#include "fcgi/auth.h"
#include "fcgi/router.h"
#include "fcgi/watcher.h"
#include "store/db.h"
#include "store/migrate.h"

static int listen_fd;
static atomic_int stopping, busy;

static void *serve(void *unused)
{
	(void)unused;
	FCGX_Request fr;
	FCGX_InitRequest(&fr, listen_fd, 0);
	while (!atomic_load(&stopping) && FCGX_Accept_r(&fr) == 0) {
		atomic_fetch_add(&busy, 1);
		router_handle(&fr);
		FCGX_Finish_r(&fr);
		atomic_fetch_sub(&busy, 1);
	}
	return NULL;
}

/* A worker's node number keeps its identifiers apart from every other process's. */
static int take_node(void)
{
	MYSQL *m = db_connect();
	long long r = m ? db_exec(m, "INSERT INTO nodes (started) VALUES (NOW())") : -1;
	if (r == 1)
		id_set_node((uint32_t)(mysql_insert_id(m) % 3844));
	if (m)
		mysql_close(m);
	return r == 1 ? 0 : -1;
}

static void worker(const sigset_t *sigs)
{
	if (take_node() || watcher_start()) {
		log_error("worker: cannot start");
		_exit(1);
	}
	for (int i = 0; i < cf.threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, serve, NULL);
		pthread_detach(t);
	}
	int sig;
	sigwait(sigs, &sig);
	atomic_store(&stopping, 1);
	/* Drain: the requests already accepted finish; idle threads stay in accept()
	 * and die with the process. Two quiet looks in a row, at most 10 s. */
	for (int i = 0, quiet = 0; i < 200 && quiet < 2; i++) {
		usleep(50000);
		quiet = atomic_load(&busy) == 0 ? quiet + 1 : 0;
	}
	_exit(0);
}

static pid_t spawn(const sigset_t *sigs)
{
	pid_t pid = fork();
	if (pid == 0)
		worker(sigs);
	if (pid < 0)
		log_error("fork: %s", strerror(errno));
	return pid;
}

static int open_socket(void)
{
	unlink(cf.socket);
	int fd = FCGX_OpenSocket(cf.socket, 1024);
	if (fd < 0) {
		log_error("cannot listen on %s", cf.socket);
		return -1;
	}
	/* The web server may run as another user: let it connect. */
	chmod(cf.socket, 0666);
	return fd;
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

/* --admin-token: prints a new server-administrator token. */
static int print_admin_token(void)
{
	char token[AUTH_TOKEN_LEN + 1];
	MYSQL *m = db_connect();
	if (!m || migrate_run(m) || auth_token_new(m, NULL, NULL, token)) {
		fprintf(stderr, "runorg-fcgi: could not create a token\n");
		return 1;
	}
	mysql_close(m);
	puts(token);
	return 0;
}

static void master(const sigset_t *sigs)
{
	pid_t *pids = calloc(cf.workers, sizeof *pids);
	time_t *born = calloc(cf.workers, sizeof *born);
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
	unlink(cf.socket);
	free(pids);
	free(born);
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	bool admin_token = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf = argv[++i];
		else if (!strcmp(argv[i], "--admin-token"))
			admin_token = true;
	}
	if (config_load(conf))
		return 1;
	log_set_level(cf.log_level);
	if (admin_token)
		return print_admin_token();

	signal(SIGPIPE, SIG_IGN);
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
	if (FCGX_Init() || (listen_fd = open_socket()) < 0)
		return 1;
	master(&sigs);
	return 0;
}
