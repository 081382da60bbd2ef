"""nginx in front of the pools: request ids, error bodies, limits, routing,
per-service ports and pools that are not running."""

import json
import os
import re
import unittest

import fo

REQ_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
OTHER_POOLS = fo.SERVICES[1:]


class GatewayTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)

    def assertJSON(self, r, status, body=None):
        self.assertEqual(r.status, status, fo.describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""), fo.describe(r))
        if body is not None:
            self.assertEqual(r.body, body, fo.describe(r))

    def one_request_id(self, r):
        ids = r.headers.get_all("X-Request-ID") or []
        self.assertEqual(len(ids), 1, "want one X-Request-ID: %s" % fo.describe(r))
        self.assertRegex(ids[0], REQ_ID, fo.describe(r))
        return ids[0]

    def sample_responses(self, extra_headers=None):
        """A mix of answers from nginx itself and from the pool."""
        h = dict(extra_headers or {})
        big = b'{"full_name": "' + b"x" * (70 * 1024) + b'"}'
        reqs = [
            ("GET", fo.GATEWAY + "/users/health", {}),
            ("GET", fo.GATEWAY + "/users/me", {}),
            ("GET", fo.GATEWAY + "/no-such-path", {}),
            ("DELETE", fo.GATEWAY + "/register", {}),
            ("POST", fo.GATEWAY + "/register", {"body": big}),
            ("POST", fo.GATEWAY + "/token", {"form": {"username": "x"}}),
            ("GET", fo.GATEWAY + "/openapi.json", {}),
            ("GET", fo.GATEWAY + "/internal/users/1", {}),
            ("GET", fo.USERS + "/health", {}),
            ("GET", fo.USERS + "/metrics", {}),
            ("GET", fo.USERS + "/no-such-path", {}),
            ("POST", fo.USERS + "/register", {"body": big}),
            ("GET", fo.service_url("flights") + "/health", {}),
        ]
        out = []
        for method, url, kw in reqs:
            headers = dict(h)
            if "body" in kw:
                headers["Content-Type"] = "application/json"
            out.append(fo.request(method, url, headers=headers, **kw))
        return out

    # ------------------------------------------------------------ request ids

    def test_request_id_on_every_response(self):
        seen = set()
        for r in self.sample_responses():
            with self.subTest(url=r.url, status=r.status):
                seen.add(self.one_request_id(r))
        self.assertGreater(len(seen), 1, "request ids repeat: %s" % seen)

    def test_request_id_of_caller_echoed(self):
        for method, url in (("GET", fo.GATEWAY + "/users/health"),
                            ("GET", fo.GATEWAY + "/no-such-path"),
                            ("DELETE", fo.GATEWAY + "/register"),
                            ("GET", fo.USERS + "/health"),
                            ("GET", fo.USERS + "/users/me")):
            rid = "itest-" + fo.unique("rid").replace("_", "-")
            with self.subTest(method=method, url=url):
                r = fo.request(method, url, headers={"X-Request-ID": rid})
                self.assertEqual(self.one_request_id(r), rid, fo.describe(r))

    def test_bad_request_id_replaced(self):
        for bad in ("has spaces in it", "x" * 200, "semi;colon", 'quote"d', "a" * 65):
            for url in (fo.GATEWAY + "/users/health", fo.USERS + "/health"):
                with self.subTest(id=bad[:20], url=url):
                    r = fo.get(url, headers={"X-Request-ID": bad})
                    got = self.one_request_id(r)
                    self.assertNotEqual(got, bad)

    def test_request_id_in_pool_log(self):
        rid = "itest-log-" + fo.unique("rid").replace("_", "-")
        r = fo.get(fo.USERS + "/users/me", headers={"X-Request-ID": rid})
        self.assertEqual(r.status, 401, fo.describe(r))
        path = os.path.join(fo.VAR, "log", "users.log")

        def logged():
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if rid in line:
                        return json.loads(line)
            return None
        line = fo.wait_for(logged, 10, 0.2, "request id %s in %s" % (rid, path))
        self.assertEqual(line.get("request_id"), rid, line)

    # ------------------------------------------------------------ errors

    def test_unknown_path_404_json(self):
        for url in (fo.GATEWAY + "/no-such-path", fo.GATEWAY + "/usersx",
                    fo.USERS + "/no-such-path", fo.GATEWAY + "/users/1/nope"):
            with self.subTest(url=url):
                self.assertJSON(fo.get(url), 404, {"detail": "Not Found"})

    def test_wrong_method_405_with_allow(self):
        for base in (fo.GATEWAY, fo.USERS):
            for method in ("DELETE", "GET", "PUT"):
                with self.subTest(base=base, method=method):
                    r = fo.request(method, base + "/register")
                    self.assertJSON(r, 405, {"detail": "Method Not Allowed"})
                    allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
                    self.assertIn("POST", allow, fo.describe(r))
                    self.assertNotIn(method, allow, fo.describe(r))

    def test_body_over_64k_413_json(self):
        body = json.dumps(fo.new_user_body(full_name="x" * (70 * 1024)))
        for base in (fo.GATEWAY, fo.USERS):
            with self.subTest(base=base):
                r = fo.post(base + "/register", body=body,
                            headers={"Content-Type": "application/json"})
                self.assertJSON(r, 413)
                self.assertIsInstance(r.body.get("detail"), str, fo.describe(r))

    def test_internal_never_routed_by_gateway(self):
        key = fo.secrets()["SERVICE_KEY"]
        for headers in ({}, {"X-Service-Key": key}):
            for path in ("/internal/users/1", "/internal/users/2", "/internal/"):
                with self.subTest(path=path, key=bool(headers)):
                    r = fo.get(fo.GATEWAY + path, headers=headers)
                    self.assertJSON(r, 404)

    # ------------------------------------------------------------ served by nginx

    def test_openapi_json(self):
        r = fo.get(fo.GATEWAY + "/openapi.json")
        self.assertJSON(r, 200)
        self.assertIsInstance(r.body, dict, fo.describe(r))
        self.assertTrue(str(r.body.get("openapi", "")).startswith("3.1"), r.body.get("openapi"))
        paths = r.body.get("paths", {})
        for p in ("/register", "/token", "/users/me"):
            self.assertIn(p, paths)

    def test_server_header_has_no_version(self):
        for r in self.sample_responses():
            with self.subTest(url=r.url):
                server = r.headers.get("Server", "")
                self.assertNotRegex(server, r"\d", fo.describe(r))

    # ------------------------------------------------------------ health, metrics

    def token_flood(self, port, path, source, n=300, workers=16):
        """n quick POSTs of a malformed form (422 from the pool, no hashing)
        to path on nginx's port from the loopback address source: the
        (status, body) of each."""
        import concurrent.futures
        import http.client

        def one(_):
            c = http.client.HTTPConnection(fo.HOST, port, timeout=fo.TIMEOUT,
                                           source_address=(source, 0))
            try:
                c.request("POST", path, body="username=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
                r = c.getresponse()
                return r.status, r.read()
            finally:
                c.close()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(n)))

    def test_token_limited_per_address(self):
        # Each from an address of its own (127.0.0.0/8 is all loopback), so
        # other tests' logins from 127.0.0.1 are not limited by this flood.
        # /token/ is no route (one spelling per path): a 404 from the pool,
        # which costs it nothing, so the limit counts /token only.
        users_port = fo.service_port("users")
        for port, path, source in ((fo.GATEWAY_PORT, "/token", "127.0.0.41"),
                                   (users_port, "/token", "127.0.0.42"),
                                   (users_port, "//token//", "127.0.0.43")):
            with self.subTest(port=port, path=path):
                got = self.token_flood(port, path, source)
                statuses = sorted({s for s, _ in got})
                if path != "/token":
                    self.assertEqual(statuses, [404])
                    continue
                self.assertIn(429, statuses, "%s was never limited: %s" % (path, statuses))
                limited = [b for s, b in got if s == 429]
                self.assertEqual(json.loads(limited[0]), {"detail": "Too many requests"})
                self.assertTrue(set(statuses) <= {422, 429}, statuses)

    def test_register_limited_per_address(self):
        # Invalid bodies (422) cost the pool nothing, so the flood is cheap;
        # the limit must answer before the pool does, from one address only.
        for port, source in ((fo.GATEWAY_PORT, "127.0.0.44"),
                             (fo.service_port("users"), "127.0.0.45")):
            with self.subTest(port=port):
                got = self.token_flood(port, "/register", source)
                statuses = sorted({s for s, _ in got})
                self.assertIn(429, statuses, "/register was never limited: %s" % statuses)
                self.assertTrue(set(statuses) <= {400, 415, 422, 429}, statuses)
        # Another address still registers.
        r, _ = fo.register(base=fo.GATEWAY)
        self.assertEqual(r.status, 201, fo.describe(r))

    # ------------------------------------------------ one spelling per path

    def test_trailing_slash_is_404_everywhere(self):
        _, _, token = fo.new_user()
        for base in (fo.GATEWAY, fo.USERS):
            for method, path in (("GET", "/flights/"), ("GET", "/flights/1/"),
                                 ("GET", "/users/me/"), ("POST", "/register/"),
                                 ("POST", "/token/"), ("GET", "/bookings/")):
                url = (fo.FLIGHTS if base == fo.USERS and path.startswith("/flights")
                       else fo.BOOKINGS if base == fo.USERS and path.startswith("/bookings")
                       else base) + path
                with self.subTest(method=method, url=url):
                    r = fo.request(method, url, token=token)
                    self.assertJSON(r, 404, {"detail": "Not Found"})
        # the canonical spellings still answer
        self.assertEqual(fo.get(fo.GATEWAY + "/flights").status, 200)
        self.assertEqual(fo.get(fo.GATEWAY + "/users/me", token=token).status, 200)

    # --------------------------------------------- nginx's own errors, raw

    @staticmethod
    def raw(data, source="127.0.0.1", port=None):
        """Send raw bytes, read until the server closes: (status, headers
        text, body bytes)."""
        import socket
        s = socket.create_connection((fo.HOST, port or fo.GATEWAY_PORT), timeout=fo.TIMEOUT,
                                     source_address=(source, 0))
        out = b""
        try:
            s.sendall(data)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except ConnectionResetError:
            pass
        finally:
            s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        return int(lines[0].split()[1]), "\n".join(lines[1:]), body

    def test_nginx_own_errors_are_json(self):
        big = b"a" * 9000
        cases = (
            ("bad request line", b"garbage\r\n\r\n", 400),
            ("no Host", b"GET /flights HTTP/1.1\r\n\r\n", 400),
            ("HTTP/2.0 line", b"GET /flights HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("HTTP/3.0 line", b"GET /flights HTTP/3.0\r\nHost: x\r\n\r\n", 505),
            ("unknown transfer coding",
             b"POST /register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            ("huge header line", b"GET /flights HTTP/1.1\r\nHost: x\r\nX-Big: " + big
             + b"\r\n\r\n", 400),
            ("huge header set", b"GET /flights HTTP/1.1\r\nHost: x\r\n" + b"".join(
                b"X-H%d: %s\r\n" % (i, b"a" * 7000) for i in range(6)) + b"\r\n", 400),
            ("huge URI", b"GET /" + big + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("bad Content-Length",
             b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
            ("range past the end", b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n"
             b"Range: bytes=99999999-\r\nConnection: close\r\n\r\n", 416),
            ("path above the root",
             b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
            ("odd method",
             b"SECPROBE /flights HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
        )
        for what, data, status in cases:
            with self.subTest(what):
                got, headers, body = self.raw(data)
                self.assertEqual(got, status, "%s: %s %r" % (what, headers, body[:200]))
                self.assertIn("Content-Type: application/json", headers, what)
                self.assertIsInstance(json.loads(body).get("detail"), str, body)

    # --------------------------------------------------------- slow clients

    def test_slow_clients_do_not_starve_others(self):
        """300 connections from 127.0.0.9 that stop mid-header and 300
        that send a body one byte and stall; meanwhile every normal request
        from 127.0.0.1 answers, and 127.0.0.9 itself is held to its
        connection limit (429)."""
        import socket
        slow = []

        def open_slow(data):
            s = socket.create_connection((fo.HOST, fo.GATEWAY_PORT), timeout=fo.TIMEOUT,
                                         source_address=("127.0.0.9", 0))
            s.sendall(data)
            slow.append(s)
        try:
            for _ in range(300):
                open_slow(b"GET /flights HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            for _ in range(300):
                # not /register: its request limit would turn most away
                open_slow(b"POST /bookings HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            ok, statuses = 0, {}
            for i in range(100):
                path = ("/flights", "/users/health", "/openapi.json", "/flights/1")[i % 4]
                try:
                    st = fo.get(fo.GATEWAY + path).status
                except OSError as e:
                    st = type(e).__name__
                statuses[st] = statuses.get(st, 0) + 1
                ok += st == 200
            print("\nslow clients: 600 open from 127.0.0.9; normal requests: %d/100 ok %s"
                  % (ok, statuses))
            self.assertEqual(ok, 100, statuses)
            # The stalled bodies count against 127.0.0.9's limit (256).
            got, _, body = self.raw(b"GET /flights HTTP/1.1\r\nHost: x\r\n"
                                    b"Connection: close\r\n\r\n", source="127.0.0.9")
            self.assertEqual(got, 429, body)
            self.assertEqual(json.loads(body), {"detail": "Too many requests"})
        finally:
            for s in slow:
                s.close()

    def test_users_health_on_gateway(self):
        r = fo.get(fo.GATEWAY + "/users/health")
        self.assertJSON(r, 200, {"status": "healthy", "service": "user-service",
                                 "checks": {"database": "ok", "redis": "ok"}})

    def test_health_on_users_port(self):
        r = fo.get(fo.USERS + "/health")
        self.assertJSON(r, 200, {"status": "healthy", "service": "user-service",
                                 "checks": {"database": "ok", "redis": "ok"}})

    def test_metrics_on_users_port(self):
        fo.get(fo.USERS + "/health")
        r = fo.get(fo.USERS + "/metrics")
        self.assertEqual(r.status, 200, fo.describe(r))
        self.assertIn("text/plain", r.headers.get("Content-Type", ""), fo.describe(r))
        samples = fo.parse_prometheus(r.raw.decode())
        self.assertGreaterEqual(
            fo.metric(samples, "http_requests_total", method="GET", route="/health",
                      status="200"), 1)
        # Every histogram series of GET /health is consistent (series are
        # told apart by all their labels but le).
        series = {}
        for n, l, v in samples:
            if (n == "http_request_duration_seconds_bucket" and l.get("method") == "GET"
                    and l.get("route") == "/health"):
                key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
                series.setdefault(key, []).append((float(l["le"]), v))
        self.assertTrue(series, "no http_request_duration_seconds_bucket for GET /health")
        for key, buckets in series.items():
            with self.subTest(series=key):
                buckets.sort(key=lambda b: b[0])
                les = [le for le, _ in buckets]
                self.assertEqual(len(les), len(set(les)), buckets)
                self.assertEqual(les[-1], float("inf"), buckets)
                counts = [c for _, c in buckets]
                self.assertEqual(counts, sorted(counts), "buckets not cumulative: %s" % buckets)
                lab = dict(key)
                count = fo.metric(samples, "http_request_duration_seconds_count", **lab)
                self.assertEqual(count, counts[-1], key)
                self.assertGreaterEqual(
                    fo.metric(samples, "http_request_duration_seconds_sum", **lab), 0)
        self.assertGreaterEqual(sum(b[-1][1] for b in series.values()), 1)

    # ------------------------------------------------------------ missing pools

    def test_pools_not_running_answer_502_json(self):
        want = {"detail": "Service unavailable"}
        for svc in OTHER_POOLS:
            with self.subTest(pool=svc):
                r = fo.get(fo.service_url(svc) + "/health")
                if r.status != 502:
                    self.skipTest("%s pool answers %d on :%d, so it is running; the 502 check "
                                  "needs a pool that is not" % (svc, r.status,
                                                                fo.service_port(svc)))
                self.assertJSON(r, 502, want)
                self.one_request_id(r)
                for path in ("/%s/health" % svc, "/%s" % svc, "/%s/1" % svc):
                    r = fo.get(fo.GATEWAY + path)
                    self.assertJSON(r, 502, want)
                    self.one_request_id(r)

    # ------------------------------------------------ the pools' sockets

    @staticmethod
    def pool_socket(pool):
        with open("/proc/%d/environ" % fo.read_pid(pool), "rb") as f:
            env = dict(x.decode().split("=", 1) for x in f.read().split(b"\0") if x)
        listen = env.get("LISTEN", "")
        return listen[len("unix:"):] if listen.startswith("unix:") else None

    def test_pool_sockets_0660_nginx_group(self):
        import grp
        import stat
        for pool in fo.SERVICES:
            path = self.pool_socket(pool)
            if path is None:
                continue  # a TCP pool (FO_POOL_ADDR): no file to guard
            with self.subTest(pool=pool):
                st = os.stat(path)
                self.assertTrue(stat.S_ISSOCK(st.st_mode), path)
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o660, path)
                # nginx.conf.in: `user nobody nogroup`
                self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "nogroup", path)

    def test_fastcgi_input_stalled_mid_body_is_dropped(self):
        """A FastCGI client that stops sending mid-body (nginx never does:
        it buffers bodies) is answered 400 and let go once the pool's
        receive timeout (30 s) passes; the pool serves others meanwhile."""
        import socket
        import struct
        path = self.pool_socket("users")
        if path is None:
            self.skipTest("users listens on TCP")

        def record(rtype, body):
            return struct.pack(">BBHHBB", 1, rtype, 1, len(body), 0, 0) + body

        def pair(k, v):
            return bytes([len(k), len(v)]) + k + v
        params = b"".join(pair(k, v) for k, v in (
            (b"REQUEST_METHOD", b"POST"), (b"DOCUMENT_URI", b"/register"),
            (b"REQUEST_URI", b"/register"), (b"CONTENT_TYPE", b"application/json"),
            (b"CONTENT_LENGTH", b"100"), (b"REMOTE_ADDR", b"127.0.0.1")))
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(120)
        s.connect(path)
        try:
            s.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) + record(4, b"")
                      + record(5, b'{"email": '))
            # the pool still answers others while this one stalls
            self.assertEqual(fo.get(fo.USERS + "/health").status, 200)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        print("\nstalled FastCGI body: pool answered %r" % out[8:40])
        self.assertIn(b"Status: 400", out)
        self.assertIn(b"Incomplete request body", out)


if __name__ == "__main__":
    unittest.main()
