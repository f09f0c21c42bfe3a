-- 031-idempotency.sql — writes a client may retry (SPEC §7): who queued each
-- command, and the answers recorded under an Idempotency-Key.

-- Who queued a command: the SHA-256 (hex) of the request's token, and the
-- contact it acted as (as=, or the token's own). GET /db/{db}/commands/<ref>
-- shows a command only to them, to members of group admin and to server
-- administrators. NULL for commands queued without a token (runorgctl).
-- Added at the end of the row: MariaDB adds nullable columns there in place.
ALTER TABLE commands
  ADD COLUMN IF NOT EXISTS token CHAR(64) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS contact CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NULL;

-- One row per (token, Idempotency-Key), named by id: the first 16 bytes of
-- SHA-256(<token's SHA-256 in hex> "\n" <key>) (store/idem.c), so that the
-- primary key and the index on created stay small. request: the first 16
-- bytes of the SHA-256 of the request that first used the key (its method,
-- path, as= and body); then the answer it got, written by the transaction
-- that queued its command (store/queue.c), so that the answer is durable
-- exactly when the command is. A retry within idempotency_hours gets the same
-- status, body and Location back. Older rows are ignored, and deleted by the
-- processor's janitor. Times are UTC. The answer is kept as bytes, as sent:
-- no character set to convert on the way in, where writes wait for it.
CREATE TABLE IF NOT EXISTS idempotency (
  id BINARY(16) NOT NULL PRIMARY KEY,
  request BINARY(16) NOT NULL,
  status SMALLINT UNSIGNED NOT NULL,
  location VARBINARY(400) NOT NULL,
  body MEDIUMBLOB NOT NULL,
  created DATETIME(6) NOT NULL,
  KEY by_created (created)
) ENGINE=InnoDB;
