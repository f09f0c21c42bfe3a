"""bench.py — the figures of `make bench`, each next to a baseline of the same run.

B0 GET /version (no database), W one-contact imports accepted, R contact reads,
S sync overshoot, A processor apply rates, P clock polling cost, memory, and
500 concurrent waiters. See tests/bench/README.md for how to read them."""

import http.client
import json
import os
import re
import signal
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


def call(method, path, body=None, token=None, timeout=30):
    c = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "RUNORG token=" + token
    c.request(method, path, body=None if body is None else json.dumps(body), headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, (json.loads(text) if text else None)


def enc(clock):
    return urllib.parse.quote(json.dumps(clock, separators=(",", ":")))


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


def post_script(token, db):
    return lua("post.lua", """
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
  return wrk.format(nil, "/db/%s/contacts/import", nil, '[{"email":"w' .. me .. '-' .. n .. '@example.com"}]')
end
""" % (token, db))


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


def throughput(token, db, cid):
    # Reads before writes: after a run of writes MariaDB keeps working for a
    # while (purging old row versions, flushing pages), which would be counted
    # against the reads.
    cpu = {}

    def measured(name, path, script=None):
        before = cpu_ticks()
        rate, _ = wrk(path, script)
        if name == "W":
            wait_drained()  # the processor's work on the writes counts too
        cpu[name] = cpu_per_request(before, cpu_ticks(), rate * SECONDS if rate else 0)
        return rate

    # B0 before and after R (the same machine can differ by 10% from one
    # 5-second run to the next): the mean is the baseline of R and W.
    b0a = measured("B0", "/version")
    r = measured("R", "/db/%s/contacts/%s" % (db, cid),
                 lua("get.lua", 'wrk.headers["Authorization"] = "RUNORG token=%s"\n' % token))
    b0b = wrk("/version")[0]
    b0 = (b0a + b0b) / 2 if b0a and b0b else b0a or b0b
    w = measured("W", "/", post_script(token, db))
    add("B0 GET /version", fmt(b0), "req/s", "mean of %s and %s" % (fmt(b0a), fmt(b0b)), "", "baseline")
    add("W POST /contacts/import (1 contact)", fmt(w), "202/s", fmt(b0), fmt(w / b0, 2) if w and b0 else "n/a", "W/B0 >= 0.5")
    add("R GET /contacts/{cid}", fmt(r), "200/s", fmt(b0), fmt(r / b0, 2) if r and b0 else "n/a", "R/B0 >= 0.7")
    for name in ("B0", "R", "W"):
        add("CPU per request, %s" % name, cpu[name], "us", "", "", "where the time goes")
    return w


class Sql:
    """One mariadb client kept open on the stack's socket, for reading clock rows."""

    def __init__(self):
        self.p = subprocess.Popen(["mariadb", "--no-defaults", "-S", os.path.join(VAR, "run", "mysql.sock"), "-uroot",
                                   "-n", "-B", "-N", "runorg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def row(self, q):
        self.p.stdin.write((q + ";\n").encode())
        self.p.stdin.flush()
        return self.p.stdout.readline().decode().split()

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def overshoot(token, db, cid, n=300):
    """Write, then at once a GET waiting on its clock; overshoot = time the client
    has the 200 minus the processor's commit time of that position (clock row)."""
    sql = Sql()
    got, skipped = [], 0
    conn_w = http.client.HTTPConnection(HOST, PORT, timeout=30)
    conn_r = http.client.HTTPConnection(HOST, PORT, timeout=30)
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
        if done != at[0][1] or done_us < sent or resp.status != 200:
            skipped += 1  # applied before the GET was sent (it did not wait), or something else moved
            continue
        got.append((recv - done_us) / 1000.0)
    sql.close()
    if not got:
        add("S sync overshoot", "n/a", "", "", "", "p50 <= 1 ms, p99 <= 5 ms")
        return
    got.sort()
    p = lambda q: got[min(len(got) - 1, int(q * len(got)))]
    add("S sync overshoot p50 / p99 / max", "%.2f / %.2f / %.2f" % (p(0.5), p(0.99), got[-1]), "ms",
        "%d waits (%d did not wait)" % (len(got), skipped), "", "p50 <= 1 ms, p99 <= 5 ms")


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
    def hwm(p):
        with open("/proc/%d/status" % p) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    ws = [hwm(p) for p in workers()]
    add("Memory: peak RSS per worker (max of %d)" % len(ws), fmt(max(ws), 1), "MiB", "", "", "<= 32 MiB")
    add("Memory: peak RSS of the processor", fmt(hwm(pid("processor")), 1), "MiB", "", "", "<= 64 MiB")


def main():
    token, db, cid = setup()
    w = throughput(token, db, cid)
    overshoot(token, db, cid)
    apply_rates(token, db)
    polling_and_waiters(token, db)
    soak(token, db, cid, w)
    memory()
    print("# make bench — %s, %d cores\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.cpu_count()))
    print("| Figure | Value | Unit | Baseline (same run) | Ratio | Target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


if __name__ == "__main__":
    main()
