"""Issue 19: hints. After each commit the processor sends "stream s is at n"
to every front registered in `listeners`; a front reads the clock rows at once.
A hint is only a hint: dropped on purpose (POST /test/hints), every at= read
still answers 200 once reached; a processor that restarts finds the fronts
again through the table; a front whose heartbeat stops is sent nothing."""

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

from conftest import (children, enc, get, import_contacts, in_flight, pid_alive, post, processor_paused,
                      processor_pid, repo_root, sql, unique, var_dir)


def heard():
    return get("/status").body["processor"]["hints_heard"]


def test_waits_still_answer_with_hints_dropped(admin, db):
    assert post("/test/hints", {"drop": True}).status == 200
    try:
        before = heard()
        for i in range(20):
            created, at = import_contacts(db, admin, [{"email": unique() + "@drop.example.com"}], wait=False)
            r = get("/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)})
            assert r.status == 200, (i, r)
        assert heard() == before, "hints were heard while dropped"
    finally:
        assert post("/test/hints", {"drop": False}).status == 200
    # Heard again once no longer dropped.
    for _ in range(5):
        created, at = import_contacts(db, admin, [{"email": unique() + "@drop.example.com"}], wait=False)
        assert get("/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)}).status == 200
    assert heard() > before


def test_bad_hints_switch_is_400():
    assert post("/test/hints", {"drop": "yes"}).status == 400
    assert post("/test/hints", {"other": 1}).status == 400


class Listener:
    """A UDP socket registered in `listeners`, its heartbeat kept fresh while `alive`."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.alive = True
        self.t = threading.Thread(target=self._beat, daemon=True)
        self.t.start()

    def _beat(self):
        while self.alive:
            sql("INSERT INTO listeners (addr, heartbeat) VALUES ('%s', UTC_TIMESTAMP(6)) "
                "ON DUPLICATE KEY UPDATE heartbeat = UTC_TIMESTAMP(6)" % self.addr)
            time.sleep(0.5)

    def received(self, seconds):
        got, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                got.append(self.sock.recv(2048).decode())
            except socket.timeout:
                pass
        return got

    def close(self):
        self.alive = False
        self.t.join()
        sql("DELETE FROM listeners WHERE addr = '%s'" % self.addr)
        self.sock.close()


def test_processor_hints_a_listener_and_stops_when_its_heartbeat_stops(admin, db):
    lst = Listener()
    try:
        time.sleep(1.5)  # the processor reads the listeners every second
        created, at = import_contacts(db, admin, [{"email": unique() + "@hint.example.com"}], wait=False)
        want = "%d:%d" % (at[0][0], at[0][1])
        got = lst.received(2.0)
        assert any(g.startswith("RUNORG-HINT 1") for g in got), got
        assert any(want in g.split() for g in got), (want, got)
        # The heartbeat stops: after LISTENERS_TTL_S (5 s) nothing more is sent, not even keepalives.
        lst.alive = False
        lst.t.join()
        time.sleep(5 + 1.5)
        lst.received(0.3)  # what was in flight
        import_contacts(db, admin, [{"email": unique() + "@hint.example.com"}])
        assert lst.received(1.5) == []
    finally:
        lst.close()


def test_fronts_hear_a_processor_that_restarted(admin, db):
    old = processor_pid()
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(old, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    port = str(urllib.parse.urlsplit(os.environ["RUNORG_URL"]).port)
    r = subprocess.run(["bash", os.path.join(repo_root(), "conf", "stack.sh"), "start"],
                       env=dict(os.environ, RUNORG_VAR=var_dir(), RUNORG_PORT=port),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode == 0, r.stdout.decode()[-2000:]
    assert processor_pid() != old
    time.sleep(1.5)  # the new processor reads the listeners
    before = heard()
    for _ in range(5):
        created, at = import_contacts(db, admin, [{"email": unique() + "@restart.example.com"}], wait=False)
        assert get("/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)}).status == 200
    assert heard() > before, "no hint from the new processor"


def worker_pids():
    with open(os.path.join(var_dir(), "run", "fcgi.pid")) as f:
        return children(int(f.read().strip()))


def vm_size_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1])
    return 0


def test_a_forged_hint_naming_a_huge_stream_costs_nothing(admin, db):
    """Anyone may send a datagram to a front: one naming stream 2^31 - 1 while a
    request waits must not make the worker grow a table to that stream (16 GiB),
    and the wait ends as usual."""
    addrs = [a for (a,) in sql("SELECT addr FROM listeners")]
    assert addrs, "no front registered for hints"
    before = dict((p, vm_size_kib(p)) for p in worker_pids())
    with processor_paused():
        created, at = import_contacts(db, admin, [{"email": unique() + "@forged.example.com"}], wait=False)
        waits = [in_flight("GET", "/db/%s/contacts/%s" % (db, created[0]), token=admin, query={"at": enc(at)})
                 for _ in range(4)]
        time.sleep(0.3)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for a in addrs:
            host, port = a.rsplit(":", 1)
            for text in ("RUNORG-HINT 1 2147483647:5\n", "RUNORG-HINT 1 %d:%d\n" % (at[0][0], at[0][1] + 10 ** 9)):
                s.sendto(text.encode(), (host, int(port)))
        s.close()
        time.sleep(0.5)
        # The same workers, alive (one that grew 16 GiB is killed by the kernel), none grown by 1 GiB.
        assert worker_pids() == sorted(before), (worker_pids(), sorted(before))
        for p, kib in before.items():
            assert pid_alive(p) and vm_size_kib(p) < kib + (1 << 20), (p, kib, vm_size_kib(p))
    for w in waits:
        r = w.result()
        assert r.status == 200, r
