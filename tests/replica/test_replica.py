"""Two web hosts of one database: front A reads the primary, front B a MariaDB
replica (README, "Scaling out"). What a client may count on through B:

- at= waits for the replica's own clock rows: a write made through A and
  read through B with the answer's at is there, always;
- a position handed out by the primary but not replicated yet is waited for,
  not refused (400 is for positions the primary never handed out);
- a replica that stops applying (SQL thread stopped) or dies (kill -9): at=
  answers 503 with current/expected at the deadline, and 200 as soon as it has
  caught up again; reads without at= are served stale with a Warning header
  (replica lagging) or by the primary (replica down);
- a revoked token is refused through B at once, however far behind its
  replica is; a token made through A works through B at once;
- /status of each front names its read server and the replica's lag.
"""

import os
import signal
import time

from conftest import (
    A, B, NOT_YET, STALE_MS, SYNC_TIMEOUT, Background, call, caught_up, contact_token, import_on, new_db, psql,
    replica_pid, rsql, start_replica, start_sql_thread, status, stop_sql_thread, wait_until,
)


def contacts(url, admin, db, at=None):
    return call(url, "GET", "/db/%s/contacts" % db, token=admin, at=at)


def emails(r):
    return sorted(c["name"] for c in r.body["list"])


# --------------------------------------------------------------------------
# Replicating


def test_write_on_a_read_at_on_b(admin):
    db, _ = new_db(admin)
    for i in range(20):
        cid, at = import_on(A(), admin, db, "w%d@example.com" % i)
        r = call(B(), "GET", "/db/%s/contacts/%s" % (db, cid), token=admin, at=at)
        assert r.status == 200, (i, r)
        assert r.body["id"] == cid
    r = contacts(B(), admin, db, at=at)
    assert r.status == 200 and r.body["count"] == 20, r


def test_write_on_b_goes_to_the_primary(admin):
    db, _ = new_db(admin)
    cid, at = import_on(B(), admin, db, "through-b@example.com")
    for url in (A(), B()):
        r = call(url, "GET", "/db/%s/contacts/%s" % (db, cid), token=admin, at=at)
        assert r.status == 200, (url, r)
    # Nothing was written on the replica itself: it is read-only for RunOrg.
    assert rsql("SELECT @@read_only") == [["1"]]


def test_sync_on_b_waits_for_what_a_queued(admin):
    db, _ = new_db(admin)
    cid, at = import_on(A(), admin, db, "sync@example.com")
    r = call(B(), "GET", "/db/%s/sync" % db, token=admin)
    assert r.status == 200, r
    assert r.body["at"][0][1] >= at[0][1], (r, at)  # the primary's head, not the replica's
    assert call(B(), "GET", "/db/%s/contacts/%s" % (db, cid), token=admin).status == 200


def test_status_names_each_fronts_read_server(admin):
    a, b = status(A())["read"], status(B())["read"]
    assert a["server"] == "primary" and a["replica"] is False, a
    assert b["replica"] is True and b["server"] == "127.0.0.1:%s" % os.environ["RUNORG_REPLICA_PORT"], b
    assert b["state"] == "up" and isinstance(b["lag_ms"], int) and b["stale"] is False, b
    rep = b["replication"]
    assert rep and rep["io_running"] and rep["sql_running"] and rep["last_error"] == "", b
    # The streams part comes from the primary on both fronts: the same heads.
    heads = lambda s: [(x["stream"], x["head"]) for x in s["streams"]]  # noqa: E731
    assert wait_until(lambda: heads(status(A())) == heads(status(B())), 5)


def test_at_beyond_the_primarys_heads_is_400_on_b(admin):
    db, at = new_db(admin)
    r = call(B(), "GET", "/db/%s/contacts" % db, token=admin, at=[[at[0][0], 10 ** 9]])
    assert r.status == 400 and r.body["error"] == "Invalid at parameter", r


# --------------------------------------------------------------------------
# The replica stops applying


def test_sql_thread_stopped_at_waits_then_503_then_200(admin):
    db, _ = new_db(admin)
    stop_sql_thread()
    cid, at = import_on(A(), admin, db, "stopped@example.com")
    # Handed out on the primary, not on the replica: waited for, not a 400.
    r = contacts(B(), admin, db, at=at)
    assert r.status == 503, r
    assert r.body["error"] == NOT_YET and r.body["expected"] == at, r
    assert r.headers["Retry-After"] == "1"
    assert SYNC_TIMEOUT - 0.2 <= r.elapsed <= SYNC_TIMEOUT + 3, r
    cur = dict(r.body["current"])
    assert cur.get(at[0][0], 0) < at[0][1], r
    # Through A (the primary) it is there.
    assert contacts(A(), admin, db, at=at).status == 200
    # A request waiting on B answers as soon as the replica has caught up.
    waiting = Background(B(), "GET", "/db/%s/contacts/%s" % (db, cid), token=admin, at=at)
    time.sleep(0.3)
    start_sql_thread()
    r = waiting.result()
    # 200 before its deadline (about 1.2 s after START SLAVE): it did not sleep it out.
    assert r.status == 200 and r.body["id"] == cid, r


def test_lagging_replica_serves_stale_with_a_warning(admin):
    db, at0 = new_db(admin)
    assert "Warning" not in contacts(B(), admin, db, at=at0).headers
    stop_sql_thread()
    cid, at = import_on(A(), admin, db, "stale@example.com")
    assert contacts(A(), admin, db, at=at).status == 200
    time.sleep(STALE_MS / 1000.0 + 0.3)
    r = contacts(B(), admin, db)
    assert r.status == 200 and r.body["count"] == 0, r  # what the replica has: without at=, allowed
    w = r.headers["Warning"]
    assert w and w.startswith('110 runorg "Response is Stale'), r.headers
    b = status(B())["read"]
    assert b["state"] == "up" and b["stale"] is True and b["lag_ms"] > STALE_MS, b
    assert [at[0][0], 1] in b["behind"], b
    assert b["replication"]["sql_running"] is False and b["replication"]["io_running"] is True, b
    # With at=, never stale: it waits (here in vain) instead.
    assert contacts(B(), admin, db, at=at).status == 503
    start_sql_thread()
    assert caught_up()
    assert wait_until(lambda: "Warning" not in contacts(B(), admin, db).headers, 5)
    r = contacts(B(), admin, db)
    assert r.body["count"] == 1, r
    assert status(B())["read"]["lag_ms"] < STALE_MS


# --------------------------------------------------------------------------
# Tokens through a lagging replica


def test_revoked_token_is_refused_through_a_lagging_replica(admin):
    db, _ = new_db(admin)
    _, at = import_on(A(), admin, db, "revoked@example.com")
    token, at = contact_token(admin, db, "revoked@example.com")
    other, at2 = contact_token(admin, db, "revoked@example.com")
    for t in (token, other):
        r = contacts(B(), t, db, at=at2)
        assert r.status == 200, r  # found on the replica, and remembered by B's workers
        assert contacts(B(), t, db).status == 200
    stop_sql_thread()
    r = call(A(), "DELETE", "/db/%s/tokens/%s" % (db, token), token=token)
    assert r.status == 200, r
    assert r.elapsed < 1.0, r  # the revoke does not wait for replicas
    # The replica still has the token's row; B refuses it all the same.
    assert rsql("SELECT COUNT(*) FROM tokens WHERE hash = SHA2('%s', 256)" % token) == [["1"]]
    for _ in range(20):  # every worker of B
        r = contacts(B(), token, db)
        assert r.status == 401, r
    # Tokens not revoked still work meanwhile (the primary vouches for them).
    for _ in range(10):
        assert contacts(B(), other, db).status == 200
    # A token made through A while the replica lags works through B at once.
    fresh, _ = contact_token(admin, db, "revoked@example.com")
    assert contacts(B(), fresh, db).status == 200
    # Introspection follows the same rules.
    r = call(B(), "GET", "/db/%s/tokens/%s" % (db, token), token=admin)
    assert r.status == 404, r
    r = call(B(), "GET", "/db/%s/tokens/%s" % (db, fresh), token=admin)
    assert r.status == 200 and r.body["token"] == fresh, r
    start_sql_thread()
    assert caught_up()
    assert rsql("SELECT COUNT(*) FROM tokens WHERE hash = SHA2('%s', 256)" % token) == [["0"]]
    for _ in range(10):
        assert contacts(B(), token, db).status == 401
        assert contacts(B(), other, db).status == 200


def test_runorgctl_revoke_is_refused_through_a_lagging_replica(admin):
    import subprocess
    db, _ = new_db(admin)
    import_on(A(), admin, db, "ctl@example.com")
    token, at = contact_token(admin, db, "ctl@example.com")
    assert contacts(B(), token, db, at=at).status == 200
    stop_sql_thread()
    run = os.path.join(os.environ["RUNORG_VAR"], "run")
    root = os.environ["RUNORG_ROOT"]
    e = dict(os.environ, RUNORG_DB_SOCKET=os.path.join(run, "mysql.sock"), RUNORG_DB_USER="runorg",
             RUNORG_DB_NAME="runorg", RUNORG_SQL_DIR=os.path.join(root, "sql"))
    r = subprocess.run([os.path.join(root, "build", "runorgctl"), "-c", os.path.join(root, "conf", "runorg.conf"),
                        "token", "revoke"], input=token.encode(), env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r
    for _ in range(10):
        assert contacts(B(), token, db).status == 401


# --------------------------------------------------------------------------
# The replica dies


def test_replica_killed_and_restarted(admin):
    db, _ = new_db(admin)
    cid0, at0 = import_on(A(), admin, db, "before@example.com")
    assert contacts(B(), admin, db, at=at0).status == 200
    pid = replica_pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not os.path.exists("/proc/%d" % pid), 10)
    cid, at = import_on(A(), admin, db, "during@example.com")
    assert contacts(A(), admin, db, at=at).status == 200
    # Without at=: the primary answers in the replica's place (fresh data).
    r = contacts(B(), admin, db)
    assert r.status == 200 and r.body["count"] == 2 and "Warning" not in r.headers, r
    # Writes through B go on.
    cid2, at2 = import_on(B(), admin, db, "during-b@example.com")
    assert wait_until(lambda: all(status(B())["read"]["state"] == "down" for _ in range(6)), 5), status(B())
    # With at= beyond what the replica had: 503 with current/expected at the deadline.
    r = contacts(B(), admin, db, at=at)
    assert r.status == 503 and r.body["expected"] == at, r
    assert dict(r.body["current"]).get(at[0][0], 0) < at[0][1], r  # what this worker saw of the replica
    # Tokens: checked on the primary meanwhile.
    token, _ = contact_token(admin, db, "before@example.com")
    assert contacts(B(), token, db).status == 200
    # Restarted: it catches up by itself (GTID), and a waiting at= answers.
    waiting = Background(B(), "GET", "/db/%s/contacts" % db, token=admin, at=at2)
    start_replica()
    r = waiting.result()
    # Answered, not dropped: 200 when the replica was back within the sync
    # timeout, else the deadline's 503 for that very clock (never a 5xx of its own).
    assert r.status == 200 or (r.status == 503 and r.body["expected"] == at2), r
    assert caught_up()
    r = contacts(B(), admin, db, at=at2)
    assert r.status == 200 and r.body["count"] == 3, r
    # Each worker of B finds it back on its own (its watch): ask a few times.

    def all_up():
        reads = [status(B())["read"] for _ in range(6)]
        return all(r["state"] == "up" and r["replication"] and r["replication"]["io_running"]
                   and r["replication"]["sql_running"] for r in reads)
    assert wait_until(all_up, 10), status(B())["read"]
    # Nothing lost, nothing applied twice: the replica's projections are the primary's.
    q = "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT(id, email, name))), 0) FROM contacts WHERE db = '%s'" % db
    assert rsql(q) == psql(q)
    q = "SELECT stream, done FROM clocks ORDER BY stream"
    assert wait_until(lambda: rsql(q) == psql(q), 10)
