/* isotime.h — the API's one time format, "2013-10-08T21:42:00Z" (UTC, seconds), in C and in SQL. */
#ifndef RUNORG_ISOTIME_H
#define RUNORG_ISOTIME_H

/* MariaDB's DATE_FORMAT/STR_TO_DATE pattern of it, with % doubled for db_query. */
#define ISOTIME_SQL_PATTERN "'%%Y-%%m-%%dT%%H:%%i:%%sZ'"
/* A DATETIME column (or expression) as API text, in a db_query format. */
#define ISOTIME_SQL_OUT(col) "DATE_FORMAT(" col ", " ISOTIME_SQL_PATTERN ")"
/* API text given as %Q, back to a DATETIME, in a db_query format. */
#define ISOTIME_SQL_IN "STR_TO_DATE(%Q, " ISOTIME_SQL_PATTERN ")"

/* Text of a Unix time, in a thread-local buffer (valid until the thread's next call). */
const char *isotime_text(long long t);

/* The Unix time of text in exactly that format (a real date and time, UTC):
 * 0, or -1 for anything else. */
int isotime_parse(const char *text, long long *out);

#endif
