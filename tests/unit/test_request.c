/* test_request.c — the pure part of a request: path and query decoding, JSON bodies,
 * route matching (request.c, router.c), without FastCGI or a database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi/router.h"

/* Parses method + uri into rq (uri copied into rq->uri) and finds the route: the status. */
static int route(struct req *rq, struct reply *rp, const char *method, const char *uri)
{
	memset(rq, 0, sizeof *rq);
	memset(rp, 0, sizeof *rp);
	rq->method = method;
	rq->uri = strdup(uri);
	int st = request_parse_uri(rq, rq->uri, rp);
	return st ? st : router_find(rq, rp);
}

static int body(const char *text)
{
	struct req rq = {0};
	struct reply rp = {0};
	rq.body = strdup(text);
	rq.body_len = strlen(text);
	int st = request_parse_json(&rq, &rp);
	assert_int_equal(st, rp.status);
	assert_true(st == 0 ? rq.json != NULL : rq.json == NULL);
	request_free(&rq);
	return st;
}

static void test_paths(void **state)
{
	(void)state;
	struct req rq;
	struct reply rp;
	assert_int_equal(route(&rq, &rp, "GET", "//ver%73ion//"), 0);
	assert_string_equal(rq.pattern, "/version");
	request_free(&rq);
	/* Literal segments win over placeholders, after decoding. */
	assert_int_equal(route(&rq, &rp, "GET", "/db/0000000000A/contacts/%73earch?q=a"), 0);
	assert_string_equal(rq.pattern, "/db/{db}/contacts/search");
	assert_string_equal(req_query(&rq, "q"), "a");
	request_free(&rq);
	assert_int_equal(route(&rq, &rp, "GET", "/db/0000000000A/contacts/0000000000B"), 0);
	assert_string_equal(req_param(&rq, "cid"), "0000000000B");
	request_free(&rq);
	/* %2F decodes into a segment, it does not split one. */
	assert_int_equal(route(&rq, &rp, "GET", "/db%2Fall"), 404);
	request_free(&rq);
	/* NUL, bad escapes, too many segments. */
	assert_int_equal(route(&rq, &rp, "GET", "/version%00"), 404);
	request_free(&rq);
	assert_int_equal(route(&rq, &rp, "GET", "/version%zz"), 404);
	request_free(&rq);
	assert_int_equal(route(&rq, &rp, "GET", "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a"), 404);
	request_free(&rq);
	/* Only the method differs: 405 with the methods the path has. */
	assert_int_equal(route(&rq, &rp, "PUT", "/db/0000000000A/groups/g"), 405);
	assert_string_equal(rp.allow, "GET, HEAD, DELETE");
	request_free(&rq);
	/* A bad query routes, without parameters, and is 400 once asked; '+' is a space in a query. */
	assert_int_equal(route(&rq, &rp, "GET", "/version?at=1&a=%"), 0);
	assert_true(rq.bad_query);
	assert_null(req_query(&rq, "at"));
	assert_int_equal(request_check_query(&rq, &rp), 400);
	request_free(&rq);
	assert_int_equal(route(&rq, &rp, "GET", "/version?a=1"), 0);
	assert_int_equal(request_check_query(&rq, &rp), 0);
	request_free(&rq);
	assert_int_equal(route(&rq, &rp, "GET", "/db/0000000000A/contacts/search?q=a+b%2Bc"), 0);
	assert_string_equal(req_query(&rq, "q"), "a b+c");
	request_free(&rq);
}

static void test_json_bodies(void **state)
{
	(void)state;
	assert_int_equal(body(" {\"label\":\"x\"}\r\n"), 0);
	assert_int_equal(body("{\"label\":\"x\"} x"), 400);
	assert_int_equal(body("{\"label\":\"\xff\"}"), 400);
	/* 32 levels is json-c's limit. */
	char deep[80] = "";
	for (int i = 0; i < 33; i++)
		strcat(deep, "[");
	for (int i = 0; i < 33; i++)
		strcat(deep, "]");
	assert_int_equal(body(deep), 400);
	deep[31] = 0;
	assert_int_equal(body(deep + 0), 400); /* unbalanced */
}

/* Regression (hostile input): json-c turned a lone surrogate escape into U+FFFD,
 * so a label was silently stored as something else than what was sent. */
static void test_lone_surrogates_are_refused(void **state)
{
	(void)state;
	assert_int_equal(body("{\"label\":\"\\ud800\"}"), 400);
	assert_int_equal(body("{\"label\":\"\\udc00x\"}"), 400);
	assert_int_equal(body("{\"label\":\"\\ud800\\u0041\"}"), 400);
	assert_int_equal(body("{\"label\":\"\\uD83D\"}"), 400);
	assert_int_equal(body("{\"\\ud800\":1}"), 400);
	/* A pair is one character; an escaped backslash is text, not an escape. */
	assert_int_equal(body("{\"label\":\"\\ud83d\\ude00\"}"), 0);
	assert_int_equal(body("{\"label\":\"\\\\ud800\"}"), 0);
	assert_int_equal(body("[\"\\\\\",\"\\ud83d\\uDE00\",\"\\u00e9\"]"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_json_bodies),
	    cmocka_unit_test(test_lone_surrogates_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
