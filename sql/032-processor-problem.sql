-- 032-processor-problem.sql — what keeps a processor from applying, for GET /status.
-- NULL while it applies (or has nothing to apply); 'disk full' while MariaDB
-- refuses its writes for lack of space. Written with the heartbeat.
ALTER TABLE processors ADD COLUMN IF NOT EXISTS problem VARCHAR(64) NULL;
