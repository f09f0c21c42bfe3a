"""runorg_testing.py — the helpers every Python suite shares: tests/api,
tests/faults, tests/replica (their conftest.py) and tests/bench. Each puts
tests/lib on sys.path and imports from here. Python standard library only
(the benches run without pytest)."""

import socket
import time


def wait_until(pred, seconds, step=0.05):
    """Polls pred every step seconds until it is true (True) or seconds pass
    (then pred's last answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (just now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
