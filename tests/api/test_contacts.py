"""Contacts (SPEC §4): import, validation, duplicates, names, list, search."""

import pytest

from conftest import ID_RE, call, enc, get, gravatar, import_contacts, post


def imp_url(db):
    return "/db/%s/contacts/import" % db


def listing(db, admin, at=None, **params):
    q = dict((k, str(v)) for k, v in params.items())
    if at:
        q["at"] = enc(at)
    r = get("/db/%s/contacts" % db, token=admin, query=q)
    assert r.status == 200, r
    assert list(r.body.keys()) == ["list", "count"]
    return r.body


def one(db, admin, cid, at=None):
    r = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(at)} if at else None)
    assert r.status == 200, r
    return r.body


# ---------------------------------------------------------------- validation

BAD_ITEMS = [
    ({"fullname": "No Email"}, "email"),
    ({"email": 42}, "email"),
    ({"email": None}, "email"),
    ({"email": "   "}, "email"),
    ({"email": "x@example.com", "gender": "X"}, "gender"),
    ({"email": "x@example.com", "gender": "m"}, "gender"),
    ({"email": "x@example.com", "gender": "M\u0000x"}, "gender"),
    ({"email": "x@example.com", "fullname": 12}, "fullname"),
    ({"email": "x@example.com", "firstname": "é" * 81}, "firstname"),
    ({"email": "x@example.com", "lastname": ""}, "lastname"),
    ("x@example.com", None),
]


@pytest.mark.parametrize("item,field", BAD_ITEMS)
def test_import_invalid_item_is_400_naming_it_and_queues_nothing(db, admin, item, field):
    good = {"email": "good@example.com", "fullname": "Good Item"}
    r = post(imp_url(db), [good, item], token=admin)
    assert r.status == 400, r
    assert r.body["path"] == "/db/{db}/contacts/import"
    named = r.body.get("at", "") + " " + r.body["error"] + " " + r.body.get("reason", "")
    assert "body[1]" in named, r
    if field and "at" in r.body:
        assert r.body["at"] == "body[1].%s" % field, r
    # Nothing was queued: the good item of the rejected batch never appears.
    _, at = import_contacts(db, admin, [{"email": "later@example.com"}], wait=False)
    body = listing(db, admin, at=at)
    assert [c["name"] for c in body["list"]] == ["later@example.com"]
    assert body["count"] == 1


@pytest.mark.parametrize("raw", ['{"email":"x@example.com"}', '"x"', "null", "[[]]", "[1]"])
def test_import_body_not_a_list_of_objects_is_400(db, admin, raw):
    r = post(imp_url(db), raw=raw, token=admin)
    assert r.status == 400, r


def test_label_over_80_code_points_is_400(db, admin):
    r = post(imp_url(db), [{"email": "long@example.com", "fullname": "é" * 81}], token=admin)
    assert r.status == 400, r
    msg = "Label is 81 code points long, only 80 allowed."
    assert msg in (r.body["error"], r.body.get("reason")), r
    assert r.body.get("at", "body[0].fullname") == "body[0].fullname"


def test_label_of_80_multibyte_code_points_is_accepted(db, admin):
    name = "é" * 80
    (cid,), at = import_contacts(db, admin, [{"email": "ok80@example.com", "fullname": name}], wait=False)
    assert one(db, admin, cid, at)["name"] == name


def test_label_trimmed_before_counting(db, admin):
    name = "a" * 80
    (cid,), at = import_contacts(db, admin, [{"email": "pad@example.com", "fullname": "  %s \t" % name}],
                                 wait=False)
    assert one(db, admin, cid, at)["name"] == name


def test_label_inner_white_space_collapsed(db, admin):
    (cid,), at = import_contacts(db, admin, [{"email": "ws@example.com", "fullname": " Jean  \t Paul\n Dupré "}],
                                 wait=False)
    assert one(db, admin, cid, at)["name"] == "Jean Paul Dupré"


def test_label_non_breaking_space_runs(db, admin):
    items = [
        {"email": "nb1@example.com", "fullname": "Jean\u00a0\u00a0Paul"},
        {"email": "nb2@example.com", "fullname": "Jean \u00a0 Paul"},
        {"email": "nb3@example.com", "fullname": "\u00a0Jean\u00a0"},
        # NARROW NO-BREAK SPACE and FIGURE SPACE are non-breaking spaces too.
        {"email": "nb4@example.com", "fullname": "M.\u202fDupont"},
        {"email": "nb5@example.com", "fullname": "1\u2007\u202f000"},
        {"email": "nb6@example.com", "fullname": "Jean\u202f Paul"},
    ]
    created, at = import_contacts(db, admin, items, wait=False)
    names = [one(db, admin, cid, at)["name"] for cid in created]
    assert names == ["Jean\u00a0Paul", "Jean Paul", "Jean", "M.\u00a0Dupont", "1\u00a0000", "Jean Paul"]


@pytest.mark.parametrize("name,code", [("a\u0001b", "U+0001"), ("\u001b[31m", "U+001B"), ("a\u0000b", "U+0000")])
def test_label_with_a_control_character_is_400_naming_it(db, admin, name, code):
    r = post(imp_url(db), [{"email": "ctl@example.com", "fullname": name}], token=admin)
    assert r.status == 400, r
    assert r.body["error"] == "Label contains control character " + code, r
    assert r.body["at"] == "body[0].fullname", r


def test_empty_label_is_400(db, admin):
    r = post(imp_url(db), [{"email": "empty@example.com", "fullname": " \t "}], token=admin)
    assert r.status == 400, r
    assert "Empty label" in (r.body["error"], r.body.get("reason")), r


def test_empty_import_is_accepted(db, admin):
    r = post(imp_url(db), [], token=admin)
    assert r.status == 202, r
    assert r.body["created"] == []


def test_import_of_known_contacts_only_queues_nothing(db, admin):
    created, at = import_contacts(db, admin, [{"email": "known1@example.com"}, {"email": "known2@example.com"}])
    head = get("/db/%s/sync" % db, token=admin, query={"at": enc(at)})
    assert head.status == 200, head
    r = post(imp_url(db), [{"email": "KNOWN2@example.com"}, {"email": "known1@example.com"}], token=admin)
    assert r.status == 202, r
    assert r.body == {"created": [created[1], created[0]], "at": []}
    assert listing(db, admin)["count"] == 2


def test_concurrent_imports_each_id_exists_at_its_own_clock(admin):
    """Many imports at once into two databases (the run of one leader may mix
    them), the same new e-mail in every one of them: each answer's own `at`
    is enough to read every id it names, in the database it was imported
    into. While the processor is paused, an answer with an empty `at` may only
    name contacts that already exist."""
    from concurrent.futures import ThreadPoolExecutor
    from conftest import create_db, processor_paused
    dbs = [create_db(admin)[0] for _ in range(2)]

    def one_import(i):
        db = dbs[i % 2]
        items = [{"email": "same@example.com"}] if i % 3 else [{"email": "c%d@example.com" % i},
                                                              {"email": "same@example.com"}]
        r = post(imp_url(db), items, token=admin)
        assert r.status == 202, r
        return db, r.body

    with processor_paused():
        with ThreadPoolExecutor(max_workers=24) as pool:
            results = list(pool.map(one_import, range(48)))
        for db, body in results:
            if body["at"] == []:
                for cid in body["created"]:
                    r = get("/db/%s/contacts/%s" % (db, cid), token=admin)
                    assert r.status == 200, (db, cid, r)
    for db, body in results:
        for cid in body["created"]:
            r = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(body["at"])})
            assert r.status == 200, (db, cid, body, r)
    for db in dbs:
        # 8 distinct e-mails, and "same" at least once (more than once only
        # when imports raced in different runs: each then got its own contact).
        count = listing(db, admin, at=None)["count"]
        assert 9 <= count <= 32, count


# ---------------------------------------------------------------- names, pics, genders


def test_name_rules(db, admin):
    items = [
        {"email": "full@example.com", "fullname": "Full Name", "firstname": "Ignored", "lastname": "Too"},
        {"email": "fl@example.com", "firstname": "Ada", "lastname": "Lovelace"},
        {"email": "first@example.com", "firstname": "Grace"},
        {"email": "last@example.com", "lastname": "Hopper"},
        {"email": "only@example.com", "gender": "F"},
    ]
    created, at = import_contacts(db, admin, items, wait=False)
    expect = [
        ("Full Name", None, "full@example.com"),
        ("Ada Lovelace", None, "fl@example.com"),
        ("Grace", None, "first@example.com"),
        ("Hopper", None, "last@example.com"),
        ("only@example.com", "F", "only@example.com"),
    ]
    for cid, (name, gender, email) in zip(created, expect):
        assert one(db, admin, cid, at) == {"id": cid, "name": name, "gender": gender, "pic": gravatar(email)}


def test_pic_uses_trimmed_lowercased_email(db, admin):
    (cid,), at = import_contacts(db, admin, [{"email": "  MiXeD.Case@Example.ORG "}], wait=False)
    c = one(db, admin, cid, at)
    assert c["pic"] == "https://www.gravatar.com/avatar/" + __import__("hashlib").md5(
        b"mixed.case@example.org").hexdigest()


def test_unknown_contact_is_404(db, admin):
    for cid in ("00000000000", "nope"):
        r = get("/db/%s/contacts/%s" % (db, cid), token=admin)
        assert r.status == 404, r
        assert r.body == {"error": "Contact '%s' does not exist" % cid, "path": "/db/{db}/contacts/{cid}"}


def test_contact_of_another_database_is_404(admin, db):
    from conftest import create_db
    other = create_db(admin)[0]
    (cid,), at = import_contacts(other, admin, [{"email": "elsewhere@example.com"}], wait=True)
    r = get("/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(at)})
    assert r.status == 404, r


# ---------------------------------------------------------------- duplicates


def test_duplicate_email_case_insensitive_returns_existing_id(db, admin):
    (c1,), at1 = import_contacts(db, admin, [{"email": "Dup@Example.com", "fullname": "First Import"}], wait=False)
    r = post(imp_url(db), [{"email": "dup@example.COM", "fullname": "Second Import"},
                           {"email": "fresh@example.com"}],
             token=admin, query={"at": enc(at1)})
    assert r.status == 202, r
    c2, c3 = r.body["created"]
    assert c2 == c1
    assert c3 != c1 and ID_RE.match(c3)
    body = listing(db, admin, at=r.body["at"] or at1)
    assert body["count"] == 2
    assert [c["id"] for c in body["list"]] == [c1, c3]
    # "changes nothing for it"
    assert one(db, admin, c1)["name"] == "First Import"


def test_duplicate_within_one_request_returns_first_id(db, admin):
    created, at = import_contacts(db, admin, [
        {"email": "twice@example.com", "fullname": "Kept"},
        {"email": "other@example.com"},
        {"email": "TWICE@example.com", "fullname": "Dropped"},
    ], wait=False)
    assert created[0] == created[2]
    assert created[1] != created[0]
    body = listing(db, admin, at=at)
    assert body["count"] == 2
    assert one(db, admin, created[0])["name"] == "Kept"


def test_import_of_only_existing_contacts(db, admin):
    (c1,), at1 = import_contacts(db, admin, [{"email": "exists@example.com"}], wait=True)
    r = post(imp_url(db), [{"email": "exists@example.com"}], token=admin, query={"at": enc(at1)})
    assert r.status == 202, r
    assert r.body["created"] == [c1]
    assert listing(db, admin, at=r.body["at"] or at1)["count"] == 1


# ---------------------------------------------------------------- list


@pytest.fixture
def five(db, admin):
    items = [{"email": "p%d@example.com" % i, "fullname": "Person %d" % i} for i in range(5)]
    created, at = import_contacts(db, admin, items, wait=True)
    return db, created, at


def test_list_in_creation_order_with_count(five, admin):
    db, created, at = five
    body = listing(db, admin, at=at)
    assert body["count"] == 5
    assert body["list"] == [{"id": c, "name": "Person %d" % i, "gender": None,
                             "pic": gravatar("p%d@example.com" % i)} for i, c in enumerate(created)]


def test_list_limit_offset(five, admin):
    db, created, _ = five
    body = listing(db, admin, limit=2, offset=1)
    assert [c["id"] for c in body["list"]] == created[1:3]
    assert body["count"] == 5
    body = listing(db, admin, offset=4)
    assert [c["id"] for c in body["list"]] == created[4:]
    body = listing(db, admin, offset=10)
    assert body == {"list": [], "count": 5}


def test_list_limit_zero_gives_full_count(five, admin):
    db, _, _ = five
    assert listing(db, admin, limit=0) == {"list": [], "count": 5}


def test_list_later_import_comes_last(five, admin):
    db, created, _ = five
    (c,), at = import_contacts(db, admin, [{"email": "late@example.com"}], wait=False)
    body = listing(db, admin, at=at)
    assert [x["id"] for x in body["list"]] == created + [c]
    assert body["count"] == 6


@pytest.mark.parametrize("q", ["limit=-1", "offset=-1", "limit=abc"])
def test_list_bad_pagination_is_400(db, admin, q):
    r = get("/db/%s/contacts?%s" % (db, q), token=admin)
    assert r.status == 400, r


# ---------------------------------------------------------------- search


@pytest.fixture
def people(db, admin):
    items = [
        {"email": "vnicollet@runorg.com", "fullname": "Victor Nicollet", "gender": "M"},
        {"email": "elodie@example.com", "fullname": "Élodie Dupont", "gender": "F"},
        {"email": "bob@example.com", "fullname": "Bob Smith"},
        {"email": "vincent@example.com", "firstname": "Vincent", "lastname": "Oak"},
    ]
    created, at = import_contacts(db, admin, items, wait=True)
    return db, dict(zip(["victor", "elodie", "bob", "vincent"], created))


def search(db, admin, q):
    r = get("/db/%s/contacts/search?q=%s" % (db, q), token=admin)
    assert r.status == 200, r
    assert "list" in r.body
    return [c["id"] for c in r.body["list"]], r.body


def test_search_prefix_of_last_word(people, admin):
    db, ids = people
    found, body = search(db, admin, "vic")
    assert found == [ids["victor"]]
    assert body["list"][0] == {"id": ids["victor"], "name": "Victor Nicollet", "gender": "M",
                               "pic": gravatar("vnicollet@runorg.com")}


def test_search_case_insensitive(people, admin):
    db, ids = people
    assert search(db, admin, "NICOLLET")[0] == [ids["victor"]]
    assert search(db, admin, "victor%20nic")[0] == [ids["victor"]]


def test_search_accent_insensitive(people, admin):
    db, ids = people
    assert search(db, admin, "elodie")[0] == [ids["elodie"]]
    assert search(db, admin, "ELO")[0] == [ids["elodie"]]
    assert search(db, admin, "%C3%A9lodie")[0] == [ids["elodie"]]  # "élodie"
    assert search(db, admin, "dupont")[0] == [ids["elodie"]]


def test_search_several_matches(people, admin):
    db, ids = people
    found, _ = search(db, admin, "v")
    assert sorted(found) == sorted([ids["victor"], ids["vincent"]])


def test_search_words_of_a_hyphenated_name(db, admin):
    # Each part of "Anne-Marie" is a word of the name, as each part of an e-mail is.
    items = [{"email": "am@example.com", "fullname": "Anne-Marie Dupont"},
             {"email": "jp@example.com", "firstname": "Jean-Paul", "lastname": "Sartre"}]
    (am, jp), _ = import_contacts(db, admin, items, wait=True)
    assert search(db, admin, "marie")[0] == [am]
    assert search(db, admin, "jean%20paul")[0] == [jp]
    assert search(db, admin, "anne-marie%20dup")[0] == [am]
    # A name changed by PUT is searched by its new words.
    r = call("PUT", "/db/%s/contacts/%s" % (db, jp), {"firstname": "Paul-Henri"}, token=admin)
    assert r.status == 202, r
    assert get("/db/%s/sync" % db, token=admin, query={"at": enc(r.body["at"])}).status == 200
    assert search(db, admin, "henri")[0] == [jp]


def test_search_no_match(people, admin):
    db, _ = people
    assert search(db, admin, "zzzz")[0] == []


def test_search_is_not_a_contact_id(people, admin):
    # Literal segments win over placeholders: /contacts/search is not /contacts/{cid}.
    db, _ = people
    r = get("/db/%s/contacts/search" % db, token=admin)
    assert r.status == 400, r
    assert r.body["path"] == "/db/{db}/contacts/search"


def test_search_limit_10(db, admin):
    items = [{"email": "m%d@example.com" % i, "fullname": "Martin Number%d" % i} for i in range(12)]
    import_contacts(db, admin, items, wait=True)
    found, _ = search(db, admin, "martin")
    assert len(found) == 10


def test_search_sees_writes_with_at(db, admin):
    (cid,), at = import_contacts(db, admin, [{"email": "z@example.com", "fullname": "Zoé Zeller"}], wait=False)
    r = get("/db/%s/contacts/search?q=zoe&at=%s" % (db, enc(at)), token=admin)
    assert r.status == 200, r
    assert [c["id"] for c in r.body["list"]] == [cid]
