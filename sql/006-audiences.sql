-- 006-audiences.sql — who may see and do what: the audience of each access level of groups and
-- chats (SPEC §5), decided in SQL where the memberships are.
--
-- One row per (resource, member, origin): the highest level that origin gives that member.
--   kind   'g' a group, 'c' a chat; rid its id
--   mkind  'a' anyone (mid ''), 'g' the members of group mid, 'c' contact mid
--   level  the rank of the access level; each includes the ones below it:
--          group 1 view, 2 list, 3 moderate, 4 admin
--          chat  1 view, 2 read, 3 write, 4 moderate, 5 admin
--   origin 0 the resource's "audience" (create, replaced as a whole by PUT);
--          1 what chat.create derives from the other fields: contacts and groups
--          write, public read for anyone, the creator admin (never replaced)
-- Only the highest level is stored: the levels below it come with it.
--
-- The two questions, each one indexed query (resources/audience.c):
-- - the caller's level on one resource: the rows of the PRIMARY KEY prefix
--   (db, kind, rid), a handful, each group row checked against
--   group_members' primary key (db, grp, contact);
-- - the resources the caller may view (GET /groups, GET /chat, /chat/as):
--   by_member, once for mkind 'a', once for ('c', the caller), and once per
--   group the caller is in (group_members.by_contact joined on by_member),
--   so the work follows the caller's own rows, not the number of groups.
-- Members of group admin and server administrators have every level of every
-- resource, private-message chats excepted (SPEC §5): that is decided in the
-- same queries, not stored here.
CREATE TABLE IF NOT EXISTS audiences (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  kind CHAR(1) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  rid VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  mkind CHAR(1) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  mid VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  origin TINYINT UNSIGNED NOT NULL,
  level TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (db, kind, rid, mkind, mid, origin),
  KEY by_member (db, kind, mkind, mid, rid, level)
) ENGINE=InnoDB;

-- Chats that exist already get what chat.create now derives (their creators
-- were not recorded): participants write, public chats read for anyone.
INSERT IGNORE INTO audiences (db, kind, rid, mkind, mid, origin, level)
  SELECT db, 'c', chat, 'c', contact, 1, 3 FROM chat_contacts;
INSERT IGNORE INTO audiences (db, kind, rid, mkind, mid, origin, level)
  SELECT db, 'c', chat, 'g', grp, 1, 3 FROM chat_groups;
INSERT IGNORE INTO audiences (db, kind, rid, mkind, mid, origin, level)
  SELECT db, 'c', id, 'a', '', 1, 2 FROM chats WHERE public = 1;

-- GET /db/{db}/groups lists groups in creation order: seq is the order in
-- which groups.create (or db.create, for admin) was applied.
ALTER TABLE `groups` ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  ADD UNIQUE KEY IF NOT EXISTS by_seq (seq);
