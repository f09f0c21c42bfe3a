"""Scenario 9: the disk fills up under load. The RunOrg database's directory of
the stack's MariaDB is a small tmpfs (root only: mount), filled up to its last
few hundred KiB while writes go on. Writes MariaDB refuses for lack of space
are a 503 "The database cannot write (disk full)" with Retry-After, nothing
half done (none of them is in the command log); reads go on answering 200;
GET /status says "disk full". Once there is room again, writes are 202 again
and everything queued is applied once. (Only the database directory is full:
MariaDB's own files, its redo log above all, have room, so it does not abort
itself here; when it does, `make start` starts it again, README says.)"""

import os
import subprocess
import time

import pytest

from conftest import (
    api, check_invariants, mixed_op, report, report_row, serve, setup_dbs, statuses, wait_until, Load, Stack,
)

SIZE_MB = 24
MESSAGE = "The database cannot write (disk full). Try again later."


@pytest.fixture(scope="module")
def full_stack(request):
    if os.geteuid() != 0:
        report("9 disk full: skipped (mounting a tmpfs needs root)")
        pytest.skip("mounting a tmpfs needs root")
    s = Stack("disk_full")
    mnt = s.path("mysql", "runorg")  # MariaDB takes an existing directory for the database
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % SIZE_MB, "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        report("9 disk full: skipped (mount failed: %s)" % r.stdout.decode().strip())
        pytest.skip("cannot mount a tmpfs")
    s.var_cleanup.append(["umount", "-l", mnt])
    yield from serve(request, s)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_disk_full(full_stack):
    stack = full_stack
    dbs = setup_dbs(stack, 2)
    d0 = dbs[0]
    mnt = stack.path("mysql", "runorg")
    filler = os.path.join(mnt, "filler")
    # Leave MariaDB a few hundred KiB: the load uses them up within a second or two.
    subprocess.run(["fallocate", "-l", str(free_bytes(mnt) - 512 * 1024), filler], check=True)

    def big_import(tag):
        def op(i):
            d = dbs[i % len(dbs)]
            if i % 4 == 3:
                return mixed_op(dbs, tag)(i)
            people = [{"email": "%s.%d.%d@example.com" % (tag, i, k), "fullname": "Person %d of %d" % (k, i)}
                      for k in range(20)]
            return ("bulk", d["id"], people[0]["email"], "POST", "/db/%s/contacts/import" % d["id"], people)
        return op

    writes = Load(stack.url, stack.token, big_import("df"), 10 ** 6, threads=4, pace=0.01).start()
    reads = Load(stack.url, stack.token,
                 lambda i: ("read", d0["id"], None, "GET", "/db/%s/contacts/%s" % (d0["id"], d0["author"]), None),
                 10 ** 6, threads=2, pace=0.01).start()

    def refused():
        with writes.lock:
            return sum(1 for r in writes.results if r.status == 503)

    assert wait_until(lambda: refused() >= 20, 60, 0.1), statuses(writes.results)
    t_full = time.monotonic()
    time.sleep(1.0)
    st = api.get("/status")
    assert st.status == 200, st
    assert st.body["database"] == {"state": "disk full"}, st.body["database"]
    time.sleep(1.0)

    # Room again: the operator frees space.
    os.unlink(filler)
    t_room = time.monotonic()
    assert wait_until(lambda: any(r.status == 202 and r.t0 >= t_room for r in list(writes.results)), 30, 0.05)
    time.sleep(1.5)
    results = writes.stop() + reads.stop()
    stack.wait_caught_up()
    # The processors say what they see with their next heartbeat (each second).
    assert wait_until(lambda: api.get("/status").body["database"] == {"state": "up"}, 5, 0.2), \
        api.get("/status").body

    wres = [r for r in results if r.kind != "read"]
    rres = [r for r in results if r.kind == "read"]
    assert [r for r in results if r.status not in (200, 202, 503)] == [], statuses(results)
    assert all(r.status == 200 for r in rres), ("reads go on while the disk is full", statuses(rres))
    full = [r for r in wres if r.status == 503]
    for r in full:
        assert r.headers["Retry-After"] == "10" and r.body["error"] == MESSAGE, r
    during = [r for r in wres if t_full <= r.t0 and r.t1 <= t_room]
    assert during and all(r.status == 503 for r in during), statuses(during)
    after = [r for r in wres if r.t0 >= t_room + 0.5]
    assert after and all(r.status == 202 for r in after), statuses(after)
    # Nothing half done: no refused write is in the log; every 202 applied once.
    bulk = [r for r in wres if r.kind == "bulk"]
    for r in bulk:
        r.kind = "import"  # the checker follows an import by the e-mail of its first contact
    f = check_invariants(stack, wres, allow_unanswered_in_log=False)
    first_ok = min(r.t1 for r in wres if r.t0 >= t_room and r.status == 202)
    alive = subprocess.run(["mariadb", "--no-defaults", "--socket=" + stack.path("run", "mysql.sock"), "-uroot",
                            "-e", "select 1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    assert alive, "MariaDB went down"
    report("9 disk full (database directory on a %d MiB tmpfs): sent %d writes + %d reads (reads all 200), "
           "202 %d, applied %d, duplicates %d, lost %d; refused with 503 disk full %d, of them in the log 0; "
           "GET /status said \"disk full\"; after room was made: first 202 %.2fs, catch-up %.2fs"
           % (SIZE_MB, len(wres), len(rres), f["accepted"], f["applied"], f["duplicates"], f["lost"], len(full),
              first_ok - t_room, f["catch_up"]))
    report_row(9, "disk full under load (tmpfs)", f["accepted"], f["applied"], f["lost"], f["duplicates"],
               statuses(results), "room made -> first 202 %.2fs" % (first_ok - t_room))
