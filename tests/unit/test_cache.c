/* test_cache.c — unit tests of fcgi/cache: keys that tell requests apart, entries valid at one position, the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "fcgi/cache.h"

/* A request as the router leaves it: path segments and query already split. */
static struct req make(char **segs, int nseg, const char *contact, bool server_admin)
{
	struct req rq = {0};
	rq.method = "GET";
	for (int i = 0; i < nseg; i++)
		rq.seg[i] = segs[i];
	rq.nseg = nseg;
	rq.server_admin = server_admin;
	snprintf(rq.contact, sizeof rq.contact, "%s", contact);
	snprintf(rq.as, sizeof rq.as, "%s", contact);
	return rq;
}

static void keys_tell_requests_apart(void **state)
{
	(void)state;
	char *ab[] = {"db", "a/b"}, *a_b[] = {"db", "a", "b"};
	struct req r1 = make(ab, 2, "c1", false), r2 = make(a_b, 3, "c1", false);
	char *k1 = cache_key(&r1), *k2 = cache_key(&r2);
	assert_string_not_equal(k1, k2); /* a slash inside a segment is not a separator */
	struct req r3 = make(ab, 2, "c2", false), r4 = make(ab, 2, "", true);
	char *k3 = cache_key(&r3), *k4 = cache_key(&r4);
	assert_string_not_equal(k1, k3); /* another contact */
	assert_string_not_equal(k1, k4); /* a server administrator */
	struct req r5 = make(ab, 2, "c1", false);
	snprintf(r5.as, sizeof r5.as, "c9");
	char *k5 = cache_key(&r5);
	assert_string_not_equal(k1, k5); /* as= another contact */
	free(k1), free(k2), free(k3), free(k4), free(k5);
}

static void at_is_left_out_other_query_is_not(void **state)
{
	(void)state;
	char *segs[] = {"db", "x", "contacts"};
	struct req plain = make(segs, 3, "c1", false), at = plain, limit = plain;
	at.query[0].key = "at", at.query[0].value = "[[2,5]]", at.nquery = 1;
	limit.query[0].key = "limit", limit.query[0].value = "5", limit.nquery = 1;
	char *kp = cache_key(&plain), *ka = cache_key(&at), *kl = cache_key(&limit);
	assert_string_equal(kp, ka);
	assert_string_not_equal(kp, kl);
	free(kp), free(ka), free(kl);
}

static void entries_hold_at_their_position_only(void **state)
{
	(void)state;
	cache_put("k", 2, 10, "{\"a\":1}");
	char *t = cache_get("k", 2, 10);
	assert_non_null(t);
	assert_string_equal(t, "{\"a\":1}");
	free(t);
	assert_null(cache_get("k", 2, 11)); /* the stream moved: not valid */
	assert_null(cache_get("k", 3, 10)); /* another stream */
	assert_null(cache_get("other", 2, 10));
	cache_put("k", 2, 11, "{\"a\":2}");
	t = cache_get("k", 2, 11);
	assert_string_equal(t, "{\"a\":2}");
	free(t);
	assert_null(cache_get("k", 2, 10));
}

static void stays_within_its_budget(void **state)
{
	(void)state;
	int saved = cf.cache_kib;
	cf.cache_kib = 16; /* entries up to 2 KiB, 16 KiB in all */
	char big[4096];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	cache_put("big", 2, 1, big);
	assert_null(cache_get("big", 2, 1)); /* larger than an eighth: never kept */
	char key[32], text[1024];
	memset(text, 'y', sizeof text - 1);
	text[sizeof text - 1] = 0;
	int kept = 0;
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		cache_put(key, 2, 1, text);
	}
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		char *t = cache_get(key, 2, 1);
		kept += t != NULL;
		free(t);
	}
	assert_true(kept > 0);
	assert_true(kept * (int)sizeof text <= 16 * 1024);
	cf.cache_kib = saved;
}

int main(void)
{
	config_load(NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys_tell_requests_apart),
	    cmocka_unit_test(at_is_left_out_other_query_is_not),
	    cmocka_unit_test(entries_hold_at_their_position_only),
	    cmocka_unit_test(stays_within_its_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
