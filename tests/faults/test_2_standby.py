"""Scenario 2: two processors at once, one a hot standby. Under load, kill -9
the active one: the standby takes its streams over. Then restart the first (it
becomes the standby) and kill the second: the first takes them back. From the
"applied N commands up to P" lines of both logs, no position of any stream
was applied twice, and a stream's applier only changed at a kill. (A gap in
the logs is allowed exactly there: kill -9 may come between the commit of a
run and its log line; the database checks cover those positions.)"""

import os
import signal
import time

from conftest import (
    APPLIED, LEASE, check_invariants, check_runs, events, mixed_op, pid_alive, report, report_row, runs_by_stream,
    setup_dbs, statuses, wait_until, Load,
)

# The load runs until both handovers are seen (never more than this many ops),
# so that there is always work for the heir after each kill.
TOTAL = 200000
# Every applied run in the logs, whatever level the lead's build logs them at.
STACK_ENV = {"RUNORG_LOG_LEVEL": "debug"}


def test_standby_takes_over(stack):
    dbs = setup_dbs(stack, 3)
    streams = sorted(set(d["stream"] for d in dbs))
    a = stack.pid("processor")
    b_proc = stack.start_processor("processor-b")
    b = b_proc.pid
    time.sleep(1.0)
    assert b_proc.poll() is None, stack.log("processor-b")

    load = Load(stack.url, stack.token, mixed_op(dbs, "sb"), TOTAL, threads=6, pace=0.002).start()
    handovers = []

    def kill_and_wait(victim, heir, heir_log):
        assert wait_until(lambda: load.sent() > 0, 30)
        time.sleep(1.0)
        t_kill = time.time()
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(victim), 5)
        # The heir takes every stream of the load, and applies on them.
        ok = wait_until(lambda: all(any(e[2] == s and e[0] >= t_kill - 0.01 for e in events(stack.log(heir_log), APPLIED))
                                     for s in streams), 30, 0.1)
        assert ok, (stack.log(heir_log)[-3000:])
        firsts = [min(e[0] for e in events(stack.log(heir_log), APPLIED) if e[2] == s and e[0] >= t_kill - 0.01)
                  for s in streams]
        handovers.append(max(firsts) - t_kill)
        return t_kill

    t1 = kill_and_wait(a, b, "processor-b")
    stack.start()  # the first comes back, as the standby now
    a2 = stack.pid("processor")
    assert a2 != a
    time.sleep(1.0)
    t2 = kill_and_wait(b, a2, "processor")
    results = load.stop()
    assert statuses(results) == {202: len(results)}
    f = check_invariants(stack, results, allow_unanswered_in_log=False)

    # Who applied what: all processors' runs, per stream.
    runs = runs_by_stream(stack.log("processor") + "\n" + stack.log("processor-b"))
    check_runs(stack.heads(), runs)
    for s, mine in runs.items():
        # The applier changes only across a kill: a's runs, then b's after t1, then a2's after t2.
        for first, last, t, pid in mine:
            if pid == b:
                assert t >= t1 - 0.01, ("the standby applied stream %d while the active one lived" % s)
            if pid == a2:
                assert t >= t2 - 0.01, ("the restarted processor applied stream %d before the kill" % s)
            if pid == a:
                assert t <= t1 + 0.01
    # Leases: the standby took a stream only after the kill.
    for t, pid, s in events(stack.log("processor-b"), LEASE):
        assert t >= t1 - 0.01, ("the standby took stream %d's lease before the kill" % s)
    report("2 standby takeover x2: sent %d, 202 %d, applied %d, duplicates %d, lost %d; positions applied "
           "by two processors 0; takeover (kill -> standby applying on every stream) %.2fs and %.2fs"
           % (f["sent"], f["accepted"], f["applied"], f["duplicates"], f["lost"], handovers[0], handovers[1]))
    report_row(2, "standby takes over from a killed processor, x2", f["accepted"], f["applied"], f["lost"],
               f["duplicates"], statuses(results),
               "kill -> standby applying on every stream %.2fs, %.2fs" % tuple(handovers))
