/* appliers.c — the command table: which function applies which kind of command. */
#include "resources/appliers.h"

#include <string.h>

#include "resources/chat.h"
#include "resources/contacts.h"
#include "resources/dbs.h"
#include "resources/groups.h"
#include "resources/keys.h"

/* clang-format off */
static const struct applier appliers[] = {
	{"db.create",           dbs_apply_create,         NULL},
	{"contacts.import",     contacts_apply_import,    contacts_apply_import_run},
	{"contacts.test_auth",  contacts_apply_test_auth, NULL},
	{"contacts.update",     contacts_apply_update,    NULL},
	{"groups.create",       groups_apply_create,      NULL},
	{"groups.update",       groups_apply_update,      NULL},
	{"groups.add",          groups_apply_add,         NULL},
	{"groups.remove",       groups_apply_remove,      NULL},
	{"groups.delete",       groups_apply_delete,      NULL},
	{"chat.create",         chat_apply_create,        NULL},
	{"chat.update",         chat_apply_update,        NULL},
	{"chat.post",           chat_apply_post,          NULL},
	{"chat.delete",         chat_apply_delete,        NULL},
	{"chat.item_delete",    chat_apply_item_delete,   NULL},
	{"keys.create",         keys_apply_create,        NULL},
	{"keys.delete",         keys_apply_delete,        NULL},
};
/* clang-format on */

const struct applier *applier_find(const char *kind)
{
	for (size_t i = 0; i < sizeof appliers / sizeof appliers[0]; i++)
		if (!strcmp(appliers[i].kind, kind))
			return &appliers[i];
	return NULL;
}
