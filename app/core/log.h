/* log.h — one-line log messages to stderr or a file, with a level from the configuration. */
#ifndef RUNORG_LOG_H
#define RUNORG_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the level from its name (error, warn, info, debug); unknown names mean info. */
void log_set_level(const char *name);
/* Appends every line to `path` from now on (created if missing); stderr is
 * pointed there too, so that messages of libraries land in the same file.
 * Empty or NULL: stay on stderr. Returns 0, or -1 with a message on stderr. */
int log_set_file(const char *path);
void log_at(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
