/* test_idem.c — writes a client may retry, without a database: the Idempotency-Key's syntax,
 * the answer of a delayed write and its template (store/idem.c), command refs
 * (resources/commands_routes.c), the request fingerprint and the keys in flight
 * (fcgi/retry.c), shared by processes as the workers of one master share them. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "fcgi/retry.h"
#include "resources/commands_routes.h"
#include "store/idem.h"

static void test_key_syntax(void **state)
{
	(void)state;
	char longest[IDEM_KEY_MAX + 2];
	memset(longest, 'k', IDEM_KEY_MAX);
	longest[IDEM_KEY_MAX] = 0;
	assert_true(idem_key_valid("a"));
	assert_true(idem_key_valid("8e03978e-40d5-43e8-bc93-6894a57f9324"));
	assert_true(idem_key_valid("\"quoted, with spaces ~!\""));
	assert_true(idem_key_valid(longest));
	longest[IDEM_KEY_MAX] = 'k';
	longest[IDEM_KEY_MAX + 1] = 0;
	assert_false(idem_key_valid(longest)); /* 256 */
	assert_false(idem_key_valid(""));
	assert_false(idem_key_valid(NULL));
	assert_false(idem_key_valid("tab\there"));
	assert_false(idem_key_valid("del\x7f"));
	assert_false(idem_key_valid("caf\xc3\xa9")); /* not ASCII */
}

/* What the queue's SQL does with a template (CONCAT around IDEM_POS), in C. */
static char *fill(const char *template, uint64_t pos)
{
	char num[24];
	int k = snprintf(num, sizeof num, "%llu", (unsigned long long)pos);
	size_t n = strlen(template), marks = 0;
	for (size_t i = 0; i < n; i++)
		marks += template[i] == IDEM_POS;
	char *out = malloc(n + marks * (size_t)k + 1), *w = out;
	assert_non_null(out);
	for (const char *r = template; *r; r++) {
		if (*r == IDEM_POS) {
			memcpy(w, num, (size_t)k);
			w += k;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return out;
}

static void test_answers(void **state)
{
	(void)state;
	char *body, *location;
	idem_answer("\"id\":\"abc\",", "/db/3q7iE4i0100", 2, 183, &body, &location);
	assert_string_equal(body, "{\"id\":\"abc\",\"at\":[[2,183]]}");
	assert_string_equal(location, "/db/3q7iE4i0100/commands/2.183");
	free(body);
	free(location);
	/* Nothing queued: "at": [] and the ref <stream>.0. */
	idem_answer("", "/runorg/db/x", 7, 0, &body, &location);
	assert_string_equal(body, "{\"at\":[]}");
	assert_string_equal(location, "/runorg/db/x/commands/7.0");
	free(body);
	free(location);
	/* The template, filled, is the answer byte for byte (what SQL's REPLACE makes too). */
	char *tb, *tl, *a, *b;
	idem_template("\"created\":[\"a\",\"b\"],", "", 1, &tb, &tl);
	assert_non_null(strchr(tb, IDEM_POS));
	a = fill(tb, 12345678901234ull);
	b = fill(tl, 12345678901234ull);
	idem_answer("\"created\":[\"a\",\"b\"],", "", 1, 12345678901234ull, &body, &location);
	assert_string_equal(a, body);
	assert_string_equal(b, location);
	assert_string_equal(b, "/commands/1.12345678901234");
	free(tb);
	free(tl);
	free(a);
	free(b);
	free(body);
	free(location);
}

static void test_refs(void **state)
{
	(void)state;
	uint32_t s;
	uint64_t p;
	assert_true(command_ref_parse("2.183", &s, &p));
	assert_int_equal(s, 2);
	assert_int_equal(p, 183);
	assert_true(command_ref_parse("1.0", &s, &p));
	assert_int_equal(p, 0);
	assert_true(command_ref_parse("4294967295.9223372036854775807", &s, &p));
	const char *bad[] = {"",
	                     "2",
	                     "2.",
	                     ".5",
	                     "0.5",
	                     "02.5",
	                     "2.05",
	                     "2.5.1",
	                     "2.-1",
	                     "-2.5",
	                     "2.5x",
	                     "4294967296.1",
	                     "1.9223372036854775808",
	                     "2.+5",
	                     " 2.5",
	                     "2,5",
	                     NULL};
	for (int i = 0; bad[i]; i++)
		assert_false(command_ref_parse(bad[i], &s, &p));
	assert_false(command_ref_parse(NULL, &s, &p));
}

/* A keyed write as the router sees it before the wait. */
static void keyed(struct req *rq, const char *key, char *body)
{
	static char seg0[] = "db", seg1[] = "3q7iE4i0100", seg2[] = "groups";
	memset(rq, 0, sizeof *rq);
	rq->method = "POST";
	rq->seg[0] = seg0;
	rq->seg[1] = seg1;
	rq->seg[2] = seg2;
	rq->nseg = 3;
	rq->idem_header = key;
	memset(rq->token_hash, 'a', 64);
	rq->body = body;
	rq->body_len = body ? strlen(body) : 0;
}

static void test_fingerprint(void **state)
{
	(void)state;
	struct req a, b;
	char x[IDEM_HEX + 1], y[IDEM_HEX + 1];
	char b1[] = "{\"label\":\"x\"}", b2[] = "{\"label\":\"y\"}", b3[] = "{\"label\": \"x\"}";
	keyed(&a, "k", b1);
	keyed(&b, "k", b1);
	retry_fingerprint(&a, x);
	retry_fingerprint(&b, y);
	assert_string_equal(x, y);
	assert_int_equal(strlen(x), IDEM_HEX);
	/* The body byte for byte, the method, the path, the contact it acts as. */
	b.body = b2;
	retry_fingerprint(&b, y);
	assert_string_not_equal(x, y);
	b.body = b3;
	b.body_len = strlen(b3);
	retry_fingerprint(&b, y);
	assert_string_not_equal(x, y);
	keyed(&b, "k", b1);
	b.method = "DELETE";
	retry_fingerprint(&b, y);
	assert_string_not_equal(x, y);
	keyed(&b, "k", b1);
	b.nseg = 2;
	retry_fingerprint(&b, y);
	assert_string_not_equal(x, y);
	keyed(&b, "k", b1);
	strcpy(b.as, "3q7iF740100");
	retry_fingerprint(&b, y);
	assert_string_not_equal(x, y);
}

static void test_head(void **state)
{
	(void)state;
	struct req rq = {0};
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string("a/b"));
	retry_head(&rq, o);
	assert_string_equal(rq.push.head, "\"id\":\"a/b\",");
	retry_head(&rq, json_object_new_object());
	assert_string_equal(rq.push.head, "");
	retry_head(&rq, NULL);
	assert_null(rq.push.head);
}

static void test_in_flight(void **state)
{
	(void)state;
	assert_int_equal(retry_share(), 0); /* as the master does before it forks */
	struct req a, b, c;
	struct reply rp = {0};
	keyed(&a, "in-flight", NULL);
	keyed(&b, "in-flight", NULL);
	keyed(&c, "another", NULL);
	assert_int_equal(retry_begin(&a, &rp), 0);
	assert_int_equal(retry_begin(&b, &rp), 409);
	assert_true(rp.retry_after);
	memset(&rp, 0, sizeof rp);
	assert_int_equal(retry_begin(&c, &rp), 0);
	/* Another token, the same key: not the same key. */
	keyed(&b, "in-flight", NULL);
	memset(b.token_hash, 'b', 64);
	assert_int_equal(retry_begin(&b, &rp), 0);
	retry_end(&b);
	/* Malformed: 400; reads and writes without a token ignore the header. */
	keyed(&b, "", NULL);
	assert_int_equal(retry_begin(&b, &rp), 400);
	memset(&rp, 0, sizeof rp);
	keyed(&b, "in-flight", NULL);
	b.method = "GET";
	assert_int_equal(retry_begin(&b, &rp), 0);
	assert_false(b.keyed);
	keyed(&b, "in-flight", NULL);
	b.token_hash[0] = 0;
	assert_int_equal(retry_begin(&b, &rp), 0);
	assert_false(b.keyed);
	/* Answered: free again. */
	retry_end(&a);
	retry_end(&c);
	keyed(&b, "in-flight", NULL);
	assert_int_equal(retry_begin(&b, &rp), 0);
	retry_end(&b);

	/* Another worker holds it: 409 here; once that worker is killed, its slot is taken back. */
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		struct req w;
		struct reply wrp = {0};
		keyed(&w, "worker", NULL);
		char ok = retry_begin(&w, &wrp) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		pause(); /* killed with its slot held */
		_exit(0);
	}
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	assert_int_equal(ok, 'y');
	keyed(&b, "worker", NULL);
	assert_int_equal(retry_begin(&b, &rp), 409);
	memset(&rp, 0, sizeof rp);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	keyed(&b, "worker", NULL);
	assert_int_equal(retry_begin(&b, &rp), 0);
	retry_end(&b);
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	config_load(NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_syntax), cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_refs),       cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test(test_head),       cmocka_unit_test(test_in_flight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
