/* xalloc.c — the one allocation policy: allocate or abort (see xalloc.h). */
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void *check(void *p, size_t n)
{
	if (!p && n) {
		log_error("out of memory (%zu bytes): aborting", n);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n ? n : 1), n ? n : 1);
}

void *xcalloc(size_t n, size_t size)
{
	if (n == 0 || size == 0)
		n = size = 1;
	return check(calloc(n, size), n * size);
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n ? n : 1), n ? n : 1);
}

char *xstrdup(const char *s)
{
	return check(strdup(s), strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n), n + 1);
}

struct printbuf *xprintbuf_new(void)
{
	return check(printbuf_new(), sizeof(struct printbuf));
}

void xprintbuf_put(struct printbuf *pb, const char *s, size_t n)
{
	if (n && printbuf_memappend(pb, s, (int)n) < 0) {
		log_error("out of memory (a text of %d bytes): aborting", pb->bpos + (int)n);
		abort();
	}
}

void xprintbuf_puts(struct printbuf *pb, const char *s)
{
	xprintbuf_put(pb, s, strlen(s));
}

char *xprintbuf_take(struct printbuf *pb)
{
	/* The text is the printbuf's own buffer (a public field of json-c's
	 * printbuf, always NUL-terminated): handed over without a copy. */
	char *s = pb->buf;
	pb->buf = NULL;
	printbuf_free(pb);
	return s;
}
