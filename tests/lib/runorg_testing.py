"""runorg_testing.py — the helpers every Python suite shares: tests/api,
tests/faults, tests/replica (their conftest.py) and tests/bench. Each puts
tests/lib on sys.path and imports from here. Python standard library only
(the benches run without pytest)."""

import http.client
import json
import os
import socket
import subprocess
import time
import urllib.parse


def wait_until(pred, seconds, step=0.05):
    """Polls pred every step seconds until it is true (True) or seconds pass
    (then pred's last answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (just now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exchange(url, method, path, data=None, headers=None, timeout=15):
    """Sends one request to the server of url and returns (status, headers,
    text, seconds taken). path is sent as is (no normalization); data (bytes)
    is the body, with a Content-Length, which a POST or PUT always has. The
    server may answer (e.g. 413) before reading all of data: that answer is
    returned."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if data is not None or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(data or b"")))
        conn.endheaders()
        if data:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer before reading everything
        r = conn.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        return r.status, r.headers, text, time.monotonic() - t0
    finally:
        conn.close()


def call_json(url, method, path, body=None, token=None, timeout=30):
    """The benches' request: body sent as JSON; returns (status, the parsed
    JSON answer or None when it is empty)."""
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "RUNORG token=" + token
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, (json.loads(text) if text else None)


def enc(clock):
    """A clock encoded for `at=`."""
    return urllib.parse.quote(json.dumps(clock, separators=(",", ":")))


class Sql:
    """One mariadb client kept open on the MariaDB of the stack whose var dir is
    var, for the benches' reads of clock rows: one line a query."""

    def __init__(self, var):
        self.p = subprocess.Popen(["mariadb", "--no-defaults", "-S", os.path.join(var, "run", "mysql.sock"), "-uroot",
                                   "-n", "-B", "-N", "runorg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def row(self, q):
        self.run(q)
        return self.p.stdout.readline().decode().split()

    def run(self, q):
        """A statement that returns no rows."""
        self.p.stdin.write((q + ";\n").encode())
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        self.p.wait()
