/* config.h — configuration: conf/runorg.conf (INI) overridden by RUNORG_<KEY> environment variables. */
#ifndef RUNORG_CONFIG_H
#define RUNORG_CONFIG_H

#include <stddef.h>

struct config {
	int test_mode;         /* test_mode: 0/1, enables /test/auth routes */
	int sync_timeout_ms;   /* sync_timeout_ms: longest wait on at= before 503 (5000) */
	int request_timeout_ms; /* request_timeout_ms: deadline of a request not waiting on at= (10000) */
	int lease_timeout_ms;   /* lease_timeout_ms: a silent lease holder is replaced after it (5000) */
	char apply_inline[8];  /* apply_inline: auto, never, always: whether the front applies
	                          queued commands when no processor is alive ("auto") */
	int inline_mode;       /* apply_inline as one of INLINE_* (set by config_load) */
	int streams;           /* streams: number of database streams, 2..streams+1 (4) */
	int workers;           /* workers: FastCGI worker processes (2) */
	int threads;           /* threads: request threads per worker (256) */
	int db_pool;           /* db_pool: MySQL connections per worker process (32) */
	long max_body;         /* max_body: largest request body in bytes (1048576) */
	int poll_min_us;       /* poll_min_us: clock watcher's first poll interval (250) */
	int poll_max_us;       /* poll_max_us: clock watcher's poll interval cap (500) */
	int cache_kib;         /* cache_kib: reply cache per worker, KiB; 0 turns the caches off (512) */
	int cache_lag_us;      /* cache_lag_us: how old a clock poll cached answers may rely on (2000) */
	int revoke_lag_ms;     /* revoke_lag_ms: how old a poll checked tokens may rely on (100) */
	int max_waits;         /* max_waits: requests waiting on at= at once, per process (10000) */
	int max_waits_per_token; /* max_waits_per_token: the same per token (tokenless: one bucket) (1000) */
	char hint_host[64];    /* hint_host: IPv4 address fronts hear hints on ("127.0.0.1"; "" none) */
	int idempotency_hours; /* idempotency_hours: how long Idempotency-Keys and their answers are kept (24) */
	char socket[256];      /* socket: FastCGI unix socket path ("var/run/runorg.sock") */
	char base_path[128];   /* base_path: URL prefix RunOrg is served under ("") */
	char db_host[128];     /* db_host ("localhost") */
	int db_port;           /* db_port (3306) */
	char db_socket[256];   /* db_socket: MariaDB unix socket, wins over host/port when set ("") */
	char db_read_host[128];   /* db_read_host: the read server (a replica), "" = the primary ("") */
	int db_read_port;         /* db_read_port: its TCP port, 0 = db_port (0) */
	char db_read_socket[256]; /* db_read_socket: its unix socket, wins over host/port ("") */
	int db_read_stale_ms;     /* db_read_stale_ms: replica lag past which reads say they are stale (1000) */
	char db_user[64];      /* db_user ("root") */
	char db_password[128]; /* db_password ("") */
	char db_name[64];      /* db_name ("runorg") */
	char sql_dir[256];     /* sql_dir: where the schema files live ("sql") */
	char pid_file[256];    /* pid_file: written by the program at start ("") */
	char log_level[16];    /* log_level: error, warn, info, debug ("info") */
	char log_file[256];    /* log_file: append log lines here instead of stderr ("") */
	char key_secret[80];   /* key_secret: 64 hex digits sealing HMAC keys at rest ("": key_secret_file) */
	char key_secret_file[256]; /* key_secret_file: where it is kept when key_secret is empty
	                              ("var/key-secret") */
};

/* cf.inline_mode: whether a front applies queued commands itself. */
enum { INLINE_AUTO, INLINE_NEVER, INLINE_ALWAYS };

/* Loaded once at start, read-only afterwards. */
extern struct config cf;

/* Sets defaults, reads `path` (NULL: the file named by the environment
 * variable RUNORG_CONF, if any; skipped when missing),
 * then applies RUNORG_<KEY> environment overrides (KEY = upper-cased key name).
 * Returns 0, or -1 with a message on stderr (bad file syntax, bad number). */
int config_load(const char *path);

#endif
