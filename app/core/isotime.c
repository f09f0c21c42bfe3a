/* isotime.c — the API's one time format, "2013-10-08T21:42:00Z" (UTC, seconds). */
#include "core/isotime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *isotime_text(long long t)
{
	static __thread char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int isotime_parse(const char *text, long long *out)
{
	struct tm tm = {0};
	int n = 0;
	if (!text || strlen(text) != 20 ||
	    sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	           &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 20)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	/* timegm normalizes (Feb 30 becomes Mar 2): only text it prints back is a real date. */
	if (t == (time_t)-1 || strcmp(isotime_text((long long)t), text))
		return -1;
	*out = (long long)t;
	return 0;
}
