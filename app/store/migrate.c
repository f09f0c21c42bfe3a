/* migrate.c — applies the schema files of sql/ that the database has not seen yet. */
#include "store/migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
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
	char *s = malloc(n + 1);
	if (s && fread(s, 1, n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = 0;
	fclose(f);
	return s;
}

/* Runs the statements of one file: they end with ';' at the end of a line;
 * lines starting with "--" are comments. */
static int run_file(MYSQL *m, char *text)
{
	char *stmt = text;
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, "--", 2)) {
			memset(line, ' ', strlen(line));
		} else {
			size_t n = strlen(line);
			while (n && (line[n - 1] == ' ' || line[n - 1] == '\r'))
				n--;
			if (n && line[n - 1] == ';') {
				line[n - 1] = 0;
				if (db_exec(m, "%s", stmt) < 0)
					return -1;
				stmt = next;
			}
		}
		if (next)
			next[-1] = '\n';
		line = next;
	}
	return 0;
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
			r = !text || run_file(m, text) ||
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
