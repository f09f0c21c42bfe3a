"""Scenario 6: MariaDB hangs (SIGSTOP) for 10 s under load: writes, 200 clients
reading with at= (the clock of a recent write, reached or not), and an
operator's GET /version and GET /status. Every request has a deadline that
nothing can outlive (README, "Failures and retries"): a request waiting on
at= answers within sync_timeout_ms + 1 s, any other within request_timeout_ms,
/status within 2 s, /version at once (it needs no database). The answers past
a deadline are 503 with Retry-After; nothing hangs, nothing crashes. Once
MariaDB runs again, everything works again, and every 202 is applied once."""

import json
import os
import signal
import threading
import time
import urllib.parse

from conftest import (
    check_invariants, children, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, Client, Load,
)

SYNC = 2.0  # RUNORG_SYNC_TIMEOUT_MS of the fault stacks
REQUEST = 4.0
STACK_ENV = {"RUNORG_REQUEST_TIMEOUT_MS": str(int(REQUEST * 1000))}
MARGIN = 1.0  # ROUTER_WAIT_MARGIN_MS
BRIEF = 2.0  # ROUTER_BRIEF_MS: GET /status
# What the clients, lighttpd and a busy machine add to an answer on top of
# RunOrg's own deadline (the measure is the client's, from send to answer).
SLACK = 0.75
HANG = 10.0
READERS = 200
MESSAGES = (
    "The database did not answer in time. Try again later.",
    "Data is not yet available for the 'at' you specified. Try again later.",
    "The database is unavailable. Try again later.",
)


def test_hung_database(stack):
    dbs = setup_dbs(stack, 2)
    master, processor = stack.pid("fcgi"), stack.pid("processor")
    workers = children(master)
    writes = Load(stack.url, stack.token, mixed_op(dbs, "hg"), 10 ** 6, threads=4, pace=0.02).start()

    # The readers wait on the clock of the newest 202 of their database.
    newest = dict((d["id"], [[d["stream"], 1]]) for d in dbs)

    def follow():
        seen = 0
        while writes.running():
            with writes.lock:
                fresh = writes.results[seen:]
            seen += len(fresh)
            for r in fresh:
                if r.status == 202:
                    newest[r.db] = r.body["at"]
            time.sleep(0.05)

    threading.Thread(target=follow, daemon=True).start()

    def read_op(i):
        d = dbs[i % len(dbs)]
        at = urllib.parse.quote(json.dumps(newest[d["id"]], separators=(",", ":")))
        return ("read", d["id"], None, "GET", "/db/%s/contacts/%s?at=%s" % (d["id"], d["author"], at), None)

    reads = Load(stack.url, stack.token, read_op, 10 ** 7, threads=READERS, pace=0.25).start()

    # The operator's view, twice a second.
    probes = []
    stop_probes = threading.Event()

    def probe():
        c = Client(stack.url)
        while not stop_probes.is_set():
            for path in ("/version", "/status"):
                t0 = time.monotonic()
                try:
                    st = c.request("GET", path).status
                except Exception as e:  # noqa: BLE001 - no answer: recorded
                    st = repr(e)
                probes.append((path, t0, time.monotonic(), st))
            time.sleep(0.5)
        c.close()

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    time.sleep(2.5)

    mpid = stack.pid("mariadb")
    os.kill(mpid, signal.SIGSTOP)
    t_stop = time.monotonic()
    try:
        time.sleep(HANG)
    finally:
        os.kill(mpid, signal.SIGCONT)
    t_cont = time.monotonic()
    time.sleep(4.0)
    stop_probes.set()
    results = writes.stop() + reads.stop()
    prober.join(10)

    # Nobody crashed or was restarted.
    assert stack.pid("fcgi") == master and pid_alive(master)
    assert children(master) == workers, ("workers were replaced", workers, children(master))
    assert stack.pid("processor") == processor and pid_alive(processor)

    rres = [r for r in results if r.kind == "read"]
    wres = [r for r in results if r.kind != "read"]
    assert [r for r in results if r.status is None] == [], ("every request gets an answer",
                                                           [r for r in results if r.status is None][:5])
    assert set(r.status for r in rres) <= {200, 503}, statuses(rres)
    assert set(r.status for r in wres) <= {202, 503}, statuses(wres)
    for r in [r for r in results if r.status == 503]:
        assert r.headers["Retry-After"] == "1" and r.body["error"] in MESSAGES, r
    # Every at= read within its deadline, every write within its own.
    late = [r for r in rres if r.t1 - r.t0 > SYNC + MARGIN + SLACK]
    assert late == [], ("at= reads past sync_timeout_ms + 1 s", len(late), max(r.t1 - r.t0 for r in late))
    late = [r for r in wres if r.t1 - r.t0 > REQUEST + SLACK]
    assert late == [], ("writes past request_timeout_ms", len(late), max(r.t1 - r.t0 for r in late))
    # While it hung: the readers did get their 503s (they were not all answered before).
    during = [r for r in rres if t_stop + 0.5 <= r.t0 and r.t1 <= t_cont]
    assert len(during) >= READERS and all(r.status == 503 for r in during), statuses(during)
    # The operator's view never waited on the hung database.
    hung = [p for p in probes if t_stop + 0.5 <= p[1] and p[2] <= t_cont]
    versions = [p for p in hung if p[0] == "/version"]
    assert versions and all(p[3] == 200 and p[2] - p[1] < 0.5 + SLACK for p in versions), versions
    sts = [p for p in hung if p[0] == "/status"]
    assert sts and all(p[3] in (200, 503) and p[2] - p[1] < BRIEF + SLACK for p in sts), sts

    # After: everything works again.
    back = [r for r in results if r.t0 >= t_cont + 2.0]
    assert back and all(r.status in (200, 202) for r in back), statuses(back)
    first_ok = min(r.t1 for r in rres if r.t0 >= t_cont and r.status == 200)
    first_202 = min(r.t1 for r in wres if r.t0 >= t_cont and r.status == 202)
    f = check_invariants(stack, wres)
    slowest = max(r.t1 - r.t0 for r in rres)
    report("6 MariaDB hung (SIGSTOP %.0fs), %d at= readers: %d at= reads (%s), slowest %.2fs (deadline %.1fs); "
           "writes sent %d, 202 %d, applied %d, duplicates %d, lost %d, 503 %d, slowest %.2fs (deadline %.1fs); "
           "GET /version max %.3fs, GET /status max %.2fs while hung; after SIGCONT: first 200 at= %.2fs, "
           "first 202 %.2fs"
           % (HANG, READERS, len(rres), ", ".join("%s: %d" % kv for kv in sorted(statuses(rres).items())),
              slowest, SYNC + MARGIN, f["sent"], f["accepted"], f["applied"], f["duplicates"], f["lost"],
              statuses(wres).get(503, 0), max(r.t1 - r.t0 for r in wres), REQUEST,
              max(p[2] - p[1] for p in versions), max(p[2] - p[1] for p in sts), first_ok - t_cont,
              first_202 - t_cont))
    report_row(6, "MariaDB hung %.0fs, %d at= readers + writers" % (HANG, READERS), f["accepted"], f["applied"],
               f["lost"], f["duplicates"], statuses(results),
               "slowest at= answer %.2fs (deadline %.1fs); SIGCONT -> first 200 %.2fs, first 202 %.2fs"
               % (slowest, SYNC + MARGIN, first_ok - t_cont, first_202 - t_cont))
