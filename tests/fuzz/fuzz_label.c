/* fuzz_label.c — labels and e-mail addresses, the text every command stores:
 * label_clean either refuses the bytes with one of its three messages, or gives
 * a label that is valid UTF-8, 1..80 code points, trimmed, and clean already
 * (cleaning it again changes nothing); what the contact code derives from an
 * e-mail (its key, name, picture) never fails on a label. */
#include <stdbool.h>
#include <string.h>

#include "core/label.h"
#include "core/person.h"
#include "fuzz.h"

static int is_trim_space(const char *s, size_t n, bool at_end)
{
	static const char *const spaces[] = {" ",  "\t",       "\n",           "\v", "\f",
	                                     "\r", "\xC2\xA0", "\xE3\x80\x80", NULL};
	for (int i = 0; spaces[i]; i++) {
		size_t k = strlen(spaces[i]);
		if (n >= k && !memcmp(at_end ? s + n - k : s, spaces[i], k))
			return 1;
	}
	return 0;
}

int fuzz_label(const uint8_t *data, size_t size)
{
	char *out = NULL, err[128] = "";
	if (label_clean((const char *)data, size, &out, err, sizeof err)) {
		FUZZ_CHECK(out == NULL);
		FUZZ_CHECK(!strcmp(err, "Empty label") || !strcmp(err, "Label is not valid UTF-8") ||
		           !strncmp(err, "Label is ", 9));
		return 0;
	}
	size_t n = strlen(out);
	long cps = utf8_length(out, n);
	FUZZ_CHECK(n > 0 && n <= size);
	FUZZ_CHECK(cps >= 1 && cps <= LABEL_MAX_CODEPOINTS);
	FUZZ_CHECK(!is_trim_space(out, n, false) && !is_trim_space(out, n, true));
	FUZZ_CHECK(!strstr(out, "  "));
	char *again = NULL;
	FUZZ_CHECK(label_clean(out, n, &again, err, sizeof err) == 0);
	FUZZ_CHECK(!strcmp(again, out));
	free(again);

	/* What contacts.c derives from a label used as an e-mail. */
	char *key = person_email_key(out);
	FUZZ_CHECK(key && strlen(key) <= n);
	if (person_email_check(out) == 0) {
		FUZZ_CHECK(strchr(out, '@') && strlen(out) <= 254);
		FUZZ_CHECK(!strchr(out, ' '));
	}
	char pic[PERSON_PIC_SIZE];
	person_pic(out, pic);
	FUZZ_CHECK(strlen(pic) == strlen("https://www.gravatar.com/avatar/") + 32);
	char *name = person_name(NULL, out, out, out);
	FUZZ_CHECK(name && strlen(name) == 2 * n + 1);
	free(name);
	free(key);
	free(out);
	return 0;
}

FUZZ_ENTRY(fuzz_label)
