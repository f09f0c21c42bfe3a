/* test_clock.c — unit tests of core/clock: parsing both forms, garbage, merge, reached, printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"

static int parse(const char *text, struct clock *c)
{
	return clock_parse(text, strlen(text), c);
}

/* The clock printed as compact JSON, into a static buffer. */
static const char *show(const struct clock *c)
{
	static char buf[4096];
	json_object *j = clock_to_json(c);
	snprintf(buf, sizeof buf, "%s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	return buf;
}

static void test_parse_array(void **state)
{
	(void)state;
	struct clock c;
	assert_int_equal(parse("[[2,83],[3,117]]", &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.p[0].stream, 2);
	assert_int_equal(c.p[0].pos, 83);
	assert_int_equal(c.p[1].stream, 3);
	assert_int_equal(c.p[1].pos, 117);
	assert_string_equal(show(&c), "[[2,83],[3,117]]");
	/* White space around and inside is fine. */
	assert_int_equal(parse(" [ [ 2 , 83 ] ]\n", &c), 0);
	assert_string_equal(show(&c), "[[2,83]]");
}

static void test_parse_object(void **state)
{
	(void)state;
	struct clock c;
	assert_int_equal(parse("{\"2\":83,\"3\":117}", &c), 0);
	assert_string_equal(show(&c), "[[2,83],[3,117]]");
	assert_int_equal(parse("{\"3\":117,\"2\":83}", &c), 0);
	assert_string_equal(show(&c), "[[2,83],[3,117]]");
	assert_int_equal(parse("{\"2147483647\":9223372036854775807}", &c), 0);
	assert_int_equal(c.p[0].stream, CLOCK_STREAM_MAX);
	assert_true(c.p[0].pos == CLOCK_POS_MAX);
}

static void test_parse_empty(void **state)
{
	(void)state;
	struct clock c = {.n = 5};
	assert_int_equal(parse("[]", &c), 0);
	assert_int_equal(c.n, 0);
	assert_string_equal(show(&c), "[]");
	c.n = 5;
	assert_int_equal(parse("{}", &c), 0);
	assert_int_equal(c.n, 0);
}

static void test_parse_limits(void **state)
{
	(void)state;
	struct clock c;
	assert_int_equal(parse("[[2147483647,9223372036854775807]]", &c), 0);
	assert_int_equal(c.p[0].stream, 2147483647u);
	assert_true(c.p[0].pos == 9223372036854775807ull);
	assert_string_equal(show(&c), "[[2147483647,9223372036854775807]]");
	/* One above each limit. */
	assert_int_equal(parse("[[2147483648,1]]", &c), -1);
	assert_int_equal(parse("[[2,9223372036854775808]]", &c), -1);
	assert_int_equal(parse("[[2,18446744073709551615]]", &c), -1);
	assert_int_equal(parse("[[4294967297,1]]", &c), -1);
	assert_int_equal(parse("{\"2147483648\":1}", &c), -1);
	assert_int_equal(parse("{\"99999999999999999999\":1}", &c), -1);
}

static void test_parse_garbage(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    " ",
	    "[",
	    "[[2]]",
	    "[[2,3,4]]",
	    "[[0,1]]",
	    "[[2,0]]",
	    "[[-1,2]]",
	    "[[2,-1]]",
	    "[[2,1.5]]",
	    "[[2,1.0]]",
	    "[[2,1e3]]",
	    "[[\"2\",1]]",
	    "[[2,\"1\"]]",
	    "[[2,true]]",
	    "[[2,null]]",
	    "[[2,99999999999999999999]]",
	    "[[99999999999999999999,1]]",
	    "[[2,-99999999999999999999]]",
	    "[[2,1],[2,3]]",
	    "[[3,1],[2,1],[3,1]]",
	    "[[[2,1]]]",
	    "[2,1]",
	    "[{\"2\":1}]",
	    "{\"2\":1,\"2\":3}",
	    "{\"2\":3,\"2\":1}",
	    "{\"2\":1,\"3\":1,\"2\":1}",
	    "{\"2\":1, \"\\u0032\":1}",
	    "{\"02\":1}",
	    "{\"+2\":1}",
	    "{\"-2\":1}",
	    "{\" 2\":1}",
	    "{\"2 \":1}",
	    "{\"0\":1}",
	    "{\"\":1}",
	    "{\"x\":1}",
	    "{\"2\":0}",
	    "{\"2\":1.5}",
	    "{\"2\":\"1\"}",
	    "{\"2\":[1]}",
	    "[[2,1]]x",
	    "[[2,1]] [[3,1]]",
	    "[[2,1]],",
	    "{\"2\":1}}",
	    "null",
	    "2",
	    "\"[[2,1]]\"",
	    "true",
	    "[[2,01]]",
	    "[[2,1],]",
	    "[[2,1]", /* truncated */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct clock c;
		if (parse(bad[i], &c) != -1)
			fail_msg("accepted %s", bad[i]);
	}
	struct clock c;
	assert_int_equal(clock_parse(NULL, 0, &c), -1);
	/* A NUL byte inside the given length is trailing garbage. */
	assert_int_equal(clock_parse("[[2,1]]\0", 8, &c), -1);
	/* Length shorter than the text: only the prefix is parsed. */
	assert_int_equal(clock_parse("[[2,1]]xyz", 7, &c), 0);
	assert_string_equal(show(&c), "[[2,1]]");
}

static void test_parse_leaves_output_on_error(void **state)
{
	(void)state;
	struct clock c;
	assert_int_equal(parse("[[5,6]]", &c), 0);
	assert_int_equal(parse("[[2,1],[2,3]]", &c), -1);
	assert_string_equal(show(&c), "[[5,6]]");
}

static void test_too_many_pairs(void **state)
{
	(void)state;
	char buf[4096];
	size_t o = 0;
	o += (size_t)snprintf(buf + o, sizeof buf - o, "[");
	for (int i = 1; i <= CLOCK_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s[%d,%d]", i > 1 ? "," : "", i, i * 10);
	snprintf(buf + o, sizeof buf - o, "]");
	struct clock c;
	assert_int_equal(parse(buf, &c), 0);
	assert_int_equal(c.n, CLOCK_MAX);
	assert_int_equal(c.p[CLOCK_MAX - 1].stream, CLOCK_MAX);
	assert_int_equal(c.p[CLOCK_MAX - 1].pos, CLOCK_MAX * 10);

	snprintf(buf + o, sizeof buf - o, ",[%d,1]]", CLOCK_MAX + 1);
	assert_int_equal(parse(buf, &c), -1);

	/* Same in object form. */
	o = (size_t)snprintf(buf, sizeof buf, "{");
	for (int i = 1; i <= CLOCK_MAX + 1; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\"%d\":1", i > 1 ? "," : "", i);
	snprintf(buf + o, sizeof buf - o, "}");
	assert_int_equal(parse(buf, &c), -1);
}

static void test_sorting(void **state)
{
	(void)state;
	struct clock c;
	assert_int_equal(parse("[[9,1],[3,117],[2,83],[100,5],[1,7]]", &c), 0);
	assert_string_equal(show(&c), "[[1,7],[2,83],[3,117],[9,1],[100,5]]");
	assert_int_equal(parse("{\"10\":1,\"9\":2,\"100\":3}", &c), 0);
	assert_string_equal(show(&c), "[[9,2],[10,1],[100,3]]");
}

static void test_from_json(void **state)
{
	(void)state;
	struct clock c;
	json_object *j = json_tokener_parse("{\"at\":[[2,87]]}");
	json_object *at;
	assert_true(json_object_object_get_ex(j, "at", &at));
	assert_int_equal(clock_from_json(at, &c), 0);
	assert_string_equal(show(&c), "[[2,87]]");
	assert_int_equal(clock_from_json(NULL, &c), -1);
	assert_int_equal(clock_from_json(j, &c), -1); /* key "at" is not a stream */
	json_object_put(j);
}

static void test_to_json(void **state)
{
	(void)state;
	struct clock c = {0};
	assert_int_equal(clock_set(&c, 2, 87), 0);
	json_object *j = clock_to_json(&c);
	assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), "[[2,87]]");
	json_object_put(j);
}

static void test_get_set(void **state)
{
	(void)state;
	struct clock c = {0};
	assert_int_equal(clock_get(&c, 2), 0);
	assert_int_equal(clock_set(&c, 3, 10), 0);
	assert_int_equal(clock_set(&c, 1, 5), 0);
	assert_int_equal(clock_set(&c, 2, 7), 0);
	assert_string_equal(show(&c), "[[1,5],[2,7],[3,10]]");
	assert_int_equal(clock_set(&c, 2, 4), 0); /* never lowers */
	assert_int_equal(clock_get(&c, 2), 7);
	assert_int_equal(clock_set(&c, 2, 9), 0);
	assert_int_equal(clock_get(&c, 2), 9);
	assert_int_equal(clock_get(&c, 4), 0);
	assert_int_equal(clock_set(&c, 4, 0), 0); /* position 0 = absent: nothing added */
	assert_int_equal(c.n, 3);
	assert_int_equal(clock_set(&c, 0, 1), -1);

	struct clock full = {0};
	for (uint32_t s = 1; s <= CLOCK_MAX; s++)
		assert_int_equal(clock_set(&full, s * 2, s), 0);
	assert_int_equal(full.n, CLOCK_MAX);
	assert_int_equal(clock_set(&full, 3, 1), -1);
	assert_int_equal(clock_set(&full, 4, 100), 0); /* existing stream still raises */
	assert_int_equal(clock_get(&full, 4), 100);
}

static void test_merge(void **state)
{
	(void)state;
	struct clock a, b;
	assert_int_equal(parse("[[2,83],[3,117]]", &a), 0);
	assert_int_equal(parse("[[1,12],[2,85]]", &b), 0);
	assert_int_equal(clock_merge(&a, &b), 0);
	assert_string_equal(show(&a), "[[1,12],[2,85],[3,117]]");

	/* Order does not matter. */
	assert_int_equal(parse("[[2,83],[3,117]]", &a), 0);
	assert_int_equal(clock_merge(&b, &a), 0);
	assert_string_equal(show(&b), "[[1,12],[2,85],[3,117]]");

	/* Empty on either side. */
	struct clock e = {0};
	assert_int_equal(clock_merge(&a, &e), 0);
	assert_string_equal(show(&a), "[[2,83],[3,117]]");
	assert_int_equal(clock_merge(&e, &a), 0);
	assert_string_equal(show(&e), "[[2,83],[3,117]]");

	/* Overflowing result: `into` is left as it was. */
	struct clock odd = {0}, even = {0};
	for (uint32_t s = 1; s <= CLOCK_MAX; s++) {
		clock_set(&odd, 2 * s - 1, 1);
		clock_set(&even, 2 * s, 1);
	}
	struct clock before = odd;
	assert_int_equal(clock_merge(&odd, &even), -1);
	assert_memory_equal(&odd, &before, sizeof odd);
	/* Same streams: fits. */
	assert_int_equal(clock_merge(&odd, &before), 0);
	assert_int_equal(odd.n, CLOCK_MAX);
}

static void test_reached(void **state)
{
	(void)state;
	struct clock want, have, empty = {0};
	assert_int_equal(parse("[[2,83],[3,117]]", &have), 0);

	assert_true(clock_reached(&empty, &have));
	assert_true(clock_reached(&empty, &empty));
	assert_true(clock_reached(&have, &have));

	assert_int_equal(parse("[[2,83]]", &want), 0);
	assert_true(clock_reached(&want, &have));
	assert_int_equal(parse("[[2,84]]", &want), 0);
	assert_false(clock_reached(&want, &have));
	assert_int_equal(parse("[[3,1]]", &want), 0);
	assert_true(clock_reached(&want, &have));
	assert_int_equal(parse("[[1,1]]", &want), 0); /* stream unknown to `have` */
	assert_false(clock_reached(&want, &have));
	assert_int_equal(parse("[[2,1],[3,118]]", &want), 0);
	assert_false(clock_reached(&want, &have));
	assert_false(clock_reached(&have, &empty));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_array),    cmocka_unit_test(test_parse_object),
	    cmocka_unit_test(test_parse_empty),    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_parse_garbage),  cmocka_unit_test(test_parse_leaves_output_on_error),
	    cmocka_unit_test(test_too_many_pairs), cmocka_unit_test(test_sorting),
	    cmocka_unit_test(test_from_json),      cmocka_unit_test(test_to_json),
	    cmocka_unit_test(test_get_set),        cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_reached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
