/* label.c — labels: trimmed, collapsed UTF-8 text of 1..80 code points. */
#include "core/label.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Decodes one code point of strict UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF. Returns its length in bytes, or 0 when
 * the bytes at s are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (len == 0)
		return 0;
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		n = 2, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 (always overlong), F5..FF */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

long utf8_length(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	long count = 0;
	uint32_t cp;
	for (size_t i = 0; i < len; count++) {
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (!n)
			return -1;
		i += n;
	}
	return count;
}

static bool is_space(uint32_t cp)
{
	switch (cp) {
	case ' ':
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case 0x00A0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000:
		return true;
	default:
		return cp >= 0x2000 && cp <= 0x200A;
	}
}

/* The no-break spaces: NO-BREAK SPACE, FIGURE SPACE, NARROW NO-BREAK SPACE.
 * A run made of them only is one U+00A0, so that what was not to be broken
 * (a thousands separator, "M.\u202FDupont") stays so. */
static bool is_nbsp(uint32_t cp)
{
	return cp == 0x00A0 || cp == 0x2007 || cp == 0x202F;
}

static int fail(char *err, size_t errlen, char **out, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	*out = NULL;
	return -1;
}

int label_clean(const char *in, size_t len, char **out, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)in;
	/* First pass: the whole input must be valid, whatever trimming would drop. */
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (!n)
			return fail(err, errlen, out, "Label is not valid UTF-8");
		if (cp < 0x20 && !is_space(cp)) {
			/* Valid UTF-8 (a JSON body can only bring this), but no text. */
			char msg[64];
			snprintf(msg, sizeof msg, "Label contains control character U+%04X", (unsigned)cp);
			return fail(err, errlen, out, msg);
		}
		i += n;
	}

	/* Second pass: copy, holding back each run of white space until a
	 * non-space follows it, so that leading and trailing runs vanish. The
	 * result is never longer than the input (a run of no-break spaces, 2 or 3
	 * bytes each, becomes U+00A0, 2 bytes; any other run becomes 1 byte). */
	char *buf = xmalloc(len + 1);
	size_t o = 0;
	long count = 0;
	bool in_run = false, only_nbsp = true;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (is_space(cp)) {
			if (!in_run)
				only_nbsp = true;
			in_run = true;
			only_nbsp = only_nbsp && is_nbsp(cp);
		} else {
			if (in_run && count > 0) {
				if (only_nbsp) {
					buf[o++] = (char)0xC2;
					buf[o++] = (char)0xA0;
				} else {
					buf[o++] = ' ';
				}
				count++;
			}
			in_run = false;
			memcpy(buf + o, u + i, n);
			o += n;
			count++;
		}
		i += n;
	}
	buf[o] = 0;

	if (count == 0) {
		free(buf);
		return fail(err, errlen, out, "Empty label");
	}
	if (count > LABEL_MAX_CODEPOINTS) {
		free(buf);
		char msg[64];
		snprintf(msg, sizeof msg, "Label is %ld code points long, only %d allowed.", count,
		         LABEL_MAX_CODEPOINTS);
		return fail(err, errlen, out, msg);
	}
	*out = buf;
	return 0;
}
