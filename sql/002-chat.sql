-- 002-chat.sql — conversations: chats, their participants, their items, and private-message room keys.
-- Applied once by migrate.c. Times are UTC DATETIMEs written from "YYYY-MM-DDTHH:MM:SSZ" text
-- (no time zone conversion anywhere).

-- Projection: one row per chat; deleting a chat deletes its row, participants and items.
-- pm is "<cid>:<cid>" (the smaller id first) for a private-message room, NULL otherwise;
-- the unique index makes a second room for one pair impossible even if two creates
-- raced past chat_pm (see below). count and last are maintained by the appliers, in the
-- transaction that adds or removes an item, so they are exact.
CREATE TABLE IF NOT EXISTS chats (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subject VARCHAR(400) COLLATE utf8mb4_bin NULL,
  public TINYINT(1) NOT NULL DEFAULT 0,
  pm VARCHAR(23) CHARACTER SET ascii COLLATE ascii_bin NULL,
  count INT UNSIGNED NOT NULL DEFAULT 0,
  last DATETIME NULL,
  created DATETIME NOT NULL,
  PRIMARY KEY (db, id),
  UNIQUE KEY by_pm (db, pm),
  KEY by_public (db, public, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Projection: the contacts and groups a chat names, in the order the creator gave them.
CREATE TABLE IF NOT EXISTS chat_contacts (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  chat CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  contact CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ord INT UNSIGNED NOT NULL,
  PRIMARY KEY (db, chat, contact),
  KEY by_contact (db, contact)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS chat_groups (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  chat CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  grp VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ord INT UNSIGNED NOT NULL,
  PRIMARY KEY (db, chat, grp),
  KEY by_group (db, grp)
) ENGINE=InnoDB;

-- Projection: messages. seq is the order in which the processor applied them (one
-- stream applies a database's commands one at a time, so within a chat seq grows in
-- apply order): lists are newest first by seq, and a message applied later never
-- appears below one already listed. body is stored byte for byte.
CREATE TABLE IF NOT EXISTS chat_items (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  chat CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  author CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  time DATETIME NOT NULL,
  body LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  UNIQUE KEY by_id (db, id),
  KEY newest (db, chat, seq)
) ENGINE=InnoDB;

-- Not a projection: the private-message room of each pair, written by the front in
-- the transaction that queues the room's chat.create (pos = its position), and
-- removed in the transaction that queues its chat.delete. The primary key makes
-- concurrent creates for one pair agree on one room id: the second waits for the
-- first to commit, then answers with the same id and the same position.
CREATE TABLE IF NOT EXISTS chat_pm (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  pm VARCHAR(23) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  chat CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  stream INT UNSIGNED NOT NULL,
  pos BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (db, pm),
  KEY by_chat (db, chat)
) ENGINE=InnoDB;
