/* test_seal.c — unit tests of core/seal (AES-256-GCM at rest), store/secret (the server secret's file) and
 * isotime_parse (the expiry of an assertion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/hex.h"
#include "core/isotime.h"
#include "core/seal.h"
#include "store/secret.h"

static const unsigned char key[SEAL_KEY_SIZE] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[SEAL_KEY_SIZE] = "0123456789abcdef0123456789abcdeF";
static const unsigned char plain[20] = "a site's 20-byte key";

static void test_round_trip(void **state)
{
	(void)state;
	char *a = seal_text(key, "db:1", plain, sizeof plain),
	     *b = seal_text(key, "db:1", plain, sizeof plain);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(strncmp(a, "g1:", 3), 0);
	assert_int_equal(strlen(a), 3 + 2 * (12 + 16 + sizeof plain));
	assert_string_not_equal(a, b); /* a fresh nonce every time */
	char hex[2 * sizeof plain + 1];
	hex_encode(plain, sizeof plain, hex);
	assert_null(strstr(a, hex));
	unsigned char out[64];
	assert_int_equal(seal_open(key, "db:1", a, out, sizeof out), sizeof plain);
	assert_memory_equal(out, plain, sizeof plain);
	assert_int_equal(seal_open(key, "db:1", b, out, sizeof out), sizeof plain);
	/* Too small a buffer: refused, not cut. */
	assert_int_equal(seal_open(key, "db:1", a, out, sizeof plain - 1), -1);
	free(a);
	free(b);
}

static void test_refusals(void **state)
{
	(void)state;
	char *a = seal_text(key, "db:1", plain, sizeof plain);
	unsigned char out[64];
	assert_int_equal(seal_open(other, "db:1", a, out, sizeof out), -1); /* another server secret */
	assert_int_equal(seal_open(key, "db:2", a, out, sizeof out), -1);   /* moved elsewhere */
	/* Any digit changed: nonce, tag or ciphertext. */
	for (size_t i = 3; i < strlen(a); i += 7) {
		char *t = strdup(a);
		t[i] = t[i] == '0' ? '1' : '0';
		assert_int_equal(seal_open(key, "db:1", t, out, sizeof out), -1);
		free(t);
	}
	a[strlen(a) - 2] = 0; /* cut short */
	assert_int_equal(seal_open(key, "db:1", a, out, sizeof out), -1);
	assert_int_equal(seal_open(key, "db:1", "g1:00", out, sizeof out), -1);
	assert_int_equal(seal_open(key, "db:1", "x1:00", out, sizeof out), -1);
	assert_int_equal(seal_open(key, "db:1", NULL, out, sizeof out), -1);
	free(a);
}

static void test_secret_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/runorg-test-secret-XXXXXX";
	assert_non_null(mkdtemp(dir));
	config_load(NULL);
	snprintf(cf.key_secret_file, sizeof cf.key_secret_file, "%s/key-secret", dir);
	unsigned char s[SEAL_KEY_SIZE], again[SEAL_KEY_SIZE];
	assert_int_equal(secret_get(s), 0);
	struct stat st;
	assert_int_equal(stat(cf.key_secret_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	FILE *f = fopen(cf.key_secret_file, "r");
	char text[80] = "";
	assert_non_null(fgets(text, sizeof text, f));
	fclose(f);
	unsigned char from_file[SEAL_KEY_SIZE];
	assert_int_equal(hex_decode(text, 64, from_file, sizeof from_file), SEAL_KEY_SIZE);
	assert_memory_equal(s, from_file, SEAL_KEY_SIZE);
	/* Kept: the same secret next time, and no other file left behind. */
	assert_int_equal(secret_get(again), 0);
	assert_memory_equal(s, again, SEAL_KEY_SIZE);
	unlink(cf.key_secret_file);
	assert_int_equal(rmdir(dir), 0);
}

static void test_isotime_parse(void **state)
{
	(void)state;
	long long t;
	assert_int_equal(isotime_parse("2013-10-08T21:42:00Z", &t), 0);
	assert_int_equal(t, 1381268520);
	assert_int_equal(isotime_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	const char *bad[] = {"2013-10-08T21:42:00",
	                     "2013-10-08 21:42:00Z",
	                     "2013-02-30T00:00:00Z",
	                     "2013-13-01T00:00:00Z",
	                     "2013-10-08T24:00:00Z",
	                     "2013-10-08T21:42:00.5Z",
	                     " 2013-10-08T21:42:0Z",
	                     "2013-1-08T21:42:000Z",
	                     "",
	                     NULL};
	for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++)
		assert_int_equal(isotime_parse(bad[i], &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_isotime_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
