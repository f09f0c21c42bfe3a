/* clock.c — clocks: sets of (stream, position) pairs. Parse, print, merge, compare. */
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* A JSON integer in 1..max. json-c keeps integers above INT64_MAX as uint64
 * (and saturates at UINT64_MAX when even that overflows), while
 * json_object_get_int64 clamps them to INT64_MAX: reading both the signed and
 * the unsigned value tells negatives, zero and overflows apart. Doubles
 * (1.5, 1e3, 1.0) and strings are refused outright. */
static int json_positive(json_object *j, uint64_t max, uint64_t *out)
{
	if (!json_object_is_type(j, json_type_int))
		return -1;
	if (json_object_get_int64(j) < 1)
		return -1;
	uint64_t v = json_object_get_uint64(j);
	if (v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An object key naming a stream: canonical decimal, no sign, no leading zero, no spaces. */
static int key_stream(const char *key, uint32_t *out)
{
	if (key[0] < '1' || key[0] > '9')
		return -1;
	uint64_t v = 0;
	for (const char *c = key; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (uint64_t)(*c - '0');
		if (v > CLOCK_STREAM_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int pair_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct clock_pair *)a)->stream, y = ((const struct clock_pair *)b)->stream;
	return x < y ? -1 : x > y;
}

/* Sorts the pairs and refuses a stream named twice. */
static int finish(struct clock *c)
{
	qsort(c->p, (size_t)c->n, sizeof c->p[0], pair_cmp);
	for (int i = 1; i < c->n; i++)
		if (c->p[i].stream == c->p[i - 1].stream)
			return -1;
	return 0;
}

static int from_array(json_object *j, struct clock *c)
{
	size_t n = json_object_array_length(j);
	if (n > CLOCK_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *pair = json_object_array_get_idx(j, i);
		uint64_t stream, pos;
		if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
			return -1;
		if (json_positive(json_object_array_get_idx(pair, 0), CLOCK_STREAM_MAX, &stream) ||
		    json_positive(json_object_array_get_idx(pair, 1), CLOCK_POS_MAX, &pos))
			return -1;
		c->p[c->n++] = (struct clock_pair){.stream = (uint32_t)stream, .pos = pos};
	}
	return finish(c);
}

static int from_object(json_object *j, struct clock *c)
{
	if (json_object_object_length(j) > CLOCK_MAX)
		return -1;
	json_object_object_foreach(j, key, val)
	{
		uint32_t stream;
		uint64_t pos;
		if (key_stream(key, &stream) || json_positive(val, CLOCK_POS_MAX, &pos))
			return -1;
		c->p[c->n++] = (struct clock_pair){.stream = stream, .pos = pos};
	}
	return finish(c);
}

int clock_from_json(json_object *j, struct clock *out)
{
	struct clock c = {0};
	int st = -1;
	if (json_object_is_type(j, json_type_array))
		st = from_array(j, &c);
	else if (json_object_is_type(j, json_type_object))
		st = from_object(j, &c);
	if (st)
		return -1;
	*out = c;
	return 0;
}

/* The members of the JSON object at text (valid JSON, parsed already): its
 * commas outside nested values and strings, plus one unless it is empty.
 * json-c keeps only the last of repeated keys ({"2":83,"2":1} reads as
 * {"2":1}, a clock lower than the one sent), so a parsed object with fewer
 * members than its text names a stream twice: refused, as [[2,83],[2,1]] is. */
static size_t object_members(const char *text, size_t len)
{
	size_t commas = 0;
	int depth = 0;
	bool any = false, in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
			any = any || depth == 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			commas++;
		}
	}
	return any ? commas + 1 : 0;
}

int clock_parse(const char *text, size_t len, struct clock *out)
{
	if (!text || len == 0 || len > (size_t)16 * 1024 * 1024)
		return -1;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *j = json_tokener_parse_ex(tok, text, (int)len);
	int st = -1;
	if (json_tokener_get_error(tok) == json_tokener_success) {
		/* Only white space may follow the value. */
		size_t end = json_tokener_get_parse_end(tok);
		while (end < len && text[end] && strchr(" \t\r\n", text[end]))
			end++;
		if (end == len && !(json_object_is_type(j, json_type_object) &&
		                    (size_t)json_object_object_length(j) != object_members(text, len)))
			st = clock_from_json(j, out);
	}
	json_object_put(j);
	json_tokener_free(tok);
	return st;
}

json_object *clock_to_json(const struct clock *c)
{
	json_object *a = json_object_new_array_ext(c->n);
	for (int i = 0; i < c->n; i++) {
		json_object *pair = json_object_new_array_ext(2);
		json_object_array_add(pair, json_object_new_int64((int64_t)c->p[i].stream));
		json_object_array_add(pair, json_object_new_int64((int64_t)c->p[i].pos));
		json_object_array_add(a, pair);
	}
	return a;
}

uint64_t clock_get(const struct clock *c, uint32_t stream)
{
	for (int i = 0; i < c->n && c->p[i].stream <= stream; i++)
		if (c->p[i].stream == stream)
			return c->p[i].pos;
	return 0;
}

/* pos 0 is what an absent stream already has: nothing to do. Stream 0 does not exist. */
int clock_set(struct clock *c, uint32_t stream, uint64_t pos)
{
	if (stream == 0)
		return -1;
	if (pos == 0)
		return 0;
	int i = 0;
	while (i < c->n && c->p[i].stream < stream)
		i++;
	if (i < c->n && c->p[i].stream == stream) {
		if (c->p[i].pos < pos)
			c->p[i].pos = pos;
		return 0;
	}
	if (c->n >= CLOCK_MAX)
		return -1;
	memmove(&c->p[i + 1], &c->p[i], (size_t)(c->n - i) * sizeof c->p[0]);
	c->p[i] = (struct clock_pair){.stream = stream, .pos = pos};
	c->n++;
	return 0;
}

/* Walks both sorted lists at once; `into` is left untouched when the result would not fit. */
int clock_merge(struct clock *into, const struct clock *other)
{
	struct clock r = {0};
	int i = 0, k = 0;
	while (i < into->n || k < other->n) {
		struct clock_pair next;
		if (k >= other->n || (i < into->n && into->p[i].stream < other->p[k].stream)) {
			next = into->p[i++];
		} else if (i >= into->n || other->p[k].stream < into->p[i].stream) {
			next = other->p[k++];
		} else {
			next = into->p[i];
			if (other->p[k].pos > next.pos)
				next.pos = other->p[k].pos;
			i++, k++;
		}
		if (r.n >= CLOCK_MAX)
			return -1;
		r.p[r.n++] = next;
	}
	*into = r;
	return 0;
}

bool clock_reached(const struct clock *want, const struct clock *have)
{
	for (int i = 0; i < want->n; i++)
		if (want->p[i].pos > clock_get(have, want->p[i].stream))
			return false;
	return true;
}

uint64_t clock_table_get(const struct clock_table *t, uint32_t stream)
{
	return stream < t->n ? t->pos[stream] : 0;
}

bool clock_table_raise(struct clock_table *t, uint32_t stream, uint64_t pos)
{
	if (pos <= clock_table_get(t, stream))
		return false;
	if (stream >= t->n) {
		uint32_t n = t->n ? t->n : 16;
		while (n <= stream)
			n = n > CLOCK_STREAM_MAX / 2 ? CLOCK_STREAM_MAX + 1u : n * 2;
		t->pos = xrealloc(t->pos, (size_t)n * sizeof *t->pos);
		memset(t->pos + t->n, 0, (size_t)(n - t->n) * sizeof *t->pos);
		t->n = n;
	}
	t->pos[stream] = pos;
	return true;
}

bool clock_table_reached(const struct clock *want, const struct clock_table *have)
{
	for (int i = 0; i < want->n; i++)
		if (want->p[i].pos > clock_table_get(have, want->p[i].stream))
			return false;
	return true;
}

void clock_table_pick(const struct clock_table *t, const struct clock *want, struct clock *out)
{
	out->n = 0;
	for (int i = 0; i < want->n; i++) {
		uint64_t pos = clock_table_get(t, want->p[i].stream);
		if (pos) /* want has at most CLOCK_MAX streams: this always fits */
			out->p[out->n++] = (struct clock_pair){.stream = want->p[i].stream, .pos = pos};
	}
}

json_object *clock_table_to_json(const struct clock_table *t)
{
	json_object *a = json_object_new_array();
	for (uint32_t s = 1; s < t->n; s++) {
		if (!t->pos[s])
			continue;
		json_object *pair = json_object_new_array_ext(2);
		json_object_array_add(pair, json_object_new_int64((int64_t)s));
		json_object_array_add(pair, json_object_new_int64((int64_t)t->pos[s]));
		json_object_array_add(a, pair);
	}
	return a;
}

void clock_table_clear(struct clock_table *t)
{
	if (t->n)
		memset(t->pos, 0, (size_t)t->n * sizeof *t->pos);
}

void clock_table_free(struct clock_table *t)
{
	free(t->pos);
	*t = (struct clock_table){0};
}
