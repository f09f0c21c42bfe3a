/* json.h — json-c the way the API uses it: compact text, strings or null, clocks of one stream. */
#ifndef RUNORG_JSON_H
#define RUNORG_JSON_H

#include <json-c/json.h>
#include <stdint.h>

/* JSON text the way the API prints it: compact, slashes unescaped. Owned by o. */
const char *json_text(json_object *o);

/* A JSON string, or JSON null for NULL. */
json_object *json_str(const char *s);

/* String member of obj, or NULL (absent, null or not a string). */
const char *json_get_string(json_object *obj, const char *key);

/* The clock [[stream, pos]] of one write; [] for pos 0 (nothing to wait for). */
json_object *json_at(uint32_t stream, uint64_t pos);

#endif
