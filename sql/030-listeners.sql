-- 030-listeners.sql — the fronts that want to hear when a stream moves (hints).
-- Each runorg-fcgi worker registers the UDP address it listens on ("host:port")
-- and refreshes its heartbeat every second; every processor sends a datagram
-- "stream s is at n" after each commit to the listeners seen in the last few
-- seconds, and a keepalive now and then. A hint only makes a front read the
-- clock rows sooner: a lost one costs latency, never correctness.
CREATE TABLE IF NOT EXISTS listeners (
  addr VARCHAR(80) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  heartbeat DATETIME(6) NOT NULL,
  KEY by_heartbeat (heartbeat)
) ENGINE=InnoDB;
