"""Scenario 7: the processor holding every lease freezes (SIGSTOP) under load,
with a standby running. Its heartbeat stops; after lease_timeout_ms the standby
kills the holder's lease connections (which ends its leases and rolls back what
it had not committed) and takes every stream within lease_timeout_ms + 1 s.
Then the frozen one is resumed (SIGCONT): it finds its connections dead,
applies nothing more, and stands by. From the "applied" lines of both logs no
position was applied twice; every 202 is applied exactly once."""

import os
import re
import signal
import time

from conftest import (
    LEASE, check_invariants, check_runs, events, mixed_op, pid_alive, report, report_row, runs_by_stream,
    setup_dbs, statuses, wait_until, Load,
)

LEASE_TIMEOUT = 2.0
STACK_ENV = {"RUNORG_LOG_LEVEL": "debug", "RUNORG_LEASE_TIMEOUT_MS": str(int(LEASE_TIMEOUT * 1000))}
LOST = re.compile(r"^(\S+)Z \[(\d+)\] \w+: stream (\d+): connection lost")
STANDBY = re.compile(r"^(\S+)Z \[(\d+)\] \w+: stream (\d+): standing by")


def test_frozen_holder_is_fenced_and_replaced(stack):
    dbs = setup_dbs(stack, 3)
    streams = sorted(set(d["stream"] for d in dbs))
    a = stack.pid("processor")
    b = stack.start_processor("processor-b").pid
    # The standby watches each holder for lease_timeout_ms before it may take a stream.
    time.sleep(LEASE_TIMEOUT + 0.5)
    assert pid_alive(b), stack.log("processor-b")
    held = set(int(s) for s, in stack.sql("SELECT stream FROM leases l JOIN processors p ON p.name = l.processor "
                                         "WHERE p.pid = %d" % a))
    assert set(streams) <= held, ("the first processor holds the loaded streams", held)

    load = Load(stack.url, stack.token, mixed_op(dbs, "fz"), 10 ** 6, threads=6, pace=0.002).start()
    assert wait_until(lambda: load.sent() > 300, 30)
    t_stop = time.time()
    os.kill(a, signal.SIGSTOP)
    try:
        def taken():
            return [e for e in events(stack.log("processor-b"), LEASE) if e[0] >= t_stop]

        assert wait_until(lambda: set(streams) <= set(e[2] for e in taken()), LEASE_TIMEOUT + 15, 0.05), \
            stack.log("processor-b")[-3000:]
        takeover = max(min(e[0] for e in taken() if e[2] == s) for s in streams) - t_stop
        # And it applies there: the load goes on.
        done = stack.done_total()
        assert wait_until(lambda: stack.done_total() > done + 50, 20)
        time.sleep(1.0)
    finally:
        t_cont = time.time()
        os.kill(a, signal.SIGCONT)

    # The old holder wakes up: its lease connections are dead, it stands by.
    def noticed():
        text = stack.log("processor")
        lost = set(e[2] for e in events(text, LOST) if e[0] >= t_cont - 0.01)
        standby = set(e[2] for e in events(text, STANDBY) if e[0] >= t_cont - 0.01)
        return set(streams) <= lost and set(streams) <= standby

    assert wait_until(noticed, 15, 0.1), stack.log("processor")[-3000:]
    t_noticed = time.time()
    time.sleep(1.5)
    results = load.stop()
    assert pid_alive(a) and pid_alive(b)
    assert statuses(results) == {202: len(results)}, statuses(results)
    f = check_invariants(stack, results, allow_unanswered_in_log=False)

    # Who applied what: never one position twice, and the old holder nothing
    # after it was fenced (a run it logs after SIGCONT was committed before
    # it froze, and ends before the standby's first run on that stream).
    runs = runs_by_stream(stack.log("processor") + "\n" + stack.log("processor-b"))
    check_runs(stack.heads(), runs)
    late = []
    for s in streams:
        b_first = min((first for first, last, t, pid in runs.get(s, []) if pid == b), default=None)
        assert b_first is not None, ("the standby applied nothing on stream %d" % s)
        for first, last, t, pid in runs[s]:
            if pid == a and t >= t_cont - 0.01:
                late.append((s, first, last))
                assert last < b_first, ("the fenced processor applied after the takeover", s, first, last, b_first)
    # The leases are the standby's now.
    holders = stack.sql("SELECT l.stream, p.pid FROM leases l JOIN processors p ON p.name = l.processor "
                        "WHERE l.conn = IS_USED_LOCK(CONCAT('runorg.stream.', l.stream))")
    assert all(int(pid) == b for s, pid in holders if int(s) in streams), holders
    assert takeover <= LEASE_TIMEOUT + 1.0, ("takeover took %.2fs" % takeover)
    report("7 frozen lease holder (SIGSTOP, lease_timeout %.1fs): sent %d, 202 %d, applied %d, duplicates %d, "
           "lost %d; positions applied by two processors 0; takeover (SIGSTOP -> standby holds every stream) "
           "%.2fs; after SIGCONT the old holder found its %d lease connections dead and stood by in %.2fs, "
           "runs it logged after SIGCONT: %d (committed before it froze)"
           % (LEASE_TIMEOUT, f["sent"], f["accepted"], f["applied"], f["duplicates"], f["lost"], takeover,
              len(streams), t_noticed - t_cont, len(late)))
    report_row(7, "lease holder frozen (SIGSTOP) with a standby", f["accepted"], f["applied"], f["lost"],
               f["duplicates"], statuses(results),
               "SIGSTOP -> standby holds every stream %.2fs (lease_timeout %.1fs)" % (takeover, LEASE_TIMEOUT))
