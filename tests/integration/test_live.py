"""The live seat map: GET /flights/{id}/seats/live through the gateway, an
SSE stream held by nginx (Nchan) and fed by bookings after each committed
seat change (docs/ARCHITECTURE.md, "Live seat map").

A raw socket reader (one thread per stream) records every event with its
arrival time; each wait has a generous deadline (EVENT_WAIT) and the
latency of each change is printed, never asserted. The client here does
what the guarantee asks of one: subscribe, then read GET
/flights/{id}/seats, then apply the events that arrive after that answer,
and re-read when its stream is opened again.

The second class restarts the bookings pool (a short hold, a publisher
that is not there, SIGKILL) and restores it afterwards, pass or fail.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import fo

EVENT_WAIT = 20.0  # seconds: generous; the contract's bound is 1 s
HOLD = 4  # BOOKING_HOLD_SECONDS while the pool-restarting class runs
# Nothing listens here (inside the stack's port block, past the pools and
# the publisher): a pool started with FO_LIVE_PORT set to it (./flightops
# derives LIVE_PUBLISH_URL from it) fails every publish at once.
DEAD_PUBLISH_PORT = fo.PORT_BASE + 91


def tearDownModule():
    fo.restore_components()


class Stream:
    """One SSE subscriber on the gateway. .events: (monotonic time, data
    as parsed JSON) in arrival order; .closed set when the stream ends."""

    def __init__(self, flight_id, port=fo.GATEWAY_PORT):
        self.flight_id = flight_id
        self.events = []
        self.closed = threading.Event()
        self.cond = threading.Condition()
        self.sock = socket.create_connection((fo.HOST, port), timeout=fo.TIMEOUT)
        self.sock.sendall(("GET /flights/%d/seats/live HTTP/1.1\r\nHost: %s:%d\r\n"
                           "Accept: text/event-stream\r\n\r\n"
                           % (flight_id, fo.HOST, port)).encode())
        self.buf = b""
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip()
                        for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        # Reads block on the thread; close() ends them.
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read_until(self, mark):
        while mark not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("live stream closed before %r" % mark)
            self.buf += data
        head, self.buf = self.buf.split(mark, 1)
        return head

    def _body(self):
        """The body's bytes as they come (chunked or not)."""
        if not self.chunked:
            if self.buf:
                yield self.buf
                self.buf = b""
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                yield data
        while True:
            size = int(self._read_until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                return
            while len(self.buf) < size + 2:
                data = self.sock.recv(65536)
                if not data:
                    return
                self.buf += data
            yield self.buf[:size]
            self.buf = self.buf[size + 2:]

    def _run(self):
        text = b""
        try:
            for data in self._body():
                text += data.replace(b"\r\n", b"\n")
                while b"\n\n" in text:
                    block, text = text.split(b"\n\n", 1)
                    lines = [line[5:].lstrip() for line in block.split(b"\n")
                             if line.startswith(b"data:")]
                    if lines:  # comments (": hi", pings) carry no data
                        event = json.loads(b"\n".join(lines))
                        with self.cond:
                            self.events.append((time.monotonic(), event))
                            self.cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()
            with self.cond:
                self.cond.notify_all()

    def wait(self, seat, status, since=0, timeout=EVENT_WAIT):
        """The arrival time of the first event at index >= since saying
        seat is status; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, e in self.events[since:]:
                    if e == {"seat_number": seat, "status": status}:
                        return t
                left = deadline - time.monotonic()
                if left <= 0 or self.closed.is_set():
                    raise AssertionError("no event %s %s on flight %d within %.0f s (got %r%s)"
                                         % (seat, status, self.flight_id, timeout, self.events,
                                            ", stream closed" if self.closed.is_set() else ""))
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.events)

    def after(self, index):
        with self.cond:
            return [e for _, e in self.events[index:]]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(fo.TIMEOUT)


class Client:
    """A seat map as a client keeps it: the map read after subscribing,
    then every event that arrived after that read's answer."""

    def __init__(self, flight_id):
        self.flight_id = flight_id
        self.streams = []
        self.open()

    def open(self):
        """(Re)open the stream, then re-read the map. An earlier stream
        is left open (close() ends them all)."""
        self.stream = Stream(self.flight_id)
        self.streams.append(self.stream)
        self.seats = fo.seat_map(self.flight_id, fo.GATEWAY)
        self.mark = self.stream.count()

    def view(self):
        seats = dict(self.seats)
        for e in self.stream.after(self.mark):
            seats[e["seat_number"]] = e["status"]
        return seats

    def close(self):
        for s in self.streams:
            s.close()


def latency(what, start, arrived):
    print("live: %-28s arrived %4.0f ms after the request was sent"
          % (what, (arrived - start) * 1000.0))


class LiveBase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS, fo.PAYMENTS):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token(fo.USERS)
        (cls.alice, _, cls.token), = fo.new_users(1)

    def flight(self, seats=12):
        return fo.create_flight(self.admin, fo.FLIGHTS, total_seats=seats)

    def client(self, flight_id):
        c = Client(flight_id)
        self.addCleanup(c.close)
        return c

    def book(self, flight_id, seat):
        r = fo.book(self.token, flight_id, seat, base=fo.GATEWAY)
        self.assertEqual(r.status, 201, fo.describe(r))
        return r.body


class LiveStream(LiveBase):

    def test_stream_is_sse_held_by_nginx(self):
        f = self.flight()
        s = Stream(f["id"])
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers.get("content-type", "").startswith("text/event-stream"),
                        s.headers)
        # Nobody has changed a seat: no event, and the stream stays open.
        self.assertFalse(s.closed.wait(1.0))
        self.assertEqual(s.count(), 0)

    def test_refusals_are_the_apis(self):
        url = "%s/flights/%d/seats/live" % (fo.GATEWAY, self.flight()["id"])
        r = fo.get(url, headers={"Accept": "application/json"})
        self.assertEqual(r.status, 406, fo.describe(r))
        self.assertEqual(r.body, {"detail": "The live seat map is an event stream: "
                                            "send Accept: text/event-stream"})
        self.assertTrue(r.headers.get("X-Request-ID"))
        for method in ("POST", "PUT", "DELETE"):
            r = fo.request(method, url, json={"seat_number": "1A", "status": "booked"},
                           headers={"Accept": "text/event-stream"})
            self.assertEqual(r.status, 405, fo.describe(r))
            self.assertEqual(r.body, {"detail": "Method Not Allowed"})
            self.assertEqual(r.headers.get("Allow"), "GET")
            self.assertTrue(r.headers.get("X-Request-ID"))

    def test_publisher_is_not_routed_by_the_gateway(self):
        f = self.flight()
        for path in ("/flights/%d" % f["id"], "/pub/%d" % f["id"],
                     "/internal/live/flights/%d" % f["id"]):
            r = fo.post(fo.GATEWAY + path, json={"seat_number": "1A", "status": "booked"})
            self.assertNotIn(r.status, (200, 201, 202), "%s: %s" % (path, fo.describe(r)))
        self.assertEqual(fo.seat_map(f["id"], fo.GATEWAY)["1A"], "available")

    def test_hold_pay_cancel_each_arrive(self):
        f = self.flight()
        c = self.client(f["id"])
        self.assertEqual(set(c.view().values()), {"available"})
        sent = time.monotonic()
        b = self.book(f["id"], "1A")
        latency("hold 1A -> held", sent, c.stream.wait("1A", "held"))

        sent = time.monotonic()
        r = fo.pay(self.token, b, base=fo.GATEWAY)
        self.assertIn(r.status, (200, 201, 202), fo.describe(r))
        latency("payment 1A -> booked", sent, c.stream.wait("1A", "booked"))
        fo.wait_booking(self.token, b["id"], "confirmed", base=fo.GATEWAY)

        sent = time.monotonic()
        r = fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b["id"]), token=self.token)
        self.assertEqual(r.status, 200, fo.describe(r))
        latency("cancel 1A -> available", sent, c.stream.wait("1A", "available"))

        # An unpaid hold cancelled frees its seat too.
        b = self.book(f["id"], "2B")
        c.stream.wait("2B", "held")
        sent = time.monotonic()
        r = fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b["id"]), token=self.token)
        self.assertEqual(r.status, 200, fo.describe(r))
        latency("cancel hold 2B -> available", sent, c.stream.wait("2B", "available"))
        self.assertEqual(c.view(), fo.seat_map(f["id"], fo.GATEWAY))

    def test_channels_are_per_flight(self):
        f, g = self.flight(), self.flight()
        cf, cg = self.client(f["id"]), self.client(g["id"])
        self.book(g["id"], "1A")
        cg.stream.wait("1A", "held")
        b = self.book(f["id"], "1C")
        cf.stream.wait("1C", "held")
        self.assertEqual(cf.stream.after(0), [{"seat_number": "1C", "status": "held"}])
        self.assertEqual(cg.stream.after(0), [{"seat_number": "1A", "status": "held"}])
        fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b["id"]), token=self.token)

    def test_many_subscribers_on_one_flight_all_receive(self):
        f = self.flight()
        clients = [self.client(f["id"]) for _ in range(20)]
        sent = time.monotonic()
        self.book(f["id"], "2A")
        last = max(c.stream.wait("2A", "held") for c in clients)
        latency("hold 2A -> 20 subscribers", sent, last)


class LiveSharedByGateways(LiveBase):
    """Several gateways: a second nginx with its own Nchan publisher and
    subscribers (channels in its own memory), listed next to the stack's in
    the bookings pool's LIVE_PUBLISH_URL, gets every seat change too."""

    PORT = fo.PORT_BASE + 92
    PUBLISH_PORT = fo.PORT_BASE + 93

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="fo-live-")
        os.chmod(cls.dir, 0o755)
        conf = os.path.join(cls.dir, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("""load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %(d)s/body;
	proxy_temp_path %(d)s/proxy;
	fastcgi_temp_path %(d)s/fastcgi;
	uwsgi_temp_path %(d)s/uwsgi;
	scgi_temp_path %(d)s/scgi;
	server {
		listen 127.0.0.1:%(port)d;
		location ~ ^/flights/(\\d+)/seats/live$ {
			nchan_subscriber eventsource;
			nchan_channel_id "flight-$1";
			nchan_subscriber_first_message newest;
		}
	}
	server {
		listen 127.0.0.1:%(pub)d;
		location ~ ^/flights/(\\d+)$ {
			nchan_publisher;
			nchan_channel_id "flight-$1";
		}
	}
}
""" % {"d": cls.dir, "port": cls.PORT, "pub": cls.PUBLISH_PORT})
        cls.nginx = subprocess.Popen(["nginx", "-g", "daemon off;", "-c", conf,
                                      "-e", os.path.join(cls.dir, "error.log")],
                                     stdin=subprocess.DEVNULL)

        def listening():
            if cls.nginx.poll() is not None:
                raise AssertionError("second nginx exited %d" % cls.nginx.returncode)
            with socket.socket() as s:
                return s.connect_ex((fo.HOST, cls.PORT)) == 0
        fo.wait_for(listening, 30, 0.1, "a second nginx on %d" % cls.PORT)
        urls = "http://%s:%d/flights http://%s:%d/flights" % (
            fo.HOST, fo.PORT_BASE + 90, fo.HOST, cls.PUBLISH_PORT)
        fo.restart_pool("bookings", fo.BOOKINGS, {"FO_LIVE_PUBLISH_URL": urls})

    @classmethod
    def tearDownClass(cls):
        try:
            fo.restart_pool("bookings", fo.BOOKINGS)
        finally:
            cls.nginx.terminate()
            try:
                cls.nginx.wait(15)
            except subprocess.TimeoutExpired:
                cls.nginx.kill()
                cls.nginx.wait(15)
            shutil.rmtree(cls.dir, ignore_errors=True)
            super().tearDownClass()

    def test_a_change_reaches_the_other_gateways_subscriber(self):
        f = self.flight()
        here = Stream(f["id"])
        self.addCleanup(here.close)
        there = Stream(f["id"], port=self.PORT)
        self.addCleanup(there.close)
        self.assertEqual(there.status, 200)
        sent = time.monotonic()
        b = self.book(f["id"], "1F")
        latency("hold 1F -> other gateway", sent, there.wait("1F", "held"))
        here.wait("1F", "held")
        fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b["id"]), token=self.token)
        there.wait("1F", "available")


class LiveAcrossPoolTrouble(fo.RestartedPool, LiveBase):
    """Expiry, and the bookings pool killed mid-flow with a publish lost:
    the subscriber's stream outlives the pool (nginx holds it), and a
    client that re-reads when it opens its stream again ends up right."""

    POOL, POOL_URL = "bookings", fo.BOOKINGS
    POOL_ENV = {"BOOKING_HOLD_SECONDS": str(HOLD)}

    def test_expired_hold_arrives(self):
        f = self.flight()
        c = self.client(f["id"])
        b = self.book(f["id"], "2C")
        c.stream.wait("2C", "held")
        sent = time.monotonic()
        arrived = c.stream.wait("2C", "available", timeout=HOLD + EVENT_WAIT)
        print("live: expiry of 2C arrived %.1f s after the hold (hold %d s, sweeper tick 1 s)"
              % (arrived - sent, HOLD))
        self.assertEqual(fo.get_booking(self.token, b["id"], fo.GATEWAY).body["status"],
                         "expired")
        self.assertEqual(c.view(), fo.seat_map(f["id"], fo.GATEWAY))

    def kill_bookings(self):
        """SIGKILL the bookings pool, master and workers (its own process
        group), and wait until they are gone."""
        pid = fo.read_pid("bookings")
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        fo.wait_for(lambda: not fo.alive(pid), 30, 0.1, "bookings pool %d to die" % pid)

    def test_pool_killed_and_publish_lost_client_ends_right(self):
        f = self.flight()
        c = self.client(f["id"])
        held = self.book(f["id"], "1A")
        c.stream.wait("1A", "held")

        fo.STOPPED.append("bookings")  # started again by restore_components if we fail here
        self.addCleanup(fo.restore_components)
        self.kill_bookings()
        # nginx holds the stream, not the pool: it is still open.
        self.assertFalse(c.stream.closed.wait(0.5))
        # Back with a publisher that is not there: what it commits now
        # (1A's expiry by the sweeper, a hold of 2A) is not published, as
        # if each worker had died between its COMMIT and its publish.
        # (2A's hold is long: it must still be held when the map is compared.)
        fo.component("start", "bookings", env={"BOOKING_HOLD_SECONDS": "120",
                                               "FO_LIVE_PORT": str(DEAD_PUBLISH_PORT)})
        fo.STOPPED.remove("bookings")
        fo.wait_healthy(fo.BOOKINGS)
        lost = self.book(f["id"], "2A")  # committed; its publish failed, logged
        fo.wait_booking(self.token, held["id"], "expired", timeout=HOLD + EVENT_WAIT,
                        base=fo.GATEWAY)
        truth = fo.seat_map(f["id"], fo.GATEWAY)
        self.assertEqual((truth["1A"], truth["2A"]), ("available", "held"))
        # What events alone show is now wrong for both seats...
        self.assertEqual((c.view()["1A"], c.view()["2A"]), ("held", "available"))

        # ...until a pool that can publish is back: its tick child publishes
        # again what changed in the last 30 s, and the stream that lived
        # through both restarts ends right without a re-read.
        sent = time.monotonic()
        fo.restart_pool("bookings", fo.BOOKINGS, {"BOOKING_HOLD_SECONDS": str(HOLD)})
        self.assertFalse(c.stream.closed.is_set(), "the stream outlived two pool restarts")
        t1 = c.stream.wait("1A", "available")
        t2 = c.stream.wait("2A", "held")
        latency("lost 1A, 2A -> republished", sent, max(t1, t2))
        self.assertEqual(c.view(), fo.seat_map(f["id"], fo.GATEWAY))
        # A client that opens its stream again re-reads and is right too.
        old = c.stream
        c.open()
        self.assertEqual(c.view(), fo.seat_map(f["id"], fo.GATEWAY))
        # Events go on: the new stream and the one that lived through it all.
        mark = old.count()
        r = fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, lost["id"]), token=self.token)
        self.assertEqual(r.status, 200, fo.describe(r))
        c.stream.wait("2A", "available")
        old.wait("2A", "available", since=mark)
        self.assertEqual(c.view(), fo.seat_map(f["id"], fo.GATEWAY))
        self.assertEqual(set(c.view().values()), {"available"})

    def test_redis_restart_harms_neither_streams_nor_api(self):
        """Channels are in nginx, not in Redis: a Redis restart leaves open
        streams open and fed, and the gateway's other requests answered."""
        f = self.flight()
        c = self.client(f["id"])
        log = os.path.join(fo.VAR, "log", "nginx.log")
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            mark = fh.tell()
        fo.STOPPED.append("redis")
        self.addCleanup(fo.restore_components)
        fo.component("stop", "redis")
        fo.component("start", "redis")
        fo.STOPPED.remove("redis")
        fo.wait_healthy(fo.BOOKINGS)
        self.assertFalse(c.stream.closed.is_set())
        sent = time.monotonic()
        b = self.book(f["id"], "2E")
        latency("hold 2E after a Redis restart", sent, c.stream.wait("2E", "held"))
        for _ in range(50):
            r = fo.get("%s/flights/%d" % (fo.GATEWAY, f["id"]))
            self.assertEqual(r.status, 200, fo.describe(r))
        fo.put("%s/bookings/%d/cancel" % (fo.GATEWAY, b["id"]), token=self.token)
        c.stream.wait("2E", "available")
        with open(log, "rb") as fh:
            fh.seek(mark)
            text = fh.read().decode("utf-8", "replace")
        self.assertNotIn("Bad file descriptor", text)
        self.assertNotIn("[alert]", text)


if __name__ == "__main__":
    unittest.main()
