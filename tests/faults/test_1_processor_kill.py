"""Scenario 1: kill -9 the processor at random moments during a 10,000-command
load, several times, and restart it each time (stack.sh start, as an operator
or a supervisor would). Writes never need the processor: every request gets a
202. Afterwards every 202 is applied exactly once."""

import os
import random
import signal
import time

from conftest import check_invariants, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, wait_until, Load

TOTAL = int(os.environ.get("FAULTS_COMMANDS", "10000"))
KILLS = 5


def test_kill_processor_during_load(stack):
    rng = random.Random(os.environ.get("FAULTS_SEED"))
    dbs = setup_dbs(stack, 3)
    load = Load(stack.url, stack.token, mixed_op(dbs, "k9"), TOTAL, threads=8).start()
    recoveries, backlogs, kills = [], [], 0
    # Spread the kills over the load: wait for a random share of it, then kill.
    marks = sorted(rng.uniform(0.05, 0.85) * TOTAL for _ in range(KILLS))
    for mark in marks:
        if not wait_until(lambda: load.sent() >= mark or not load.running(), 120):
            break
        if not load.running():
            break
        time.sleep(rng.uniform(0, 0.2))
        old = stack.pid("processor")
        os.kill(old, signal.SIGKILL)
        kills += 1
        assert wait_until(lambda: not pid_alive(old), 5)
        done_at_kill = stack.done_total()
        backlogs.append(sum(h - d for h, d in stack.heads().values()))
        time.sleep(rng.uniform(0.05, 0.5))  # a backlog builds while it is down
        t0 = time.monotonic()
        stack.start()  # starts what is not running: the processor
        assert stack.pid("processor") != old
        # Recovery: from the restart to the first command applied after it.
        if wait_until(lambda: stack.done_total() > done_at_kill, 30, 0.02):
            recoveries.append(time.monotonic() - t0)
    results = load.join()
    assert kills >= 3, "the load ended before the processor could be killed several times"
    st = statuses(results)
    assert st == {202: len(results)}, ("every write is accepted whatever the processor does", st)
    f = check_invariants(stack, results, allow_unanswered_in_log=False)
    assert f["accepted"] == f["applied"] == TOTAL
    report("1 processor kill -9 x%d: sent %d, 202 %d, applied %d, duplicates %d, lost %d; load %.1fs; "
           "backlog at the kills %s; recovery (restart -> first apply) max %.2fs (mean %.2fs); "
           "final catch-up %.2fs"
           % (kills, f["sent"], f["accepted"], f["applied"], f["duplicates"], f["lost"], load.elapsed,
              "/".join(map(str, backlogs)),
              max(recoveries), sum(recoveries) / len(recoveries), f["catch_up"]))
    report_row(1, "processor kill -9 under load, x%d" % kills, f["accepted"], f["applied"], f["lost"], f["duplicates"],
               st, "restart -> first apply max %.2fs" % max(recoveries))
