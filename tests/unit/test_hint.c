/* test_hint.c — unit tests of core/hint: the datagram of hints, written and read back; what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/hint.h"

static void test_round_trip(void **state)
{
	(void)state;
	char buf[HINT_MAX_BYTES];
	struct clock_pair in[3] = {{2, 87}, {3, 1}, {CLOCK_STREAM_MAX, CLOCK_POS_MAX}}, out[8];
	int len = hint_format(buf, sizeof buf, in, 3);
	assert_true(len > 0);
	assert_int_equal(hint_parse(buf, (size_t)len, out, 8), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].stream, in[i].stream);
		assert_true(out[i].pos == in[i].pos);
	}
	/* A keepalive carries no pair. */
	len = hint_format(buf, sizeof buf, NULL, 0);
	assert_string_equal(buf, "RUNORG-HINT 1\n");
	assert_int_equal(hint_parse(buf, (size_t)len, out, 8), 0);
}

static void test_refused(void **state)
{
	(void)state;
	struct clock_pair out[2];
	static const char *const bad[] = {
	    "",                         /* nothing */
	    "RUNORG-HINT 2 2:1\n",      /* another version */
	    "runorg-hint 1 2:1\n",      /* another magic */
	    "RUNORG-HINT 1 0:1\n",      /* stream 0 */
	    "RUNORG-HINT 1 2:0\n",      /* position 0 */
	    "RUNORG-HINT 1 02:1\n",     /* leading zero */
	    "RUNORG-HINT 1 2:-1\n",     /* a sign */
	    "RUNORG-HINT 1 2:1x\n",     /* trailing garbage */
	    "RUNORG-HINT 1 2\n",        /* no position */
	    "RUNORG-HINT 1 2:1 3:4 5:6\n", /* more pairs than room */
	    "RUNORG-HINT 1 4294967296:1\n", /* stream past CLOCK_STREAM_MAX */
	    "RUNORG-HINT 1 2:9223372036854775808\n", /* position past CLOCK_POS_MAX */
	    "RUNORG-HINT 1 2:1\n\n",    /* two line ends */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hint_parse(bad[i], strlen(bad[i]), out, 2), -1);
	/* The line end is optional: a datagram without it is read; one cut inside
	 * a pair ("2:") is refused. (One cut inside the digits reads as a smaller
	 * position: harmless, since a hint only makes a front poll sooner.) */
	const char *cut = "RUNORG-HINT 1 2:123";
	assert_int_equal(hint_parse(cut, strlen(cut), out, 2), 1);
	assert_int_equal(out[0].pos, 123);
	assert_int_equal(hint_parse(cut, strlen(cut) - 4, out, 2), -1); /* "2:" */
}

static void test_does_not_fit(void **state)
{
	(void)state;
	char small[20];
	struct clock_pair in[2] = {{2, 87}, {3, 100000}};
	assert_int_equal(hint_format(small, sizeof small, in, 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_does_not_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
