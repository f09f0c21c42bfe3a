/* test_person.c — unit tests of core/person: display name, gravatar, e-mail key and check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/person.h"

static void check_name(const char *full, const char *first, const char *last, const char *email,
                       const char *want)
{
	char *name = person_name(full, first, last, email);
	assert_non_null(name);
	assert_string_equal(name, want);
	free(name);
}

static void test_name(void **state)
{
	(void)state;
	const char *e = "vnicollet@runorg.com";
	check_name("Victor Nicollet", "Victor", "Nicollet", e, "Victor Nicollet");
	check_name("The Boss", "Victor", "Nicollet", e, "The Boss");
	check_name("The Boss", NULL, NULL, e, "The Boss");
	check_name(NULL, "Victor", "Nicollet", e, "Victor Nicollet");
	check_name(NULL, "Victor", NULL, e, "Victor");
	check_name(NULL, NULL, "Nicollet", e, "Nicollet");
	check_name(NULL, NULL, NULL, e, "vnicollet@runorg.com");
	/* Empty strings count as absent. */
	check_name("", "", "Nicollet", e, "Nicollet");
	check_name("", "", "", e, "vnicollet@runorg.com");
	check_name(NULL, NULL, NULL, NULL, "");
	/* Multi-byte names pass through untouched. */
	check_name(NULL, "Ren\xc3\xa9", "\xc3\x89lie", e, "Ren\xc3\xa9 \xc3\x89lie");
}

/* Expected digests computed outside the program, e.g.
 *   printf %s vnicollet@runorg.com | md5sum → 5a31b00f649489a9a24d3dc3e8b28060
 *   printf %s test@runorg.com | md5sum      → 1ed54d253636f5b33eff32c2d5573f70
 *   printf %s '' | md5sum                   → d41d8cd98f00b204e9800998ecf8427e */
static void check_pic(const char *email, const char *want)
{
	char out[PERSON_PIC_SIZE];
	memset(out, 'X', sizeof out);
	person_pic(email, out);
	assert_string_equal(out, want);
}

static void test_pic(void **state)
{
	(void)state;
	const char *vn = "https://www.gravatar.com/avatar/5a31b00f649489a9a24d3dc3e8b28060";
	check_pic("vnicollet@runorg.com", vn);
	check_pic("  VNicollet@RunOrg.com ", vn);
	check_pic("VNICOLLET@RUNORG.COM", vn);
	check_pic("\tvnicollet@runorg.com\n", vn);
	check_pic("test@runorg.com", "https://www.gravatar.com/avatar/1ed54d253636f5b33eff32c2d5573f70");
	check_pic("", "https://www.gravatar.com/avatar/d41d8cd98f00b204e9800998ecf8427e");
	check_pic("   ", "https://www.gravatar.com/avatar/d41d8cd98f00b204e9800998ecf8427e");
	/* Inner case and spaces are not the outer ones: different digest. */
	char out[PERSON_PIC_SIZE];
	person_pic("vnicollet@runorg.co", out);
	assert_string_not_equal(out, vn);
	assert_int_equal(strlen(out), 64);
}

static void check_key(const char *email, const char *want)
{
	char *key = person_email_key(email);
	assert_non_null(key);
	assert_string_equal(key, want);
	free(key);
}

static void test_email_key(void **state)
{
	(void)state;
	check_key("vnicollet@runorg.com", "vnicollet@runorg.com");
	check_key("  VNicollet@RunOrg.COM \t", "vnicollet@runorg.com");
	check_key("", "");
	check_key("  ", "");
	/* Only ASCII letters change case. */
	check_key("\xc3\x89lie@Ex.org", "\xc3\x89lie@ex.org");
	assert_null(person_email_key(NULL));
}

static void test_email_check(void **state)
{
	(void)state;
	static const char *good[] = {
	    "vnicollet@runorg.com", "a@b.c", "first.last+tag@sub.example.org", "x@a.b.c",
	    "\xc3\xa9lie@ex.org",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (person_email_check(good[i]) != 0)
			fail_msg("rejected %s", good[i]);
	static const char *bad[] = {
	    "",
	    "vnicollet",
	    "vnicollet@",
	    "@runorg.com",
	    "vnicollet@runorg",
	    "vnicollet@.runorg.com",
	    "vnicollet@runorg.com.",
	    "vnicollet@.",
	    "a@b@c.com",
	    "v nicollet@runorg.com",
	    "vnicollet@runorg .com",
	    "vnicollet@runorg.com ",
	    "\tvnicollet@runorg.com",
	    "v\xc2\xa0nicollet@runorg.com",
	    "v\xe2\x80\x83nicollet@runorg.com",
	    "v\xe3\x80\x80nicollet@runorg.com",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (person_email_check(bad[i]) == 0)
			fail_msg("accepted %s", bad[i]);
	assert_int_not_equal(person_email_check(NULL), 0);

	/* 254 bytes is the most allowed. */
	char buf[300];
	memset(buf, 'a', sizeof buf);
	memcpy(buf + 254 - 6, "@b.com", 6);
	buf[254] = 0;
	assert_int_equal(strlen(buf), 254);
	assert_int_equal(person_email_check(buf), 0);
	memset(buf, 'a', sizeof buf);
	memcpy(buf + 255 - 6, "@b.com", 6);
	buf[255] = 0;
	assert_int_not_equal(person_email_check(buf), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name),
	    cmocka_unit_test(test_pic),
	    cmocka_unit_test(test_email_key),
	    cmocka_unit_test(test_email_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
