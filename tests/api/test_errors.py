"""Routing, errors and server endpoints (SPEC §1, §3)."""

import pytest

from conftest import VERSION_RE, get, call, post, import_contacts, enc, is_clock

LIMIT = 1024 * 1024


def assert_error(r, status):
    assert r.status == status, r
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert r.is_json, r
    assert isinstance(r.body.get("error"), str) and r.body["error"], r
    assert "path" in r.body, r


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize("path", ["/nope", "/db", "/db/x/y/z/w/v", "/version/extra", "/", "/contacts"])
def test_unknown_route_is_404(path):
    r = get(path)
    assert_error(r, 404)
    assert r.body["error"] == "No such resource"


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/version", "GET"),
    ("POST", "/version", "GET"),
    ("POST", "/db/all", "GET"),
    ("GET", "/db/create", "POST"),
    ("GET", "/test/auth", "POST"),
    ("PUT", "/status", "GET"),
])
def test_wrong_method_is_405_with_allow(method, path, allow):
    r = call(method, path)
    assert_error(r, 405)
    assert r.headers["Allow"] is not None, r.headers
    methods = [m.strip() for m in r.headers["Allow"].split(",")]
    assert allow in methods
    assert method not in methods


def test_wrong_method_on_db_route_is_405(db, admin):
    r = call("DELETE", "/db/%s/contacts" % db, token=admin)
    assert_error(r, 405)
    assert "GET" in r.headers["Allow"]
    # GET on the literal /contacts/import is not /contacts/{cid}.
    r = get("/db/%s/contacts/import" % db, token=admin)
    assert_error(r, 405)
    assert [m.strip() for m in r.headers["Allow"].split(",")] == ["POST"]


def test_empty_segments_route_the_same(db, admin):
    assert get("//version").body == get("/version").body
    assert get("/version/").status == 200
    r = get("/db//all", token=admin, query={"limit": "0"})
    assert r.status == 200, r
    _, at = import_contacts(db, admin, [{"email": "seg@example.com"}], wait=True)
    r = get("//db/%s//contacts/" % db, token=admin)
    assert r.status == 200, r
    assert r.body["count"] == 1


def test_percent_encoded_segments_are_decoded(db, admin):
    r = get("/%76ersion")
    assert r.status == 200, r
    r = get("/db/%s/%%63ontacts" % db, token=admin)
    assert r.status == 200, r


def test_errors_are_json_with_route_template(db):
    r = get("/db/%s/contacts/abc" % db)
    assert_error(r, 401)
    assert r.body["path"] == "/db/{db}/contacts/{cid}"


# ---------------------------------------------------------------- bodies


@pytest.mark.parametrize("raw", [
    "", "[{", "[] x", "{'a':1}", "[{\"email\":\"a@b.c\",}]", "nul", b"[\"\xff\xfe\"]", "[1,]",
])
def test_malformed_json_body_is_400(db, admin, raw):
    r = post("/db/%s/contacts/import" % db, raw=raw, token=admin)
    assert_error(r, 400)
    assert r.body["path"] == "/db/{db}/contacts/import"


def test_malformed_json_body_on_db_create_is_400(admin):
    r = post("/db/create", raw='{"label":', token=admin)
    assert_error(r, 400)


def test_body_over_one_mib_is_413(db, admin):
    raw = '["' + "a" * (LIMIT + 1 - 4) + '"]'
    assert len(raw) == LIMIT + 1
    r = post("/db/%s/contacts/import" % db, raw=raw, token=admin, timeout=30)
    assert_error(r, 413)


def test_body_of_exactly_one_mib_is_not_413(db, admin):
    raw = '["' + "a" * (LIMIT - 4) + '"]'
    assert len(raw) == LIMIT
    r = post("/db/%s/contacts/import" % db, raw=raw, token=admin, timeout=30)
    # Parsed and rejected as an import (an item must be an object), not as too large.
    assert_error(r, 400)


def test_large_valid_import_under_the_limit(db, admin):
    items = [{"email": "bulk%04d@example.com" % i, "fullname": "Bulk %d" % i} for i in range(1000)]
    created, at = import_contacts(db, admin, items, wait=False)
    assert len(set(created)) == 1000
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc(at), "limit": "0"})
    assert r.body["count"] == 1000


# ---------------------------------------------------------------- server endpoints


def test_version():
    r = get("/version")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json")
    assert list(r.body.keys()) == ["version"]
    assert VERSION_RE.match(r.body["version"]), r


def test_status(db, admin):
    _, at = import_contacts(db, admin, [{"email": "status@example.com"}], wait=True)
    r = get("/status")
    assert r.status == 200, r
    # The keys of SPEC §3 first, in that order; operators' fields may follow (test_ops.py).
    assert list(r.body.keys())[:3] == ["version", "streams", "processor"]
    assert r.body["version"] == get("/version").body["version"]
    streams = r.body["streams"]
    assert isinstance(streams, list) and streams
    for s in streams:
        assert list(s.keys())[:4] == ["stream", "head", "done", "lag"], s
        assert s["done"] <= s["head"]
    nums = [s["stream"] for s in streams]
    assert 1 in nums, "stream 1 holds the server commands"
    assert at[0][0] in nums
    mine = [s for s in streams if s["stream"] == at[0][0]][0]
    assert mine["head"] >= at[0][1] and mine["done"] >= at[0][1]
    assert isinstance(r.body["processor"], dict)


def test_server_test_auth_works():
    r = post("/test/auth", {})
    assert r.status == 200, r
    assert set(r.body) == {"token", "email"}


def test_responses_are_compact_json(db, admin):
    r = get("/db/%s/contacts" % db, token=admin)
    assert r.text == '{"list":[],"count":0}'
    r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 200 and is_clock(r.body["at"])
