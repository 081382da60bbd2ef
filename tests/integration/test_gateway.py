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

    def test_token_limited_per_address_with_or_without_slash(self):
        # Each from an address of its own (127.0.0.0/8 is all loopback), so
        # other tests' logins from 127.0.0.1 are not limited by this flood.
        # The users port sends every path to the pool, whose router takes
        # /token/ as /token: the limit must too (the gateway 404s /token/).
        users_port = fo.service_port("users")
        for port, path, source in ((fo.GATEWAY_PORT, "/token", "127.0.0.41"),
                                   (users_port, "/token/", "127.0.0.42"),
                                   (users_port, "//token//", "127.0.0.43")):
            with self.subTest(port=port, path=path):
                got = self.token_flood(port, path, source)
                statuses = sorted({s for s, _ in got})
                self.assertIn(429, statuses, "%s was never limited: %s" % (path, statuses))
                limited = [b for s, b in got if s == 429]
                self.assertEqual(json.loads(limited[0]), {"detail": "Too many requests"})
                self.assertTrue(set(statuses) <= {422, 429}, statuses)

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


if __name__ == "__main__":
    unittest.main()
