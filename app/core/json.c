/* json.c — json-c the way the API uses it: compact text, strings or null, clocks of one stream. */
#include "core/json.h"

const char *json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

json_object *json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

const char *json_get_string(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *json_at(uint32_t stream, uint64_t pos)
{
	if (pos == 0)
		return json_object_new_array(); /* nothing to wait for */
	json_object *pair = json_object_new_array_ext(2), *a = json_object_new_array_ext(1);
	json_object_array_add(pair, json_object_new_int64((int64_t)stream));
	json_object_array_add(pair, json_object_new_int64((int64_t)pos));
	json_object_array_add(a, pair);
	return a;
}
