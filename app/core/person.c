/* person.c — how a contact is shown: display name and gravatar picture. */
#include "core/person.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define GRAVATAR "https://www.gravatar.com/avatar/"

static bool given(const char *s)
{
	return s && *s;
}

char *person_name(const char *fullname, const char *firstname, const char *lastname, const char *email)
{
	if (given(fullname))
		return xstrdup(fullname);
	if (given(firstname) && given(lastname)) {
		size_t n = strlen(firstname) + 1 + strlen(lastname) + 1;
		char *s = xmalloc(n);
		snprintf(s, n, "%s %s", firstname, lastname);
		return s;
	}
	if (given(firstname))
		return xstrdup(firstname);
	if (given(lastname))
		return xstrdup(lastname);
	return xstrdup(email ? email : "");
}

static bool ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

char *person_email_key(const char *email)
{
	if (!email)
		return NULL;
	while (ascii_space(*email))
		email++;
	size_t n = strlen(email);
	while (n > 0 && ascii_space(email[n - 1]))
		n--;
	char *key = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		key[i] = email[i] >= 'A' && email[i] <= 'Z' ? (char)(email[i] - 'A' + 'a') : email[i];
	key[n] = 0;
	return key;
}

void person_pic(const char *email, char out[PERSON_PIC_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *key = person_email_key(email ? email : "");
	if (!key || !EVP_Digest(key, strlen(key), md, &mdlen, EVP_md5(), NULL) || mdlen != 16) {
		/* Only when libcrypto refuses MD5 (FIPS mode) or memory runs out. */
		memset(md, 0, sizeof md);
		mdlen = 16;
	}
	free(key);
	size_t o = strlen(GRAVATAR);
	memcpy(out, GRAVATAR, o);
	for (unsigned int i = 0; i < mdlen; i++) {
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = 0;
}

/* White space a label may still hold: ASCII, and the UTF-8 encodings of the
 * Unicode spaces that label_clean recognises. Returns the length of the
 * space at s, 0 when s does not start with one. */
static size_t space_at(const unsigned char *s)
{
	if (ascii_space((char)s[0]))
		return 1;
	if (s[0] == 0xC2 && s[1] == 0xA0) /* U+00A0 */
		return 2;
	if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) /* U+1680 */
		return 3;
	if (s[0] == 0xE2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
		return 3;                                 /* U+2000..U+200A, U+2028, U+2029, U+202F */
	if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) /* U+205F */
		return 3;
	if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
		return 3;
	return 0;
}

int person_email_check(const char *email)
{
	if (!email)
		return -1;
	size_t len = strlen(email);
	if (len == 0 || len > 254)
		return -1;
	for (const unsigned char *s = (const unsigned char *)email; *s; s++)
		if (space_at(s))
			return -1;
	const char *at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@'))
		return -1;
	const char *domain = at + 1;
	size_t dlen = strlen(domain);
	if (dlen < 3 || !strchr(domain, '.') || domain[0] == '.' || domain[dlen - 1] == '.')
		return -1;
	return 0;
}
