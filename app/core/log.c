/* log.c — one-line log messages to stderr, with a level from the configuration. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level level = LOG_INFO;
static const char *names[] = {"error", "warn", "info", "debug"};

void log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, names[i]))
			level = i;
}

void log_at(enum log_level l, const char *fmt, ...)
{
	if (l > level)
		return;
	char line[1024], when[32];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line, sizeof line, "%s.%03ldZ [%d] %s: ", when, (long)tv.tv_usec / 1000,
	                 (int)getpid(), names[l]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && n < (int)sizeof line)
		vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines of concurrent threads do not interleave. */
	size_t len = strnlen(line, sizeof line - 2);
	line[len++] = '\n';
	if (write(2, line, len) < 0) {
	}
}
