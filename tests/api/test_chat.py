"""Conversations (SPEC §4 "Conversations"): the seed's chat example, concurrency, every rule.

Decisions these tests pin down (see the chat issue):
- DELETE of a chat or an item is 202 whether it exists, existed, or never existed
  (the target may still be queued: the delete, queued after it, applies after it).
- Creating a private-message room for a pair that has one answers 202 with the
  existing id and the clock of the command that creates it.
- A message may not contain U+0000 (400); lone surrogates and invalid UTF-8 are 400.
- A contact that is not an administrator may post only as itself (403 otherwise).
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (
    FAST, ID_RE, IN_FLIGHT, TIME_RE, call, create_db, enc, get, gravatar, import_contacts,
    in_flight, is_clock, merge, post, processor_paused,
)

# A server administrator's levels on every chat, in the "access" of <chatinfo> (SPEC §5).
EVERY = ["admin", "moderate", "write", "read", "view"]

PEOPLE = [
    {"email": "alice@example.com", "fullname": "Alice Liddell", "gender": "F"},
    {"email": "bob@example.com", "firstname": "Bob", "lastname": "Morane", "gender": "M"},
    {"email": "carol@example.com"},
]


# ---------------------------------------------------------------- helpers


def curl(db, *parts):
    return "/".join(["/db/%s/chat" % db] + list(parts))


def q(at=None, **params):
    d = dict((k, str(v)) for k, v in params.items())
    if at:
        d["at"] = enc(at)
    return d or None


def head(db, token):
    """The clock of everything queued so far on the database's stream (GET /sync)."""
    r = get("/db/%s/sync" % db, token=token)
    assert r.status == 200, r
    return r.body["at"]


def create(db, token, body, status=202, wait=True):
    r = post(curl(db, "create"), body, token=token)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["id", "at"], r
        assert ID_RE.match(r.body["id"]), r
        assert is_clock(r.body["at"]) and r.body["at"], r
        if wait:
            head_wait(db, token, r.body["at"])
    return r


def head_wait(db, token, at):
    r = get("/db/%s/sync" % db, token=token, query=q(at))
    assert r.status == 200, r


def say(db, token, chat, text, as_=None, author=None, status=202):
    body = {"body": text}
    if author is not None:
        body["author"] = author
    r = post(curl(db, chat), body, token=token, query={"as": as_} if as_ else None)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["id", "at"], r
        assert ID_RE.match(r.body["id"]), r
        assert is_clock(r.body["at"]) and r.body["at"], r
    return r


def items(db, token, chat, at=None, status=200, **params):
    r = get(curl(db, chat, "items"), token=token, query=q(at, **params))
    assert r.status == status, r
    if status == 200:
        assert list(r.body.keys()) == ["items", "contacts", "count"], r
        for it in r.body["items"]:
            assert list(it.keys()) == ["id", "author", "time", "body"], it
            assert TIME_RE.match(it["time"]), it
    return r


def chat_info(db, token, chat, at=None, status=200):
    r = get(curl(db, chat), token=token, query=q(at))
    assert r.status == status, r
    return r


def delete(path, token, status=202):
    r = call("DELETE", path, token=token)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["at"], r
        assert is_clock(r.body["at"]), r
    return r


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def world(admin):
    """A database with three contacts, and a token for each (test mode), all applied."""
    db = create_db(admin)[0]
    ids, _ = import_contacts(db, admin, PEOPLE)
    tokens = []
    for p in PEOPLE:
        r = post("/db/%s/test/auth" % db, {"email": p["email"], "admin": False})
        assert r.status == 202, r
        assert r.body["id"] in ids, "test auth must reuse the imported contact"
        head_wait(db, admin, r.body["at"])
        tokens.append(r.body["token"])
    return {"db": db, "admin": admin, "ids": ids, "tokens": tokens}


@pytest.fixture
def room(world):
    """A fresh chat between Alice and Bob, applied."""
    a, b, _ = world["ids"]
    r = create(world["db"], world["admin"], {"subject": "Lunch", "contacts": [a, b]})
    return r.body["id"]


# ---------------------------------------------------------------- the seed's example


@pytest.fixture(scope="module")
def seed(world):
    """seed/synchronization.md's conversation, step by step, with the processor paused."""
    db, admin = world["db"], world["admin"]
    alice, bob, _ = world["ids"]
    chat = create(db, admin, {"contacts": [alice, bob]}).body["id"]
    first = say(db, admin, chat, "Anyone for lunch?", as_=bob)
    head_wait(db, admin, first.body["at"])
    rec = {"chat": chat, "first": first}
    with processor_paused():
        rec["post"] = say(db, admin, chat, "Yes, at noon.", as_=alice)
        rec["no_at"] = items(db, admin, chat)
        bg = in_flight("GET", curl(db, chat, "items"), token=admin, query=q(rec["post"].body["at"]))
        time.sleep(IN_FLIGHT)
        rec["alive_while_paused"] = bg.alive()
        rec["resumed_at"] = time.monotonic()
    rec["with_at"] = bg.result()
    rec["done_at"] = time.monotonic()
    return rec


def test_seed_post_answers_202_with_id_and_clock(seed):
    r = seed["post"]
    assert r.status == 202
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.body["id"] != seed["first"].body["id"]
    assert r.body["at"][0][1] > seed["first"].body["at"][0][1]


def test_seed_list_without_at_misses_the_message(seed):
    r = seed["no_at"]
    assert r.elapsed < FAST, "a read without at= must not wait"
    assert [i["id"] for i in r.body["items"]] == [seed["first"].body["id"]]
    assert r.body["count"] == 1


def test_seed_list_with_at_waits_then_shows_it_newest_first(seed, world):
    assert seed["alive_while_paused"], "the list with at= did not wait for the paused processor"
    r = seed["with_at"]
    assert r.status == 200, r
    alice, bob, _ = world["ids"]
    assert r.body["count"] == 2
    assert [i["id"] for i in r.body["items"]] == [seed["post"].body["id"], seed["first"].body["id"]]
    assert [i["body"] for i in r.body["items"]] == ["Yes, at noon.", "Anyone for lunch?"]
    assert [i["author"] for i in r.body["items"]] == [alice, bob]
    assert r.body["contacts"] == [
        {"id": alice, "name": "Alice Liddell", "gender": "F", "pic": gravatar("alice@example.com")},
        {"id": bob, "name": "Bob Morane", "gender": "M", "pic": gravatar("bob@example.com")},
    ]
    assert seed["done_at"] - seed["resumed_at"] < 1.0, "answered long after the processor resumed"


# ---------------------------------------------------------------- concurrency


def test_200_concurrent_posts_each_once_count_exact(world, room):
    db, admin = world["db"], world["admin"]
    tokens = world["tokens"][:2]
    results, errors = [], []
    lock = threading.Lock()

    def one(k):
        # Several clients: alternately Alice's and Bob's own tokens, and the admin acting as them.
        who = k % 4
        tok = tokens[who] if who < 2 else admin
        as_ = world["ids"][who - 2] if who >= 2 else None
        text = "message %03d from client %d" % (k, who)
        r = post(curl(db, room), {"body": text}, token=tok, query={"as": as_} if as_ else None)
        if r.status != 202:
            with lock:
                errors.append(r)
            return
        # Its own clock must give a list holding it.
        seen = get(curl(db, room, "items"), token=tok, query=q(r.body["at"]))
        with lock:
            results.append((r.body["id"], text, r.body["at"], seen))

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(one, range(200)))
    assert not errors, errors[:3]
    assert len(results) == 200
    for mid, _, _, seen in results:
        assert seen.status == 200, seen
        assert mid in [i["id"] for i in seen.body["items"]], "a post's own at= did not show it"
    everything = merge(*[at for _, _, at, _ in results])
    r = items(db, admin, room, at=everything)
    got = [i["id"] for i in r.body["items"]]
    assert r.body["count"] == 200
    assert len(got) == 200 and len(set(got)) == 200
    assert set(got) == set(mid for mid, _, _, _ in results)
    bodies = dict((mid, text) for mid, text, _, _ in results)
    assert all(i["body"] == bodies[i["id"]] for i in r.body["items"])
    info = chat_info(db, admin, room).body["info"]
    assert info["count"] == 200
    assert TIME_RE.match(info["last"]), info


def test_concurrent_pm_creates_agree_on_one_room(world):
    db, admin = world["db"], world["admin"]
    _, bob, carol = world["ids"]

    def one(k):
        pair = [bob, carol] if k % 2 else [carol, bob]
        return post(curl(db, "create"), {"pm": True, "contacts": pair}, token=admin)

    with ThreadPoolExecutor(max_workers=10) as pool:
        rs = list(pool.map(one, range(20)))
    assert all(r.status == 202 for r in rs), rs
    assert len(set(r.body["id"] for r in rs)) == 1, [r.body for r in rs]
    at = merge(*[r.body["at"] for r in rs])
    listed = get(curl(db, "as", carol), token=admin, query=q(at)).body["list"]
    pms = [c for c in listed if sorted(c["contacts"]) == sorted([bob, carol]) and c["subject"] is None]
    assert [c["id"] for c in pms] == [rs[0].body["id"]]


# ---------------------------------------------------------------- create


def test_create_and_get_chat(world):
    db, admin = world["db"], world["admin"]
    alice, bob, _ = world["ids"]
    r = create(db, admin, {"subject": "  Project   kick-off ", "contacts": [bob, alice, bob], "groups": ["admin"]})
    cid = r.body["id"]
    g = chat_info(db, admin, cid)
    assert list(g.body.keys()) == ["contacts", "groups", "info"]
    assert g.body["info"] == {"id": cid, "subject": "Project kick-off", "contacts": [bob, alice],
                              "groups": ["admin"], "count": 0, "last": None, "public": False, "access": EVERY}
    assert list(g.body["info"].keys()) == ["id", "subject", "contacts", "groups", "count", "last", "public",
                                           "access"]
    assert [c["id"] for c in g.body["contacts"]] == [bob, alice]
    assert g.body["contacts"][0] == {"id": bob, "name": "Bob Morane", "gender": "M", "pic": gravatar("bob@example.com")}
    assert [gr["id"] for gr in g.body["groups"]] == ["admin"]
    assert list(g.body["groups"][0].keys()) == ["id", "label", "count"]


def test_create_public_chat(world):
    db, admin = world["db"], world["admin"]
    cid = create(db, admin, {"public": True, "subject": "Announcements"}).body["id"]
    info = chat_info(db, admin, cid).body
    assert info["info"]["public"] is True
    assert info["info"]["contacts"] == [] and info["info"]["groups"] == []
    assert info["contacts"] == [] and info["groups"] == []


def test_create_without_at_is_not_yet_visible_then_is(world):
    db, admin = world["db"], world["admin"]
    alice, _, _ = world["ids"]
    with processor_paused():
        r = create(db, admin, {"contacts": [alice]}, wait=False)
        assert chat_info(db, admin, r.body["id"], status=404).body["error"] == "Chat '%s' does not exist" % r.body["id"]
    chat_info(db, admin, r.body["id"], at=r.body["at"])


def test_pm_room_is_unique_per_pair(world):
    db, admin = world["db"], world["admin"]
    alice, bob, _ = world["ids"]
    first = create(db, admin, {"pm": True, "contacts": [alice, bob], "subject": None, "groups": [],
                               "public": False})
    again = create(db, admin, {"pm": True, "contacts": [bob, alice]})
    assert again.body["id"] == first.body["id"]
    assert again.body["at"] == first.body["at"], "the clock is the one that creates the room"
    # A non-pm chat between the same two is another chat.
    other = create(db, admin, {"contacts": [alice, bob]})
    assert other.body["id"] != first.body["id"]
    info = chat_info(db, admin, first.body["id"]).body["info"]
    assert info["subject"] is None and sorted(info["contacts"]) == sorted([alice, bob])
    # Deleted, the pair may have a new room.
    d = delete(curl(db, first.body["id"]), admin)
    head_wait(db, admin, d.body["at"])
    third = create(db, admin, {"pm": True, "contacts": [alice, bob]})
    assert third.body["id"] != first.body["id"]
    chat_info(db, admin, third.body["id"])
    chat_info(db, admin, first.body["id"], status=404)


BAD_CREATES = [
    ({}, "body"),
    ({"contacts": [], "groups": []}, "body"),
    ({"public": False, "subject": "Nobody"}, "body"),
    ({"pm": True, "contacts": ["A"]}, "body.contacts"),
    ({"pm": True, "contacts": ["A", "A"]}, "body.contacts"),
    ({"pm": True, "contacts": ["A", "B", "C"]}, "body.contacts"),
    ({"pm": True, "contacts": []}, "body.contacts"),
    ({"pm": True, "contacts": ["A", "B"], "subject": "Hi"}, "body.subject"),
    ({"pm": True, "contacts": ["A", "B"], "groups": ["admin"]}, "body.groups"),
    ({"pm": True, "contacts": ["A", "B"], "public": True}, "body.public"),
    ({"public": True, "contacts": ["A"]}, "body.contacts"),
    ({"public": True, "groups": ["admin"]}, "body.groups"),
    ({"contacts": "A"}, "body.contacts"),
    ({"contacts": ["not-an-id"]}, "body.contacts[0]"),
    ({"contacts": ["A", 12]}, "body.contacts[1]"),
    ({"groups": ["bad group"]}, "body.groups[0]"),
    ({"groups": ["waytoolonggroupid"]}, "body.groups[0]"),
    ({"contacts": ["A"], "public": "yes"}, "body.public"),
    ({"contacts": ["A", "B"], "pm": 1}, "body.pm"),
    ({"contacts": ["A"], "subject": "   "}, "body.subject"),
    ({"contacts": ["A"], "subject": 7}, "body.subject"),
    ({"contacts": ["A"], "subject": "x" * 81}, "body.subject"),
    ({"contacts": ["A"], "color": "red"}, "body.color"),
]


@pytest.mark.parametrize("body,at", BAD_CREATES)
def test_create_invalid_is_400_and_queues_nothing(world, body, at):
    db, admin = world["db"], world["admin"]
    names = dict(zip("ABC", world["ids"]))

    def fill(v):
        if isinstance(v, list):
            return [names.get(x, x) if isinstance(x, str) else x for x in v]
        return names.get(v, v) if isinstance(v, str) and len(v) == 1 else v

    body = dict((k, fill(v)) for k, v in body.items())
    before = head(db, admin)
    r = post(curl(db, "create"), body, token=admin)
    assert r.status == 400, r
    assert r.body["path"] == "/db/{db}/chat/create"
    assert r.body.get("at") == at, r
    assert head(db, admin) == before, "a rejected create queued a command"


@pytest.mark.parametrize("raw", ['[]', '"x"', "null", "{", '{"public":true} x'])
def test_create_body_not_an_object_is_400(world, raw):
    r = post(curl(world["db"], "create"), raw=raw, token=world["admin"])
    assert r.status == 400, r


# ---------------------------------------------------------------- 404 and 401


@pytest.mark.parametrize("chat", ["3prQVIc0Zzz", "nope", "create"])
def test_unknown_chat_is_404_on_get_items_post(world, chat):
    db, admin = world["db"], world["admin"]
    want = "Chat '%s' does not exist" % chat
    if chat != "create":
        g = chat_info(db, admin, chat, status=404)
        assert g.body == {"error": want, "path": "/db/{db}/chat/{id}"}
    i = items(db, admin, chat, status=404)
    assert i.body == {"error": want, "path": "/db/{db}/chat/{id}/items"}
    if chat != "create":
        before = head(db, admin)
        p = say(db, admin, chat, "hello?", author=world["ids"][0], status=404)
        assert p.body == {"error": want, "path": "/db/{db}/chat/{id}"}
        assert head(db, admin) == before


def test_every_chat_endpoint_needs_a_token(world, room):
    db = world["db"]
    alice = world["ids"][0]
    cases = [
        ("POST", curl(db, "create"), {"public": True}),
        ("GET", curl(db, room), None),
        ("POST", curl(db, room), {"body": "hi", "author": alice}),
        ("GET", curl(db, room, "items"), None),
        ("GET", curl(db, "as", alice), None),
        ("DELETE", curl(db, room, "items", "3prQVIc0Zzz"), None),
        ("DELETE", curl(db, room), None),
    ]
    before = head(db, world["admin"])
    for method, path, body in cases:
        for token in (None, "notavalidtoken000", world["tokens"][0][::-1]):
            r = call(method, path, body=body, token=token)
            assert r.status == 401, (method, path, token, r)
    assert head(db, world["admin"]) == before
    # A token of another database is not valid here either.
    other = create_db(world["admin"])[0]
    t = post("/db/%s/test/auth" % other, {"email": "x@example.com"}).body["token"]
    assert get(curl(db, room), token=t).status == 401


# ---------------------------------------------------------------- pagination


@pytest.fixture
def five(world, room):
    db, admin = world["db"], world["admin"]
    ids = []
    for k in range(5):
        r = say(db, admin, room, "m%d" % k, as_=world["ids"][k % 2])
        ids.append(r.body["id"])
    head_wait(db, admin, r.body["at"])
    return room, ids[::-1]  # newest first


def test_items_newest_first_with_count(world, five):
    room, newest = five
    r = items(world["db"], world["admin"], room)
    assert [i["id"] for i in r.body["items"]] == newest
    assert [i["body"] for i in r.body["items"]] == ["m4", "m3", "m2", "m1", "m0"]
    assert r.body["count"] == 5
    assert [c["id"] for c in r.body["contacts"]] == [world["ids"][0], world["ids"][1]]


@pytest.mark.parametrize("params,want", [
    ({"limit": 0}, []),
    ({"limit": 2}, [0, 1]),
    ({"limit": 2, "offset": 2}, [2, 3]),
    ({"offset": 4}, [4]),
    ({"offset": 5}, []),
    ({"offset": 1000}, []),
    ({"limit": 1000, "offset": 3}, [3, 4]),
])
def test_items_pagination_edges(world, five, params, want):
    room, newest = five
    r = items(world["db"], world["admin"], room, **params)
    assert [i["id"] for i in r.body["items"]] == [newest[k] for k in want]
    assert r.body["count"] == 5
    # Only the authors of the page.
    authors = []
    for i in r.body["items"]:
        if i["author"] not in authors:
            authors.append(i["author"])
    assert [c["id"] for c in r.body["contacts"]] == authors


@pytest.mark.parametrize("query", ["limit=-1", "offset=-1", "limit=abc", "offset="])
def test_items_bad_pagination_is_400(world, room, query):
    r = get(curl(world["db"], room, "items") + "?" + query, token=world["admin"])
    assert r.status == 400, r


# ---------------------------------------------------------------- bodies, verbatim


BODIES = [
    'He said "hi" and left',
    "back\\slash \\n \\u00e9 \\\\ end\\",
    "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "emoji 😀👍🏽 👩‍👩‍👧 and 漢字, Ωμέγα",
    "<script>alert('x')</script> &amp; &lt;b&gt;",
    "   ",
    "\u2028\u2029\ufeff",
    "x" * 65536,
    "é" * 32768,
]


@pytest.mark.parametrize("text", BODIES, ids=range(len(BODIES)))
def test_bodies_round_trip_verbatim(world, room, text):
    db, admin = world["db"], world["admin"]
    r = say(db, admin, room, text, as_=world["ids"][0])
    got = items(db, admin, room, at=r.body["at"])
    assert got.body["items"][0]["id"] == r.body["id"]
    assert got.body["items"][0]["body"] == text
    assert got.headers["Content-Type"].startswith("application/json")
    if "<script>" in text:
        assert "<script>alert('x')</script> &amp;" in got.text, "bodies must not be HTML-escaped"


@pytest.mark.parametrize("text,reason", [
    ("x" * 65537, "too long"),
    ("é" * 32768 + "x", "too long in bytes"),
    ("a\u0000b", "NUL"),
], ids=["64KiB+1", "64KiB+1-bytes", "NUL"])
def test_bad_body_text_is_400(world, room, text, reason):
    db, admin = world["db"], world["admin"]
    before = head(db, admin)
    r = say(db, admin, room, text, as_=world["ids"][0], status=400)
    assert r.body["at"] == "body.body", (reason, r)
    assert head(db, admin) == before


def test_empty_message_is_accepted(world, room):
    """RunOrg's clients post empty bodies (an attachment-only message, say): 202, and it is there."""
    db, admin = world["db"], world["admin"]
    r = say(db, admin, room, "", as_=world["ids"][0])
    got = items(db, admin, room, at=r.body["at"])
    assert any(it["id"] == r.body["id"] and it["body"] == "" for it in got.body["items"]), got


INVALID_UTF8 = [
    b'{"body":"\xff"}',
    b'{"body":"ok \xc3"}',
    b'{"body":"\xc0\xaf"}',                 # overlong "/"
    b'{"body":"\xed\xa0\x80"}',             # a surrogate, encoded
    b'{"body":"\xf4\x90\x80\x80"}',         # past U+10FFFF
    b'{"body":"\\ud800"}',                  # lone high surrogate escape
    b'{"body":"\\udc00 tail"}',             # lone low surrogate escape
    b'{"body":"\\ud800\\u0041"}',           # high surrogate, then not a low one
    b'{"body":"\\ud83d"}',
]


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=range(len(INVALID_UTF8)))
def test_invalid_utf8_is_400(world, room, raw):
    db, admin = world["db"], world["admin"]
    before = head(db, admin)
    r = call("POST", curl(db, room), raw=raw, token=admin, query={"as": world["ids"][0]})
    assert r.status == 400, r
    assert head(db, admin) == before


def test_escaped_surrogate_pair_is_the_character(world, room):
    db, admin = world["db"], world["admin"]
    r = call("POST", curl(db, room), raw=b'{"body":"\\ud83d\\ude00 \\\\ud800"}', token=admin,
             query={"as": world["ids"][0]})
    assert r.status == 202, r
    assert items(db, admin, room, at=r.body["at"]).body["items"][0]["body"] == "😀 \\ud800"


@pytest.mark.parametrize("body,at", [
    ({}, "body.body"),
    ({"body": 12}, "body.body"),
    ({"body": None}, "body.body"),
    ({"body": "hi", "author": "short"}, "body.author"),
    ({"body": "hi", "author": 5}, "body.author"),
    ({"body": "hi", "mood": "happy"}, "body.mood"),
])
def test_bad_post_is_400(world, room, body, at):
    db, admin = world["db"], world["admin"]
    r = post(curl(db, room), body, token=admin, query={"as": world["ids"][0]})
    assert r.status == 400, r
    assert r.body["at"] == at, r


# ---------------------------------------------------------------- authors


def test_author_defaults_to_the_acting_contact(world):
    db, admin = world["db"], world["admin"]
    alice, bob, carol = world["ids"]
    # Carol posts with her own token: she needs write on the chat, as a participant (SPEC §5).
    room = create(db, admin, {"subject": "Lunch", "contacts": [alice, bob, carol]}).body["id"]
    r1 = say(db, world["tokens"][2], room, "from carol's own token")
    r2 = say(db, admin, room, "admin as bob", as_=bob)
    r3 = say(db, admin, room, "admin naming alice", author=alice)
    got = items(db, admin, room, at=merge(r1.body["at"], r2.body["at"], r3.body["at"])).body["items"]
    assert [(i["author"], i["body"]) for i in got] == [
        (alice, "admin naming alice"), (bob, "admin as bob"), (carol, "from carol's own token")]


def test_server_admin_without_as_or_author_is_400(world, room):
    before = head(world["db"], world["admin"])
    r = say(world["db"], world["admin"], room, "who am I?", status=400)
    assert r.body["at"] == "body.author", r
    assert head(world["db"], world["admin"]) == before


def test_an_author_that_does_not_exist_is_404(world, room):
    """Items name contacts: a message by nobody would have an author that no <shortcontact>
    of GET …/items describes. The author is checked as group add checks its contacts."""
    before = head(world["db"], world["admin"])
    r = say(world["db"], world["admin"], room, "from nobody", author="0000000000Z", status=404)
    assert r.body == {"error": "Contact '0000000000Z' does not exist", "path": "/db/{db}/chat/{id}"}, r
    assert head(world["db"], world["admin"]) == before


def test_an_author_with_a_nul_inside_is_400(world, room):
    """"<cid>\u0000x" is no contact id (read as a C string it would be the author's)."""
    before = head(world["db"], world["admin"])
    r = say(world["db"], world["admin"], room, "whose?", author=world["ids"][0] + "\u0000x", status=400)
    assert r.body["at"] == "body.author", r
    assert head(world["db"], world["admin"]) == before


def test_contact_may_not_post_as_another(world, room):
    r = say(world["db"], world["tokens"][0], room, "I am Bob", author=world["ids"][1], status=403)
    assert r.body["path"] == "/db/{db}/chat/{id}"
    say(world["db"], world["tokens"][0], room, "I am Alice", author=world["ids"][0])


# ---------------------------------------------------------------- deletes


def test_delete_item_count_last_idempotent(world, room):
    db, admin = world["db"], world["admin"]
    a = say(db, admin, room, "first", as_=world["ids"][0])
    b = say(db, admin, room, "second", as_=world["ids"][1])
    head_wait(db, admin, b.body["at"])
    assert chat_info(db, admin, room).body["info"]["count"] == 2
    d = delete(curl(db, room, "items", b.body["id"]), admin)
    r = items(db, admin, room, at=d.body["at"])
    assert [i["id"] for i in r.body["items"]] == [a.body["id"]]
    assert r.body["count"] == 1
    info = chat_info(db, admin, room).body["info"]
    assert info["count"] == 1 and TIME_RE.match(info["last"])
    # Again, and an item that never existed: 202, nothing changes.
    d2 = delete(curl(db, room, "items", b.body["id"]), admin)
    d3 = delete(curl(db, room, "items", "0000000000Z"), admin)
    assert items(db, admin, room, at=merge(d2.body["at"], d3.body["at"])).body["count"] == 1
    d4 = delete(curl(db, room, "items", a.body["id"]), admin)
    info = chat_info(db, admin, room, at=d4.body["at"]).body["info"]
    assert info["count"] == 0 and info["last"] is None


def test_delete_item_right_after_posting_it(world, room):
    db, admin = world["db"], world["admin"]
    with processor_paused():
        p = say(db, admin, room, "oops", as_=world["ids"][0])
        d = delete(curl(db, room, "items", p.body["id"]), admin)
    r = items(db, admin, room, at=d.body["at"])
    assert r.body["items"] == [] and r.body["count"] == 0


def test_delete_chat_idempotent(world, room):
    db, admin = world["db"], world["admin"]
    alice = world["ids"][0]
    say(db, admin, room, "bye", as_=alice)
    d = delete(curl(db, room), admin)
    chat_info(db, admin, room, at=d.body["at"], status=404)
    items(db, admin, room, status=404)
    say(db, admin, room, "anyone?", as_=alice, status=404)
    assert room not in [c["id"] for c in get(curl(db, "as", alice), token=admin).body["list"]]
    delete(curl(db, room), admin)
    delete(curl(db, "0000000000Z"), admin)


def test_post_to_chat_deleted_before_it_applies_fails_but_clock_advances(world, room):
    db, admin = world["db"], world["admin"]
    with processor_paused():
        # The delete is queued first but not applied: the post still finds the chat.
        d = delete(curl(db, room), admin)
        p = say(db, admin, room, "too late", as_=world["ids"][0])
        assert p.body["at"][0][1] > d.body["at"][0][1]
    # The post's clock is reached (no 503): the failed command still moved the clock.
    r = get("/db/%s/sync" % db, token=admin, query=q(p.body["at"]))
    assert r.status == 200, r
    items(db, admin, room, at=p.body["at"], status=404)
    # A later chat is unaffected.
    later = create(db, admin, {"contacts": [world["ids"][0]]}).body["id"]
    s = say(db, admin, later, "still working", as_=world["ids"][0])
    assert items(db, admin, later, at=s.body["at"]).body["count"] == 1


# ---------------------------------------------------------------- chats of a contact


def test_chats_of_a_contact(admin):
    db = create_db(admin)[0]
    (alice, bob, carol), _ = import_contacts(db, admin, PEOPLE)
    # Carol joins group admin (test mode), so chats naming that group are hers too.
    r = post("/db/%s/test/auth" % db, {"email": "carol@example.com", "admin": True})
    assert r.status == 202 and r.body["id"] == carol
    head_wait(db, admin, r.body["at"])
    pub = create(db, admin, {"public": True, "subject": "All hands"}).body["id"]
    ab = create(db, admin, {"contacts": [alice, bob]}).body["id"]
    grp = create(db, admin, {"groups": ["admin"], "subject": "Admins"}).body["id"]
    pm = create(db, admin, {"pm": True, "contacts": [carol, bob]}).body["id"]

    def listed(cid, **params):
        r = get(curl(db, "as", cid), token=admin, query=q(**params))
        assert r.status == 200, r
        assert list(r.body.keys()) == ["contacts", "groups", "list"], r
        return r.body

    assert [c["id"] for c in listed(alice)["list"]] == [pub, ab]
    assert [c["id"] for c in listed(bob)["list"]] == [pub, ab, pm]
    body = listed(carol)
    assert [c["id"] for c in body["list"]] == [pub, grp, pm]
    assert [c["id"] for c in body["contacts"]] == [carol, bob]
    assert body["groups"] == [{"id": "admin", "label": None, "count": 1}]
    assert body["list"][1] == {"id": grp, "subject": "Admins", "contacts": [], "groups": ["admin"],
                               "count": 0, "last": None, "public": False, "access": EVERY}
    # Someone named nowhere still sees the public chat.
    assert [c["id"] for c in listed("0000000000Z")["list"]] == [pub]
    assert [c["id"] for c in listed(bob, limit=1, offset=1)["list"]] == [ab]
    assert listed(bob, limit=0)["list"] == []
    assert listed(bob, offset=3)["list"] == []
