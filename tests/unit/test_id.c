/* test_id.c — unit tests of core/id: layout, ordering, uniqueness across threads, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/id.h"

static void test_make_layout(void **state)
{
	(void)state;
	char id[ID_LEN + 1];
	id_make(id, 0, 0, 0);
	assert_string_equal(id, "00000000000");
	id_make(id, 1, 2, 3);
	assert_string_equal(id, "00000010203");
	/* 61 is the last digit 'z'; 62 carries. */
	id_make(id, 61, 61, 61);
	assert_string_equal(id, "000000z0z0z");
	id_make(id, 62, 62, 62);
	assert_string_equal(id, "00000101010");
	/* Largest node and sequence: 3843 = 61*62 + 61. */
	id_make(id, 0, 3843, 3843);
	assert_string_equal(id, "0000000zzzz");
	/* 2024-01-01T00:00:00Z is 126230400000 ms after the epoch (value computed
	 * separately in Python): 126230400000 = "2DmjtRY", node 10 = "0A", seq 36 = "0a". */
	id_make(id, 126230400000ull, 10, 36);
	assert_string_equal(id, "2DmjtRY0A0a");
	/* Largest 7-digit value. */
	id_make(id, 3521614606207ull, 0, 0);
	assert_string_equal(id, "zzzzzzz0000");
	assert_int_equal(strlen(id), ID_LEN);
}

static void test_make_ordering(void **state)
{
	(void)state;
	char a[ID_LEN + 1], b[ID_LEN + 1];
	/* Time first, then node, then sequence; byte order follows. */
	id_make(a, 1000, 3843, 3843);
	id_make(b, 1001, 0, 0);
	assert_true(strcmp(a, b) < 0);
	id_make(a, 1000, 5, 3843);
	id_make(b, 1000, 6, 0);
	assert_true(strcmp(a, b) < 0);
	id_make(a, 1000, 5, 9);  /* '9' */
	id_make(b, 1000, 5, 10); /* 'A' */
	assert_true(strcmp(a, b) < 0);
	id_make(a, 1000, 5, 35); /* 'Z' */
	id_make(b, 1000, 5, 36); /* 'a' */
	assert_true(strcmp(a, b) < 0);
	/* Over a spread of times, string order = numeric order. */
	uint64_t prev = 0;
	char pa[ID_LEN + 1];
	id_make(pa, prev, 0, 0);
	for (uint64_t ms = 1; ms < 3521614606207ull; ms = ms * 3 + 7) {
		char cur[ID_LEN + 1];
		id_make(cur, ms, 0, 0);
		assert_true(strcmp(pa, cur) < 0);
		memcpy(pa, cur, sizeof cur);
	}
}

/* Milliseconds since 2020-01-01 as decoded from an identifier. */
static uint64_t id_ms(const char *id)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t v = 0;
	for (int i = 0; i < 7; i++)
		v = v * 62 + (uint64_t)(strchr(alphabet, id[i]) - alphabet);
	return v;
}

static void test_next_time_and_node(void **state)
{
	(void)state;
	id_set_node(1234); /* 1234 = 19*62 + 56 → "Ju" */
	char id[ID_LEN + 1];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 - 1577836800000ull;
	id_next(id);
	assert_true(id_valid(id));
	assert_memory_equal(id + 7, "Ju", 2);
	uint64_t ms = id_ms(id);
	/* Within a few seconds of now (ids may borrow a little from the future). */
	assert_true(ms + 2000 >= now && ms <= now + 5000);
	id_set_node(0);
}

static void test_next_increasing(void **state)
{
	(void)state;
	char prev[ID_LEN + 1], cur[ID_LEN + 1];
	id_next(prev);
	for (int i = 0; i < 100000; i++) {
		id_next(cur);
		if (strcmp(prev, cur) >= 0)
			fail_msg("id %d: %s not after %s", i, cur, prev);
		memcpy(prev, cur, sizeof cur);
	}
}

#define THREADS 8
#define PER_THREAD 20000

static void *make_many(void *arg)
{
	char(*out)[ID_LEN + 1] = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		id_next(out[i]);
		/* Each thread sees its own ids strictly increasing too. */
		if (i > 0 && strcmp(out[i - 1], out[i]) >= 0)
			return (void *)1;
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_next_threads(void **state)
{
	(void)state;
	char(*ids)[ID_LEN + 1] = calloc(THREADS * PER_THREAD, sizeof *ids);
	assert_non_null(ids);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, make_many, ids + i * PER_THREAD), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	qsort(ids, THREADS * PER_THREAD, sizeof *ids, cmp_id);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		if (!strcmp(ids[i - 1], ids[i]))
			fail_msg("duplicate id %s", ids[i]);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		assert_true(id_valid(ids[i]));
	free(ids);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(id_valid("0Et9j0026rO"));
	assert_true(id_valid("00000000000"));
	assert_true(id_valid("zzzzzzzzzzz"));
	assert_false(id_valid(NULL));
	assert_false(id_valid(""));
	assert_false(id_valid("0Et9j0026r"));   /* 10 */
	assert_false(id_valid("0Et9j0026rOO")); /* 12 */
	assert_false(id_valid("0Et9j0026r-"));
	assert_false(id_valid("0Et9j0026r_"));
	assert_false(id_valid("0Et9j 026rO"));
	assert_false(id_valid("0Et9j0026r\xc3\xa9"));
	assert_false(id_valid("admin"));
}

static void test_custom_valid(void **state)
{
	(void)state;
	assert_true(id_custom_valid("admin"));
	assert_true(id_custom_valid("a"));
	assert_true(id_custom_valid("0123456789"));
	assert_true(id_custom_valid("ABCdef789z"));
	assert_false(id_custom_valid(NULL));
	assert_false(id_custom_valid(""));
	assert_false(id_custom_valid("0123456789A")); /* 11 */
	assert_false(id_custom_valid("ad-min"));
	assert_false(id_custom_valid("ad min"));
	assert_false(id_custom_valid("admin/"));
	assert_false(id_custom_valid("caf\xc3\xa9"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_layout),        cmocka_unit_test(test_make_ordering),
	    cmocka_unit_test(test_next_time_and_node), cmocka_unit_test(test_next_increasing),
	    cmocka_unit_test(test_next_threads),       cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_custom_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
