"""The web server's edges (SPEC §8): its own error answers are JSON too.

lighttpd answers some requests itself, before or instead of runorg-fcgi: a
malformed request line, headers or chunked body, a body over its
server.max-request-size, an unknown method, a FastCGI socket that is down.
Every such answer is 4xx/5xx with Content-Type application/json and a JSON
object with "error" and "path" (lighttpd's come from conf/errors/<status>.json,
"path" is ""). The requests go over a raw socket: http.client would refuse to
send most of them. Each one is bounded by TIMEOUT.

The conf/ files are checked too: nginx and Apache give the same messages as
conf/errors, and every backend timeout stays above sync_timeout_ms (a request
may wait that long on at=).
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from conftest import base_url, free_port, get, repo_root, var_dir, web_server_error

TIMEOUT = 5  # seconds, for any one answer
LIGHTTPD_MAX_REQUEST = 16384 * 1024  # conf/lighttpd.conf server.max-request-size (KB)


def raw_http(data, url=None, timeout=TIMEOUT):
    """Sends the bytes as they are; returns (status, headers, body) of the first
    answer: headers maps lower-case names to lists of values."""
    u = urllib.parse.urlsplit(url or base_url())
    deadline = time.monotonic() + timeout
    buf = b""
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", buf[:end], re.I)
                if m and len(buf) >= end + 4 + int(m.group(1)):
                    break
            assert time.monotonic() < deadline, "no complete answer within %ss: %r" % (timeout, buf[:300])
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
    head, sep, body = buf.partition(b"\r\n\r\n")
    assert sep, "no answer: %r" % buf[:300]
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    m = re.search(r"^\d+$", (headers.get("content-length") or [""])[0])
    if m:
        body = body[:int(m.group(0))]
    return status, headers, body


def request(first_line, headers=(), body=b""):
    """One request, Connection: close, as bytes."""
    lines = [first_line, "Host: 127.0.0.1", "Connection: close"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def assert_json_error(answer, status):
    """status, a single Content-Type application/json, a JSON object with error and path."""
    st, headers, body = answer
    assert st == status, answer
    assert headers.get("content-type") == ["application/json"], answer
    d = json.loads(body.decode("utf-8"))
    assert isinstance(d, dict), answer
    assert isinstance(d.get("error"), str) and d["error"], answer
    assert isinstance(d.get("path"), str), answer
    return d


def alive(url=None):
    st, _, body = raw_http(request("GET /version HTTP/1.1"), url)
    assert st == 200, body


# ------------------------------------------------------------- lighttpd's own refusals


def test_nul_in_the_path_is_a_json_400():
    answer = raw_http(request("GET /version%00 HTTP/1.1"))
    assert_json_error(answer, 400)
    alive()


def test_unknown_method_is_a_json_501():
    answer = raw_http(request("FOO /version HTTP/1.1"))
    assert_json_error(answer, 501)
    answer = raw_http(request("get /version HTTP/1.1"))  # methods are case-sensitive
    assert_json_error(answer, 501)
    alive()


def test_10_kb_of_headers_is_a_json_431():
    headers = ["X-Filler-%02d: %s" % (i, "x" * 1000) for i in range(10)]  # 10 KB and more
    answer = raw_http(request("GET /version HTTP/1.1", headers))
    assert_json_error(answer, 431)
    answer = raw_http(request("GET /version HTTP/1.1", ["X-One: " + "y" * 10240]))
    assert_json_error(answer, 431)
    alive()


def test_content_length_over_the_web_server_limit_is_a_json_413():
    # Refused on the header alone: no body is sent, none is awaited.
    for length in (LIGHTTPD_MAX_REQUEST + 1, 10 ** 15):
        answer = raw_http(request("POST /db/create HTTP/1.1", ["Content-Type: application/json",
                                                                  "Content-Length: %d" % length]))
        assert_json_error(answer, 413)
    alive()


@pytest.mark.parametrize("body", [
    b"zz\r\n[]\r\n0\r\n\r\n",          # not a hexadecimal size
    b"2\r\n[]xx0\r\n\r\n",             # no CRLF after the chunk
    b"-2\r\n[]\r\n0\r\n\r\n",          # negative size
    b"ffffffffffffffffff\r\n[]\r\n",   # size overflows
])
def test_broken_chunked_encoding_is_a_json_400(body):
    answer = raw_http(request("POST /db/create HTTP/1.1", ["Content-Type: application/json",
                                                             "Transfer-Encoding: chunked"], body))
    assert_json_error(answer, 400)
    alive()


def test_the_refusals_are_the_bodies_of_conf_errors():
    # lighttpd's answers are the files as they are: a client can tell them from
    # RunOrg's by "path", which RunOrg never leaves empty.
    for data, status in ((request("GET /version%00 HTTP/1.1"), 400), (request("FOO /version HTTP/1.1"), 501)):
        st, _, body = raw_http(data)
        assert st == status and web_server_error(st, body), (st, body)
        assert json.loads(body)["path"] == ""


def test_runorg_errors_pass_unchanged():
    # server.errorfile-prefix applies to lighttpd's own answers only.
    r = get("/no/such/route")
    assert r.status == 404, r
    assert r.body == {"error": "No such resource", "path": "/no/such/route"}, r
    st, headers, body = raw_http(request("DELETE /version HTTP/1.1"))
    assert st == 405 and headers["content-type"] == ["application/json"], (st, body)
    assert json.loads(body)["path"] == "/version"


# ------------------------------------------------------------- the FastCGI socket down


class Backend:
    """A unix socket that misbehaves as a FastCGI backend: "refuse" (bound, not
    listening), "close" (accepts, closes at once), "mute" (accepts, never answers)."""

    def __init__(self, path, mode):
        self.path, self.mode, self.conns = path, mode, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        if mode != "refuse":
            self.sock.listen(16)
            self.sock.settimeout(0.2)
            self.stop = threading.Event()
            self.t = threading.Thread(target=self._serve, daemon=True)
            self.t.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            if self.mode == "close":
                c.close()
            else:
                self.conns.append(c)

    def close(self):
        if self.mode != "refuse":
            self.stop.set()
            self.t.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def lighttpd_on(socket_path, tmp, read_timeout=None):
    """A second lighttpd with the stack's own configuration ($RUNORG_VAR/run/lighttpd.conf,
    conf/lighttpd.conf filled in by stack.sh) but its own port, log and FastCGI socket."""
    binary = shutil.which("lighttpd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert binary, "lighttpd is not installed"
    with open(os.path.join(var_dir(), "run", "lighttpd.conf")) as f:
        conf = f.read()
    port = free_port()
    conf, n1 = re.subn(r"(?m)^server\.port\s*=.*$", "server.port = %d" % port, conf)
    conf, n2 = re.subn(r"(?m)^server\.errorlog\s*=.*$", 'server.errorlog = "%s/lighttpd.log"' % tmp, conf)
    conf, n3 = re.subn(r'"socket"(\s*)=>\s*"[^"]*"', r'"socket"\1=> "%s"' % socket_path, conf)
    assert n1 == n2 == n3 == 1, "the stack's lighttpd.conf changed shape"
    if read_timeout is not None:
        conf, n = re.subn(r'"read-timeout"(\s*)=>\s*\d+', r'"read-timeout"\g<1>=> %d' % read_timeout, conf)
        assert n == 1
    path = os.path.join(tmp, "lighttpd.conf")
    with open(path, "w") as f:
        f.write(conf)
    proc = subprocess.Popen([binary, "-D", "-f", path], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail("the second lighttpd did not start: %s" % open(os.path.join(tmp, "lighttpd.log")).read())
            time.sleep(0.05)


@pytest.mark.parametrize("mode,statuses,read_timeout", [
    ("missing", (503,), None),
    ("refuse", (503,), None),
    ("close", (500, 502), None),
    ("mute", (504,), 1),  # read-timeout 1 s instead of 30, to see the 504 in time
])
def test_backend_down_is_a_json_5xx(mode, statuses, read_timeout):
    tmp = tempfile.mkdtemp(prefix="edges.", dir="/tmp")  # short: unix socket paths < 108 bytes
    sock = os.path.join(tmp, "fcgi.sock")
    backend = None if mode == "missing" else Backend(sock, mode)
    proc, url = lighttpd_on(sock, tmp, read_timeout)
    try:
        st, headers, body = raw_http(request("GET /version HTTP/1.1"), url, timeout=2 * TIMEOUT)
        assert st in statuses, (st, body)
        assert_json_error((st, headers, body), st)
        assert web_server_error(st, body), body
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if backend:
            backend.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------- the conf/ files


def conf(name):
    with open(os.path.join(repo_root(), "conf", name)) as f:
        return f.read()


def error_bodies():
    """{status: message} of conf/errors."""
    out = {}
    for path in glob.glob(os.path.join(repo_root(), "conf", "errors", "*.json")):
        with open(path, "rb") as f:
            data = f.read()
        d = json.loads(data.decode("utf-8"))
        assert list(d) == ["error", "path"] and d["error"] and d["path"] == "", (path, d)
        out[int(os.path.basename(path)[:-5])] = d["error"]
    return out


def test_conf_errors_cover_what_spec_names():
    codes = set(error_bodies())
    assert {400, 413, 431, 500, 501, 502, 503, 504} <= codes, codes


def test_nginx_answers_the_same_errors_in_json():
    bodies = error_bodies()
    text = conf("nginx.conf")
    pages = set()
    for line in re.findall(r"(?m)^\s*error_page\s+([^;]+);", text):
        words = line.split()
        pages |= {int(w) for w in words if w.isdigit()}
        pages |= {int(w[1:]) for w in words if re.match(r"^=\d+$", w)}
    assert set(bodies) <= pages, set(bodies) - pages
    for code, message in bodies.items():
        assert re.search(r'(?m)^\s*%d "%s";' % (code, re.escape(message)), text), (code, message)
    assert "default_type application/json;" in text
    assert "fastcgi_intercept_errors on" not in text  # RunOrg's own answers pass unchanged


@pytest.mark.parametrize("name", ["apache-proxy-fcgi.conf", "apache-htaccess.conf",
                                  "apache-fcgid.htaccess", "apache-cgi.htaccess"])
def test_apache_answers_the_same_errors_in_json(name):
    bodies = error_bodies()
    text = conf(name)
    docs = dict((int(c), m) for c, m in re.findall(
        r'(?m)^\s*ErrorDocument (\d+) "\{\\"error\\":\\"([^\\"]*)\\",\\"path\\":\\"%\{escape:%\{REQUEST_URI\}\}\\"\}"$',
        text))
    assert docs == bodies
    assert re.search(r'(?m)^\s*Header always set Content-Type "application/json" "expr=%\{REQUEST_STATUS\} -ge 400"$',
                     text)
    assert "ProxyErrorOverride On" not in text


def seconds(value):
    m = re.match(r"^(\d+)(s?)$", value)
    assert m, value
    return int(m.group(1))


def test_backend_timeouts_stay_above_sync_timeout():
    # A request waiting on at= is answered only after up to sync_timeout_ms, and
    # RunOrg reads its body after the wait: no timeout on the way may be shorter.
    sync = int(re.search(r"(?m)^sync_timeout_ms\s*=\s*(\d+)", conf("runorg.conf")).group(1)) / 1000.0
    found = []
    for name in ("lighttpd.conf", "lighttpd-spawn.conf"):
        text = conf(name)
        for key in ('"read-timeout"', '"write-timeout"'):
            found += [(name, key, int(v)) for v in re.findall(r'%s\s*=>\s*(\d+)' % key, text)]
        for key in ("server.max-read-idle", "server.max-write-idle"):
            found += [(name, key, int(v)) for v in re.findall(r"(?m)^%s\s*=\s*(\d+)" % re.escape(key), text)]
        # Thousands of requests may wait on at= at once: filled in from the
        # system's limit by stack.sh (and 32000 by make install).
        assert re.search(r"(?m)^server\.max-connections\s*=\s*@MAX_CONNS@", text), name
    text = conf("nginx.conf")
    for key in ("fastcgi_read_timeout", "fastcgi_send_timeout"):
        found += [("nginx.conf", key, seconds(v)) for v in re.findall(r"(?m)^\s*%s\s+(\w+);" % key, text)]
    text = conf("apache-proxy-fcgi.conf")
    found += [("apache-proxy-fcgi.conf", "ProxyPass timeout", int(v)) for v in re.findall(r"ProxyPass .* timeout=(\d+)", text)]
    for name in ("apache-proxy-fcgi.conf", "apache-htaccess.conf"):
        found += [(name, "RequestReadTimeout body", int(v))
                  for v in re.findall(r"(?m)^\s*RequestReadTimeout .*body=(\d+)", conf(name))]
    found += [("apache-htaccess.conf", "FcgidIOTimeout", int(v))
              for v in re.findall(r"(?m)^\s*FcgidIOTimeout (\d+)", conf("apache-htaccess.conf"))]
    assert len(found) == 14, found  # every one of them is there
    assert all(v > sync for _, _, v in found), found


def test_nginx_limits_connections_per_address():
    text = conf("nginx.conf")
    assert re.search(r"(?m)^limit_conn_zone \$binary_remote_addr zone=(\w+):", text)
    n = int(re.search(r"(?m)^\s*limit_conn \w+ (\d+);", text).group(1))
    assert 100 <= n <= 8192, n
    for key in ("client_header_timeout", "client_body_timeout"):
        assert re.search(r"(?m)^\s*%s \d+s;" % key, text), key
