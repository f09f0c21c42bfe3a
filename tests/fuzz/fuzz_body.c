/* fuzz_body.c — the JSON body of every command, decoded and validated by the real
 * handlers: POST /db/create, /db/{db}/test/auth, contacts/import, groups,
 * groups/{id}/add and /remove, chat/create, chat/{id}; PUT groups/{id}/info,
 * chat/{id}. The handler runs on a
 * MySQL handle that never connected, so whatever passes validation fails at its
 * first statement with "server gone" (a 500): validation, labels, e-mails,
 * identifiers and the error paths after a database failure are what run, and a
 * leak on any of those paths is found too. Input: a route byte, then the body. */
#include <mysql.h>
#include <string.h>

#include "core/config.h"
#include "fcgi/retry.h"
#include "fcgi/router.h"
#include "fuzz.h"

static const struct {
	const char *method, *uri;
} uris[] = {
    {"POST", "/db/create"},
    {"POST", "/db/0000000000A/test/auth"},
    {"POST", "/db/0000000000A/contacts/import"},
    {"POST", "/db/0000000000A/groups"},
    {"POST", "/db/0000000000A/groups/team/add"},
    {"POST", "/db/0000000000A/groups/team/remove"},
    {"POST", "/db/0000000000A/chat/create"},
    {"POST", "/db/0000000000A/chat/0000000000C"},
    {"PUT", "/db/0000000000A/groups/team/info"},
    {"PUT", "/db/0000000000A/chat/0000000000C"},
};

int fuzz_body(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	cf.test_mode = 1;
	cf.streams = 4;
	struct req rq = {0};
	struct reply rp = {0};
	size_t pick = data[0] % (sizeof uris / sizeof uris[0]);
	rq.method = uris[pick].method;
	rq.uri = strdup(uris[pick].uri);
	FUZZ_CHECK(request_parse_uri(&rq, rq.uri, &rp) == 0 && router_find(&rq, &rp) == 0);
	rq.content_length = (long long)size - 1;
	rq.body = malloc(size);
	memcpy(rq.body, data + 1, size - 1);
	rq.body[size - 1] = 0;
	rq.body_len = size - 1;
	/* As if authenticate() had passed: an administrator acting as a contact. */
	snprintf(rq.db, sizeof rq.db, "0000000000A");
	snprintf(rq.contact, sizeof rq.contact, "0000000000B");
	snprintf(rq.as, sizeof rq.as, "0000000000B");
	rq.stream = 2;
	rq.admin = true;
	rq.admin_known = true; /* else auth_is_admin asks MySQL, fails, and every group body is a 403 */
	int st = rq.body_len ? request_parse_json(&rq, &rp) : 0;
	FUZZ_CHECK(st == 0 || (st == 400 && rp.status == 400 && rp.error[0]));
	if (st == 0) {
		rq.m = mysql_init(NULL);
		retry_ready(&rq); /* as the router does before every handler */
		st = rq.route->handler(&rq, &rp);
		/* Nothing can be queued without a database: a refusal, the failure, or a
		 * 202 for a write that changes nothing ("at": [], an empty import), which
		 * names the command it did not queue (<stream>.0). */
		FUZZ_CHECK(st == rp.status);
		json_object *at = NULL;
		if (st == 202) {
			json_object *answer = rp.body ? json_object_get(rp.body) : json_tokener_parse(rp.text);
			FUZZ_CHECK(answer && json_object_object_get_ex(answer, "at", &at) &&
			           json_object_array_length(at) == 0);
			FUZZ_CHECK(rp.location && strlen(rp.location) > 2 &&
			           !strcmp(rp.location + strlen(rp.location) - 2, ".0"));
			json_object_put(answer);
		} else
			FUZZ_CHECK(st == 400 || st == 403 || st == 404 || st == 409 || st == 500);
		FUZZ_CHECK(st == 202 || rp.error[0]);
		if (st == 400)
			FUZZ_CHECK(strncmp(rp.error, "Internal", 8));
		mysql_close(rq.m);
		rq.m = NULL;
	}
	reply_free(&rp);
	request_free(&rq);
	return 0;
}

FUZZ_ENTRY(fuzz_body)
