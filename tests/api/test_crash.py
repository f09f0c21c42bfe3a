"""Crash basics: kill -9 the processor mid-stream, restart it; every accepted
command is applied exactly once and the stream's clock equals its head.

Runs last (see conftest.pytest_collection_modifyitems)."""

import os
import signal
import subprocess
import threading
import time

from conftest import (
    create_db, enc, get, merge, pid_alive, post, processor_pid, repo_root,
)

# The processor applies up to 100 commands per transaction: the backlog built
# while it is stopped (from STOP_AT to RESUME_AT imports) must outlast its first
# runs after SIGCONT, and imports must still be going when it is killed.
TOTAL = 3000
THREADS = 6
STOP_AT = 100
RESUME_AT = 1200



def restart_stack():
    r = subprocess.run(["bash", os.path.join(repo_root(), "conf", "stack.sh"), "start"],
                       env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=180)
    assert r.returncode == 0, r.stdout.decode(errors="replace")[-3000:]


def stream_status(stream):
    st = get("/status", timeout=5).body
    mine = [s for s in st["streams"] if s["stream"] == stream]
    assert mine, st
    return mine[0]


def test_kill_processor_mid_stream(admin):
    db = create_db(admin)[0]
    lock = threading.Lock()
    accepted = {}   # email -> id
    clocks = []
    failures = []
    counter = iter(range(TOTAL))
    sent = [0]
    marks = {n: threading.Event() for n in (STOP_AT, RESUME_AT)}

    def worker():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            email = "crash%04d@example.com" % i
            try:
                r = post("/db/%s/contacts/import" % db, [{"email": email}], token=admin)
            except Exception as e:  # noqa: BLE001 - recorded, checked below
                with lock:
                    failures.append((email, repr(e)))
                continue
            with lock:
                sent[0] += 1
                if r.status == 202:
                    accepted[email] = r.body["created"][0]
                    clocks.append(r.body["at"])
                else:
                    failures.append((email, r.status, r.text[:200]))
                for n, ev in marks.items():
                    if sent[0] >= n:
                        ev.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    assert marks[STOP_AT].wait(60), "imports did not get going"
    old = processor_pid()
    # Let a backlog build up, then let the processor work on it and kill it mid-way.
    os.kill(old, signal.SIGSTOP)
    try:
        assert marks[RESUME_AT].wait(60), "imports stalled while the processor was stopped"
        with lock:
            stream = clocks[0][0][0]
        before = stream_status(stream)
    finally:
        os.kill(old, signal.SIGCONT)
    seen = before
    deadline = time.monotonic() + 3
    while seen["done"] == before["done"] and time.monotonic() < deadline:
        seen = stream_status(stream)
    os.kill(old, signal.SIGKILL)
    killed_at = sent[0]
    try:
        assert before["head"] > before["done"], ("no backlog when stopped", before)
        assert seen["done"] > before["done"], ("the processor made no progress after SIGCONT", before, seen)
        assert seen["done"] < seen["head"], ("the backlog was gone before the kill", seen)
        check_after_kill(db, admin, old, killed_at, threads, accepted, clocks, failures)
    finally:
        if not pid_alive(processor_pid()):
            restart_stack()


def check_after_kill(db, admin, old, killed_at, threads, accepted, clocks, failures):
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    # Writes never need the processor: every import was accepted.
    assert failures == []
    assert len(accepted) == TOTAL
    assert killed_at < TOTAL, "the processor was killed after the last import; not mid-stream"
    deadline = time.monotonic() + 5
    while pid_alive(old) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(old), "kill -9 did not stop the processor"

    restart_stack()
    new = processor_pid()
    assert new != old
    assert pid_alive(new)

    # Wait for everything with the merged clock, then for the database's queue.
    at = merge(*clocks)
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc(at), "limit": str(TOTAL)}, timeout=30)
    assert r.status == 200, r
    assert r.body["count"] == TOTAL, "each accepted import applied exactly once"
    ids = [c["id"] for c in r.body["list"]]
    assert len(ids) == len(set(ids)) == TOTAL
    assert set(ids) == set(accepted.values())
    by_id = dict((c["id"], c["name"]) for c in r.body["list"])
    for email, cid in accepted.items():
        assert by_id[cid] == email

    r = get("/db/%s/sync" % db, token=admin, timeout=30)
    assert r.status == 200, r
    assert len(at) == 1, "one database, one stream"
    mine = stream_status(at[0][0])
    assert mine["done"] == mine["head"], mine
    assert mine["head"] >= at[0][1]


def test_processor_works_after_restart(admin):
    # A fresh write after the crash test is applied by the restarted processor.
    db = create_db(admin)[0]
    r = post("/db/%s/contacts/import" % db, [{"email": "after@example.com"}], token=admin)
    assert r.status == 202, r
    cid = r.body["created"][0]
    r = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(r.body["at"])})
    assert r.status == 200, r
