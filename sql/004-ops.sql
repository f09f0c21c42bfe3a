-- 004-ops.sql — what operators look at (GET /status, runorgctl status): which
-- processor holds each stream's lease, its heartbeat, and failed commands.

-- One row per runorg-processor that ever ran (name = host:pid), its heartbeat
-- refreshed every second (UTC). A processor that stopped keeps its row, with
-- a heartbeat that grows old; rows silent for a day are dropped at start.
CREATE TABLE IF NOT EXISTS processors (
  name VARCHAR(200) NOT NULL PRIMARY KEY,
  host VARCHAR(128) NOT NULL,
  pid INT UNSIGNED NOT NULL,
  started DATETIME NOT NULL,
  heartbeat DATETIME(6) NOT NULL
) ENGINE=InnoDB;

-- The named lock 'runorg.stream.N' is the lease itself (IS_USED_LOCK gives the
-- holder's connection id); a processor writes here which of its connections
-- took it, so that /status can name the holder.
CREATE TABLE IF NOT EXISTS leases (
  stream INT UNSIGNED NOT NULL PRIMARY KEY,
  processor VARCHAR(200) NOT NULL,
  conn BIGINT UNSIGNED NOT NULL,
  taken DATETIME(6) NOT NULL
) ENGINE=InnoDB;

-- Failed commands (status 2) per stream without a scan of the whole queue.
-- Applying a command leaves status at 0, so only enqueueing and failures
-- touch this index.
ALTER TABLE commands ADD KEY IF NOT EXISTS failed (status, stream);
