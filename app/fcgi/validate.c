/* validate.c — the one place request bodies and parameters are checked: fields, labels, ids, booleans, id lists, text, audiences. */
#include "fcgi/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/isotime.h"
#include "core/id.h"
#include "core/label.h"
#include "core/xalloc.h"
#include "resources/audience.h"
#include "resources/contacts.h"

int validate_fields(json_object *obj, const char *const *fields, const char *at, struct reply *rp)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool known = false;
		for (int i = 0; fields[i] && !known; i++)
			known = !strcmp(fields[i], key);
		if (!known) {
			char where[96];
			snprintf(where, sizeof where, "%s.%.60s", at, key);
			return reply_invalid(rp, where, "unknown field", "Unknown field '%.60s'", key);
		}
	}
	return 0;
}

int validate_body_object(struct req *rq, struct reply *rp, const char *const *fields)
{
	if (!rq->json) {
		rq->json = json_object_new_object();
		return 0;
	}
	if (!json_object_is_type(rq->json, json_type_object))
		return reply_invalid(rp, "body", "expected a JSON object", "Invalid body");
	return validate_fields(rq->json, fields, "body", rp);
}

/* The field as a JSON string (NULL when absent and not required), with its
 * JSON length: a \u0000 inside is still in it. */
static int string_field(json_object *obj, const char *key, const char *at, bool required, json_object **out,
                        struct reply *rp)
{
	json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v) {
		if (required)
			return reply_invalid(rp, at, "required", "Field '%s' is required", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return reply_invalid(rp, at, "expected a string", "Field '%s' must be a string", key);
	*out = v;
	return 0;
}

int validate_label(json_object *obj, const char *key, const char *at, bool required, char **out,
                   struct reply *rp)
{
	json_object *v;
	*out = NULL;
	int st = string_field(obj, key, at, required, &v, rp);
	if (st || !v)
		return st;
	/* The JSON length: label_clean names a \u0000 inside as the control character it is. */
	char err[128];
	if (label_clean(json_object_get_string(v), (size_t)json_object_get_string_len(v), out, err,
	                sizeof err))
		return reply_invalid(rp, at, NULL, "%s", err);
	return 0;
}

int validate_bool(json_object *obj, const char *key, bool *out, struct reply *rp)
{
	json_object *v = NULL;
	*out = false;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		char at[96];
		snprintf(at, sizeof at, "body.%s", key);
		return reply_invalid(rp, at, "expected true or false", "Field '%s' must be a boolean", key);
	}
	*out = json_object_get_boolean(v);
	return 0;
}

const char *validate_plain(json_object *v)
{
	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

int validate_string(json_object *obj, const char *key, const char *at, bool required, const char **out,
                    struct reply *rp)
{
	json_object *v;
	*out = NULL;
	int st = string_field(obj, key, at, required, &v, rp);
	if (st || !v)
		return st;
	/* Read as C strings from here on: a \u0000 would cut "<hex>\u0000junk"
	 * to a valid key, or an id, a time, a proof to their first part. */
	if (!(*out = validate_plain(v)))
		return reply_invalid(rp, at, "U+0000 cannot be stored", "Field '%s' contains a NUL character",
		                     key);
	return 0;
}

int validate_time(json_object *obj, const char *key, const char *at, long long *t, const char **text,
                  struct reply *rp)
{
	int st = validate_string(obj, key, at, true, text, rp);
	if (!st && isotime_parse(*text, t))
		st = reply_invalid(rp, at, "expected a time like \"2013-10-08T21:42:00Z\"",
		                   "Invalid time in '%s'", key);
	return st;
}

int validate_hex(json_object *obj, const char *key, const char *at, size_t min, size_t max,
                 unsigned char *out, size_t *n, struct reply *rp)
{
	const char *s;
	int st = validate_string(obj, key, at, true, &s, rp);
	if (st)
		return st;
	size_t len = strlen(s);
	long k = len >= 2 * min && len <= 2 * max ? hex_decode(s, len, out, max) : -1;
	if (k < 0)
		return reply_invalid(rp, at, "expected hex digits",
		                     "Field '%s' must be %zu to %zu bytes in hex", key, min, max);
	*n = (size_t)k;
	return 0;
}

struct ranked {
	const char *id;
	size_t index;
};

static int by_id_then_index(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int validate_id_array(json_object *obj, const char *key, const char *at, bool (*valid)(const char *),
                      size_t max, json_object **out, struct reply *rp)
{
	json_object *v = obj;
	*out = NULL;
	if (key && (!json_object_object_get_ex(obj, key, &v) || !v)) {
		*out = json_object_new_array();
		return 0;
	}
	if (!v || !json_object_is_type(v, json_type_array))
		return reply_invalid(rp, at, "expected an array of identifiers", "%s must be an array of identifiers",
		                     key ? "Field" : "Body");
	size_t n = json_object_array_length(v);
	if (n > max)
		return reply_error(rp, 413, "%zu identifiers in %s, only %zu allowed", n, at, max);
	struct ranked *r = xmalloc((n ? n : 1) * sizeof *r);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		const char *id = validate_plain(s);
		if (!id || !valid(id)) {
			free(r);
			char where[96];
			snprintf(where, sizeof where, "%s[%zu]", at, i);
			return reply_invalid(rp, where, "expected an identifier", "Invalid identifier in %s", at);
		}
		r[i] = (struct ranked){id, i};
	}
	/* Repeats out in O(n log n): sorted by id, each id's first occurrence
	 * kept, then back in the order given. */
	qsort(r, n, sizeof *r, by_id_then_index);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(r[i].id, r[i - 1].id))
			r[k++] = r[i];
	qsort(r, k, sizeof *r, by_index);
	*out = json_object_new_array_ext((int)k);
	for (size_t i = 0; i < k; i++)
		json_object_array_add(*out, json_object_new_string(r[i].id));
	free(r);
	return 0;
}

int validate_text(json_object *obj, const char *key, const char *at, size_t max, const char **out,
                  struct reply *rp)
{
	json_object *v;
	int st = string_field(obj, key, at, true, &v, rp);
	if (st)
		return st;
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n > max)
		return reply_invalid(rp, at, NULL, "Message is %zu bytes long, only %zu allowed.", n, max);
	if (memchr(s, 0, n))
		return reply_invalid(rp, at, "U+0000 cannot be stored", "Message contains a NUL character");
	if (utf8_length(s, n) < 0)
		return reply_invalid(rp, at, "surrogates, overlong forms and code points past U+10FFFF are not text",
		                     "Message is not valid UTF-8");
	*out = s;
	return 0;
}

/* One level's audience into *out: "anyone", or {"groups","contacts"} with both lists. */
static int audience_of(json_object *who, const char *at, json_object **out, struct reply *rp)
{
	static const char *const fields[] = {"groups", "contacts", NULL};
	*out = NULL;
	const char *text = validate_plain(who);
	if (text && !strcmp(text, "anyone")) {
		*out = json_object_new_string("anyone");
		return 0;
	}
	if (who && !json_object_is_type(who, json_type_object)) /* null is nobody, as {} */
		return reply_invalid(rp, at, "expected \"anyone\" or {\"groups\", \"contacts\"}",
		                     "Invalid audience");
	int st = who ? validate_fields(who, fields, at, rp) : 0;
	char where[128];
	json_object *groups = NULL, *contacts = NULL;
	snprintf(where, sizeof where, "%s.groups", at);
	if (!st)
		st = validate_id_array(who, "groups", where, id_group_valid, AUDIENCE_IDS_MAX, &groups, rp);
	snprintf(where, sizeof where, "%s.contacts", at);
	if (!st)
		st = validate_id_array(who, "contacts", where, id_valid, AUDIENCE_IDS_MAX, &contacts, rp);
	if (st) {
		json_object_put(groups);
		json_object_put(contacts);
		return st;
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "groups", groups);
	json_object_object_add(*out, "contacts", contacts);
	return 0;
}

int validate_audience(json_object *obj, const char *key, const char *at, char kind, json_object **out,
                      struct reply *rp)
{
	json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return reply_invalid(rp, at, "expected an object: an audience per access level",
		                     "Invalid audience");
	json_object *all = json_object_new_object();
	json_object_object_foreach(v, name, who)
	{
		char where[96];
		snprintf(where, sizeof where, "%s.%.40s", at, name);
		json_object *one;
		int st = audience_rank(kind, name) ? audience_of(who, where, &one, rp)
		                                   : reply_invalid(rp, where, "unknown access level",
		                                                   "Unknown access level '%.40s'", name);
		if (st) {
			json_object_put(all);
			return st;
		}
		json_object_object_add(all, name, one);
	}
	*out = all;
	return 0;
}

int validate_contacts_exist(struct req *rq, struct reply *rp, json_object *ids)
{
	const char *missing = NULL;
	int r = contacts_missing(rq->m, rq->db, ids, &missing);
	if (r < 0)
		return reply_internal(rp, "contact lookup");
	return r ? reply_error(rp, 404, "Contact '%s' does not exist", missing) : 0;
}
