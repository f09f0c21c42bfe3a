"""Many HTTP requests at once from one thread, over raw non-blocking sockets:
thousands of connections without thousands of threads. Each request is sent
whole at once; each answer is read to the end of its Content-Length."""

import resource
import selectors
import socket
import time
import urllib.parse


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def request_bytes(method, path, token=None, query=None):
    if query:
        path += "?" + "&".join("%s=%s" % (k, v) for k, v in query.items())
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: runorg", "Connection: close"]
    if token:
        lines.append("Authorization: RUNORG token=%s" % token)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Answer:
    def __init__(self, raw, elapsed):
        self.elapsed = elapsed
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def __repr__(self):
        return "<%d %.3fs %r>" % (self.status, self.elapsed, self.body[:200])


def send_many(base_url, requests, timeout=30):
    """Sends every request (bytes) on its own connection, all at once; returns
    the Answers in the same order (status 0 for a connection that failed)."""
    raise_fd_limit(len(requests) + 100)
    u = urllib.parse.urlsplit(base_url)
    sel = selectors.DefaultSelector()
    state = {}
    start = time.monotonic()
    for i, data in enumerate(requests):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((u.hostname, u.port))
        state[s] = {"i": i, "out": data, "in": bytearray(), "t0": time.monotonic(), "done": None}
        sel.register(s, selectors.EVENT_WRITE)
    answers = [None] * len(requests)
    pending = len(requests)
    while pending and time.monotonic() - start < timeout:
        for key, events in sel.select(timeout=0.5):
            s, st = key.fileobj, state[key.fileobj]
            try:
                if events & selectors.EVENT_WRITE and st["out"]:
                    n = s.send(st["out"])
                    st["out"] = st["out"][n:]
                    if not st["out"]:
                        sel.modify(s, selectors.EVENT_READ)
                    continue
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if chunk:
                st["in"] += chunk
                continue
            sel.unregister(s)
            s.close()
            answers[st["i"]] = Answer(bytes(st["in"]), time.monotonic() - st["t0"])
            pending -= 1
    for s, st in state.items():
        if answers[st["i"]] is None:
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
            answers[st["i"]] = Answer(b"", time.monotonic() - st["t0"])
    return answers
