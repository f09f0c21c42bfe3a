/* main.c — runorgctl: the operator's command line, on the same configuration as the servers.
 *
 * It talks to MySQL directly, as the programs do, and reuses their code: a
 * database is queued exactly as POST /db/create queues it (resources/dbs.c),
 * tokens are made and revoked by store/tokens.c, the status is the one of GET
 * /status (store/status.c), migrations are migrate.c's. It links nothing of
 * the HTTP front (make check-layers). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/isotime.h"
#include "core/json.h"
#include "core/label.h"
#include "core/log.h"
#include "resources/dbs.h"
#include "resources/runner.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/node.h"
#include "store/queue.h"
#include "store/status.h"
#include "store/streams.h"
#include "store/tokens.h"

static const char usage[] =
    "usage: runorgctl [-c runorg.conf] COMMAND\n"
    "\n"
    "  db create LABEL           queue a new database; prints {\"id\",\"at\"} as POST /db/create does\n"
    "  db list                   databases: id, stream, created, label\n"
    "  token admin               a new server-administrator token\n"
    "  token contact DB CONTACT  a new token that acts as contact CONTACT of database DB\n"
    "  token revoke [TOKEN]      delete a token (without TOKEN, or with -, it is read from stdin)\n"
    "  status [--json]           per stream: head, applied, lag, failed commands, lease holder\n"
    "                            and its heartbeat; then the processors\n"
    "  clock                     the heads of all streams as a clock: at= for \"all queued so far\"\n"
    "  failed [STREAM] [--limit N]  failed commands, newest first (default limit 20)\n"
    "  migrate                   apply the schema files of sql_dir not applied yet\n"
    "  process --once [--max-seconds N]\n"
    "                            apply what is queued on every stream whose lease is free\n"
    "                            (no processor holds it), then exit; N: stop after N seconds\n"
    "                            (default 50: a cron line every minute)\n"
    "  streams                   per stream: head, applied, databases\n"
    "  streams add N             add N streams after the highest, up to 65535 in all; running\n"
    "                            processors start applying them within seconds\n"
    "  streams next              the stream a new database goes to: the one with the fewest\n"
    "                            databases (queued creations included)\n"
    "\n"
    "Without -c, the file named by RUNORG_CONF is read; RUNORG_<KEY> variables\n"
    "override its keys, as for runorg-fcgi and runorg-processor.\n";

static int fail(const char *what)
{
	fprintf(stderr, "runorgctl: %s\n", what);
	return 1;
}

/* Applies what is queued on every stream whose lease is free, for at most
 * max_s seconds: passes over the streams until one applies nothing. */
static int process_once_cmd(MYSQL *m, long max_s)
{
	uint64_t until = db_mono_us() + (uint64_t)max_s * 1000000;
	long long applied = 0;
	int busy = 0, errors = 0;
	for (bool more = true; more && db_mono_us() < until;) {
		uint32_t *list;
		int n = streams_list(m, &list);
		if (n < 0)
			return fail("cannot read the streams (is the schema migrated?)");
		more = false;
		busy = errors = 0;
		for (int i = 0; i < n && db_mono_us() < until; i++) {
			uint64_t last;
			int r = runner_inline(m, list[i], INT_MAX, (long)(until - db_mono_us()), &last);
			if (r == RUNNER_BUSY)
				busy++;
			else if (r < 0)
				errors++;
			else if (r > 0) {
				applied += r;
				more = true;
			}
		}
		free(list);
		if (errors && db_gone(m))
			break;
	}
	printf("applied %lld commands; %d streams held by another applier; %d streams failed\n", applied,
	       busy, errors);
	return errors ? 1 : 0;
}

static int db_create_cmd(MYSQL *m, const char *text)
{
	char *label, err[128];
	if (label_clean(text, strlen(text), &label, err, sizeof err))
		return fail(err);
	char id[ID_LEN + 1];
	uint64_t pos = 0;
	int e = node_take(m) ? QUEUE_FAILED : dbs_enqueue_create(m, NULL, label, id, &pos);
	free(label);
	if (e != QUEUE_OK || !pos)
		return fail("could not queue the database");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "at", json_at(QUEUE_SERVER_STREAM, pos));
	puts(json_text(o));
	json_object_put(o);
	return 0;
}

static int db_list_cmd(MYSQL *m)
{
	MYSQL_RES *res = db_query(m, "SELECT id, stream, " ISOTIME_SQL_OUT("created") ", "
	                             "label FROM dbs ORDER BY id");
	if (!res)
		return fail("could not list the databases");
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		printf("%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3]);
	mysql_free_result(res);
	return 0;
}

static int token_new_cmd(MYSQL *m, const char *db, const char *contact)
{
	if (db) {
		long long n =
		    db_value(m, "SELECT COUNT(*) FROM contacts WHERE db = %Q AND id = %Q", db, contact);
		if (n < 0)
			return fail("could not look the contact up");
		if (n == 0) {
			fprintf(stderr,
			        "runorgctl: database %s has no contact %s (if it was just imported, "
			        "wait for its clock first)\n",
			        db, contact);
			return 1;
		}
	}
	char token[TOKEN_LEN + 1];
	if (tokens_new(m, db, contact, token))
		return fail("could not create a token");
	puts(token);
	return 0;
}

/* The token comes from the argument or, better (it stays out of ps and the
 * shell history), from the first line of stdin. */
static int token_revoke_cmd(MYSQL *m, const char *arg)
{
	char line[256] = "";
	if (!arg || !strcmp(arg, "-")) {
		if (!fgets(line, sizeof line, stdin))
			return fail("no token on stdin");
		line[strcspn(line, "\r\n")] = 0;
		arg = line;
	}
	int r = tokens_revoke(m, arg);
	if (r < 0)
		return fail("could not revoke the token");
	if (r == 0)
		return fail("no such token");
	puts("revoked");
	return 0;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static long long get_int(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static double get_double(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : -1;
}

static void print_streams(json_object *streams)
{
	printf("%-7s %10s %10s %8s %9s %7s  %s\n", "stream", "head", "applied", "lag", "lag (s)", "failed",
	       "lease holder (heartbeat)");
	for (size_t i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i), *lease;
		char holder[300] = "none";
		if (json_object_object_get_ex(s, "lease", &lease) && lease) {
			const char *p = get_str(lease, "processor");
			double age = get_double(lease, "heartbeat_age");
			if (p && age >= 0)
				snprintf(holder, sizeof holder, "%s (%.1f s ago)", p, age);
			else
				snprintf(holder, sizeof holder, "connection %lld (unrecorded)",
				         get_int(lease, "connection"));
		}
		printf("%-7lld %10lld %10lld %8lld %9.3f %7lld  %s\n", get_int(s, "stream"),
		       get_int(s, "head"), get_int(s, "applied"), get_int(s, "lag"),
		       get_double(s, "lag_seconds"), get_int(s, "failed"), holder);
	}
}

static void print_processors(json_object *processors)
{
	printf("\n%-40s %-21s %s\n", "processor", "started", "heartbeat");
	if (json_object_array_length(processors) == 0)
		puts("(none in the last day)");
	for (size_t i = 0; i < json_object_array_length(processors); i++) {
		json_object *p = json_object_array_get_idx(processors, i);
		printf("%-40s %-21s %.1f s ago\n", get_str(p, "name"), get_str(p, "started"),
		       get_double(p, "heartbeat_age"));
	}
}

static int status_cmd(MYSQL *m, bool as_json)
{
	json_object *streams = status_streams(m);
	json_object *processors = streams ? status_processors(m) : NULL;
	if (!processors) {
		json_object_put(streams);
		return fail("could not read the status (is the schema migrated?)");
	}
	if (as_json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "streams", streams);
		json_object_object_add(o, "processors", processors);
		puts(json_text(o));
		json_object_put(o);
		return 0;
	}
	print_streams(streams);
	print_processors(processors);
	json_object_put(streams);
	json_object_put(processors);
	return 0;
}

static int clock_cmd(MYSQL *m)
{
	struct clock_table heads = {0}, done = {0};
	int r = queue_heads(m, &heads, &done);
	if (!r) {
		json_object *c = clock_table_to_json(&heads);
		puts(json_text(c));
		json_object_put(c);
	}
	clock_table_free(&heads);
	clock_table_free(&done);
	return r ? fail("could not read the heads") : 0;
}

static int failed_cmd(MYSQL *m, long stream, long limit)
{
	MYSQL_RES *res = db_query(m,
	                          "SELECT stream, pos, IFNULL(db, '-'), kind, "
	                          ISOTIME_SQL_OUT("created") ", IFNULL(reason, '') "
	                          "FROM commands WHERE status = 2 AND (%lld = 0 OR stream = %lld) "
	                          "ORDER BY created DESC, stream, pos DESC LIMIT %lld",
	                          (long long)stream, (long long)stream, (long long)limit);
	if (!res)
		return fail("could not list the failed commands");
	printf("%-7s %10s %-11s %-20s %-19s %s\n", "stream", "pos", "db", "kind", "queued", "reason");
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		printf("%-7s %10s %-11s %-20s %-19s %s\n", row[0], row[1], row[2], row[3], row[4], row[5]);
	mysql_free_result(res);
	return 0;
}

static int streams_cmd(MYSQL *m)
{
	MYSQL_RES *res = db_query(m, "SELECT s.stream, s.head, IFNULL(c.done, '-'), IFNULL(d.n, 0) "
	                             "FROM streams s LEFT JOIN clocks c USING (stream) "
	                             "LEFT JOIN (SELECT stream, COUNT(*) AS n FROM dbs GROUP BY stream) d "
	                             "USING (stream) ORDER BY s.stream");
	if (!res)
		return fail("could not list the streams");
	printf("%-7s %10s %10s %9s\n", "stream", "head", "applied", "databases");
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		printf("%-7s %10s %10s %9s\n", row[0], row[1], row[2], row[3]);
	mysql_free_result(res);
	return 0;
}

static int streams_add_cmd(MYSQL *m, long n)
{
	uint32_t first, last;
	int r = streams_add(m, n > STREAMS_MAX ? STREAMS_MAX + 1 : (int)n, &first, &last);
	if (r == -2) {
		fprintf(stderr, "runorgctl: refused: at most %d streams in all (there are %d)\n", STREAMS_MAX,
		        streams_count(m));
		return 1;
	}
	if (r)
		return fail("could not add the streams");
	int total = streams_count(m);
	printf("added streams %u..%u (%d in all)\n", first, last, total);
	/* Each processor keeps a connection per stream, leased or standing by. */
	long long max = db_value(m, "SELECT @@max_connections");
	if (max > 0 && total > max / 2)
		fprintf(stderr,
		        "runorgctl: note: every processor holds one MariaDB connection per stream (%d) and "
		        "max_connections is %lld\n",
		        total, max);
	return 0;
}

/* A whole positive number, or -1. */
static long number(const char *s)
{
	char *end;
	long v = s && *s ? strtol(s, &end, 10) : -1;
	return v > 0 && !*end ? v : -1;
}

static int run(MYSQL *m, int argc, char **argv)
{
	const char *cmd = argv[0], *sub = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "db") && !strcmp(sub, "create") && argc == 3)
		return db_create_cmd(m, argv[2]);
	if (!strcmp(cmd, "db") && !strcmp(sub, "list") && argc == 2)
		return db_list_cmd(m);
	if (!strcmp(cmd, "token") && !strcmp(sub, "admin") && argc == 2)
		return token_new_cmd(m, NULL, NULL);
	if (!strcmp(cmd, "token") && !strcmp(sub, "contact") && argc == 4)
		return token_new_cmd(m, argv[2], argv[3]);
	if (!strcmp(cmd, "token") && !strcmp(sub, "revoke") && argc <= 3)
		return token_revoke_cmd(m, argc == 3 ? argv[2] : NULL);
	if (!strcmp(cmd, "status") && (argc == 1 || (argc == 2 && !strcmp(sub, "--json"))))
		return status_cmd(m, argc == 2);
	if (!strcmp(cmd, "clock") && argc == 1)
		return clock_cmd(m);
	if (!strcmp(cmd, "failed")) {
		long stream = 0, limit = 20;
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--limit") && i + 1 < argc)
				limit = number(argv[++i]);
			else
				stream = number(argv[i]);
			if (stream < 0 || limit < 0) {
				fputs(usage, stderr);
				return 2;
			}
		}
		return failed_cmd(m, stream, limit);
	}
	if (!strcmp(cmd, "streams") && argc == 1)
		return streams_cmd(m);
	if (!strcmp(cmd, "streams") && !strcmp(sub, "add") && argc == 3 && number(argv[2]) > 0)
		return streams_add_cmd(m, number(argv[2]));
	if (!strcmp(cmd, "streams") && !strcmp(sub, "next") && argc == 2) {
		long long s = streams_pick(m);
		if (s < 0)
			return fail("could not choose a stream");
		printf("%lld\n", s);
		return 0;
	}
	if (!strcmp(cmd, "process") && argc >= 2 && !strcmp(sub, "--once")) {
		long max_s = 50;
		if (argc == 4 && !strcmp(argv[2], "--max-seconds") && number(argv[3]) > 0)
			max_s = number(argv[3]);
		else if (argc != 2) {
			fputs(usage, stderr);
			return 2;
		}
		return process_once_cmd(m, max_s);
	}
	if (!strcmp(cmd, "migrate") && argc == 1) {
		if (migrate_run(m))
			return fail("migration failed (see above)");
		puts("schema up to date");
		return 0;
	}
	fputs(usage, stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "-c")) {
		conf = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
		fputs(usage, i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (config_load(conf))
		return 1;
	log_set_level(cf.log_level); /* log_file is the servers': runorgctl speaks to its terminal */
	/* A hung MariaDB does not hang runorgctl for ever; migrations may take long. */
	if (strcmp(argv[i], "migrate"))
		db_io_timeout_set(60);
	MYSQL *m = db_connect();
	if (!m)
		return fail("cannot connect to MySQL (see above)");
	int r = run(m, argc - i, argv + i);
	mysql_close(m);
	return r;
}
