/* chat_routes.c — the routes of conversations: create, update, post, read, list, delete.
 *
 * - Who may do what (SPEC §5) follows each chat's audiences (fcgi/access.c):
 *   view its info, read its items, write (post), moderate (delete anyone's
 *   item), admin (delete it, PUT); the author of an item may always delete it.
 *   A chat the caller may not view is answered as a missing one (404).
 * - A private-message room is unique per pair: chat_pm maps the pair to the room
 *   in the very transaction that queues the room's creation (and forgets it in the
 *   one that queues its deletion), so two concurrent creates for one pair answer
 *   the same id and the same clock. */
#include "resources/chat_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"
#include "core/isotime.h"
#include "core/xalloc.h"
#include "fcgi/access.h"
#include "fcgi/auth.h"
#include "fcgi/retry.h"
#include "fcgi/validate.h"
#include "resources/audience.h"
#include "resources/chat.h"
#include "resources/contacts.h"
#include "resources/groups.h"
#include "resources/rows.h"
#include "store/db.h"
#include "store/queue.h"

/* The columns of a <chatinfo>; every query adds the caller's level after them. */
#define CHAT_COLUMNS "c.id, c.subject, c.public, c.count, " ISOTIME_SQL_OUT("c.last")

/* ---- Reading chats: <chatinfo>, short contacts, group infos ---- */

static json_object *info_new(MYSQL_ROW row)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(row[0]));
	json_object_object_add(o, "subject", json_str(row[1]));
	json_object_object_add(o, "contacts", json_object_new_array());
	json_object_object_add(o, "groups", json_object_new_array());
	json_object_object_add(o, "count", json_object_new_int64(atoll(row[3])));
	json_object_object_add(o, "last", json_str(row[4]));
	json_object_object_add(o, "public", json_object_new_boolean(row[2][0] == '1'));
	json_object_object_add(o, "access", audience_access_json(AUDIENCE_CHAT, atoi(row[5])));
	return o;
}

/* Appends the participants (column of table, for the chats of the IN list) to member
 * `key` of each info of `by_id`. */
static int participants_load(MYSQL *m, const char *db, const char *column, const char *table, const char *in,
                             json_object *by_id, const char *key)
{
	MYSQL_RES *res =
	    db_query(m, "SELECT chat, %s FROM %s WHERE db = %Q AND chat IN %s ORDER BY chat, ord", column,
	             table, db, in);
	if (!res)
		return -1;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		json_object *info, *list;
		if (json_object_object_get_ex(by_id, row[0], &info) &&
		    json_object_object_get_ex(info, key, &list))
			json_object_array_add(list, json_object_new_string(row[1]));
	}
	mysql_free_result(res);
	return 0;
}

/* <chatinfo> of each row (CHAT_COLUMNS, the level, and when count is not NULL
 * the number of rows without the limit) of res, in order, with its
 * participants. NULL when the database fails. */
static json_object *infos_load(MYSQL *m, const char *db, MYSQL_RES *res, long long *count)
{
	json_object *list = json_object_new_array(), *by_id = json_object_new_object();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		json_object *info = info_new(row);
		if (count)
			*count = atoll(row[6]);
		json_object_array_add(list, info);
		json_object_object_add(by_id, row[0], json_object_get(info));
	}
	size_t n = json_object_array_length(list);
	int r = 0;
	if (n) {
		const char **ids = xmalloc(n * sizeof *ids);
		for (size_t i = 0; i < n; i++)
			ids[i] = json_get_string(json_object_array_get_idx(list, i), "id");
		char *in = db_quote_list(m, ids, (int)n);
		r = participants_load(m, db, "contact", "chat_contacts", in, by_id, "contacts") ||
		    participants_load(m, db, "grp", "chat_groups", in, by_id, "groups");
		free(in);
		free(ids);
	}
	json_object_put(by_id);
	if (r) {
		json_object_put(list);
		return NULL;
	}
	return list;
}

/* Appends id to out unless `seen` (an object used as a set) has it. */
static void id_add(json_object *out, json_object *seen, const char *id)
{
	if (!json_object_object_get_ex(seen, id, NULL)) {
		json_object_object_add(seen, id, NULL);
		json_object_array_add(out, json_object_new_string(id));
	}
}

/* <shortcontact> of each contact of ids (unique strings) that exists, in the order of ids.
 * NULL when the database fails. */
static json_object *contact_shorts(MYSQL *m, const char *db, json_object *ids)
{
	size_t n = json_object_array_length(ids);
	const char **v = xmalloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_object_get_string(json_object_array_get_idx(ids, i));
	json_object *out =
	    rows_in_order(m, "SELECT id, name, gender, pic FROM contacts WHERE db = %Q AND id IN %s", db, v,
	                  (int)n, contact_short);
	free(v);
	return out;
}

/* {"contacts":[<shortcontact>], "groups":[<groupinfo>]} of every participant of the infos,
 * each once, in order of first appearance. NULL when the database fails. */
static json_object *participants_of(MYSQL *m, const char *db, json_object *infos)
{
	json_object *cids = json_object_new_array(), *gids = json_object_new_array();
	json_object *cseen = json_object_new_object(), *gseen = json_object_new_object();
	for (size_t i = 0; i < json_object_array_length(infos); i++) {
		json_object *info = json_object_array_get_idx(infos, i), *c, *g;
		json_object_object_get_ex(info, "contacts", &c);
		json_object_object_get_ex(info, "groups", &g);
		for (size_t k = 0; k < json_object_array_length(c); k++)
			id_add(cids, cseen, json_object_get_string(json_object_array_get_idx(c, k)));
		for (size_t k = 0; k < json_object_array_length(g); k++)
			id_add(gids, gseen, json_object_get_string(json_object_array_get_idx(g, k)));
	}
	json_object_put(cseen);
	json_object_put(gseen);
	json_object *contacts = contact_shorts(m, db, cids), *groups = group_info_list(m, db, gids);
	json_object_put(cids);
	json_object_put(gids);
	if (!contacts || !groups) {
		json_object_put(contacts);
		json_object_put(groups);
		return NULL;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "contacts", contacts);
	json_object_object_add(o, "groups", groups);
	return o;
}

int chat_get(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	int level;
	int st = access_require(rq, rp, AUDIENCE_CHAT, id, CHAT_CAN_VIEW, &level, NULL);
	if (st)
		return st;
	MYSQL_RES *res =
	    db_query(rq->m, "SELECT " CHAT_COLUMNS ", %d FROM chats c WHERE c.db = %Q AND c.id = %Q", level,
	             rq->db, id);
	json_object *infos = res ? infos_load(rq->m, rq->db, res, NULL) : NULL;
	if (res)
		mysql_free_result(res);
	if (!infos)
		return reply_internal(rp, "chat get");
	if (json_object_array_length(infos) == 0) {
		json_object_put(infos);
		return access_missing(rp, AUDIENCE_CHAT, id);
	}
	json_object *o = participants_of(rq->m, rq->db, infos);
	if (!o) {
		json_object_put(infos);
		return reply_internal(rp, "chat participants");
	}
	json_object_object_add(o, "info", json_object_get(json_object_array_get_idx(infos, 0)));
	json_object_put(infos);
	return reply_json(rp, 200, o);
}

int chat_as(struct req *rq, struct reply *rp)
{
	const char *cid = req_param(rq, "cid");
	long limit, offset;
	int st = req_page(rq, 100, 1000, &limit, &offset, rp);
	if (st)
		return st;
	if (!id_valid(cid))
		return reply_error(rp, 404, "Contact '%.64s' does not exist", cid);
	/* The chats of the contact (public ones, those whose audiences name it or
	 * one of its groups: participants, creator, given audiences), of those the
	 * ones the caller may view, with the caller's level. */
	char *of = audience_visible_sql(rq->m, rq->db, AUDIENCE_CHAT, cid, false);
	char *mine = access_visible_sql(rq, AUDIENCE_CHAT);
	MYSQL_RES *res = db_query(rq->m,
	                          "SELECT STRAIGHT_JOIN " CHAT_COLUMNS
	                          ", v.level FROM %s o JOIN %s v ON v.rid = o.rid JOIN chats c "
	                          "ON c.db = %Q AND c.id = o.rid ORDER BY c.id LIMIT %lld OFFSET %lld",
	                          of, mine, rq->db, (long long)limit, (long long)offset);
	free(of);
	free(mine);
	json_object *infos = res ? infos_load(rq->m, rq->db, res, NULL) : NULL;
	if (res)
		mysql_free_result(res);
	json_object *o = infos ? participants_of(rq->m, rq->db, infos) : NULL;
	if (!o) {
		json_object_put(infos);
		return reply_internal(rp, "chat list");
	}
	json_object_object_add(o, "list", infos);
	return reply_json(rp, 200, o);
}

int chat_list(struct req *rq, struct reply *rp)
{
	long limit, offset;
	int st = req_page(rq, 100, 1000, &limit, &offset, rp);
	if (st)
		return st;
	/* One query: the chats the caller may view, a page of them in creation
	 * order, and their number on every row. */
	char *visible = access_visible_sql(rq, AUDIENCE_CHAT);
	long long count = -1;
	MYSQL_RES *res = db_query(rq->m,
	                          "SELECT STRAIGHT_JOIN " CHAT_COLUMNS
	                          ", v.level, COUNT(*) OVER () FROM %s v JOIN chats c "
	                          "ON c.db = %Q AND c.id = v.rid ORDER BY c.id LIMIT %lld OFFSET %lld",
	                          visible, rq->db, (long long)limit, (long long)offset);
	json_object *infos = res ? infos_load(rq->m, rq->db, res, &count) : NULL;
	if (res)
		mysql_free_result(res);
	if (infos && count < 0) /* an empty page (limit=0, or past the end) has no row to carry the count */
		count =
		    db_value(rq->m, "SELECT COUNT(*) FROM %s v JOIN chats c ON c.db = %Q AND c.id = v.rid",
		             visible, rq->db);
	free(visible);
	if (!infos || count < 0) {
		json_object_put(infos);
		return reply_internal(rp, "chat list");
	}
	return reply_list(rp, "list", infos, count);
}

int chat_items(struct req *rq, struct reply *rp)
{
	const char *id = req_param(rq, "id");
	long limit, offset;
	int st = req_page(rq, 1000, 1000, &limit, &offset, rp);
	if (st)
		return st;
	struct audience_facts f; /* the access check reads the chat's count too */
	if ((st = access_require(rq, rp, AUDIENCE_CHAT, id, CHAT_CAN_READ, NULL, &f)))
		return st;
	long long count = f.count;
	/* The page and its authors' short contacts in one query: newest first
	 * along the index (db, chat, seq), each author's contact joined by its
	 * primary key. */
	MYSQL_RES *res = db_query(rq->m,
	                          "SELECT i.id, i.author, " ISOTIME_SQL_OUT("i.time") ", i.body, c.name, c.gender, c.pic "
	                          "FROM chat_items i FORCE INDEX (newest) LEFT JOIN contacts c ON c.db = i.db AND "
	                          "c.id = i.author WHERE i.db = %Q AND i.chat = %Q ORDER BY i.seq DESC "
	                          "LIMIT %lld OFFSET %lld",
	                          rq->db, id, (long long)limit, (long long)offset);
	if (!res)
		return reply_internal(rp, "chat items");
	json_object *items = json_object_new_array(), *contacts = json_object_new_array(),
	            *seen = json_object_new_object();
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		json_object *it = json_object_new_object();
		json_object_object_add(it, "id", json_object_new_string(row[0]));
		json_object_object_add(it, "author", json_object_new_string(row[1]));
		json_object_object_add(it, "time", json_object_new_string(row[2]));
		json_object_object_add(it, "body", json_object_new_string_len(row[3], (int)len[3]));
		json_object_array_add(items, it);
		/* Each author once, in order of first appearance, when its contact exists. */
		if (row[4] && !json_object_object_get_ex(seen, row[1], NULL)) {
			char *author[4] = {row[1], row[4], row[5], row[6]};
			json_object_object_add(seen, row[1], NULL);
			json_object_array_add(contacts, contact_short(author));
		}
	}
	mysql_free_result(res);
	json_object_put(seen);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "contacts", contacts);
	json_object_object_add(o, "count", json_object_new_int64(count));
	return reply_json(rp, 200, o);
}

/* ---- Create ---- */

struct create {
	char *subject;
	json_object *contacts, *groups, *audience;
	bool public, pm;
};

/* The rules of SPEC §4 that a create body must follow, beyond the type of each field. */
static int create_rules(const struct create *c, struct reply *rp)
{
	size_t nc = json_object_array_length(c->contacts), ng = json_object_array_length(c->groups);
	if (c->pm) {
		if (nc != 2)
			return reply_invalid(rp, "body.contacts",
			                     "a private-message chat is between two contacts",
			                     "A private-message chat needs exactly two distinct contacts");
		if (c->subject)
			return reply_invalid(rp, "body.subject", NULL,
			                     "A private-message chat has no subject");
		if (ng)
			return reply_invalid(rp, "body.groups", NULL,
			                     "A private-message chat names no groups");
		if (c->public)
			return reply_invalid(rp, "body.public", NULL,
			                     "A private-message chat cannot be public");
		if (c->audience)
			return reply_invalid(rp, "body.audience", "only its two contacts may see it",
			                     "A private-message chat has no audience");
	}
	if (c->public && (nc || ng))
		return reply_invalid(rp, nc ? "body.contacts" : "body.groups",
		                     "everyone may read a public chat",
		                     "A public chat names no participants");
	if (!c->public && !nc && !ng && !c->audience)
		return reply_invalid(rp, "body",
		                     "name contacts or groups, give an audience, or make the chat public",
		                     "A chat needs participants unless it is public");
	return 0;
}

/* "<a>:<b>" with a < b, the key of a private-message room. */
static void pm_key(json_object *contacts, char out[2 * ID_LEN + 2])
{
	const char *a = json_object_get_string(json_object_array_get_idx(contacts, 0)),
	           *b = json_object_get_string(json_object_array_get_idx(contacts, 1));
	if (strcmp(a, b) > 0) {
		const char *t = a;
		a = b;
		b = t;
	}
	snprintf(out, 2 * ID_LEN + 2, "%s:%s", a, b);
}

static bool retryable(MYSQL *m)
{
	unsigned e = mysql_errno(m);
	return e == 1213 /* deadlock */ || e == 1205 /* lock wait timeout */;
}

/* Queues the creation of a private-message room unless the pair has one: then id and
 * *pos become those of the existing room (the position that creates it, so that its
 * clock makes the room visible). The answer is made, and recorded under the request's
 * key, in the same transaction. Returns what queue_push returns. */
static int pm_create(struct req *rq, const char *key, json_object *cmd, char id[ID_LEN + 1], uint64_t *pos)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		*pos = 0;
		if (db_begin(rq->m))
			return QUEUE_FAILED;
		/* Inserting the key first: a concurrent create of the same pair waits here
		 * until this transaction ends, then sees the room it made. */
		long long r = db_exec(
		    rq->m,
		    "INSERT IGNORE INTO chat_pm (db, pm, chat, stream, pos) VALUES (%Q, %Q, %Q, %u, 0)",
		    rq->db, key, id, rq->stream);
		if (r == 1) {
			*pos = queue_push_tx(rq->m, &rq->push, rq->stream, rq->db, "chat.create",
			                     json_text(cmd));
			if (*pos && db_exec(rq->m, "UPDATE chat_pm SET pos = %llu WHERE db = %Q AND pm = %Q",
			                    (unsigned long long)*pos, rq->db, key) != 1)
				*pos = 0;
		} else if (r == 0) {
			MYSQL_RES *res = db_query(
			    rq->m,
			    "SELECT chat, pos FROM chat_pm WHERE db = %Q AND pm = %Q LOCK IN SHARE MODE",
			    rq->db, key);
			MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
			if (row) {
				snprintf(id, ID_LEN + 1, "%s", row[0]);
				*pos = strtoull(row[1], NULL, 10);
			}
			if (res)
				mysql_free_result(res);
		}
		int e = QUEUE_FAILED;
		if (*pos) {
			json_object *head = json_object_new_object();
			json_object_object_add(head, "id", json_object_new_string(id));
			retry_head(rq, head);
			e = queue_answer_tx(rq->m, &rq->push, rq->stream, *pos);
		}
		if (e == QUEUE_OK && !db_commit(rq->m))
			return QUEUE_OK;
		bool again = e != QUEUE_TAKEN &&
		             (retryable(rq->m) || r == 0); /* r == 0: the room's creator rolled back */
		db_rollback(rq->m);
		if (e == QUEUE_TAKEN)
			return QUEUE_TAKEN;
		if (!again)
			return QUEUE_FAILED;
	}
	return QUEUE_FAILED;
}

int chat_create(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"subject", "contacts", "groups", "public", "pm", "audience", NULL};
	struct create c = {0};
	int st = validate_body_object(rq, rp, fields);
	if (!st)
		st = validate_label(rq->json, "subject", "body.subject", false, &c.subject, rp);
	if (!st)
		st = validate_id_array(rq->json, "contacts", "body.contacts", id_valid, CHAT_CONTACTS_MAX,
		                       &c.contacts, rp);
	if (!st)
		st = validate_id_array(rq->json, "groups", "body.groups", id_group_valid, CHAT_GROUPS_MAX, &c.groups,
		                       rp);
	if (!st)
		st = validate_bool(rq->json, "public", &c.public, rp);
	if (!st)
		st = validate_bool(rq->json, "pm", &c.pm, rp);
	if (!st)
		st = validate_audience(rq->json, "audience", "body.audience", AUDIENCE_CHAT, &c.audience, rp);
	if (!st)
		st = create_rules(&c, rp);
	if (!st)
		st = validate_contacts_exist(rq, rp, c.contacts);
	if (st) {
		free(c.subject);
		json_object_put(c.contacts);
		json_object_put(c.groups);
		json_object_put(c.audience);
		return st;
	}
	char id[ID_LEN + 1], key[2 * ID_LEN + 2];
	id_next(id);
	if (c.pm)
		pm_key(c.contacts, key);
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "subject", json_str(c.subject));
	json_object_object_add(cmd, "contacts", c.contacts);
	json_object_object_add(cmd, "groups", c.groups);
	json_object_object_add(cmd, "public", json_object_new_boolean(c.public));
	json_object_object_add(cmd, "pm", c.pm ? json_object_new_string(key) : NULL);
	json_object_object_add(cmd, "created", json_object_new_string(isotime_text(rq->received_us / 1000000)));
	if (rq->as[0]) /* the creator gets admin on it (a server administrator acting as nobody needs none) */
		json_object_object_add(cmd, "creator", json_object_new_string(rq->as));
	if (c.audience)
		json_object_object_add(cmd, "audience", c.audience);
	free(c.subject);
	if (!c.pm)
		return retry_enqueue(rq, rp, "chat.create", cmd, id);
	uint64_t pos = 0;
	int e = pm_create(rq, key, cmd, id, &pos);
	json_object_put(cmd);
	return retry_accepted(rq, rp, e, "enqueue chat.create");
}

/* ---- Post ---- */

int chat_post(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"author", "body", NULL};
	const char *chat = req_param(rq, "id");
	/* The body first (it says nothing about the chat), then who asks. */
	int st = validate_body_object(rq, rp, fields);
	if (st)
		return st;
	const char *author = rq->as, *text = NULL;
	json_object *a = NULL;
	if (json_object_object_get_ex(rq->json, "author", &a) && a) {
		author = validate_plain(a);
		if (!author || !id_valid(author))
			return reply_invalid(rp, "body.author", "expected a contact id", "Invalid author");
	} else if (!author[0]) {
		return reply_invalid(rp, "body.author",
		                     "this token acts as no contact: name the author, or use as=",
		                     "Field 'author' is required");
	}
	if ((st = validate_text(rq->json, "body", "body.body", CHAT_BODY_MAX, &text, rp)) ||
	    (st = access_require(rq, rp, AUDIENCE_CHAT, chat, CHAT_CAN_WRITE, NULL, NULL)))
		return st;
	if (strcmp(author, rq->as)) {
		/* Another contact as the author: an administrator's, and a contact that exists (the
		 * caller's own, from its token or as=, does). */
		if (!auth_is_admin(rq))
			return reply_error(rp, 403, "Only administrators may post as another contact");
		json_object *named = json_object_new_array();
		json_object_array_add(named, json_object_new_string(author));
		st = validate_contacts_exist(rq, rp, named);
		json_object_put(named);
		if (st)
			return st;
	}
	char id[ID_LEN + 1];
	id_next(id);
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "chat", json_object_new_string(chat));
	json_object_object_add(cmd, "id", json_object_new_string(id));
	json_object_object_add(cmd, "author", json_object_new_string(author));
	json_object_object_add(cmd, "time", json_object_new_string(isotime_text(rq->received_us / 1000000)));
	json_object_object_add(cmd, "body", json_object_new_string_len(text, (int)strlen(text)));
	return retry_enqueue(rq, rp, "chat.post", cmd, id);
}

/* ---- Deletes: idempotent ---- */

/* A server administrator's delete (as no contact) is queued whatever the projection shows now:
 * the target may be a chat or a message whose creation is still queued, and the
 * delete, queued after it on the same stream, is applied after it; an id that
 * can never exist (malformed) is a 404. Anyone else needs the chat to be there
 * (after the wait, so an at= finds one still queued) and the level to delete it;
 * the author of a message may delete it even when it is still queued. */
int chat_delete(struct req *rq, struct reply *rp)
{
	const char *chat = req_param(rq, "id");
	int st = auth_acts_as_server_admin(rq)
	             ? 0
	             : access_require(rq, rp, AUDIENCE_CHAT, chat, CHAT_CAN_ADMIN, NULL, NULL);
	if (st)
		return st;
	if (!id_valid(chat))
		return access_missing(rp, AUDIENCE_CHAT, chat); /* can never exist: a clear 404 */
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "chat", json_object_new_string(chat));
	uint64_t pos = 0;
	int e = QUEUE_FAILED;
	/* The pair of a private-message room is free again for creates queued after this one. */
	if (!db_begin(rq->m)) {
		if (db_exec(rq->m, "DELETE FROM chat_pm WHERE db = %Q AND chat = %Q", rq->db, chat) >= 0 &&
		    (pos =
		         queue_push_tx(rq->m, &rq->push, rq->stream, rq->db, "chat.delete", json_text(cmd))))
			e = queue_answer_tx(rq->m, &rq->push, rq->stream, pos);
		if (e == QUEUE_OK && db_commit(rq->m))
			e = QUEUE_FAILED;
		if (e != QUEUE_OK)
			db_rollback(rq->m);
	}
	json_object_put(cmd);
	return retry_accepted(rq, rp, e, "enqueue chat.delete");
}

/* Who wrote item of chat: 1 the caller, 2 someone else, 0 no such item (yet), -1 the database failed. */
static int item_author(struct req *rq, const char *chat, const char *item)
{
	MYSQL_RES *res =
	    db_query(rq->m, "SELECT author FROM chat_items WHERE db = %Q AND id = %Q AND chat = %Q", rq->db,
	             item, chat);
	if (!res)
		return -1;
	MYSQL_ROW row = mysql_fetch_row(res);
	int r = !row ? 0 : strcmp(row[0], rq->as) ? 2 : 1;
	mysql_free_result(res);
	return r;
}

int chat_item_delete(struct req *rq, struct reply *rp)
{
	const char *chat = req_param(rq, "id"), *item = req_param(rq, "item");
	if (!id_valid(chat))
		return access_missing(rp, AUDIENCE_CHAT, chat); /* can never exist: a clear 404 */
	if (!id_valid(item))
		return reply_error(rp, 404, "Item '%.64s' does not exist", item);
	const char *only_by = NULL; /* the author the delete is restricted to */
	if (!auth_acts_as_server_admin(rq)) {
		int level;
		int st = access_require(rq, rp, AUDIENCE_CHAT, chat, CHAT_CAN_MODERATE, &level, NULL);
		if (st == 500)
			return st;
		if (st) {
			/* Not a moderator: its own item it may still delete, also one still
			 * queued (the command then deletes the item only if it is its own). */
			int own = id_valid(item) ? item_author(rq, chat, item) : 0;
			if (own < 0)
				return reply_internal(rp, "item lookup");
			if (own != 1 && !(own == 0 && level >= CHAT_CAN_VIEW))
				return st;
			*rp = (struct reply){.head = rp->head};
			only_by = rq->as;
		}
	}
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "chat", json_object_new_string(chat));
	json_object_object_add(cmd, "item", json_object_new_string(item));
	if (only_by)
		json_object_object_add(cmd, "author", json_object_new_string(only_by));
	return retry_enqueue(rq, rp, "chat.item_delete", cmd, NULL);
}

/* ---- Update: subject and audience ---- */

int chat_update(struct req *rq, struct reply *rp)
{
	static const char *const fields[] = {"subject", "audience", NULL};
	const char *chat = req_param(rq, "id");
	struct audience_facts f;
	int st = validate_body_object(rq, rp, fields);
	if (st)
		return st;
	char *subject = NULL;
	json_object *audience = NULL;
	bool has_subject = json_object_object_get_ex(rq->json, "subject", NULL);
	if ((st = validate_label(rq->json, "subject", "body.subject", false, &subject, rp)) ||
	    (st = validate_audience(rq->json, "audience", "body.audience", AUDIENCE_CHAT, &audience, rp)) ||
	    (st = access_require(rq, rp, AUDIENCE_CHAT, chat, CHAT_CAN_ADMIN, NULL, &f)) ||
	    (f.pm && (st = reply_invalid(rp, "body", "only its two contacts may see it, and it has no subject",
	                                 "A private-message chat cannot be changed")))) {
		free(subject);
		json_object_put(audience);
		return st;
	}
	if (!has_subject && !audience) /* nothing to change: nothing to wait for */
		return retry_enqueue(rq, rp, "chat.update", NULL, NULL);
	json_object *cmd = json_object_new_object();
	json_object_object_add(cmd, "chat", json_object_new_string(chat));
	if (has_subject)
		json_object_object_add(cmd, "subject", json_str(subject));
	if (audience)
		json_object_object_add(cmd, "audience", audience);
	free(subject);
	return retry_enqueue(rq, rp, "chat.update", cmd, NULL);
}
