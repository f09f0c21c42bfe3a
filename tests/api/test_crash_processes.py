"""The processes around the API: a FastCGI worker that dies is replaced by the
master; a second processor is a hot standby that takes a stream's lease only
when the first one dies. ("crash" in the name: runs last, it kills things.)"""

import os
import signal
import subprocess
import time

from conftest import children, create_db, enc, get, pid_alive, post, processor_pid, repo_root, var_dir, wait_until
from test_crash import restart_stack



def fcgi_master():
    with open(os.path.join(var_dir(), "run", "fcgi.pid")) as f:
        return int(f.read().strip())


def test_master_replaces_a_worker_that_dies():
    master = fcgi_master()
    before = children(master)
    assert len(before) >= 1, "runorg-fcgi has no worker processes"
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in children(master) and len(children(master)) == len(before), 5), (
        before, children(master))
    after = children(master)
    assert victim not in after
    # The new worker serves: enough requests that every worker gets some.
    for _ in range(50):
        r = get("/version")
        assert r.status == 200, r


def second_processor(log):
    """Starts another runorg-processor on the same MariaDB, as stack.sh starts the first."""
    run = os.path.join(var_dir(), "run")
    env = dict(os.environ, RUNORG_DB_SOCKET=os.path.join(run, "mysql.sock"), RUNORG_DB_USER="root",
               RUNORG_DB_NAME="runorg", RUNORG_SQL_DIR=os.path.join(repo_root(), "sql"))
    build = os.environ.get("RUNORG_BUILD") or os.path.join(repo_root(), "build")  # make test SANITIZE=1
    return subprocess.Popen([os.path.join(build, "runorg-processor"), "-c",
                             os.path.join(repo_root(), "conf", "runorg.conf")],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def test_second_processor_is_a_hot_standby(admin, tmp_path):
    db = create_db(admin)[0]
    logpath = tmp_path / "processor2.log"
    with open(logpath, "wb") as log:
        standby = second_processor(log)
    first = processor_pid()
    try:
        time.sleep(1.0)  # it tries the leases, finds them held, stands by
        assert standby.poll() is None, logpath.read_text()
        # While the first one lives, the standby applies nothing.
        r = post("/db/%s/contacts/import" % db, [{"email": "standby1@example.com"}], token=admin)
        assert r.status == 202, r
        assert get("/db/%s/sync" % db, token=admin, query={"at": enc(r.body["at"])}).status == 200
        assert "lease taken" not in logpath.read_text(), logpath.read_text()

        # The first one dies: the standby takes over and the next write is applied.
        os.kill(first, signal.SIGKILL)
        r = post("/db/%s/contacts/import" % db, [{"email": "standby2@example.com"}], token=admin)
        assert r.status == 202, r
        w = get("/db/%s/contacts" % db, token=admin, query={"at": enc(r.body["at"])}, timeout=30)
        assert w.status == 200, (w, logpath.read_text())
        assert w.body["count"] == 2
        assert "lease taken" in logpath.read_text()
    finally:
        standby.send_signal(signal.SIGTERM)
        try:
            standby.wait(15)
        except subprocess.TimeoutExpired:
            standby.kill()
        if not pid_alive(processor_pid()):
            restart_stack()


def test_sigterm_drains_requests_in_flight(admin):
    """SIGTERM to runorg-fcgi: a request already waiting on at= still gets its answer."""
    from conftest import IN_FLIGHT, in_flight, processor_paused

    db = create_db(admin)[0]
    master = fcgi_master()
    try:
        with processor_paused():
            r = post("/db/%s/contacts/import" % db, [{"email": "drain@example.com"}], token=admin)
            assert r.status == 202, r
            cid = r.body["created"][0]
            bg = in_flight("GET", "/db/%s/contacts/%s" % (db, cid), token=admin, query={"at": enc(r.body["at"])})
            time.sleep(IN_FLIGHT)
            os.kill(master, signal.SIGTERM)
            time.sleep(IN_FLIGHT)
            assert bg.alive(), "the waiting request was cut off by SIGTERM"
        res = bg.result()
        assert res.status == 200, res
        assert res.body["id"] == cid
        assert wait_until(lambda: not pid_alive(master), 10), "runorg-fcgi did not exit after draining"
    finally:
        restart_stack()
    assert get("/version").status == 200
