"""The workers' caches (app/fcgi/cache.c, the token cache in auth.c) against the
real stack: a cached answer never outlives the write that changes it, a worker
never answers older than what another worker has already answered, a revoked
token is refused once runorgctl returns, and a cached answer never skips the
token check. Many requests at once, so that both workers answer and keep
their own copies."""

import time
from concurrent.futures import ThreadPoolExecutor

from conftest import create_db, enc, get, import_contacts, in_flight, post, revoke, unique

SPREAD = 24  # requests sent at once: enough for every worker to take some


def all_at_once(fn, n=SPREAD):
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def db_token(db, email):
    r = post("/db/%s/test/auth" % db, {"email": email})
    assert r.status == 202, r
    get("/db/%s/sync" % db, query={"at": enc(r.body["at"])}, token=r.body["token"])
    return r.body


def test_cached_answers_follow_every_write(admin, db):
    assert post("/db/%s/groups" % db, {"id": "crew", "label": "Crew"}, token=admin).status == 202
    created, at = import_contacts(db, admin, [{"email": unique() + "@cache.example.com"} for _ in range(5)])
    info = "/db/%s/groups/crew/info" % db
    assert get(info, token=admin, query={"at": enc(at)}).body["count"] == 0
    for n, cid in enumerate(created, start=1):
        # Warm: every worker keeps the current answer.
        assert {r.body["count"] for r in all_at_once(lambda: get(info, token=admin))} == {n - 1}
        r = post("/db/%s/groups/crew/add" % db, [cid], token=admin)
        assert r.status == 202, r
        w = get(info, token=admin, query={"at": enc(r.body["at"])})
        assert w.status == 200 and w.body["count"] == n, w
        # Once one worker has answered the new count, no worker answers the old one,
        # with at= or without.
        after = all_at_once(lambda: get(info, token=admin))
        assert [r.body["count"] for r in after] == [n] * SPREAD, after


def test_list_pages_are_kept_apart(admin, db):
    created, _ = import_contacts(db, admin, [{"email": "p%d@cache.example.com" % i} for i in range(3)])
    for limit in (1, 2, 3, 1, 2, 3):
        r = get("/db/%s/contacts" % db, token=admin, query={"limit": str(limit)})
        assert r.status == 200 and len(r.body["list"]) == limit, r
        assert r.body["count"] == 3, r


def test_a_revoked_token_is_refused_once_runorgctl_returns(admin, db):
    t = db_token(db, unique() + "@cache.example.com")
    path = "/db/%s/contacts/%s" % (db, t["id"])
    assert {r.status for r in all_at_once(lambda: get(path, token=t["token"]))} == {200}
    revoke(t["token"])
    assert {r.status for r in all_at_once(lambda: get(path, token=t["token"]))} == {401}


def test_a_cached_answer_never_skips_the_token_check(admin, db):
    other, _ = create_db(admin)
    mine = db_token(db, unique() + "@cache.example.com")
    theirs = db_token(other, unique() + "@cache.example.com")
    path = "/db/%s/contacts/%s" % (db, mine["id"])
    for _ in range(3):
        assert {r.status for r in all_at_once(lambda: get(path, token=mine["token"]))} == {200}
        assert {r.status for r in all_at_once(lambda: get(path, token=theirs["token"]))} == {401}
        assert {r.status for r in all_at_once(lambda: get(path))} == {401}
        assert {r.status for r in all_at_once(lambda: get(path, token="A" * 22))} == {401}


def test_kept_answer_is_labelled_with_a_position_it_was_true_at(admin, db):
    """A read takes the stream's position, then reads; a command applied between
    the two must not leave an answer that holds it kept under the older position
    (another worker could then answer older data after this answer). The test
    switch test_pause_ms (test mode only) holds the read between the two;
    X-RunOrg-Kept (test mode only) names the position an answer is kept under."""
    import_contacts(db, admin, [{"email": unique() + "@kept.example.com"}])
    url = "/db/%s/contacts" % db
    query = {"test_pause_ms": "800", "q": unique("miss")}  # a query no request made before: a miss
    slow = in_flight("GET", url, token=admin, query=query)
    time.sleep(0.25)  # the slow read has its position and sleeps
    created, at = import_contacts(db, admin, [{"email": unique() + "@kept.example.com"}])
    r = slow.result()
    assert r.status == 200, r
    assert created[0] in [c["id"] for c in r.get("list")], "the read ran after the apply"
    kept = r.headers.get("X-RunOrg-Kept")
    assert kept is None or int(kept) >= at[0][1], (kept, at, "kept under a position older than its data")
    # Kept answers exist at all (else the check above would prove nothing):
    # the same read again is kept (or served) under the position it is true at.
    again = get(url, token=admin, query=query)
    assert again.body == r.body, again
    kept = again.headers.get("X-RunOrg-Kept")
    assert kept is not None and int(kept) >= at[0][1], again.headers
