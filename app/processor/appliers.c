/* appliers.c — the command table: which function applies which kind of command. */
#include "processor/appliers.h"

#include <string.h>

#include "resources/contacts.h"
#include "resources/dbs.h"

static const struct {
	const char *kind;
	apply_fn apply;
	/* clang-format off */
} appliers[] = {
	{"db.create",          dbs_apply_create},
	{"contacts.import",    contacts_apply_import},
	{"contacts.test_auth", contacts_apply_test_auth},
};
/* clang-format on */

apply_fn applier_find(const char *kind)
{
	for (size_t i = 0; i < sizeof appliers / sizeof appliers[0]; i++)
		if (!strcmp(appliers[i].kind, kind))
			return appliers[i].apply;
	return NULL;
}
