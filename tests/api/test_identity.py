"""Identity (SPEC §6): HMAC keys, HMAC login, token introspection and logout,
contact update.

Timing: that a wrong proof answers in the same time however many leading hex
digits were right is shown by tests/unit/test_hmac.c, which measures the
comparison itself (hmac_equal) in-process with a Welch t-test over 100,000s of
runs, and checks that the same measurement does catch a comparison that stops
at the first wrong byte. Over HTTP the difference to find would be a few
nanoseconds under milliseconds of network and scheduling noise: a statistical
test there would pass just as well for a leaking comparison, so it would
prove nothing. What the API tests check is the rest of "indistinguishable":
same status and same body for a bad proof and an unknown or deleted key.
"""

import hashlib
import hmac
import os
import re
import subprocess
import time

import pytest

from conftest import (
    ID_RE, TIME_RE, TOKEN_RE, call, create_db, enc, get, gravatar, import_contacts, post, repo_root, short,
    sql, unique, var_dir,
)

HMAC_PATH = "/db/{db}/contacts/auth/hmac"


def put(path, body=None, **kw):
    return call("PUT", path, body=body, **kw)


def delete(path, **kw):
    return call("DELETE", path, **kw)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def proof(key_hex, cid, expires, hash_name="SHA-256"):
    digest = hashlib.sha1 if hash_name == "SHA-1" else hashlib.sha256
    return hmac.new(bytes.fromhex(key_hex), ("auth:%s:until:%s" % (cid, expires)).encode(), digest).hexdigest()


def db_token(db, email, admin=False):
    r = post("/db/%s/test/auth" % db, {"email": email, "admin": admin})
    assert r.status == 202, r
    return r.body


def sync(db, token, at):
    r = get("/db/%s/sync" % db, token=token, query={"at": enc(at)})
    assert r.status == 200, r


def new_key(db, token, hash_name="SHA-256", nbytes=32, wait=True):
    key = os.urandom(nbytes).hex()
    r = post("/db/%s/keys" % db, {"hash": hash_name, "key": key, "encoding": "hex"}, token=token)
    assert r.status == 202, r
    assert list(r.body.keys()) == ["id", "at"], r
    assert ID_RE.match(r.body["id"]), r
    if wait:
        sync(db, token, r.body["at"])
    return r.body["id"], key, r.body["at"]


def login(db, cid, key_id, key_hex, hash_name="SHA-256", expires=None, **kw):
    expires = expires or iso(time.time() + 300)
    body = {"id": cid, "expires": expires, "key": key_id, "proof": proof(key_hex, cid, expires, hash_name)}
    body.update(kw)
    return post(HMAC_PATH.format(db=db), body)


@pytest.fixture(scope="module")
def site(admin):
    """A database with an admin contact, two ordinary contacts and a SHA-256 key."""
    db = create_db(admin, unique("identity"))[0]
    boss = db_token(db, "boss@identity.example.com", admin=True)
    ann = db_token(db, "ann@identity.example.com")
    bob = db_token(db, "bob@identity.example.com")
    sync(db, admin, bob["at"])
    key_id, key_hex, _ = new_key(db, admin)
    return {"db": db, "admin": admin, "boss": boss, "ann": ann, "bob": bob, "key": key_id, "hex": key_hex}


# ---------------------------------------------------------------- keys


def test_key_is_listed_without_its_secret(site):
    db, boss = site["db"], site["boss"]["token"]
    key_id, key_hex, at = new_key(db, boss, "SHA-1", nbytes=20)
    r = get("/db/%s/keys" % db, token=boss, query={"at": enc(at)})
    assert r.status == 200, r
    assert list(r.body.keys()) == ["list", "count"]
    mine = [k for k in r.body["list"] if k["id"] == key_id]
    assert len(mine) == 1, r
    assert list(mine[0].keys()) == ["id", "hash", "created", "enabled"]
    assert mine[0]["hash"] == "SHA-1" and mine[0]["enabled"] is True
    assert TIME_RE.match(mine[0]["created"]), r
    assert r.body["count"] == len(r.body["list"]) >= 2
    for k in (key_hex, key_hex.upper(), site["hex"]):
        assert k not in r.text


def test_keys_are_sealed_everywhere(site):
    """The key is in no answer, no command, no row and no log line in clear:
    what is stored is AES-256-GCM under the server secret, which MariaDB does not hold."""
    db, admin = site["db"], site["admin"]
    key_id, key_hex, _ = new_key(db, admin)
    assert login(db, site["ann"]["id"], key_id, key_hex).status == 200
    rows = sql("SELECT hash, secret FROM hmac_keys WHERE db = '%s' AND id = '%s'" % (db, key_id))
    assert rows and rows[0][0] == "SHA-256" and rows[0][1].startswith("g1:"), rows
    assert key_hex not in rows[0][1]
    for k in (key_hex, key_hex.upper()):
        assert sql("SELECT COUNT(*) FROM commands WHERE INSTR(payload, '%s') > 0" % k) == [["0"]]
        assert sql("SELECT COUNT(*) FROM hmac_keys WHERE INSTR(secret, '%s') > 0" % k) == [["0"]]
    payload = sql("SELECT payload FROM commands WHERE kind = 'keys.create' AND db = '%s' "
                  "AND INSTR(payload, '%s') > 0" % (db, key_id))
    assert len(payload) == 1 and '"secret":"g1:' in payload[0][0], payload
    # The server secret is not in the database either: it is the file of this stack.
    with open(os.path.join(var_dir(), "key-secret")) as f:
        server_secret = f.read().strip()
    assert re.match(r"^[0-9a-f]{64}$", server_secret)
    assert oct(os.stat(os.path.join(var_dir(), "key-secret")).st_mode & 0o777) == "0o600"
    # Every row of every table, as a dump would hold them.
    for (table,) in sql("SHOW TABLES"):
        rows = "\n".join("\t".join(r) for r in sql("SELECT * FROM `%s`" % table)).lower()
        assert key_hex not in rows and server_secret not in rows, table
    logdir = os.path.join(var_dir(), "log")
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        assert key_hex not in text and server_secret not in text, name


def test_keys_need_group_admin(site):
    db, ann = site["db"], site["ann"]["token"]
    r = post("/db/%s/keys" % db, {"hash": "SHA-256", "key": os.urandom(32).hex()}, token=ann)
    assert r.status == 403, r
    assert get("/db/%s/keys" % db, token=ann).status == 403
    r = delete("/db/%s/keys/%s" % (db, site["key"]), token=ann)
    assert r.status == 403, r
    assert r.body["path"] == "/db/{db}/keys/{id}"
    # A member of group admin may.
    assert get("/db/%s/keys" % db, token=site["boss"]["token"]).status == 200


SECRET = "00112233445566778899aabbccddeeff"


@pytest.mark.parametrize("body,at", [
    ({"key": SECRET}, "body.hash"),
    ({"hash": "MD5", "key": SECRET}, "body.hash"),
    ({"hash": "sha-256", "key": SECRET}, "body.hash"),
    ({"hash": "SHA-256"}, "body.key"),
    ({"hash": "SHA-256", "key": SECRET[:-2]}, "body.key"),              # 15 bytes
    ({"hash": "SHA-256", "key": SECRET + "0"}, "body.key"),             # odd
    ({"hash": "SHA-256", "key": SECRET[:-1] + "g"}, "body.key"),        # not hex
    ({"hash": "SHA-256", "key": "ab" * 129}, "body.key"),               # 129 bytes
    ({"hash": "SHA-256", "key": SECRET + "\u0000ff"}, "body.key"),      # not hex past 32 bytes
    ({"hash": "SHA-256\u0000x", "key": SECRET}, "body.hash"),
    ({"hash": "SHA-256", "key": 12}, "body.key"),
    ({"hash": "SHA-256", "key": SECRET, "encoding": "base64"}, "body.encoding"),
    ({"hash": "SHA-256", "key": SECRET, "label": "x"}, "body.label"),
])
def test_bad_key_is_400_and_not_repeated(site, body, at):
    r = post("/db/%s/keys" % site["db"], body, token=site["admin"])
    assert r.status == 400, r
    assert r.body["at"] == at, r
    assert SECRET[:-2] not in r.text


def test_key_sizes_and_case(site):
    db, admin = site["db"], site["admin"]
    for key in ("ab" * 16, "AB" * 128):
        r = post("/db/%s/keys" % db, {"hash": "SHA-256", "key": key}, token=admin)
        assert r.status == 202, r


def test_delete_key(site):
    db, admin = site["db"], site["admin"]
    key_id, key_hex, _ = new_key(db, admin)
    cid = site["ann"]["id"]
    assert login(db, cid, key_id, key_hex).status == 200
    r = delete("/db/%s/keys/%s" % (db, key_id), token=admin)
    assert r.status == 202, r
    assert list(r.body.keys()) == ["at"]
    sync(db, admin, r.body["at"])
    # HMAC logins with it fail from then on, as a bad proof does.
    gone = login(db, cid, key_id, key_hex)
    bad = login(db, cid, site["key"], "ab" * 32)
    assert gone.status == bad.status == 403
    assert gone.text == bad.text
    assert gone.body == {"error": "Invalid proof", "path": HMAC_PATH}
    # Listed as disabled; its sealed secret is wiped.
    r = get("/db/%s/keys" % db, token=admin)
    assert [k["enabled"] for k in r.body["list"] if k["id"] == key_id] == [False]
    assert sql("SELECT IFNULL(secret, 'wiped') FROM hmac_keys WHERE id = '%s'" % key_id) == [["wiped"]]
    # Deleting it again changes nothing; an unknown key is 404.
    r = delete("/db/%s/keys/%s" % (db, key_id), token=admin)
    assert r.status == 202 and r.body == {"at": []}, r
    for missing in ("0000000000Z", "nope"):
        r = delete("/db/%s/keys/%s" % (db, missing), token=admin)
        assert r.status == 404, r


def test_key_of_another_database_is_404_there(site, admin):
    other = create_db(admin, unique("identity-other"))[0]
    r = delete("/db/%s/keys/%s" % (other, site["key"]), token=admin)
    assert r.status == 404, r


# ---------------------------------------------------------------- HMAC login


@pytest.mark.parametrize("hash_name,nbytes", [("SHA-256", 32), ("SHA-1", 20), ("SHA-256", 128), ("SHA-1", 16)])
def test_good_proof_gives_a_token_acting_as_the_contact(site, hash_name, nbytes):
    db, admin, ann = site["db"], site["admin"], site["ann"]
    key_id, key_hex, _ = new_key(db, admin, hash_name, nbytes)
    r = login(db, ann["id"], key_id, key_hex, hash_name)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["token", "self"]
    assert TOKEN_RE.match(r.body["token"]), r
    assert r.body["self"] == short(ann["id"], "ann@identity.example.com", None, "ann@identity.example.com")
    tok = r.body["token"]
    # It acts as that contact: it reads the database, it is that contact ...
    assert get("/db/%s/contacts" % db, token=tok).status == 200
    me = get("/db/%s/tokens/%s" % (db, tok), token=tok)
    assert me.status == 200 and me.body["self"]["id"] == ann["id"] and me.body["admin"] is False, me
    assert get("/db/%s/contacts" % db, token=tok, query={"as": ann["id"]}).status == 200
    # ... and nobody else.
    assert get("/db/%s/contacts" % db, token=tok, query={"as": site["bob"]["id"]}).status == 401
    assert put("/db/%s/contacts/%s" % (db, site["bob"]["id"]), {"fullname": "Not Bob"}, token=tok).status == 403
    # Valid for this database only.
    other = create_db(admin, unique("identity-x"))[0]
    assert get("/db/%s/contacts" % other, token=tok).status == 401


def test_proof_in_upper_case_hex_is_fine(site):
    expires = iso(time.time() + 60)
    cid = site["ann"]["id"]
    body = {"id": cid, "expires": expires, "key": site["key"], "proof": proof(site["hex"], cid, expires).upper()}
    r = post(HMAC_PATH.format(db=site["db"]), body)
    assert r.status == 200, r


def test_login_needs_no_token_and_ignores_one(site):
    expires = iso(time.time() + 60)
    cid = site["bob"]["id"]
    body = {"id": cid, "expires": expires, "key": site["key"], "proof": proof(site["hex"], cid, expires)}
    for token in (None, "garbage", site["ann"]["token"]):
        r = post(HMAC_PATH.format(db=site["db"]), body, token=token)
        assert r.status == 200 and r.body["self"]["id"] == cid, r


def invalid(r):
    assert r.status == 403, r
    assert r.body == {"error": "Invalid proof", "path": HMAC_PATH}, r


def test_wrong_proof_is_403(site):
    db, cid = site["db"], site["ann"]["id"]
    expires = iso(time.time() + 300)
    good = proof(site["hex"], cid, expires)
    wrong = [
        good[:-1] + ("0" if good[-1] != "0" else "1"),   # every digit right but the last
        ("0" if good[0] != "0" else "1") + good[1:],     # the first wrong
        good[:40],                                       # a SHA-1 length proof for a SHA-256 key
        good + "00",                                     # too long
        "",                                              # empty
        "zz" * 32,                                       # not hex
        proof(site["hex"], cid, iso(time.time() + 301)),  # signs another time
        proof(site["hex"], site["bob"]["id"], expires),  # signs another contact
        proof(site["hex"], cid, expires, "SHA-1"),       # the wrong hash
    ]
    for p in wrong:
        invalid(post(HMAC_PATH.format(db=db), {"id": cid, "expires": expires, "key": site["key"], "proof": p}))


def test_wrong_or_unknown_key_is_403_like_a_bad_proof(site):
    db, admin, cid = site["db"], site["admin"], site["ann"]["id"]
    other_id, other_hex, _ = new_key(db, admin)
    # Signed with another key of the database, sent under this key's id.
    invalid(login(db, cid, site["key"], other_hex))
    # Keys that do not exist, or cannot: the same answer as a bad proof.
    for key_id in ("0000000000Z", "short", "", "x" * 200, other_id[:-1] + "!"):
        invalid(login(db, cid, key_id, site["hex"]))
    bad = login(db, cid, site["key"], other_hex)
    unknown = login(db, cid, "0000000000Z", site["hex"])
    same = lambda r: (r.status, dict((k.lower(), v) for k, v in r.headers.items() if k.lower() != "date"), r.text)  # noqa: E731
    assert same(bad) == same(unknown), (same(bad), same(unknown))


def test_expired_assertion_is_403(site):
    db, cid = site["db"], site["ann"]["id"]
    for t in (time.time() - 1, time.time() - 86400 * 365):
        r = login(db, cid, site["key"], site["hex"], expires=iso(t))
        assert r.status == 403, r
        assert r.body == {"error": "Assertion expired", "path": HMAC_PATH}, r
    # An expired assertion with a bad proof is first of all a bad proof.
    expires = iso(time.time() - 10)
    invalid(post(HMAC_PATH.format(db=db), {"id": cid, "expires": expires, "key": site["key"], "proof": "ab" * 32}))


def test_assertion_for_another_databases_contact_is_403(site, admin):
    """Database b's site signs for b's contact with b's key and sends it to database a."""
    other = create_db(admin, unique("identity-b"))[0]
    carol = db_token(other, "carol@identity.example.com")
    sync(other, admin, carol["at"])
    b_key, b_hex, _ = new_key(other, admin)
    assert login(other, carol["id"], b_key, b_hex).status == 200  # at home it works
    invalid(login(site["db"], carol["id"], b_key, b_hex))
    # Nor does b's key log in a contact of a.
    invalid(login(site["db"], site["ann"]["id"], b_key, b_hex))
    # a's key vouching for b's contact: the key holds, the contact is not a's.
    r = login(site["db"], carol["id"], site["key"], site["hex"])
    assert r.status == 404, r
    assert r.body["error"] == "Contact '%s' does not exist" % carol["id"]


def test_unknown_contact_with_a_good_proof_is_404(site):
    r = login(site["db"], "0000000000Z", site["key"], site["hex"])
    assert r.status == 404, r
    assert r.body == {"error": "Contact '0000000000Z' does not exist", "path": HMAC_PATH}


def test_login_waits_for_a_new_contact_with_at(site):
    db, admin = site["db"], site["admin"]
    created, at = import_contacts(db, admin, [{"email": "newcomer@identity.example.com"}], wait=False)
    expires = iso(time.time() + 60)
    body = {"id": created[0], "expires": expires, "key": site["key"], "proof": proof(site["hex"], created[0], expires)}
    r = post(HMAC_PATH.format(db=db), body, query={"at": enc(at)})
    assert r.status == 200, r
    assert r.body["self"]["id"] == created[0]


@pytest.mark.parametrize("body,at", [
    ({}, "body.id"),
    ({"id": 1, "expires": "2030-01-01T00:00:00Z", "key": "k", "proof": "p"}, "body.id"),
    ({"id": "x", "key": "k", "proof": "p"}, "body.expires"),
    ({"id": "x", "expires": "2030-01-01 00:00:00", "key": "k", "proof": "p"}, "body.expires"),
    ({"id": "x", "expires": "2030-02-30T00:00:00Z", "key": "k", "proof": "p"}, "body.expires"),
    ({"id": "x", "expires": "2030-01-01T00:00:00Z\u0000x", "key": "k", "proof": "p"}, "body.expires"),
    ({"id": "x\u0000y", "expires": "2030-01-01T00:00:00Z", "key": "k", "proof": "p"}, "body.id"),
    ({"id": "x", "expires": 1893456000, "key": "k", "proof": "p"}, "body.expires"),
    ({"id": "x", "expires": "2030-01-01T00:00:00Z", "proof": "p"}, "body.key"),
    ({"id": "x", "expires": "2030-01-01T00:00:00Z", "key": "k"}, "body.proof"),
    ({"id": "x", "expires": "2030-01-01T00:00:00Z", "key": "k", "proof": "p", "as": "y"}, "body.as"),
])
def test_malformed_assertion_is_400(site, body, at):
    r = post(HMAC_PATH.format(db=site["db"]), body)
    assert r.status == 400, r
    assert r.body["at"] == at, r


def test_login_to_a_missing_database_is_404():
    r = post(HMAC_PATH.format(db="0000000000Z"), {"id": "x", "expires": "2030-01-01T00:00:00Z", "key": "k",
                                                  "proof": "p"})
    assert r.status == 404, r
    assert r.body["error"] == "Database 0000000000Z does not exist"


# ---------------------------------------------------------------- tokens


def test_token_introspection(site):
    db, admin = site["db"], site["admin"]
    ann, boss = site["ann"], site["boss"]
    r = get("/db/%s/tokens/%s" % (db, ann["token"]), token=ann["token"])
    assert r.status == 200, r
    assert list(r.body.keys()) == ["token", "self", "admin"]
    assert r.body == {"token": ann["token"], "self": short(ann["id"], "ann@identity.example.com", None,
                                                           "ann@identity.example.com"), "admin": False}
    # Any valid token of the database may ask about another.
    r = get("/db/%s/tokens/%s" % (db, boss["token"]), token=ann["token"])
    assert r.status == 200 and r.body["admin"] is True and r.body["self"]["id"] == boss["id"], r
    # A server administrator's token: nobody's, admin of everything.
    r = get("/db/%s/tokens/%s" % (db, admin), token=ann["token"])
    assert r.status == 200 and r.body == {"token": admin, "self": None, "admin": True}, r
    # HEAD like GET.
    assert call("HEAD", "/db/%s/tokens/%s" % (db, ann["token"]), token=ann["token"]).status == 200


def test_unknown_or_foreign_token_is_404(site, admin):
    db, ann = site["db"], site["ann"]["token"]
    other = create_db(admin, unique("identity-t"))[0]
    foreign = db_token(other, "dave@identity.example.com")["token"]
    for t in ("0000000000000000000000", "short", foreign, "x" * 65):
        r = get("/db/%s/tokens/%s" % (db, t), token=ann)
        assert r.status == 404, r
        assert r.body == {"error": "Token does not exist", "path": "/db/{db}/tokens/{token}"}, r
    # Asking needs a valid token of the database.
    assert get("/db/%s/tokens/%s" % (db, ann), token=foreign).status == 401
    assert get("/db/%s/tokens/%s" % (db, ann)).status == 401


def test_logout(site):
    db = site["db"]
    tok = login(db, site["bob"]["id"], site["key"], site["hex"]).body["token"]
    keep = login(db, site["bob"]["id"], site["key"], site["hex"]).body["token"]
    assert get("/db/%s/contacts" % db, token=tok).status == 200  # now in the workers' token caches
    r = delete("/db/%s/tokens/%s" % (db, tok), token=tok)
    assert r.status == 200, r
    assert r.body == {}
    # Refused everywhere once that returned: every request, whichever worker takes it.
    for _ in range(20):
        assert get("/db/%s/contacts" % db, token=tok).status == 401
    r = get("/db/%s/tokens/%s" % (db, tok), token=keep)
    assert r.status == 404, r
    # The contact's other tokens stay.
    assert get("/db/%s/contacts" % db, token=keep).status == 200


def test_only_the_holder_or_admin_revokes(site, admin):
    db = site["db"]
    victim = login(db, site["ann"]["id"], site["key"], site["hex"]).body["token"]
    # Another contact may not (and learns nothing: the same 403 for an unknown token).
    for t in (victim, "0000000000000000000000"):
        r = delete("/db/%s/tokens/%s" % (db, t), token=site["bob"]["token"])
        assert r.status == 403, r
    assert get("/db/%s/contacts" % db, token=victim).status == 200
    # A member of group admin may.
    r = delete("/db/%s/tokens/%s" % (db, victim), token=site["boss"]["token"])
    assert r.status == 200, r
    assert get("/db/%s/contacts" % db, token=victim).status == 401
    r = delete("/db/%s/tokens/%s" % (db, victim), token=site["boss"]["token"])
    assert r.status == 404, r
    # But not a server administrator's token (403: GET shows it exists), nor another database's (404).
    server = post("/test/auth", {}).body["token"]
    assert get("/db/%s/tokens/%s" % (db, server), token=site["boss"]["token"]).status == 200
    r = delete("/db/%s/tokens/%s" % (db, server), token=site["boss"]["token"])
    assert r.status == 403, r
    assert r.body == {"error": "Only a server administrator may revoke a server administrator's token",
                      "path": "/db/{db}/tokens/{token}"}, r
    assert get("/db/all", token=server, query={"limit": "0"}).status == 200
    other = create_db(admin, unique("identity-r"))[0]
    foreign = db_token(other, "eve@identity.example.com")["token"]
    assert delete("/db/%s/tokens/%s" % (db, foreign), token=site["boss"]["token"]).status == 404
    assert get("/db/%s/contacts" % other, token=foreign).status == 200
    # A server administrator may revoke any token of the database.
    t = login(db, site["ann"]["id"], site["key"], site["hex"]).body["token"]
    assert delete("/db/%s/tokens/%s" % (db, t), token=admin).status == 200
    assert get("/db/%s/contacts" % db, token=t).status == 401


# ---------------------------------------------------------------- contact update


def one(db, token, cid, at):
    r = get("/db/%s/contacts/%s" % (db, cid), token=token, query={"at": enc(at)})
    assert r.status == 200, r
    return r.body


def test_contact_updates_itself(site):
    db, admin = site["db"], site["admin"]
    email = "frank@identity.example.com"
    c = db_token(db, email)
    sync(db, admin, c["at"])
    r = put("/db/%s/contacts/%s" % (db, c["id"]), {"firstname": "Frank", "lastname": "Zappa", "gender": "M"},
            token=c["token"])
    assert r.status == 202, r
    assert list(r.body.keys()) == ["at"] and r.body["at"], r
    assert one(db, c["token"], c["id"], r.body["at"]) == short(c["id"], "Frank Zappa", "M", email)
    # fullname wins; null clears; the new e-mail moves the picture; search follows.
    r = put("/db/%s/contacts/%s" % (db, c["id"]), {"fullname": "  The   Mothers ", "email": "FZ@Mothers.example.com",
                                                   "gender": None}, token=c["token"])
    assert r.status == 202, r
    assert one(db, c["token"], c["id"], r.body["at"]) == short(c["id"], "The Mothers", None, "fz@mothers.example.com")
    s = get("/db/%s/contacts/search" % db, token=c["token"], query={"q": "mothe"})
    assert [x["id"] for x in s.body["list"]] == [c["id"]], s
    s = get("/db/%s/contacts/search" % db, token=c["token"], query={"q": "frank"})
    assert s.body["list"] == [], s  # the name is the fullname now
    r = put("/db/%s/contacts/%s" % (db, c["id"]), {"fullname": None, "lastname": None}, token=c["token"])
    assert one(db, c["token"], c["id"], r.body["at"])["name"] == "Frank"
    s = get("/db/%s/contacts/search" % db, token=c["token"], query={"q": "frank"})
    assert [x["id"] for x in s.body["list"]] == [c["id"]], s
    r = put("/db/%s/contacts/%s" % (db, c["id"]), {"firstname": None}, token=c["token"])
    assert one(db, c["token"], c["id"], r.body["at"])["name"] == "FZ@Mothers.example.com"
    s = get("/db/%s/contacts/search" % db, token=c["token"], query={"q": "frank"})
    assert s.body["list"] == [], s
    # The old e-mail is free again: an import of it makes a new contact.
    created, _ = import_contacts(db, admin, [{"email": email}])
    assert created[0] != c["id"]


def test_contact_update_rights(site):
    db = site["db"]
    ann, bob, boss = site["ann"], site["bob"], site["boss"]
    r = put("/db/%s/contacts/%s" % (db, bob["id"]), {"fullname": "Hacked"}, token=ann["token"])
    assert r.status == 403, r
    assert r.body["path"] == "/db/{db}/contacts/{cid}"
    # A member of group admin, and a server administrator, may.
    r = put("/db/%s/contacts/%s" % (db, bob["id"]), {"fullname": "Robert"}, token=boss["token"])
    assert r.status == 202, r
    assert one(db, boss["token"], bob["id"], r.body["at"])["name"] == "Robert"
    r = put("/db/%s/contacts/%s" % (db, bob["id"]), {"fullname": "Bob"}, token=site["admin"])
    assert r.status == 202, r
    assert one(db, boss["token"], bob["id"], r.body["at"])["name"] == "Bob"
    # Unknown contacts: 404 for those who may change them.
    r = put("/db/%s/contacts/%s" % (db, "0000000000Z"), {"fullname": "Nobody"}, token=boss["token"])
    assert r.status == 404, r


def test_contact_update_email_taken_is_409(site):
    db, boss = site["db"], site["boss"]["token"]
    cid = site["bob"]["id"]
    for email in ("ann@identity.example.com", "ANN@Identity.Example.com", " ann@identity.example.com "):
        r = put("/db/%s/contacts/%s" % (db, cid), {"email": email}, token=boss)
        assert r.status == 409, r
    # One's own e-mail, in another case, is no conflict.
    r = put("/db/%s/contacts/%s" % (db, cid), {"email": "Bob@identity.example.com"}, token=boss)
    assert r.status == 202, r
    r = put("/db/%s/contacts/%s" % (db, cid), {"email": "bob@identity.example.com"}, token=boss,
            query={"at": enc(r.body["at"])})
    assert r.status == 202, r
    sync(db, boss, r.body["at"])


def test_contact_update_race_for_an_email_fails_the_second(site):
    """Two updates to one new e-mail, both accepted before either applies: the
    applier keeps e-mails unique and records why the second failed."""
    db, admin = site["db"], site["admin"]
    created, _ = import_contacts(db, admin, [{"email": "r1@identity.example.com"},
                                             {"email": "r2@identity.example.com"}])
    from conftest import processor_paused
    with processor_paused():
        a = put("/db/%s/contacts/%s" % (db, created[0]), {"email": "same@identity.example.com"}, token=admin)
        b = put("/db/%s/contacts/%s" % (db, created[1]), {"email": "same@identity.example.com"}, token=admin)
    assert a.status == b.status == 202, (a, b)
    sync(db, admin, b.body["at"])
    rows = sql("SELECT id FROM contacts WHERE db = '%s' AND email_key = 'same@identity.example.com'" % db)
    assert rows == [[created[0]]], rows
    reason = sql("SELECT reason FROM commands WHERE kind = 'contacts.update' AND status = 2 AND db = '%s'" % db)
    assert any("taken" in r[0] for r in reason), reason


@pytest.mark.parametrize("body,at", [
    ({"email": None}, "body.email"),
    ({"email": "not an e-mail"}, "body.email"),
    ({"email": 3}, "body.email"),
    ({"fullname": ""}, "body.fullname"),
    ({"firstname": "é" * 81}, "body.firstname"),
    ({"lastname": 12}, "body.lastname"),
    ({"gender": "X"}, "body.gender"),
    ({"gender": "m"}, "body.gender"),
    ({"gender": "M\u0000x"}, "body.gender"),
    ({"fullname": "Ann\u0000x"}, "body.fullname"),
    ({"id": "x"}, "body.id"),
])
def test_bad_contact_update_is_400(site, body, at):
    r = put("/db/%s/contacts/%s" % (site["db"], site["ann"]["id"]), body, token=site["ann"]["token"])
    assert r.status == 400, r
    assert r.body["at"] == at, r
    r = put("/db/%s/contacts/%s" % (site["db"], site["ann"]["id"]), raw="[1]", token=site["ann"]["token"])
    assert r.status == 400, r


def test_empty_contact_update_changes_nothing(site):
    r = put("/db/%s/contacts/%s" % (site["db"], site["ann"]["id"]), {}, token=site["ann"]["token"])
    assert r.status == 202 and r.body == {"at": []}, r


# ---------------------------------------------------------------- a real client


def test_php_client(site):
    """tests/clients/hmac_login.php does what a PHP site does: signs an
    assertion with hash_hmac, obtains a token, reads with it, posts with it
    passing at= from the answer, logs out."""
    php = subprocess.run(["which", "php"], stdout=subprocess.PIPE).stdout.decode().strip()
    assert php, "php is missing: make test installs php-cli (Makefile, TEST_PACKAGES)"
    script = os.path.join(repo_root(), "tests", "clients", "hmac_login.php")
    env = dict(os.environ, RUNORG_URL=os.environ["RUNORG_URL"], RUNORG_DB=site["db"], RUNORG_KEY_ID=site["key"],
               RUNORG_KEY=site["hex"], RUNORG_CONTACT=site["ann"]["id"])
    r = subprocess.run([php, script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    assert "ok: logged out" in out, out
    token = re.search(r"token ([0-9A-Za-z]+)", out).group(1)
    assert get("/db/%s/contacts" % site["db"], token=token).status == 401
