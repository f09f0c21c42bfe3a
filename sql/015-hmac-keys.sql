-- 015-hmac-keys.sql — the keys of each database that sign HMAC logins (SPEC §6).
-- secret holds the key sealed with AES-256-GCM under the server secret
-- (key_secret / key_secret_file of runorg.conf, never stored here), so a copy
-- of the database cannot forge a login. A deleted key stays listed with
-- enabled = 0 and its sealed secret wiped.
CREATE TABLE IF NOT EXISTS hmac_keys (
  db CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id CHAR(11) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  hash VARCHAR(8) CHARACTER SET ascii NOT NULL,
  secret VARCHAR(600) CHARACTER SET ascii NULL,
  created DATETIME NOT NULL,
  enabled TINYINT NOT NULL DEFAULT 1,
  PRIMARY KEY (db, id)
) ENGINE=InnoDB;
