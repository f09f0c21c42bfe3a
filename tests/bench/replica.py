"""replica.py — the figures of `make bench-replica` (tests/bench/replica.sh):
the same reads through front A (reading the primary) and front B (reading a
MariaDB replica) in one run, and the sync overshoot across hosts (a write
through A, a read waiting on its clock through B). See tests/bench/README.md.

RUNORG_A_URL, RUNORG_B_URL: the fronts; RUNORG_VAR: the primary's var dir;
RUNORG_BENCH_LABEL: a word for the rows ("cached", "through MariaDB");
RUNORG_BENCH_ONLY=reads: the reads alone."""

import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

A = os.environ["RUNORG_A_URL"]
B = os.environ["RUNORG_B_URL"]
VAR = os.environ["RUNORG_VAR"]
ROOT = os.environ["RUNORG_ROOT"]
SECONDS = int(os.environ.get("RUNORG_BENCH_SECONDS", "5"))
LABEL = os.environ.get("RUNORG_BENCH_LABEL", "")
STATE = os.path.join(VAR, "bench-replica.json")  # token, database, contact: kept between runs

sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from runorg_testing import Sql, call_json as call, enc  # noqa: E402 - shared with tests/bench/bench.py


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def setup():
    if os.path.exists(STATE):
        with open(STATE) as f:
            return json.load(f)
    token = call(A, "POST", "/test/auth", {})[1]["token"]
    st, r = call(A, "POST", "/db/create", {"label": "bench"}, token)
    db = r["id"]
    call(B, "GET", "/db/all?limit=0&at=" + enc(r["at"]), token=token)
    st, r = call(A, "POST", "/db/%s/contacts/import" % db,
                 [{"email": "vnicollet@runorg.com", "fullname": "Victor Nicollet", "gender": "M"}], token)
    call(B, "GET", "/db/%s/sync?at=%s" % (db, enc(r["at"])), token=token)
    state = {"token": token, "db": db, "cid": r["created"][0]}
    with open(STATE, "w") as f:
        json.dump(state, f)
    return state


def wrk(url, path, script):
    out = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % SECONDS, "-s", script, url + path],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    m = re.search(r"(\d+) requests in ([\d.]+)s", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not m:
        return None
    return (int(m.group(1)) - (int(bad.group(1)) if bad else 0)) / float(m.group(2))


def pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def cpu_ticks():
    """CPU time (clock ticks) so far of the primary's and the replica's mariadbd."""
    out = {}
    for name, p in (("primary", pid(os.path.join(VAR, "run", "mariadb.pid"))),
                    ("replica", pid(os.path.join(VAR, "run", "replica.pid")))):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = int(fields[11]) + int(fields[12])
        except (OSError, TypeError):
            out[name] = 0
    return out


def lag_total():
    st = call(A, "GET", "/status")[1]
    return sum(x["lag"] for x in st["streams"])


def writes(s):
    """W through A (the primary keeps a binary log, a replica follows it): 202/s,
    and what each MariaDB spent per write until the processor has applied them
    all and the replica has them too."""
    script = os.path.join(ROOT, "var", "bench", "post-replica.lua")
    with open(script, "w") as f:
        f.write("""
wrk.method = "POST"
wrk.headers["Authorization"] = "RUNORG token=%s"
wrk.headers["Content-Type"] = "application/json"
local n = 0
setup = function(thread) thread:set("me", tostring(math.random(1, 1e9)) .. "-" .. tostring(os.time())) end
request = function()
  n = n + 1
  return wrk.format(nil, "/db/%s/contacts/import", nil, '[{"email":"rw' .. me .. '-' .. n .. '@example.com"}]')
end
""" % (s["token"], s["db"]))
    before = cpu_ticks()
    w = wrk(A, "/", script)
    deadline = time.monotonic() + 120
    while lag_total() > 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    st, r = call(A, "GET", "/db/%s/sync" % s["db"], token=s["token"])
    call(B, "GET", "/db/%s/contacts/%s?at=%s" % (s["db"], s["cid"], enc(r["at"])), token=s["token"])
    after = cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    per = " / ".join("%s %.0f" % (k, (after[k] - before[k]) * 1e6 / hz / (w * SECONDS)) for k in after) if w else "n/a"
    print("| W POST /contacts/import (1 contact) through A, binary log on, a replica following | %s | 202/s | | | "
          "compare make bench's W |" % ("{:,.0f}".format(w) if w else "n/a"))
    print("| CPU per write, MariaDB (queue and apply on the primary; apply on the replica) | %s | us | | | "
          "where the time goes |" % per)


def reads(s):
    """R through A and through B, alternated twice (A B B A): the same run, the same machine."""
    script = os.path.join(ROOT, "var", "bench", "get-replica.lua")
    with open(script, "w") as f:
        f.write('wrk.headers["Authorization"] = "RUNORG token=%s"\n' % s["token"])
    path = "/db/%s/contacts/%s" % (s["db"], s["cid"])
    ra, rb = [], []
    for url in (A, B, B, A):
        r = wrk(url, path, script)
        (ra if url == A else rb).append(r)
    ok = all(x for x in ra + rb)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    a, b = (mean(ra), mean(rb)) if ok else (None, None)
    fmt = lambda x: "{:,.0f}".format(x) if x else "n/a"  # noqa: E731
    print("| R GET /contacts/{cid} through A (primary)%s | %s | 200/s | runs %s | | baseline |"
          % (LABEL, fmt(a), " / ".join(fmt(x) for x in ra)))
    print("| R GET /contacts/{cid} through B (replica)%s | %s | 200/s | runs %s | %s | R(B)/R(A) >= 0.9 |"
          % (LABEL, fmt(b), " / ".join(fmt(x) for x in rb), "%.2f" % (b / a) if ok else "n/a"))


def overshoot(s, read_url, name, n=300):
    """A write through A, at once a GET through read_url waiting on its clock;
    overshoot = when the client has the 200 minus when the processor committed
    that position on the primary (clocks.done_us): through B it includes the
    replication of that commit to the replica."""
    sql = Sql(VAR)  # the primary
    got, skipped = [], 0
    cw, cr = conn(A), conn(read_url)
    h = {"Authorization": "RUNORG token=" + s["token"], "Content-Type": "application/json"}
    for i in range(n):
        cw.request("POST", "/db/%s/contacts/import" % s["db"],
                   json.dumps([{"email": "r%d-%d@example.com" % (i, time.time_ns())}]), h)
        r = cw.getresponse()
        at = json.loads(r.read())["at"]
        sent = time.time_ns() // 1000
        cr.request("GET", "/db/%s/contacts/%s?at=%s" % (s["db"], s["cid"], enc(at)), headers=h)
        resp = cr.getresponse()
        resp.read()
        recv = time.time_ns() // 1000
        done, done_us = (int(x) for x in sql.row("SELECT done, done_us FROM clocks WHERE stream = %d" % at[0][0]))
        if done != at[0][1] or done_us < sent or resp.status != 200:
            skipped += 1  # applied before the GET was sent (it did not wait), or something else moved
            continue
        got.append((recv - done_us) / 1000.0)
    sql.close()
    if not got:
        print("| %s | n/a | | | | p50 <= 2 ms, p99 <= 10 ms |" % name)
        return
    got.sort()
    p = lambda q: got[min(len(got) - 1, int(q * len(got)))]  # noqa: E731
    print("| %s p50 / p99 / max | %.2f / %.2f / %.2f | ms | %d waits (%d did not wait) | | %s |"
          % (name, p(0.5), p(0.99), got[-1], len(got), skipped,
             "p50 <= 2 ms, p99 <= 10 ms" if read_url == B else "same host, for comparison"))


def main():
    s = setup()
    reads(s)
    if os.environ.get("RUNORG_BENCH_ONLY") == "reads":
        return
    overshoot(s, A, "S sync overshoot, write and read through A")
    overshoot(s, B, "S sync overshoot across hosts, write through A, read through B")
    writes(s)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
