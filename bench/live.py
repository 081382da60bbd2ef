#!/usr/bin/env python3
"""bench/live.py - the live seat map under many subscribers, against a
running stack (./flightops up, or bench/run's): N Server-Sent Events
subscribers on one flight through the gateway, then rounds of real seat
changes (hold, cancel) through the API; for each change, when every
subscriber got its event. Then the pools' throughput (wrk on GET
/flights/{id} and GET /users/me) with the N streams connected, beside the
same without them, in the same run.

    FO_GATEWAY_PORT=8080 FO_VAR=var python3 bench/live.py [N] [ROUNDS]

N (5000) streams come from 127.0.0.2, 127.0.0.3, ... (250 each): the
gateway allows 256 open requests per client address, as it would a
real site's. One selector thread reads them all (epoll). Prints a
Markdown table; timings are reported, never asserted. Loopback only.
"""

import json
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import fo  # noqa: E402  (the test helpers: tokens, flights, bookings)

PER_ADDRESS = 250  # below the gateway's limit_conn of 256 per address
WRK_SECONDS = 5
CHANGE_EVERY = 0.2  # seconds between seat changes in the 'seats changing' runs


class Streams:
    """N subscribers on one flight; a selector thread records, per
    (seat, status), when each stream received it."""

    def __init__(self, flight_id, n):
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.arrivals = {}  # (seat, status) -> {stream index: monotonic time}
        self.opened = 0
        self.closed = 0
        self.socks = []
        request = ("GET /flights/%d/seats/live HTTP/1.1\r\nHost: %s\r\n"
                   "Accept: text/event-stream\r\n\r\n" % (flight_id, fo.HOST)).encode()
        for i in range(n):
            s = socket.socket()
            s.bind(("127.0.0.%d" % (2 + i // PER_ADDRESS), 0))
            s.connect((fo.HOST, fo.GATEWAY_PORT))
            s.sendall(request)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, [i, b"", False])
            self.socks.append(s)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                now = time.monotonic()
                state = key.data
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                if not data:
                    self.sel.unregister(key.fileobj)
                    with self.lock:
                        self.closed += 1
                    continue
                buf = state[1] + data
                if not state[2]:
                    if b"\r\n\r\n" not in buf:
                        state[1] = buf
                        continue
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise SystemExit("stream %d: %r" % (state[0], head[:80]))
                    state[2] = True
                    with self.lock:
                        self.opened += 1
                # Chunked framing lines and SSE lines: only "data: {...}" matters.
                *lines, rest = buf.split(b"\n")
                state[1] = rest
                for line in lines:
                    if line.startswith(b"data: "):
                        ev = json.loads(line[6:])
                        with self.lock:
                            self.arrivals.setdefault((ev["seat_number"], ev["status"]),
                                                     {}).setdefault(state[0], now)

    def wait_open(self, n, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.opened >= n:
                    return
            time.sleep(0.1)
        raise SystemExit("only %d of %d streams opened" % (self.opened, n))

    def wait_event(self, key, n, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = dict(self.arrivals.get(key, {}))
            if len(got) >= n:
                return got
            time.sleep(0.01)
        return got

    def close(self):
        self.stop = True
        self.thread.join()
        for s in self.socks:
            s.close()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def wrk(url, token=None, conns=64):
    cmd = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % WRK_SECONDS, "--latency", url]
    if token:
        cmd[1:1] = ["-H", "Authorization: Bearer " + token]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = next(float(line.split()[1]) for line in out.splitlines()
               if line.startswith("Requests/sec"))
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    non2xx = next((int(line.split()[-1]) for line in out.splitlines()
                   if "Non-2xx" in line), 0)
    return rps, p99, non2xx


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    admin = fo.admin_token(fo.USERS)
    flight = fo.create_flight(admin, fo.FLIGHTS, total_seats=60)
    (_, _, token), = fo.new_users(1)
    fid = flight["id"]
    url = "%s/flights/%d" % (fo.GATEWAY, fid)

    quiet = {"flight": wrk(url), "me": wrk(fo.GATEWAY + "/users/me", token)}

    t0 = time.monotonic()
    streams = Streams(fid, n)
    streams.wait_open(n)
    opened_in = time.monotonic() - t0

    rows = []
    for r in range(rounds):
        seat = fo.seat_names(60)[r % 60]
        sent = time.monotonic()
        b = fo.book(token, fid, seat, base=fo.GATEWAY)
        if b.status != 201:
            raise SystemExit("hold %s: %s" % (seat, fo.describe(b)))
        got = streams.wait_event((seat, "held"), n)
        rows.append(("hold " + seat, sent, got))
        sent = time.monotonic()
        c = fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b.body["id"]), token=token)
        if c.status != 200:
            raise SystemExit("cancel %s: %s" % (seat, fo.describe(c)))
        got = streams.wait_event((seat, "available"), n)
        rows.append(("cancel " + seat, sent, got))

    # Each change is published again 1.5-2.5 s later (live.h): let those
    # fan-outs pass, so that wrk measures the streams being connected, not
    # a 5,000-way fan-out blocking an nginx worker for tens of ms.
    time.sleep(4)
    loaded = {"flight": wrk(url), "me": wrk(fo.GATEWAY + "/users/me", token)}
    # And while seats change: a hold or a cancel every CHANGE_EVERY s, each
    # fanned out to every stream twice (at once and by the republish).
    stop = threading.Event()
    changes = [0]

    def churn():
        seats = fo.seat_names(60)[30:]
        i = 0
        while not stop.is_set():
            r = fo.book(token, fid, seats[i % len(seats)], base=fo.GATEWAY)
            if r.status == 201:
                fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, r.body["id"]), token=token)
                changes[0] += 2
            i += 1
            stop.wait(CHANGE_EVERY)
    t = threading.Thread(target=churn, daemon=True)
    t.start()
    busy = {"flight": wrk(url), "me": wrk(fo.GATEWAY + "/users/me", token)}
    stop.set()
    t.join()
    closed = streams.closed
    streams.close()

    all_ms = []
    print("| change | received by | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for what, sent, got in rows:
        ms = [(t - sent) * 1000.0 for t in got.values()]
        all_ms += ms
        print("| %s | %d of %d | %.0f | %.0f | %.0f |" % (
            what, len(got), n, statistics.median(ms) if ms else -1,
            pct(ms, 99) if ms else -1, max(ms) if ms else -1))
    within = sum(1 for m in all_ms if m <= 1000.0)
    print()
    print("%d streams opened in %.1f s; %d closed during the run; all changes: p50 %.0f ms, "
          "p99 %.0f ms, %.2f %% of %d deliveries within 1 s (time from the API request "
          "being sent, so it includes the booking itself)"
          % (n, opened_in, closed, statistics.median(all_ms), pct(all_ms, 99),
             100.0 * within / max(1, rounds * 2 * n), rounds * 2 * n))
    print()
    print("| wrk -t2 -c64 %ds | no streams: req/s (p99) | %d idle streams | ratio "
          "| %d streams, seats changing | ratio |" % (WRK_SECONDS, n, n))
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, path in (("flight", "GET /flights/{id}"), ("me", "GET /users/me")):
        q, l, b = quiet[name], loaded[name], busy[name]
        print("| %s | %.0f (%s) | %.0f (%s) | %.2f | %.0f (%s) | %.2f |" % (
            path, q[0], q[1], l[0], l[1], l[0] / q[0], b[0], b[1], b[0] / q[0]))
        if q[2] or l[2] or b[2]:
            print("(non-2xx: %d, %d, %d)" % (q[2], l[2], b[2]))
    print()
    print("seats changing: %d changes in the two wrk runs (one every %.1f s or slower), each "
          "published to %d streams twice" % (changes[0], CHANGE_EVERY, n))


if __name__ == "__main__":
    main()
