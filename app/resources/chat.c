/* chat.c — conversations: their projection (exists) and the appliers of their commands.
 *
 * Invariants:
 * - chats.count and chats.last change only in the appliers, in the transaction
 *   that inserts or deletes the item, and one stream applies a database's
 *   commands one at a time: both stay exact however many clients post at once.
 * - Items are listed newest first in the order they were applied (chat_items.seq),
 *   so a message that becomes visible always appears at the top of the list. */
#include "resources/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/isotime.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "resources/apply.h"
#include "resources/audience.h"
#include "store/db.h"

int chat_exists(MYSQL *m, const char *db, const char *id)
{
	if (!id_valid(id))
		return 0;
	long long n = db_value(m, "SELECT COUNT(*) FROM chats WHERE db = %Q AND id = %Q", db, id);
	return n < 0 ? -1 : n > 0;
}

/* ---- Appliers (run by the processor inside the apply transaction) ---- */

static int malformed(char *reason, size_t size, const char *kind)
{
	snprintf(reason, size, "Malformed %s command", kind);
	return APPLY_FAILED;
}

/* Inserts the ids of `list` into table (chat_contacts or chat_groups), in order, in one
 * statement: a chat's participants cost one round trip, not one each. */
static int participants_insert(MYSQL *m, const char *db, const char *chat, const char *table,
                               const char *column, json_object *list)
{
	size_t n = json_object_array_length(list);
	if (n == 0)
		return APPLY_OK;
	struct printbuf *sql = xprintbuf_new();
	char *head = db_format(m, "INSERT IGNORE INTO %s (db, chat, %s, ord) VALUES ", table, column);
	xprintbuf_puts(sql, head);
	free(head);
	for (size_t i = 0; i < n; i++) {
		const char *id = json_object_get_string(json_object_array_get_idx(list, i));
		char *row = db_format(m, "%s(%Q, %Q, %Q, %u)", i ? "," : "", db, chat, id, (unsigned)i);
		xprintbuf_puts(sql, row);
		free(row);
	}
	long long r = db_exec(m, "%s", sql->buf);
	printbuf_free(sql);
	return r < 0 ? APPLY_ERROR : APPLY_OK;
}

/* The audience a chat's fields give: its contacts and groups write, "anyone"
 * read when public, its creator admin; a private-message chat gives write to
 * its two contacts and nothing else. */
static json_object *derived_audience(json_object *contacts, json_object *groups, bool public, bool pm,
                                     const char *creator)
{
	json_object *a = json_object_new_object(), *write = json_object_new_object();
	json_object_object_add(write, "contacts", json_object_get(contacts));
	if (!pm)
		json_object_object_add(write, "groups", json_object_get(groups));
	json_object_object_add(a, "write", write);
	if (public && !pm)
		json_object_object_add(a, "read", json_object_new_string("anyone"));
	if (creator && !pm) {
		json_object *admin = json_object_new_object(), *who = json_object_new_array();
		json_object_array_add(who, json_object_new_string(creator));
		json_object_object_add(admin, "contacts", who);
		json_object_object_add(a, "admin", admin);
	}
	return a;
}

int chat_apply_create(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *id = json_get_string(payload, "id"), *subject = json_get_string(payload, "subject"),
	           *pm = json_get_string(payload, "pm"), *created = json_get_string(payload, "created");
	json_object *contacts, *groups, *pub;
	if (!id || !created || !json_object_object_get_ex(payload, "contacts", &contacts) ||
	    !json_object_is_type(contacts, json_type_array) ||
	    !json_object_object_get_ex(payload, "groups", &groups) ||
	    !json_object_is_type(groups, json_type_array) ||
	    !json_object_object_get_ex(payload, "public", &pub))
		return malformed(reason, size, "chat.create");
	if (pm) {
		/* chat_pm keeps this from happening; the unique index would refuse it anyway. */
		long long n = db_value(m, "SELECT COUNT(*) FROM chats WHERE db = %Q AND pm = %Q", db, pm);
		if (n < 0)
			return APPLY_ERROR;
		if (n > 0) {
			snprintf(reason, size, "A private-message chat for %s already exists: use that one",
			         pm);
			return APPLY_FAILED;
		}
	}
	long long r = db_exec(m,
	                      "INSERT IGNORE INTO chats (db, id, subject, public, pm, count, last, created) "
	                      "VALUES (%Q, %Q, %Q, %d, %Q, 0, NULL, " ISOTIME_SQL_IN ")",
	                      db, id, subject, json_object_get_boolean(pub) ? 1 : 0, pm, created);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0) {
		snprintf(reason, size, "Chat '%s' already exists", id);
		return APPLY_FAILED;
	}
	int a = participants_insert(m, db, id, "chat_contacts", "contact", contacts);
	if (a == APPLY_OK)
		a = participants_insert(m, db, id, "chat_groups", "grp", groups);
	if (a != APPLY_OK)
		return a;
	/* What the fields give (SPEC §5), as audience rows of their own. */
	json_object *derived = derived_audience(contacts, groups, json_object_get_boolean(pub), pm != NULL,
	                                        json_get_string(payload, "creator"));
	json_object *given = NULL;
	json_object_object_get_ex(payload, "audience", &given);
	a = audience_insert(m, db, AUDIENCE_CHAT, id, derived, AUDIENCE_DERIVED, reason, size);
	json_object_put(derived);
	return a != APPLY_OK ? a
	                     : audience_insert(m, db, AUDIENCE_CHAT, id, given, AUDIENCE_GIVEN, reason, size);
}

int chat_apply_update(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *chat = json_get_string(payload, "chat");
	json_object *subject = NULL, *audience = NULL;
	bool has_subject = json_object_object_get_ex(payload, "subject", &subject);
	bool has_audience = json_object_object_get_ex(payload, "audience", &audience);
	if (!chat || (subject && !json_object_is_type(subject, json_type_string)))
		return malformed(reason, size, "chat.update");
	int found = chat_exists(m, db, chat);
	if (found < 0)
		return APPLY_ERROR;
	if (!found) {
		snprintf(reason, size, "Chat '%s' does not exist (any more)", chat);
		return APPLY_FAILED;
	}
	if (has_subject && db_exec(m, "UPDATE chats SET subject = %Q WHERE db = %Q AND id = %Q",
	                           subject ? json_object_get_string(subject) : NULL, db, chat) < 0)
		return APPLY_ERROR;
	if (!has_audience)
		return APPLY_OK;
	/* The given audience is replaced as a whole; what the fields give stays. */
	int r = audience_forget(m, db, AUDIENCE_CHAT, chat, AUDIENCE_GIVEN);
	return r != APPLY_OK
	           ? r
	           : audience_insert(m, db, AUDIENCE_CHAT, chat, audience, AUDIENCE_GIVEN, reason, size);
}

int chat_apply_post(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *chat = json_get_string(payload, "chat"), *id = json_get_string(payload, "id"),
	           *author = json_get_string(payload, "author"), *time = json_get_string(payload, "time"),
	           *body = json_get_string(payload, "body");
	if (!chat || !id || !author || !time || !body)
		return malformed(reason, size, "chat.post");
	/* Checked at request time, checked again: the chat may have been deleted since. */
	int found = chat_exists(m, db, chat);
	if (found < 0)
		return APPLY_ERROR;
	if (!found) {
		snprintf(reason, size, "Chat '%s' was deleted before the message was posted", chat);
		return APPLY_FAILED;
	}
	if (db_exec(m,
	            "INSERT INTO chat_items (db, chat, id, author, time, body) "
	            "VALUES (%Q, %Q, %Q, %Q, " ISOTIME_SQL_IN ", %Q)",
	            db, chat, id, author, time, body) < 0 ||
	    db_exec(m,
	            "UPDATE chats SET count = count + 1, "
	            "last = IF(last IS NULL OR last < " ISOTIME_SQL_IN ", " ISOTIME_SQL_IN
	            ", last) WHERE db = %Q AND id = %Q",
	            time, time, db, chat) != 1)
		return APPLY_ERROR;
	return APPLY_OK;
}

int chat_apply_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *chat = json_get_string(payload, "chat");
	if (!chat)
		return malformed(reason, size, "chat.delete");
	static const char *const tables[] = {"chat_items", "chat_contacts", "chat_groups"};
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (db_exec(m, "DELETE FROM %s WHERE db = %Q AND chat = %Q", tables[i], db, chat) < 0)
			return APPLY_ERROR;
	if (audience_forget(m, db, AUDIENCE_CHAT, chat, -1) != APPLY_OK)
		return APPLY_ERROR;
	return db_exec(m, "DELETE FROM chats WHERE db = %Q AND id = %Q", db, chat) < 0 ? APPLY_ERROR
	                                                                               : APPLY_OK;
}

int chat_apply_item_delete(MYSQL *m, const char *db, json_object *payload, char *reason, size_t size)
{
	const char *chat = json_get_string(payload, "chat"), *item = json_get_string(payload, "item"),
	           *author = json_get_string(payload, "author");
	if (!chat || !item)
		return malformed(reason, size, "chat.item_delete");
	/* With "author", only an item of that author goes (its author deleting it
	 * without the moderate level). */
	long long r =
	    author
	        ? db_exec(m, "DELETE FROM chat_items WHERE db = %Q AND id = %Q AND chat = %Q AND author = %Q",
	                  db, item, chat, author)
	        : db_exec(m, "DELETE FROM chat_items WHERE db = %Q AND id = %Q AND chat = %Q", db, item,
	                  chat);
	if (r < 0)
		return APPLY_ERROR;
	if (r == 0)
		return APPLY_OK; /* already gone, or never there */
	return db_exec(m,
	               "UPDATE chats SET count = count - 1, "
	               "last = (SELECT MAX(time) FROM chat_items WHERE db = %Q AND chat = %Q) "
	               "WHERE db = %Q AND id = %Q",
	               db, chat, db, chat) < 0
	           ? APPLY_ERROR
	           : APPLY_OK;
}
