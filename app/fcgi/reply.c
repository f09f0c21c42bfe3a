/* reply.c — what a handler answers: a JSON body or an error; written to the client in one place. */
#include "fcgi/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/label.h"
#include "core/log.h"
#include "core/xalloc.h"

int reply_json(struct reply *rp, int status, json_object *body)
{
	rp->status = status;
	if (rp->body)
		json_object_put(rp->body);
	rp->body = body;
	return status;
}

int reply_error(struct reply *rp, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->error, sizeof rp->error, fmt, ap);
	va_end(ap);
	rp->status = status;
	return status;
}

int reply_invalid(struct reply *rp, const char *at, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->error, sizeof rp->error, fmt, ap);
	va_end(ap);
	snprintf(rp->at, sizeof rp->at, "%s", at ? at : "");
	snprintf(rp->reason, sizeof rp->reason, "%s", reason ? reason : "");
	rp->status = 400;
	return 400;
}

int reply_internal(struct reply *rp, const char *what)
{
	log_error("internal error: %s", what);
	return reply_error(rp, 500, "Internal error");
}

int reply_not_yet(struct reply *rp, const struct clock *want, const struct clock *current)
{
	rp->timeout = true;
	if (!rp->expected)
		rp->expected = xmalloc(sizeof *rp->expected);
	if (!rp->current)
		rp->current = xmalloc(sizeof *rp->current);
	*rp->expected = *want;
	*rp->current = *current;
	return reply_error(rp, 503, "Data is not yet available for the 'at' you specified. Try again later.");
}

int reply_db(struct reply *rp, enum db_state why)
{
	switch (why) {
	case DB_DOWN:
		return reply_error(rp, 503, "The database is unavailable. Try again later.");
	case DB_READ_ONLY:
		return reply_error(rp, 503, "The database is read-only: writes are refused for now. Try again later.");
	case DB_DISK_FULL:
		/* Not over in a second: an operator has to make room. */
		rp->retry_after = 10;
		return reply_error(rp, 503, "The database cannot write (disk full). Try again later.");
	case DB_TIMEOUT:
		return reply_error(rp, 503, "The database did not answer in time. Try again later.");
	case DB_UP:
		break;
	}
	return reply_error(rp, 500, "Internal error");
}

int reply_list(struct reply *rp, const char *key, json_object *list, long long count)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, key, list);
	json_object_object_add(o, "count", json_object_new_int64(count));
	return reply_json(rp, 200, o);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Content";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* A JSON string of s, whose invalid UTF-8 (bytes of a request path echoed in
 * a message, or a message cut by a %.64s inside a character) becomes U+FFFD:
 * a reply is valid UTF-8 whatever the request was. */
static json_object *text_json(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *buf = xmalloc(3 * n + 1);
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (k <= 4 && (i + k > n || utf8_length(s + i, k) != 1))
			k++;
		if (k <= 4) {
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(buf + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	json_object *j = json_object_new_string_len(buf, (int)o);
	free(buf);
	return j;
}

static json_object *error_body(const struct reply *rp, const char *path)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", text_json(rp->error));
	if (rp->timeout) {
		json_object_object_add(o, "current", clock_to_json(rp->current));
		json_object_object_add(o, "expected", clock_to_json(rp->expected));
		return o;
	}
	json_object_object_add(o, "path", text_json(path ? path : ""));
	if (rp->at[0])
		json_object_object_add(o, "at", text_json(rp->at));
	if (rp->reason[0])
		json_object_object_add(o, "reason", text_json(rp->reason));
	return o;
}

void reply_send(FCGX_Stream *out, const struct reply *rp, const char *path)
{
	int status = rp->status ? rp->status : 500;
	json_object *err = status >= 400 ? error_body(rp, path) : NULL;
	const char *text = err ? json_text(err) : rp->text ? rp->text : json_text(rp->body);
	size_t len = strlen(text);
	char head[448], kept[48] = "", retry[32] = "", warning[112] = "";
	if (rp->kept > 0)
		snprintf(kept, sizeof kept, "X-RunOrg-Kept: %lld\r\n", rp->kept);
	if (status == 503 || rp->retry_after > 0)
		snprintf(retry, sizeof retry, "Retry-After: %d\r\n", rp->retry_after > 0 ? rp->retry_after : 1);
	/* RFC 7234's warn-code 110: the answer comes from a replica that lags. */
	if (rp->stale_ms > 0)
		snprintf(warning, sizeof warning,
		         "Warning: 110 runorg \"Response is Stale: read from a replica %ld ms behind\"\r\n",
		         rp->stale_ms);
	int n = snprintf(head, sizeof head, "Status: %d %s\r\nContent-Type: application/json\r\n%s%s%s%s%s%s",
	                 status, status_text(status), status == 405 ? "Allow: " : "",
	                 status == 405 ? rp->allow : "", status == 405 ? "\r\n" : "", retry, kept, warning);
	FCGX_PutStr(head, n, out);
	/* A Location names a command (retry.c): made of a path and a ref, never
	 * of request bytes but the database id, which routing has checked. */
	if (rp->location && !strpbrk(rp->location, "\r\n")) {
		FCGX_PutS("Location: ", out);
		FCGX_PutS(rp->location, out);
		FCGX_PutS("\r\n", out);
	}
	n = snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", len);
	FCGX_PutStr(head, n, out);
	if (!rp->head)
		FCGX_PutStr(text, (int)len, out);
	if (err)
		json_object_put(err);
}

void reply_free(struct reply *rp)
{
	if (rp->body)
		json_object_put(rp->body);
	rp->body = NULL;
	free(rp->text);
	rp->text = NULL;
	free(rp->current);
	free(rp->expected);
	rp->current = rp->expected = NULL;
	free(rp->location);
	rp->location = NULL;
}
