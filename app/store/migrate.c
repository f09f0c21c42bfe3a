/* migrate.c — applies the schema files of sql/ that the database has not seen yet. */
#include "store/migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/db.h"
#include "store/streams.h"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_schema_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] >= '0' && e->d_name[0] <= '9' && n > 4 && !strcmp(e->d_name + n - 4, ".sql");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *s = n >= 0 ? xmalloc((size_t)n + 1) : NULL;
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = 0;
	fclose(f);
	return s;
}

/* Runs a whole schema file as one script (its statements and comments as
 * written), on a connection made for scripts. */
static int run_file(const char *text)
{
	MYSQL *s = db_connect_scripts();
	int r = s ? db_script(s, text, 0, NULL, NULL) : -1;
	if (s)
		mysql_close(s);
	return r;
}

static int apply_all(MYSQL *m)
{
	if (db_exec(m,
	            "CREATE TABLE IF NOT EXISTS schema_version (version INT UNSIGNED NOT NULL PRIMARY KEY, "
	            "file VARCHAR(200) NOT NULL, applied DATETIME NOT NULL) ENGINE=InnoDB") < 0)
		return -1;
	struct dirent **files;
	int n = scandir(cf.sql_dir, &files, is_schema_file, by_name);
	if (n < 0) {
		log_error("migrate: cannot read %s", cf.sql_dir);
		return -1;
	}
	int r = 0;
	for (int i = 0; i < n; i++) {
		unsigned v = strtoul(files[i]->d_name, NULL, 10);
		long long seen =
		    r ? 0 : db_value(m, "SELECT COUNT(*) FROM schema_version WHERE version = %u", v);
		if (!r && seen == 0) {
			char path[600];
			snprintf(path, sizeof path, "%s/%s", cf.sql_dir, files[i]->d_name);
			char *text = read_file(path);
			r = !text || run_file(text) ||
			    db_exec(m, "INSERT INTO schema_version VALUES (%u, %Q, NOW())", v,
			            files[i]->d_name) < 0;
			if (!r)
				log_info("migrate: applied %s", files[i]->d_name);
			free(text);
		} else if (seen < 0) {
			r = -1;
		}
		free(files[i]);
	}
	free(files);
	return r ? -1 : 0;
}

int migrate_pending(MYSQL *m)
{
	struct dirent **files;
	int n = scandir(cf.sql_dir, &files, is_schema_file, by_name);
	if (n < 0)
		return -1;
	unsigned newest = n ? strtoul(files[n - 1]->d_name, NULL, 10) : 0;
	for (int i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (!n)
		return 0;
	long long seen = db_value(m, "SELECT COUNT(*) FROM schema_version WHERE version = %u", newest);
	if (seen < 0)
		return mysql_errno(m) == 1146 ? 1 : -1; /* no schema_version: an empty database */
	return seen == 0;
}

int migrate_run(MYSQL *m)
{
	if (db_value(m, "SELECT GET_LOCK('runorg.migrate', 60)") != 1) {
		log_error("migrate: could not take the migration lock");
		return -1;
	}
	int r = apply_all(m);
	/* `streams` only sizes a new installation: afterwards the streams table
	 * alone says how many there are (runorgctl streams add). */
	if (!r)
		r = streams_init(m, cf.streams);
	db_exec(m, "DO RELEASE_LOCK('runorg.migrate')");
	return r;
}
