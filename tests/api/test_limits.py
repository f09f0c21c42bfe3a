"""Issue 12: the service cannot be turned against itself. Checks come before
waits (SPEC §8); waiting is admitted per token and parked; HEAD is answered
wherever GET is; every id taken from a path or as= is checked (4xx, never 500)."""

import json
import threading
import time

import pytest

from conftest import base_url, call, enc, get, import_contacts, in_flight, post, processor_paused, unique
from many import request_bytes, send_many

TIMEOUT_S = 1.5  # RUNORG_SYNC_TIMEOUT_MS of the test stack (tests/run.sh)
PER_TOKEN = 200  # RUNORG_MAX_WAITS_PER_TOKEN of the test stack (tests/run.sh)


def is_json_error(a):
    try:
        body = json.loads(a.body)
    except ValueError:
        return False
    return "json" in a.headers.get("content-type", "") and "error" in body and "path" in body


def lagging_clock(db, admin):
    """A clock handed out but not applied (call with the processor paused)."""
    r = post("/db/%s/contacts/import" % db, [{"email": unique() + "@lag.example.com"}], token=admin)
    assert r.status == 202 and r.body["at"], r
    return r.body["at"]


def test_tokenless_waiters_are_401_at_once(admin, db):
    with processor_paused():
        at = enc(lagging_clock(db, admin))
        reqs = [request_bytes("GET", "/db/%s/contacts" % db, query={"at": at}) for _ in range(2000)]
        answers = send_many(base_url(), reqs, timeout=60)
    statuses = {}
    for a in answers:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    assert statuses == {401: 2000}, statuses
    assert all(is_json_error(a) for a in answers)
    # None waited: a wait would last the whole sync timeout with the processor paused.
    assert max(a.elapsed for a in answers) < TIMEOUT_S, max(a.elapsed for a in answers)


def test_unknown_database_with_at_is_404_at_once(admin, db):
    with processor_paused():
        at = enc(lagging_clock(db, admin))
        started = time.monotonic()
        for token in (None, "x" * 22):
            r = get("/db/0000000000Z/contacts", token=token, query={"at": at})
            assert r.status == 404, r
    assert time.monotonic() - started < TIMEOUT_S


def test_unknown_database_is_404_before_a_bad_at_even_for_a_server_administrator(admin, db):
    """A server administrator may wait for a database being created; but the
    database's 404 still comes before the at= checks (SPEC §8), and a path id
    that can never be a database's does not wait at all."""
    with processor_paused():
        lag = lagging_clock(db, admin)
        never = [[lag[0][0], lag[0][1] + 1000]]
        for dbid, at in (("0000000000Z", "garbage"), ("0000000000Z", enc(never)), ("not-an-id", enc(lag))):
            r = get("/db/%s/contacts" % dbid, token=admin, query={"at": at})
            assert r.status == 404, (dbid, at, r)
            assert r.body == {"error": "Database %s does not exist" % dbid, "path": "/db/{db}/contacts"}, r
            assert r.elapsed < TIMEOUT_S, (dbid, at, r)
        # An existing database with a bad at=: the 400 stands.
        r = get("/db/%s/contacts" % db, token=admin, query={"at": "garbage"})
        assert r.status == 400 and r.body["error"] == "Invalid at parameter", r


def test_bad_body_without_token_is_401():
    r = call("POST", "/db/create", raw="{bad")
    assert r.status == 401, r


def test_a_body_too_large_is_checked_after_route_database_token_and_at(admin, db):
    # 413 is a fault of the body: every check SPEC §8 puts before the body comes first.
    big = b"[" + b" " * (1 << 20) + b"]"
    cases = [
        ("POST", "/nope", None, None, 404),
        ("PUT", "/version", None, None, 405),
        ("POST", "/db/0000000000Z/contacts/import", admin, None, 404),
        ("POST", "/db/%s/contacts/import" % db, None, None, 401),
        ("POST", "/db/%s/contacts/import" % db, admin, {"at": "bad"}, 400),
        ("POST", "/db/%s/contacts/import" % db, admin, None, 413),
    ]
    for method, path, token, query, status in cases:
        r = call(method, path, raw=big, token=token, query=query)
        assert r.status == status, (method, path, r)


def test_an_import_carries_at_most_ten_thousand_contacts(admin, db):
    """README "Limits": one import holds its stream about 0.2 s (at make bench's bulk rate)."""
    tag = unique()
    items = [{"email": "%s-%d@x.io" % (tag, i)} for i in range(10001)]
    r = post("/db/%s/contacts/import" % db, items, token=admin)
    assert r.status == 413 and r.body["error"] == "10001 contacts in body, only 10000 allowed", r
    r = get("/db/%s/sync" % db, token=admin)  # every command of the database queued so far is applied
    assert r.status == 200, r
    r = get("/db/%s/contacts/search" % db, token=admin, query={"q": tag, "at": enc(r.body["at"])})
    assert r.status == 200 and r.body["list"] == [], r  # nothing was queued
    created, _ = import_contacts(db, admin, items[:10000], wait=False)
    assert len(created) == 10000


def test_an_unreadable_query_is_400_after_route_database_and_token(admin, db):
    # A bad escape in the query (at= included) is a bad parameter: SPEC §8 checks it after the token.
    cases = [
        ("/nope", None, 404),
        ("/db/0000000000Z/contacts", admin, 404),
        ("/db/%s/contacts" % db, None, 401),
        ("/db/%s/contacts" % db, admin, 400),
        ("/version", None, 400),
    ]
    for path, token, status in cases:
        r = get(path + "?limit=1&at=%zz", token=token)
        assert r.status == status, (path, r)
    assert r.body["error"] == "Invalid query string" and r.body["at"] == "query", r


def test_waits_past_the_per_token_bound_are_refused_at_once(db):
    a_token = post("/test/auth", {}).body["token"]
    b_token = post("/test/auth", {}).body["token"]
    n = 3 * PER_TOKEN
    result = {}
    with processor_paused():
        at = enc(lagging_clock(db, a_token))
        reqs = [request_bytes("GET", "/db/%s/contacts" % db, token=a_token, query={"at": at}) for _ in range(n)]
        t = threading.Thread(target=lambda: result.update(answers=send_many(base_url(), reqs, timeout=30)))
        t.start()
        time.sleep(0.4)  # every request of A is in: admitted and parked, or refused
        other = in_flight("GET", "/db/%s/contacts" % db, token=b_token, query={"at": at, "limit": "0"})
        plain = get("/db/%s/contacts" % db, token=a_token, query={"limit": "0"})
        time.sleep(0.1)
    other = other.result()
    t.join(30)
    answers = result["answers"]
    refused = [a for a in answers if a.status == 503]
    served = [a for a in answers if a.status == 200]
    assert len(refused) + len(served) == n, sorted(set(a.status for a in answers))
    assert refused, "no wait was refused past the per-token bound"
    assert len(served) <= 2 * PER_TOKEN  # two worker processes, each its own bound
    for a in refused:
        assert a.headers.get("retry-after") == "1", a.headers
        assert is_json_error(a) and "waiting" in json.loads(a.body)["error"], a
        assert a.elapsed < TIMEOUT_S, a  # at once, not after a wait
    assert other.status == 200, other  # another token still waits, and is served
    assert plain.status == 200, plain  # requests without at= are never refused


def test_head_wherever_get(admin, db):
    for path in ("/version", "/db/%s/contacts" % db, "/db/%s/groups/admin/info" % db):
        g = get(path, token=admin)
        h = call("HEAD", path, token=admin)
        assert (h.status, h.text) == (g.status, ""), (path, h)
        assert h.headers["Content-Type"] == g.headers["Content-Type"]
        assert h.headers["Content-Length"] == g.headers["Content-Length"], (path, h.headers)
    h = call("HEAD", "/db/%s/contacts/import" % db, token=admin)
    assert h.status == 405 and h.text == "", h
    assert "POST" in h.headers["Allow"]


ROUTES = [
    ("GET", "/db/{db}/contacts/{x}"),
    ("GET", "/db/{db}/groups/{x}"),
    ("GET", "/db/{db}/groups/{x}/info"),
    ("POST", "/db/{db}/groups/{x}/add"),
    ("POST", "/db/{db}/groups/{x}/remove"),
    ("DELETE", "/db/{db}/groups/{x}"),
    ("GET", "/db/{db}/chat/{x}"),
    ("POST", "/db/{db}/chat/{x}"),
    ("GET", "/db/{db}/chat/{x}/items"),
    ("DELETE", "/db/{db}/chat/{x}"),
    ("DELETE", "/db/{db}/chat/0000000000C/items/{x}"),
    ("GET", "/db/{db}/chat/as/{x}"),
    ("GET", "/db/{x}/contacts"),
    ("GET", "/db/{x}/sync"),
]
BAD_IDS = ["%C3%A9", "%C3%A9" * 6, "x" * 300, "%FF", "a%20b"]


@pytest.mark.parametrize("method,pattern", ROUTES, ids=["%s %s" % r for r in ROUTES])
def test_malformed_ids_are_4xx_json(admin, db, method, pattern):
    for bad in BAD_IDS:
        path = pattern.replace("{db}", db).replace("{x}", bad)
        body = [] if path.endswith(("/add", "/remove")) else {"body": "hi"} if method == "POST" else None
        r = call(method, path, body=body, token=admin)
        assert 400 <= r.status < 500, (path, r)
        assert r.is_json and "error" in r.body and "path" in r.body, (path, r)


def test_malformed_as_is_4xx(admin, db):
    for bad in BAD_IDS:
        r = get("/db/%s/contacts" % db, token=admin, query={"as": bad})
        assert 400 <= r.status < 500 and r.is_json, (bad, r)


def test_admin_as_must_name_a_contact(admin, db):
    r = get("/db/%s/contacts" % db, token=admin, query={"as": "0000000000Q"})
    assert r.status == 404, r
    created, _ = import_contacts(db, admin, [{"email": unique() + "@as.example.com"}])
    assert get("/db/%s/contacts" % db, token=admin, query={"as": created[0]}).status == 200
