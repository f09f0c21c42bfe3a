/* xalloc.h — the one allocation policy: allocate or abort.
 *
 * RunOrg allocates only small, bounded amounts per request (bodies are capped
 * by max_body, lists by their limits). When such an allocation fails, the
 * process is beyond saving: every allocation in app/ goes through these
 * functions, which log the failure and abort(). A worker that aborts is
 * replaced by its master; a processor's transaction that was open rolls back,
 * so nothing half-done survives. Code never tests their result for NULL. */
#ifndef RUNORG_XALLOC_H
#define RUNORG_XALLOC_H

#include <json-c/printbuf.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* The one string builder is json-c's printbuf; these append or abort. */
struct printbuf *xprintbuf_new(void);
void xprintbuf_put(struct printbuf *pb, const char *s, size_t n);
void xprintbuf_puts(struct printbuf *pb, const char *s);
/* The text built so far, handed to the caller (malloc'd, NUL-terminated); pb is freed. */
char *xprintbuf_take(struct printbuf *pb);

#endif
