"""Operating RunOrg: GET /status, runorgctl, and the logs (issue 7)."""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import (
    create_db, enc, get, import_contacts, in_flight, post, processor_paused, repo_root, stream_of,
    unique, var_dir,
)

STREAM_KEYS = ["stream", "head", "done", "lag", "applied", "lag_seconds", "failed", "lease"]


def ctl(*args, stdin=None):
    """runorgctl against the test stack (conf/stack.sh ctl): (exit code, stdout, stderr)."""
    p = subprocess.run(
        ["bash", os.path.join(repo_root(), "conf", "stack.sh"), "ctl"] + list(args),
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    return p.returncode, p.stdout, p.stderr


def sql(statements):
    """Runs SQL on the stack's MariaDB (as the test harness, not through RunOrg)."""
    sock = os.path.join(var_dir(), "run", "mysql.sock")
    p = subprocess.run(
        ["mariadb", "--no-defaults", "--socket=" + sock, "-uroot", "-N", "runorg", "-e", statements],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


def status_of(stream):
    r = get("/status")
    assert r.status == 200, r
    return next(s for s in r.body["streams"] if s["stream"] == stream)


def log_text(name):
    with open(os.path.join(var_dir(), "log", name), encoding="utf-8", errors="replace") as f:
        return f.read()


# --------------------------------------------------------------------------
# GET /status


def test_status_shows_every_stream_with_the_operator_fields():
    r = get("/status")
    assert r.status == 200, r
    assert list(r.body.keys()) == ["version", "streams", "processor", "processors", "database", "read"]
    assert r.body["database"] == {"state": "up"}, r
    # This front's read server: no replica here (tests/replica covers one).
    assert list(r.body["read"].keys()) == ["front", "server", "replica"], r.body["read"]
    assert re.match(r"^.+:\d+$", r.body["read"]["front"]), r.body["read"]
    assert r.body["read"]["server"] == "primary" and r.body["read"]["replica"] is False
    assert r.body["streams"], r
    for s in r.body["streams"]:
        assert list(s.keys()) == STREAM_KEYS, s
        assert s["done"] == s["applied"]
        assert s["lag"] == s["head"] - s["applied"] >= 0
        assert isinstance(s["lag_seconds"], (int, float)) and s["lag_seconds"] >= 0
        assert isinstance(s["failed"], int) and s["failed"] >= 0
        lease = s["lease"]
        assert lease is not None, "the running processor holds every stream: %r" % s
        assert list(lease.keys()) == ["connection", "processor", "heartbeat", "heartbeat_age"]
        assert re.match(r"^.+:\d+$", lease["processor"]), lease
        assert lease["heartbeat_age"] < 5, lease
    names = [p["name"] for p in r.body["processors"]]
    for s in r.body["streams"]:
        assert s["lease"]["processor"] in names
    p = r.body["processors"][0]
    assert list(p.keys()) == ["name", "host", "pid", "started", "heartbeat", "heartbeat_age", "problem"]
    assert p["heartbeat_age"] < 5 and p["problem"] is None


def test_status_shows_lag_in_commands_and_seconds_and_a_stale_heartbeat_while_paused(admin):
    db, _ = create_db(admin)
    with processor_paused():
        _, at = import_contacts(db, admin, [{"email": unique() + "@example.com"}], wait=False)
        stream = stream_of(at)
        time.sleep(1.6)  # the heartbeat thread is paused with the rest of the processor
        s = status_of(stream)
    assert s["lag"] >= 1, s
    assert s["head"] >= at[0][1] > s["applied"], s
    assert s["lag_seconds"] >= 1.0, s
    assert s["lease"] is not None, "SIGSTOP keeps the connection, and so the lease"
    assert s["lease"]["heartbeat_age"] >= 1.0, s
    r = get("/db/%s/sync" % db, token=admin)
    assert r.status == 200, r
    s = status_of(stream)
    assert s["applied"] >= at[0][1]
    # Resumed, the heartbeat thread beats again within its interval (and a
    # loaded machine may give it the CPU a little later).
    deadline = time.monotonic() + 5
    while s["lease"]["heartbeat_age"] >= 1.5 and time.monotonic() < deadline:
        time.sleep(0.1)
        s = status_of(stream)
    assert s["lease"]["heartbeat_age"] < 1.5, s


def test_status_and_runorgctl_count_and_list_failed_commands(admin):
    before = status_of(1)["failed"]
    # A command no applier knows, queued on the server stream the way queue.c does it.
    out = sql(
        "START TRANSACTION;"
        "UPDATE streams SET head = LAST_INSERT_ID(head + 1) WHERE stream = 1;"
        "INSERT INTO commands (stream, pos, db, kind, payload, created) "
        "VALUES (1, LAST_INSERT_ID(), NULL, 'test.nosuchkind', '{}', NOW(6));"
        "COMMIT; SELECT LAST_INSERT_ID();"
    )
    pos = int(out.split()[-1])
    r = get("/db/all", token=admin, query={"at": enc([[1, pos]])})
    assert r.status == 200, r
    assert status_of(1)["failed"] == before + 1
    code, stdout, stderr = ctl("failed", "1", "--limit", "5")
    assert code == 0, stderr
    assert re.search(r"^1\s+%d\s+-\s+test\.nosuchkind\s.*Unknown command kind 'test.nosuchkind'" % pos, stdout, re.M), stdout
    code, stdout, _ = ctl("status")
    assert code == 0
    assert re.search(r"^1\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+%d\s" % (before + 1), stdout, re.M), stdout


# --------------------------------------------------------------------------
# runorgctl


def test_runorgctl_process_once_leaves_the_streams_a_processor_holds(admin, db):
    """process --once takes each lease without waiting: the stack's processor,
    even paused (SIGSTOP keeps its connections, so its leases), keeps them all,
    and the command it has not applied yet stays for it, applied once."""
    with processor_paused():
        created, at = import_contacts(db, admin, [{"email": unique() + "@example.com"}], wait=False)
        code, out, err = ctl("process", "--once", "--max-seconds", "3")
        assert code == 0, err
        m = re.match(r"applied (\d+) commands; (\d+) streams held by another applier; 0 streams failed$",
                     out.strip())
        assert m, out
        assert m.group(1) == "0", out
        assert int(m.group(2)) >= 1, out
        r = get("/db/%s/contacts/%s" % (db, created[0]), token=admin)
        assert r.status == 404, "not applied while the processor holding the lease is paused"
    r = get("/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)})
    assert r.status == 200, r
    code, out, err = ctl("process", "--once", "--max-seconds", "x")
    assert code == 2, (out, err)


def test_runorgctl_admin_token_works_until_revoked():
    code, token, stderr = ctl("token", "admin")
    assert code == 0, stderr
    token = token.strip()
    assert re.match(r"^[0-9A-Za-z]{11,}$", token)
    assert get("/db/all", token=token).status == 200
    # From stdin, so that the token stays out of ps and the shell history.
    code, out, stderr = ctl("token", "revoke", stdin=token + "\n")
    assert (code, out.strip()) == (0, "revoked"), stderr
    assert get("/db/all", token=token).status == 401
    code, _, stderr = ctl("token", "revoke", token)
    assert code == 1 and "no such token" in stderr


def test_runorgctl_contact_token_acts_as_that_contact(admin, db):
    email = unique() + "@example.com"
    (cid,), _ = import_contacts(db, admin, [{"email": email}])
    code, token, stderr = ctl("token", "contact", db, cid)
    assert code == 0, stderr
    token = token.strip()
    r = get("/db/%s/contacts/%s" % (db, cid), token=token)
    assert r.status == 200 and r.body["id"] == cid, r
    # A contact token is worth nothing in another database, nor as a server administrator.
    other, _ = create_db(admin)
    assert get("/db/%s/contacts" % other, token=token).status == 401
    assert get("/db/all", token=token).status == 401
    assert ctl("token", "revoke", token)[0] == 0
    assert get("/db/%s/contacts/%s" % (db, cid), token=token).status == 401


def test_runorgctl_contact_token_needs_an_existing_contact(db):
    code, out, stderr = ctl("token", "contact", db, "0000000000A")
    assert code == 1 and out == ""
    assert "has no contact" in stderr


def test_runorgctl_db_create_queues_like_the_api(admin):
    label = "  Ops   " + unique() + " "
    code, out, stderr = ctl("db", "create", label)
    assert code == 0, stderr
    made = json.loads(out)
    assert list(made.keys()) == ["id", "at"]
    assert made["at"][0][0] == 1
    r = get("/db/all", token=admin, query={"at": enc(made["at"]), "limit": "10000"})
    assert r.status == 200, r
    mine = [d for d in r.body["list"] if d["id"] == made["id"]]
    assert mine and mine[0]["label"] == " ".join(label.split()), mine
    code, out, _ = ctl("db", "list")
    assert code == 0 and made["id"] in out
    code, _, stderr = ctl("db", "create", "   ")
    assert code == 1 and "Empty label" in stderr


def test_runorgctl_status_json_and_clock_match_get_status():
    code, out, stderr = ctl("status", "--json")
    assert code == 0, stderr
    st = json.loads(out)
    assert list(st.keys()) == ["streams", "processors"]
    assert [list(s.keys()) for s in st["streams"]] == [STREAM_KEYS] * len(st["streams"])
    code, out, _ = ctl("clock")
    assert code == 0
    clock = json.loads(out)
    heads = dict((s["stream"], s["head"]) for s in get("/status").body["streams"])
    for stream, pos in clock:
        assert heads[stream] >= pos > 0
    # The heads are a clock any request can wait for.
    assert get("/version", query={"at": enc(clock)}).status == 200


def test_runorgctl_migrate_and_usage():
    code, out, stderr = ctl("migrate")
    assert (code, out.strip()) == (0, "schema up to date"), stderr
    code, _, stderr = ctl()
    assert code == 2 and "usage" in stderr
    code, _, _ = ctl("no-such-command")
    assert code == 2


# --------------------------------------------------------------------------
# Logs


def test_request_log_line_has_route_status_wait_and_total_but_no_token(admin):
    db, _ = create_db(admin)
    with processor_paused():
        created, at = import_contacts(db, admin, [{"email": unique() + "@example.com"}], wait=False)
        bg = in_flight("GET", "/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)})
        time.sleep(0.4)
    r = bg.result()
    assert r.status == 200, r
    time.sleep(0.1)
    text = log_text("fcgi.log")
    waits = [float(m) for m in re.findall(r"info: GET /db/\{db\}/contacts/\{cid\} 200 wait=([\d.]+)ms total=[\d.]+ms", text)]
    assert any(w >= 300 for w in waits), waits[-5:]
    assert admin not in text
    assert created[0] not in text, "the route template, not the path"
    proc = log_text("processor.log")
    assert re.search(r"info: stream %d: applied \d+ commands up to \d+ in [\d.]+ms" % at[0][0], proc)
