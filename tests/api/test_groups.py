"""Groups and the admin group (SPEC §4 "Groups"): lifecycle, errors, rights, exact counts."""

import random
import threading

import pytest

from conftest import (
    ID_RE, NOT_YET, call, create_db, enc, get, import_contacts, is_clock, merge, post,
    processor_paused, stream_of,
)


# A server administrator's levels on every group, in the "access" of <groupinfo> (SPEC §5).
EVERY = ["admin", "moderate", "list", "view"]


# ---------------------------------------------------------------- helpers


def gurl(db, *parts):
    return "/".join(["/db/%s/groups" % db] + list(parts))


def q_at(at):
    return {"at": enc(at)} if at else None


def create(db, token, body, status=202):
    r = post(gurl(db), body, token=token)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["id", "at"], r
        assert is_clock(r.body["at"]) and r.body["at"], r
    return r


def change(db, token, gid, verb, cids, status=202):
    r = post(gurl(db, gid, verb), cids, token=token)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["at"], r
        assert is_clock(r.body["at"]), r
    return r


def delete(db, token, gid, status=202):
    r = call("DELETE", gurl(db, gid), token=token)
    assert r.status == status, r
    if status == 202:
        assert list(r.body.keys()) == ["at"], r
    return r


def info(db, token, gid, at=None):
    return get(gurl(db, gid, "info"), token=token, query=q_at(at))


def members(db, token, gid, at=None, **params):
    q = dict((k, str(v)) for k, v in params.items())
    if at:
        q["at"] = enc(at)
    return get(gurl(db, gid), token=token, query=q)


def member_ids(db, token, gid, at=None):
    r = members(db, token, gid, at)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["list", "count"], r
    return [c["id"] for c in r.body["list"]], r.body["count"]


def sync(db, token, at):
    if at:
        r = get("/db/%s/sync" % db, token=token, query={"at": enc(at)})
        assert r.status == 200, r


def contact_token(db, email, admin):
    """A contact's token (test mode), its id; waited for, so its admin membership holds."""
    r = post("/db/%s/test/auth" % db, {"email": email, "admin": admin})
    assert r.status == 202, r
    sync(db, r.body["token"], r.body["at"])
    return r.body["token"], r.body["id"]


@pytest.fixture
def people(db, admin):
    """Five contacts in a fresh database: ids in creation order."""
    items = [{"email": "p%d@example.com" % i, "fullname": "Person %d" % i} for i in range(5)]
    created, _ = import_contacts(db, admin, items)
    return created


@pytest.fixture
def member(db):
    """A contact token of the database that is not in group admin."""
    return contact_token(db, "member@example.com", False)


# ---------------------------------------------------------------- lifecycle


def test_lifecycle_with_at_between_steps(db, admin, people):
    a, b, c = people[:3]
    r = create(db, admin, {"id": "team", "label": "  The   team "})
    assert r.body["id"] == "team"
    at = r.body["at"]
    i = info(db, admin, "team", at)
    assert i.status == 200, i
    assert list(i.body.keys()) == ["id", "label", "count", "access"]
    assert i.body == {"id": "team", "label": "The team", "count": 0, "access": EVERY}
    assert member_ids(db, admin, "team", at) == ([], 0)

    # Duplicates in the list are fine; members come back as short contacts.
    at = change(db, admin, "team", "add", [c, a, c, a]).body["at"]
    r = members(db, admin, "team", at)
    assert r.status == 200, r
    assert r.body["count"] == 2
    assert [m["id"] for m in r.body["list"]] == [a, c]
    one = get("/db/%s/contacts/%s" % (db, a), token=admin).body
    assert r.body["list"][0] == one
    assert list(r.body["list"][0].keys()) == ["id", "name", "gender", "pic"]
    assert info(db, admin, "team", at).body["count"] == 2

    # Adding members already in (and a new one) changes only what is new.
    at = change(db, admin, "team", "add", [a, b]).body["at"]
    assert member_ids(db, admin, "team", at) == ([a, b, c], 3)

    # Remove: unknown and non-member contacts are no-ops.
    at = change(db, admin, "team", "remove", [a, a, people[4], "0000000zzzz"]).body["at"]
    assert member_ids(db, admin, "team", at) == ([b, c], 2)
    assert info(db, admin, "team", at).body["count"] == 2

    # Delete: the group goes, its contacts stay.
    at = delete(db, admin, "team").body["at"]
    assert is_clock(at) and at
    gone = info(db, admin, "team", at)
    assert gone.status == 404, gone
    assert gone.body == {"error": "Group 'team' does not exist", "path": "/db/{db}/groups/{id}/info"}
    assert members(db, admin, "team").status == 404
    assert get("/db/%s/contacts/%s" % (db, b), token=admin).status == 200
    assert get("/db/%s/contacts" % db, token=admin).body["count"] == 5


def test_lifecycle_without_at_reads_may_lag_with_at_they_do_not(db, admin, people):
    a = people[0]
    with processor_paused():
        r = create(db, admin, {"label": "Lagging"})
        gid, at = r.body["id"], r.body["at"]
        assert ID_RE.match(gid), r
        # Not applied yet: without at= the group is not there.
        assert info(db, admin, gid).status == 404
        # With at= the read waits, and times out while the processor is stopped.
        t = info(db, admin, gid, at)
        assert t.status == 503, t
        assert t.body["error"] == NOT_YET
        assert t.headers["Retry-After"] == "1"
    # Once applied, at= answers at once.
    assert info(db, admin, gid, at).body == {"id": gid, "label": "Lagging", "count": 0, "access": EVERY}

    with processor_paused():
        at2 = change(db, admin, gid, "add", [a]).body["at"]
        assert member_ids(db, admin, gid) == ([], 0)
        assert info(db, admin, gid).body["count"] == 0
    assert stream_of(at2) == stream_of(at) and at2[0][1] > at[0][1]
    assert member_ids(db, admin, gid, at2) == ([a], 1)

    with processor_paused():
        at3 = delete(db, admin, gid).body["at"]
        assert info(db, admin, gid).status == 200
    assert info(db, admin, gid, at3).status == 404


def test_lifecycle_without_at_settles(db, admin, people):
    """The same steps with no at= at all: every write answers 202 at once; after /sync the state
    is the one the writes describe."""
    a, b = people[:2]
    gid = create(db, admin, {"id": "quick"}).body["id"]
    sync_all = lambda: get("/db/%s/sync" % db, token=admin)  # noqa: E731
    assert sync_all().status == 200
    assert change(db, admin, gid, "add", [a, b]).status == 202
    assert change(db, admin, gid, "remove", [a]).status == 202
    assert sync_all().status == 200
    assert member_ids(db, admin, gid) == ([b], 1)
    assert delete(db, admin, gid).status == 202
    assert sync_all().status == 200
    assert info(db, admin, gid).status == 404


def test_recreate_after_delete_starts_empty_with_the_new_label(db, admin, people):
    sync(db, admin, create(db, admin, {"id": "again", "label": "First"}).body["at"])
    at = change(db, admin, "again", "add", people[:3]).body["at"]
    assert member_ids(db, admin, "again", at) == (sorted(people[:3]), 3)
    at = delete(db, admin, "again").body["at"]
    sync(db, admin, at)
    # The id is free again.
    r = create(db, admin, {"id": "again", "label": "Second"})
    at = r.body["at"]
    assert info(db, admin, "again", at).body == {"id": "again", "label": "Second", "count": 0, "access": EVERY}
    assert member_ids(db, admin, "again", at) == ([], 0)
    at = change(db, admin, "again", "add", [people[4]]).body["at"]
    assert member_ids(db, admin, "again", at) == ([people[4]], 1)


def test_recreate_without_label_has_null_label(db, admin):
    at = create(db, admin, {"id": "lbl", "label": "Has one"}).body["at"]
    sync(db, admin, at)
    sync(db, admin, delete(db, admin, "lbl").body["at"])
    at = create(db, admin, {"id": "lbl"}).body["at"]
    assert info(db, admin, "lbl", at).body == {"id": "lbl", "label": None, "count": 0, "access": EVERY}


def test_two_creations_without_id_make_two_groups(db, admin):
    r1 = create(db, admin, {})
    r2 = create(db, admin, {"label": "Two"})
    g1, g2 = r1.body["id"], r2.body["id"]
    assert ID_RE.match(g1) and ID_RE.match(g2)
    assert g1 != g2
    assert g1 < g2, "generated ids sort by creation"
    at = merge(r1.body["at"], r2.body["at"])
    assert info(db, admin, g1, at).body == {"id": g1, "label": None, "count": 0, "access": EVERY}
    assert info(db, admin, g2, at).body == {"id": g2, "label": "Two", "count": 0, "access": EVERY}


def test_create_without_body_makes_a_group(db, admin):
    r = post(gurl(db), token=admin)
    assert r.status == 202, r
    assert info(db, admin, r.body["id"], r.body["at"]).status == 200


def test_members_are_paginated_and_count_is_the_total(db, admin, people):
    at = create(db, admin, {"id": "pages"}).body["at"]
    sync(db, admin, at)
    at = change(db, admin, "pages", "add", list(reversed(people))).body["at"]
    everyone = sorted(people)
    assert member_ids(db, admin, "pages", at) == (everyone, 5)
    r = members(db, admin, "pages", limit=2, offset=1)
    assert r.status == 200, r
    assert [m["id"] for m in r.body["list"]] == everyone[1:3]
    assert r.body["count"] == 5
    r = members(db, admin, "pages", limit=0)
    assert r.body == {"list": [], "count": 5}
    r = members(db, admin, "pages", offset=5)
    assert r.body == {"list": [], "count": 5}
    assert members(db, admin, "pages", limit="x").status == 400
    assert members(db, admin, "pages", offset=-1).status == 400


def test_add_of_an_empty_list_changes_nothing(db, admin):
    at = create(db, admin, {"id": "empty"}).body["at"]
    sync(db, admin, at)
    r = change(db, admin, "empty", "add", [])
    assert r.body["at"] == []
    assert change(db, admin, "empty", "remove", []).body["at"] == []


# ---------------------------------------------------------------- the admin group


def test_every_database_has_the_admin_group_with_its_true_count(admin):
    db = create_db(admin)[0]
    r = info(db, admin, "admin")
    assert r.status == 200, r
    assert r.body == {"id": "admin", "label": None, "count": 0, "access": EVERY}
    _, boss = contact_token(db, "boss@example.com", True)
    _, plain = contact_token(db, "plain@example.com", False)
    assert info(db, admin, "admin").body["count"] == 1
    assert member_ids(db, admin, "admin") == ([boss], 1)
    # test/auth twice for the same contact does not count it twice.
    contact_token(db, "boss@example.com", True)
    assert info(db, admin, "admin").body["count"] == 1
    # A server administrator may add to admin; the new member then may run the database.
    at = change(db, admin, "admin", "add", [plain]).body["at"]
    assert member_ids(db, admin, "admin", at) == (sorted([boss, plain]), 2)
    at = change(db, admin, "admin", "remove", [boss]).body["at"]
    assert member_ids(db, admin, "admin", at) == ([plain], 1)
    assert info(db, admin, "admin").body["count"] == 1


def test_admin_member_may_run_groups(db, admin, people):
    token, _ = contact_token(db, "chief@example.com", True)
    at = create(db, token, {"id": "byadmin", "label": "By admin"}).body["at"]
    sync(db, token, at)
    at = change(db, token, "byadmin", "add", people[:2]).body["at"]
    assert member_ids(db, token, "byadmin", at) == (sorted(people[:2]), 2)
    at = change(db, token, "byadmin", "remove", people[:1]).body["at"]
    sync(db, token, at)
    at = delete(db, token, "byadmin").body["at"]
    assert info(db, token, "byadmin", at).status == 404


# ---------------------------------------------------------------- 409


def test_create_admin_is_409(db, admin):
    r = create(db, admin, {"id": "admin", "label": "Mine"}, status=409)
    assert r.body["path"] == "/db/{db}/groups"
    assert "admin" in r.body["error"]
    # Nothing changed.
    assert info(db, admin, "admin").body == {"id": "admin", "label": None, "count": 0, "access": EVERY}


def test_create_taken_id_is_409(db, admin):
    at = create(db, admin, {"id": "taken", "label": "First"}).body["at"]
    sync(db, admin, at)
    r = create(db, admin, {"id": "taken", "label": "Second"}, status=409)
    assert r.body == {"error": "Group 'taken' already exists", "path": "/db/{db}/groups"}
    assert info(db, admin, "taken").body["label"] == "First"


def test_custom_ids_are_case_sensitive(db, admin):
    at = merge(create(db, admin, {"id": "Case", "label": "Upper"}).body["at"],
               create(db, admin, {"id": "case", "label": "Lower"}).body["at"])
    assert info(db, admin, "Case", at).body["label"] == "Upper"
    assert info(db, admin, "case", at).body["label"] == "Lower"
    create(db, admin, {"id": "Admin"})


def test_id_taken_between_request_and_apply_keeps_the_first(db, admin, people):
    """Both requests pass the check at request time; the applier re-checks and the second fails."""
    with processor_paused():
        r1 = create(db, admin, {"id": "race", "label": "First"})
        r2 = create(db, admin, {"id": "race", "label": "Second"})
    at = merge(r1.body["at"], r2.body["at"])
    assert r2.body["at"][0][1] > r1.body["at"][0][1]
    assert info(db, admin, "race", at).body == {"id": "race", "label": "First", "count": 0, "access": EVERY}
    # The failed command still advanced the clock, and the group works.
    at = change(db, admin, "race", "add", people[:1]).body["at"]
    assert member_ids(db, admin, "race", at) == (people[:1], 1)


def test_add_after_delete_in_the_queue_does_not_resurrect(db, admin, people):
    at = create(db, admin, {"id": "ghost"}).body["at"]
    sync(db, admin, at)
    with processor_paused():
        d = delete(db, admin, "ghost").body["at"]
        a = change(db, admin, "ghost", "add", people[:2]).body["at"]
    at = merge(d, a)
    assert info(db, admin, "ghost", at).status == 404
    at = create(db, admin, {"id": "ghost"}).body["at"]
    assert member_ids(db, admin, "ghost", at) == ([], 0)


# ---------------------------------------------------------------- 400


@pytest.mark.parametrize("gid", ["", "abcdefghijk", "a-b", "a b", "é", 42, True, ["x"]])
def test_create_with_bad_id_is_400(db, admin, gid):
    r = create(db, admin, {"id": gid, "label": "Bad"}, status=400)
    assert r.body["path"] == "/db/{db}/groups"
    assert r.body.get("at") == "body.id", r


@pytest.mark.parametrize("body,at", [
    ({"label": ""}, "body.label"),
    ({"label": "   "}, "body.label"),
    ({"label": "é" * 81}, "body.label"),
    ({"label": 12}, "body.label"),
    ({"name": "x"}, "body.name"),
    ([], "body"),
    ("x", "body"),
])
def test_create_with_bad_body_is_400_and_queues_nothing(db, admin, body, at):
    if isinstance(body, dict):
        body = dict(body, id="bad400")
    r = create(db, admin, body, status=400)
    assert r.body.get("at") == at, r
    # Nothing was queued: a later write's clock covers the moment, and the id is unused.
    at2 = create(db, admin, {"id": "later"}).body["at"]
    assert info(db, admin, "bad400", at2).status == 404


def test_create_with_invalid_json_is_400(db, admin):
    r = post(gurl(db), raw='{"id": "x"', token=admin)
    assert r.status == 400, r


def test_label_of_80_code_points_is_accepted(db, admin):
    at = create(db, admin, {"id": "long", "label": "é" * 80}).body["at"]
    assert info(db, admin, "long", at).body["label"] == "é" * 80


@pytest.mark.parametrize("verb", ["add", "remove"])
@pytest.mark.parametrize("body", [{"contacts": []}, "x", None, [1], [None], [["a"]]])
def test_add_remove_with_bad_body_is_400(db, admin, people, verb, body):
    sync(db, admin, create(db, admin, {"id": "g400"}).body["at"])
    if body is None:
        r = post(gurl(db, "g400", verb), token=admin)
    else:
        r = post(gurl(db, "g400", verb), [people[0]] + body if isinstance(body, list) else body,
                 token=admin)
    assert r.status == 400, r
    if isinstance(body, list):
        assert r.body.get("at") == "body[1]", r
    at = create(db, admin, {}).body["at"]  # a later command of the same stream
    assert member_ids(db, admin, "g400", at) == ([], 0)


# ---------------------------------------------------------------- 403


def test_non_admin_contact_may_not_create_groups(db, admin, member):
    token, _ = member
    for body in ({}, {"id": "mine"}, {"id": "admin"}):
        r = create(db, token, body, status=403)
        assert r.body["path"] == "/db/{db}/groups"
    at = create(db, admin, {"id": "probe"}).body["at"]
    assert info(db, admin, "mine", at).status == 404


def test_non_admin_contact_may_not_change_or_delete_groups(db, admin, member, people):
    """SPEC §5: a group whose audiences do not name the contact is hidden from it (404), the
    admin group included; its own token never becomes an administrator's."""
    token, me = member
    at = create(db, admin, {"id": "closed"}).body["at"]
    sync(db, admin, at)
    sync(db, admin, change(db, admin, "closed", "add", [people[0]]).body["at"])
    change(db, token, "closed", "add", [me], status=404)
    change(db, token, "closed", "remove", [people[0]], status=404)
    delete(db, token, "closed", status=404)
    # Nor make itself an administrator.
    change(db, token, "admin", "add", [me], status=404)
    # Nor read it: no audience names it.
    at = create(db, admin, {}).body["at"]
    assert info(db, token, "closed", at).status == 404
    assert members(db, token, "closed").status == 404
    assert member_ids(db, admin, "closed") == ([people[0]], 1)
    assert member_ids(db, admin, "admin") == ([], 0)
    # Its token did not become an admin's: still 403.
    create(db, token, {}, status=403)


def test_delete_admin_is_403_even_for_administrators(db, admin):
    r = delete(db, admin, "admin", status=403)
    assert r.body["path"] == "/db/{db}/groups/{id}"
    token, _ = contact_token(db, "root@example.com", True)
    delete(db, token, "admin", status=403)
    at = create(db, admin, {}).body["at"]
    assert info(db, admin, "admin", at).body["count"] == 1


# ---------------------------------------------------------------- 404


def test_missing_group_is_404_everywhere(db, admin, people):
    for gid in ("nosuch", "0000000zzzz", "bad-id", "x" * 40):
        for r in (info(db, admin, gid), members(db, admin, gid),
                  post(gurl(db, gid, "add"), [people[0]], token=admin),
                  post(gurl(db, gid, "remove"), [people[0]], token=admin),
                  call("DELETE", gurl(db, gid), token=admin)):
            assert r.status == 404, (gid, r)
            assert r.body["error"] == "Group '%s' does not exist" % gid, r


def test_add_of_a_missing_contact_is_404_naming_it_and_adds_nothing(db, admin, people):
    sync(db, admin, create(db, admin, {"id": "strict"}).body["at"])
    missing = "0000000zzzz"
    r = change(db, admin, "strict", "add", [people[0], missing, "0000000yyyy"], status=404)
    assert r.body == {"error": "Contact '%s' does not exist" % missing,
                      "path": "/db/{db}/groups/{id}/add"}
    r = change(db, admin, "strict", "add", [people[1], "not-an-id"], status=404)
    assert "'not-an-id'" in r.body["error"]
    # A contact of another database does not exist here.
    other = create_db(admin)[0]
    (foreign,), _ = import_contacts(other, admin, [{"email": "foreign@example.com"}])
    r = change(db, admin, "strict", "add", [foreign], status=404)
    assert foreign in r.body["error"]
    at = change(db, admin, "strict", "add", [people[2]]).body["at"]
    assert member_ids(db, admin, "strict", at) == ([people[2]], 1)


def test_missing_database_is_404(admin):
    r = info("0000000zzzz", admin, "admin")
    assert r.status == 404
    assert r.body["error"] == "Database 0000000zzzz does not exist"


# ---------------------------------------------------------------- 401


def test_groups_need_a_token_of_the_database(db, admin, people):
    sync(db, admin, create(db, admin, {"id": "auth"}).body["at"])
    other = create_db(admin)[0]
    foreign, _ = contact_token(other, "foreign@example.com", True)
    for token in (None, "garbage0000000", foreign):
        for r in (create(db, token, {"id": "nope"}, status=401),
                  info(db, token, "auth"), members(db, token, "auth"),
                  post(gurl(db, "auth", "add"), [people[0]], token=token),
                  post(gurl(db, "auth", "remove"), [people[0]], token=token),
                  call("DELETE", gurl(db, "auth"), token=token)):
            assert r.status == 401, (token, r)
    at = create(db, admin, {}).body["at"]
    assert info(db, admin, "auth", at).body["count"] == 0
    assert info(db, admin, "nope").status == 404


def test_wrong_method_is_405(db, admin):
    r = call("PUT", gurl(db, "admin"), token=admin)
    assert r.status == 405, r
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "DELETE"}


# ---------------------------------------------------------------- concurrency


def run_concurrently(db, token, gid, batches, threads=8):
    """Posts every (verb, ids) batch, `threads` clients at a time; returns the responses."""
    results = [None] * len(batches)
    errors = []

    def worker(k):
        try:
            for i in range(k, len(batches), threads):
                verb, ids = batches[i]
                results[i] = post(gurl(db, gid, verb), ids, token=token)
        except BaseException as e:  # reported below
            errors.append(e)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors, errors
    assert all(r is not None and r.status == 202 for r in results), results
    return results


def replay(start, batches, results):
    """The membership after applying the batches one by one in queue order."""
    positions = [r.body["at"][0][1] for r in results]
    assert len(set(positions)) == len(batches), "every batch has its own position"
    members = set(start)
    for _, i in sorted((positions[i], i) for i in range(len(batches))):
        verb, ids = batches[i]
        if verb == "add":
            members |= set(ids)
        else:
            members -= set(ids)
    return members


def test_concurrent_add_remove_batches_give_the_serial_result(db, admin):
    """50 add/remove batches on one group from 8 clients. The processor applies them in queue
    order, so the final membership is the serial replay in `at` order, and count is exact.
    Then rounds of only adds and only removes (with repeats and members already in), so that
    a count drifting on either kind shows whichever command happens to be applied last."""
    cids, _ = import_contacts(db, admin, [{"email": "c%02d@example.com" % i} for i in range(30)])
    sync(db, admin, create(db, admin, {"id": "busy"}).body["at"])
    rnd = random.Random(4)
    mixed = [("add" if i % 3 != 2 else "remove", rnd.sample(cids, rnd.randint(1, 12)) * (1 + i % 2))
             for i in range(50)]
    adds = [("add", rnd.sample(cids, rnd.randint(1, 8)) * 2) for _ in range(16)]
    removes = [("remove", rnd.sample(cids, rnd.randint(1, 4)) * 2) for _ in range(16)]
    expected = set()
    for batches in (mixed, adds, removes):
        results = run_concurrently(db, admin, "busy", batches)
        expected = replay(expected, batches, results)
        at = merge(*[r.body["at"] for r in results])
        got, count = member_ids(db, admin, "busy", at)
        assert got == sorted(expected)
        assert count == len(expected)
        assert info(db, admin, "busy").body["count"] == len(expected)


# ---------------------------------------------------------------- a NUL inside an id


@pytest.mark.parametrize("where", ["add", "remove", "create id", "audience contacts", "audience anyone"])
def test_an_id_with_a_nul_inside_is_400_not_the_id_before_it(db, admin, people, where):
    """"<cid>\\u0000x" is no contact id: read as a C string it would be <cid>."""
    gid = "nul" + where[:3].replace(" ", "")
    if where in ("add", "remove"):
        create(db, admin, {"id": gid})
        r = post(gurl(db, gid, where), [people[0] + "\u0000x"], token=admin)
        assert r.status == 400 and r.body["at"] == "body[0]", r
    elif where == "create id":
        r = post(gurl(db), {"id": gid + "\u0000x"}, token=admin)
        assert r.status == 400 and r.body["at"] == "body.id", r
    elif where == "audience contacts":
        r = post(gurl(db), {"audience": {"view": {"contacts": [people[0] + "\u0000x"]}}}, token=admin)
        assert r.status == 400 and r.body["at"] == "body.audience.view.contacts[0]", r
    else:
        r = post(gurl(db), {"audience": {"view": "anyone\u0000x"}}, token=admin)
        assert r.status == 400 and r.body["at"] == "body.audience.view", r
