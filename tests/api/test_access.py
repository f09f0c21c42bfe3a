"""Who gets in: every route of the route table (parsed from app/fcgi/router.c, so
a new route is covered the day it is added) is called without a token, with
malformed tokens, with another database's token, with a revoked token, and with
`as` naming someone else: 401 every time, or 404 where the database does not
exist (SPEC §4: that comes first). None of those calls queues anything.

Also: the routes that need no token are exactly the reviewed ones; tokens are
stored only as SHA-256 hashes and appear in no log and no command.
(Test-mode endpoints answering 403 with test mode off: tests/faults, whose
stacks run with test mode off.)"""

import hashlib
import os
import re
import subprocess

import pytest

from conftest import create_db, enc, get, call, post, repo_root, revoke, sql, unique, var_dir

ROUTE_RE = re.compile(r'^\s*\{"(GET|POST|DELETE|PUT|PATCH)",\s*"([^"]+)",\s*(\w+),\s*([^}]+)\}', re.M)

# Routes that answer without a token. A new one must be reviewed and listed here.
OPEN_ROUTES = {
    ("GET", "/version"), ("GET", "/status"), ("POST", "/test/auth"), ("POST", "/db/{db}/test/auth"),
    ("POST", "/db/{db}/contacts/auth/hmac"),  # the proof is the credential (test_identity.py)
    ("POST", "/test/hints"),  # test mode only, like /test/auth: drops hints (test_hints.py)
}


def routes():
    with open(os.path.join(repo_root(), "app", "fcgi", "router.c")) as f:
        text = f.read()
    table = text[text.index("routes[] = {"):text.index("};", text.index("routes[] = {"))]
    out = [(m.group(1), m.group(2), m.group(3), set(x.strip() for x in m.group(4).split("|")))
           for m in ROUTE_RE.finditer(table)]
    assert len(out) >= 20, "the route table was not found in app/fcgi/router.c"
    return out


ROUTES = routes()
GUARDED = [r for r in ROUTES if "R_OPEN" not in r[3]]


def db_token(db, email, admin=False):
    r = post("/db/%s/test/auth" % db, {"email": email, "admin": admin})
    assert r.status == 202, r
    return r.body


@pytest.fixture(scope="module")
def world(admin):
    a = create_db(admin, unique("access-a"))[0]
    b = create_db(admin, unique("access-b"))[0]
    x = db_token(a, "x@access.example.com")
    y = db_token(a, "y@access.example.com")
    z = db_token(a, "z@access.example.com", admin=True)  # a member of a's group admin
    r = db_token(a, "revoked@access.example.com")
    w = db_token(b, "w@access.example.com", admin=True)
    # The contacts exist before a chat names them (a slow build applies late).
    assert get("/db/%s/sync" % a, token=admin, query={"at": enc(r["at"])}).status == 200
    chats = []
    refs = []
    for gid in ("team", "victim"):  # the victims are for the DELETE routes
        g = post("/db/%s/groups" % a, {"id": gid, "label": "Team"}, token=admin)
        assert g.status == 202, g
        refs.append(g.headers["Location"].rsplit("/", 1)[1])
        c = post("/db/%s/chat/create" % a, {"contacts": [x["id"], y["id"]]}, token=admin)
        assert c.status == 202, c
        m = post("/db/%s/chat/%s" % (a, c.body["id"]), {"author": x["id"], "body": "hello"}, token=admin,
                 query={"at": enc(c.body["at"])})
        assert m.status == 202, m
        chats.append((c.body["id"], m.body["id"]))
    assert get("/db/%s/sync" % a, token=admin).status == 200
    assert get("/db/%s/sync" % b, token=admin, query={"at": enc(w["at"])}).status == 200
    k = post("/db/%s/keys" % a, {"hash": "SHA-256", "key": "ab" * 16}, token=admin)
    assert k.status == 202, k
    victim_token = db_token(a, "victim@access.example.com")["token"]
    assert get("/db/%s/sync" % a, token=admin).status == 200
    revoke(r["token"])
    server_ref = post("/db/create", {"label": unique("access-c")}, token=admin).headers["Location"].rsplit("/", 1)[1]
    return {"ref": refs[0], "server_ref": server_ref, "admin": admin, "a": a, "b": b, "x": x, "y": y, "z": z,
            "revoked": r["token"], "w": w, "chat": chats[0][0], "item": chats[0][1], "victim_chat": chats[1][0],
            "victim_item": chats[1][1], "victim_key": k.body["id"], "victim_token": victim_token}


def fill(pattern, world, db=None, method="GET"):
    """The pattern with real identifiers of database a (or `db`) in its placeholders;
    DELETE routes get targets of their own, so that the others still find theirs."""
    group_route = "/groups/" in pattern
    victim = method == "DELETE"
    values = {"db": db or world["a"], "cid": world["x"]["id"],
              "item": world["victim_item" if victim else "item"],
              "id": ("victim" if victim else "team") if group_route else world["victim_chat" if victim else "chat"],
              "token": world["victim_token"] if victim else world["x"]["token"],
              "ref": world["server_ref" if pattern.startswith("/commands/") else "ref"]}
    if "/keys/" in pattern:
        values["id"] = world["victim_key"]
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], pattern)


def body_for(pattern, world):
    bodies = {
        "/db/create": {"label": "access"},
        "/db/{db}/contacts/import": [{"email": "intruder@access.example.com"}],
        "/db/{db}/groups": {"label": "intruders"},
        "/db/{db}/groups/{id}/add": [world["y"]["id"]],
        "/db/{db}/groups/{id}/remove": [world["x"]["id"]],
        "/db/{db}/chat/create": {"public": True},
        "/db/{db}/chat/{id}": {"body": "intrusion", "author": world["x"]["id"]},
        "/db/{db}/keys": {"hash": "SHA-256", "key": "cd" * 16},
        "/db/{db}/contacts/{cid}": {"firstname": "Xavier"},
    }
    return bodies.get(pattern, {})


def send(method, pattern, world, token=None, headers=None, query=None, db=None):
    path = fill(pattern, world, db, method)
    body = body_for(pattern, world) if method in ("POST", "PUT") else None
    return call(method, path, body=body, token=token, headers=headers, query=query)


def heads():
    return sql("SELECT stream, head FROM streams ORDER BY stream")


def ids(routes_):
    return ["%s %s" % (m, p) for m, p, _, _ in routes_]


def test_open_routes_are_the_reviewed_ones():
    assert set((m, p) for m, p, _, f in ROUTES if "R_OPEN" in f) == OPEN_ROUTES
    # Every other route needs a token: a database's (R_DB) or a server administrator's.
    for m, p, h, f in GUARDED:
        assert "R_DB" in f or "R_ADMIN" in f, (m, p)
        assert ("R_DB" in f) == p.startswith("/db/{db}/"), (m, p)


@pytest.mark.parametrize("method,pattern,handler,flags", GUARDED, ids=ids(GUARDED))
def test_the_right_token_gets_in(world, method, pattern, handler, flags):
    # The control case: the paths and bodies used below reach the handler.
    r = send(method, pattern, world, token=world["admin"])
    assert r.status not in (401, 403, 404, 405), r
    if "R_DB" in flags and method != "DELETE":  # (the first call deleted the target)
        r = send(method, pattern, world, token=world["z"]["token"])  # a's own admin contact
        assert r.status not in (401, 404, 405), r


BAD_HEADERS = [
    None,                                   # no Authorization header
    "RUNORG token=",                        # empty
    "RUNORG token=short",                   # too short to be one
    "RUNORG token=" + "A" * 65,             # too long
    "RUNORG token=bad token!",              # not [0-9A-Za-z]
    "RUNORG token=" + "\u00e9" * 12,        # not ASCII
    "RUNORG token=0000000000000000000000",  # well formed, never issued
]


@pytest.mark.parametrize("method,pattern,handler,flags", GUARDED, ids=ids(GUARDED))
def test_no_or_malformed_token_is_401(world, method, pattern, handler, flags):
    before = heads()
    real = world["admin"]
    headers = BAD_HEADERS + [
        # ("RUNORG token = <token>" is RFC 7235's BWS around '=': read, test_auth.py.)
        "Bearer " + real, "RUNORG " + real, "RUNORG token=" + real + "!",
        "RUNORG token=" + real + " " + real, "Basic " + real, "RUNORG token=%s, token=%s" % (real, real),
    ]
    for h in headers:
        r = send(method, pattern, world, headers={"Authorization": h} if h is not None else None)
        assert r.status == 401, (h, r)
        assert r.body["path"] == pattern, r
    assert heads() == before, "a refused request queued something"


@pytest.mark.parametrize("method,pattern,handler,flags", GUARDED, ids=ids(GUARDED))
def test_another_databases_token_is_401(world, method, pattern, handler, flags):
    before = heads()
    for token in (world["w"]["token"],):  # an admin contact of database b
        r = send(method, pattern, world, token=token)
        assert r.status == 401, r
    assert heads() == before


@pytest.mark.parametrize("method,pattern,handler,flags", GUARDED, ids=ids(GUARDED))
def test_revoked_token_is_401(world, method, pattern, handler, flags):
    before = heads()
    r = send(method, pattern, world, token=world["revoked"])
    assert r.status == 401, r
    assert heads() == before


DB_ROUTES = [r for r in GUARDED if "R_DB" in r[3]]


@pytest.mark.parametrize("method,pattern,handler,flags", DB_ROUTES, ids=ids(DB_ROUTES))
def test_as_someone_else_is_401(world, method, pattern, handler, flags):
    before = heads()
    y = world["y"]["id"]
    # A contact's token may act only as that contact, even a member of group admin.
    for token in (world["x"]["token"], world["z"]["token"]):
        r = send(method, pattern, world, token=token, query={"as": y})
        assert r.status == 401, r
    # A token of another database acting as a contact of this one.
    r = send(method, pattern, world, token=world["w"]["token"], query={"as": y})
    assert r.status == 401, r
    assert heads() == before
    # Acting as oneself is fine.
    r = send(method, pattern, world, token=world["x"]["token"], query={"as": world["x"]["id"]})
    assert r.status != 401, r


@pytest.mark.parametrize("method,pattern,handler,flags", DB_ROUTES, ids=ids(DB_ROUTES))
def test_missing_database_is_404_whoever_asks(world, method, pattern, handler, flags):
    missing = "0000000000Z"
    for token in (None, "garbage", world["admin"], world["x"]["token"], world["revoked"]):
        r = send(method, pattern, world, token=token, db=missing)
        assert r.status == 404, (token, r)
        assert r.body["error"] == "Database %s does not exist" % missing, r


def test_tokens_are_stored_only_as_sha256(world):
    tokens = [world["admin"], world["x"]["token"], world["y"]["token"], world["z"]["token"], world["w"]["token"]]
    rows = sql("SELECT hash, IFNULL(db, ''), IFNULL(contact, '') FROM tokens")
    stored = set(r[0] for r in rows)
    for t in tokens:
        assert hashlib.sha256(t.encode()).hexdigest() in stored, "the token's SHA-256 is what is stored"
        for row in rows:
            assert t not in "".join(row), "a token in clear in the tokens table"
    for row in rows:
        assert re.match(r"^[0-9a-f]{64}$", row[0]), row
    # Nowhere else either: not in a command, not in a log line.
    for t in tokens:
        assert sql("SELECT COUNT(*) FROM commands WHERE INSTR(payload, '%s') > 0" % t) == [["0"]]
    logdir = os.path.join(var_dir(), "log")
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        for t in tokens:
            assert t not in text, "a token in %s" % name


def test_the_revoked_token_worked_before(admin):
    db = create_db(admin)[0]
    t = db_token(db, "soon@access.example.com")
    assert get("/db/%s/contacts" % db, token=t["token"]).status == 200
    revoke(t["token"])
    r = get("/db/%s/contacts" % db, token=t["token"])
    assert r.status == 401, r
    # Revoking one token leaves the contact's other tokens alone.
    t2 = db_token(db, "soon@access.example.com")
    assert t2["id"] == t["id"]
    assert get("/db/%s/contacts" % db, token=t2["token"]).status == 200
