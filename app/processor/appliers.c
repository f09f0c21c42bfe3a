/* appliers.c — the command table: which function applies which kind of command. */
#include "processor/appliers.h"

#include <string.h>

#include "resources/chat.h"
#include "resources/contacts.h"
#include "resources/dbs.h"
#include "resources/groups.h"

static const struct {
	const char *kind;
	apply_fn apply;
	/* clang-format off */
} appliers[] = {
	{"db.create",          dbs_apply_create},
	{"contacts.import",    contacts_apply_import},
	{"contacts.test_auth", contacts_apply_test_auth},
	{"groups.create",      groups_apply_create},
	{"groups.add",         groups_apply_add},
	{"groups.remove",      groups_apply_remove},
	{"groups.delete",      groups_apply_delete},
	{"chat.create",        chat_apply_create},
	{"chat.post",          chat_apply_post},
	{"chat.delete",        chat_apply_delete},
	{"chat.item_delete",   chat_apply_item_delete},
};
/* clang-format on */

apply_fn applier_find(const char *kind)
{
	for (size_t i = 0; i < sizeof appliers / sizeof appliers[0]; i++)
		if (!strcmp(appliers[i].kind, kind))
			return appliers[i].apply;
	return NULL;
}
