/* request.c — one HTTP request as the handlers see it, read from FastCGI. */
#include "fcgi/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/xalloc.h"
#include "store/db.h"
#include "store/reader.h"

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s in place (and '+' as space when plus). -1 on a bad escape or a NUL byte. */
static int decode(char *s, bool plus)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '%') {
			int a = hex(r[1]), b = a < 0 ? -1 : hex(r[2]);
			if (b < 0 || (a == 0 && b == 0))
				return -1;
			*w++ = (char)(a * 16 + b);
			r += 2;
		} else {
			*w++ = (plus && *r == '+') ? ' ' : *r;
		}
	}
	*w = 0;
	return 0;
}

static int read_path(struct req *rq, char *path, struct reply *rp)
{
	char *save = NULL;
	for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (rq->nseg == REQ_MAX_SEGS || decode(s, false))
			return reply_error(rp, 404, "No such resource");
		rq->seg[rq->nseg++] = s;
	}
	return 0;
}

/* -1 when the query cannot be read: too many parameters, a bad escape. */
static int read_query(struct req *rq, char *query)
{
	char *save = NULL;
	for (char *s = strtok_r(query, "&", &save); s; s = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(s, '=');
		if (eq)
			*eq++ = 0;
		if (rq->nquery == REQ_MAX_QUERY || decode(s, true) || (eq && decode(eq, true)))
			return -1;
		rq->query[rq->nquery].key = s;
		rq->query[rq->nquery].value = eq ? eq : "";
		rq->nquery++;
	}
	return 0;
}

/* Without base_path (RunOrg served under a URL prefix such as /runorg), the same URI. */
static const char *strip_base(const char *uri)
{
	size_t n = strlen(cf.base_path); /* without a trailing slash (config_load) */
	if (n > 0 && !strncmp(uri, cf.base_path, n) && (uri[n] == '/' || uri[n] == '?' || !uri[n]))
		return uri + n;
	return uri;
}

/* The path and query come from REQUEST_URI (raw, so that we decode each
 * segment ourselves); servers that do not send it give SCRIPT_NAME + PATH_INFO. */
static char *raw_uri(FCGX_Request *fr)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
	if (uri && *uri)
		return xstrdup(strip_base(uri));
	const char *sn = FCGX_GetParam("SCRIPT_NAME", fr->envp), *pi = FCGX_GetParam("PATH_INFO", fr->envp),
	           *qs = FCGX_GetParam("QUERY_STRING", fr->envp);
	size_t n = (sn ? strlen(sn) : 0) + (pi ? strlen(pi) : 0) + (qs ? strlen(qs) : 0) + 2;
	char *s = xmalloc(n);
	snprintf(s, n, "%s%s%s%s", sn ? sn : "", pi ? pi : "", qs && *qs ? "?" : "", qs ? qs : "");
	return s;
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A tchar of RFC 7230 §3.2.6: what a token (a parameter name or bare value) is made of. */
static bool tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The token of an Authorization header, as RFC 7235 §2.1 writes credentials:
 * the scheme RUNORG, one or more spaces, then comma-separated auth-params
 * name=value (spaces allowed around '=' and ','; names and the scheme in any
 * case; a value a token or a quoted-string). The value of the one param
 * "token" into buf; false when the header is not of that form, names no
 * token or names it twice, or the value does not fit (no token is that long). */
static bool header_token(const char *h, char *buf, size_t size)
{
	static const char scheme[] = "RUNORG";
	bool found = false;
	while (ows(*h))
		h++;
	if (strncasecmp(h, scheme, sizeof scheme - 1) || !ows(h[sizeof scheme - 1]))
		return false;
	h += sizeof scheme - 1;
	for (;;) {
		while (ows(*h) || *h == ',') /* a list may hold empty elements (RFC 7230 §7) */
			h++;
		if (!*h)
			return found;
		const char *name = h;
		while (tchar(*h))
			h++;
		size_t nlen = (size_t)(h - name);
		while (ows(*h))
			h++;
		if (!nlen || *h++ != '=')
			return false;
		while (ows(*h))
			h++;
		bool mine = nlen == 5 && !strncasecmp(name, "token", 5);
		if (mine && found)
			return false;
		size_t o = 0;
		if (*h == '"') {
			for (h++; *h != '"'; h++) {
				if (*h == '\\' && h[1])
					h++;
				if (!*h)
					return false; /* unterminated */
				if (mine && o + 1 < size)
					buf[o] = *h;
				o++;
			}
			h++;
		} else {
			for (; tchar(*h); h++) {
				if (mine && o + 1 < size)
					buf[o] = *h;
				o++;
			}
			if (!o)
				return false;
		}
		if (mine) {
			if (o + 1 > size)
				return false;
			buf[o] = 0;
			found = true;
		}
		while (ows(*h))
			h++;
		if (*h && *h != ',')
			return false;
	}
}

static void read_token(struct req *rq, FCGX_Request *fr)
{
	const char *h = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
	if (h && header_token(h, rq->token_buf, sizeof rq->token_buf))
		rq->token = rq->token_buf;
}

static int read_length(struct req *rq, FCGX_Request *fr, struct reply *rp)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	char *end;
	long long n = cl && *cl ? strtoll(cl, &end, 10) : 0;
	if (cl && *cl && (*end || n < 0))
		return reply_error(rp, 400, "Invalid Content-Length");
	rq->content_length = n;
	return 0;
}

/* Too large is a fault of the body: found where the body would be read, after
 * the route, the database, the token, as= and at= (SPEC §8), and never for a
 * route that takes no body. */
int request_read_body(struct req *rq, FCGX_Request *fr, struct reply *rp)
{
	long long n = rq->content_length;
	if (n > cf.max_body)
		return reply_error(rp, 413, "Request body is %lld bytes, only %ld allowed", n, cf.max_body);
	rq->body = xmalloc((size_t)n + 1);
	long got = n ? FCGX_GetStr(rq->body, (int)n, fr->in) : 0;
	if (got != n)
		return reply_error(rp, 400, "Incomplete request body");
	rq->body[n] = 0;
	rq->body_len = (size_t)n;
	return 0;
}

int request_read(struct req *rq, FCGX_Request *fr, struct reply *rp)
{
	rq->method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	if (!rq->method)
		rq->method = "GET";
	if (!strcmp(rq->method, "HEAD")) {
		rq->head = true;
		rq->method = "GET"; /* the same route, status and headers; reply_send leaves the body out */
	}
	read_token(rq, fr);
	rq->idem_header = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	rq->uri = raw_uri(fr);
	int r = request_parse_uri(rq, rq->uri, rp);
	if (!r)
		r = read_length(rq, fr, rp);
	return r;
}

int request_parse_uri(struct req *rq, char *uri, struct reply *rp)
{
	char *q = strchr(uri, '?');
	if (q)
		*q++ = 0;
	int r = read_path(rq, uri, rp);
	/* A query that cannot be read is a bad parameter, answered after the
	 * route, the database and the token (request_check_query); until then
	 * the request has no parameters. */
	if (!r && q && read_query(rq, q)) {
		rq->nquery = 0;
		rq->bad_query = true;
	}
	return r;
}

int request_check_query(const struct req *rq, struct reply *rp)
{
	return rq->bad_query ? reply_invalid(rp, "query", NULL, "Invalid query string") : 0;
}

/* The value of the 4 hex digits at s, -1 if they are not 4 hex digits. */
static long hex4(const char *s, size_t n)
{
	long v = 0;
	for (size_t i = 0; i < 4; i++) {
		int d = i < n ? hex(s[i]) : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* True when a \u escape of the (valid JSON) text names half of a surrogate pair
 * without the other half. json-c would turn it into U+FFFD, so a label or a
 * message would not be stored as sent; such text is not Unicode (RFC 7493
 * forbids it): the whole body is refused here, the one place that checks. */
static bool lone_surrogate(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] != 'u') {
			i++; /* a two-character escape such as \\ or \" */
			continue;
		}
		long v = hex4(s + i + 2, n - i - 2);
		i += 5;
		if (v >= 0xDC00 && v <= 0xDFFF)
			return true;
		if (v >= 0xD800 && v <= 0xDBFF) {
			long w = i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'u' ? hex4(s + i + 3, n - i - 3)
			                                                          : -1;
			if (w < 0xDC00 || w > 0xDFFF)
				return true;
			i += 6;
		}
	}
	return false;
}

int request_parse_json(struct req *rq, struct reply *rp)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		abort(); /* out of memory: see core/xalloc.h */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	rq->json = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_success)
		while (used < rq->body_len && strchr(" \t\r\n", rq->body[used]))
			used++;
	if (e != json_tokener_success || !rq->json || used != rq->body_len) {
		if (rq->json)
			json_object_put(rq->json);
		rq->json = NULL;
		return reply_invalid(rp, "body",
		                     e == json_tokener_success ? "trailing characters"
		                                               : json_tokener_error_desc(e),
		                     "Invalid JSON body");
	}
	if (lone_surrogate(rq->body, rq->body_len)) {
		json_object_put(rq->json);
		rq->json = NULL;
		return reply_invalid(rp, "body", "a \\u escape names half of a surrogate pair",
		                     "Invalid JSON body");
	}
	return 0;
}

void request_free(struct req *rq)
{
	free(rq->wait_for);
	free(rq->uri);
	free(rq->body);
	queue_req_free(&rq->push);
	idem_forget(&rq->key);
	if (rq->json)
		json_object_put(rq->json);
}

MYSQL *req_m(struct req *rq)
{
	if (rq->m)
		return rq->m;
	if (db_read_separate() && !strcmp(rq->method, "GET")) {
		rq->m = reader_acquire();
		rq->m_replica = rq->m != NULL;
		if (rq->m)
			return rq->m;
		/* The replica does not answer: the primary has all it had, and more. */
	}
	rq->m = db_acquire();
	return rq->m;
}

MYSQL *req_primary(struct req *rq)
{
	if (!db_read_separate() || strcmp(rq->method, "GET"))
		return req_m(rq); /* the primary's */
	if (rq->m && !rq->m_replica)
		return rq->m; /* the primary, standing in for the replica */
	if (!rq->pm)
		rq->pm = db_acquire();
	return rq->pm;
}

bool req_m_polled(const struct req *rq)
{
	return rq->m && (rq->m_replica || !db_read_separate());
}

static bool broken(MYSQL *m)
{
	return mysql_errno(m) && db_gone(m);
}

void req_release(struct req *rq)
{
	if (rq->m && rq->m_replica)
		reader_release(rq->m, broken(rq->m));
	else if (rq->m)
		db_release(rq->m, broken(rq->m));
	if (rq->pm)
		db_release(rq->pm, broken(rq->pm));
	rq->m = rq->pm = NULL;
	rq->m_replica = false;
}

const char *req_query(const struct req *rq, const char *key)
{
	for (int i = 0; i < rq->nquery; i++)
		if (!strcmp(rq->query[i].key, key))
			return rq->query[i].value;
	return NULL;
}

int req_count(const struct req *rq, const char *key, long dflt, long max, long *out, struct reply *rp)
{
	const char *v = req_query(rq, key);
	*out = dflt;
	if (!v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < 0 || v[0] == '+' || v[0] == ' ')
		return reply_invalid(rp, key, "expected a non-negative integer", "Invalid %s parameter", key);
	*out = n > max ? max : n;
	return 0;
}

int req_page(const struct req *rq, long dflt, long max, long *limit, long *offset, struct reply *rp)
{
	int st = req_count(rq, "limit", dflt, max, limit, rp);
	return st ? st : req_count(rq, "offset", 0, 1L << 40, offset, rp);
}

const char *req_param(const struct req *rq, const char *name)
{
	for (int i = 0; i < rq->nparam; i++)
		if (!strcmp(rq->param[i].name, name))
			return rq->param[i].value;
	return NULL;
}
