"""Scenario 3: kill -9 random FastCGI workers under load. The master replaces
each one; requests the dead worker was serving get no answer (lighttpd answers
5xx, or the connection drops). Every 202 a client received is applied. Then the
clients retry what got no answer, the safe way (README, "Failures"): an import
after GET /db/{db}/sync, which makes it idempotent (the e-mail is found);
posts are not safe to retry blindly, and the test counts how many of them were
queued although their client never heard so."""

import os
import random
import signal
import time

from conftest import (
    api, check_invariants, children, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, wait_until, Load,
)

TOTAL = 8000
KILLS = 6


def test_kill_workers_during_load(stack):
    rng = random.Random(os.environ.get("FAULTS_SEED"))
    dbs = setup_dbs(stack, 3)
    master = stack.pid("fcgi")
    workers = children(master)
    assert workers, "runorg-fcgi has no workers"
    load = Load(stack.url, stack.token, mixed_op(dbs, "wk"), TOTAL, threads=12).start()
    killed, respawn = [], []
    for i in range(KILLS):
        if not wait_until(lambda: load.sent() >= (i + 1) * TOTAL / (KILLS + 2) or not load.running(), 60):
            break
        if not load.running():
            break
        victim = rng.choice(children(master))
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        # Replaced within a second or two (the master waits 1 s before replacing one that died young).
        assert wait_until(lambda: victim not in children(master) and len(children(master)) == len(workers), 10), \
            ("the master did not replace a worker", children(master))
        respawn.append(time.monotonic() - t0)
    results = load.join()
    assert len(killed) >= 3
    assert pid_alive(master) and stack.pid("fcgi") == master, "the master must survive"

    # The clients that got no 202 retry: imports after a sync (safe), posts are only counted.
    no_answer = [r for r in results if not r.accepted]
    bad = [r for r in no_answer if r.status is not None and r.status not in (500, 502, 503, 504)]
    assert bad == [], ("a dead worker must not turn into a wrong answer", bad[:5])
    retried = []
    for r in no_answer:
        if r.kind != "import":
            continue
        w = api.get("/db/%s/sync" % r.db, token=stack.token, timeout=30)
        assert w.status == 200, w
        again = api.post("/db/%s/contacts/import" % r.db, [{"email": r.key}], token=stack.token)
        assert again.status == 202, again
        retried.append((r, again))
    f = check_invariants(stack, results)
    # The retries created nothing twice: exactly one contact per e-mail (check_invariants
    # counts duplicates over the whole log, retries included).
    for r, again in retried:
        rows = stack.sql("SELECT id FROM contacts WHERE db = '%s' AND email = '%s'" % (r.db, r.key))
        assert rows == [[again.body["created"][0]]], (r, again, rows)
    assert f["duplicates"] == 0
    queued_posts = sum(1 for r in no_answer if r.kind == "post" and
                       stack.sql("SELECT COUNT(*) FROM commands WHERE kind = 'chat.post' AND "
                                 "JSON_VALUE(payload, '$.body') = '%s'" % r.key)[0][0] != "0")
    report("3 worker kill -9 x%d: sent %d, 202 %d, applied %d, duplicates %d, lost %d; no answer %d "
           "(%s), of which queued anyway %d (imports retried after sync: %d, no duplicate; posts queued "
           "without an answer: %d); worker replaced in max %.2fs"
           % (len(killed), f["sent"], f["accepted"], f["applied"], f["duplicates"], f["lost"], len(no_answer),
              ", ".join("%s: %d" % kv for kv in sorted(statuses(no_answer).items(), key=str)),
              f["unanswered_in_log"], len(retried), queued_posts, max(respawn)))
    report_row(3, "FastCGI worker kill -9 under load, x%d" % len(killed), f["accepted"], f["applied"], f["lost"],
               f["duplicates"], statuses(results), "worker replaced in max %.2fs" % max(respawn))
