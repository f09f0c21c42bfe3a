"""at=<clock> on requests, merged clocks, and GET /db/{db}/sync (SPEC §2)."""

import time
import urllib.parse

import pytest

from conftest import (
    FAST, IN_FLIGHT, NOT_YET, SYNC_TIMEOUT, covers, create_db, enc, get, import_contacts,
    in_flight, is_clock, merge, post, processor_paused,
)


def enc_raw(text):
    return urllib.parse.quote(text, safe="")


def contact_url(db, cid):
    return "/db/%s/contacts/%s" % (db, cid)


# ---------------------------------------------------------------- merging


def db_and_stream(admin):
    db = create_db(admin)[0]
    _, at = import_contacts(db, admin, [{"email": "probe@example.com"}], wait=False)
    return db, at[0][0]


def test_merged_clock_of_two_streams_waits_for_both(admin):
    db1, s1 = db_and_stream(admin)
    for _ in range(8):
        db2, s2 = db_and_stream(admin)
        if s2 != s1:
            break
    else:
        pytest.fail("eight new databases all landed on stream %d: databases are not spread over streams" % s1)
    with processor_paused():
        (c1,), at1 = import_contacts(db1, admin, [{"email": "one@example.com"}], wait=False)
        (c2,), at2 = import_contacts(db2, admin, [{"email": "two@example.com"}], wait=False)
        m = merge(at1, at2)
        # The client-side merge, checked against the example of SPEC §2.
        assert merge([[2, 83], [3, 117]], [[1, 12], [2, 85]]) == [[1, 12], [2, 85], [3, 117]]
        assert len(m) == 2 and is_clock(m)
        assert covers(m, at1) and covers(m, at2)
        # Each GET needs the other database's write too.
        b1 = in_flight("GET", contact_url(db1, c1), token=admin, query={"at": enc(m)})
        b2 = in_flight("GET", contact_url(db2, c2), token=admin, query={"at": enc(m)})
        # The same merged clock in object form.
        obj = dict((str(s), n) for s, n in m)
        b3 = in_flight("GET", contact_url(db2, c2), token=admin, query={"at": enc(obj)})
        time.sleep(IN_FLIGHT)
        assert b1.alive() and b2.alive() and b3.alive(), "requests with a merged at= did not wait"
    r1, r2, r3 = b1.result(), b2.result(), b3.result()
    assert r1.status == 200 and r1.body["id"] == c1, r1
    assert r2.status == 200 and r2.body["id"] == c2, r2
    assert r3.status == 200 and r3.body == r2.body, r3
    assert r1.body["name"] == "one@example.com"
    assert r2.body["name"] == "two@example.com"


def test_merged_clock_with_one_pair_unreached_waits(admin):
    # Other pairs of a merged clock already reached are not enough.
    db1, s1 = db_and_stream(admin)
    _, done = import_contacts(db1, admin, [{"email": "done@example.com"}], wait=True)
    with processor_paused():
        (cid,), pending = import_contacts(db1, admin, [{"email": "pending@example.com"}], wait=False)
        m = merge([[1, 1]], done, pending)
        assert len(m) == 2
        b = in_flight("GET", contact_url(db1, cid), token=admin, query={"at": enc(m)})
        time.sleep(IN_FLIGHT)
        assert b.alive(), "a merged clock with one unreached pair did not wait"
    r = b.result()
    assert r.status == 200, r
    assert r.body["id"] == cid


def test_merged_clock_same_database_covers_both_imports(db, admin):
    with processor_paused():
        (c1,), at1 = import_contacts(db, admin, [{"email": "a1@example.com"}], wait=False)
        (c2,), at2 = import_contacts(db, admin, [{"email": "a2@example.com"}], wait=False)
        assert at1[0][0] == at2[0][0], "one database, one stream"
        assert at2[0][1] > at1[0][1], "positions grow in commit order"
        m = merge(at1, at2)
        assert m == at2
        b = in_flight("GET", "/db/%s/contacts" % db, token=admin, query={"at": enc(m)})
        time.sleep(IN_FLIGHT)
        assert b.alive()
    r = b.result()
    assert r.status == 200, r
    assert [c["id"] for c in r.body["list"]] == [c1, c2]
    assert r.body["count"] == 2


def test_object_form_is_accepted(db, admin):
    with processor_paused():
        (cid,), at = import_contacts(db, admin, [{"email": "obj@example.com"}], wait=False)
        obj = {str(at[0][0]): at[0][1]}
        b = in_flight("GET", contact_url(db, cid), token=admin, query={"at": enc(obj)})
        time.sleep(IN_FLIGHT)
        assert b.alive(), "object-form at= did not wait"
    r = b.result()
    assert r.status == 200, r
    assert r.body["id"] == cid


def test_raw_unencoded_clock_is_accepted(db, admin):
    (cid,), at = import_contacts(db, admin, [{"email": "raw@example.com"}], wait=False)
    raw = "[[%d,%d]]" % tuple(at[0])
    r = get(contact_url(db, cid) + "?at=" + raw, token=admin)
    assert r.status == 200, r
    assert r.body["id"] == cid


def test_at_on_a_write_waits_before_validating(db, admin):
    # The second import carries the first one's clock, so it sees the first contact
    # and returns its id (duplicate e-mail) instead of creating a new one.
    with processor_paused():
        (c1,), at1 = import_contacts(db, admin, [{"email": "w@example.com"}], wait=False)
        b = in_flight("POST", "/db/%s/contacts/import" % db, body=[{"email": "W@example.com"}],
                      token=admin, query={"at": enc(at1)})
        time.sleep(IN_FLIGHT)
        assert b.alive(), "a write with at= did not wait"
    r = b.result()
    assert r.status == 202, r
    assert r.body["created"] == [c1]


# ---------------------------------------------------------------- already reached


def test_reached_clock_answers_at_once_even_while_paused(db, admin):
    (cid,), at = import_contacts(db, admin, [{"email": "done@example.com"}], wait=True)
    with processor_paused():
        r = get(contact_url(db, cid), token=admin, query={"at": enc(at)})
        assert r.status == 200, r
        assert r.elapsed < FAST, r
        obj = {str(at[0][0]): at[0][1]}
        r = get(contact_url(db, cid), token=admin, query={"at": enc(obj)})
        assert r.status == 200, r
        assert r.elapsed < FAST, r


def test_empty_clock_answers_at_once(db, admin):
    with processor_paused():
        for empty in ([], {}):
            r = get("/db/%s/contacts" % db, token=admin, query={"at": enc(empty)})
            assert r.status == 200, r
            assert r.elapsed < FAST, r


def test_at_on_server_endpoints(admin):
    dbid, at = create_db(admin, wait=False)
    r = get("/db/all", token=admin, query={"at": enc(at), "limit": "0"})
    assert r.status == 200, r
    r = get("/version", query={"at": enc(at)})
    assert r.status == 200, r


# ---------------------------------------------------------------- bad values

MALFORMED = [
    "garbage",
    "[[0,1]]",
    "[[2,0]]",
    "[[2,-1]]",
    "[[-2,1]]",
    "[[2,1.5]]",
    "[[2.0,1]]",
    "[[[2,1]]]",
    "[[2,[1]]]",
    "[[2,1]]x",
    "[[2,1]],",
    "[[2,1]",
    "[[2,99999999999999999999999]]",
    "[[99999999999999999999999,1]]",
    "[[2,18446744073709551617]]",
    "[[2,1e3]]",
    '[["2",1]]',
    "[[2]]",
    "[[2,1,3]]",
    "[2,1]",
    "[[2,1],[2,3]]",
    '{"2":-1}',
    '{"1":1,"1":1}',  # a stream named twice, as [[2,1],[2,3]] (json-c would keep the last)
    '{"1":1, "\\u0031":1}',
    '{"x":1}',
    '{"2":"1"}',
    "null",
    "1",
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_at_is_400(db, admin, bad):
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc_raw(bad)})
    assert r.status == 400, (bad, r)
    assert r.body["error"] == "Invalid at parameter", r
    assert r.elapsed < FAST


def test_position_beyond_head_is_400_at_once(db, admin):
    _, at = import_contacts(db, admin, [{"email": "head@example.com"}], wait=False)
    s, n = at[0]
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc([[s, n + 1000]])})
    assert r.status == 400, r
    assert r.elapsed < FAST, "a position never handed out must be refused at once"


def test_unknown_stream_is_400_at_once(db, admin):
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc([[999, 1]])})
    assert r.status == 400, r
    assert r.elapsed < FAST


def test_bad_at_on_a_write_queues_nothing(db, admin):
    r = post("/db/%s/contacts/import" % db, [{"email": "never@example.com"}], token=admin,
             query={"at": enc_raw("[[2,")})
    assert r.status == 400, r
    _, at = import_contacts(db, admin, [{"email": "after@example.com"}], wait=True)
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc(at)})
    assert [c["name"] for c in r.body["list"]] == ["after@example.com"]


# ---------------------------------------------------------------- /sync


def test_sync_waits_for_queued_writes(db, admin):
    with processor_paused():
        (cid,), at = import_contacts(db, admin, [{"email": "sync@example.com"}], wait=False)
        b = in_flight("GET", "/db/%s/sync" % db, token=admin)
        time.sleep(IN_FLIGHT)
        assert b.alive(), "/sync did not wait for the paused processor"
    r = b.result()
    assert r.status == 200, r
    assert list(r.body.keys()) == ["at"]
    assert is_clock(r.body["at"]), r
    assert covers(r.body["at"], at), (r.body, at)
    # Once /sync answered, the write is visible without at=.
    r = get(contact_url(db, cid), token=admin)
    assert r.status == 200, r
    assert r.body["id"] == cid


def test_sync_idle_database_answers_at_once(db, admin):
    _, at = import_contacts(db, admin, [{"email": "idle@example.com"}], wait=True)
    r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 200, r
    assert covers(r.body["at"], at)
    assert r.elapsed < FAST


def test_sync_past_the_timeout_is_503(db, admin):
    with processor_paused():
        _, at = import_contacts(db, admin, [{"email": "late@example.com"}], wait=False)
        r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 503, r
    assert r.headers["Retry-After"] == "1"
    assert r.body["error"] == NOT_YET
    assert covers(r.body["expected"], at), r.body
    assert not covers(r.body["current"], at), r.body
    assert r.elapsed >= SYNC_TIMEOUT - 0.1
    # And after resuming it syncs.
    r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 200, r
    assert covers(r.body["at"], at)


def test_sync_needs_a_token(db):
    r = get("/db/%s/sync" % db)
    assert r.status == 401, r
