"""Shared helpers for the RunOrg API tests.

The tests talk HTTP to a running stack (lighttpd -> runorg-fcgi -> MariaDB,
plus runorg-processor). tests/run.sh provides:

  RUNORG_URL   e.g. http://127.0.0.1:41234
  RUNORG_VAR   the stack's var dir ($RUNORG_VAR/run/processor.pid)
  RUNORG_ROOT  the repository root (conf/stack.sh)

The stack runs with RUNORG_TEST_MODE=1 and RUNORG_SYNC_TIMEOUT_MS=1500.
Python standard library only.
"""

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from runorg_testing import exchange, free_port, wait_until  # noqa: E402,F401 - shared with the other suites

ID_RE = re.compile(r"^[0-9A-Za-z]{11}$")
TOKEN_RE = re.compile(r"^[0-9A-Za-z]{11,}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")

# The stack's sync timeout in seconds (RUNORG_SYNC_TIMEOUT_MS=1500 in tests/run.sh).
SYNC_TIMEOUT = int(os.environ.get("RUNORG_SYNC_TIMEOUT_MS", "1500")) / 1000.0
# How long a request may take when it must not wait at all.
FAST = 0.5
# How long we let an in-flight request sit before resuming the processor.
IN_FLIGHT = 0.3

NOT_YET = "Data is not yet available for the 'at' you specified. Try again later."


# --------------------------------------------------------------------------
# Environment


def base_url():
    url = os.environ.get("RUNORG_URL")
    if not url:
        pytest.fail("RUNORG_URL is not set (run the API tests through tests/run.sh)")
    return url


def var_dir():
    var = os.environ.get("RUNORG_VAR")
    if not var:
        pytest.fail("RUNORG_VAR is not set (run the API tests through tests/run.sh)")
    return var


def repo_root():
    root = os.environ.get("RUNORG_ROOT")
    if root:
        return root
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def web_server_error(status, data):
    """True when (status, raw body) is the web server's own error answer, not RunOrg's:
    lighttpd answers with conf/errors/<status>.json as it is (its "path" is "")."""
    try:
        with open(os.path.join(repo_root(), "conf", "errors", "%d.json" % status), "rb") as f:
            return data == f.read()
    except OSError:
        return False


def processor_pid():
    with open(os.path.join(var_dir(), "run", "processor.pid")) as f:
        return int(f.read().strip())


# --------------------------------------------------------------------------
# HTTP



def pid_alive(pid):
    """The process exists and is not a zombie (a zombie still answers kill(0))."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, TypeError):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    """Live child processes of pid (the workers of a runorg-fcgi master)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], stdout=subprocess.PIPE).stdout.decode()
    return sorted(int(p) for p in out.split() if pid_alive(int(p)))


class Resp:
    """One HTTP answer. Unpacks as (status, headers, body).

    body is the parsed JSON when the answer parses as JSON, else the raw text;
    text is always the raw text; headers is case-insensitive (headers["Retry-After"]).
    """

    def __init__(self, status, headers, text, elapsed):
        self.status = status
        self.headers = headers
        self.text = text
        self.elapsed = elapsed
        try:
            self.body = json.loads(text)
            self.is_json = True
        except ValueError:
            self.body = text
            self.is_json = False

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<%d %.3fs %s>" % (self.status, self.elapsed, self.text[:300])

    def get(self, key, default=None):
        return self.body.get(key, default) if isinstance(self.body, dict) else default


def call(method, path, body=None, token=None, raw=None, headers=None, query=None, timeout=15):
    """Sends one request, returns a Resp.

    path is sent as is (no normalization), so malformed paths can be tested.
    body is JSON-encoded (compact); raw (bytes or str) is sent verbatim instead.
    query is a dict appended as ?k=v&... (values used verbatim: encode them first).
    token adds `Authorization: RUNORG token=<token>`.
    """
    if query:
        path = path + ("&" if "?" in path else "?") + "&".join("%s=%s" % kv for kv in query.items())
    hdrs = {}
    data = None
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    elif body is not None:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    if token is not None:
        hdrs["Authorization"] = "RUNORG token=%s" % token
    if headers:
        hdrs.update(headers)
    return Resp(*exchange(base_url(), method, path, data, hdrs, timeout))


def get(path, **kw):
    return call("GET", path, **kw)


def post(path, body=None, **kw):
    return call("POST", path, body=body, **kw)


class Background:
    """Runs call(...) in a thread: .start(), .alive(), .result() (joins)."""

    def __init__(self, *args, **kw):
        self.res = None
        self.exc = None
        self.t = threading.Thread(target=self._run, args=args, kwargs=kw, daemon=True)

    def _run(self, *args, **kw):
        try:
            self.res = call(*args, **kw)
        except BaseException as e:  # reported by result()
            self.exc = e

    def start(self):
        self.t.start()
        return self

    def alive(self):
        return self.t.is_alive()

    def result(self, timeout=20):
        self.t.join(timeout)
        assert not self.t.is_alive(), "background request did not finish"
        if self.exc:
            raise self.exc
        return self.res


def in_flight(*args, **kw):
    return Background(*args, **kw).start()


# --------------------------------------------------------------------------
# Clocks


def clock_text(clock):
    return json.dumps(clock, separators=(",", ":"))


def enc(clock):
    """A clock (list or dict form) encoded for `at=`."""
    return urllib.parse.quote(clock_text(clock), safe="")


def at_q(clock):
    return {"at": enc(clock)}


def merge(*clocks):
    """Per-stream maximum, ascending by stream (SPEC §2)."""
    best = {}
    for c in clocks:
        for s, n in c:
            best[s] = max(best.get(s, 0), n)
    return [[s, best[s]] for s in sorted(best)]


def is_clock(c):
    if not isinstance(c, list):
        return False
    prev = 0
    for p in c:
        if not (isinstance(p, list) and len(p) == 2 and all(type(x) is int and x > 0 for x in p)):
            return False
        if p[0] <= prev:
            return False
        prev = p[0]
    return True


def covers(big, small):
    """True when clock `big` is at or past every pair of `small`."""
    d = dict((s, n) for s, n in big)
    return all(d.get(s, 0) >= n for s, n in small)


# --------------------------------------------------------------------------
# Processor control


@contextlib.contextmanager
def processor_paused():
    """SIGSTOPs the processor for the block; SIGCONTs it on exit, always."""
    pid = processor_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


# --------------------------------------------------------------------------
# Misc


def gravatar(email):
    return "https://www.gravatar.com/avatar/" + hashlib.md5(email.strip().lower().encode()).hexdigest()


def short(cid, name, gender, email):
    return {"id": cid, "name": name, "gender": gender, "pic": gravatar(email)}


def unique(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session", autouse=True)
def _processor_running():
    """A processor left stopped by an interrupted earlier run would hang every test."""
    try:
        os.kill(processor_pid(), signal.SIGCONT)
    except (OSError, ValueError):
        pass
    yield
    try:
        os.kill(processor_pid(), signal.SIGCONT)
    except (OSError, ValueError):
        pass


def sql(query):
    r = subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(var_dir(), "run", "mysql.sock"),
                        "-uroot", "-N", "-B", "runorg", "-e", query], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    # Binary columns (the idempotency table's ids) come back as bytes: replaced, not fatal.
    return [line.split("\t") for line in r.stdout.decode(errors="replace").splitlines()]


def revoke(token):
    """runorgctl token revoke where it is built; else the row goes, as it would."""
    build = os.environ.get("RUNORG_BUILD") or os.path.join(repo_root(), "build")
    ctl = os.path.join(build, "runorgctl")
    done = False
    if os.path.exists(ctl):
        run = os.path.join(var_dir(), "run")
        env = dict(os.environ, RUNORG_DB_SOCKET=os.path.join(run, "mysql.sock"), RUNORG_DB_USER="root",
                   RUNORG_DB_NAME="runorg", RUNORG_SQL_DIR=os.path.join(repo_root(), "sql"))
        r = subprocess.run([ctl, "-c", os.path.join(repo_root(), "conf", "runorg.conf"), "token", "revoke", token],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        done = r.returncode == 0
    if not done:  # by hand, as runorgctl does it: the row goes and the token epoch moves
        sql("DELETE FROM tokens WHERE hash = SHA2('%s', 256); UPDATE token_epoch SET n = n + 1" % token)
        time.sleep(0.2)  # past revoke_lag_ms
    assert sql("SELECT COUNT(*) FROM tokens WHERE hash = SHA2('%s', 256)" % token) == [["0"]]


@pytest.fixture(scope="session")
def admin():
    """A server-administrator token from POST /test/auth."""
    r = post("/test/auth", {})
    assert r.status == 200, r
    assert TOKEN_RE.match(r.body["token"]), r
    return r.body["token"]


def create_db(admin_token, label=None, wait=True):
    """POST /db/create; returns (id, at). wait=True waits for it with at=."""
    r = post("/db/create", {"label": label or unique("db")}, token=admin_token)
    assert r.status == 202, r
    dbid, at = r.body["id"], r.body["at"]
    assert ID_RE.match(dbid), r
    assert is_clock(at) and at, r
    if wait:
        w = get("/db/all", token=admin_token, query={"at": enc(at), "limit": "0"})
        assert w.status == 200, w
    return dbid, at


@pytest.fixture
def db(admin):
    """A fresh database, already created (waited for with at=)."""
    return create_db(admin)[0]


def import_contacts(db, admin_token, items, wait=True):
    """POST /db/{db}/contacts/import; returns (created, at)."""
    r = post("/db/%s/contacts/import" % db, items, token=admin_token)
    assert r.status == 202, r
    created, at = r.body["created"], r.body["at"]
    assert len(created) == len(items), r
    assert is_clock(at), r
    if wait and at:
        w = get("/db/%s/sync" % db, token=admin_token, query={"at": enc(at)})
        assert w.status == 200, w
    return created, at


def stream_of(at):
    assert len(at) == 1, at
    return at[0][0]


def pytest_collection_modifyitems(session, config, items):
    """The crash test kills the processor: run it last."""
    items.sort(key=lambda it: 1 if "crash" in it.nodeid else 0)
