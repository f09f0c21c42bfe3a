"""seed/synchronization.md, step by step, with the processor paused (SIGSTOP)."""

import hashlib
import json
import time

import pytest

from conftest import (
    FAST, ID_RE, IN_FLIGHT, NOT_YET, SYNC_TIMEOUT, enc, get, gravatar, import_contacts,
    in_flight, is_clock, post, processor_paused,
)

SEED = [
    {"email": "vnicollet@runorg.com", "fullname": "Victor Nicollet", "gender": "M"},
    {"email": "test@example.com"},
]
VICTOR_PIC = "https://www.gravatar.com/avatar/5a31b00f649489a9a24d3dc3e8b28060"


@pytest.fixture(scope="module")
def seed(admin):
    """Runs the page once, recording every answer; the tests below check one step each."""
    from conftest import create_db

    db = create_db(admin)[0]
    rec = {"db": db}
    with processor_paused():
        imp = post("/db/%s/contacts/import" % db, SEED, token=admin)
        rec["import"] = imp
        assert imp.status == 202, imp
        cid = imp.body["created"][0]
        at = imp.body["at"]
        rec["no_at"] = get("/db/%s/contacts/%s" % (db, cid), token=admin)
        rec["timeout"] = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(at)})
        bg = in_flight("GET", "/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(at)})
        time.sleep(IN_FLIGHT)
        rec["alive_while_paused"] = bg.alive()
        rec["resumed_at"] = time.monotonic()
    rec["in_flight"] = bg.result()
    rec["in_flight_done"] = time.monotonic()
    return rec


def test_import_answers_202_with_two_ids_and_a_clock(seed):
    r = seed["import"]
    assert r.status == 202
    assert r.headers["Content-Type"].startswith("application/json")
    assert list(r.body.keys()) == ["created", "at"]
    created = r.body["created"]
    assert len(created) == 2
    assert all(ID_RE.match(c) for c in created), created
    assert created[0] != created[1]
    at = r.body["at"]
    assert is_clock(at), at
    assert len(at) == 1
    assert at[0][0] >= 2, "database streams are numbered from 2"
    assert at[0][1] >= 1


def test_get_without_at_is_404_with_the_exact_body(seed):
    r = seed["no_at"]
    cid = seed["import"].body["created"][0]
    assert r.status == 404, r
    assert r.body == {"error": "Contact '%s' does not exist" % cid, "path": "/db/{db}/contacts/{cid}"}
    assert r.text == '{"error":"Contact \'%s\' does not exist","path":"/db/{db}/contacts/{cid}"}' % cid
    assert r.elapsed < FAST, "a read without at= must not wait"


def test_get_with_at_while_paused_is_503_after_the_timeout(seed):
    r = seed["timeout"]
    at = seed["import"].body["at"]
    assert r.status == 503, r
    assert r.headers["Retry-After"] == "1"
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.body["error"] == NOT_YET
    assert list(r.body.keys()) == ["error", "current", "expected"]
    assert r.body["expected"] == at
    cur = r.body["current"]
    assert is_clock(cur), cur
    s, n = at[0]
    assert dict((a, b) for a, b in cur).get(s, 0) < n, "current must not have reached expected"
    assert r.elapsed >= SYNC_TIMEOUT - 0.1, "503 came before the sync timeout"
    assert r.elapsed < SYNC_TIMEOUT + 2.0, "503 came far too late"


def test_get_in_flight_when_processor_resumes_is_200(seed):
    assert seed["alive_while_paused"], "the request with at= did not wait for the paused processor"
    r = seed["in_flight"]
    cid = seed["import"].body["created"][0]
    assert r.status == 200, r
    # The page's md5, recomputed here.
    assert VICTOR_PIC == gravatar("vnicollet@runorg.com")
    assert VICTOR_PIC.endswith(hashlib.md5(b"vnicollet@runorg.com").hexdigest())
    expected = {"id": cid, "name": "Victor Nicollet", "gender": "M", "pic": VICTOR_PIC}
    assert r.body == expected
    # Compact JSON, keys in this order, slashes not escaped.
    assert r.text == json.dumps(expected, separators=(",", ":"))
    assert "\\/" not in r.text


def test_in_flight_request_answers_soon_after_resume(seed):
    # "not a millisecond longer": well before the sync timeout once resumed.
    assert seed["in_flight_done"] - seed["resumed_at"] < 1.0


def test_second_contact_name_is_its_email_gender_null(seed, admin):
    db = seed["db"]
    cid = seed["import"].body["created"][1]
    r = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(seed["import"].body["at"])})
    assert r.status == 200, r
    assert r.body == {"id": cid, "name": "test@example.com", "gender": None, "pic": gravatar("test@example.com")}
    assert r.text == json.dumps(r.body, separators=(",", ":"))


def test_seed_contacts_listed_after_sync(seed, admin):
    db = seed["db"]
    created = seed["import"].body["created"]
    r = get("/db/%s/contacts" % db, token=admin, query={"at": enc(seed["import"].body["at"])})
    assert r.status == 200, r
    assert r.body["count"] == 2
    assert [c["id"] for c in r.body["list"]] == created


def test_ids_sort_after_earlier_ids(db, admin):
    # Ids are time first at millisecond resolution, then the generating process:
    # two ids made in the same millisecond by two worker processes may sort
    # either way ("roughly: time first"), so the second import comes later.
    a, _ = import_contacts(db, admin, [{"email": "first@example.com"}], wait=False)
    time.sleep(0.005)
    b, _ = import_contacts(db, admin, [{"email": "second@example.com"}], wait=False)
    assert a[0] < b[0], "identifiers must sort after identifiers generated earlier"
