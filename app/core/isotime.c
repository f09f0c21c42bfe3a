/* isotime.c — the API's one time format, "2013-10-08T21:42:00Z" (UTC, seconds). */
#include "core/isotime.h"

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
