"""Scenario 6: retries with Idempotency-Key, end to end (SPEC §7). 16 clients send
5,000 logical writes of every kind (imports, groups created with and without an
id, members added and removed, groups deleted, chats and private-message rooms
created, messages posted and deleted, chats deleted, databases created), each
with a key of its own, while FastCGI workers are killed at random and MariaDB
is restarted once. A client retries a request that got no answer, a 5xx or a
409 (the first still in flight), with the same key, until it gets a 2xx or
another 4xx. Afterwards: every logical write is in the command log exactly
once (0 lost, 0 twice, no command nobody asked for), and a replay of every one
of them answers exactly what its client got.

The control: the same load and faults without keys, retried blindly, shows
what the keys prevent: the commands queued twice, and the retries answered
409 or 404 although the first attempt succeeded."""

import hashlib
import json
import os
import random
import signal
import threading
import time
import uuid

from conftest import api, children, pid_alive, report, setup_dbs, wait_until, Client

TOTAL = int(os.environ.get("FAULTS_IDEM_WRITES", "5000"))
CONTROL = int(os.environ.get("FAULTS_IDEM_CONTROL", "3000"))
CLIENTS = 16
# Seconds between two worker kills: often enough that some writes are caught
# between their commit and their answer (the control must show what that does).
KILL_EVERY = (0.2, 0.5)
MARIADB_DOWN = 2.0
# A write still not answered after this many seconds of retries is given up
# (and fails the test with what it last got) rather than retried forever.
GIVE_UP_S = 120
# The whole load stops after this long, finished or not (a run takes about a minute).
LOAD_MAX_S = 420


def key_id(token, key):
    """The idempotency row's id of a key of a token (sql/031-idempotency.sql), in hex."""
    th = hashlib.sha256(token.encode()).hexdigest()
    return hashlib.sha256((th + "\n" + key).encode()).hexdigest()[:32]


def merge(*clocks):
    return api.merge(*[c for c in clocks if c])


class Writer:
    """One client: sends a write, retries it (same key) until a 2xx or a 4xx that is not 409."""

    def __init__(self, stack, keys):
        self.c = Client(stack.url, timeout=30)
        self.token = stack.token
        self.keys = keys
        self.out = []  # every logical write
        self.deadline = None  # time.monotonic() past which nothing is retried any more

    def send(self, kind, marker, method, path, body=None, at=None):
        key = uuid.uuid4().hex if self.keys else None
        q = "?at=" + api.enc(at) if at else ""
        w = {"kind": kind, "marker": marker, "method": method, "path": path, "body": body, "key": key,
             "attempts": 0, "faults": 0, "busy": 0, "t0": time.time()}
        while True:
            if time.time() - w["t0"] > GIVE_UP_S or (self.deadline and time.monotonic() > self.deadline):
                w.update(status=None, text=None, location=None, body_json=None)
                self.out.append(w)
                return w
            w["attempts"] += 1
            w["t_last"] = time.time()
            try:
                r = self.c.request(method, path + q, body, self.token,
                                   headers={"Idempotency-Key": key} if key else None)
            except Exception as e:  # noqa: BLE001 - no answer: retried
                w["last"] = repr(e)[:200]
                w["faults"] += 1
                time.sleep(0.05)
                continue
            w["last"] = "%d %s" % (r.status, r.text[:200])
            if r.status >= 500:
                w["faults"] += 1
                time.sleep(0.1)
                continue
            if r.status == 409 and r.headers.get("Retry-After"):  # the first is still in flight
                w["busy"] += 1
                time.sleep(0.2)
                continue
            w.update(status=r.status, text=r.text, location=r.headers.get("Location"),
                     body_json=r.body if r.is_json else None)
            self.out.append(w)
            return w

    def scenario(self, d, n):
        """One round of every kind of write in database d; n numbers it. Each step waits
        (at=) for what it needs, as a client would."""
        db, tag = d["id"], uuid.uuid4().hex[:10]
        base = "/db/%s" % db
        email = "%s@idem.example.com" % tag
        imp = self.send("import", ("contacts.import", email), "POST", base + "/contacts/import", [{"email": email}])
        cid = imp["body_json"]["created"][0] if imp["status"] == 202 else None
        gid = "g" + tag[:9]
        g = self.send("group", ("groups.create", gid), "POST", base + "/groups", {"id": gid})
        at = merge(imp["body_json"].get("at") if imp["body_json"] else None,
                   g["body_json"].get("at") if g["status"] == 202 else None)
        label = "label " + tag
        self.send("group label", ("groups.create", label), "POST", base + "/groups", {"label": label})
        if cid:
            a = self.send("add", ("groups.add", gid), "POST", base + "/groups/%s/add" % gid, [cid], at=at)
            rm = self.send("remove", ("groups.remove", gid), "POST", base + "/groups/%s/remove" % gid, [cid],
                           at=a["body_json"].get("at") if a["status"] == 202 else at)
            at = merge(at, rm["body_json"].get("at") if rm["status"] == 202 else None)
        self.send("group delete", ("groups.delete", gid), "DELETE", base + "/groups/%s" % gid, at=at)
        subject = "subject " + tag
        c = self.send("chat", ("chat.create", subject), "POST", base + "/chat/create",
                      {"subject": subject, "public": True})
        if c["status"] == 202:
            chat, cat = c["body_json"]["id"], c["body_json"]["at"]
            text = "message " + tag
            p = self.send("post", ("chat.post", text), "POST", base + "/chat/%s" % chat,
                          {"author": d["author"], "body": text}, at=cat)
            if p["status"] == 202:
                item = p["body_json"]["id"]
                self.send("item delete", ("chat.item_delete", item), "DELETE",
                          base + "/chat/%s/items/%s" % (chat, item), at=p["body_json"]["at"])
            self.send("chat delete", ("chat.delete", chat), "DELETE", base + "/chat/%s" % chat)
        if cid:
            pair = ":".join(sorted([d["author"], cid]))
            self.send("pm", ("chat.create", pair), "POST", base + "/chat/create",
                      {"pm": True, "contacts": [d["author"], cid]}, at=imp["body_json"]["at"])
        if n % 25 == 0:
            dlabel = "db " + tag
            self.send("db create", ("db.create", dlabel), "POST", "/db/create", {"label": dlabel})


def markers_of(kind, payload):
    """The markers of a logged command: what identifies the logical write that queued it."""
    p = json.loads(payload)
    if kind == "contacts.import":
        return [(kind, c["email"]) for c in p["contacts"]]
    if kind in ("groups.create",):
        return [(kind, p["id"]), (kind, p.get("label"))]
    if kind in ("groups.add", "groups.remove", "groups.delete"):
        return [(kind, p["id"])]
    if kind == "chat.create":
        return [(kind, p["pm"] if p.get("pm") else p.get("subject"))]
    if kind == "chat.post":
        return [(kind, p["body"])]
    if kind == "chat.item_delete":
        return [(kind, p["item"])]
    if kind == "chat.delete":
        return [(kind, p["chat"])]
    if kind == "db.create":
        return [(kind, p["label"])]
    return [(kind, None)]


def run_load(stack, total, keys, rng):
    """The load with its faults: returns (writes, kills, MariaDB restarted, seconds)."""
    dbs = setup_dbs(stack, 4)
    start = stack.heads()  # what setup queued is nobody's logical write
    writers = [Writer(stack, keys) for _ in range(CLIENTS)]
    sent = lambda: sum(len(w.out) for w in writers)  # noqa: E731
    counter = {"n": 0}
    lock = threading.Lock()

    deadline = time.monotonic() + LOAD_MAX_S
    for w in writers:
        w.deadline = deadline + 60

    def client(w):
        while True:
            with lock:
                n = counter["n"]
                if sent() >= total or time.monotonic() > deadline:
                    return
                counter["n"] += 1
            w.scenario(dbs[n % len(dbs)], n)

    ts = [threading.Thread(target=client, args=(w,), daemon=True) for w in writers]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    master = stack.pid("fcgi")
    kills, restarted = 0, False
    while any(t.is_alive() for t in ts):
        time.sleep(rng.uniform(*KILL_EVERY))
        if not any(t.is_alive() for t in ts):
            break
        if not restarted and sent() >= total * 0.4:
            mpid = stack.pid("mariadb")
            os.kill(mpid, signal.SIGTERM)
            assert wait_until(lambda: not pid_alive(mpid), 60), "MariaDB did not stop"
            time.sleep(MARIADB_DOWN)
            stack.start()
            restarted = True
            continue
        workers = children(master)
        if workers:
            os.kill(rng.choice(workers), signal.SIGKILL)
            kills += 1
    for t in ts:
        t.join(600)
    assert not any(t.is_alive() for t in ts), "clients did not finish"
    assert sent() >= total, ("the load did not finish in %d s" % LOAD_MAX_S, sent(), total)
    given_up = [(w["method"], w["path"], w["attempts"], w.get("last")) for x in writers for w in x.out
                if w["status"] is None]
    assert given_up == [], ("writes still unanswered after %d s of retries" % GIVE_UP_S, given_up[:5])
    assert stack.pid("fcgi") == master and pid_alive(master)
    return dbs, start, [x for w in writers for x in w.out], kills, restarted, time.monotonic() - t0


def command_log(stack, dbs, start, writes):
    """marker -> [(stream, pos)] over the commands queued since `start` (heads) for the
    load's databases, and its database creations; and the commands that failed."""
    ids = ",".join("'%s'" % d["id"] for d in dbs)
    labels = set(w["marker"][1] for w in writes if w["kind"] == "db create")
    by_marker, failed = {}, []
    for s, pos, kind, payload, status in stack.sql(
            "SELECT stream, pos, kind, payload, status FROM commands WHERE db IN (%s) OR kind = 'db.create'" % ids):
        s, pos = int(s), int(pos)
        if pos <= start.get(s, (0, 0))[0]:
            continue
        if kind == "db.create" and json.loads(payload)["label"] not in labels:
            continue
        for m in markers_of(kind, payload):
            by_marker.setdefault(m, []).append((s, pos))
        if status != "0":
            failed.append((kind, payload))
    return by_marker, failed


def ref(w):
    s, p = w["location"].rsplit("/", 1)[1].split(".")
    return int(s), int(p)


def replay_all(stack, writes):
    """Sends every keyed write once more; returns those whose answer differs from the client's."""
    todo, differ, lock = list(writes), [], threading.Lock()

    def run():
        c = Client(stack.url, timeout=30)
        while True:
            with lock:
                if not todo:
                    return
                w = todo.pop()
            r = c.request(w["method"], w["path"], w["body"], stack.token, headers={"Idempotency-Key": w["key"]})
            if (r.status, r.text, r.headers.get("Location")) != (w["status"], w["text"], w["location"]):
                with lock:
                    differ.append((w, r))

    ts = [threading.Thread(target=run) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return differ


def test_retries_with_keys_apply_every_write_once(stack):
    rng = random.Random(os.environ.get("FAULTS_SEED"))
    dbs, start, writes, kills, restarted, secs = run_load(stack, TOTAL, True, rng)
    assert kills >= 3 and restarted, (kills, restarted)
    stack.wait_caught_up()
    heads = stack.heads()
    assert all(h == d for h, d in heads.values()), heads

    by_marker, failed = command_log(stack, dbs, start, writes)
    assert failed == [], ("commands recorded as failed", failed[:5])
    refused = [w for w in writes if w["status"] != 202]
    assert refused == [], ("writes refused", refused[:5])
    lost, twice, wrong = [], [], []
    claimed = set()
    for w in writes:
        cmds = by_marker.get(w["marker"], [])
        if len(cmds) == 0:
            lost.append(w)
        elif len(cmds) > 1:
            twice.append(w)
        elif ref(w) != cmds[0]:
            wrong.append((w, cmds))
        claimed.update(cmds)
    stray = sum(len(v) for v in by_marker.values()) - len(claimed)
    assert (lost, twice, wrong) == ([], [], []), (lost[:3], twice[:3], wrong[:3])
    # Every command of the log is one logical write's (a group create has two markers).
    logged = set(c for v in by_marker.values() for c in v)
    assert logged == claimed, ("commands nobody asked for", sorted(logged - claimed)[:5], stray)
    # The projections: each import made one contact, each label one group, each room one chat.
    emails = [w["marker"][1] for w in writes if w["kind"] == "import"]
    n = stack.sql("SELECT COUNT(*), COUNT(DISTINCT email) FROM contacts WHERE email LIKE '%%@idem.example.com'")
    assert n == [[str(len(emails)), str(len(emails))]], (n, len(emails))

    # Every answer is the recorded one, and a replay of it.
    rows = dict(((k, (int(s), t, loc))) for k, s, t, loc in stack.sql(
        "SELECT LOWER(HEX(id)), status, body, location FROM idempotency"))
    mismatched = [w for w in writes
                  if rows.get(key_id(stack.token, w["key"])) != (w["status"], w["text"], w["location"])]
    assert mismatched == [], mismatched[:3]
    differ = replay_all(stack, writes)
    assert differ == [], differ[:3]

    faulted = [w for w in writes if w["faults"]]
    # A retried write whose first attempt had been queued: its answer was a replay.
    queued_before = sum(1 for w in faulted if float(stack.sql(
        "SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created) / 1e6 FROM idempotency WHERE id = UNHEX('%s')"
        % key_id(stack.token, w["key"]))[0][0]) < w["t_last"])
    report("6 Idempotency-Key under faults (%d workers killed, MariaDB restarted once, %.0fs): %d logical writes "
           "of %d kinds by %d clients, %d requests; %d writes retried after no answer or a 5xx (%d of them had "
           "been queued: answered by a replay), %d answered 409 in flight at least once; applied once %d, lost %d, "
           "twice %d; replays equal to the first answer %d of %d"
           % (kills, secs, len(writes), len(set(w["kind"] for w in writes)), CLIENTS,
              sum(w["attempts"] for w in writes), len(faulted), queued_before,
              sum(1 for w in writes if w["busy"]), len(writes) - len(lost) - len(twice), len(lost), len(twice),
              len(writes) - len(differ), len(writes)))


def test_control_without_keys_makes_duplicates(stack):
    rng = random.Random(os.environ.get("FAULTS_SEED"))
    dbs, start, writes, kills, restarted, secs = run_load(stack, CONTROL, False, rng)
    stack.wait_caught_up()
    by_marker, failed = command_log(stack, dbs, start, writes)
    twice = [w for w in writes if len(by_marker.get(w["marker"], [])) > 1]
    extra = sum(len(by_marker.get(w["marker"], [])) - 1 for w in twice)
    misled = [w for w in writes if w["status"] != 202]  # a retry refused, though the first got through
    faulted = [w for w in writes if w["faults"]]
    report("6 control without keys (%d workers killed, MariaDB restarted once, %.0fs): %d logical writes, "
           "%d retried after no answer or a 5xx; queued twice %d (%d extra commands), answered 4xx although "
           "applied %d (%s), commands failed at apply time %d"
           % (kills, secs, len(writes), len(faulted), len(twice), extra, len(misled),
              ", ".join(sorted(set("%s %d" % (w["kind"], w["status"]) for w in misled))) or "none", len(failed)))
    # Each harm comes from a retry of a write whose earlier attempt was queued; and with
    # this many faults there are some (the keyed run above had none).
    for w in twice + misled:
        assert w["faults"], w
    assert faulted and twice + misled, "the faults made no retry of a write queued already: nothing shown"
