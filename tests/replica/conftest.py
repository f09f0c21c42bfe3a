"""Shared machinery of make test-replica (tests/replica/run.sh).

run.sh starts tests/replica/stack.sh: the primary (MariaDB with a binary log,
runorg-processor, front A) and a replica (a second mariadbd following the
primary by GTID) with front B reading from it. It exports:

  RUNORG_A_URL, RUNORG_B_URL   the two fronts
  RUNORG_VAR                   the primary's var dir (run/replica.pid, run/replica.sock)
  RUNORG_ROOT                  the repository

Both fronts run with RUNORG_TEST_MODE=1, RUNORG_SYNC_TIMEOUT_MS=1500 and
RUNORG_DB_READ_STALE_MS=300. Python standard library only.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

SYNC_TIMEOUT = int(os.environ.get("RUNORG_SYNC_TIMEOUT_MS", "1500")) / 1000.0
STALE_MS = int(os.environ.get("RUNORG_DB_READ_STALE_MS", "300"))
NOT_YET = "Data is not yet available for the 'at' you specified. Try again later."
ROOT = os.environ.get("RUNORG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from runorg_testing import exchange, wait_until  # noqa: E402,F401 - shared with the other suites


def env(name):
    v = os.environ.get(name)
    if not v:
        pytest.fail("%s is not set (run these tests through tests/replica/run.sh)" % name)
    return v


A = lambda: env("RUNORG_A_URL")  # noqa: E731
B = lambda: env("RUNORG_B_URL")  # noqa: E731


class Resp:
    def __init__(self, status, headers, text, elapsed):
        self.status, self.headers, self.text, self.elapsed = status, headers, text, elapsed
        try:
            self.body = json.loads(text)
        except ValueError:
            self.body = text

    def __repr__(self):
        return "<%d %.3fs %s>" % (self.status, self.elapsed, self.text[:300])


def call(url, method, path, body=None, token=None, at=None, timeout=20):
    """One request to the front at url; at (a clock) is sent as ?at=."""
    if at is not None:
        path += ("&" if "?" in path else "?") + "at=" + urllib.parse.quote(json.dumps(at, separators=(",", ":")))
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "RUNORG token=%s" % token
    return Resp(*exchange(url, method, path, data, hdrs, timeout))


class Background:
    """call(...) in a thread: .result() joins."""

    def __init__(self, *args, **kw):
        self.res, self.exc, self.t1 = None, None, None
        self.t = threading.Thread(target=self._run, args=args, kwargs=kw, daemon=True)
        self.t.start()

    def _run(self, *args, **kw):
        try:
            self.res = call(*args, **kw)
        except BaseException as e:  # reported by result()
            self.exc = e
        self.t1 = time.monotonic()

    def result(self, timeout=30):
        self.t.join(timeout)
        assert not self.t.is_alive(), "background request did not finish"
        if self.exc:
            raise self.exc
        return self.res


# --------------------------------------------------------------------------
# The two servers


def var(*parts):
    return os.path.join(env("RUNORG_VAR"), *parts)


def _mariadb(sock, query):
    r = subprocess.run(["mariadb", "--no-defaults", "--socket=" + sock, "-uroot", "-N", "-B", "runorg", "-e", query],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, (query, r.stderr.decode(errors="replace"))
    return [line.split("\t") for line in r.stdout.decode().splitlines()]


def psql(query):
    """Rows of a query as root on the primary."""
    return _mariadb(var("run", "mysql.sock"), query)


def rsql(query):
    """Rows of a query as root on the replica."""
    return _mariadb(var("run", "replica.sock"), query)


def replica_pid():
    with open(var("run", "replica.pid")) as f:
        return int(f.read().strip())


def stop_sql_thread():
    rsql("STOP SLAVE SQL_THREAD")


def start_sql_thread():
    rsql("START SLAVE SQL_THREAD")


def start_replica():
    r = subprocess.run(["bash", os.path.join(ROOT, "tests", "replica", "stack.sh"), "replica"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 0, r.stdout.decode(errors="replace")


def caught_up():
    """The replica has applied everything the primary has logged."""
    gtid = psql("SELECT @@gtid_binlog_pos")[0][0]
    return rsql("SELECT MASTER_GTID_WAIT('%s', 30)" % gtid) == [["0"]]


@pytest.fixture(autouse=True)
def replicating():
    """Every test starts and ends with the replica up, replicating, caught up."""
    yield
    try:
        alive = replica_pid() and os.kill(replica_pid(), 0) is None
    except (OSError, ValueError):
        alive = False
    if not alive:
        start_replica()
    rsql("START SLAVE")
    assert caught_up()


# --------------------------------------------------------------------------
# RunOrg


@pytest.fixture(scope="session")
def admin():
    r = call(A(), "POST", "/test/auth", {})
    assert r.status == 200, r
    return r.body["token"]


def new_db(admin):
    """A database created on A, and known to B's replica: (id, at)."""
    r = call(A(), "POST", "/db/create", {"label": "replica test"}, token=admin)
    assert r.status == 202, r
    w = call(B(), "GET", "/db/all?limit=0", token=admin, at=r.body["at"])
    assert w.status == 200, w
    return r.body["id"], r.body["at"]


def import_on(url, admin, db, email):
    r = call(url, "POST", "/db/%s/contacts/import" % db, [{"email": email}], token=admin)
    assert r.status == 202, r
    return r.body["created"][0], r.body["at"]


def contact_token(admin, db, email, url=None):
    """A token of the contact with this e-mail (made on A unless url), as a site's login would."""
    r = call(url or A(), "POST", "/db/%s/test/auth" % db, {"email": email}, token=admin)
    assert r.status == 202, r
    return r.body["token"], r.body["at"]


def status(url):
    r = call(url, "GET", "/status")
    assert r.status == 200, r
    return r.body
