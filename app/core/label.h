/* label.h — labels: trimmed, collapsed UTF-8 text of 1..80 code points. */
#ifndef RUNORG_LABEL_H
#define RUNORG_LABEL_H

#include <stddef.h>

#define LABEL_MAX_CODEPOINTS 80

/* Normalizes `in` (len bytes): leading/trailing white space removed, inner
 * runs of white space collapsed to one space (U+0020), or to one U+00A0 when
 * the run held only non-breaking spaces (U+00A0, U+2007, U+202F). White space = ASCII space, \t \n \v
 * \f \r, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
 * On success returns 0 and *out is a malloc'd NUL-terminated string.
 * On failure returns -1, *out is NULL and err holds one of:
 *   "Empty label"
 *   "Label is N code points long, only 80 allowed."
 *   "Label is not valid UTF-8"
 *   "Label contains control character U+XXXX"   (NUL and the others below 0x20 but white space) */
int label_clean(const char *in, size_t len, char **out, char *err, size_t errlen);

/* Number of code points of a valid UTF-8 string, -1 if invalid. */
long utf8_length(const char *s, size_t len);

#endif
