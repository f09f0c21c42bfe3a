"""Shared machinery of the fault scenarios (make test-faults).

Each scenario runs on a stack of its own (conf/stack.sh with a temporary
RUNORG_VAR and a free port, test mode off), breaks something on purpose under
load, and then checks the invariants of README "Failures":

  - every command that got a 202 is in the command log and applied exactly once;
  - clock = head on every stream, positions 1..head without a gap;
  - no command recorded as failed (every command of these loads is valid), so
    none was half applied and then given up;
  - the projections agree with the command log (contacts, chat items, counts).

The HTTP helpers of tests/api/conftest.py are reused (loaded as module `api`).
Each scenario appends one line of figures to $RUNORG_FAULTS_REPORT.
"""

import calendar
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location("api", os.path.join(ROOT, "tests", "api", "conftest.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)
sys.modules["api"] = api

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from runorg_testing import free_port, wait_until  # noqa: E402,F401 - shared with the other suites

BUILD = os.environ.get("RUNORG_BUILD") or os.path.join(ROOT, "build")


pid_alive = api.pid_alive
children = api.children


def report(line):
    """One line of figures for the closing report of tests/faults/run.sh."""
    path = os.environ.get("RUNORG_FAULTS_REPORT")
    print(line)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def report_row(number, scenario, acknowledged, applied, lost, duplicated, seen, recovery):
    """One row of the closing table of tests/faults/run.sh: the same figures for
    every scenario. seen: {status or "no answer": count}; recovery: text."""
    path = os.environ.get("RUNORG_FAULTS_REPORT")
    row = {"n": number, "scenario": scenario, "acknowledged": acknowledged, "applied": applied, "lost": lost,
           "duplicated": duplicated, "statuses": ", ".join("%s: %d" % kv for kv in sorted(seen.items(), key=str)),
           "recovery": recovery}
    print(row)
    if path:
        with open(path + ".rows", "a") as f:
            f.write(json.dumps(row) + "\n")


# --------------------------------------------------------------------------
# A stack of its own


class Stack:
    """conf/stack.sh on a temporary var dir and port. Test mode is off: the
    admin token comes from `stack.sh token`, as an operator would get it."""

    def __init__(self, name, **env):
        self.name = name
        self.var = tempfile.mkdtemp(prefix="rof.")  # short: socket paths stay < 100 chars
        self.var_cleanup = []  # commands run (as lists) before the var dir is removed
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, RUNORG_VAR=self.var, RUNORG_PORT=str(self.port), RUNORG_TEST_MODE="0",
                        RUNORG_SYNC_TIMEOUT_MS="2000")
        self.env.update({k: str(v) for k, v in env.items()})
        self.token = None
        self.extra = []  # processes started here (a standby processor)

    def stack(self, *args, timeout=180):
        return subprocess.run(["bash", os.path.join(ROOT, "conf", "stack.sh")] + list(args), env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    def start(self):
        r = self.stack("start")
        assert r.returncode == 0, r.stdout.decode(errors="replace")[-3000:]
        os.environ["RUNORG_URL"] = self.url
        os.environ["RUNORG_VAR"] = self.var
        if not self.token:
            self.token = self.admin_token()

    def admin_token(self):
        """A new server-administrator token, the operator's way: runorgctl token admin
        (or `stack.sh token` where runorgctl is not built)."""
        ctl = os.path.join(BUILD, "runorgctl")
        if os.path.exists(ctl):
            cmd = [ctl, "-c", os.path.join(ROOT, "conf", "runorg.conf"), "token", "admin"]
        else:
            cmd = ["bash", os.path.join(ROOT, "conf", "stack.sh"), "token"]
        r = subprocess.run(cmd, env=self.processor_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60, cwd=ROOT)
        token = (r.stdout.decode().strip().splitlines() or [""])[-1]
        assert r.returncode == 0 and api.TOKEN_RE.match(token), (r.stdout, r.stderr)
        return token

    def stop(self):
        for p in self.extra:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        self.stack("stop")

    def path(self, *parts):
        return os.path.join(self.var, *parts)

    def pid(self, name):
        try:
            with open(self.path("run", name + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def log(self, name):
        try:
            with open(self.path("log", name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sql(self, query, user="root"):
        """Rows (lists of strings, None for NULL) of a query on the stack's MariaDB."""
        r = subprocess.run(["mariadb", "--no-defaults", "--socket=" + self.path("run", "mysql.sock"), "-u" + user,
                            "-N", "-B", "--raw", "runorg", "-e", query],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, (query, r.stderr.decode(errors="replace"))
        rows = []
        for line in r.stdout.decode("utf-8", errors="replace").split("\n"):
            if line:
                rows.append([None if c == "NULL" else c for c in line.split("\t")])
        return rows

    def processor_env(self):
        """The environment stack.sh gives runorg-processor."""
        run = self.path("run")
        return dict(self.env, RUNORG_DB_SOCKET=os.path.join(run, "mysql.sock"), RUNORG_DB_USER="runorg",
                    RUNORG_DB_NAME="runorg", RUNORG_SQL_DIR=os.path.join(ROOT, "sql"),
                    RUNORG_SOCKET=os.path.join(run, "runorg.sock"))

    def start_processor(self, logname):
        """Another runorg-processor on the same MariaDB (a standby), output to log/<logname>.log."""
        log = open(self.path("log", logname + ".log"), "ab")
        p = subprocess.Popen([os.path.join(BUILD, "runorg-processor"), "-c",
                              os.path.join(ROOT, "conf", "runorg.conf")],
                             env=self.processor_env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                             start_new_session=True)
        log.close()
        self.extra.append(p)
        return p

    # -- state

    def heads(self):
        """{stream: (head, done)}"""
        return dict((int(s), (int(h), int(d))) for s, h, d in
                    self.sql("SELECT s.stream, s.head, c.done FROM streams s JOIN clocks c USING (stream)"))

    def done_total(self):
        return sum(d for h, d in self.heads().values())

    def caught_up(self):
        return all(h == d for h, d in self.heads().values())

    def wait_caught_up(self, seconds=120):
        t0 = time.monotonic()
        assert wait_until(self.caught_up, seconds, 0.1), ("the processor did not catch up", self.heads())
        return time.monotonic() - t0


def serve(request, s):
    """The body of a module's stack fixture (`yield from serve(request, s)`):
    starts s, yields it to the module's tests, then stops it, runs its
    var_cleanup and removes its var dir, or keeps it (for its logs) when one of
    the module's tests failed."""
    s.start()
    failed_before = request.session.testsfailed
    yield s
    s.stop()
    for cmd in s.var_cleanup:
        subprocess.run(cmd)
    if request.session.testsfailed == failed_before:
        subprocess.run(["rm", "-rf", s.var])
    else:
        print("logs kept in %s/log" % s.var)


@pytest.fixture(scope="module")
def stack(request):
    yield from serve(request, Stack(request.module.__name__, **getattr(request.module, "STACK_ENV", {})))


# --------------------------------------------------------------------------
# Load: many clients on keep-alive connections


class Result:
    __slots__ = ("kind", "db", "key", "status", "body", "error", "t0", "t1", "headers")

    def __init__(self, kind, db, key):
        self.kind, self.db, self.key = kind, db, key
        self.status = self.body = self.error = self.headers = None
        self.t0 = self.t1 = 0.0

    @property
    def accepted(self):
        return self.status == 202

    def __repr__(self):
        return "<%s %s %s %s %s>" % (self.kind, self.key, self.status, self.error, str(self.body)[:200])


class Client:
    """One keep-alive HTTP connection; reconnects after an error."""

    def __init__(self, url, timeout=30):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.conn = None

    def request(self, method, path, body=None, token=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            hdrs["Authorization"] = "RUNORG token=%s" % token
        hdrs.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            r = self.conn.getresponse()
            text = r.read().decode("utf-8", errors="replace")
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return api.Resp(r.status, r.headers, text, 0)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


class Load:
    """Sends ops (callables i -> (kind, db, key, method, path, body)) from `threads`
    clients until `total` ops are sent or stop() is called. Every answer, or the
    error instead of one, is kept in .results."""

    def __init__(self, url, token, op, total, threads=6, pace=0.0):
        self.url, self.token, self.op, self.total, self.threads, self.pace = url, token, op, total, threads, pace
        self.results = []
        self.lock = threading.Lock()
        self.next = 0
        self.stopped = threading.Event()
        self.ts = []

    def sent(self):
        with self.lock:
            return len(self.results)

    def _run(self):
        c = Client(self.url)
        while not self.stopped.is_set():
            with self.lock:
                i = self.next
                if i >= self.total:
                    break
                self.next += 1
            kind, db, key, method, path, body = self.op(i)
            res = Result(kind, db, key)
            res.t0 = time.monotonic()
            try:
                r = c.request(method, path, body, self.token)
                res.status, res.body, res.headers = r.status, r.body, r.headers
            except Exception as e:  # noqa: BLE001 - no answer: recorded
                res.error = repr(e)
            res.t1 = time.monotonic()
            with self.lock:
                self.results.append(res)
            if self.pace:
                time.sleep(self.pace)
        c.close()

    def start(self):
        self.t_start = time.monotonic()
        self.ts = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for t in self.ts:
            t.start()
        return self

    def running(self):
        return any(t.is_alive() for t in self.ts)

    def stop(self):
        self.stopped.set()
        return self.join()

    def join(self, seconds=300):
        for t in self.ts:
            t.join(seconds)
        assert not self.running(), "load clients did not finish"
        self.elapsed = time.monotonic() - self.t_start
        return self.results


# --------------------------------------------------------------------------
# Setting up databases for a load


def setup_dbs(stack, n):
    """n databases (on several streams when possible), each with a contact and a
    public chat it may post to. Returns [{"id", "stream", "author", "chat"}]."""
    dbs = []
    for i in range(n):
        if i:
            time.sleep(0.004)  # the stream is chosen from the request's millisecond
        dbid, at = api.create_db(stack.token, "faults %d" % i)
        created, at = api.import_contacts(dbid, stack.token, [{"email": "author%d@example.com" % i}])
        r = api.post("/db/%s/chat/create" % dbid, {"public": True, "subject": "load"}, token=stack.token)
        assert r.status == 202, r
        chat = r.body["id"]
        w = api.get("/db/%s/chat/%s" % (dbid, chat), token=stack.token, query=api.at_q(r.body["at"]))
        assert w.status == 200, w
        dbs.append({"id": dbid, "stream": at[0][0], "author": created[0], "chat": chat})
    return dbs


def mixed_op(dbs, tag):
    """Imports of one new contact (key: its e-mail) and chat posts (key: the
    message text), alternating, over the databases. Both kinds are unsafe to
    apply twice, so a duplicate shows."""

    def op(i):
        d = dbs[i % len(dbs)]
        if i % 3 == 2:
            text = "%s message %d" % (tag, i)
            return ("post", d["id"], text, "POST", "/db/%s/chat/%s" % (d["id"], d["chat"]),
                    {"author": d["author"], "body": text})
        email = "%s.%d@example.com" % (tag, i)
        return ("import", d["id"], email, "POST", "/db/%s/contacts/import" % d["id"], [{"email": email}])

    return op


# --------------------------------------------------------------------------
# The invariants


def check_invariants(stack, results, allow_unanswered_in_log=True, wait=True):
    """Waits until every stream is caught up (unless not wait), then checks the
    invariants against the database. Returns the figures: sent, accepted (202),
    applied, duplicates, lost, unanswered_in_log (no 202, but queued), catch_up (s)."""
    catch_up = stack.wait_caught_up() if wait else 0.0
    # Clock = head on every stream; positions 1..head without a gap.
    heads = stack.heads()
    for s, (h, d) in heads.items():
        assert h == d, ("clock != head", s, h, d)
    for s, n, lo, hi in stack.sql("SELECT stream, COUNT(*), MIN(pos), MAX(pos) FROM commands GROUP BY stream"):
        s, n, lo, hi = int(s), int(n), int(lo), int(hi)
        assert n == hi == heads[s][0] and lo == 1, ("gap or stray command in the log", s, n, lo, hi, heads[s])
    # No command of these loads can fail: one recorded as failed was lost, or applied twice.
    failed = stack.sql("SELECT stream, pos, kind, reason FROM commands WHERE status <> 0 LIMIT 10")
    assert failed == [], ("commands recorded as failed", failed)

    # The log: every import's contacts and every post, by the key the load used.
    logged_email = {}  # (db, email) -> [contact id] from the log
    logged_post = {}  # (db, text) -> [item id]
    by_pos = {}
    for s, pos, db, kind, payload in stack.sql("SELECT stream, pos, db, kind, payload FROM commands"):
        p = json.loads(payload)
        by_pos[(int(s), int(pos))] = (db, kind, p)
        if kind == "contacts.import":
            for c in p["contacts"]:
                logged_email.setdefault((db, c["email"]), []).append(c["id"])
        elif kind == "chat.post":
            logged_post.setdefault((db, p["body"]), []).append(p["id"])

    # The projections agree with the log, each logged thing exactly once.
    contacts = {}
    for db, cid, email in stack.sql("SELECT db, id, email FROM contacts"):
        contacts.setdefault((db, email), []).append(cid)
    items = {}
    for db, iid, body in stack.sql("SELECT db, id, body FROM chat_items"):
        items.setdefault((db, body), []).append(iid)
    assert sorted(sum(logged_email.values(), [])) == sorted(sum(contacts.values(), [])), \
        "contacts do not match the imports of the log"
    assert sorted(sum(logged_post.values(), [])) == sorted(sum(items.values(), [])), \
        "chat items do not match the posts of the log"
    for db, chat, count, n in stack.sql(
            "SELECT c.db, c.id, c.count, (SELECT COUNT(*) FROM chat_items i WHERE i.db = c.db AND i.chat = c.id) "
            "FROM chats c"):
        assert int(count) == int(n), ("chats.count disagrees with its items", db, chat, count, n)
    for db, g, count, n in stack.sql(
            "SELECT g.db, g.id, g.count, (SELECT COUNT(*) FROM group_members m WHERE m.db = g.db AND m.grp = g.id) "
            "FROM `groups` g"):
        assert int(count) == int(n), ("groups.count disagrees with its members", db, g, count, n)

    # Every 202 is in the log with what it answered, and applied (clock = head above).
    lost, applied, dup = [], 0, 0
    answered = set()
    for r in results:
        if not r.accepted:
            continue
        (s, pos), = r.body["at"]
        entry = by_pos.get((s, pos))
        if r.kind == "import":
            ok = entry and entry[1] == "contacts.import" and \
                [c["id"] for c in entry[2]["contacts"]] == r.body["created"]
            ids = contacts.get((r.db, r.key), [])
        else:
            ok = entry and entry[1] == "chat.post" and entry[2]["id"] == r.body["id"]
            ids = items.get((r.db, r.key), [])
        if not ok or not ids:
            lost.append(r)
        else:
            applied += 1
        if len(ids) > 1:
            dup += 1
        answered.add((r.db, r.key))
    assert lost == [], ("202s not applied", lost[:5])
    assert dup == 0, "applied twice"
    # Requests without a 202 whose command was queued all the same.
    unanswered = 0
    for r in results:
        if not r.accepted and (r.db, r.key) not in answered:
            if logged_email.get((r.db, r.key)) or logged_post.get((r.db, r.key)):
                unanswered += 1
    if not allow_unanswered_in_log:
        assert unanswered == 0, "a request that got no 202 was queued anyway"
    dups_in_log = sum(1 for v in logged_email.values() if len(v) > 1) + \
        sum(1 for v in logged_post.values() if len(v) > 1)
    return {"sent": len(results), "accepted": sum(1 for r in results if r.accepted), "applied": applied,
            "duplicates": dup + dups_in_log, "lost": len(lost), "unanswered_in_log": unanswered,
            "catch_up": catch_up}


# --------------------------------------------------------------------------
# The processors' logs: who applied which positions, who took which lease

# Every applied run, whatever level the build logs them at (the stacks that
# look at them run at debug).
APPLIED = re.compile(r"^(\S+)Z \[(\d+)\] \w+: stream (\d+): applied (\d+) commands? up to (\d+)")
LEASE = re.compile(r"^(\S+)Z \[(\d+)\] \w+: stream (\d+): lease taken")


def stamp(text):
    """Log time (UTC, ms) as seconds since the epoch."""
    day, frac = text.split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + int(frac) / 1000.0


def events(text, pattern):
    """(time, pid, numbers...) of each log line matching pattern."""
    out = []
    for line in text.splitlines():
        m = pattern.match(line)
        if m:
            out.append((stamp(m.group(1)),) + tuple(int(g) for g in m.groups()[1:]))
    return out


def runs_by_stream(text):
    """{stream: [(first, last, time, pid)]} of the applied runs in the logs, by position."""
    out = {}
    for t, pid, s, n, last in events(text, APPLIED):
        out.setdefault(s, []).append((last - n + 1, last, t, pid))
    for runs in out.values():
        runs.sort()
    return out


def check_runs(heads, runs):
    """No position applied twice; a gap in the logs only where the applier
    changed (a processor killed or fenced between its commit and its log line:
    the database checks cover those positions); the runs reach each head."""
    for s, (head, done) in heads.items():
        covered, prev = 0, None
        for first, last, t, pid in runs.get(s, []):
            assert first > covered, ("stream %d: positions %d..%d applied twice" % (s, first, covered))
            assert first == covered + 1 or pid != prev, ("stream %d: gap %d..%d" % (s, covered + 1, first - 1))
            covered, prev = last, pid
        assert covered == head, ("stream %d: runs cover 1..%d, head %d" % (s, covered, head))


def statuses(results):
    out = {}
    for r in results:
        k = r.status if r.status is not None else "no answer"
        out[k] = out.get(k, 0) + 1
    return out
