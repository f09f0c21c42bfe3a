/* test_fuzz.c — replays every fuzz target (tests/fuzz) on its seed corpus and on
 * its regressions, without libFuzzer: an input that once crashed a target, saved
 * in tests/fuzz/regressions/<target>/, stays a test in every `make test`. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define FUZZ_REPLAY
#include "../fuzz/fuzz_body.c"
#include "../fuzz/fuzz_clock.c"
#include "../fuzz/fuzz_label.c"
#include "../fuzz/fuzz_uri.c"

/* The input being replayed, named if it crashes the target (stderr is muted meanwhile). */
static char current[512];

static void crashed(int sig)
{
	static const char msg[] = "test_fuzz: crashed on ";
	if (write(1, msg, sizeof msg - 1) < 0 || write(1, current, strlen(current)) < 0 ||
	    write(1, "\n", 1) < 0) {
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Runs fn on every file of dir (relative to the repository root, where the tests run). */
static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t))
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = current;
		snprintf(current, sizeof current, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		static uint8_t buf[1 << 20];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		/* The handlers log their "server gone" failures: keep them out of the test output. */
		int saved = dup(2), null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		uint8_t *copy = malloc(len ? len : 1); /* exact size, as libFuzzer gives it */
		memcpy(copy, buf, len);
		fn(copy, len);
		free(copy);
		dup2(saved, 2);
		close(saved);
		close(null);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *target, int (*fn)(const uint8_t *, size_t))
{
	char dir[256];
	snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
	signal(SIGABRT, crashed);
	signal(SIGSEGV, crashed);
	int n = replay_dir(dir, fn);
	snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", target);
	n += replay_dir(dir, fn);
	printf("   %s: %d inputs replayed\n", target, n);
	assert_true(n > 0); /* run from the repository root, or the seeds are missing */
}

static void test_clock(void **state)
{
	(void)state;
	replay("clock", fuzz_clock);
}

static void test_uri(void **state)
{
	(void)state;
	replay("uri", fuzz_uri);
}

static void test_label(void **state)
{
	(void)state;
	replay("label", fuzz_label);
}

static void test_body(void **state)
{
	(void)state;
	replay("body", fuzz_body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clock),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_label),
	    cmocka_unit_test(test_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
