/* config.c — configuration: conf/runorg.conf (INI) overridden by RUNORG_<KEY> environment variables. */
#include "core/config.h"

#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config cf;

enum kind { INT, LONG, STR };

/* One line per key: its name in the file (and, upper-cased, in RUNORG_<KEY>),
 * where it goes, and the accepted range for numbers. */
struct key {
	const char *name;
	enum kind kind;
	size_t offset, size;
	long min, max;
};

/* clang-format off */
#define KEY(k, kind, lo, hi) {#k, kind, offsetof(struct config, k), sizeof cf.k, lo, hi}
static const struct key keys[] = {
	KEY(test_mode,       INT,  0, 1),
	KEY(sync_timeout_ms, INT,  0, INT_MAX),
	KEY(request_timeout_ms, INT, 100, INT_MAX),
	KEY(lease_timeout_ms, INT, 0, INT_MAX),
	KEY(apply_inline,    STR,  0, 0),
	KEY(streams,         INT,  1, 1000),
	KEY(workers,         INT,  1, 1000),
	KEY(threads,         INT,  1, 1000),
	KEY(db_pool,         INT,  1, 1000),
	KEY(max_body,        LONG, 0, LONG_MAX),
	KEY(poll_min_us,     INT,  1, INT_MAX),
	KEY(poll_max_us,     INT,  1, INT_MAX),
	KEY(cache_kib,       INT,  0, 1 << 20),
	KEY(cache_lag_us,    INT,  0, 1000000),
	KEY(revoke_lag_ms,   INT,  0, 60000),
	KEY(max_waits,       INT,  0, 1000000),
	KEY(max_waits_per_token, INT, 0, 1000000),
	KEY(hint_host,       STR,  0, 0),
	KEY(idempotency_hours, INT, 1, 24 * 366),
	KEY(socket,          STR,  0, 0),
	KEY(base_path,       STR,  0, 0),
	KEY(db_host,         STR,  0, 0),
	KEY(db_port,         INT,  0, 65535),
	KEY(db_socket,       STR,  0, 0),
	KEY(db_read_host,    STR,  0, 0),
	KEY(db_read_port,    INT,  0, 65535),
	KEY(db_read_socket,  STR,  0, 0),
	KEY(db_read_stale_ms, INT, 0, INT_MAX),
	KEY(db_user,         STR,  0, 0),
	KEY(db_password,     STR,  0, 0),
	KEY(db_name,         STR,  0, 0),
	KEY(sql_dir,         STR,  0, 0),
	KEY(pid_file,        STR,  0, 0),
	KEY(log_level,       STR,  0, 0),
	KEY(log_file,        STR,  0, 0),
	KEY(key_secret,      STR,  0, 0),
	KEY(key_secret_file, STR,  0, 0),
};
#undef KEY
/* clang-format on */

static void set_defaults(void)
{
	cf = (struct config){
	    .test_mode = 0,
	    .sync_timeout_ms = 5000,
	    .request_timeout_ms = 10000,
	    .lease_timeout_ms = 5000,
	    .apply_inline = "auto",
	    .streams = 4,
	    .workers = 2,
	    .threads = 256,
	    .db_pool = 32,
	    .max_body = 1048576,
	    .poll_min_us = 250,
	    .poll_max_us = 500,
	    .cache_kib = 512,
	    .cache_lag_us = 2000,
	    .revoke_lag_ms = 100,
	    .max_waits = 10000,
	    .max_waits_per_token = 1000,
	    .hint_host = "127.0.0.1",
	    .idempotency_hours = 24,
	    .socket = "var/run/runorg.sock",
	    .base_path = "",
	    .db_host = "localhost",
	    .db_port = 3306,
	    .db_socket = "",
	    .db_read_host = "",
	    .db_read_port = 0,
	    .db_read_socket = "",
	    .db_read_stale_ms = 1000,
	    .db_user = "root",
	    .db_password = "",
	    .db_name = "runorg",
	    .sql_dir = "sql",
	    .pid_file = "",
	    .log_level = "info",
	    .log_file = "",
	    .key_secret = "",
	    .key_secret_file = "var/key-secret",
	};
}

/* A whole decimal number in the key's range: no spaces, no trailing text. */
static int parse_number(const struct key *k, const char *value, long *out)
{
	if (!(isdigit((unsigned char)value[0]) || (value[0] == '-' && isdigit((unsigned char)value[1]))))
		return -1;
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || *end || v < k->min || v > k->max)
		return -1;
	*out = v;
	return 0;
}

/* Stores `value` into the key's field; `from` names the origin for the message. */
static int set_key(const struct key *k, const char *value, const char *from)
{
	char *field = (char *)&cf + k->offset;
	if (k->kind == STR) {
		size_t n = strlen(value);
		if (n >= k->size) {
			log_error("%s: %s is %zu bytes long, at most %zu allowed", from, k->name, n,
			          k->size - 1);
			return -1;
		}
		memcpy(field, value, n + 1);
		return 0;
	}
	long v;
	if (parse_number(k, value, &v)) {
		log_error("%s: %s must be a whole number from %ld to %ld, not '%s'", from, k->name, k->min,
		          k->max, value);
		return -1;
	}
	if (k->kind == INT)
		*(int *)field = (int)v;
	else
		*(long *)field = v;
	return 0;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

/* inih callback: section names are ignored, so keys may sit under [runorg] or none. */
static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	(void)section;
	const char *path = user;
	const struct key *k = find_key(name);
	if (!k) {
		log_warn("%s: unknown key '%s' ignored", path, name);
		return 1;
	}
	return set_key(k, value, path) == 0;
}

int config_load(const char *path)
{
	set_defaults();
	if (!path || !*path)
		path = getenv("RUNORG_CONF");
	if (path && !*path)
		path = NULL;
	if (path) {
		FILE *f = fopen(path, "r");
		if (!f && errno == ENOENT) {
			log_warn("%s: no such file, using defaults and environment", path);
		} else if (!f) {
			log_error("%s: cannot read: %s", path, strerror(errno));
			return -1;
		} else {
			int line = ini_parse_file(f, on_entry, (void *)path);
			int failed = ferror(f);
			fclose(f);
			if (failed) {
				log_error("%s: cannot read", path);
				return -1;
			}
			if (line) {
				log_error("%s: bad configuration at line %d", path, line);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char var[64] = "RUNORG_";
		for (size_t j = 0; keys[i].name[j] && j + 8 < sizeof var; j++)
			var[7 + j] = (char)toupper((unsigned char)keys[i].name[j]);
		const char *value = getenv(var);
		if (value && set_key(&keys[i], value, var))
			return -1;
	}
	if (!strcmp(cf.apply_inline, "auto"))
		cf.inline_mode = INLINE_AUTO;
	else if (!strcmp(cf.apply_inline, "never"))
		cf.inline_mode = INLINE_NEVER;
	else if (!strcmp(cf.apply_inline, "always"))
		cf.inline_mode = INLINE_ALWAYS;
	else {
		log_error("apply_inline must be auto, never or always, not '%s'", cf.apply_inline);
		return -1;
	}
	/* "/runorg/" is "/runorg": the prefix is cut from paths and put before
	 * Locations as it is, without a trailing slash. */
	for (size_t n = strlen(cf.base_path); n > 0 && cf.base_path[n - 1] == '/'; n--)
		cf.base_path[n - 1] = 0;
	return 0;
}
