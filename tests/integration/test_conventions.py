"""HTTP conventions through nginx, on the gateway and the service ports:
HEAD for every GET route (GET's status and headers, no body), a 405's
Allow naming HEAD, ETag / If-None-Match (304) on the public flight reads,
and CORS for the origin the test stack allows (fo.CORS_ORIGIN: stack.sh
sets CORS_ORIGINS): its headers on answers, a preflight answered 204 with
the route's methods, nothing for another origin. nginx's own errors (502,
429, 413 ...) carry no CORS headers: the pools decide CORS."""

import http.client
import unittest
import urllib.parse

import fo


def head(url, headers=None):
    """A HEAD request: (status, headers, body bytes read until close)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=fo.TIMEOUT)
    try:
        conn.request("HEAD", u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


class ConventionsTest(fo.ApiAsserts, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token()
        cls.flight = fo.create_flight(cls.admin, fo.FLIGHTS)

    def test_head_is_get_without_body(self):
        paths = ["/flights/%d" % self.flight["id"], "/flights?limit=2",
                 "/flights/%d/seats" % self.flight["id"], "/users/health", "/openapi.json"]
        for path in paths:
            with self.subTest(path=path):
                g = fo.get(fo.GATEWAY + path)
                status, headers, body = head(fo.GATEWAY + path)
                self.assertEqual(status, g.status, fo.describe(g))
                self.assertEqual(body, b"")
                self.assertEqual(headers.get("Content-Type"), g.headers.get("Content-Type"))
                if g.headers.get("ETag"):
                    self.assertEqual(headers.get("ETag"), g.headers.get("ETag"))
                if headers.get("Content-Length") is not None:
                    self.assertEqual(int(headers["Content-Length"]), len(g.raw))
        # a route that needs a token: the same 401
        status, headers, _ = head(fo.USERS + "/users/me")
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")

    def test_405_allow_names_head(self):
        r = fo.request("PATCH", "%s/flights/%d" % (fo.GATEWAY, self.flight["id"]))
        self.assertJSON(r, 405)
        allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
        self.assertIn("GET", allow)
        self.assertIn("HEAD", allow)
        r = fo.request("PATCH", fo.USERS + "/register")
        self.assertJSON(r, 405)
        self.assertNotIn("HEAD", r.headers.get("Allow", ""))

    def test_etag_and_304(self):
        for base in (fo.GATEWAY, fo.FLIGHTS):
            for path in ("/flights/%d" % self.flight["id"], "/flights?limit=3",
                         "/flights/search?origin=%s" % self.flight["origin"]):
                with self.subTest(base=base, path=path):
                    r = fo.get(base + path)
                    self.assertEqual(r.status, 200, fo.describe(r))
                    tag = r.headers.get("ETag")
                    self.assertRegex(tag or "", r'^"[0-9a-f]+-[0-9a-f]+"$', fo.describe(r))
                    self.assertEqual(r.headers.get("Cache-Control"), "no-cache")
                    again = fo.get(base + path, headers={"If-None-Match": tag})
                    self.assertEqual(again.status, 304, fo.describe(again))
                    self.assertEqual(again.raw, b"")
                    self.assertEqual(again.headers.get("ETag"), tag)
                    self.assertTrue(again.headers.get("X-Request-ID"))
                    other = fo.get(base + path, headers={"If-None-Match": '"0-0"'})
                    self.assertEqual(other.status, 200)
                    self.assertEqual(other.raw, r.raw)
        # the seat map (bookings) too
        seats = "%s/flights/%d/seats" % (fo.GATEWAY, self.flight["id"])
        r = fo.get(seats)
        self.assertEqual(fo.get(seats, headers={"If-None-Match": r.headers["ETag"]}).status, 304)

    def test_etag_changes_with_the_flight(self):
        path = "%s/flights/%d" % (fo.FLIGHTS, self.flight["id"])
        before = fo.get(path).headers.get("ETag")
        r = fo.put(path, json={"price": 123.45}, token=self.admin)
        self.assertEqual(r.status, 200, fo.describe(r))
        after = fo.get(path, headers={"If-None-Match": before})
        self.assertEqual(after.status, 200, fo.describe(after))
        self.assertNotEqual(after.headers.get("ETag"), before)

    def test_no_etag_on_private_reads(self):
        r = fo.get(fo.USERS + "/users/me", token=self.admin)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.headers.get("ETag"))
        self.assertEqual(r.headers.get("Cache-Control"), "no-store")

    def assertCors(self, r):
        self.assertEqual(r.headers.get("Access-Control-Allow-Origin"), fo.CORS_ORIGIN,
                         fo.describe(r))
        self.assertIn("Origin", r.headers.get("Vary", ""))
        expose = r.headers.get("Access-Control-Expose-Headers", "")
        for name in ("X-Request-ID", "X-Total-Count", "ETag", "Idempotent-Replayed",
                     "Retry-After"):
            self.assertIn(name, expose)
        # one of each, although nginx sits in front
        self.assertEqual(len(r.headers.get_all("Access-Control-Allow-Origin")), 1)

    def test_cors_allowed_origin(self):
        origin = {"Origin": fo.CORS_ORIGIN}
        for base in (fo.GATEWAY, fo.FLIGHTS):
            r = fo.get(base + "/flights?limit=1", headers=origin)
            self.assertEqual(r.status, 200)
            self.assertCors(r)
        r = fo.get(fo.GATEWAY + "/users/me", headers=origin)
        self.assertJSON(r, 401)
        self.assertCors(r)

    def test_cors_preflight(self):
        r = fo.request("OPTIONS", fo.GATEWAY + "/bookings", headers={
            "Origin": fo.CORS_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
        self.assertEqual(r.status, 204, fo.describe(r))
        self.assertCors(r)
        methods = [m.strip() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")]
        self.assertEqual(sorted(methods), ["GET", "HEAD", "POST"])
        allowed = r.headers.get("Access-Control-Allow-Headers", "").lower()
        for name in ("authorization", "content-type", "idempotency-key", "x-request-id"):
            self.assertIn(name, allowed)
        self.assertTrue(r.headers.get("Access-Control-Max-Age", "").isdigit())
        r = fo.request("OPTIONS", fo.GATEWAY + "/nothing-here", headers={
            "Origin": fo.CORS_ORIGIN, "Access-Control-Request-Method": "GET"})
        self.assertJSON(r, 404)

    def test_cors_other_origin(self):
        other = {"Origin": "https://evil.example"}
        r = fo.get(fo.GATEWAY + "/flights?limit=1", headers=other)
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))
        r = fo.request("OPTIONS", fo.GATEWAY + "/bookings",
                       headers=dict(other, **{"Access-Control-Request-Method": "POST"}))
        self.assertJSON(r, 405)
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"))
        self.assertIsNone(r.headers.get("Access-Control-Allow-Methods"))


if __name__ == "__main__":
    unittest.main()
