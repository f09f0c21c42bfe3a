"""Scenario 4: restart MariaDB under load (writes and reads). While it is down,
every request gets a clear 503 with Retry-After and a JSON error, at once:
never a hang, never a crash (the master, the workers and the processor are the
same processes afterwards). Once it is back, the workers and the processor
reconnect by themselves: writes get 202 again and are applied. A write
answered 503 may or may not have been queued (its commit was cut off):
counted, and checked like every other command of the log."""

import os
import signal
import subprocess
import threading
import time

from conftest import (
    check_invariants, children, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, wait_until, Load,
)

DOWN = 3.0  # seconds MariaDB stays down
HANG = 8.0  # no answer may take longer (the sync timeout is 2 s, the connect timeout 5 s)


def test_restart_mariadb_under_load(stack):
    dbs = setup_dbs(stack, 2)
    master, processor = stack.pid("fcgi"), stack.pid("processor")
    workers = children(master)
    d0 = dbs[0]
    writes = Load(stack.url, stack.token, mixed_op(dbs, "db"), 10 ** 6, threads=6, pace=0.003).start()
    reads = Load(stack.url, stack.token,
                 lambda i: ("read", d0["id"], None, "GET", "/db/%s/contacts/%s" % (d0["id"], d0["author"]), None),
                 10 ** 6, threads=2, pace=0.003).start()
    time.sleep(1.5)

    # Down: SIGTERM, as an operator's restart does; wait until the process is gone.
    mpid = stack.pid("mariadb")
    t_stop = time.monotonic()
    os.kill(mpid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(mpid), 60), "MariaDB did not stop"
    t_down = time.monotonic()
    time.sleep(DOWN)

    # Up again: stack.sh start starts what is missing, MariaDB only. Note when it answers.
    ready = {}

    def probe():
        while "t" not in ready and time.monotonic() - t_down < 120:
            r = subprocess.run(["mariadb", "--no-defaults", "--socket=" + stack.path("run", "mysql.sock"), "-uroot",
                                "-e", "select 1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                ready["t"] = time.monotonic()
            time.sleep(0.02)

    t_start = time.monotonic()
    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    stack.start()
    prober.join(120)
    t_up = ready["t"]
    done_at_up = stack.done_total()
    # The processor reconnects and applies what was queued before and after.
    assert wait_until(lambda: stack.done_total() > done_at_up, 30, 0.02) or stack.caught_up()
    t_applied = time.monotonic()
    time.sleep(2.0)
    results = writes.stop() + reads.stop()

    # Nobody crashed or was restarted.
    assert stack.pid("fcgi") == master and pid_alive(master)
    assert children(master) == workers, ("workers were replaced", workers, children(master))
    assert stack.pid("processor") == processor and pid_alive(processor), "the processor must survive"
    assert "exited" not in stack.log("fcgi"), stack.log("fcgi")[-2000:]

    # Never a hang; never a 500; while down, only 503 + Retry-After + the JSON message.
    slow = [r for r in results if r.t1 - r.t0 > HANG]
    assert slow == [], ("requests hung", slow[:5])
    assert [r for r in results if r.status is None] == [], "every request gets an answer"
    assert [r for r in results if r.status not in (200, 202, 503)] == [], statuses(results)
    during = [r for r in results if r.t0 >= t_down and r.t1 <= t_start]
    assert during and all(r.status == 503 for r in during), statuses(during)
    for r in [r for r in results if r.status == 503]:
        assert r.headers["Retry-After"] == "1", r
        assert isinstance(r.body, dict) and r.body["error"] == "The database is unavailable. Try again later.", r
    # Afterwards everything works again.
    after = [r for r in results if r.t0 >= t_up + 1.0]
    assert after and all(r.status in (200, 202) for r in after), statuses(after)
    first_ok = min(r.t1 for r in results if r.t0 >= t_up and r.status == 202)

    wres = [r for r in results if r.kind != "read"]
    f = check_invariants(stack, wres)
    st = statuses(results)
    report("4 MariaDB restart (down %.1fs): sent %d writes + %d reads, 202 %d, applied %d, duplicates %d, "
           "lost %d; 503 %d (max %.2fs each), 500 0, hung 0; writes answered 503 but queued %d; "
           "stop took %.1fs; after MariaDB answered: first 202 %.2fs, first apply %.2fs"
           % (t_start - t_down, len(wres), len(results) - len(wres), f["accepted"], f["applied"], f["duplicates"],
              f["lost"], st.get(503, 0), max(r.t1 - r.t0 for r in results if r.status == 503),
              f["unanswered_in_log"], t_down - t_stop, first_ok - t_up, t_applied - t_up))
    report_row(4, "MariaDB restarted under load (down %.1fs)" % (t_start - t_down), f["accepted"], f["applied"],
               f["lost"], f["duplicates"], st, "MariaDB up -> first 202 %.2fs" % (first_ok - t_up))
