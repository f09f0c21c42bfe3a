/* validate.h — the one place request bodies and parameters are checked: fields, labels, ids, booleans, id lists, text, audiences.
 *
 * Each function returns 0, or 400 (or the status named) with the reply
 * filled: the message, and "at" naming the faulty part of the input the way
 * SPEC §1 shows it ("body[0].email", "body.contacts[3]"). */
#ifndef RUNORG_VALIDATE_H
#define RUNORG_VALIDATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* 400 unless every key of obj is in `fields` (NULL-terminated); `at` names
 * obj in errors ("body", "body[2]"). */
int validate_fields(json_object *obj, const char *const *fields, const char *at, struct reply *rp);

/* The request body as an object whose keys are all in `fields`: a missing
 * body counts as {} (rq->json is then made an empty object). */
int validate_body_object(struct req *rq, struct reply *rp, const char *const *fields);

/* Field `key` of obj as a clean label into *out (malloc'd; NULL when absent or
 * null and !required). `at` names the field in errors. */
int validate_label(json_object *obj, const char *key, const char *at, bool required, char **out,
                   struct reply *rp);

/* Field `key` of obj: absent or null → false, else it must be true or false. */
int validate_bool(json_object *obj, const char *key, bool *out, struct reply *rp);

/* Field `key` of obj (or obj itself when key is NULL): absent or null → [];
 * else an array of at most `max` strings, each accepted by `valid`, repeats
 * kept once (first occurrence, in O(n log n)). *out is a new array (the
 * caller owns it, also on error: NULL then). `at` names the array in errors;
 * more than max ids is a 413. */
int validate_id_array(json_object *obj, const char *key, const char *at, bool (*valid)(const char *),
                      size_t max, json_object **out, struct reply *rp);

/* Field `key` of obj as message text: a string (empty allowed) of at most
 * max bytes of UTF-8 without NUL. Lone surrogates never get here: the whole
 * body was refused by request_parse_json. */
int validate_text(json_object *obj, const char *key, const char *at, size_t max, const char **out,
                  struct reply *rp);

/* Field `key` of obj as a string into *out (owned by obj; NULL when absent
 * or null and !required). */
/* v's text when it is a JSON string with no \u0000 inside, else NULL: what
 * may be read as a C string (an id "<cid>\u0000x" is no id). */
const char *validate_plain(json_object *v);

int validate_string(json_object *obj, const char *key, const char *at, bool required, const char **out,
                    struct reply *rp);

/* Required field `key` of obj as a time of the API's format (SPEC §1) into
 * *t, its text into *text (owned by obj). */
int validate_time(json_object *obj, const char *key, const char *at, long long *t, const char **text,
                  struct reply *rp);

/* Required field `key` of obj as hex digits (either case) of min..max bytes,
 * decoded into out (room for max) with their number in *n. The value is
 * never repeated in the error: it may be a secret. */
int validate_hex(json_object *obj, const char *key, const char *at, size_t min, size_t max,
                 unsigned char *out, size_t *n, struct reply *rp);

/* Field `key` of obj as an audience per access level of resources of `kind`
 * (AUDIENCE_GROUP, AUDIENCE_CHAT; SPEC §5): absent or null → *out NULL; else a
 * new object (the caller owns it) of the levels named, each "anyone" or
 * {"groups":[gid], "contacts":[cid]} (lists without repeats, at most
 * AUDIENCE_IDS_MAX each; null or {} is nobody). Errors name the level
 * ("body.audience.write": an unknown level, a value that is no audience) or
 * the faulty id ("body.audience.write.groups[2]"). */
int validate_audience(json_object *obj, const char *key, const char *at, char kind, json_object **out,
                      struct reply *rp);

/* 0 when every contact of ids (an array of id strings) exists in the
 * request's database; else 404 naming the first missing one (in array order).
 * One query, after the wait: a contact imported with the at= is found. */
int validate_contacts_exist(struct req *rq, struct reply *rp, json_object *ids);

#endif
