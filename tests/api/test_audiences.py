"""Who may see and do what (SPEC §5): the access matrix of every group and chat route,
access following group memberships exactly as at= says, private-message privacy, and
the compatibility rules (participants write, public read, creator admin, authors delete
their own items, contacts).

The matrix is the two tables below, one line per route: the level SPEC §5 says it
needs, then the status each caller gets. The callers:
  server    a server administrator
  admin     a member of the database's group admin
  view ...  a member of a group that the resource's audience gives that level
            (g-admin / c-admin: the group holding the resource's admin level)
  part      a participant of the chat (named in its "contacts": write)
  outsider  a contact of the database that no audience names
  other-db  a token of another database (a member of its admin group)
  none      no token
"200+" is 200 with the resource in the list, "200-" 200 without it. A refusal
(4xx) queues nothing; a 404 is exactly the missing resource's answer."""

import time

import pytest

from conftest import IN_FLIGHT, call, create_db, enc, get, in_flight, post, processor_paused, unique

GROUP_LEVELS = ["view", "list", "moderate", "admin"]
CHAT_LEVELS = ["view", "read", "write", "moderate", "admin"]

# route                          needs     server admin view list moderate g-admin outsider other-db none
GROUP_MATRIX = """
GET    /groups/{id}/info         view      200    200   200  200  200      200     404      401      401
GET    /groups/{id}              list      200    200   403  200  200      200     404      401      401
POST   /groups/{id}/add          moderate  202    202   403  403  202      202     404      401      401
POST   /groups/{id}/remove       moderate  202    202   403  403  202      202     404      401      401
PUT    /groups/{id}/info         admin     202    202   403  403  403      202     404      401      401
DELETE /groups/{id}              admin     202    202   403  403  403      202     404      401      401
GET    /groups                   view      200+   200+  200+ 200+ 200+     200+    200-     401      401
POST   /groups                   -         202    202   403  403  403      403     403      401      401
"""
GROUP_CALLERS = ["server", "admin", "view", "list", "moderate", "g-admin", "outsider", "other-db", "none"]

# route                          needs     server admin view read write moderate c-admin part outsider other-db none
CHAT_MATRIX = """
GET    /chat/{id}                view      200    200   200  200  200   200      200     200  404      401      401
GET    /chat/{id}/items          read      200    200   403  200  200   200      200     200  404      401      401
POST   /chat/{id}                write     202    202   403  403  202   202      202     202  404      401      401
DELETE /chat/{id}/items/{item}   moderate  202    202   403  403  403   202      202     403  404      401      401
PUT    /chat/{id}                admin     202    202   403  403  403   403      202     403  404      401      401
DELETE /chat/{id}                admin     202    202   403  403  403   403      202     403  404      401      401
GET    /chat                     view      200+   200+  200+ 200+ 200+  200+     200+    200+ 200-     401      401
GET    /chat/as/{part}           view      200+   200+  200+ 200+ 200+  200+     200+    200+ 200-     401      401
POST   /chat/create              -         202    202   202  202  202   202      202     202  202      401      401
"""
CHAT_CALLERS = ["server", "admin", "view", "read", "write", "moderate", "c-admin", "part", "outsider", "other-db",
                "none"]

# The level each caller has on the resource of the table (SPEC §5): members of admin and server
# administrators have every level; a participant has write; the others what their group gives.
GROUP_RANK = {"server": 4, "admin": 4, "view": 1, "list": 2, "moderate": 3, "g-admin": 4, "outsider": 0}
CHAT_RANK = {"server": 5, "admin": 5, "view": 1, "read": 2, "write": 3, "moderate": 4, "c-admin": 5, "part": 3,
             "outsider": 0}


def parse(table, callers):
    rows = []
    for line in table.strip().splitlines():
        method, route, needs, *statuses = line.split()
        assert len(statuses) == len(callers), line
        rows.append((method, route, needs, dict(zip(callers, statuses))))
    return rows


GROUP_ROWS = parse(GROUP_MATRIX, GROUP_CALLERS)
CHAT_ROWS = parse(CHAT_MATRIX, CHAT_CALLERS)


def cells(rows, callers):
    return [(m, r, n, c, want[c]) for m, r, n, want in rows for c in callers]


def cell_ids(cs):
    return ["%s %s as %s" % (m, r, c) for m, r, _, c, _ in cs]


def expected_by_rule(needs, levels, rank, method):
    """What SPEC §5 says a caller of that rank gets on a route that needs `needs`."""
    if rank == 0:
        return "404"
    if rank < levels.index(needs) + 1:
        return "403"
    return "202" if method in ("POST", "PUT", "DELETE") else "200"


@pytest.mark.parametrize("rows,levels,ranks", [(GROUP_ROWS, GROUP_LEVELS, GROUP_RANK),
                                               (CHAT_ROWS, CHAT_LEVELS, CHAT_RANK)], ids=["groups", "chats"])
def test_the_tables_follow_spec_5(rows, levels, ranks):
    """The tables are written out for reading; this keeps them true to the rule of SPEC §5:
    a level includes the ones below it, no view is 404, too low a level is 403, and a token
    of another database (or none) is 401 before anything else."""
    for method, route, needs, want in rows:
        assert want["other-db"] == want["none"] == "401", route
        if needs == "-":
            continue
        for caller, rank in ranks.items():
            if want[caller].endswith(("+", "-")):
                # a list: everyone with a token gets 200; the resource is in it when it may view it
                assert want[caller] == ("200+" if rank else "200-"), (route, caller)
            else:
                assert want[caller] == expected_by_rule(needs, levels, rank, method), (route, caller)


# ---------------------------------------------------------------- the world


def test_auth(db, email, admin=False):
    r = post("/db/%s/test/auth" % db, {"email": email, "admin": admin})
    assert r.status == 202, r
    return r.body


test_auth.__test__ = False  # a helper, not a test


def sync(db, token, at=None):
    r = get("/db/%s/sync" % db, token=token, query={"at": enc(at)} if at else None)
    assert r.status == 200, r
    return r.body["at"]


def audience(prefix, levels):
    """Each level given to the group named prefix + level."""
    return dict((lv, {"groups": [prefix + lv]}) for lv in levels)


@pytest.fixture(scope="module")
def world(admin):
    a = create_db(admin, unique("aud-a"))[0]
    b = create_db(admin, unique("aud-b"))[0]
    people = {}
    for name in ["admin", "outsider", "part", "poster", "bystander"] + ["g" + lv for lv in GROUP_LEVELS] + [
            "c" + lv for lv in CHAT_LEVELS]:
        people[name] = test_auth(a, "%s@audiences.example.com" % name, admin=(name == "admin"))
    other = test_auth(b, "other@audiences.example.com", admin=True)
    # One group per level and kind, holding the contact of that level.
    for lv in GROUP_LEVELS:
        assert post("/db/%s/groups" % a, {"id": "g" + lv}, token=admin).status == 202
    for lv in CHAT_LEVELS:
        assert post("/db/%s/groups" % a, {"id": "c" + lv}, token=admin).status == 202
    sync(a, admin)
    for name in ["g" + lv for lv in GROUP_LEVELS] + ["c" + lv for lv in CHAT_LEVELS]:
        assert post("/db/%s/groups/%s/add" % (a, name), [people[name]["id"]], token=admin).status == 202
    w = {"admin_token": admin, "a": a, "b": b, "people": people, "other": other}
    w["group"] = new_group(w, "team")
    w["chat"] = new_chat(w)
    sync(a, admin)
    sync(b, admin)
    return w


def new_group(w, gid=None):
    body = {"label": "Team", "audience": audience("g", GROUP_LEVELS)}
    if gid:
        body["id"] = gid
    r = post("/db/%s/groups" % w["a"], body, token=w["admin_token"])
    assert r.status == 202, r
    return r.body["id"]


def new_chat(w):
    body = {"subject": "Room", "contacts": [w["people"]["part"]["id"]], "audience": audience("c", CHAT_LEVELS)}
    r = post("/db/%s/chat/create" % w["a"], body, token=w["admin_token"])
    assert r.status == 202, r
    return r.body["id"]


def new_item(w, chat):
    r = post("/db/%s/chat/%s" % (w["a"], chat), {"body": "by poster", "author": w["people"]["poster"]["id"]},
             token=w["admin_token"])
    assert r.status == 202, r
    return r.body["id"]


def token_of(w, caller, kind):
    """The token of a caller of the group table (kind "g") or of the chat table ("c")."""
    if caller == "server":
        return w["admin_token"]
    if caller == "other-db":
        return w["other"]["token"]
    if caller == "none":
        return None
    if caller in ("admin", "outsider", "part"):
        return w["people"][caller]["token"]
    return w["people"][kind + caller.replace(kind + "-", "")]["token"]  # "g-admin" -> people["gadmin"]


def body_for(w, method, route, caller):
    bystander = w["people"]["bystander"]["id"]
    if method == "POST" and route.endswith("/add"):
        return [bystander]
    if method == "POST" and route.endswith("/remove"):
        return [bystander]
    if method == "PUT" and route.startswith("/groups"):
        return {"label": "Team"}
    if method == "PUT":
        return {"subject": "Room"}
    if method == "POST" and route == "/groups":
        return {}
    if method == "POST" and route == "/chat/create":
        return {"subject": "Made by " + caller, "contacts": [w["people"]["part"]["id"]]}
    if method == "POST":  # a message; a server administrator names its author
        return {"body": "from " + caller, "author": w["people"]["part"]["id"]} if caller == "server" else \
            {"body": "from " + caller}
    return None


def head(w):
    return sync(w["a"], w["admin_token"])


def run_cell(w, method, route, needs, caller, want, kind):
    ids = {"id": w["group"] if kind == "g" else w["chat"], "part": w["people"]["part"]["id"]}
    if method == "DELETE":  # a target of its own, so that the other cells keep theirs
        if route.endswith("{item}"):
            ids["item"] = new_item(w, w["chat"])
        else:
            ids["id"] = new_group(w) if kind == "g" else new_chat(w)
        sync(w["a"], w["admin_token"])
    path = "/db/%s%s" % (w["a"], route)
    for k, v in ids.items():
        path = path.replace("{%s}" % k, v)
    before = head(w)
    r = call(method, path, body=body_for(w, method, route, caller), token=token_of(w, caller, kind))
    status = want.rstrip("+-")
    assert r.status == int(status), r
    if int(status) >= 400:
        assert head(w) == before, "a refused request queued a command"
    template = "/db/{db}" + route.replace("{part}", "{cid}")
    if status == "404":
        what = "Group" if kind == "g" else "Chat"
        assert r.body == {"error": "%s '%s' does not exist" % (what, ids["id"]), "path": template}, r
    if status == "403" and needs != "-":
        assert r.body == {"error": "Requires '%s' access" % needs, "path": template}, r
    levels = GROUP_LEVELS if kind == "g" else CHAT_LEVELS
    ranks = GROUP_RANK if kind == "g" else CHAT_RANK
    access = levels[:ranks.get(caller, 0)][::-1]
    if status == "200" and method == "GET" and route in ("/groups/{id}/info",):
        assert r.body["access"] == access, r
    if status == "200" and method == "GET" and route == "/chat/{id}":
        assert r.body["info"]["access"] == access, r
    if want in ("200+", "200-"):
        listed = [x for x in r.body["list"] if x["id"] == ids["id"]]
        assert len(listed) == (1 if want == "200+" else 0), r
        if listed:
            assert listed[0]["access"] == access, listed
    return r


GROUP_CELLS = cells(GROUP_ROWS, GROUP_CALLERS)
CHAT_CELLS = cells(CHAT_ROWS, CHAT_CALLERS)


@pytest.mark.parametrize("method,route,needs,caller,want", GROUP_CELLS, ids=cell_ids(GROUP_CELLS))
def test_group_matrix(world, method, route, needs, caller, want):
    run_cell(world, method, route, needs, caller, want, "g")


@pytest.mark.parametrize("method,route,needs,caller,want", CHAT_CELLS, ids=cell_ids(CHAT_CELLS))
def test_chat_matrix(world, method, route, needs, caller, want):
    run_cell(world, method, route, needs, caller, want, "c")


def test_every_group_and_chat_route_is_in_the_matrix():
    """A new group or chat route must get its line in the tables above."""
    from test_access import ROUTES
    mine = set((m, r) for m, r, _, _ in GROUP_ROWS + CHAT_ROWS)
    for method, pattern, _, _ in ROUTES:
        if "/groups" in pattern or "/chat" in pattern:
            route = pattern.replace("/db/{db}", "").replace("{cid}", "{part}")
            assert (method, route) in mine, (method, pattern)


# ---------------------------------------------------------------- synchronization


def chat_get(db, token, chat, at=None):
    return get("/db/%s/chat/%s" % (db, chat), token=token, query={"at": enc(at)} if at else None)


@pytest.fixture
def private(admin):
    """A database with a chat that only group 'team' takes part in, and a contact outside it."""
    db = create_db(admin)[0]
    x = test_auth(db, "x@private.example.com")
    assert post("/db/%s/groups" % db, {"id": "team"}, token=admin).status == 202
    c = post("/db/%s/chat/create" % db, {"subject": "Team only", "groups": ["team"]}, token=admin)
    assert c.status == 202, c
    sync(db, admin)
    return {"db": db, "x": x, "chat": c.body["id"], "admin": admin}


def test_after_an_add_its_at_gives_the_new_member_access(private):
    db, x, chat, admin = private["db"], private["x"], private["chat"], private["admin"]
    assert chat_get(db, x["token"], chat).status == 404
    with processor_paused():
        add = post("/db/%s/groups/team/add" % db, [x["id"]], token=admin)
        assert add.status == 202, add
        # Not applied yet: without at= the chat is still hidden from x.
        assert chat_get(db, x["token"], chat).status == 404
        waiting = in_flight("GET", "/db/%s/chat/%s" % (db, chat), token=x["token"],
                            query={"at": enc(add.body["at"])})
        time.sleep(IN_FLIGHT)
        assert waiting.alive(), "the read with the add's at= did not wait"
    r = waiting.result()
    assert r.status == 200, r
    assert r.body["info"]["access"] == ["write", "read", "view"]
    p = post("/db/%s/chat/%s" % (db, chat), {"body": "I am in"}, token=x["token"])
    assert p.status == 202, p


def test_after_a_remove_its_at_refuses_the_removed_contact(private):
    db, x, chat, admin = private["db"], private["x"], private["chat"], private["admin"]
    add = post("/db/%s/groups/team/add" % db, [x["id"]], token=admin).body["at"]
    for _ in range(5):  # answers kept by the workers' caches, too
        r = get("/db/%s/chat/%s/items" % (db, chat), token=x["token"], query={"at": enc(add)})
        assert r.status == 200, r
    with processor_paused():
        rm = post("/db/%s/groups/team/remove" % db, [x["id"]], token=admin)
        assert rm.status == 202, rm
        assert get("/db/%s/chat/%s/items" % (db, chat), token=x["token"]).status == 200  # not applied yet
    at = {"at": enc(rm.body["at"])}
    for _ in range(5):
        r = get("/db/%s/chat/%s/items" % (db, chat), token=x["token"], query=at)
        assert r.status == 404, r
    assert post("/db/%s/chat/%s" % (db, chat), {"body": "still here?"}, token=x["token"], query=at).status == 404
    r = get("/db/%s/chat" % db, token=x["token"], query=at)
    assert r.status == 200 and r.body == {"list": [], "count": 0}, r


def test_a_group_audience_follows_membership_too(admin):
    db = create_db(admin)[0]
    x = test_auth(db, "x@follow.example.com")
    assert post("/db/%s/groups" % db, {"id": "readers"}, token=admin).status == 202
    g = post("/db/%s/groups" % db, {"id": "secret", "audience": {"list": {"groups": ["readers"]}}}, token=admin)
    assert g.status == 202, g
    sync(db, admin)
    assert get("/db/%s/groups/secret" % db, token=x["token"]).status == 404
    add = post("/db/%s/groups/readers/add" % db, [x["id"]], token=admin).body["at"]
    r = get("/db/%s/groups/secret" % db, token=x["token"], query={"at": enc(add)})
    assert r.status == 200, r
    r = get("/db/%s/groups/secret/info" % db, token=x["token"])
    assert r.body["access"] == ["list", "view"], r
    rm = post("/db/%s/groups/readers/remove" % db, [x["id"]], token=admin).body["at"]
    assert get("/db/%s/groups/secret" % db, token=x["token"], query={"at": enc(rm)}).status == 404


# ---------------------------------------------------------------- private messages


@pytest.fixture
def pm(admin):
    db = create_db(admin)[0]
    alice = test_auth(db, "alice@pm.example.com")
    bob = test_auth(db, "bob@pm.example.com")
    boss = test_auth(db, "boss@pm.example.com", admin=True)
    sync(db, admin)
    r = post("/db/%s/chat/create" % db, {"pm": True, "contacts": [alice["id"], bob["id"]]}, token=alice["token"])
    assert r.status == 202, r
    m = post("/db/%s/chat/%s" % (db, r.body["id"]), {"body": "just us"}, token=alice["token"],
             query={"at": enc(r.body["at"])})
    assert m.status == 202, m
    sync(db, admin)
    return {"db": db, "alice": alice, "bob": bob, "boss": boss, "chat": r.body["id"], "item": m.body["id"]}


def test_pm_is_for_its_two_contacts_only(pm, admin):
    db, chat = pm["db"], pm["chat"]
    for who in ("alice", "bob"):
        r = chat_get(db, pm[who]["token"], chat)
        assert r.status == 200, r
        assert r.body["info"]["access"] == ["write", "read", "view"], "a pm's creator gets no more than write"
        assert get("/db/%s/chat/%s/items" % (db, chat), token=pm[who]["token"]).body["count"] == 1
        assert [c["id"] for c in get("/db/%s/chat" % db, token=pm[who]["token"]).body["list"]] == [chat]
    # A member of admin, who has every level of everything else, is not one of them.
    boss = pm["boss"]["token"]
    missing = "Chat '%s' does not exist" % chat
    for method, path, body in [("GET", "/chat/%s" % chat, None), ("GET", "/chat/%s/items" % chat, None),
                               ("POST", "/chat/%s" % chat, {"body": "let me in"}),
                               ("DELETE", "/chat/%s/items/%s" % (chat, pm["item"]), None),
                               ("PUT", "/chat/%s" % chat, {"subject": "Mine"}),
                               ("DELETE", "/chat/%s" % chat, None)]:
        r = call(method, "/db/%s%s" % (db, path), body=body, token=boss)
        assert r.status == 404 and r.body["error"] == missing, (method, path, r)
    assert get("/db/%s/chat" % db, token=boss).body == {"list": [], "count": 0}
    assert get("/db/%s/chat/as/%s" % (db, pm["alice"]["id"]), token=boss).body["list"] == []
    # Only a server administrator may read it.
    r = chat_get(db, admin, chat)
    assert r.status == 200 and r.body["info"]["access"] == CHAT_LEVELS[::-1], r
    assert get("/db/%s/chat/%s/items" % (db, chat), token=admin).body["count"] == 1


def test_pm_takes_no_audience_and_cannot_be_changed(pm, admin):
    db = pm["db"]
    r = post("/db/%s/chat/create" % db, {"pm": True, "contacts": [pm["alice"]["id"], pm["boss"]["id"]],
                                         "audience": {"read": "anyone"}}, token=admin)
    assert r.status == 400 and r.body["at"] == "body.audience", r
    r = call("PUT", "/db/%s/chat/%s" % (db, pm["chat"]), body={"audience": {"read": "anyone"}}, token=admin)
    assert r.status == 400, r
    r = call("PUT", "/db/%s/chat/%s" % (db, pm["chat"]), body={"subject": "Hi"}, token=pm["alice"]["token"])
    assert r.status == 403 and r.body["error"] == "Requires 'admin' access", r


# ---------------------------------------------------------------- compatibility rules


@pytest.fixture
def people(admin):
    db = create_db(admin)[0]
    out = {"db": db}
    for name in ("alice", "bob", "carol"):
        out[name] = test_auth(db, "%s@compat.example.com" % name)
    sync(db, admin)
    return out


def test_the_creator_of_a_chat_has_admin_on_it(people):
    db, alice, bob = people["db"], people["alice"], people["bob"]
    r = post("/db/%s/chat/create" % db, {"subject": "Mine", "contacts": [bob["id"]]}, token=alice["token"])
    assert r.status == 202, r
    chat, at = r.body["id"], r.body["at"]
    g = chat_get(db, alice["token"], chat, at)
    assert g.body["info"]["access"] == CHAT_LEVELS[::-1], g
    assert chat_get(db, bob["token"], chat).body["info"]["access"] == ["write", "read", "view"]
    p = call("PUT", "/db/%s/chat/%s" % (db, chat), body={"subject": "Ours"}, token=alice["token"])
    assert p.status == 202, p
    assert chat_get(db, bob["token"], chat, p.body["at"]).body["info"]["subject"] == "Ours"
    assert call("DELETE", "/db/%s/chat/%s" % (db, chat), token=bob["token"]).status == 403
    d = call("DELETE", "/db/%s/chat/%s" % (db, chat), token=alice["token"])
    assert d.status == 202, d
    assert chat_get(db, alice["token"], chat, d.body["at"]).status == 404


def test_an_author_may_always_delete_its_own_item(people):
    db, alice, bob = people["db"], people["alice"], people["bob"]
    r = post("/db/%s/chat/create" % db, {"contacts": [alice["id"], bob["id"]]}, token=people["carol"]["token"])
    chat = r.body["id"]
    mine = post("/db/%s/chat/%s" % (db, chat), {"body": "mine"}, token=alice["token"],
                query={"at": enc(r.body["at"])})
    assert mine.status == 202, mine
    url = "/db/%s/chat/%s/items/" % (db, chat)
    # Bob (write) may not delete Alice's item; Alice may.
    sync(db, alice["token"], mine.body["at"])
    r = call("DELETE", url + mine.body["id"], token=bob["token"])
    assert r.status == 403 and r.body["error"] == "Requires 'moderate' access", r
    d = call("DELETE", url + mine.body["id"], token=alice["token"])
    assert d.status == 202, d
    items = get("/db/%s/chat/%s/items" % (db, chat), token=bob["token"], query={"at": enc(d.body["at"])})
    assert items.body["count"] == 0, items
    # Even while the post is still queued: the delete then removes only an item of the caller's.
    with processor_paused():
        p = post("/db/%s/chat/%s" % (db, chat), {"body": "oops"}, token=bob["token"])
        assert p.status == 202, p
        by_alice = call("DELETE", url + p.body["id"], token=alice["token"])  # not hers
    assert by_alice.status == 202, by_alice
    items = get("/db/%s/chat/%s/items" % (db, chat), token=bob["token"], query={"at": enc(by_alice.body["at"])})
    assert [i["id"] for i in items.body["items"]] == [p.body["id"]], "another's queued delete removed it"
    with processor_paused():
        p = post("/db/%s/chat/%s" % (db, chat), {"body": "oops again"}, token=bob["token"])
        by_bob = call("DELETE", url + p.body["id"], token=bob["token"])
    assert by_bob.status == 202, by_bob
    items = get("/db/%s/chat/%s/items" % (db, chat), token=bob["token"], query={"at": enc(by_bob.body["at"])})
    assert p.body["id"] not in [i["id"] for i in items.body["items"]], items


def test_an_author_who_lost_access_may_still_delete_its_item(people):
    db, bob, carol = people["db"], people["bob"], people["carol"]
    r = post("/db/%s/chat/create" % db, {"audience": {"write": {"contacts": [bob["id"]]}}}, token=carol["token"])
    chat = r.body["id"]
    late = post("/db/%s/chat/%s" % (db, chat), {"body": "last words"}, token=bob["token"],
                query={"at": enc(r.body["at"])})
    assert late.status == 202, late
    # Carol, its creator, takes the chat away from Bob.
    p = call("PUT", "/db/%s/chat/%s" % (db, chat), body={"audience": {}}, token=carol["token"],
             query={"at": enc(late.body["at"])})
    assert p.status == 202, p
    assert chat_get(db, bob["token"], chat, p.body["at"]).status == 404
    d = call("DELETE", "/db/%s/chat/%s/items/%s" % (db, chat, late.body["id"]), token=bob["token"])
    assert d.status == 202, d
    items = get("/db/%s/chat/%s/items" % (db, chat), token=carol["token"], query={"at": enc(d.body["at"])})
    assert items.body["count"] == 0, items
    # Another id gets the hidden chat's 404.
    r = call("DELETE", "/db/%s/chat/%s/items/%s" % (db, chat, "0000000000Z"), token=bob["token"])
    assert r.status == 404 and r.body["error"] == "Chat '%s' does not exist" % chat, r


def test_a_public_chat_is_read_by_anyone_and_written_by_no_one_else(people, admin):
    db = people["db"]
    r = post("/db/%s/chat/create" % db, {"public": True, "subject": "News"}, token=admin)
    chat = r.body["id"]
    for who in ("alice", "bob"):
        g = chat_get(db, people[who]["token"], chat, r.body["at"])
        assert g.status == 200 and g.body["info"]["access"] == ["read", "view"], g
        assert get("/db/%s/chat/%s/items" % (db, chat), token=people[who]["token"]).status == 200
        p = post("/db/%s/chat/%s" % (db, chat), {"body": "me too"}, token=people[who]["token"])
        assert p.status == 403 and p.body["error"] == "Requires 'write' access", p
    # Everyone's chats list it, and GET /chat/as/{cid} for anyone.
    listed = get("/db/%s/chat/as/%s" % (db, people["alice"]["id"]), token=people["bob"]["token"]).body["list"]
    assert [c["id"] for c in listed] == [chat]


def test_a_chat_with_only_an_audience(people, admin):
    """An audience replaces participants (no 400), and anyone may be given view only."""
    db, alice, bob = people["db"], people["alice"], people["bob"]
    body = {"subject": "Board", "audience": {"view": "anyone", "read": {"contacts": [alice["id"]]}}}
    r = post("/db/%s/chat/create" % db, body, token=admin)
    assert r.status == 202, r
    chat = r.body["id"]
    assert chat_get(db, bob["token"], chat, r.body["at"]).body["info"]["access"] == ["view"]
    assert get("/db/%s/chat/%s/items" % (db, chat), token=bob["token"]).status == 403
    assert chat_get(db, alice["token"], chat).body["info"]["access"] == ["read", "view"]
    # PUT replaces the given audience as a whole: levels not named are nobody.
    p = call("PUT", "/db/%s/chat/%s" % (db, chat), body={"audience": {"write": {"contacts": [bob["id"]]}}},
             token=admin)
    assert p.status == 202, p
    assert chat_get(db, alice["token"], chat, p.body["at"]).status == 404
    assert chat_get(db, bob["token"], chat).body["info"]["access"] == ["write", "read", "view"]


@pytest.mark.parametrize("body,at", [
    ({"audience": {"reader": "anyone"}}, "body.audience.reader"),
    ({"audience": {"read": "everyone"}}, "body.audience.read"),
    ({"audience": {"read": ["x"]}}, "body.audience.read"),
    ({"audience": {"read": {"people": []}}}, "body.audience.read.people"),
    ({"audience": {"read": {"groups": ["bad group"]}}}, "body.audience.read.groups[0]"),
    ({"audience": {"read": {"contacts": ["short"]}}}, "body.audience.read.contacts[0]"),
    ({"audience": "anyone"}, "body.audience"),
])
def test_bad_audience_is_400(people, admin, body, at):
    db = people["db"]
    before = sync(db, admin)
    r = post("/db/%s/chat/create" % db, dict(body, subject="Bad"), token=admin)
    assert r.status == 400 and r.body["at"] == at, r
    g = post("/db/%s/groups" % db, {"audience": body["audience"]}, token=admin)
    assert g.status == 400, g  # the group levels differ, but every one of these is bad for groups too
    assert sync(db, admin) == before


def test_group_levels_are_not_chat_levels(people, admin):
    r = post("/db/%s/groups" % people["db"], {"audience": {"write": "anyone"}}, token=admin)
    assert r.status == 400 and r.body["at"] == "body.audience.write", r
    r = post("/db/%s/chat/create" % people["db"], {"audience": {"list": "anyone"}}, token=admin)
    assert r.status == 400 and r.body["at"] == "body.audience.list", r


def test_group_lists_are_paged_with_the_whole_count(people, admin):
    db, alice = people["db"], people["alice"]
    made = []
    for k in range(5):
        r = post("/db/%s/groups" % db, {"label": "G%d" % k, "audience": {"view": {"contacts": [alice["id"]]}}},
                 token=admin)
        made.append(r.body["id"])
    post("/db/%s/groups" % db, {"label": "Hidden"}, token=admin)
    sync(db, admin)
    r = get("/db/%s/groups" % db, token=alice["token"])
    assert [g["id"] for g in r.body["list"]] == made and r.body["count"] == 5, r
    assert list(r.body["list"][0].keys()) == ["id", "label", "count", "access"]
    r = get("/db/%s/groups" % db, token=alice["token"], query={"limit": "2", "offset": "3"})
    assert [g["id"] for g in r.body["list"]] == made[3:] and r.body["count"] == 5, r
    for q in ({"limit": "0"}, {"offset": "9"}):
        assert get("/db/%s/groups" % db, token=alice["token"], query=q).body == {"list": [], "count": 5}
    # A server administrator sees every group: admin, the five, the hidden one.
    assert get("/db/%s/groups" % db, token=admin).body["count"] == 7


def test_contacts_are_read_by_any_contact_and_imported_by_admin_members(people, admin):
    db, alice = people["db"], people["alice"]
    for path in ("/contacts", "/contacts/%s" % people["bob"]["id"], "/contacts/search?q=bob"):
        r = get("/db/%s%s" % (db, path), token=alice["token"])
        assert r.status == 200, (path, r)
    before = sync(db, admin)
    r = post("/db/%s/contacts/import" % db, [{"email": "new@compat.example.com"}], token=alice["token"])
    assert r.status == 403, r
    assert sync(db, admin) == before
    boss = test_auth(db, "boss@compat.example.com", admin=True)
    sync(db, admin, boss["at"])
    r = post("/db/%s/contacts/import" % db, [{"email": "new@compat.example.com"}], token=boss["token"])
    assert r.status == 202, r


def test_a_server_administrator_acting_as_a_contact_has_that_contacts_access(people, admin):
    """SPEC §1: as=<cid> acts as that contact, so a server-administrator token with as= gets what
    that contact gets (SPEC §5), not every level: a site that acts for its users with one token
    shows each of them only what they may see."""
    db, alice, bob, carol = people["db"], people["alice"], people["bob"], people["carol"]
    as_ = lambda who: {"as": who["id"]}
    r = post("/db/%s/chat/create" % db, {"subject": "Alice and Bob", "contacts": [alice["id"], bob["id"]]},
             token=admin)
    chat = r.body["id"]
    pm = post("/db/%s/chat/create" % db, {"pm": True, "contacts": [alice["id"], bob["id"]]}, token=admin).body["id"]
    g = post("/db/%s/groups" % db, {"id": "hidden"}, token=admin)
    sync(db, admin, g.body["at"])
    # Carol is in neither: hidden, exactly as for her own token.
    for path in ("/chat/%s" % chat, "/chat/%s/items" % chat, "/chat/%s" % pm):
        mine = get("/db/%s%s" % (db, path), token=carol["token"])
        acted = get("/db/%s%s" % (db, path), token=admin, query=as_(carol))
        assert acted.status == 404 and acted.body == mine.body, (path, acted)
    assert get("/db/%s/groups/hidden/info" % db, token=admin, query=as_(carol)).status == 404
    assert get("/db/%s/chat" % db, token=admin, query=as_(carol)).body == {"list": [], "count": 0}
    assert get("/db/%s/groups" % db, token=admin, query=as_(carol)).body == {"list": [], "count": 0}
    r = post("/db/%s/chat/%s" % (db, chat), {"body": "let me in"}, token=admin, query=as_(carol))
    assert r.status == 404, r
    r = post("/db/%s/groups" % db, {"id": "mine"}, token=admin, query=as_(carol))
    assert r.status == 403, r
    r = post("/db/%s/contacts/import" % db, [{"email": "dave@compat.example.com"}], token=admin, query=as_(carol))
    assert r.status == 403, r
    # Bob takes part: write, not admin, and he may not post in Alice's name.
    r = get("/db/%s/chat/%s" % (db, chat), token=admin, query=as_(bob))
    assert r.status == 200 and r.body["info"]["access"] == ["write", "read", "view"], r
    r = call("DELETE", "/db/%s/chat/%s" % (db, chat), token=admin, query=as_(bob))
    assert r.status == 403 and r.body["error"] == "Requires 'admin' access", r
    r = post("/db/%s/chat/%s" % (db, chat), {"body": "from Alice?", "author": alice["id"]}, token=admin,
             query=as_(bob))
    assert r.status == 403, r
    assert [c["id"] for c in get("/db/%s/chat" % db, token=admin, query=as_(bob)).body["list"]] == [chat, pm]
    # Without as=, the server administrator has every level of everything.
    r = get("/db/%s/chat/%s" % (db, pm), token=admin)
    assert r.status == 200 and r.body["info"]["access"] == CHAT_LEVELS[::-1], r
    assert get("/db/%s/chat" % db, token=admin).body["count"] == 2
