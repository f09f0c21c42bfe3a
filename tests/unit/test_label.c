/* test_label.c — unit tests of core/label: trimming, collapsing, length limit, strict UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/label.h"

#define NBSP "\xc2\xa0"

/* Cleans `in` (with explicit length), checks the result or the error. */
static void check_len(const char *in, size_t len, const char *want, const char *want_err)
{
	char *out = (char *)1, err[128] = "";
	int st = label_clean(in, len, &out, err, sizeof err);
	if (want) {
		if (st != 0)
			fail_msg("'%s' rejected: %s", in, err);
		assert_non_null(out);
		assert_string_equal(out, want);
		free(out);
	} else {
		if (st != -1)
			fail_msg("'%s' accepted as '%s'", in, out);
		assert_null(out);
		assert_string_equal(err, want_err);
	}
}

static void check(const char *in, const char *want, const char *want_err)
{
	check_len(in, strlen(in), want, want_err);
}

/* n copies of `unit`, malloc'd. */
static char *repeat(const char *unit, int n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * (size_t)n + 1);
	for (int i = 0; i < n; i++)
		memcpy(s + u * (size_t)i, unit, u);
	s[u * (size_t)n] = 0;
	return s;
}

static void test_unchanged(void **state)
{
	(void)state;
	check("Hello", "Hello", NULL);
	check("Victor Nicollet", "Victor Nicollet", NULL);
	check("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	      "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", NULL);
	check("x", "x", NULL);
}

static void test_trim_collapse(void **state)
{
	(void)state;
	check("  Hello  ", "Hello", NULL);
	check("\t\n\v\f\rHello\r\n", "Hello", NULL);
	check("Hello   World", "Hello World", NULL);
	check("  a \t\n b  c ", "a b c", NULL);
	/* Unicode white space: trimmed and collapsed to a plain space. */
	check("\xe3\x80\x80"
	      "a\xe2\x80\x83"
	      "b\xe2\x80\xa8"
	      "c\xe1\x9a\x80"
	      "d\xe2\x81\x9f"
	      "e\xe2\x80\xaf",
	      "a b c d e", NULL);
	check("a\xe2\x80\x80\xe2\x80\x8a"
	      "b",
	      "a b", NULL); /* U+2000, U+200A */
	check("a\xe2\x80\x8b"
	      "b",
	      "a\xe2\x80\x8b"
	      "b",
	      NULL); /* U+200B zero-width space is not white space */
	check("a\xe2\x80\xa9 b", "a b", NULL);
}

static void test_nbsp(void **state)
{
	(void)state;
	check("a" NBSP "b", "a" NBSP "b", NULL);
	check("a" NBSP NBSP NBSP "b", "a" NBSP "b", NULL);
	check("a " NBSP "b", "a b", NULL);
	check("a" NBSP " b", "a b", NULL);
	check("a" NBSP "\xe2\x80\x83"
	      "b",
	      "a b", NULL);
	check(NBSP "a" NBSP, "a", NULL);
	check(NBSP " a " NBSP, "a", NULL);
	check("1" NBSP "000" NBSP NBSP "\xe2\x82\xac", "1" NBSP "000" NBSP "\xe2\x82\xac", NULL);
	/* U+202F and U+2007 are no-break spaces too: a run of them only is one U+00A0. */
	check("a\xe2\x80\xaf"
	      "b",
	      "a" NBSP "b", NULL);
	check("1\xe2\x80\x87\xe2\x80\xaf" NBSP "000", "1" NBSP "000", NULL);
	check("a\xe2\x80\xaf b", "a b", NULL);
}

static void test_empty(void **state)
{
	(void)state;
	check("", NULL, "Empty label");
	check(" ", NULL, "Empty label");
	check("     ", NULL, "Empty label");
	check("\t\r\n", NULL, "Empty label");
	check(NBSP, NULL, "Empty label");
	check(NBSP " \xe3\x80\x80", NULL, "Empty label");
	check_len(NULL, 0, NULL, "Empty label");
}

static void test_length(void **state)
{
	(void)state;
	static const char *units[] = {"a", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		char *s80 = repeat(units[i], 80), *s81 = repeat(units[i], 81);
		check(s80, s80, NULL);
		check(s81, NULL, "Label is 81 code points long, only 80 allowed.");
		free(s80);
		free(s81);
	}
	char *s200 = repeat("\xc3\xa9", 200);
	check(s200, NULL, "Label is 200 code points long, only 80 allowed.");
	free(s200);

	/* The limit applies to the cleaned label: trimmed spaces do not count, a
	 * collapsed run counts once. */
	char buf[1024];
	char *a40 = repeat("a", 40), *b39 = repeat("b", 39), *b40 = repeat("b", 40);
	snprintf(buf, sizeof buf, "     %s   \t\t   %s       ", a40, b39);
	char want[128];
	snprintf(want, sizeof want, "%s %s", a40, b39);
	check(buf, want, NULL);
	snprintf(buf, sizeof buf, "%s   %s", a40, b40);
	check(buf, NULL, "Label is 81 code points long, only 80 allowed.");
	free(a40);
	free(b39);
	free(b40);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "\x80",                     /* lone continuation */
	    "abc\xbf",                  /* lone continuation at the end */
	    "\xc3",                     /* truncated 2-byte */
	    "\xe6\x97",                 /* truncated 3-byte */
	    "\xf0\x9f\x98",             /* truncated 4-byte */
	    "\xc3(",                    /* bad continuation */
	    "\xc0\xaf",                 /* overlong '/' */
	    "\xc1\xbf",                 /* overlong */
	    "\xe0\x80\xaf",             /* overlong 3-byte */
	    "\xe0\x9f\xbf",             /* overlong U+07FF */
	    "\xf0\x80\x80\xaf",         /* overlong 4-byte */
	    "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
	    "\xed\xa0\x80",             /* U+D800 surrogate */
	    "\xed\xbf\xbf",             /* U+DFFF surrogate */
	    "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
	    "\xf4\x90\x80\x80",         /* U+110000 */
	    "\xf5\x80\x80\x80",
	    "\xf8\x88\x80\x80\x80", /* 5-byte form */
	    "\xfe",
	    "\xff",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(bad[i], NULL, "Label is not valid UTF-8");
	/* Invalid bytes in what trimming would drop still fail. */
	check("abc \xff", NULL, "Label is not valid UTF-8");
	/* Control characters are valid UTF-8, but no text: the message names them. */
	check("a\x01"
	      "b",
	      NULL, "Label contains control character U+0001");
	check("\x1b[31m", NULL, "Label contains control character U+001B");
	check("a\x1f", NULL, "Label contains control character U+001F");
	/* A NUL byte inside the given length. */
	check_len("abc\0def", 7, NULL, "Label contains control character U+0000");
	/* Edges of the valid ranges. */
	check("\xed\x9f\xbf", "\xed\x9f\xbf", NULL);         /* U+D7FF */
	check("\xee\x80\x80", "\xee\x80\x80", NULL);         /* U+E000 */
	check("\xef\xbf\xbf", "\xef\xbf\xbf", NULL);         /* U+FFFF */
	check("\xf0\x90\x80\x80", "\xf0\x90\x80\x80", NULL); /* U+10000 */
	check("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", NULL); /* U+10FFFF */
	check("\xc2\x80", "\xc2\x80", NULL);                 /* U+0080 */
	check("\xdf\xbf", "\xdf\xbf", NULL);                 /* U+07FF */
	check("\xe0\xa0\x80", "\xe0\xa0\x80", NULL);         /* U+0800 */
}

static void test_err_optional(void **state)
{
	(void)state;
	char *out = (char *)1;
	assert_int_equal(label_clean("  ", 2, &out, NULL, 0), -1);
	assert_null(out);
	char tiny[6];
	assert_int_equal(label_clean("", 0, &out, tiny, sizeof tiny), -1);
	assert_string_equal(tiny, "Empty");
	/* Only `len` bytes are read. */
	assert_int_equal(label_clean("abcdef", 3, &out, NULL, 0), 0);
	assert_string_equal(out, "abc");
	free(out);
}

static void test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(utf8_length("", 0), 0);
	assert_int_equal(utf8_length("hello", 5), 5);
	assert_int_equal(utf8_length("h\xc3\xa9llo", 6), 5);
	assert_int_equal(utf8_length("\xe6\x97\xa5\xe6\x9c\xac", 6), 2);
	assert_int_equal(utf8_length("\xf0\x9f\x98\x80!", 5), 2);
	assert_int_equal(utf8_length("\xf0\x9f\x98\x80", 3), -1);
	assert_int_equal(utf8_length("\xc0\x80", 2), -1);
	assert_int_equal(utf8_length("\xed\xa0\x80", 3), -1);
	assert_int_equal(utf8_length("\xf4\x90\x80\x80", 4), -1);
	assert_int_equal(utf8_length("a\0b", 3), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unchanged),    cmocka_unit_test(test_trim_collapse),
	    cmocka_unit_test(test_nbsp),         cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_length),       cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_err_optional), cmocka_unit_test(test_utf8_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
