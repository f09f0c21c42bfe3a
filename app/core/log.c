/* log.c — one-line log messages to stderr or a file, with a level from the configuration. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
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

int log_set_file(const char *path)
{
	if (!path || !*path)
		return 0;
	/* O_APPEND: each line lands at the end even after logrotate's copytruncate. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || dup2(fd, 2) < 0) {
		log_error("log_file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
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
	/* One write per line, so lines of concurrent threads do not interleave;
	 * control characters (from a request path, say) cannot start a false line. */
	size_t len = strnlen(line, sizeof line - 2);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	if (write(2, line, len) < 0) {
	}
}
