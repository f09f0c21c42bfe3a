"""Scenario 8: MariaDB restarts while RunOrg is idle. Every connection the
workers keep (the pool's, each stream's group-commit connection, the clock
poll's) and the processor's were opened before the restart and sit unused
through it: the first requests afterwards must not trip over them. A
connection the server closed is seen before use (its end of file waits on the
socket), one unused since the process last saw the server go down is pinged,
and a statement whose sending failed is sent once more on a fresh connection.
So once MariaDB answers again, every write is a 202 and every read a 200, on
every stream, at once; and every 202 is applied once."""

import os
import signal
import time

from conftest import (
    check_invariants, children, mixed_op, pid_alive, report, report_row, setup_dbs, statuses, wait_until, Load,
)


def test_restart_with_idle_connections(stack):
    dbs = setup_dbs(stack, 4)
    streams = sorted(set(d["stream"] for d in dbs))
    assert len(streams) >= 3, ("the databases should spread over streams", dbs)
    master, processor = stack.pid("fcgi"), stack.pid("processor")
    workers = children(master)

    def reads_op(i):
        d = dbs[i % len(dbs)]
        return ("read", d["id"], None, "GET", "/db/%s/contacts?limit=5" % d["id"], None)

    # Warm every connection: writes and reads on every database, from many clients.
    warm = Load(stack.url, stack.token, mixed_op(dbs, "w0"), 400, threads=16).start().join()
    warm += Load(stack.url, stack.token, reads_op, 400, threads=16).start().join()
    assert statuses(warm) == {200: 400, 202: 400}, statuses(warm)
    stack.wait_caught_up()
    time.sleep(0.5)

    # Restart MariaDB with nothing sent meanwhile.
    mpid = stack.pid("mariadb")
    os.kill(mpid, signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(mpid), 60), "MariaDB did not stop"
    time.sleep(1.0)
    stack.start()  # stack.sh waits until MariaDB answers
    t_up = time.monotonic()

    # At once: writes and reads on every database, as many clients as before.
    after = Load(stack.url, stack.token, mixed_op(dbs, "i1"), 400, threads=16).start()
    reads = Load(stack.url, stack.token, reads_op, 400, threads=16).start()
    results = after.join() + reads.join()
    wres = [r for r in results if r.kind != "read"]
    assert statuses(results) == {200: 400, 202: 400}, (statuses(results),
                                                       [r for r in results if r.status not in (200, 202)][:5])
    first_202 = min(r.t1 for r in wres) - t_up
    assert stack.pid("fcgi") == master and children(master) == workers
    assert stack.pid("processor") == processor and pid_alive(processor)
    f = check_invariants(stack, warm + wres, allow_unanswered_in_log=False)
    resent = stack.log("fcgi").count("sent again on a new one")
    report("8 MariaDB restarted while idle (%d streams): after it answered, sent %d writes + %d reads at once: "
           "202 %d, 200 %d, 503 0; applied %d (all %d since the start), duplicates %d, lost %d; statements "
           "sent again on a fresh connection %d; first 202 %.2fs after MariaDB answered, catch-up %.2fs"
           % (len(streams), len(wres), len(results) - len(wres), statuses(results).get(202, 0),
              statuses(results).get(200, 0), f["applied"] - 400, f["accepted"], f["duplicates"], f["lost"],
              resent, first_202, f["catch_up"]))
    report_row(8, "MariaDB restarted while idle (%d streams)" % len(streams), f["accepted"] - 400,
               f["applied"] - 400, f["lost"], f["duplicates"], statuses(results),
               "MariaDB up -> first 202 %.2fs, no 503" % first_202)
