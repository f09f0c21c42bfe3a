/* test_config.c — unit tests of core/config: defaults, INI file, RUNORG_<KEY> overrides, bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

static const char *all_vars[] = {
    "RUNORG_TEST_MODE",   "RUNORG_SYNC_TIMEOUT_MS", "RUNORG_STREAMS",     "RUNORG_WORKERS",
    "RUNORG_THREADS",     "RUNORG_DB_POOL",         "RUNORG_MAX_BODY",    "RUNORG_POLL_MIN_US",
    "RUNORG_POLL_MAX_US", "RUNORG_SOCKET",          "RUNORG_DB_HOST",     "RUNORG_DB_PORT",
    "RUNORG_DB_SOCKET",   "RUNORG_DB_USER",         "RUNORG_DB_PASSWORD", "RUNORG_DB_NAME",
    "RUNORG_SQL_DIR",     "RUNORG_PID_FILE",        "RUNORG_LOG_LEVEL",   "RUNORG_LOG_FILE",
    "RUNORG_CONF",        "RUNORG_BASE_PATH",       "RUNORG_CACHE_KIB",   "RUNORG_CACHE_LAG_US",
    "RUNORG_REVOKE_LAG_MS", "RUNORG_DB_READ_HOST",  "RUNORG_DB_READ_PORT", "RUNORG_DB_READ_SOCKET",
    "RUNORG_DB_READ_STALE_MS",
    "RUNORG_KEY_SECRET",  "RUNORG_KEY_SECRET_FILE",
};

static char path[64];

/* Every test starts with no RUNORG_ variable and no file. */
static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
		unsetenv(all_vars[i]);
	snprintf(path, sizeof path, "/tmp/runorg-test-config-%d.conf", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Runs config_load with stderr captured into `err`. */
static int load_capture(const char *p, char *err, size_t errlen)
{
	char tmp[80];
	snprintf(tmp, sizeof tmp, "%s.stderr", path);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(tmp, "w+");
	assert_non_null(f);
	dup2(fileno(f), 2);
	int st = config_load(p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(err, 1, errlen - 1, f);
	err[n] = 0;
	fclose(f);
	unlink(tmp);
	return st;
}

static void assert_defaults(void)
{
	assert_int_equal(cf.test_mode, 0);
	assert_int_equal(cf.sync_timeout_ms, 5000);
	assert_int_equal(cf.request_timeout_ms, 10000);
	assert_int_equal(cf.lease_timeout_ms, 5000);
	assert_string_equal(cf.apply_inline, "auto");
	assert_int_equal(cf.inline_mode, INLINE_AUTO);
	assert_int_equal(cf.streams, 4);
	assert_int_equal(cf.workers, 2);
	assert_int_equal(cf.threads, 256);
	assert_int_equal(cf.db_pool, 32);
	assert_int_equal(cf.max_body, 1048576);
	assert_int_equal(cf.poll_min_us, 250);
	assert_int_equal(cf.poll_max_us, 500);
	assert_int_equal(cf.cache_kib, 512);
	assert_int_equal(cf.cache_lag_us, 2000);
	assert_int_equal(cf.revoke_lag_ms, 100);
	assert_string_equal(cf.socket, "var/run/runorg.sock");
	assert_string_equal(cf.db_host, "localhost");
	assert_int_equal(cf.db_port, 3306);
	assert_string_equal(cf.db_socket, "");
	assert_string_equal(cf.db_read_host, "");
	assert_int_equal(cf.db_read_port, 0);
	assert_string_equal(cf.db_read_socket, "");
	assert_int_equal(cf.db_read_stale_ms, 1000);
	assert_string_equal(cf.db_user, "root");
	assert_string_equal(cf.db_password, "");
	assert_string_equal(cf.db_name, "runorg");
	assert_string_equal(cf.sql_dir, "sql");
	assert_string_equal(cf.pid_file, "");
	assert_string_equal(cf.log_level, "info");
	assert_string_equal(cf.log_file, "");
	assert_string_equal(cf.key_secret, "");
	assert_string_equal(cf.key_secret_file, "var/key-secret");
	assert_string_equal(cf.base_path, "");
}

static void test_defaults(void **state)
{
	(void)state;
	memset(&cf, 0x55, sizeof cf);
	assert_int_equal(config_load(NULL), 0);
	assert_defaults();
}

static void test_missing_file(void **state)
{
	(void)state;
	char err[1024];
	assert_int_equal(load_capture(path, err, sizeof err), 0);
	assert_defaults();
}

static void test_file(void **state)
{
	(void)state;
	write_file("; RunOrg\n"
	           "# comment\n"
	           "[runorg]\n"
	           "test_mode = 1\n"
	           "sync_timeout_ms=250\n"
	           "streams = 6\n"
	           "max_body = 3000000000\n"
	           "socket = /tmp/run org.sock\n"
	           "db_host = db.example.com\n"
	           "db_port = 3307\n"
	           "db_password = s3cr=t\n"
	           "[other]\n"
	           "log_level = debug\n");
	assert_int_equal(config_load(path), 0);
	assert_int_equal(cf.test_mode, 1);
	assert_int_equal(cf.sync_timeout_ms, 250);
	assert_int_equal(cf.streams, 6);
	assert_true(cf.max_body == 3000000000L);
	assert_string_equal(cf.socket, "/tmp/run org.sock");
	assert_string_equal(cf.db_host, "db.example.com");
	assert_int_equal(cf.db_port, 3307);
	assert_string_equal(cf.db_password, "s3cr=t");
	assert_string_equal(cf.log_level, "debug");
	/* Keys not in the file keep their defaults. */
	assert_int_equal(cf.workers, 2);
	assert_string_equal(cf.db_user, "root");

	/* No section at all; an empty value empties a string. */
	write_file("workers = 3\nsql_dir =\n");
	assert_int_equal(config_load(path), 0);
	assert_int_equal(cf.workers, 3);
	assert_string_equal(cf.sql_dir, "");
	/* Loading again starts from the defaults. */
	assert_int_equal(cf.test_mode, 0);
	assert_string_equal(cf.log_level, "info");
}

static void test_shipped_file(void **state)
{
	(void)state;
	/* conf/runorg.conf lists every key with its default. */
	const char *p = "conf/runorg.conf";
	if (access(p, R_OK))
		p = "../../conf/runorg.conf";
	if (access(p, R_OK))
		skip();
	char err[1024];
	memset(&cf, 0x55, sizeof cf);
	assert_int_equal(load_capture(p, err, sizeof err), 0);
	assert_string_equal(err, ""); /* no unknown key */
	assert_defaults();
}

/* Without -c, RUNORG_CONF names the file (how mod_fcgid or systemd can point at it). */
static void test_conf_from_env(void **state)
{
	(void)state;
	write_file("workers = 7\nlog_file = /tmp/runorg.log\n");
	setenv("RUNORG_CONF", path, 1);
	assert_int_equal(config_load(NULL), 0);
	assert_int_equal(cf.workers, 7);
	assert_string_equal(cf.log_file, "/tmp/runorg.log");
	/* An explicit path wins. */
	char err[1024];
	char other[80];
	snprintf(other, sizeof other, "%s.none", path);
	assert_int_equal(load_capture(other, err, sizeof err), 0);
	assert_int_equal(cf.workers, 2);
	unsetenv("RUNORG_CONF");
}

static void test_unknown_key(void **state)
{
	(void)state;
	write_file("[runorg]\nworkers = 5\nno_such_key = 1\nthreads = 3\n");
	char err[1024];
	assert_int_equal(load_capture(path, err, sizeof err), 0);
	assert_non_null(strstr(err, "no_such_key"));
	assert_int_equal(cf.workers, 5);
	assert_int_equal(cf.threads, 3);
}

static void test_env_override(void **state)
{
	(void)state;
	write_file("streams = 6\ndb_host = from-file\ndb_name = fromfile\n");
	setenv("RUNORG_STREAMS", "7", 1);
	setenv("RUNORG_DB_HOST", "from-env", 1);
	setenv("RUNORG_TEST_MODE", "1", 1);
	setenv("RUNORG_DB_PASSWORD", "", 1);
	setenv("RUNORG_MAX_BODY", "-0", 1);
	assert_int_equal(config_load(path), 0);
	assert_int_equal(cf.streams, 7);
	assert_string_equal(cf.db_host, "from-env");
	assert_string_equal(cf.db_name, "fromfile");
	assert_int_equal(cf.test_mode, 1);
	assert_string_equal(cf.db_password, "");
	assert_int_equal(cf.max_body, 0);

	/* Without a file too. */
	assert_int_equal(config_load(NULL), 0);
	assert_int_equal(cf.streams, 7);
	assert_string_equal(cf.db_name, "runorg");

	/* Lower-case variable names are not read. */
	setup(NULL);
	setenv("runorg_streams", "9", 1);
	assert_int_equal(config_load(NULL), 0);
	assert_int_equal(cf.streams, 4);
	unsetenv("runorg_streams");
}

static void test_bad_numbers(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "workers = 2x\n",
	    "workers = x\n",
	    "workers =\n",
	    "workers = 1.5\n",
	    "workers = 0x10\n",
	    "workers = 0\n",
	    "workers = -1\n",
	    "workers = 99999999999999999999\n",
	    "workers = 1 2\n",
	    "test_mode = 2\n",
	    "test_mode = yes\n",
	    "db_port = 65536\n",
	    "sync_timeout_ms = 2147483648\n",
	    "max_body = -5\n",
	};
	char err[1024];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(bad[i]);
		if (load_capture(path, err, sizeof err) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	static const char *bad_env[] = {"2x", "", " 3", "+3", "3 ", "-3", "1e3", "99999999999999999999"};
	for (size_t i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
		setenv("RUNORG_THREADS", bad_env[i], 1);
		if (load_capture(NULL, err, sizeof err) != -1)
			fail_msg("accepted RUNORG_THREADS='%s'", bad_env[i]);
		assert_non_null(strstr(err, "RUNORG_THREADS"));
	}
	unsetenv("RUNORG_THREADS");
	/* Good numbers at the edges of their range. */
	write_file("test_mode = 0\ndb_port = 65535\nsync_timeout_ms = 2147483647\n");
	assert_int_equal(config_load(path), 0);
	assert_int_equal(cf.db_port, 65535);
	assert_int_equal(cf.sync_timeout_ms, 2147483647);
}

/* apply_inline: auto, never or always, nothing else. */
static void test_apply_inline(void **state)
{
	(void)state;
	char err[1024];
	setenv("RUNORG_APPLY_INLINE", "never", 1);
	assert_int_equal(config_load(NULL), 0);
	assert_int_equal(cf.inline_mode, INLINE_NEVER);
	setenv("RUNORG_APPLY_INLINE", "always", 1);
	assert_int_equal(config_load(NULL), 0);
	assert_int_equal(cf.inline_mode, INLINE_ALWAYS);
	setenv("RUNORG_APPLY_INLINE", "maybe", 1);
	assert_int_equal(load_capture(path, err, sizeof err), -1);
	assert_non_null(strstr(err, "apply_inline must be auto, never or always"));
	unsetenv("RUNORG_APPLY_INLINE");
}

static void test_base_path_loses_its_trailing_slashes(void **state)
{
	(void)state;
	setenv("RUNORG_BASE_PATH", "/runorg//", 1);
	assert_int_equal(config_load(NULL), 0);
	assert_string_equal(cf.base_path, "/runorg");
	setenv("RUNORG_BASE_PATH", "/", 1);
	assert_int_equal(config_load(NULL), 0);
	assert_string_equal(cf.base_path, "");
	unsetenv("RUNORG_BASE_PATH");
}

static void test_bad_file(void **state)
{
	(void)state;
	char err[1024];
	/* A line that is neither a section, a comment nor key = value. */
	write_file("[runorg]\nworkers = 3\nthis is not ini\n");
	assert_int_equal(load_capture(path, err, sizeof err), -1);
	/* A string longer than its field. */
	char buf[512];
	memset(buf, 0, sizeof buf);
	strcpy(buf, "log_level = ");
	memset(buf + strlen(buf), 'd', 16);
	strcat(buf, "\n");
	write_file(buf);
	assert_int_equal(load_capture(path, err, sizeof err), -1);
	/* 15 bytes fit. */
	buf[strlen("log_level = ") + 15] = '\n';
	buf[strlen("log_level = ") + 16] = 0;
	write_file(buf);
	assert_int_equal(config_load(path), 0);
	assert_int_equal(strlen(cf.log_level), 15);
	/* A directory cannot be read. */
	assert_int_equal(load_capture("/", err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shipped_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conf_from_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_env_override, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_inline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_base_path_loses_its_trailing_slashes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
