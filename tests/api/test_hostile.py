"""Hostile input: what a client may send that a well-behaved one would not.

Every case gets a clear answer (never a 500, never a hang, never a crash: the
server answers GET /version afterwards), and a refused write changes nothing.

Decisions (README, "Security"):
- Content-Type is not checked: a body is JSON whatever the header says (SPEC
  lists no 415). Tokens travel in the Authorization header, which no
  cross-site form can set, so accepting text/plain opens no CSRF hole.
- A \\u escape naming half of a surrogate pair is refused (400) in every body,
  not silently turned into U+FFFD.
- Error bodies are valid UTF-8 even when they echo bytes of the request that
  are not (they become U+FFFD).
- lighttpd refuses some malformed URLs itself (400, its own JSON answer from
  conf/errors) before runorg-fcgi sees them; those cases accept its 400 too.
  tests/api/test_edges.py checks the web server's own answers.
"""

import http.client
import json
import urllib.parse

import pytest

from conftest import (
    base_url, call, create_db, enc, get, import_contacts, post, unique, web_server_error,
)

MAX_BODY = 1048576  # conf/runorg.conf max_body


def raw_call(method, path, body=None, headers=None):
    """(status, headers, raw bytes) without any decoding."""
    u = urllib.parse.urlsplit(base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def strict_json(data):
    """The body must be JSON in strict UTF-8 (RFC 8259 §8.1)."""
    return json.loads(data.decode("utf-8", errors="strict"))


def alive():
    r = get("/version")
    assert r.status == 200, r


def head(db, admin):
    r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 200, r
    return r.body["at"]


# ------------------------------------------------------------- body size


def test_body_over_max_body_is_413(admin, db):
    body = b"[" + b" " * MAX_BODY + b"]"
    r = call("POST", "/db/%s/contacts/import" % db, raw=body, token=admin)
    assert r.status == 413, r
    assert r.body["path"] == "/db/{db}/contacts/import", r
    assert str(MAX_BODY) in r.body["error"]
    alive()


def test_body_at_max_body_is_read(admin, db):
    # Exactly max_body bytes is allowed: white space around a valid (empty) import.
    body = b"[]" + b" " * (MAX_BODY - 2)
    r = call("POST", "/db/%s/contacts/import" % db, raw=body, token=admin)
    assert r.status == 202, r
    assert r.body == {"created": [], "at": []}


def test_body_over_the_web_server_limit_is_413(admin, db):
    # Past lighttpd's own limit (16 MiB), lighttpd answers 413 itself.
    status, _, _ = raw_call("POST", "/db/%s/contacts/import" % db, body=b" " * (17 << 20),
                            headers={"Authorization": "RUNORG token=" + admin})
    assert status == 413
    alive()


def test_content_length_lies_are_refused(admin, db):
    # Content-Length says more than is sent: lighttpd waits, then gives up; either
    # way nothing is queued and the server lives.
    before = head(db, admin)
    u = urllib.parse.urlsplit(base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=3)
    conn.putrequest("POST", "/db/%s/contacts/import" % db)
    conn.putheader("Authorization", "RUNORG token=" + admin)
    conn.putheader("Content-Length", "100")
    conn.endheaders()
    conn.send(b'[{"email":"lie@example.com"}]')
    conn.sock.shutdown(1)  # no more bytes will come
    try:
        r = conn.getresponse()
        assert r.status in (400, 408), r.status
    except (http.client.HTTPException, OSError):
        pass
    conn.close()
    assert head(db, admin) == before
    alive()


# ------------------------------------------------------------- JSON shape


@pytest.mark.parametrize("depth", [33, 1000, 100000])
def test_deeply_nested_json_is_400(admin, db, depth):
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        r = call("POST", "/db/%s/contacts/import" % db, raw=body, token=admin)
        assert r.status == 400, r
        assert r.body["error"] == "Invalid JSON body" and r.body["reason"] == "nesting too deep", r
        assert r.elapsed < 2
    alive()


def test_nesting_within_the_limit_is_a_validation_error(admin, db):
    body = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]  # 31 levels
    r = post("/db/%s/contacts/import" % db, body, token=admin)
    assert r.status == 400, r
    assert r.body["at"] == "body[0]", r


@pytest.mark.parametrize("body", [
    b"", b" ", b"null", b"[", b"{", b'{"label":}', b"[1,]", b"[] []", b"[]x", b"\xef\xbb\xbf[]",
    b"NaN", b"Infinity", b"[1e999999]", b"'single'", b"/* comment */ []", b"\x00",
])
def test_malformed_json_is_400_and_changes_nothing(admin, db, body):
    before = head(db, admin)
    r = call("POST", "/db/%s/contacts/import" % db, raw=body, token=admin)
    assert r.status == 400, r
    assert head(db, admin) == before


def test_huge_numbers_and_keys(admin, db):
    for body in ('{"label":"x","label":"y"}', '{"label":1e400}', '{"label":123456789012345678901234567890}',
                 '{"label":-0}', '{"label":true}', '{"label":{"a":1}}', '{"id":-1}', '{"id":1.5}'):
        r = call("POST", "/db/%s/groups" % db, raw=body, token=admin)
        assert r.status in (202, 400), (body, r)
        if "label\":\"y" in body:
            assert r.status == 202  # json-c keeps the last of repeated keys
    alive()


# ------------------------------------------------------------- content type


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "application/json; charset=latin1", "garbage/\x7f"])
def test_content_type_is_not_checked(admin, db, ctype):
    email = unique("ct") + "@example.com"
    body = json.dumps([{"email": email}]).encode()
    headers = {"Authorization": "RUNORG token=" + admin}
    if ctype is not None:
        headers["Content-Type"] = ctype
    status, hdrs, data = raw_call("POST", "/db/%s/contacts/import" % db, body=body, headers=headers)
    if ctype == "garbage/\x7f":
        assert status in (202, 400), status  # lighttpd may refuse a control character in a header
        return
    assert status == 202, (status, data)
    assert hdrs["Content-Type"] == "application/json"
    assert strict_json(data)["created"]


def test_form_encoded_body_is_not_json(admin, db):
    r = call("POST", "/db/%s/groups" % db, raw="label=x&id=y", token=admin,
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400, r
    assert r.body["error"] == "Invalid JSON body"


# ------------------------------------------------------------- not UTF-8


@pytest.mark.parametrize("raw", [
    b'{"label":"\xff"}', b'{"label":"\xc3"}', b'{"label":"\xc0\xaf"}', b'{"label":"\xed\xa0\x80"}',
    b'{"label":"\xf4\x90\x80\x80"}', b'{"label":"\\ud800"}', b'{"label":"a\\udc00"}',
    b'{"label":"\\ud800\\u0041"}', b'{"\xff":"x"}', b'{"label":"a\\u0000b"}',
])
def test_invalid_text_in_a_body_is_400(admin, db, raw):
    before = head(db, admin)
    r = call("POST", "/db/%s/groups" % db, raw=raw, token=admin)
    assert r.status == 400, r
    assert head(db, admin) == before


def test_escaped_text_is_the_character(admin, db):
    r = call("POST", "/db/%s/groups" % db, raw=b'{"label":"\\ud83d\\ude00 \\\\ud800 \\u00e9"}', token=admin)
    assert r.status == 202, r
    info = get("/db/%s/groups/%s/info" % (db, r.body["id"]), token=admin, query={"at": enc(r.body["at"])})
    assert info.body["label"] == "\U0001F600 \\ud800 \u00e9"


@pytest.mark.parametrize("path", [
    "/db/%E9%E9/sync", "/db/{db}/contacts/%E9", "/db/{db}/contacts/%C3", "/db/{db}/groups/%E9x/info",
    "/db/{db}/chat/%C3%A9%C3/items", "/a%E9b", "/db/{db}/contacts/" + "%C3%A9" * 40 + "%C3",
])
def test_error_bodies_are_utf8_whatever_the_path(admin, db, path):
    status, hdrs, data = raw_call("GET", path.replace("{db}", db), headers={"Authorization": "RUNORG token=" + admin})
    assert status in (400, 404), (status, data)
    body = strict_json(data)  # RunOrg's answer, or lighttpd's own refusal (JSON too)
    assert body["error"], body


def test_non_utf8_query_values(admin, db):
    import_contacts(db, admin, [{"email": "latin@example.com", "fullname": "L\u00e9a"}])
    status, _, data = raw_call("GET", "/db/%s/contacts/search?q=L%%E9a" % db,
                               headers={"Authorization": "RUNORG token=" + admin})
    assert status in (200, 400), data
    if status == 200:
        assert strict_json(data)["list"] == []  # Latin-1 bytes are not "Léa"
    status, _, data = raw_call("GET", "/db/%s/contacts?as=%%E9" % db,
                               headers={"Authorization": "RUNORG token=" + admin})
    assert status in (400, 401), data
    if data.startswith(b"{"):
        strict_json(data)


# ------------------------------------------------------------- numbers in queries


@pytest.mark.parametrize("value,status", [
    ("99999999999999999999999999", 200), ("18446744073709551616", 200), ("0", 200), ("-1", 400),
    ("-99999999999999999999", 400), ("1e3", 400), ("0x10", 400), ("+5", 400), ("%205", 400), ("5%00", 400),
    ("", 400), ("5.0", 400), ("%E2%88%9E", 400),
])
def test_limit_and_offset(admin, db, value, status):
    for key in ("limit", "offset"):
        r = get("/db/%s/contacts" % db, token=admin, query={key: value})
        assert r.status == status, (key, value, r)
        if status == 200:
            assert r.body["count"] >= 0 and isinstance(r.body["list"], list)


def test_huge_offset_is_an_empty_page(admin, db):
    import_contacts(db, admin, [{"email": "off@example.com"}])
    r = get("/db/%s/contacts" % db, token=admin, query={"offset": "9" * 30, "limit": "9" * 30})
    assert r.status == 200, r
    assert r.body == {"list": [], "count": 1}
    for path in ("/db/all", "/db/%s/groups/admin" % db, "/db/%s/contacts/search?q=off" % db):
        r = get(path, token=admin, query={"offset": "9" * 30, "limit": "9" * 30})
        assert r.status == 200, (path, r)


# ------------------------------------------------------------- clocks


@pytest.mark.parametrize("clock", [
    "[[2,-1]]", "[[-2,1]]", "[[0,1]]", "[[2,0]]", '{"-2":1}', '{"2":-1}', "[[2,1.5]]", "[[2,1e3]]",
    "[[2,18446744073709551617]]", "[[99999999999,1]]", "[[2,1],[2,1]]", "[[2]]", "[[2,1,3]]", '[["2",1]]',
])
def test_negative_and_odd_clocks_are_400(admin, db, clock):
    # URL-encoded, and raw (SPEC §2 allows both).
    r = get("/db/%s/contacts" % db, token=admin, query={"at": urllib.parse.quote(clock, safe="")})
    r2 = get("/db/%s/contacts?at=%s" % (db, clock), token=admin)
    for x in (r, r2):
        assert x.status == 400, (clock, x)
        assert x.body["error"] == "Invalid at parameter"
        assert x.elapsed < 1


@pytest.mark.parametrize("pairs", [65, 1000])
def test_many_pair_clocks_are_400_at_once(admin, db, pairs):
    arr = "[" + ",".join("[%d,1]" % i for i in range(1, pairs + 1)) + "]"
    obj = "{" + ",".join('"%d":1' % i for i in range(1, pairs + 1)) + "}"
    for clock in (arr, obj):
        # Raw JSON in the query (SPEC §2 allows it) keeps the URL short enough for lighttpd.
        r = get("/db/%s/contacts?at=%s" % (db, clock), token=admin)
        assert r.status == 400, r
        assert r.elapsed < 1, r


def test_64_pair_clock_naming_unknown_streams_is_400(admin, db):
    clock = "[" + ",".join("[%d,1]" % i for i in range(1000, 1064)) + "]"
    r = get("/db/%s/contacts?at=%s" % (db, clock), token=admin)
    assert r.status == 400, r
    assert "never" in r.body["reason"]


# ------------------------------------------------------------- paths


@pytest.mark.parametrize("path,status", [
    ("/ver%73ion", 200), ("/%76%65%72%73%69%6F%6E", 200), ("//version//", 200), ("/version/", 200),
    ("/version%2F", 404), ("/db%2Fall", 404), ("/%2e%2e/version", 404), ("/db/%2e%2e/version", 404),
    ("/version%3Fx=1", 404), ("/%2576ersion", 404), ("/version%00", 404), ("/version%zz", 404),
    ("/version%", 404), ("/version%2", 404), ("/VERSION", 404), ("/version;x", 404),
    ("/" + "a/" * 17 + "version", 404), ("/" + "x" * 4000, 404),
])
def test_percent_encoding_tricks(path, status):
    st, hdrs, data = raw_call("GET", path)
    if st == 400 and web_server_error(st, data):
        return  # lighttpd refused the URL itself
    assert st == status, (path, st, data)
    body = strict_json(data)
    if status == 404:
        assert body["error"] == "No such resource", body


def test_encoded_segments_are_decoded_once(admin, db):
    cid = import_contacts(db, admin, [{"email": "enc@example.com", "fullname": "Enc Oded"}])[0][0]
    # /contacts/%73earch is /contacts/search: literal segments win after decoding.
    r = get("/db/%s/contacts/%%73earch?q=enc" % db, token=admin)
    assert r.status == 200 and r.body["list"][0]["id"] == cid, r
    r = get("/db/%s/contacts/%s" % (db, "".join("%%%02X" % ord(c) for c in cid)), token=admin)
    assert r.status == 200 and r.body["id"] == cid, r
    # A placeholder never matches a literal pattern segment written in the path.
    r = get("/db/%7Bdb%7D/contacts", token=admin)
    assert r.status == 404 and r.body["error"] == "Database {db} does not exist", r
    r = get("/db/%s/contacts/%%7Bcid%%7D" % db, token=admin)
    assert r.status == 404, r


def test_many_query_parameters(admin, db):
    q = "&".join("x%d=1" % i for i in range(40))
    r = get("/db/%s/contacts?%s" % (db, q), token=admin)
    assert r.status == 400, r
    alive()


# ------------------------------------------------------------- SQL metacharacters

NASTY = [
    "Robert'); DROP TABLE contacts;--",
    "\\' OR '1'='1",
    "\" OR \"\"=\"",
    "100% _under_ score\\%\\_",
    "back`tick` $dollar ${x} @@version",
    "semi; colon -- dash /* c */ #hash",
    "\\\\ double \\\\\\ backslashes \\",
    "<script>alert(1)</script>&amp;",
    "\u00e9\u00e8 \u65e5\u672c \U0001F600 \u202e rtl",
    "0x27 CHAR(39) \u02bc\uff07",
]


def test_sql_metacharacters_in_every_string_field(admin):
    label = "db " + NASTY[0]
    dbid, _ = create_db(admin, label)
    r = get("/db/all", token=admin, query={"limit": "10000"})
    assert label in [d["label"] for d in r.body["list"] if d["id"] == dbid]

    items, expect = [], []
    for i, s in enumerate(NASTY):
        local = "".join(c for c in s if c.isalnum() or c in "'\"%_`$;-/*#\\<>&!{}|~^=+?") or "x"
        email = "%s.%d@ex.com" % (local, i)
        items.append({"email": email, "fullname": s, "firstname": s[:40], "lastname": s[-40:]})
        expect.append(s)
        items.append({"email": "n%d.%s@ex.com" % (i, local), "firstname": s[:30], "lastname": s[-30:]})
        expect.append("%s %s" % (s[:30].strip(), s[-30:].strip()))
        items.append({"email": email.replace("@", "+e@")})
        expect.append(email.replace("@", "+e@"))
    created, at = import_contacts(dbid, admin, items)
    assert len(set(created)) == len(items)
    for cid, name in zip(created, expect):
        r = get("/db/%s/contacts/%s" % (dbid, cid), token=admin)
        assert r.status == 200, r
        assert r.body["name"] == " ".join(name.split()) or r.body["name"] == name, (r.body, name)
    r = get("/db/%s/contacts" % dbid, token=admin)
    assert r.body["count"] == len(items)

    # Search: metacharacters match themselves, LIKE wildcards match nothing more.
    r = get("/db/%s/contacts/search" % dbid, token=admin, query={"q": urllib.parse.quote("Robert');")})
    assert r.status == 200 and r.body["list"], r
    for q in ("%", "_", "%%", "\\", "'"):
        r = get("/db/%s/contacts/search" % dbid, token=admin, query={"q": urllib.parse.quote(q)})
        assert r.status == 200, r
        for c in r.body["list"]:
            assert q in c["name"] or q in "".join(items[created.index(c["id"])].values()), (q, c)

    # Groups: the label; a custom id refuses them all.
    for s in NASTY:
        g = post("/db/%s/groups" % dbid, {"label": s}, token=admin)
        assert g.status == 202, g
        info = get("/db/%s/groups/%s/info" % (dbid, g.body["id"]), token=admin, query={"at": enc(g.body["at"])})
        assert info.body["label"] == " ".join(s.split()), info
        bad = post("/db/%s/groups" % dbid, {"id": s[:10]}, token=admin)
        assert bad.status == 400, bad

    # Chats: subject and message bodies, verbatim (bodies are not labels: white space kept).
    for s in NASTY:
        c = post("/db/%s/chat/create" % dbid, {"subject": s, "contacts": created[:2]}, token=admin)
        assert c.status == 202, c
        chat = c.body["id"]
        body = s + "\n\t  " + s
        m = post("/db/%s/chat/%s" % (dbid, chat), {"author": created[0], "body": body}, token=admin,
                 query={"at": enc(c.body["at"])})
        assert m.status == 202, m
        got = get("/db/%s/chat/%s/items" % (dbid, chat), token=admin, query={"at": enc(m.body["at"])})
        assert got.body["items"][0]["body"] == body, got
        info = get("/db/%s/chat/%s" % (dbid, chat), token=admin)
        assert info.body["info"]["subject"] == " ".join(s.split()), info

    # Nothing above failed when applied, and the tables are all still there.
    r = get("/db/%s/contacts" % dbid, token=admin, query={"at": enc(at), "limit": "0"})
    assert r.body["count"] == len(items)
    alive()


@pytest.mark.parametrize("evil", ["x' OR '1'='1", "0000000000' OR 1=1 --", "%27%20OR%201=1", "*", "%25"])
def test_sql_metacharacters_in_paths_queries_and_tokens(admin, db, evil):
    q = urllib.parse.quote(evil, safe="")
    for path in ("/db/%s/sync" % q, "/db/%s/contacts/%s" % (db, q), "/db/%s/groups/%s/info" % (db, q),
                 "/db/%s/chat/%s" % (db, q), "/db/%s/chat/as/%s" % (db, q)):
        r = get(path, token=admin)
        assert r.status in (200, 404), (path, r)
        if r.status == 200:
            assert path.endswith("/chat/as/" + q) and r.body["list"] == []
    r = get("/db/%s/contacts" % db, token=admin, query={"as": q})
    assert r.status in (400, 401), r
    for tok in (evil, evil + "A" * 20):
        r = get("/db/%s/contacts" % db, token=tok)
        assert r.status == 401, r
        r = get("/db/all", token=tok)
        assert r.status == 401, r
