"""bench.py — the figures of `make bench`, each next to a baseline of the same run.

B0 GET /version (no database), W one-contact imports accepted, R contact reads,
R chat items read by a participant through a group, S sync overshoot, A
processor apply rates, P clock polling cost, memory, and 500 concurrent
waiters. With RUNORG_BENCH_ONLY=reads (run.sh, on a stack started with
RUNORG_CACHE_KIB=0), only B0 and the two reads, as rows of the same table.
See tests/bench/README.md for how to read them."""

import http.client
import json
import os
import resource
import sys
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse

URL = os.environ["RUNORG_URL"]
VAR = os.environ["RUNORG_VAR"]
ROOT = os.environ["RUNORG_ROOT"]
HOST, PORT = urllib.parse.urlparse(URL).hostname, urllib.parse.urlparse(URL).port
SECONDS = int(os.environ.get("RUNORG_BENCH_SECONDS", "5"))
rows = []

sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from many import request_bytes, send_many  # noqa: E402 - many connections from one thread
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from runorg_testing import Sql, call_json, enc  # noqa: E402 - shared with tests/bench/replica.py


def call(method, path, body=None, token=None, timeout=30):
    return call_json(URL, method, path, body, token, timeout)


def pid(name):
    with open(os.path.join(VAR, "run", name + ".pid")) as f:
        return int(f.read().strip())


def workers():
    out = subprocess.run(["pgrep", "-P", str(pid("fcgi"))], stdout=subprocess.PIPE).stdout.decode()
    return [int(p) for p in out.split()]


def status():
    return call("GET", "/status")[1]


def lag():
    return sum(s["lag"] for s in status()["streams"])


def wait_drained(limit=120):
    deadline = time.monotonic() + limit
    while lag() > 0 and time.monotonic() < deadline:
        time.sleep(0.005)


class Paused:
    """The processor stopped (SIGSTOP) for the block."""

    def __enter__(self):
        os.kill(pid("processor"), signal.SIGSTOP)

    def __exit__(self, *exc):
        os.kill(pid("processor"), signal.SIGCONT)


def cpu_ticks():
    """CPU time (clock ticks) used so far by each part of the stack."""
    parts = {"lighttpd": [pid("lighttpd")], "workers": [pid("fcgi")] + workers(), "MariaDB": [pid("mariadb")],
             "processor": [pid("processor")]}
    out = {}
    for name, pids in parts.items():
        out[name] = 0
        for p in pids:
            try:
                with open("/proc/%d/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[name] += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
    return out


def cpu_per_request(before, after, requests):
    """Microseconds of CPU per request, for each part: where a figure's time goes."""
    hz = os.sysconf("SC_CLK_TCK")
    if not requests:
        return "n/a"
    return " / ".join("%s %.0f" % (k, (after[k] - before[k]) * 1e6 / hz / requests) for k in after)


def wrk(path, script=None, conns=32, seconds=SECONDS, timeout=None):
    args = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds] + (["--timeout", timeout] if timeout else [])
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [URL + path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)s", out)
    if not m or not total:
        return None, out
    ok = int(total.group(1)) - (int(bad.group(1)) if bad else 0)
    return ok / float(total.group(2)), out


def lua(name, text):
    path = os.path.join(ROOT, "var", "bench", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def post_script(token, db, keyed=False):
    """W's requests: one new contact each; keyed: each with an Idempotency-Key of its own (W_K)."""
    return lua("post-keyed.lua" if keyed else "post.lua", """
wrk.method = "POST"
wrk.headers["Authorization"] = "RUNORG token=%s"
wrk.headers["Content-Type"] = "application/json"
local n = 0
-- each thread gets its own prefix (a global of its Lua state), so no two
-- requests of any run import the same e-mail
local serial = 0
setup = function(thread)
  serial = serial + 1
  thread:set("me", tostring(serial) .. "-" .. tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9)))
end
request = function()
  n = n + 1
  local headers = nil -- wrk.headers; a table of its own replaces them, so it copies them
  if %s then
    headers = { ["Idempotency-Key"] = "k-" .. me .. "-" .. n }
    for k, v in pairs(wrk.headers) do headers[k] = v end
  end
  return wrk.format(nil, "/db/%s/contacts/import", headers, '[{"email":"w' .. me .. '-' .. n .. '@example.com"}]')
end
""" % (token, "true" if keyed else "false", db))


def add(name, value, unit, baseline="", ratio="", target=""):
    rows.append((name, value, unit, baseline, ratio, target))


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return ("{:,.%df}" % digits).format(x)


def setup():
    token = call("POST", "/test/auth", {})[1]["token"]
    st, r = call("POST", "/db/create", {"label": "bench"}, token)
    call("GET", "/db/all?limit=0&at=" + enc(r["at"]), token=token)
    db = r["id"]
    st, r = call("POST", "/db/%s/contacts/import" % db,
                 [{"email": "vnicollet@runorg.com", "fullname": "Victor Nicollet", "gender": "M"}], token)
    call("GET", "/db/%s/sync?at=%s" % (db, enc(r["at"])), token=token)
    return token, db, r["created"][0]


def chat_setup(token, db, cid):
    """A chat whose only participant is the group crew, ten messages in it, and the token of
    Victor, a member of crew: his access to the chat comes through the group (SPEC §5)."""
    st, r = call("POST", "/db/%s/test/auth" % db, {"email": "vnicollet@runorg.com", "admin": False})
    member = r["token"]
    call("POST", "/db/%s/groups" % db, {"id": "crew", "label": "Crew"}, token)
    call("GET", "/db/%s/sync" % db, token=token)
    call("POST", "/db/%s/groups/crew/add" % db, [cid], token)
    st, r = call("POST", "/db/%s/chat/create" % db, {"subject": "Bench", "groups": ["crew"]}, token)
    chat = r["id"]
    call("GET", "/db/%s/sync" % db, token=token)
    for i in range(10):
        call("POST", "/db/%s/chat/%s" % (db, chat), {"body": "message %d" % i}, member)
    call("GET", "/db/%s/sync" % db, token=token)
    st, r = call("GET", "/db/%s/chat/%s/items" % (db, chat), token=member)
    assert st == 200 and r["count"] == 10 and "write" in call("GET", "/db/%s/chat/%s" % (db, chat), token=member)[1][
        "info"]["access"], (st, r)
    return member, chat


def throughput(token, db, cid, member, chat, writes=True, label=""):
    # Reads before writes: after a run of writes MariaDB keeps working for a
    # while (purging old row versions, flushing pages), which would be counted
    # against the reads.
    cpu = {}

    def measured(name, path, script=None):
        before = cpu_ticks()
        rate, _ = wrk(path, script)
        if name in ("W", "W_K"):
            wait_drained()  # the processor's work on the writes counts too
        cpu[name] = cpu_per_request(before, cpu_ticks(), rate * SECONDS if rate else 0)
        return rate

    # B0 before and after R (the same machine can differ by 10% from one
    # 5-second run to the next): the mean is the baseline of R and W.
    b0a = measured("B0", "/version")
    r = measured("R", "/db/%s/contacts/%s" % (db, cid),
                 lua("get.lua", 'wrk.headers["Authorization"] = "RUNORG token=%s"\n' % token))
    rc = measured("R chat", "/db/%s/chat/%s/items" % (db, chat),
                  lua("member.lua", 'wrk.headers["Authorization"] = "RUNORG token=%s"\n' % member))
    b0b = wrk("/version")[0]
    b0 = (b0a + b0b) / 2 if b0a and b0b else b0a or b0b
    add("B0 GET /version" + label, fmt(b0), "req/s", "mean of %s and %s" % (fmt(b0a), fmt(b0b)), "", "baseline")
    w = None
    if writes:
        # W before and after W_K (each with an Idempotency-Key): the mean is W_K's baseline.
        wa = measured("W", "/", post_script(token, db))
        wk = measured("W_K", "/", post_script(token, db, keyed=True))
        wb = wrk("/", post_script(token, db))[0]
        wait_drained()
        w = (wa + wb) / 2 if wa and wb else wa or wb
        add("W POST /contacts/import (1 contact)", fmt(w), "202/s", fmt(b0), fmt(w / b0, 2) if w and b0 else "n/a",
            "W/B0 >= 0.5")
        add("W_K the same, each with an Idempotency-Key", fmt(wk), "202/s", "W: mean of %s and %s" % (fmt(wa), fmt(wb)),
            fmt(wk / w, 2) if wk and w else "n/a", "W_K/W >= 0.9")
    add("R GET /contacts/{cid}" + label, fmt(r), "200/s", fmt(b0), fmt(r / b0, 2) if r and b0 else "n/a",
        "R/B0 >= 0.7" if writes else "")
    add("R GET /chat/{id}/items, a participant through a group" + label, fmt(rc), "200/s", fmt(b0),
        fmt(rc / b0, 2) if rc and b0 else "n/a", "within 10% of R/B0")
    for name in ("B0", "R", "R chat", "W", "W_K") if writes else ("R", "R chat"):
        add("CPU per request, %s%s" % (name, label), cpu[name], "us", "", "", "where the time goes")
    return w


class HintEar:
    """A listener of the processor's hints (sql/030-listeners.sql), as a front is:
    when each position's hint arrived, that is just after its commit returned."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.heard, self.stopped = {}, threading.Event()
        self.sql = Sql(VAR)
        self.beat()
        threading.Thread(target=self.listen, daemon=True).start()
        time.sleep(1.2)  # a processor reads the listeners once a second

    def beat(self):
        self.sql.run("REPLACE INTO listeners (addr, heartbeat) VALUES ('%s', UTC_TIMESTAMP(6))" % self.addr)
        self.last_beat = time.monotonic()

    def listen(self):
        while not self.stopped.is_set():
            data = self.sock.recv(2048)
            t = time.time_ns() // 1000
            for pair in data.decode(errors="replace").split()[2:]:
                s, _, p = pair.partition(":")
                if s.isdigit() and p.isdigit():
                    self.heard.setdefault((int(s), int(p)), t)

    def at(self, stream, pos):
        if time.monotonic() - self.last_beat > 0.5:
            self.beat()
        return self.heard.get((stream, pos))

    def close(self):
        self.stopped.set()
        self.sql.run("DELETE FROM listeners WHERE addr = '%s'" % self.addr)
        self.sql.close()
        self.sock.close()


def overshoots(token, db, cid, n=300, write=None, read=None, waited_only=True, ear=None):
    """Write, then at once a GET waiting on its clock; overshoot = time the client
    has the 200 minus the commit time of that position (done_us of the clock row,
    written by the transaction that applied it). write and read: (host, port) of
    the fronts the two requests go through (default: the stack's). With
    waited_only, a GET sent after the position was applied is not counted (it did
    not wait). With ear (a HintEar), also the part after the commit: from the
    hint of the position to the 200. Returns (sorted overshoots in ms, GETs not
    counted, sorted parts after the commit in ms)."""
    sql = Sql(VAR)
    got, skipped, after = [], 0, []
    conn_w = http.client.HTTPConnection(*(write or (HOST, PORT)), timeout=30)
    conn_r = http.client.HTTPConnection(*(read or (HOST, PORT)), timeout=30)
    h = {"Authorization": "RUNORG token=" + token, "Content-Type": "application/json"}
    for i in range(n):
        conn_w.request("POST", "/db/%s/contacts/import" % db, json.dumps([{"email": "s%d-%d@example.com" % (i, time.time_ns())}]), h)
        r = conn_w.getresponse()
        at = json.loads(r.read())["at"]
        sent = time.time_ns() // 1000
        conn_r.request("GET", "/db/%s/contacts/%s?at=%s" % (db, cid, enc(at)), headers=h)
        resp = conn_r.getresponse()
        resp.read()
        recv = time.time_ns() // 1000
        done, done_us = (int(x) for x in sql.row("SELECT done, done_us FROM clocks WHERE stream = %d" % at[0][0]))
        if done != at[0][1] or resp.status != 200 or (waited_only and done_us < sent):
            skipped += 1  # applied before the GET was sent (it did not wait), or something else moved
            continue
        got.append((recv - done_us) / 1000.0)
        heard = ear.at(at[0][0], at[0][1]) if ear else None
        if heard:
            after.append((recv - heard) / 1000.0)
    sql.close()
    return sorted(got), skipped, sorted(after)


def pct(got, q):
    return got[min(len(got) - 1, int(q * len(got)))]


def overshoot(token, db, cid):
    ear = HintEar()
    before = status()["processor"]
    try:
        got, skipped, after = overshoots(token, db, cid, ear=ear)
    finally:
        ear.close()
    now = status()["processor"]
    polls = now.get("watcher_polls_all", 0) - before.get("watcher_polls_all", 0)
    hints = now["hints_heard"] - before["hints_heard"]
    if hints > 0:
        add("P during S: clock polls per hint a worker heard", fmt(polls / hints, 2), "",
            "%d polls by every worker, %d hints heard" % (polls, hints), "", "<= 1 per hint received")
    if not got:
        add("S sync overshoot", "n/a", "", "", "", "p50 <= 1 ms, p99 <= 5 ms")
        return None
    add("S sync overshoot p50 / p99 / max", "%.2f / %.2f / %.2f" % (pct(got, 0.5), pct(got, 0.99), got[-1]), "ms",
        "%d waits (%d did not wait)" % (len(got), skipped), "", "p50 <= 1 ms, p99 <= 5 ms")
    if after:
        add("S after the commit: the position's hint heard -> the 200, p50 / p99",
            "%.2f / %.2f" % (pct(after, 0.5), pct(after, 0.99)), "ms",
            "%d of the waits; the rest of S is the commit's own flush" % len(after), "", "p50 <= 0.3, p99 <= 1.5 ms")
    return got


def inline_overshoot(token, db, cid, processor):
    """The same overshoot with no processor running, on shared hosting: Apache +
    mod_fcgid starting runorg-fcgi from a .htaccess (tests/bench/shared.sh), which
    applies the commands itself (apply_inline = auto). Two ways: a command queued
    through the stack's daemon front (which leaves commands to processors), read
    through Apache: the GET applies it, then answers; and both requests through
    Apache: the write applies its own command before answering, and the GET finds
    it applied. Beside the processor's figure (S, above), as p50 and p99 ratios."""
    d = os.path.join(VAR, "shared")
    name = "S sync overshoot, inline apply under mod_fcgid (no processor)"
    proc = pid("processor")
    os.kill(proc, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists("/proc/%d" % proc):
        time.sleep(0.05)
    time.sleep(1.5)  # its heartbeat older than the front's lease_timeout_ms (1 s)
    try:
        r = subprocess.run(["bash", os.path.join(ROOT, "tests", "bench", "shared.sh"), "start", d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            add(name, "n/a", "", r.stderr.decode(errors="replace").strip()[-200:], "", "")
            return
        u = urllib.parse.urlparse(r.stdout.decode().strip())
        apache = (u.hostname, u.port)
        overshoots(token, db, cid, n=30, write=apache, read=apache, waited_only=False)  # warm the process up
        base = "processor p50 %.2f / p99 %.2f" % (pct(processor, 0.5), pct(processor, 0.99)) if processor else ""
        for how, write in (("the GET applies a command queued elsewhere", None),
                           ("the write applies its own, the GET finds it applied", apache)):
            got, skipped, _ = overshoots(token, db, cid, write=write, read=apache, waited_only=False)
            if not got:
                add("%s: %s" % (name, how), "n/a", "", base, "", "")
                continue
            ratio = ("%.2f / %.2f" % (pct(got, 0.5) / pct(processor, 0.5), pct(got, 0.99) / pct(processor, 0.99))
                     if processor else "")
            add("%s: %s, p50 / p99 / max" % (name, how),
                "%.2f / %.2f / %.2f" % (pct(got, 0.5), pct(got, 0.99), got[-1]), "ms",
                "%s (%d GETs, %d not counted)" % (base, len(got), skipped), ratio, "")
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "tests", "bench", "shared.sh"), "stop", d])
        subprocess.run(["bash", os.path.join(ROOT, "conf", "stack.sh"), "start"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def apply_rates(token, db):
    with Paused():
        wrk("/", post_script(token, db), seconds=3)
        queued = lag()
        t = time.monotonic()
    wait_drained()
    small = queued / (time.monotonic() - t)
    add("A apply, small commands (%d queued)" % queued, fmt(small), "commands/s", "", "", ">= 20,000/s")
    body = [None] * 10
    for k in range(10):
        body[k] = [{"email": "bulk%d-%d-%d@example.com" % (k, i, time.time_ns()), "fullname": "Bulk %d %d" % (k, i)}
                   for i in range(10000)]
    with Paused():
        for k in range(10):
            st, r = call("POST", "/db/%s/contacts/import" % db, body[k], token, timeout=120)
            assert st == 202, (st, r)
        t = time.monotonic()
    wait_drained()
    bulk = 100000 / (time.monotonic() - t)
    add("A apply, bulk import 100k contacts in 10 requests", fmt(bulk), "contacts/s", "", "", ">= 50,000/s")


def com_select():
    out = subprocess.run(["mariadb", "--no-defaults", "-S", os.path.join(VAR, "run", "mysql.sock"), "-uroot", "-B", "-N",
                          "-e", "SHOW GLOBAL STATUS LIKE 'Com_select'"], stdout=subprocess.PIPE).stdout.decode()
    return int(out.split()[1])


def waiters(token, db, n=500, resume_after=None):
    """n GETs waiting on a clock not yet reached; returns (statuses, queries/s per worker while waiting)."""
    results = []
    lock = threading.Lock()
    with Paused():
        st, r = call("POST", "/db/%s/contacts/import" % db, [{"email": "p%d@example.com" % time.time_ns()}], token)
        at = r["at"]

        def one():
            try:
                s, _ = call("GET", "/db/%s/contacts?limit=0&at=%s" % (db, enc(at)), token=token, timeout=60)
            except Exception as e:  # noqa: BLE001 - counted as a wrong answer
                s = repr(e)
            with lock:
                results.append(s)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # all registered
        q0, t0 = com_select(), time.monotonic()
        time.sleep(1.0)
        qps = (com_select() - q0 - 1) / (time.monotonic() - t0) / max(1, len(workers()))
        if resume_after is not None:
            time.sleep(max(0, resume_after - 2.0))
        else:
            for t in threads:  # paused all along: every one meets its deadline
                t.join()
    for t in threads:
        t.join()
    return results, qps


def hinted_waiters(token, db, n=500):
    """Issue 19: n requests wait while the processor is alive (hints and keepalives
    flow) but cannot commit: a transaction of this client holds the stream's clock
    row. Clock queries per worker then, with nothing written."""
    sql = Sql(VAR)
    st, r = call("POST", "/db/%s/contacts/import" % db, [{"email": "h%d@example.com" % time.time_ns()}], token)
    call("GET", "/db/%s/sync?at=%s" % (db, enc(r["at"])), token=token)
    stream = r["at"][0][0]
    sql.run("SET SESSION innodb_lock_wait_timeout = 30")
    sql.run("START TRANSACTION")
    sql.row("SELECT done FROM clocks WHERE stream = %d FOR UPDATE" % stream)
    st, r = call("POST", "/db/%s/contacts/import" % db, [{"email": "h%d@example.com" % time.time_ns()}], token)
    at = enc(r["at"])
    # What the rest of the stack asks meanwhile (the processor's dispatcher, heartbeats), without waiters.
    q0, t0 = com_select(), time.monotonic()
    time.sleep(2.0)
    idle = (com_select() - q0 - 1) / (time.monotonic() - t0)
    reqs = [request_bytes("GET", "/db/%s/contacts" % db, token=token, query={"at": at, "limit": "0"})
            for _ in range(n)]
    res = {}
    t = threading.Thread(target=lambda: res.update(a=send_many(URL, reqs, timeout=60)))
    t.start()
    time.sleep(1.0)  # all parked
    q0, t0 = com_select(), time.monotonic()
    time.sleep(2.0)
    qps = max(0.0, (com_select() - q0 - 1) / (time.monotonic() - t0) - idle) / max(1, len(workers()))
    sql.run("ROLLBACK")  # the processor commits now; the hint wakes the waiters
    t.join()
    sql.close()
    ok = sum(1 for a in res["a"] if a.status == 200)
    add("P with hints: clock queries while %d wait, nothing written" % n, fmt(qps, 1), "queries/s per worker",
        "%d / %d then answered 200; the rest of the stack %.0f/s" % (ok, n, idle), "", "<= 50/s")


def polling_and_waiters(token, db):
    res, qps = waiters(token, db, resume_after=2.5)
    ok = sum(1 for s in res if s == 200)
    poll_max_us = int(os.environ.get("RUNORG_POLL_MAX_US", "500"))  # conf/runorg.conf default
    add("P clock queries while 500 wait (processor paused)", fmt(qps, 1), "queries/s per worker",
        "1 poll per tick = %s/s" % fmt(1e6 / poll_max_us), "", "<= 1 query per tick")
    add("500 waiters, clock reached after 2.5 s", "%d / %d" % (ok, len(res)), "answered 200", "", "", "all 200")
    res, _ = waiters(token, db)
    late = sum(1 for s in res if s == 503)
    add("500 waiters, clock not reached", "%d / %d" % (late, len(res)), "answered 503", "", "", "all 503 at deadline")


def sample_reads(token, db, cid, until, out, failed):
    """Plain reads (no at=) one after another until `until`; their latencies (ms)
    into out, the number that got no 200 (or no answer) into failed[0]."""
    h = {"Authorization": "RUNORG token=" + token}
    c = None
    while time.monotonic() < until:
        t = time.monotonic()
        try:
            c = c or http.client.HTTPConnection(HOST, PORT, timeout=30)
            c.request("GET", "/db/%s/contacts/%s" % (db, cid), headers=h)
            r = c.getresponse()
            r.read()
            ok = r.status == 200
        except (OSError, http.client.HTTPException):
            c, ok = None, False
        if ok:
            out.append((time.monotonic() - t) * 1000)
        else:
            failed[0] += 1


def hwm(p):
    with open("/proc/%d/status" % p) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0


def crowd(token, db, cid):
    """Issue 12: thousands of parked waiters, plain reads beside them, tokenless waiters."""
    # lighttpd holds two descriptors per waiting request (client, FastCGI).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    n = min(10000, hard // 2 - 300)
    tokens = [call("POST", "/test/auth", {})[1]["token"] for _ in range(20)]
    timeout_s = int(os.environ.get("RUNORG_SYNC_TIMEOUT_MS", "5000")) / 1000.0

    def round_(resume_after):
        res, lat, failed = {}, [], [0]
        os.kill(pid("processor"), signal.SIGSTOP)
        st, r = call("POST", "/db/%s/contacts/import" % db, [{"email": "c%d@example.com" % time.time_ns()}], token)
        at = enc(r["at"])
        reqs = [request_bytes("GET", "/db/%s/contacts" % db, token=tokens[i % len(tokens)],
                              query={"at": at, "limit": "0"}) for i in range(n)]
        t = threading.Thread(target=lambda: res.update(a=send_many(URL, reqs, timeout=120)))
        t.start()
        # The processor resumes on a timer of its own: a read below may sit in
        # lighttpd's queue while every descriptor is taken, and must not hold
        # the resume back (that would make the waits, not the server, late).
        timer = threading.Timer(resume_after, lambda: os.kill(pid("processor"), signal.SIGCONT))
        timer.start()
        sample_reads(token, db, cid, time.monotonic() + resume_after, lat, failed)
        timer.join()
        t.join()
        counts = {}
        for a in res["a"]:
            kind = a.status
            if a.status == 503:  # whose 503: the wait's deadline, admission, or the web server
                kind = "503 waited" if b"not yet available" in a.body else "503 admission" if b"waiting" in a.body \
                    else "503 web server"
            counts[kind] = counts.get(kind, 0) + 1
        return counts, sorted(lat), failed[0]

    counts, lat, failed = round_(3.0)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None
    add("%d waiters, clock reached after 3 s" % n, "%d / %d" % (counts.get(200, 0), n), "answered 200",
        "%s" % counts if set(counts) != {200} else "", "", "10,000 held, all 200")
    add("Plain GET /contacts/{cid} during those waits, p50 / p99", "%s / %s" % (
        fmt(lat[len(lat) // 2], 2) if lat else "n/a", fmt(p99, 2)), "ms", "%d reads, %d failed" % (len(lat), failed), "",
        "p99 <= 50 ms")
    add("Peak RSS per worker after them (max of %d)" % len(workers()), fmt(max(hwm(p) for p in workers()), 1), "MiB",
        "", "", "<= 64 MiB")
    # Resumed well after the deadline: a request that lighttpd held back while
    # every descriptor was taken starts its wait late, and must still find
    # the clock unreached when its own deadline comes.
    counts, _, _ = round_(2 * timeout_s + 1.0)
    add("%d waiters, clock not reached" % n, "%d / %d" % (counts.get("503 waited", 0), n),
        "answered 503 at the deadline", "%s" % counts if set(counts) != {"503 waited"} else "", "",
        "all 503 at the deadline")
    with Paused():
        st, r = call("POST", "/db/%s/contacts/import" % db, [{"email": "t%d@example.com" % time.time_ns()}], token)
        reqs = [request_bytes("GET", "/db/%s/contacts" % db, query={"at": enc(r["at"])}) for _ in range(2000)]
        answers = send_many(URL, reqs, timeout=60)
    c401 = sum(1 for a in answers if a.status == 401)
    c5xx = sum(1 for a in answers if a.status >= 500 or a.status == 0)
    add("2,000 tokenless waiters", "%d x 401, %d x 5xx" % (c401, c5xx), "", "slowest %.0f ms" % (
        1000 * max(a.elapsed for a in answers)), "", "2,000 x 401, 0 x 5xx")


def largest_request(token):
    """Issue 12: the largest request a contact may send (a chat naming the most
    participants allowed), then another database's import on the same stream:
    how long until that import is visible through its at=."""
    st, r = call("POST", "/db/create", {"label": "big"}, token)
    big = r["id"]
    call("GET", "/db/all?limit=0&at=" + enc(r["at"]), token=token)
    st, r = call("POST", "/db/%s/contacts/import" % big,
                 [{"email": "p%d-%d@example.com" % (i, time.time_ns())} for i in range(1000)], token)
    call("GET", "/db/%s/sync?at=%s" % (big, enc(r["at"])), token=token)
    members, stream = r["created"], r["at"][0][0]
    # Another database on the same stream (creation spreads databases over the streams).
    other = None
    for _ in range(64):
        st, r = call("POST", "/db/create", {"label": "neighbour"}, token)
        call("GET", "/db/all?limit=0&at=" + enc(r["at"]), token=token)
        st, w = call("POST", "/db/%s/contacts/import" % r["id"], [{"email": "n%d@example.com" % time.time_ns()}], token)
        call("GET", "/db/%s/sync?at=%s" % (r["id"], enc(w["at"])), token=token)
        if w["at"][0][0] == stream:
            other = r["id"]
            break
    st, c = call("POST", "/db/%s/test/auth" % big, {"email": "member%d@example.com" % time.time_ns(), "admin": False})
    contact = c["token"]
    call("GET", "/db/%s/sync?at=%s" % (big, enc(c["at"])), token=contact)
    body = {"subject": "everyone", "contacts": members[:1000], "groups": ["g%d" % i for i in range(100)]}
    if other is None:
        add("Largest contact request, then another database's import on its stream", "n/a", "", "", "", "<= 100 ms")
        return
    with Paused():
        st, big_r = call("POST", "/db/%s/chat/create" % big, body, contact)
        assert st == 202, (st, big_r)
        st, w = call("POST", "/db/%s/contacts/import" % other, [{"email": "o%d@example.com" % time.time_ns()}], token)
        t = time.monotonic()
    st, _ = call("GET", "/db/%s/contacts/%s?at=%s" % (other, w["created"][0], enc(w["at"])), token=token)
    visible = (time.monotonic() - t) * 1000
    add("Largest contact request (chat of 1,000 contacts + 100 groups), then another database's import on "
        "its stream: visible after", fmt(visible, 1), "ms", "status %d" % st, "", "<= 100 ms")


def soak_script(token, db, cid):
    """Three writes, then an at= read, in turn in each wrk thread, unpaced: the
    writes come about as fast as W, the front's own ceiling, and the reads wait
    on the clock of the newest 202 their thread has seen. done() prints the
    counts of all threads."""
    return lua("soak.lua", """
local auth = "RUNORG token=%s"
local n, turn, at = 0, 0, nil
writes, w202, reads, r200, r503, other = 0, 0, 0, 0, 0, 0
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
  thread:set("me", tostring(#threads) .. "-" .. tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9)))
end
request = function()
  turn = turn + 1
  if turn %% 4 == 0 and at then
    reads = reads + 1
    return wrk.format("GET", "/db/%s/contacts/%s?at=" .. at, {["Authorization"] = auth})
  end
  n = n + 1
  writes = writes + 1
  return wrk.format("POST", "/db/%s/contacts/import",
                    {["Authorization"] = auth, ["Content-Type"] = "application/json"},
                    '[{"email":"soak' .. me .. '-' .. n .. '@example.com"}]')
end
response = function(status, headers, body)
  if status == 202 then
    w202 = w202 + 1
    local s, p = body:match('"at":%%[%%[(%%d+),(%%d+)%%]%%]')
    if s then at = "%%5B%%5B" .. s .. "%%2C" .. p .. "%%5D%%5D" end
  elseif status == 200 then
    r200 = r200 + 1
  elseif status == 503 and body:find("not yet available", 1, true) then
    r503 = r503 + 1
  else
    other = other + 1
  end
end
done = function(summary, latency, requests)
  local t = {writes = 0, w202 = 0, reads = 0, r200 = 0, r503 = 0, other = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  io.write(string.format("SOAK writes=%%d w202=%%d reads=%%d r200=%%d r503=%%d other=%%d\\n",
                         t.writes, t.w202, t.reads, t.r200, t.r503, t.other))
end
""" % (token, db, cid, db))


def soak(token, db, cid, w_rate):
    """Mixed load (writes at about the W rate, and at= reads) for a minute (12 x
    RUNORG_BENCH_SECONDS, at most 60 s), with both cores busy: the processor
    must keep up, so that no at= read times out and the lag drains within a
    second of the end."""
    seconds = min(60, 12 * SECONDS)
    if not w_rate:
        add("Soak", "n/a", "", "W not measured", "", "")
        return
    # An at= read may wait sync_timeout_ms (5 s): longer than wrk's own 2 s timeout.
    rate, out = wrk("/", soak_script(token, db, cid), seconds=seconds, timeout="15s")
    m = re.search(r"SOAK writes=(\d+) w202=(\d+) reads=(\d+) r200=(\d+) r503=(\d+) other=(\d+)", out)
    t_end = time.monotonic()
    final = lag()
    wait_drained()
    drained = time.monotonic() - t_end
    if not m:
        add("Soak (%d s at the W rate)" % seconds, "n/a", "", out[-200:].replace("\n", " "), "", "")
        return
    writes, w202, reads, r200, r503, other = (int(x) for x in m.groups())
    share = 100.0 * r503 / reads if reads else 0.0
    add("Soak %d s, 3 writes to 1 at= read: writes accepted" % seconds, fmt(w202 / seconds), "202/s",
        "W %s" % fmt(w_rate), fmt(w202 / seconds / w_rate, 2), "")
    add("Soak: lag when the load stopped, then drained in", "%d / %.2f" % (final, drained), "commands / s",
        "", "", "drains within 1 s")
    add("Soak: at= reads answered 503", "%d of %d (%.2f%%)" % (r503, reads, share), "",
        "other answers: %d" % other, "", "0")


def memory():
    ws = [hwm(p) for p in workers()]
    add("Memory: peak RSS per worker (max of %d)" % len(ws), fmt(max(ws), 1), "MiB", "", "", "<= 32 MiB")
    add("Memory: peak RSS of the processor", fmt(hwm(pid("processor")), 1), "MiB", "", "", "<= 64 MiB")


def table(rows_only):
    if not rows_only:
        print("# make bench — %s, %d cores\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count()))
        print("| Figure | Value | Unit | Baseline (same run) | Ratio | Target |")
        print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


def main():
    try:
        run()
    finally:
        table(rows_only=os.environ.get("RUNORG_BENCH_ONLY") == "reads")  # what was measured, even after a failure


def run():
    token, db, cid = setup()
    member, chat = chat_setup(token, db, cid)
    if os.environ.get("RUNORG_BENCH_ONLY") == "reads":
        # The same reads on a stack started with RUNORG_CACHE_KIB=0: the path through MariaDB.
        throughput(token, db, cid, member, chat, writes=False, label=" (cache off)")
        return
    if os.environ.get("RUNORG_BENCH_ONLY") == "crowd":  # the crowd rows only, by hand
        crowd(token, db, cid)
        return
    if os.environ.get("RUNORG_BENCH_ONLY") == "inline":  # the S rows only, by hand
        inline_overshoot(token, db, cid, overshoot(token, db, cid))
        return
    w = throughput(token, db, cid, member, chat)
    s = overshoot(token, db, cid)
    apply_rates(token, db)
    polling_and_waiters(token, db)
    hinted_waiters(token, db)
    soak(token, db, cid, w)
    memory()
    largest_request(token)
    crowd(token, db, cid)
    inline_overshoot(token, db, cid, s)


if __name__ == "__main__":
    main()
