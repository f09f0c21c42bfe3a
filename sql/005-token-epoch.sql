-- 005-token-epoch.sql — a counter that moves each time a token is revoked.
-- Workers keep the tokens they have checked in memory; the clock watcher reads
-- this counter with the clock rows, and a worker forgets every token it knows
-- when the counter has moved. runorgctl token revoke deletes the token and
-- bumps the counter in one transaction. Deleting a row of tokens by hand must
-- do the same: UPDATE token_epoch SET n = n + 1.
CREATE TABLE IF NOT EXISTS token_epoch (
  one TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  n BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO token_epoch (one, n) VALUES (1, 0);
