"""Writes you can retry (SPEC §7): every 202 names its command (Location), whose
outcome GET tells (queued, applied, failed with the reason) to whom may see it;
and Idempotency-Key: the first answer recorded with the command, replayed byte
for byte, 422 for another request with the same key, 409 while the first is in
flight, 400 when malformed, keys per token, forgotten after idempotency_hours
and swept by the processor."""

import hashlib
import json
import threading
import time

import pytest

from conftest import (
    FAST, SYNC_TIMEOUT, call, create_db, enc, get, import_contacts, in_flight, post, processor_paused, sql,
    unique,
)

KEY_REUSED = "Idempotency-Key reused with a different request"


def db_token(db, email, admin=False):
    r = post("/db/%s/test/auth" % db, {"email": email, "admin": admin})
    assert r.status == 202, r
    return r.body


def ref_of(r):
    """The <stream>.<pos> of a 202's Location, checked against its "at"."""
    loc = r.headers["Location"]
    assert loc and "/commands/" in loc, r
    ref = loc.rsplit("/", 1)[1]
    s, p = (int(x) for x in ref.split("."))
    assert r.body["at"] == ([[s, p]] if p else []), (r, loc)
    return ref


def key_id(token, key):
    """The idempotency row's id of a key of a token (sql/031-idempotency.sql), as SQL."""
    th = hashlib.sha256(token.encode()).hexdigest()
    return "UNHEX('%s')" % hashlib.sha256((th + "\n" + key).encode()).hexdigest()[:32]


def outcome(location, token, at=None):
    q = {"at": enc(at)} if at else None
    return get(location, token=token, query=q)


def head(stream):
    return int(sql("SELECT head FROM streams WHERE stream = %d" % stream)[0][0])


def keyed(method, path, body=None, token=None, key=None, query=None, headers=None):
    h = dict(headers or {})
    if key is not None:
        h["Idempotency-Key"] = key
    return call(method, path, body=body, token=token, headers=h, query=query)


@pytest.fixture(scope="module")
def world(admin):
    db = create_db(admin, unique("idem"))[0]
    other = create_db(admin, unique("idem-other"))[0]
    x = db_token(db, "x@idem.example.com")
    y = db_token(db, "y@idem.example.com")
    z = db_token(db, "z@idem.example.com", admin=True)
    w = db_token(other, "w@idem.example.com", admin=True)
    for t in (x, y, z):
        assert get("/db/%s/sync" % db, token=admin, query={"at": enc(t["at"])}).status == 200
    assert get("/db/%s/sync" % other, token=admin, query={"at": enc(w["at"])}).status == 200
    # Any contact may post in it (SPEC §5: a public chat gives read only).
    r = post("/db/%s/chat/create" % db, {"subject": "idem", "audience": {"write": "anyone"}}, token=admin)
    assert r.status == 202, r
    assert get("/db/%s/chat/%s" % (db, r.body["id"]), token=admin, query={"at": enc(r.body["at"])}).status == 200
    return {"admin": admin, "db": db, "other": other, "x": x, "y": y, "z": z, "w": w, "chat": r.body["id"]}


def writes(world):
    """One request of every kind of write: (name, method, path, body), each fresh."""
    db, admin = world["db"], world["admin"]
    g = unique("g")[:10].replace("-", "")
    r = post("/db/%s/groups" % db, {"id": g}, token=admin)
    assert r.status == 202, r
    c = post("/db/%s/chat/create" % db, {"contacts": [world["x"]["id"], world["y"]["id"]]}, token=admin)
    assert c.status == 202, c
    m = post("/db/%s/chat/%s" % (db, c.body["id"]), {"author": world["x"]["id"], "body": "to delete"},
             token=admin, query={"at": enc(c.body["at"])})
    assert m.status == 202, m
    assert get("/db/%s/sync" % db, token=admin).status == 200
    pm = db_token(db, unique("pm") + "@idem.example.com")
    assert get("/db/%s/sync" % db, token=admin, query={"at": enc(pm["at"])}).status == 200
    return [
        ("import", "POST", "/db/%s/contacts/import" % db, [{"email": unique("imp") + "@idem.example.com"}]),
        ("group create", "POST", "/db/%s/groups" % db, {"label": unique("label")}),
        ("group add", "POST", "/db/%s/groups/%s/add" % (db, g), [world["x"]["id"]]),
        ("group remove", "POST", "/db/%s/groups/%s/remove" % (db, g), [world["y"]["id"]]),
        ("chat create", "POST", "/db/%s/chat/create" % db, {"subject": unique("s"), "public": True}),
        ("pm create", "POST", "/db/%s/chat/create" % db, {"pm": True, "contacts": [world["x"]["id"], pm["id"]]}),
        ("chat post", "POST", "/db/%s/chat/%s" % (db, world["chat"]), {"author": world["x"]["id"], "body": unique("m")}),
        ("item delete", "DELETE", "/db/%s/chat/%s/items/%s" % (db, c.body["id"], m.body["id"]), None),
        ("chat delete", "DELETE", "/db/%s/chat/%s" % (db, c.body["id"]), None),
        ("group delete", "DELETE", "/db/%s/groups/%s" % (db, g), None),
        ("db create", "POST", "/db/create", {"label": unique("db")}),
    ]


# ---------------------------------------------------------------- Location and outcome


def test_every_202_names_its_command(world):
    admin = world["admin"]
    for name, method, path, body in writes(world):
        r = call(method, path, body=body, token=admin)
        assert r.status == 202, (name, r)
        ref = ref_of(r)
        loc = r.headers["Location"]
        base = "/db/%s" % world["db"] if path.startswith("/db/%s/" % world["db"]) else ""
        assert loc == "%s/commands/%s" % (base, ref), (name, loc)
        o = outcome(loc, admin, at=r.body["at"])
        assert o.status == 200, (name, o)
        assert o.text == json.dumps({"status": "applied", "reason": None, "at": r.body["at"]},
                                    separators=(",", ":")), (name, o)
    # Test mode's token route too: its command is the new token's own.
    t = db_token(world["db"], unique("own") + "@idem.example.com")
    r = post("/db/%s/test/auth" % world["db"], {"email": unique("own2") + "@idem.example.com"})
    o = outcome(r.headers["Location"], r.body["token"], at=r.body["at"])
    assert o.status == 200 and o.body["status"] == "applied", o
    assert t["token"] != r.body["token"]


def test_queued_then_applied(world, admin):
    db = world["db"]
    with processor_paused():
        r = post("/db/%s/contacts/import" % db, [{"email": unique("q") + "@idem.example.com"}], token=admin)
        assert r.status == 202, r
        o = outcome(r.headers["Location"], admin)
        assert o.status == 200 and o.body == {"status": "queued", "reason": None, "at": r.body["at"]}, o
        waiting = in_flight("GET", r.headers["Location"], token=admin, query={"at": enc(r.body["at"])})
        time.sleep(0.3)
        assert waiting.alive()
    o = waiting.result()
    assert o.status == 200 and o.body == {"status": "applied", "reason": None, "at": r.body["at"]}, o


def test_a_command_that_failed_says_why(world, admin):
    db = world["db"]
    g = unique("gone")[:10].replace("-", "")
    r = post("/db/%s/groups" % db, {"id": g}, token=admin)
    c = post("/db/%s/chat/create" % db, {"public": True}, token=admin)
    assert get("/db/%s/sync" % db, token=admin).status == 200
    with processor_paused():
        # Accepted (the group and the chat still exist), then applied after their deletes.
        d = call("DELETE", "/db/%s/groups/%s" % (db, g), token=admin)
        add = post("/db/%s/groups/%s/add" % (db, g), [world["x"]["id"]], token=admin)
        dc = call("DELETE", "/db/%s/chat/%s" % (db, c.body["id"]), token=admin)
        msg = post("/db/%s/chat/%s" % (db, c.body["id"]), {"author": world["x"]["id"], "body": "late"}, token=admin)
        for x in (d, add, dc, msg):
            assert x.status == 202, x
    o = outcome(add.headers["Location"], admin, at=add.body["at"])
    assert o.body == {"status": "failed", "reason": "Group '%s' was deleted before this change was applied" % g,
                      "at": add.body["at"]}, o
    o = outcome(msg.headers["Location"], admin, at=msg.body["at"])
    assert o.body == {"status": "failed",
                      "reason": "Chat '%s' was deleted before the message was posted" % c.body["id"],
                      "at": msg.body["at"]}, o
    o = outcome(d.headers["Location"], admin, at=d.body["at"])
    assert o.body["status"] == "applied", o
    # A second delete of the group: failed, and says so.
    with processor_paused():
        d1 = post("/db/%s/groups" % db, {"id": g + "x"}, token=admin)
    assert get("/db/%s/sync" % db, token=admin, query={"at": enc(d1.body["at"])}).status == 200
    with processor_paused():
        a = call("DELETE", "/db/%s/groups/%sx" % (db, g), token=admin)
        b = call("DELETE", "/db/%s/groups/%sx" % (db, g), token=admin)
    o = outcome(b.headers["Location"], admin, at=b.body["at"])
    assert o.body["status"] == "failed" and "already deleted" in o.body["reason"], (a, o)


def test_a_write_that_queues_nothing(world, admin):
    db = world["db"]
    r = post("/db/%s/groups/admin/add" % db, [], token=admin)
    assert r.status == 202 and r.body == {"at": []}, r
    stream = int(r.headers["Location"].rsplit("/", 1)[1].split(".")[0])
    assert r.headers["Location"] == "/db/%s/commands/%d.0" % (db, stream)
    for token in (admin, world["x"]["token"]):  # nothing to hide: any token of the database
        o = get(r.headers["Location"], token=token)
        assert o.status == 200 and o.body == {"status": "applied", "reason": None, "at": []}, o
    # A PUT that names nothing to change: a 202 like any other, Location included.
    for path in ("/db/%s/groups/admin/info" % db, "/db/%s/chat/%s" % (db, world["chat"])):
        r = call("PUT", path, body={}, token=admin)
        assert r.status == 202 and r.body == {"at": []}, (path, r)
        assert r.headers["Location"] == "/db/%s/commands/%d.0" % (db, stream), (path, r.headers)
    # An import of a contact that exists queues nothing either.
    created, at = import_contacts(db, admin, [{"email": "x@idem.example.com"}])
    assert at == [] and created == [world["x"]["id"]]


def test_who_may_read_a_command(world, admin):
    db, x, y, z, w = world["db"], world["x"], world["y"], world["z"], world["w"]
    r = post("/db/%s/chat/%s" % (db, world["chat"]), {"body": "mine"}, token=x["token"])
    assert r.status == 202, r
    loc = r.headers["Location"]
    assert get(loc, token=x["token"], query={"at": enc(r.body["at"])}).status == 200  # its token
    x2 = db_token(db, "x@idem.example.com")  # another token of the same contact
    assert get(loc, token=x2["token"]).status == 200
    assert get(loc, token=z["token"]).status == 200  # a member of admin
    assert get(loc, token=admin).status == 200  # a server administrator
    hidden = get(loc, token=y["token"])  # another contact: as if it did not exist
    assert hidden.status == 404, hidden
    assert hidden.body == {"error": "Command '%s' does not exist" % loc.rsplit("/", 1)[1],
                           "path": "/db/{db}/commands/{ref}"}
    # A server administrator acting as a contact is that contact (SPEC §1): x's command, not y's.
    assert get(loc, token=admin, query={"as": y["id"]}).status == 404
    assert get(loc, token=admin, query={"as": x["id"]}).status == 200
    assert get(loc, token=admin, query={"as": z["id"]}).status == 200
    # The same ref under another database: 401 with a token of this one, 404 with one of that one.
    elsewhere = loc.replace(db, world["other"])
    assert get(elsewhere, token=x["token"]).status == 401
    assert get(elsewhere, token=w["token"]).status == 404
    assert get(elsewhere, token=admin).status == 404
    # Refs that are no command of this database.
    stream, pos = (int(v) for v in loc.rsplit("/", 1)[1].split("."))
    for ref in ("%d.%d" % (stream, pos + 10 ** 6), "%d.%d" % (stream + 1, pos), "1.1", "x", "2", "2.x", "02.1",
                "%d.0%d" % (stream, pos), "%d.-1" % stream):
        o = get("/db/%s/commands/%s" % (db, ref), token=admin)
        assert o.status == 404, (ref, o)
    # The server's commands: database creations, for server administrators.
    d = post("/db/create", {"label": unique("cmd")}, token=admin)
    assert d.headers["Location"] == "/commands/%s" % ref_of(d)
    assert get(d.headers["Location"], token=admin, query={"at": enc(d.body["at"])}).body["status"] == "applied"
    assert get(d.headers["Location"], token=z["token"]).status == 401
    assert get("/commands/%d.%d" % (stream, pos), token=admin).status == 404  # a database's command


# ---------------------------------------------------------------- Idempotency-Key


def test_a_retry_gets_the_first_answer_byte_for_byte_and_queues_nothing(world):
    admin = world["admin"]
    for name, method, path, body in writes(world):
        key = unique("key-" + name.replace(" ", "-"))
        first = keyed(method, path, body, admin, key)
        assert first.status == 202, (name, first)
        ref = ref_of(first)
        stream = int(ref.split(".")[0])
        before = head(stream)
        for q in (None, {"at": enc(first.body["at"])}):  # at= is not part of the request
            again = keyed(method, path, body, admin, key, query=q)
            assert (again.status, again.text, again.headers["Location"]) == \
                (first.status, first.text, first.headers["Location"]), (name, first, again)
        assert head(stream) == before, (name, "a retry queued something")
        # Recorded with the answer, in the transaction that queued the command.
        row = sql("SELECT status, location, body FROM idempotency WHERE id = %s" % key_id(admin, key))
        assert row == [["202", first.headers["Location"], first.text]], (name, row)
        if first.body["at"]:
            s, p = first.body["at"][0]
            assert sql("SELECT COUNT(*) FROM commands WHERE stream = %d AND pos = %d" % (s, p)) == [["1"]]


def test_a_retry_after_the_first_was_applied_is_still_its_answer(world, admin):
    """The retry of a group creation with an id, or of a delete, would be 409 or
    404 by itself once the first is applied: with the key it is the first's 202."""
    db = world["db"]
    g = unique("once")[:10].replace("-", "")
    k1, k2 = unique("k"), unique("k")
    first = keyed("POST", "/db/%s/groups" % db, {"id": g}, admin, k1)
    assert first.status == 202, first
    assert get("/db/%s/sync" % db, token=admin, query={"at": enc(first.body["at"])}).status == 200
    plain = post("/db/%s/groups" % db, {"id": g}, token=admin)
    assert plain.status == 409, plain
    again = keyed("POST", "/db/%s/groups" % db, {"id": g}, admin, k1)
    assert (again.status, again.text, again.headers["Location"]) == (202, first.text, first.headers["Location"])
    d = keyed("DELETE", "/db/%s/groups/%s" % (db, g), None, admin, k2)
    assert d.status == 202, d
    assert get("/db/%s/sync" % db, token=admin, query={"at": enc(d.body["at"])}).status == 200
    assert call("DELETE", "/db/%s/groups/%s" % (db, g), token=admin).status == 404
    again = keyed("DELETE", "/db/%s/groups/%s" % (db, g), None, admin, k2)
    assert (again.status, again.text, again.headers["Location"]) == (202, d.text, d.headers["Location"])


def test_the_same_key_for_another_request_is_422(world, admin):
    db, x = world["db"], world["x"]
    key = unique("k")
    path = "/db/%s/chat/%s" % (db, world["chat"])
    first = keyed("POST", path, {"author": x["id"], "body": "one"}, admin, key)
    assert first.status == 202, first
    stream = first.body["at"][0][0]
    before = head(stream)
    for method, p, body, q in [
        ("POST", path, {"author": x["id"], "body": "two"}, None),  # another body
        ("POST", path, {"body": "one", "author": x["id"]}, None),  # the same, written otherwise
        ("POST", "/db/%s/chat/create" % db, {"public": True}, None),  # another path
        ("DELETE", path, None, None),  # another method
        ("POST", path, {"author": x["id"], "body": "one"}, {"as": x["id"]}),  # acting as someone
        ("POST", path, {"author": x["id"]}, None),  # invalid, too: the key still answers
    ]:
        r = keyed(method, p, body, admin, key, query=q)
        assert r.status == 422, (method, p, body, r)
        assert r.body["error"] == KEY_REUSED, r
        assert "Location" not in r.headers
    assert head(stream) == before


def test_keys_belong_to_their_token(world, admin):
    db, x, y = world["db"], world["x"], world["y"]
    key = unique("shared")
    path = "/db/%s/chat/%s" % (db, world["chat"])
    a = keyed("POST", path, {"body": "same"}, x["token"], key)
    b = keyed("POST", path, {"body": "same"}, y["token"], key)
    assert a.status == b.status == 202, (a, b)
    assert a.body["id"] != b.body["id"] and a.body["at"] != b.body["at"]
    # A second token of the same contact is another token: its own key space.
    x2 = db_token(db, "x@idem.example.com")
    c = keyed("POST", path, {"body": "same"}, x2["token"], key)
    assert c.status == 202 and c.body["id"] != a.body["id"], c


def test_while_the_first_is_in_flight_409(world, admin):
    db, x = world["db"], world["x"]
    key = unique("k")
    path = "/db/%s/chat/%s" % (db, world["chat"])
    body = {"author": x["id"], "body": unique("slow")}
    with processor_paused():
        imp = post("/db/%s/contacts/import" % db, [{"email": unique("w") + "@idem.example.com"}], token=admin)
        # The first waits on a clock not reached yet: it is in flight.
        first = in_flight("POST", path, body=body, token=admin, headers={"Idempotency-Key": key},
                          query={"at": enc(imp.body["at"])})
        time.sleep(0.3)
        assert first.alive()
        t0 = time.monotonic()
        second = keyed("POST", path, body, admin, key)
        assert time.monotonic() - t0 < FAST + 0.5
        assert second.status == 409, second
        assert second.headers["Retry-After"] == "1", second
        other = keyed("POST", path, {"author": x["id"], "body": "other"}, admin, key)
        assert other.status == 409, other  # the first's request is not known yet: in flight is all
    first = first.result()
    assert first.status == 202, first
    again = keyed("POST", path, body, admin, key)
    assert (again.status, again.text, again.headers["Location"]) == (202, first.text, first.headers["Location"])


def test_concurrent_retries_queue_once(world, admin):
    db, x = world["db"], world["x"]
    key = unique("burst")
    path = "/db/%s/chat/%s" % (db, world["chat"])
    text = unique("burst")
    body = {"author": x["id"], "body": text}
    out = []

    def one():
        out.append(keyed("POST", path, body, admin, key))

    ts = [threading.Thread(target=one) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = [r for r in out if r.status == 202]
    assert ok and all(r.status in (202, 409) for r in out), out
    assert len(set((r.text, r.headers["Location"]) for r in ok)) == 1, ok
    assert get("/db/%s/sync" % db, token=admin).status == 200
    n = sql("SELECT COUNT(*) FROM commands WHERE kind = 'chat.post' AND db = '%s' AND "
            "JSON_VALUE(payload, '$.body') = '%s'" % (db, text))
    assert n == [["1"]], n
    final = keyed("POST", path, body, admin, key)
    assert (final.status, final.text) == (202, ok[0].text)


# (An empty header never reaches RunOrg: lighttpd drops it, as it answers 400
# itself for most control characters.)
@pytest.mark.parametrize("key", ["k" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_400(world, admin, key):
    db = world["db"]
    stream = int(sql("SELECT stream FROM dbs WHERE id = '%s'" % db)[0][0])
    before = head(stream)
    r = keyed("POST", "/db/%s/groups" % db, {"label": "x"}, admin, key)
    assert r.status == 400, r
    assert r.body == {"error": "Invalid Idempotency-Key", "path": "/db/{db}/groups", "at": "Idempotency-Key",
                      "reason": "expected 1 to 255 printable ASCII characters"}, r
    assert head(stream) == before
    # Reads ignore the header.
    assert keyed("GET", "/db/%s/groups/admin/info" % db, None, admin, key).status == 200
    # The longest key is fine.
    r = keyed("POST", "/db/%s/groups" % db, {"label": "x"}, admin, unique("k").ljust(255, "k"))
    assert r.status == 202, r


def test_a_refused_request_records_nothing(world, admin):
    """A 4xx queues nothing and records nothing: the key is still free."""
    db = world["db"]
    key = unique("k")
    bad = keyed("POST", "/db/%s/groups" % db, {"id": "not valid!"}, admin, key)
    assert bad.status == 400, bad
    good = keyed("POST", "/db/%s/groups" % db, {"label": "fine"}, admin, key)
    assert good.status == 202, good


def test_expired_keys_are_forgotten_and_swept(world, admin):
    db = world["db"]
    key = unique("old")
    path = "/db/%s/chat/%s" % (db, world["chat"])
    body = {"author": world["x"]["id"], "body": unique("old")}
    first = keyed("POST", path, body, admin, key)
    assert first.status == 202, first
    # idempotency_hours (24) later:
    sql("UPDATE idempotency SET created = created - INTERVAL 25 HOUR WHERE id = %s" % key_id(admin, key))
    again = keyed("POST", path, body, admin, key)
    assert again.status == 202 and again.body["id"] != first.body["id"], again  # a new write
    replay = keyed("POST", path, body, admin, key)
    assert replay.text == again.text
    # The processor's janitor deletes expired rows (every second in test mode).
    old = unique("swept")
    sql("INSERT INTO idempotency (id, request, status, location, body, created) VALUES "
        "(%s, UNHEX(REPEAT('0', 32)), 202, '/x', '{}', UTC_TIMESTAMP(6) - INTERVAL 25 HOUR)" % key_id(admin, old))
    deadline = time.monotonic() + 5 + SYNC_TIMEOUT
    while sql("SELECT COUNT(*) FROM idempotency WHERE id = %s" % key_id(admin, old)) != [["0"]]:
        assert time.monotonic() < deadline, "the janitor did not sweep an expired key"
        time.sleep(0.2)
    assert sql("SELECT COUNT(*) FROM idempotency WHERE id = %s" % key_id(admin, key)) == [["1"]]


def test_without_a_key_a_retry_is_a_second_write(world, admin):
    """The control: what the key prevents."""
    path = "/db/%s/chat/%s" % (world["db"], world["chat"])
    body = {"author": world["x"]["id"], "body": unique("twice")}
    a, b = post(path, body, token=admin), post(path, body, token=admin)
    assert a.status == b.status == 202 and a.body["id"] != b.body["id"]
    assert a.headers["Location"] != b.headers["Location"]
