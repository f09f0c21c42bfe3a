/* hint.c — the datagram a processor sends to the fronts after a commit: "stream s is now at n". */
#include "core/hint.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "RUNORG-HINT 1"

int hint_format(char *buf, size_t size, const struct clock_pair *pairs, int n)
{
	int len = snprintf(buf, size, "%s", MAGIC);
	for (int i = 0; i < n && len >= 0 && (size_t)len < size; i++)
		len += snprintf(buf + len, size - (size_t)len, " %u:%llu", pairs[i].stream,
		                (unsigned long long)pairs[i].pos);
	if (len < 0 || (size_t)len + 1 >= size)
		return -1;
	buf[len++] = '\n';
	buf[len] = 0;
	return len;
}

/* A decimal number of 1..max at *s, no sign, no leading zero; moves *s past it. */
static int number(const char **s, const char *end, unsigned long long max, unsigned long long *out)
{
	const char *p = *s;
	unsigned long long v = 0;
	if (p >= end || *p < '1' || *p > '9')
		return -1;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (unsigned long long)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

int hint_parse(const char *buf, size_t len, struct clock_pair *pairs, int max)
{
	const char *p = buf, *end = buf + len;
	size_t m = strlen(MAGIC);
	if (len < m || memcmp(p, MAGIC, m))
		return -1;
	p += m;
	int n = 0;
	while (p < end && *p == ' ') {
		p++;
		unsigned long long s, pos;
		if (n == max || number(&p, end, CLOCK_STREAM_MAX, &s) || p >= end || *p++ != ':' ||
		    number(&p, end, CLOCK_POS_MAX, &pos))
			return -1;
		pairs[n++] = (struct clock_pair){.stream = (uint32_t)s, .pos = pos};
	}
	if (p < end && *p == '\n')
		p++;
	return p == end ? n : -1;
}
