-- 006-idempotency.sql — writes a client may retry (SPEC §7): who queued each
-- command, and the answers recorded under an Idempotency-Key.

-- Who queued a command: the SHA-256 (hex) of the request's token, and the
-- contact it acted as (as=, or the token's own). GET /db/{db}/commands/<ref>
-- shows a command only to them, to members of group admin and to server
-- administrators. NULL for commands queued without a token (runorgctl).
-- Added at the end of the row: MariaDB adds nullable columns there in place.
ALTER TABLE commands
  ADD COLUMN IF NOT EXISTS token CHAR(64) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS contact CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NULL;

-- One row per (token, Idempotency-Key): the fingerprint of the request that
-- first used it (SHA-256 hex of method, path, as= and body) and the answer
-- it got, written by the transaction that queued its command (store/queue.c),
-- so that the answer is durable exactly when the command is. A retry within
-- idempotency_hours gets the same status, body and Location back. Rows older
-- than that are ignored, and deleted by the processor's janitor (created
-- index). Times are UTC.
CREATE TABLE IF NOT EXISTS idempotency (
  token CHAR(64) CHARACTER SET ascii NOT NULL,
  idem_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request CHAR(64) CHARACTER SET ascii NOT NULL,
  status SMALLINT UNSIGNED NOT NULL,
  location VARCHAR(400) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created DATETIME(6) NOT NULL,
  PRIMARY KEY (token, idem_key),
  KEY by_created (created)
) ENGINE=InnoDB;
