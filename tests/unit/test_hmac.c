/* test_hmac.c — unit tests of core/hex and core/hmac: hex both ways, HMAC-SHA-1/SHA-256 against the RFC
 * vectors, and that a proof is compared in constant time.
 *
 * The timing test measures, in this process, the function the login uses
 * (hmac_equal, and hmac_proof_ok around it) on two classes of wrong proofs:
 * wrong from the first hex digit on, and right but for the last digit. The
 * classes are interleaved at random (so that whatever else the machine does
 * weighs on both alike), the slowest tenth of the samples is dropped
 * (preemptions, interrupts), and Welch's t-test compares the means, as dudect
 * does. |t| > 10 says the time depends on the class. The same measurement
 * run on a comparison that stops at the first wrong digit (strcmp-like, the
 * bug this guards against) must find it: that shows the test can see a leak
 * of the size a byte-by-byte comparison would have, so its passing means
 * something. Over HTTP that leak (nanoseconds) drowns in milliseconds of
 * noise, so an API-level test could not tell the two apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/hex.h"
#include "core/hmac.h"

static void test_hex(void **state)
{
	(void)state;
	unsigned char b[8];
	char text[17];
	assert_int_equal(hex_decode("00ff10Ab", 8, b, sizeof b), 4);
	assert_memory_equal(b, "\x00\xff\x10\xab", 4);
	hex_encode(b, 4, text);
	assert_string_equal(text, "00ff10ab");
	assert_int_equal(hex_decode("", 0, b, sizeof b), 0);
	assert_int_equal(hex_decode("abc", 3, b, sizeof b), -1); /* odd */
	assert_int_equal(hex_decode("0g", 2, b, sizeof b), -1);  /* not a digit */
	assert_int_equal(hex_decode("g0", 2, b, sizeof b), -1);
	assert_int_equal(hex_decode("0:", 2, b, sizeof b), -1); /* just after '9' */
	assert_int_equal(hex_decode("/0", 2, b, sizeof b), -1); /* just before '0' */
	assert_int_equal(hex_decode("`0", 2, b, sizeof b), -1); /* just before 'a' */
	assert_int_equal(hex_decode("G0", 2, b, sizeof b), -1);
	assert_int_equal(hex_decode("\xc3\xa9", 2, b, sizeof b), -1);            /* not ASCII */
	assert_int_equal(hex_decode("000000000000000000", 18, b, sizeof b), -1); /* too long */
	/* Every byte value goes there and back. */
	unsigned char all[256], back[256];
	char hex[513];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	hex_encode(all, 256, hex);
	assert_int_equal(hex_decode(hex, 512, back, sizeof back), 256);
	assert_memory_equal(all, back, 256);
	/* Every character: digits are accepted, nothing else. */
	for (int c = 0; c < 256; c++) {
		char two[2] = {(char)c, '0'};
		bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		assert_int_equal(hex_decode(two, 2, b, sizeof b), digit ? 1 : -1);
	}
}

static void check_mac(enum hmac_alg alg, const char *key, const char *msg, const char *want)
{
	unsigned char mac[HMAC_MAX_SIZE];
	char hex[2 * HMAC_MAX_SIZE + 1];
	assert_int_equal(hmac_mac(alg, (const unsigned char *)key, strlen(key), msg, strlen(msg), mac), 0);
	hex_encode(mac, hmac_size(alg), hex);
	assert_string_equal(hex, want);
	assert_true(hmac_proof_ok(alg, (const unsigned char *)key, strlen(key), msg, want));
}

static void test_vectors(void **state)
{
	(void)state;
	/* RFC 2202 (SHA-1) and RFC 4231 (SHA-256), test case 2. */
	check_mac(HMAC_SHA1, "Jefe", "what do ya want for nothing?",
	          "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	check_mac(HMAC_SHA256, "Jefe", "what do ya want for nothing?",
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(hmac_alg_parse("SHA-1"), HMAC_SHA1);
	assert_int_equal(hmac_alg_parse("SHA-256"), HMAC_SHA256);
	assert_int_equal(hmac_alg_parse("sha-256"), HMAC_NONE);
	assert_int_equal(hmac_alg_parse("MD5"), HMAC_NONE);
	assert_int_equal(hmac_alg_parse(NULL), HMAC_NONE);
	assert_string_equal(hmac_alg_name(HMAC_SHA256), "SHA-256");
	unsigned char mac[HMAC_MAX_SIZE];
	assert_int_equal(hmac_mac(HMAC_NONE, (const unsigned char *)"k", 1, "m", 1, mac), -1);
}

static void test_equal(void **state)
{
	(void)state;
	const unsigned char mac[4] = {0xde, 0xad, 0xbe, 0xef};
	assert_true(hmac_equal(mac, 4, "deadbeef", 8));
	assert_true(hmac_equal(mac, 4, "DEADBEEF", 8));
	assert_false(hmac_equal(mac, 4, "deadbeee", 8));
	assert_false(hmac_equal(mac, 4, "eeadbeef", 8));
	assert_false(hmac_equal(mac, 4, "deadbe", 6));
	assert_false(hmac_equal(mac, 4, "deadbeef00", 10));
	assert_false(hmac_equal(mac, 4, "deadbeeg", 8));
	assert_false(hmac_equal(mac, 4, "", 0));
	assert_false(hmac_equal(mac, 0, "", 0));
	const char *key = "0123456789abcdef";
	assert_false(hmac_proof_ok(HMAC_SHA256, (const unsigned char *)key, 16, "auth:x:until:y", "00"));
	assert_false(hmac_proof_ok(HMAC_NONE, (const unsigned char *)key, 16, "auth:x:until:y", ""));
}

/* ---- Timing ---- */

typedef bool (*compare_fn)(const unsigned char *mac, size_t n, const char *proof, size_t len);

/* The comparison this guards against: digit by digit, stopping at the first wrong one. */
static bool leaky_equal(const unsigned char *mac, size_t n, const char *proof, size_t len)
{
	char want[2 * HMAC_MAX_SIZE + 1];
	if (len != 2 * n)
		return false;
	hex_encode(mac, n, want);
	for (size_t i = 0; i < len; i++) {
		char c = proof[i] >= 'A' && proof[i] <= 'F' ? (char)(proof[i] - 'A' + 'a') : proof[i];
		if (c != want[i])
			return false;
	}
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252u;
static unsigned next_bit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 63);
}

/* Newton's square root (no libm here). */
static double sqrt_approx(double x)
{
	if (x <= 0)
		return 0;
	double r = x > 1 ? x : 1;
	for (int i = 0; i < 200; i++)
		r = (r + x / r) / 2;
	return r;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define SAMPLES 100000

static volatile unsigned sink;

/* Welch's t between the times of proofs[0] and proofs[1], as the file's comment says. */
static double t_of(compare_fn f, int batch, const unsigned char *mac, size_t n, const char *const proofs[2])
{
	double *time = malloc(SAMPLES * sizeof *time), *sorted = malloc(SAMPLES * sizeof *sorted);
	unsigned char *cls = malloc(SAMPLES);
	assert_non_null(time);
	assert_non_null(sorted);
	assert_non_null(cls);
	size_t len = strlen(proofs[0]);
	for (int i = 0; i < SAMPLES; i++) {
		cls[i] = (unsigned char)next_bit();
		const char *p = proofs[cls[i]];
		uint64_t t0 = now_ns();
		for (int k = 0; k < batch; k++)
			sink += f(mac, n, p, len);
		time[i] = (double)(now_ns() - t0);
	}
	memcpy(sorted, time, SAMPLES * sizeof *time);
	qsort(sorted, SAMPLES, sizeof *sorted, by_value);
	double cut = sorted[SAMPLES * 9 / 10];
	double sum[2] = {0}, sq[2] = {0}, cnt[2] = {0};
	for (int i = 0; i < SAMPLES; i++)
		if (time[i] <= cut) {
			sum[cls[i]] += time[i];
			sq[cls[i]] += time[i] * time[i];
			cnt[cls[i]]++;
		}
	double mean[2], var[2];
	for (int c = 0; c < 2; c++) {
		mean[c] = sum[c] / cnt[c];
		var[c] = (sq[c] - cnt[c] * mean[c] * mean[c]) / (cnt[c] - 1);
	}
	free(time);
	free(sorted);
	free(cls);
	double se = sqrt_approx(var[0] / cnt[0] + var[1] / cnt[1]);
	return se > 0 ? (mean[0] - mean[1]) / se : 0;
}

/* The login's whole check (HMAC, then hmac_equal), as a compare_fn. */
static const unsigned char check_key[32] = "0123456789abcdef0123456789abcdef";
static const char *check_msg = "auth:3prQKcT0100:until:2030-01-01T00:00:00Z";
static bool whole_check(const unsigned char *mac, size_t n, const char *proof, size_t len)
{
	(void)mac;
	(void)n;
	(void)len;
	return hmac_proof_ok(HMAC_SHA256, check_key, sizeof check_key, check_msg, proof);
}

/* The two wrong proofs for mac: wrong from the first digit, and right but for the last. */
static void wrong_proofs(const unsigned char *mac, size_t n, char first[65], char last[65])
{
	hex_encode(mac, n, first);
	hex_encode(mac, n, last);
	first[0] = first[0] == '0' ? '1' : '0';
	last[2 * n - 1] = last[2 * n - 1] == '0' ? '1' : '0';
}

#define LEAK 10.0 /* |t| above this: the time depends on the class */
#define TRIES 3

/* The smallest and the largest |t| over TRIES runs; batch calls per sample,
 * so that a sample lasts well above the clock's resolution. */
static void measure(compare_fn f, int batch, const unsigned char *mac, size_t n, double *low, double *high)
{
	char first[65], last[65];
	wrong_proofs(mac, n, first, last);
	const char *const proofs[2] = {first, last};
	*low = 1e300;
	*high = 0;
	for (int i = 0; i < TRIES; i++) {
		double t = t_of(f, batch, mac, n, proofs);
		t = t < 0 ? -t : t;
		*low = t < *low ? t : *low;
		*high = t > *high ? t : *high;
	}
}

static void test_constant_time(void **state)
{
	(void)state;
	unsigned char mac[32];
	assert_int_equal(
	    hmac_mac(HMAC_SHA256, check_key, sizeof check_key, check_msg, strlen(check_msg), mac), 0);
	double low, high;
	/* The measurement sees a comparison that stops at the first wrong digit ... */
	measure(leaky_equal, 8, mac, 32, &low, &high);
	printf("leaky comparison: |t| from %.1f to %.1f\n", low, high);
	assert_true(high > LEAK);
	/* ... and sees no difference in ours: in at least one run of TRIES (a real
	 * leak shows in every run; a passing burst of noise in few). */
	measure(hmac_equal, 8, mac, 32, &low, &high);
	printf("hmac_equal: |t| from %.1f to %.1f\n", low, high);
	assert_true(low < LEAK);
	measure(whole_check, 1, mac, 32, &low, &high);
	printf("hmac_proof_ok: |t| from %.1f to %.1f\n", low, high);
	assert_true(low < LEAK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_constant_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
