/* fuzz_clock.c — the clock parser (at= and every clock a client sends): any bytes
 * either fail to parse, or give a clock that keeps its invariant (ascending
 * streams, each once, positions >= 1) and survives printing and merging.
 * Input: one clock, or two separated by a newline (then their merge is checked). */
#include <string.h>

#include "core/clock.h"
#include "fuzz.h"

static void clock_sane(const struct clock *c)
{
	FUZZ_CHECK(c->n >= 0 && c->n <= CLOCK_MAX);
	for (int i = 0; i < c->n; i++) {
		FUZZ_CHECK(c->p[i].stream >= 1 && c->p[i].stream <= CLOCK_STREAM_MAX);
		FUZZ_CHECK(c->p[i].pos >= 1 && c->p[i].pos <= CLOCK_POS_MAX);
		FUZZ_CHECK(i == 0 || c->p[i - 1].stream < c->p[i].stream);
		FUZZ_CHECK(clock_get(c, c->p[i].stream) == c->p[i].pos);
	}
}

/* Printed with clock_to_json, parsed again: the same clock. */
static void clock_round_trip(const struct clock *c)
{
	json_object *j = clock_to_json(c);
	const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	struct clock back;
	int r = clock_parse(text, strlen(text), &back);
	FUZZ_CHECK(r == 0);
	if (r == 0) {
		FUZZ_CHECK(back.n == c->n);
		FUZZ_CHECK(c->n == 0 || memcmp(back.p, c->p, (size_t)c->n * sizeof c->p[0]) == 0);
	}
	json_object_put(j);
}

int fuzz_clock(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	struct clock a, b;
	if (clock_parse(text, size, &a) == 0) {
		clock_sane(&a);
		clock_round_trip(&a);
		FUZZ_CHECK(clock_reached(&a, &a));
		struct clock m = a;
		FUZZ_CHECK(clock_merge(&m, &a) == 0 && m.n == a.n);
	}
	if (nl && clock_parse(text, (size_t)(nl - text), &a) == 0 &&
	    clock_parse(nl + 1, size - (size_t)(nl - text) - 1, &b) == 0) {
		struct clock m = a;
		if (clock_merge(&m, &b) == 0) {
			clock_sane(&m);
			FUZZ_CHECK(clock_reached(&a, &m) && clock_reached(&b, &m));
			for (int i = 0; i < m.n; i++) {
				uint64_t x = clock_get(&a, m.p[i].stream), y = clock_get(&b, m.p[i].stream);
				FUZZ_CHECK(m.p[i].pos == (x > y ? x : y));
			}
		} else {
			FUZZ_CHECK(a.n + b.n > CLOCK_MAX); /* only a merge that does not fit may fail */
			FUZZ_CHECK(m.n == a.n);            /* and then leaves its target alone */
		}
		/* clock_set never breaks the invariant either. */
		struct clock s = a;
		for (int i = 0; i < b.n; i++)
			if (clock_set(&s, b.p[i].stream, b.p[i].pos))
				break;
		clock_sane(&s);
	}
	return 0;
}

FUZZ_ENTRY(fuzz_clock)
