"""Scenario 5: the database turns read-only under load (SET GLOBAL read_only = 1,
as a failover or a maintenance does; the stack's programs connect as the
non-SUPER user `runorg`, so it applies to them). Writes get a clear 503 with
Retry-After naming the cause, reads go on answering 200, nothing is half done:
a write refused is not in the command log, the processor records no command as
failed (it cannot move a clock either, so it waits), and once read_only is off
again everything queued is applied.

Also here, on a stack with test mode off: the test-mode endpoints answer 403."""

import time

from conftest import api, check_invariants, mixed_op, report, report_row, setup_dbs, statuses, wait_until, Load

READ_ONLY = 3.0
MESSAGE = "The database is read-only: writes are refused for now. Try again later."


def test_read_only_database(stack):
    dbs = setup_dbs(stack, 2)
    d0 = dbs[0]
    writes = Load(stack.url, stack.token, mixed_op(dbs, "ro"), 10 ** 6, threads=6, pace=0.003).start()
    reads = Load(stack.url, stack.token,
                 lambda i: ("read", d0["id"], None, "GET", "/db/%s/contacts?limit=5" % d0["id"], None),
                 10 ** 6, threads=2, pace=0.003).start()
    time.sleep(1.5)
    t_on = time.monotonic()
    stack.sql("SET GLOBAL read_only = 1")
    t_set = time.monotonic()
    time.sleep(0.5)
    done_ro = stack.done_total()
    time.sleep(READ_ONLY)
    assert stack.done_total() == done_ro, "nothing is applied while read-only"
    # The processor may not record anything as failed meanwhile.
    assert stack.sql("SELECT COUNT(*) FROM commands WHERE status <> 0") == [["0"]]
    t_off = time.monotonic()
    stack.sql("SET GLOBAL read_only = 0")
    t_back = time.monotonic()
    assert wait_until(lambda: stack.done_total() > done_ro, 30, 0.02)
    t_applied = time.monotonic()
    time.sleep(1.5)
    results = writes.stop() + reads.stop()

    wres = [r for r in results if r.kind != "read"]
    rres = [r for r in results if r.kind == "read"]
    assert [r for r in results if r.status not in (200, 202, 503)] == [], statuses(results)
    assert all(r.status == 200 for r in rres), ("reads go on while read-only", statuses(rres))
    during = [r for r in wres if r.t0 >= t_set + 0.2 and r.t1 <= t_off]
    assert during and all(r.status == 503 for r in during), statuses(during)
    refused = [r for r in wres if r.status == 503]
    for r in refused:
        assert r.headers["Retry-After"] == "1" and r.body["error"] == MESSAGE, r
    after = [r for r in wres if r.t0 >= t_back + 0.5]
    assert after and all(r.status == 202 for r in after), statuses(after)

    # Nothing half done: no refused write is in the log, every 202 is applied once.
    f = check_invariants(stack, wres, allow_unanswered_in_log=False)
    first_ok = min(r.t1 for r in wres if r.t0 >= t_back and r.status == 202)
    report("5 read-only (%.1fs): sent %d writes + %d reads (reads all 200), 202 %d, applied %d, duplicates %d, "
           "lost %d; writes refused with 503 %d, of them in the log 0; commands recorded as failed 0; "
           "SET read_only took %.2fs; after read_only=0: first 202 %.2fs, first apply %.2fs"
           % (t_off - t_set, len(wres), len(rres), f["accepted"], f["applied"], f["duplicates"], f["lost"],
              len(refused), t_set - t_on, first_ok - t_back, t_applied - t_back))
    report_row(5, "MariaDB read-only under load (%.1fs)" % (t_off - t_set), f["accepted"], f["applied"], f["lost"],
               f["duplicates"], statuses(results), "read_only=0 -> first 202 %.2fs" % (first_ok - t_back))


def test_test_mode_off_endpoints_are_403(stack):
    """Test mode is off on these stacks (the default): both test-mode endpoints say so."""
    db = api.create_db(stack.token)[0]
    for path, body in (("/test/auth", {}), ("/db/%s/test/auth" % db, {"email": "x@example.com"}),
                       ("/db/%s/test/auth" % db, {})):
        r = api.post(path, body)
        assert r.status == 403, r
        assert r.body["error"] == "Test mode is disabled", r
    # Also with a valid token: it is the mode that is off, not the caller that is wrong.
    r = api.post("/test/auth", {}, token=stack.token)
    assert r.status == 403, r
    # And nothing was made: no token besides the operator's, no contact.
    assert stack.sql("SELECT COUNT(*) FROM contacts WHERE db = '%s'" % db) == [["0"]]
