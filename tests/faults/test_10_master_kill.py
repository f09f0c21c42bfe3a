"""Scenario 10: kill -9 the runorg-fcgi master under load, then `make start`
(stack.sh start), as an operator or a supervisor would. The workers of the
dead master go on answering on the socket until the new master renames its
own socket over the path; then they finish what they accepted and exit. Not
one request goes unanswered or gets an error: every write is a 202, every read
a 200, and every 202 is applied once."""

import os
import signal
import time

from conftest import (
    check_invariants, children, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, wait_until, Load,
)


def test_master_kill_then_start(stack):
    dbs = setup_dbs(stack, 2)
    d0 = dbs[0]
    writes = Load(stack.url, stack.token, mixed_op(dbs, "mk"), 10 ** 6, threads=6, pace=0.003).start()
    reads = Load(stack.url, stack.token,
                 lambda i: ("read", d0["id"], None, "GET", "/db/%s/contacts/%s" % (d0["id"], d0["author"]), None),
                 10 ** 6, threads=2, pace=0.003).start()
    time.sleep(1.5)
    master = stack.pid("fcgi")
    orphans = children(master)
    inode = os.stat(stack.path("run", "runorg.sock")).st_ino
    os.kill(master, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(master), 5)
    time.sleep(1.0)  # the orphaned workers serve meanwhile
    assert all(pid_alive(p) for p in orphans), "the workers outlive their master"
    t0 = time.monotonic()
    stack.start()  # make start
    started = time.monotonic() - t0
    new = stack.pid("fcgi")
    assert new != master and pid_alive(new)
    assert os.stat(stack.path("run", "runorg.sock")).st_ino != inode, "the new master's socket took the path"
    assert wait_until(lambda: not any(pid_alive(p) for p in orphans), 15), "the old workers did not exit"
    drained = time.monotonic() - t0
    time.sleep(1.5)
    results = writes.stop() + reads.stop()

    wres = [r for r in results if r.kind != "read"]
    rres = [r for r in results if r.kind == "read"]
    assert all(r.status == 202 for r in wres) and all(r.status == 200 for r in rres), \
        (statuses(results), [r for r in results if r.status not in (200, 202)][:5])
    f = check_invariants(stack, wres, allow_unanswered_in_log=False)
    report("10 runorg-fcgi master kill -9, then make start: sent %d writes + %d reads, 202 %d, 200 %d, errors 0; "
           "applied %d, duplicates %d, lost %d; make start took %.2fs, the old workers were gone %.2fs after it "
           "began" % (len(wres), len(rres), f["accepted"], len(rres), f["applied"], f["duplicates"], f["lost"],
                      started, drained))
    report_row(10, "runorg-fcgi master kill -9, then make start", f["accepted"], f["applied"], f["lost"],
               f["duplicates"], statuses(results),
               "make start %.2fs, no error; old workers gone after %.2fs" % (started, drained))
