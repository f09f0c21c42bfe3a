/* fuzz_uri.c — what the router makes of a request line: percent-decoding of the
 * path and query (request.c), route matching with literal segments before
 * placeholders and 405 with Allow (router.c), placeholders, the at= clock and
 * the limit/offset counts. Input: a method byte, then the URI. */
#include <string.h>

#include "fcgi/router.h"
#include "fuzz.h"

int fuzz_uri(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS"};
	if (size < 1)
		return 0;
	char *uri = malloc(size);
	memcpy(uri, data + 1, size - 1);
	uri[size - 1] = 0; /* a NUL byte in the data ends the URI, as it ends a CGI variable */
	struct req rq = {0};
	struct reply rp = {0};
	rq.method = methods[data[0] % (sizeof methods / sizeof methods[0])];
	rq.uri = uri;
	int st = request_parse_uri(&rq, uri, &rp);
	FUZZ_CHECK(st == 0 || st == 404);
	FUZZ_CHECK(!rq.bad_query || rq.nquery == 0);
	FUZZ_CHECK(st == rp.status);
	FUZZ_CHECK(rq.nseg >= 0 && rq.nseg <= REQ_MAX_SEGS && rq.nquery >= 0 && rq.nquery <= REQ_MAX_QUERY);
	if (st == 0) {
		for (int i = 0; i < rq.nseg; i++)
			FUZZ_CHECK(rq.seg[i][0] != 0); /* empty segments are dropped */
		st = router_find(&rq, &rp);
		FUZZ_CHECK(st == 0 || st == 404 || st == 405);
		if (st == 0) {
			FUZZ_CHECK(rq.route && rq.pattern && !strcmp(rq.route->method, rq.method));
			/* Each placeholder of the pattern names a segment; literal segments are equal. */
			static const char *const names[] = {"db", "cid", "id", "item"};
			for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
				char ph[16];
				snprintf(ph, sizeof ph, "{%s}", names[i]);
				const char *v = req_param(&rq, names[i]);
				FUZZ_CHECK(!strstr(rq.pattern, ph) == !v);
			}
		}
		if (st == 405)
			FUZZ_CHECK(rp.allow[0] && rq.pattern && !rq.route);
		const char *at = req_query(&rq, "at");
		struct clock c;
		if (at)
			(void)clock_parse(at, strlen(at), &c);
		long n;
		struct reply rp2 = {0};
		int r = req_count(&rq, "limit", 10, 1000, &n, &rp2);
		FUZZ_CHECK(r == 400 || (r == 0 && n >= 0 && n <= 1000));
	}
	reply_free(&rp);
	free(uri);
	return 0;
}

FUZZ_ENTRY(fuzz_uri)
