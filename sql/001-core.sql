-- 001-core.sql — the queue (streams, commands), the clock rows, and who gets in (tokens, nodes).
-- Applied once by migrate.c; the version row in schema_version records it.

-- One row per stream: the last position handed out. Enqueue takes the next
-- position with UPDATE ... head = LAST_INSERT_ID(head + 1) in the same
-- transaction that inserts the command, so the row lock orders commits and
-- positions are gap-free.
CREATE TABLE IF NOT EXISTS streams (
  stream INT UNSIGNED NOT NULL PRIMARY KEY,
  head BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB;

-- One row per stream: the last position applied, and when (microseconds since
-- the epoch). Only the processor writes it, in the transaction that applies
-- the command, so a crash never applies a command twice nor loses one.
CREATE TABLE IF NOT EXISTS clocks (
  stream INT UNSIGNED NOT NULL PRIMARY KEY,
  done BIGINT UNSIGNED NOT NULL DEFAULT 0,
  done_us BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB;

-- The queue. A command is applied once its pos is at or below its stream's
-- clocks.done; status 2 marks one that could not be applied (reason says why).
CREATE TABLE IF NOT EXISTS commands (
  stream INT UNSIGNED NOT NULL,
  pos BIGINT UNSIGNED NOT NULL,
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NULL,
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL,
  payload LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created DATETIME(6) NOT NULL,
  status TINYINT NOT NULL DEFAULT 0,
  reason VARCHAR(255) NULL,
  PRIMARY KEY (stream, pos)
) ENGINE=InnoDB;

-- Access tokens, stored as SHA-256 hex. db NULL = server administrator.
CREATE TABLE IF NOT EXISTS tokens (
  hash CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NULL,
  contact CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created DATETIME NOT NULL
) ENGINE=InnoDB;

-- Each process that makes identifiers takes a node number here (id.c).
CREATE TABLE IF NOT EXISTS nodes (
  node BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  started DATETIME NOT NULL
) ENGINE=InnoDB;

-- Projection: databases (tenants). stream is chosen at creation and kept.
CREATE TABLE IF NOT EXISTS dbs (
  id CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  label VARCHAR(400) NOT NULL,
  created DATETIME NOT NULL,
  stream INT UNSIGNED NOT NULL
) ENGINE=InnoDB;

-- Projection: contacts. search holds the words of name and e-mail; its
-- collation makes LIKE case- and accent-insensitive.
CREATE TABLE IF NOT EXISTS contacts (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  email VARCHAR(400) COLLATE utf8mb4_bin NOT NULL,
  email_key VARCHAR(400) COLLATE utf8mb4_bin NOT NULL,
  fullname VARCHAR(400) COLLATE utf8mb4_bin NULL,
  firstname VARCHAR(400) COLLATE utf8mb4_bin NULL,
  lastname VARCHAR(400) COLLATE utf8mb4_bin NULL,
  gender CHAR(1) CHARACTER SET ascii NULL,
  name VARCHAR(400) COLLATE utf8mb4_bin NOT NULL,
  pic VARCHAR(80) CHARACTER SET ascii NOT NULL,
  search VARCHAR(1000) COLLATE utf8mb4_unicode_ci NOT NULL,
  PRIMARY KEY (db, id),
  KEY by_email (db, email_key(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Projection: groups and memberships (group 'admin' exists in every database).
CREATE TABLE IF NOT EXISTS `groups` (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  label VARCHAR(400) COLLATE utf8mb4_bin NULL,
  count INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (db, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS group_members (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  grp VARCHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  contact CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (db, grp, contact),
  KEY by_contact (db, contact)
) ENGINE=InnoDB;
