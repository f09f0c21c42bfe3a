"""Authentication (SPEC §1), test-mode auth, /db/create, /db/all, database existence."""

import datetime
import time

import pytest

from conftest import (
    FAST, ID_RE, IN_FLIGHT, TIME_RE, TOKEN_RE, create_db, enc, get, gravatar, import_contacts,
    in_flight, is_clock, post, processor_paused, unique,
)


def db_token(db, email=None):
    body = {} if email is None else {"email": email}
    r = post("/db/%s/test/auth" % db, body)
    assert r.status == 202, r
    return r.body


# ---------------------------------------------------------------- server admin


def test_server_test_auth_gives_an_admin_token():
    r = post("/test/auth", {})
    assert r.status == 200, r
    assert list(r.body.keys()) == ["token", "email"]
    assert TOKEN_RE.match(r.body["token"]), r
    assert isinstance(r.body["email"], str) and "@" in r.body["email"]
    # It is a server-administrator token: /db/all accepts it.
    assert get("/db/all", token=r.body["token"], query={"limit": "0"}).status == 200


def test_two_server_tokens_differ():
    a = post("/test/auth", {}).body["token"]
    b = post("/test/auth", {}).body["token"]
    assert a != b


def test_db_create_without_admin_token_is_401(db):
    assert post("/db/create", {"label": "x"}).status == 401
    assert post("/db/create", {"label": "x"}, token="garbage0000000").status == 401
    # A contact's token of a database is not a server administrator's.
    tok = db_token(db)["token"]
    r = post("/db/create", {"label": "x"}, token=tok)
    assert r.status == 401, r
    assert r.body["error"] and r.body["path"] == "/db/create"


def test_db_create_answers_202_id_at(admin):
    label = unique("create")
    r = post("/db/create", {"label": label}, token=admin)
    assert r.status == 202, r
    assert list(r.body.keys()) == ["id", "at"]
    assert ID_RE.match(r.body["id"])
    assert is_clock(r.body["at"]) and len(r.body["at"]) == 1
    assert r.body["at"][0][0] == 1, "server commands go to stream 1"


def test_db_create_bad_label_is_400(admin):
    for body in ({}, {"label": 5}, {"label": "   "}, {"label": "x" * 81}, []):
        r = post("/db/create", body, token=admin)
        assert r.status == 400, (body, r)


def test_db_all_requires_admin(db):
    assert get("/db/all").status == 401
    assert get("/db/all", token="nope1234567").status == 401
    assert get("/db/all", token=db_token(db)["token"]).status == 401


def test_db_all_lists_the_created_database(admin):
    label = unique("listed") + " ÉTÉ"
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dbid, _ = create_db(admin, label=label)
    after = datetime.datetime.now(datetime.timezone.utc)
    r = get("/db/all", token=admin, query={"limit": "0"})
    assert r.status == 200, r
    assert r.body["list"] == []
    count = r.body["count"]
    assert count >= 1
    # Creation order: the newest is last.
    r = get("/db/all", token=admin, query={"offset": str(max(0, count - 5))})
    assert r.status == 200, r
    assert r.body["count"] == count
    entry = r.body["list"][-1]
    assert list(entry.keys()) == ["id", "label", "created"]
    assert entry["id"] == dbid
    assert entry["label"] == label
    assert TIME_RE.match(entry["created"]), entry
    created = datetime.datetime.strptime(entry["created"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before - datetime.timedelta(seconds=5) <= created <= after + datetime.timedelta(seconds=5)


def test_db_label_is_normalized(admin):
    tag = unique("norm")
    dbid, _ = create_db(admin, label="  %s \t  label  " % tag)
    count = get("/db/all", token=admin, query={"limit": "0"}).body["count"]
    r = get("/db/all", token=admin, query={"offset": str(max(0, count - 5))})
    entry = [e for e in r.body["list"] if e["id"] == dbid]
    assert entry and entry[0]["label"] == "%s label" % tag, r.body


def test_db_all_default_limit_is_100(admin):
    r = get("/db/all", token=admin)
    assert r.status == 200
    assert len(r.body["list"]) == min(100, r.body["count"])


# ---------------------------------------------------------------- database tokens


def test_contacts_without_token_is_401(db):
    r = get("/db/%s/contacts" % db)
    assert r.status == 401, r
    assert r.body["path"] == "/db/{db}/contacts"
    assert isinstance(r.body["error"], str) and r.body["error"]


@pytest.mark.parametrize("header", [
    "RUNORG token=garbage",
    "RUNORG token=0123456789abcdefghij",
    "RUNORG token=",
    "Bearer 0123456789abcdefghij",
    "garbage",
])
def test_contacts_with_bad_token_is_401(db, header):
    r = get("/db/%s/contacts" % db, headers={"Authorization": header})
    assert r.status == 401, r


# RFC 7235 §2.1 credentials: the scheme, 1*SP, then auth-params with optional
# white space around '=' and ',', values a token or a quoted-string, names in any case.
@pytest.mark.parametrize("form,status", [
    ("RUNORG token=%s", 200),
    ("runorg TOKEN=%s", 200),
    ("RUNORG  token=%s", 200),
    ("RUNORG token = %s", 200),
    ('RUNORG token="%s"', 200),
    ("RUNORG token=%s, realm=runorg", 200),
    ('RUNORG realm="a, b", token=%s', 200),
    ("RUNORG %s", 401),
    ("RUNORGtoken=%s", 401),
    ("RUNORG token=%s;", 401),
    ('RUNORG token="%s', 401),
    ("RUNORG token=%s, token=%s", 401),
    ("Bearer token=%s", 401),
])
def test_authorization_header_forms(db, admin, form, status):
    r = get("/db/%s/contacts" % db, headers={"Authorization": form.replace("%s", admin)}, query={"limit": "0"})
    assert r.status == status, r


def test_db_test_auth_answers_202_token_at_id(db):
    r = post("/db/%s/test/auth" % db, {})
    assert r.status == 202, r
    assert list(r.body.keys()) == ["token", "at", "id"]
    assert TOKEN_RE.match(r.body["token"])
    assert ID_RE.match(r.body["id"])
    assert is_clock(r.body["at"])


def test_db_test_auth_token_works_at_once(db):
    with processor_paused():
        t = db_token(db, "now@example.com")
        r = get("/db/%s/contacts" % db, token=t["token"])
        assert r.status == 200, r
        assert r.elapsed < FAST


def test_db_test_auth_creates_the_contact(db, admin):
    t = db_token(db)
    r = get("/db/%s/contacts/%s" % (db, t["id"]), token=t["token"], query={"at": enc(t["at"])})
    assert r.status == 200, r
    assert r.body == {"id": t["id"], "name": "test@runorg.com", "gender": None,
                      "pic": gravatar("test@runorg.com")}


def test_db_test_auth_reuses_the_contact(db, admin):
    a = db_token(db, "same@example.com")
    b = post("/db/%s/test/auth" % db, {"email": "same@example.com"}, query={"at": enc(a["at"])})
    assert b.status == 202, b
    assert b.body["id"] == a["id"]
    assert b.body["token"] != a["token"]
    # Both tokens work.
    assert get("/db/%s/contacts" % db, token=a["token"]).status == 200
    assert get("/db/%s/contacts" % db, token=b.body["token"]).status == 200


def test_db_test_auth_bad_email_is_400(db):
    for body in ({"email": "not-an-email"}, {"email": 5}, {"email": ""}):
        r = post("/db/%s/test/auth" % db, body)
        assert r.status == 400, (body, r)


def test_token_of_another_database_is_401(admin):
    db1 = create_db(admin)[0]
    db2 = create_db(admin)[0]
    t2 = db_token(db2)
    assert get("/db/%s/contacts" % db2, token=t2["token"]).status == 200
    r = get("/db/%s/contacts" % db1, token=t2["token"])
    assert r.status == 401, r
    r = post("/db/%s/contacts/import" % db1, [{"email": "x@example.com"}], token=t2["token"])
    assert r.status == 401, r
    assert get("/db/%s/sync" % db1, token=t2["token"]).status == 401


def test_as_another_contact_is_401(db, admin):
    a = db_token(db, "a@example.com")
    b = db_token(db, "b@example.com")
    url = "/db/%s/contacts" % db
    assert get(url, token=a["token"], query={"as": a["id"], "at": enc(b["at"])}).status == 200
    r = get(url, token=a["token"], query={"as": b["id"]})
    assert r.status == 401, r
    # A server administrator may act as anyone.
    assert get(url, token=admin, query={"as": b["id"]}).status == 200


# ---------------------------------------------------------------- database existence


def test_database_created_without_waiting_is_404_until_synced(admin):
    with processor_paused():
        dbid, at = create_db(admin, wait=False)
        r = get("/db/%s/contacts" % dbid, token=admin)
        assert r.status == 404, r
        assert r.body == {"error": "Database %s does not exist" % dbid, "path": "/db/{db}/contacts"}
        b = in_flight("GET", "/db/%s/contacts" % dbid, token=admin, query={"at": enc(at)})
        time.sleep(IN_FLIGHT)
        assert b.alive(), "at= did not wait for the database creation"
    r = b.result()
    assert r.status == 200, r
    assert r.body == {"list": [], "count": 0}
    # From now on without at= too.
    assert get("/db/%s/contacts" % dbid, token=admin).status == 200


@pytest.mark.parametrize("dbid", ["00000000000", "zzzzzzzzzzz", "short", "bad-id!"])
def test_unknown_database_is_404(admin, dbid):
    r = get("/db/%s/contacts" % dbid, token=admin)
    assert r.status == 404, r
    assert r.body["error"] == "Database %s does not exist" % dbid
