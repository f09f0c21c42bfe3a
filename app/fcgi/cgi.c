/* cgi.c — one request as a plain CGI program: the environment and stdin in, stdout out.
 *
 * The router reads a request as libfcgi's FCGX_Request: an environment and two
 * FCGX_Streams. FCGX_Stream is a public struct (fcgiapp.h) whose buffer is
 * refilled and emptied through two callbacks, so a CGI request becomes the
 * same request with streams over file descriptors 0 and 1, and takes the very
 * path a FastCGI request takes, at= waits and 503 included. */
#include "fcgi/cgi.h"

#include <errno.h>
#include <fcgiapp.h>
#include <unistd.h>

#include "fcgi/router.h"

extern char **environ;

struct fd_stream {
	FCGX_Stream s; /* first, so that s.data and the struct are one pointer */
	int fd;
	unsigned char buf[16384];
};

/* Reader: the next bytes of stdin; end of file or an error closes the stream. */
static void fill(FCGX_Stream *s)
{
	struct fd_stream *f = s->data;
	ssize_t n;
	do
		n = read(f->fd, f->buf, sizeof f->buf);
	while (n < 0 && errno == EINTR);
	s->rdNext = f->buf;
	s->stop = f->buf + (n > 0 ? n : 0);
	if (n <= 0) {
		s->isClosed = 1;
		s->FCGI_errno = n < 0 ? errno : 0;
	}
}

/* Writer: sends what the buffer holds to stdout. */
static int drain(struct fd_stream *f)
{
	FCGX_Stream *s = &f->s;
	for (unsigned char *p = f->buf; p < s->wrNext;) {
		ssize_t n = write(f->fd, p, (size_t)(s->wrNext - p));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->isClosed = 1;
			s->FCGI_errno = errno;
			break;
		}
		p += n;
	}
	s->wrNext = f->buf;
	return s->isClosed ? -1 : 0;
}

static void empty(FCGX_Stream *s, int closing)
{
	(void)closing;
	drain(s->data);
}

int cgi_serve(void)
{
	static struct fd_stream in, out;
	in.fd = 0;
	in.s = (FCGX_Stream){.rdNext = in.buf,
	                     .stop = in.buf,
	                     .stopUnget = in.buf,
	                     .isReader = 1,
	                     .fillBuffProc = fill,
	                     .data = &in};
	out.fd = 1;
	out.s = (FCGX_Stream){
	    .wrNext = out.buf, .stop = out.buf + sizeof out.buf, .emptyBuffProc = empty, .data = &out};
	/* No resume: a CGI process serves this one request, so a wait sleeps here. */
	static struct exchange x;
	x.fr = (FCGX_Request){.envp = environ, .in = &in.s, .out = &out.s};
	router_run(&x);
	return drain(&out) ? 1 : 0;
}
