"""Users API over HTTP, on the users port (:PORT_BASE+0) and the gateway.

Every test makes its own users with unique names, so the file can run again
and again against the same database.
"""

import random
import time
import unittest

import fo

INCORRECT = {"detail": "Incorrect username or password"}
NOT_AUTH = {"detail": "Not authenticated"}
BAD_CREDS = {"detail": "Could not validate credentials"}
FIELDS = ("email", "username", "full_name", "password")


class UsersChecks:
    """The checks; mixed into one TestCase per address (BASE)."""

    BASE = None

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)
        cls.alice, cls.alice_pw, cls.alice_token = fo.new_user(cls.BASE)
        cls.bob, cls.bob_pw, cls.bob_token = fo.new_user(cls.BASE)
        cls.admin = fo.admin_token(cls.BASE)

    # ------------------------------------------------------------ helpers

    def url(self, path):
        return self.BASE + path

    def assertJSON(self, r, status, body=None):
        self.assertEqual(r.status, status, fo.describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""), fo.describe(r))
        if body is not None:
            self.assertEqual(r.body, body, fo.describe(r))

    def assertUser(self, got, sent=None):
        self.assertIsInstance(got, dict)
        self.assertEqual(set(got), fo.USER_KEYS, got)
        self.assertIsInstance(got["id"], int)
        self.assertNotIsInstance(got["id"], bool)
        self.assertGreater(got["id"], 0)
        self.assertEqual(got["role"], "user")
        self.assertIs(got["is_active"], True)
        self.assertRegex(got["created_at"], fo.ISO_UTC)
        if sent is not None:
            self.assertEqual(got["email"], sent["email"])
            self.assertEqual(got["username"], sent["username"])
            self.assertEqual(got["full_name"], sent["full_name"])

    def assert422(self, r, field=None):
        """422 with a FastAPI-style detail list; field, when given, must be
        named by one item's loc ["body", field]."""
        self.assertJSON(r, 422)
        detail = r.body.get("detail") if isinstance(r.body, dict) else None
        self.assertIsInstance(detail, list, fo.describe(r))
        self.assertTrue(detail, fo.describe(r))
        for item in detail:
            self.assertIsInstance(item, dict, fo.describe(r))
            self.assertIsInstance(item.get("loc"), list, fo.describe(r))
            self.assertEqual(item["loc"][:1], ["body"], fo.describe(r))
            self.assertIsInstance(item.get("msg"), str, fo.describe(r))
            self.assertTrue(item["msg"], fo.describe(r))
            self.assertIsInstance(item.get("type"), str, fo.describe(r))
            self.assertTrue(item["type"], fo.describe(r))
        if field is not None:
            self.assertIn(["body", field], [i["loc"] for i in detail], fo.describe(r))

    def assert401(self, r, body):
        self.assertJSON(r, 401, body)
        self.assertTrue(r.headers.get("WWW-Authenticate", "").startswith("Bearer"),
                        fo.describe(r))

    def claims(self, user, **over):
        now = int(time.time())
        c = {"sub": user["username"], "uid": user["id"], "role": user["role"],
             "iat": now - 10, "exp": now + 600}
        c.update(over)
        return c

    def me(self, token):
        return fo.get(self.url("/users/me"), token=token)

    # ------------------------------------------------------------ register

    def test_register_login_me_flow(self):
        r, sent = fo.register(self.BASE)
        self.assertJSON(r, 201)
        self.assertUser(r.body, sent)
        user = r.body

        r = fo.login(self.BASE, sent["username"], sent["password"])
        self.assertJSON(r, 200)
        self.assertEqual(set(r.body), {"access_token", "token_type", "expires_in"}, r.body)
        self.assertEqual(r.body["token_type"], "bearer")
        self.assertIsInstance(r.body["expires_in"], int)
        self.assertGreater(r.body["expires_in"], 0)
        hdr, claims = fo.jwt_parts(r.body["access_token"])
        self.assertEqual(hdr.get("alg"), "HS256")
        self.assertEqual(claims["sub"], sent["username"])
        self.assertEqual(claims["uid"], user["id"])
        self.assertEqual(claims["role"], "user")
        self.assertEqual(claims["exp"] - claims["iat"], r.body["expires_in"])

        r = self.me(r.body["access_token"])
        self.assertJSON(r, 200, user)

    def test_register_never_returns_password_and_ignores_role(self):
        r, sent = fo.register(self.BASE, role="admin")
        self.assertJSON(r, 201)
        self.assertUser(r.body, sent)
        text = r.raw.decode()
        self.assertNotIn(sent["password"], text)
        self.assertNotIn("$y$", text)
        for word in ("password", "hash"):
            self.assertNotIn(word, text.lower())
        # The stored role is user too: the token says so.
        tok = fo.token_for(self.BASE, sent["username"], sent["password"])
        self.assertEqual(fo.jwt_parts(tok)[1]["role"], "user")
        r = fo.get(self.url("/users/%d" % self.alice["id"]), token=tok)
        self.assertJSON(r, 403, {"detail": "Not enough permissions"})

    def test_duplicate_email_is_409_case_insensitive(self):
        r, sent = fo.register(self.BASE)
        self.assertJSON(r, 201)
        for email in (sent["email"], sent["email"].upper()):
            with self.subTest(email=email):
                r2, _ = fo.register(self.BASE, email=email)
                self.assertJSON(r2, 409, {"detail": "Email already registered"})

    def test_duplicate_username_is_409_case_insensitive(self):
        r, sent = fo.register(self.BASE)
        self.assertJSON(r, 201)
        for name in (sent["username"], sent["username"].upper()):
            with self.subTest(username=name):
                r2, _ = fo.register(self.BASE, username=name)
                self.assertJSON(r2, 409, {"detail": "Username already taken"})

    def test_register_422_invalid_fields(self):
        cases = [
            ("email", "not-an-email"), ("email", "user@"), ("email", "@example.com"),
            ("email", "a b@example.com"), ("email", ""),
            ("username", "ab"), ("username", "x" * 33), ("username", "bad name"),
            ("username", "bad!name"), ("username", "b\u00e4d_name"), ("username", ""),
            ("password", "x" * 7), ("password", "x" * 73),
            ("password", "\u00e9" * 37),  # 37 characters, 74 bytes
            ("full_name", ""), ("full_name", "x" * 129),
            ("username", 12345), ("username", True), ("email", None),
            ("password", ["secret-password"]), ("full_name", {"a": 1}),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                r, _ = fo.register(self.BASE, **{field: value})
                self.assert422(r, field)

    def test_register_422_missing_each_field(self):
        for field in FIELDS:
            with self.subTest(missing=field):
                body = fo.new_user_body()
                del body[field]
                r = fo.post(self.url("/register"), json=body)
                self.assert422(r, field)

    def test_register_422_empty_object_names_every_field(self):
        r = fo.post(self.url("/register"), json={})
        self.assert422(r)
        locs = [i["loc"] for i in r.body["detail"]]
        for field in FIELDS:
            self.assertIn(["body", field], locs)

    def test_register_422_not_an_object(self):
        # Well-formed JSON that is not an object: 422, not 400.
        for raw in ("[]", '"a string"', "42", "4.5", "true", "null", " [1, 2] \n"):
            with self.subTest(body=raw):
                r = fo.post(self.url("/register"), body=raw,
                            headers={"Content-Type": "application/json"})
                self.assert422(r)

    def test_register_400_malformed_json(self):
        for raw in ('{"email": ', "{email: 1}", '{"a":1,}', "not json at all"):
            with self.subTest(body=raw):
                r = fo.post(self.url("/register"), body=raw,
                            headers={"Content-Type": "application/json"})
                self.assertJSON(r, 400)
                self.assertIn("detail", r.body, fo.describe(r))

    def test_register_boundaries_accepted(self):
        name32 = (fo.unique("b") + "_" * 32)[:32]
        cases = [
            {"username": name32},
            {"password": "p" * 8},
            {"password": "p" * 72},
            {"password": "\u00e9" * 36},  # 72 bytes
            {"full_name": "f" * 128},
        ]
        for over in cases:
            with self.subTest(**{k: len(v) for k, v in over.items()}):
                r, sent = fo.register(self.BASE, **over)
                self.assertJSON(r, 201)
                self.assertUser(r.body, sent)
                r = fo.login(self.BASE, sent["username"], sent["password"])
                self.assertJSON(r, 200)

    def test_register_three_character_username(self):
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_.-"
        rng = random.Random()
        for _ in range(40):
            name = "".join(rng.choice(alphabet) for _ in range(3))
            r, sent = fo.register(self.BASE, username=name)
            if r.status == 409:
                continue  # taken by an earlier run
            self.assertJSON(r, 201)
            self.assertEqual(r.body["username"], name)
            return
        self.fail("40 random 3-character usernames were all taken")

    # ------------------------------------------------------------ token

    def test_token_json_body_accepted(self):
        r = fo.post(self.url("/token"),
                    json={"username": self.alice["username"], "password": self.alice_pw})
        self.assertJSON(r, 200)
        self.assertEqual(r.body["token_type"], "bearer")
        self.assertJSON(self.me(r.body["access_token"]), 200, self.alice)

    def test_token_wrong_password_and_unknown_user_same_401(self):
        bad = fo.login(self.BASE, self.bob["username"], self.bob_pw + "x")
        unknown = fo.login(self.BASE, fo.unique("nobody"), "whatever-password")
        self.assert401(bad, INCORRECT)
        self.assert401(unknown, INCORRECT)
        self.assertEqual(bad.raw, unknown.raw)
        self.assertEqual(bad.headers.get("WWW-Authenticate"),
                         unknown.headers.get("WWW-Authenticate"))

    def test_token_missing_fields_422(self):
        for form in ({"username": self.bob["username"]}, {"password": "x" * 10}, {}):
            with self.subTest(form=form):
                r = fo.post(self.url("/token"), form=form)
                self.assertJSON(r, 422)

    def test_token_malformed_form_400(self):
        for raw in (b"username=bob&password=%zz", b"username=%&password=x", b"username=a%00b&password=x"):
            with self.subTest(body=raw):
                r = fo.post(self.url("/token"), body=raw,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertJSON(r, 400)

    # ------------------------------------------------------------ /users/me

    def test_me_with_token(self):
        self.assertJSON(self.me(self.alice_token), 200, self.alice)
        self.assertJSON(self.me(self.bob_token), 200, self.bob)

    def test_me_without_token_401(self):
        self.assert401(fo.get(self.url("/users/me")), NOT_AUTH)

    def test_me_garbage_tokens_401(self):
        for tok in ("garbage", "a.b.c", "....", "x" * 2000):
            with self.subTest(token=tok[:20]):
                self.assert401(self.me(tok), BAD_CREDS)

    def test_me_hand_signed_control_token_accepted(self):
        # Proves the hand-built tokens below differ only in what is tested.
        key = fo.secrets()["SECRET_KEY"]
        tok = fo.make_jwt(self.claims(self.alice), key)
        self.assertJSON(self.me(tok), 200, self.alice)

    def test_me_alg_none_401(self):
        c = self.claims(self.alice)
        for hdr in ({"alg": "none", "typ": "JWT"}, {"alg": "None", "typ": "JWT"},
                    {"alg": "NONE"}):
            with self.subTest(header=hdr):
                tok = fo.make_jwt(c, alg="none", header=hdr)
                self.assert401(self.me(tok), BAD_CREDS)

    def test_me_wrong_key_401(self):
        tok = fo.make_jwt(self.claims(self.alice), "a-completely-different-key-of-40-bytes!!")
        self.assert401(self.me(tok), BAD_CREDS)

    def test_me_tampered_payload_401(self):
        key = fo.secrets()["SECRET_KEY"]
        good = fo.make_jwt(self.claims(self.alice), key)
        forged = fo.make_jwt(self.claims(self.alice, role="admin"), key)
        tok = forged.rsplit(".", 1)[0] + "." + good.rsplit(".", 1)[1]
        self.assert401(self.me(tok), BAD_CREDS)

    def test_me_expired_token_401(self):
        key = fo.secrets()["SECRET_KEY"]
        now = int(time.time())
        tok = fo.make_jwt(self.claims(self.alice, iat=now - 3600, exp=now - 1800), key)
        self.assert401(self.me(tok), BAD_CREDS)

    def test_me_other_algorithms_401(self):
        key = fo.secrets()["SECRET_KEY"]
        for alg in ("HS512", "HS384"):
            with self.subTest(alg=alg):
                tok = fo.make_jwt(self.claims(self.alice), key, alg=alg)
                self.assert401(self.me(tok), BAD_CREDS)

    # ------------------------------------------------------------ /users/{id}

    def test_user_by_id_as_admin(self):
        r = fo.get(self.url("/users/%d" % self.alice["id"]), token=self.admin)
        self.assertJSON(r, 200, self.alice)

    def test_user_by_id_as_user_403(self):
        for uid in (self.alice["id"], self.bob["id"]):
            with self.subTest(id=uid):
                r = fo.get(self.url("/users/%d" % uid), token=self.bob_token)
                self.assertJSON(r, 403, {"detail": "Not enough permissions"})

    def test_user_by_id_without_auth_401(self):
        r = fo.get(self.url("/users/%d" % self.alice["id"]))
        self.assert401(r, NOT_AUTH)

    def test_user_by_id_unknown_404(self):
        for path in ("/users/2000000000", "/users/abc", "/users/0", "/users/-1"):
            with self.subTest(path=path):
                r = fo.get(self.url(path), token=self.admin)
                self.assertJSON(r, 404)
                self.assertIsInstance(r.body.get("detail"), str, fo.describe(r))
        r = fo.get(self.url("/users/2000000000"), token=self.admin)
        self.assertJSON(r, 404, {"detail": "User not found"})

    def test_user_by_id_with_service_key(self):
        # The service credential works on the service port only: the public
        # gateway drops the header, so there it is as if none was sent.
        key = fo.secrets()["SERVICE_KEY"]
        r = fo.get(self.url("/users/%d" % self.alice["id"]), headers={"X-Service-Key": key})
        if self.BASE == fo.GATEWAY:
            self.assertJSON(r, 401)
        else:
            self.assertJSON(r, 200, self.alice)

    def test_user_by_id_with_wrong_service_key_refused(self):
        r = fo.get(self.url("/users/%d" % self.alice["id"]),
                   headers={"X-Service-Key": "x" * 40})
        self.assertIn(r.status, (401, 403), fo.describe(r))
        self.assertJSON(r, r.status)

    # ------------------------------------------------------------ rate limit

    def fail_logins(self, username, n):
        return [fo.login(self.BASE, username, "wrong-password-%d" % i) for i in range(n)]

    def test_login_rate_limit_per_username(self):
        user, pw, _ = fo.new_user(self.BASE)
        answers = self.fail_logins(user["username"], 20)
        statuses = [r.status for r in answers]
        self.assertIn(429, statuses, statuses)
        first = statuses.index(429)
        self.assertLess(first, 19, "no 429 before the 20th failure: %s" % statuses)
        self.assertGreater(first, 0, statuses)
        self.assertEqual(statuses[:first], [401] * first, statuses)
        self.assertEqual(statuses[first:], [429] * (20 - first), statuses)
        limited = answers[first]
        self.assertJSON(limited, 429)
        self.assertIsInstance(limited.body.get("detail"), str, fo.describe(limited))
        retry = limited.headers.get("Retry-After", "")
        self.assertTrue(retry.isdigit() and int(retry) > 0, fo.describe(limited))

        # While the window lasts even the right password is refused ...
        r = fo.login(self.BASE, user["username"], pw)
        self.assertJSON(r, 429)
        # ... but other users are not affected.
        self.assertJSON(self.me(fo.token_for(self.BASE, self.bob["username"], self.bob_pw)),
                        200, self.bob)

        # A success clears the count: first-1 failures, success, first-1 failures.
        user2, pw2, _ = fo.new_user(self.BASE)
        for round_ in range(2):
            got = [r.status for r in self.fail_logins(user2["username"], first - 1)]
            self.assertEqual(got, [401] * (first - 1), "round %d: %s" % (round_, got))
            r = fo.login(self.BASE, user2["username"], pw2)
            self.assertJSON(r, 200)


class UsersPortTest(UsersChecks, unittest.TestCase):
    BASE = fo.USERS

    def test_internal_user_with_service_key(self):
        key = fo.secrets()["SERVICE_KEY"]
        r = fo.get(self.url("/internal/users/%d" % self.alice["id"]),
                   headers={"X-Service-Key": key})
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("id"), self.alice["id"], fo.describe(r))
        self.assertEqual(r.body.get("email"), self.alice["email"], fo.describe(r))
        self.assertNotIn("password", r.raw.decode().lower())
        r = fo.get(self.url("/internal/users/2000000000"), headers={"X-Service-Key": key})
        self.assertJSON(r, 404)

    def test_internal_user_refuses_user_tokens(self):
        path = self.url("/internal/users/%d" % self.alice["id"])
        for who, tok in (("user", self.alice_token), ("admin", self.admin), ("nobody", None)):
            with self.subTest(caller=who):
                r = fo.get(path, token=tok)
                self.assertIn(r.status, (401, 403), fo.describe(r))
                self.assertJSON(r, r.status)
        r = fo.get(path, headers={"X-Service-Key": "x" * 40})
        self.assertIn(r.status, (401, 403), fo.describe(r))


class GatewayUsersTest(UsersChecks, unittest.TestCase):
    BASE = fo.GATEWAY


def lane_count(lane):
    """pool_lane_requests_total{lane=...} of the users pool (the scrape is
    answered by a request child, which counts as lane "main")."""
    return fo.metric(fo.scrape(fo.USERS), "pool_lane_requests_total", lane=lane)


def comm_and_nice(pid):
    """(process name, nice value) of pid, or None when it is gone."""
    try:
        with open("/proc/%d/comm" % pid, encoding="ascii") as f:
            comm = f.read().strip()
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            data = f.read()
    except OSError:
        return None
    return comm, int(data[data.rindex(")") + 2:].split()[16])


class LoginLaneTest(unittest.TestCase):
    """The gateway sends the routes that hash a password (POST /register,
    POST /token) to the users pool's login lane: children of their own, at
    a lower CPU priority, on their own socket (issue 12). /users/me stays
    with the other children."""

    @classmethod
    def setUpClass(cls):
        fo.wait_healthy(fo.USERS)

    def test_token_and_register_answered_by_the_lane(self):
        before = lane_count("login")
        user, password, token = fo.new_user(fo.GATEWAY)  # POST /register + POST /token
        after = lane_count("login")
        self.assertGreaterEqual(after - before, 2, "the login lane answered neither")
        r = fo.get(fo.GATEWAY + "/users/me", token=token)
        self.assertEqual(r.status, 200, fo.describe(r))
        self.assertEqual(r.body.get("username"), user["username"], fo.describe(r))
        # /users/me (and the scrapes) are the other children's
        self.assertEqual(lane_count("login"), after)
        self.assertGreater(lane_count("main"), 0)

    def test_lane_children_run_at_a_lower_priority(self):
        kids = [x for x in map(comm_and_nice, fo.children(fo.read_pid("users"))) if x]
        lane = [nice for comm, nice in kids if comm == "users:login"]
        main = [nice for comm, nice in kids if comm == "users:worker"]
        self.assertTrue(lane, "no users:login children among %s" % kids)
        self.assertTrue(main, "no users:worker children among %s" % kids)
        self.assertEqual(set(main), {0})
        self.assertTrue(all(n > 0 for n in lane), kids)


if __name__ == "__main__":
    unittest.main()
