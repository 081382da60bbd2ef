"""The interactive API page and what it relies on: /docs served by nginx as
static files with the right types and nothing from another origin, the
405s of the static files, POST /token as Swagger UI's password flow sends
it, and the limits openapi.json documents (Idempotency-Key, the 401
scheme). The page itself in a real browser: tests/browser/docs_test.mjs."""

import base64
import re
import unittest

import fo

TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".png": "image/png", ".map": "application/json", ".txt": "text/plain"}
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


class DocsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)

    def one_request_id(self, r):
        self.assertEqual(len(r.headers.get_all("X-Request-ID") or []), 1, fo.describe(r))

    def test_docs_and_redoc_redirect_to_the_page(self):
        for path in ("/docs", "/redoc"):
            with self.subTest(path=path):
                r = fo.get(fo.GATEWAY + path)
                self.assertEqual(r.status, 301, fo.describe(r))
                # relative, so it stays right behind a proxy or a mapped port
                self.assertEqual(r.headers.get("Location"), "/docs/", fo.describe(r))
                self.one_request_id(r)

    def test_page_and_its_files_are_served_locally(self):
        r = fo.get(fo.GATEWAY + "/docs/")
        self.assertEqual(r.status, 200, fo.describe(r))
        self.assertTrue(r.headers.get("Content-Type", "").startswith("text/html"), fo.describe(r))
        self.assertIn("default-src 'self'", r.headers.get("Content-Security-Policy", ""))
        self.one_request_id(r)
        assets = ASSET.findall(r.body)
        self.assertIn("swagger-ui-bundle.js", assets)
        for asset in assets + ["swagger-ui-LICENSE.txt", "swagger-ui.css.map"]:
            with self.subTest(asset=asset):
                self.assertNotRegex(asset, r"^(https?:)?//", "the page must not load other origins")
                a = fo.get(fo.GATEWAY + "/docs/" + asset)
                self.assertEqual(a.status, 200, fo.describe(a))
                ext = asset[asset.rfind("."):]
                self.assertTrue(a.headers.get("Content-Type", "").startswith(TYPES[ext]),
                                fo.describe(a))
                self.one_request_id(a)
        init = fo.get(fo.GATEWAY + "/docs/flightops-docs.js").body
        self.assertIn('"/openapi.json"', init)
        self.assertIn("validatorUrl: null", init)

    def test_missing_file_is_a_json_404(self):
        r = fo.get(fo.GATEWAY + "/docs/no-such-file.js")
        self.assertEqual((r.status, r.body), (404, {"detail": "Not Found"}), fo.describe(r))

    def test_static_files_answer_405_with_allow(self):
        for path in ("/openapi.json", "/docs/", "/docs/index.html"):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                with self.subTest(method=method, path=path):
                    r = fo.request(method, fo.GATEWAY + path, body=b"{}")
                    self.assertEqual((r.status, r.body), (405, {"detail": "Method Not Allowed"}),
                                     fo.describe(r))
                    self.assertEqual(r.headers.get("Allow"), "GET, HEAD", fo.describe(r))
                    self.one_request_id(r)

    def test_token_takes_what_swagger_ui_sends(self):
        _, body = fo.register(fo.GATEWAY)
        form = {"grant_type": "password", "username": body["username"],
                "password": body["password"], "scope": ""}
        basic = "Basic " + base64.b64encode(b"docs:").decode()
        for headers in ({}, {"Authorization": basic}, {"X-Requested-With": "XMLHttpRequest"}):
            with self.subTest(headers=headers):
                r = fo.post(fo.GATEWAY + "/token", form=dict(form, client_id="docs"),
                            headers=dict(headers, Accept="application/json, text/plain, */*"))
                self.assertEqual(r.status, 200, fo.describe(r))
                me = fo.get(fo.GATEWAY + "/users/me", token=r.body["access_token"])
                self.assertEqual(me.status, 200, fo.describe(me))
                self.assertEqual(me.body["username"], body["username"])

    def test_every_401_names_the_scheme(self):
        answers = [fo.get(fo.GATEWAY + "/users/me"),
                   fo.get(fo.GATEWAY + "/users/me", token="not-a-token"),
                   fo.get(fo.USERS + "/internal/users/1", headers={"X-Service-Key": "wrong"})]
        for r in answers:
            with self.subTest(url=r.url):
                self.assertEqual(r.status, 401, fo.describe(r))
                self.assertEqual(r.headers.get("WWW-Authenticate"), "Bearer", fo.describe(r))

    def test_idempotency_key_limits_are_the_documented_ones(self):
        """openapi.json: 1-255 printable ASCII characters without spaces."""
        _, _, token = fo.new_user(fo.USERS)
        booking = {"flight_id": 2 ** 62, "seat_number": "1A"}
        printable = "".join(chr(c) for c in range(0x21, 0x7F))
        good = (fo.unique("idem") + printable * 3)[:255]
        for key, ok in ((good, True), (fo.unique("k"), True), ("k" * 256, False),
                        ("a b", False), ("caf\u00e9", False)):
            with self.subTest(key=key[:20], length=len(key)):
                r = fo.post(fo.BOOKINGS + "/bookings", json=booking, token=token,
                            headers={"Idempotency-Key": key})
                header_error = r.status == 422 and isinstance(r.body.get("detail"), list) and \
                    any(e.get("loc") == ["header", "Idempotency-Key"] for e in r.body["detail"])
                self.assertEqual(not header_error, ok, fo.describe(r))
                if ok:
                    self.assertEqual(r.status, 404, fo.describe(r))  # no such flight


if __name__ == "__main__":
    unittest.main()
