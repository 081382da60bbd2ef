"""Notifications API over HTTP (the notifications port :PORT_BASE+4 and the
gateway) and the mailer (:PORT_BASE+5, /health and /metrics only): who may
queue a notification for whom, event_id idempotency, validation, the list's
filters and paging, ownership; then the email the mailer sends for it, read
from the SMTP sink's Maildir ($FO_VAR/mail/new): To, Subject by type,
Message-ID <notification-<id>@flightops.local>, the body, exactly one copy.

Every test makes its own users; emails are matched by Message-ID and by
the recipient's (unique) address. Waits are bounded; nothing asserts on
timing.
"""

import email.utils
import threading
import time
import unittest

import fo

FORBIDDEN = {"detail": "Not enough permissions"}
NOT_FOUND = {"detail": "Notification not found"}
MAIL_WAIT = 30.0  # seconds for a queued notification to be mailed (normally well under 1 s)
SUBJECTS = {"booking_confirmation": "Your booking is confirmed",
            "booking_cancellation": "Your booking was cancelled",
            "payment_failed": "Your payment failed",
            "hold_expired": "Your seat hold expired",
            "flight_update": "Flight update",
            "custom": "FlightOps notification"}


# The facts of each system type that has a template (event.h's keys).
SYSTEM_DATA = {
    "booking_confirmation": {"reference": "ABC234", "flight": "AA100", "origin": "JFK",
                             "destination": "LHR", "departure": "2030-01-01 10:00",
                             "seat": "1A", "total": "$100.00"},
    "booking_cancellation": {"reference": "ABC234", "seat": "1A", "flight": "AA100"},
    "hold_expired": {"reference": "ABC234", "seat": "1A", "flight": "AA100"},
    "payment_failed": {"booking": "ABC234", "amount": "$100.00"},
}


class NotificationsBase(fo.ApiAsserts):
    BASE = None  # serves /notifications

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.NOTIFICATIONS, fo.MAILER):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token()
        (cls.alice, _, cls.alice_token), (cls.bob, _, cls.bob_token) = fo.new_users(2)

    # ------------------------------------------------------------ helpers

    def body(self, user, **over):
        b = {"user_id": user["id"], "type": "custom",
             "message": "Hello from the tests " + fo.unique("msg")}
        b.update(over)
        return {k: v for k, v in b.items() if v is not None}

    def system_body(self, user, type, **over):
        """A system notification as a service sends it: the facts of a
        type with a template, else (flight_update) the service's text."""
        b = {"user_id": user["id"], "type": type}
        if type in SYSTEM_DATA:
            b["data"] = SYSTEM_DATA[type]
        else:
            b["message"] = "Flight update " + fo.unique("msg")
        b.update(over)
        return b

    def system(self, user, type, **over):
        """Queue it on the pool's own port (the gateway drops the key)."""
        r = fo.post(fo.NOTIFICATIONS + "/notifications", json=self.system_body(user, type, **over),
                    headers=fo.service_headers())
        self.assertJSON(r, 201)
        return r.body

    def create(self, token=None, body=None, headers=None):
        return fo.post(self.BASE + "/notifications", json=body, token=token, headers=headers)

    def created(self, token, body, headers=None):
        r = self.create(token, body, headers)
        self.assertJSON(r, 201)
        self.assertNotification(r.body, body)
        self.assertEqual(r.body["status"], "queued", r.body)
        self.assertIsNone(r.body["sent_at"], r.body)
        return r.body

    def get_one(self, token, nid, headers=None):
        return fo.get("%s/notifications/%d" % (self.BASE, nid), token=token, headers=headers)

    def listing(self, token, query="", headers=None):
        r = fo.get(self.BASE + "/notifications" + ("?" + query if query else ""), token=token,
                   headers=headers)
        self.assertJSON(r, 200)
        self.assertIsInstance(r.body, list, fo.describe(r))
        total = r.headers.get("X-Total-Count", "")
        self.assertTrue(total.isdigit(), "X-Total-Count: %s" % fo.describe(r))
        return r.body, int(total)

    def wait_status(self, token, nid, statuses=("sent",), timeout=MAIL_WAIT):
        def done():
            r = self.get_one(token, nid)
            return r.body if r.status == 200 and r.body["status"] in statuses else None
        return fo.wait_for(done, timeout, 0.1, "notification %d to become %s"
                           % (nid, "/".join(statuses)))

    # ------------------------------------------------------------ asserts

    def assertNotification(self, n, sent=None):
        self.assertIsInstance(n, dict)
        self.assertEqual(set(n), fo.NOTIFICATION_KEYS, n)
        self.assertIsInstance(n["id"], int, n)
        self.assertGreater(n["id"], 0)
        self.assertIn(n["type"], fo.NOTIFICATION_TYPES, n)
        self.assertIn(n["status"], ("queued", "sent", "failed"), n)
        self.assertRegex(n["created_at"], fo.ISO_UTC, n)
        if n["status"] == "sent":
            self.assertRegex(n["sent_at"] or "", fo.ISO_UTC, n)
        if sent is not None:
            self.assertEqual(n["user_id"], sent["user_id"], n)
            self.assertEqual(n["type"], sent["type"], n)
            if "message" in sent:
                self.assertEqual(n["message"], sent["message"], n)
            self.assertEqual(n["booking_id"], sent.get("booking_id"), n)


class NotificationsChecks(NotificationsBase):
    """The API checks; mixed into one TestCase per address.
    SERVICE_KEY_PASSES: whether X-Service-Key reaches the pool (not
    through the gateway, which drops it)."""

    SERVICE_KEY_PASSES = True

    # ------------------------------------------------------------ create

    def test_to_self_201_then_sent(self):
        body = self.body(self.alice)
        n = self.created(self.alice_token, body)
        r = self.get_one(self.alice_token, n["id"])
        self.assertJSON(r, 200)
        self.assertNotification(r.body, body)
        self.assertEqual(r.body["created_at"], n["created_at"])
        done = self.wait_status(self.alice_token, n["id"])
        self.assertNotification(done, body)
        rows, _ = self.listing(self.alice_token, "limit=200")
        self.assertIn(n["id"], [x["id"] for x in rows])

    def test_with_booking_id(self):
        body = self.body(self.alice, booking_id=123456789)
        n = self.created(self.alice_token, body)
        self.assertEqual(n["booking_id"], 123456789)

    def test_to_another_user_403(self):
        before, _ = self.listing(self.bob_token, "limit=200")
        r = self.create(self.alice_token, self.body(self.bob))
        self.assertJSON(r, 403, FORBIDDEN)
        after, _ = self.listing(self.bob_token, "limit=200")
        self.assertEqual([x["id"] for x in after], [x["id"] for x in before])

    def test_admin_and_service_to_anyone(self):
        by_admin = self.created(self.admin, self.body(self.bob))
        rows, _ = self.listing(self.bob_token, "limit=200")
        self.assertIn(by_admin["id"], [x["id"] for x in rows])
        body = self.system_body(self.bob, "booking_confirmation", booking_id=42)
        if not self.SERVICE_KEY_PASSES:
            # The gateway drops X-Service-Key: from outside it is no credential.
            self.assert401(self.create(None, body, headers=fo.service_headers()))
            return
        by_service = self.created(None, body, headers=fo.service_headers())
        rows, _ = self.listing(self.bob_token, "limit=200")
        self.assertIn(by_service["id"], [x["id"] for x in rows])
        # ... and services read anyone's.
        r = self.get_one(None, by_admin["id"], headers=fo.service_headers())
        self.assertJSON(r, 200)
        self.assertEqual(r.body["user_id"], self.bob["id"])

    def test_users_send_only_custom(self):
        """A user (or admin) token cannot queue a system mail, with its
        own words or not; a service cannot put its text in a templated one."""
        for token, user in ((self.alice_token, self.alice), (self.admin, self.bob)):
            for t in fo.NOTIFICATION_TYPES:
                if t == "custom":
                    continue
                with self.subTest(type=t, admin=token == self.admin):
                    r = self.create(token, self.body(user, type=t,
                                    message="Your booking is confirmed, pay at http://evil.example/pay"))
                    self.assertJSON(r, 403, {"detail": "Users may only send custom notifications"})
                    r = self.create(token, self.system_body(user, t))
                    self.assertEqual(r.status, 403 if t == "flight_update" else 422,
                                     fo.describe(r))
        for t in SYSTEM_DATA:
            with self.subTest(service=t):
                r = fo.post(fo.NOTIFICATIONS + "/notifications", headers=fo.service_headers(),
                            json=self.body(self.alice, type=t, message="Your booking is ok"))
                self.assert422(r)
        rows, _ = self.listing(self.alice_token, "limit=200")
        self.assertFalse([x for x in rows if "evil.example" in x["message"]], rows)

    def test_no_token_401(self):
        self.assert401(self.create(None, self.body(self.alice)))
        self.assert401(fo.get(self.BASE + "/notifications"))
        self.assert401(fo.get(self.BASE + "/notifications/1"))
        r = self.create(None, self.body(self.alice), headers={"X-Service-Key": "x" * 40})
        self.assertIn(r.status, (401, 403), fo.describe(r))

    # ------------------------------------------------------------ event_id

    def test_event_id_makes_create_idempotent(self):
        event = fo.unique("evt")
        body = self.body(self.alice, event_id=event)
        first = self.created(self.alice_token, body)
        again = self.create(self.alice_token, body)
        self.assertJSON(again, 200)
        self.assertEqual(again.body["id"], first["id"])
        self.assertNotification(again.body, body)
        # The same event with another text still names the first one.
        other = self.create(self.alice_token, dict(body, message="something else"))
        self.assertJSON(other, 200)
        self.assertEqual(other.body["id"], first["id"])
        self.assertEqual(other.body["message"], body["message"])
        # Another caller's event ids are their own.
        bobs = self.created(self.bob_token, self.body(self.bob, event_id=event))
        self.assertNotEqual(bobs["id"], first["id"])
        rows, _ = self.listing(self.alice_token, "limit=200")
        self.assertEqual([x["id"] for x in rows].count(first["id"]), 1)
        if self.SERVICE_KEY_PASSES:
            svc = self.create(None, self.body(self.alice, event_id=event),
                              headers=fo.service_headers())
            self.assertJSON(svc, 201)
            svc_again = self.create(None, self.body(self.alice, event_id=event),
                                    headers=fo.service_headers())
            self.assertJSON(svc_again, 200)
            self.assertEqual(svc_again.body["id"], svc.body["id"])
            rows, _ = self.listing(self.alice_token, "limit=200")
            self.assertIn(svc.body["id"], [x["id"] for x in rows])
        # One email for the event, however often it was posted.
        self.wait_status(self.alice_token, first["id"])
        mails = fo.wait_mail(first["id"], self.alice["email"], MAIL_WAIT)
        self.assertEqual(len(mails), 1)

    def test_event_id_concurrent_posts_make_one(self):
        body = self.body(self.alice, event_id=fo.unique("evtc"))
        barrier = threading.Barrier(20, timeout=60)

        def one(_):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            return self.create(self.alice_token, body)

        answers = fo.parallel(one, range(20), workers=20)
        self.assertEqual([a for a in answers if isinstance(a, Exception)], [])
        statuses = sorted(a.status for a in answers)
        self.assertEqual(statuses, [200] * 19 + [201], [fo.describe(a) for a in answers
                                                        if a.status not in (200, 201)][:3])
        self.assertEqual(len({a.body["id"] for a in answers}), 1)

    # ------------------------------------------------------------ validation

    def test_validation_422(self):
        cases = [
            ({"user_id": None}, "user_id"), ({"user_id": "me"}, "user_id"),
            ({"user_id": 0}, "user_id"), ({"user_id": -1}, "user_id"),
            ({"user_id": 1.5}, "user_id"),
            ({"type": None}, "type"), ({"type": "sms"}, "type"), ({"type": ""}, "type"),
            ({"type": "CUSTOM"}, "type"), ({"type": 3}, "type"),
            ({"message": None}, "message"), ({"message": ""}, "message"),
            ({"message": "x" * 2001}, "message"), ({"message": 12}, "message"),
            ({"message": "bell \x07 here"}, "message"), ({"message": "nul \x00 here"}, "message"),
            ({"booking_id": 0}, "booking_id"), ({"booking_id": "x"}, "booking_id"),
            ({"event_id": ""}, "event_id"), ({"event_id": "e" * 129}, "event_id"),
            ({"event_id": "has space"}, "event_id"), ({"event_id": "caf\u00e9"}, "event_id"),
            ({"event_id": 7}, "event_id"),
        ]
        for over, field in cases:
            with self.subTest(over={k: repr(v)[:20] for k, v in over.items()}):
                # (a value of None leaves the field out)
                r = self.create(self.alice_token, self.body(self.alice, **over))
                self.assert422(r, ["body", field])
        for raw in ("[]", "null", "7", '{"user_id": 1'):
            with self.subTest(body=raw):
                r = fo.post(self.BASE + "/notifications", body=raw, token=self.alice_token,
                            headers={"Content-Type": "application/json"})
                self.assertIn(r.status, (400, 422), fo.describe(r))

    def test_boundaries_accepted(self):
        for over in ({"message": "x" * 2000}, {"message": "\u00e9" * 1000},
                     {"message": "line one\nline two\ttabbed"},
                     {"event_id": "E" * 128}, {"event_id": fo.unique("e") + "!~"}):
            with self.subTest(over={k: repr(v)[:20] for k, v in over.items()}):
                self.created(self.alice_token, self.body(self.alice, **over))

    # ------------------------------------------------------------ reads

    def test_list_filters_and_paging(self):
        user, _, token = fo.new_user()
        made = []
        for t in ("custom", "flight_update", "custom", "hold_expired", "custom"):
            made.append(self.created(token, self.body(user)) if t == "custom"
                        else self.system(user, t))
        ids = [n["id"] for n in reversed(made)]  # newest first
        rows, total = self.listing(token)
        self.assertEqual(([x["id"] for x in rows], total), (ids, 5))
        for row in rows:
            self.assertNotification(row)
            self.assertEqual(row["user_id"], user["id"])
        rows, total = self.listing(token, "type=custom")
        self.assertEqual(([x["id"] for x in rows], total),
                         ([n["id"] for n in reversed(made) if n["type"] == "custom"], 3))
        rows, total = self.listing(token, "type=payment_failed")
        self.assertEqual((rows, total), ([], 0))
        rows, total = self.listing(token, "limit=2")
        self.assertEqual(([x["id"] for x in rows], total), (ids[:2], 5))
        rows, total = self.listing(token, "limit=2&offset=2")
        self.assertEqual(([x["id"] for x in rows], total), (ids[2:4], 5))
        rows, total = self.listing(token, "skip=4")
        self.assertEqual(([x["id"] for x in rows], total), (ids[4:], 5))
        rows, total = self.listing(token, "offset=50")
        self.assertEqual((rows, total), ([], 5))
        rows, total = self.listing(token, "user_id=%d&type=custom&limit=1" % user["id"])
        self.assertEqual(([x["id"] for x in rows], total), (ids[:1], 3))
        # Someone else's user_id: 403 for a user, fine for an admin.
        r = fo.get(self.BASE + "/notifications?user_id=%d" % self.alice["id"], token=token)
        self.assertJSON(r, 403, FORBIDDEN)
        rows, total = self.listing(self.admin, "user_id=%d" % user["id"])
        self.assertEqual(([x["id"] for x in rows], total), (ids, 5))
        if self.SERVICE_KEY_PASSES:
            rows, total = self.listing(None, "user_id=%d" % user["id"],
                                       headers=fo.service_headers())
            self.assertEqual(([x["id"] for x in rows], total), (ids, 5))
        for query in ("type=sms", "type=Custom", "limit=0", "limit=201", "offset=-1", "user_id=x",
                      "user_id=0"):
            with self.subTest(query=query):
                self.assert422(fo.get(self.BASE + "/notifications?" + query, token=token))

    def test_others_notification_404(self):
        n = self.created(self.alice_token, self.body(self.alice))
        self.assertJSON(self.get_one(self.bob_token, n["id"]), 404, NOT_FOUND)
        rows, _ = self.listing(self.bob_token, "limit=200")
        self.assertNotIn(n["id"], [x["id"] for x in rows])
        r = self.get_one(self.admin, n["id"])
        self.assertJSON(r, 200)
        self.assertEqual(r.body["id"], n["id"])
        self.assertJSON(self.get_one(self.alice_token, 2000000000), 404, NOT_FOUND)
        r = fo.get(self.BASE + "/notifications/abc", token=self.alice_token)
        self.assertJSON(r, 404)

    # ------------------------------------------------------------ the email

    def test_email_lands_in_the_maildir(self):
        text = "Your gate changed to B%d. Ref %s." % (7, fo.unique("ref"))
        n = self.system(self.alice, "flight_update", message=text)
        mails = fo.wait_mail(n["id"], self.alice["email"], MAIL_WAIT)
        self.assertEqual(len(mails), 1, "one copy of the message")
        msg = mails[0]
        self.assertEqual(msg["Message-ID"].strip(), "<notification-%d@flightops.local>"
                         % n["id"])
        self.assertEqual(email.utils.parseaddr(msg["To"])[1], self.alice["email"])
        self.assertEqual(msg["Subject"], "Flight update")
        name, addr = email.utils.parseaddr(msg["From"])
        self.assertEqual(name, "FlightOps")
        self.assertIn("@", addr)
        self.assertIsNotNone(email.utils.parsedate_to_datetime(msg["Date"]))
        self.assertEqual(msg.get_content_type(), "text/plain")
        body = fo.mail_text(msg)
        self.assertIn("Dear %s," % self.alice["full_name"], body)
        self.assertIn(text, body)
        self.assertIn("-- FlightOps", body)
        self.assertNotIn("Passenger:", body)
        done = self.wait_status(self.alice_token, n["id"])
        self.assertRegex(done["sent_at"], fo.ISO_UTC)

    def test_subject_by_type(self):
        made = {t: self.created(self.admin, self.body(self.bob, booking_id=7)) if t == "custom"
                else self.system(self.bob, t, booking_id=7) for t in fo.NOTIFICATION_TYPES}
        for t, n in made.items():
            with self.subTest(type=t):
                mails = fo.wait_mail(n["id"], self.bob["email"], MAIL_WAIT)
                self.assertEqual(len(mails), 1)
                self.assertEqual(mails[0]["Subject"], SUBJECTS[t])
                body = fo.mail_text(mails[0])
                self.assertIn(n["message"], body)
                if t == "booking_confirmation":
                    self.assertIn("Passenger: %s" % self.bob["full_name"], body)

    def test_no_header_injection(self):
        r, sent = fo.register(full_name="Eve\r\nBcc: injected@example.com\r\nX-Evil: 1")
        if r.status != 201:
            self.assertJSON(r, 422)  # a users pool that refuses such names is fine too
            user, token = self.alice, self.alice_token
        else:
            user = r.body
            token = fo.token_for(fo.USERS, sent["username"], sent["password"])
        text = "first line\r\nBcc: injected@example.com\r\n\r\nX-Evil: 2"
        n = self.created(token, self.body(user, message=text))
        msg = fo.wait_mail(n["id"], user["email"], MAIL_WAIT)[0]
        self.assertIsNone(msg["Bcc"], msg.as_string()[:800])
        self.assertIsNone(msg["X-Evil"], msg.as_string()[:800])
        self.assertEqual(email.utils.parseaddr(msg["To"])[1], user["email"])
        self.assertEqual(msg["Subject"], "FlightOps notification")
        self.assertIn("first line", fo.mail_text(msg))

    def test_unknown_user_fails_without_mail(self):
        n = self.created(self.admin, self.body({"id": 1999999999}))
        done = self.wait_status(self.admin, n["id"], ("failed",))
        self.assertIsNone(done["sent_at"])
        self.assertEqual(fo.mails_for(n["id"]), [])


class NotificationsPortTest(NotificationsChecks, unittest.TestCase):
    BASE = fo.NOTIFICATIONS

    def test_health(self):
        r = fo.get(self.BASE + "/health")
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "notification-service", fo.describe(r))
        r = fo.get(fo.MAILER + "/health")
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "mailer", fo.describe(r))
        self.assertEqual(r.body.get("status"), "healthy", fo.describe(r))

    def test_metrics(self):
        n = self.system(self.alice, "hold_expired")
        self.wait_status(self.alice_token, n["id"])
        samples = fo.scrape(self.BASE)
        self.assertGreaterEqual(fo.metric(samples, "notifications_total", type="hold_expired",
                                          status="queued"), 1)
        mailer = fo.scrape(fo.MAILER)
        self.assertGreaterEqual(fo.metric(mailer, "notifications_total", type="hold_expired",
                                          status="sent"), 1)

    def test_mailer_has_no_routes(self):
        r = fo.get(fo.MAILER + "/notifications", token=self.admin)
        self.assertJSON(r, 404)


class GatewayNotificationsTest(NotificationsChecks, unittest.TestCase):
    BASE = fo.GATEWAY
    SERVICE_KEY_PASSES = False

    def test_health(self):
        r = fo.get(self.BASE + "/notifications/health")
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "notification-service", fo.describe(r))


class MailOrderTest(NotificationsBase, unittest.TestCase):
    """Mail a traveller waits for goes ahead of bulk mail, and a bulk is
    mailed once each: BULK hold_expired rows and then one
    booking_confirmation are committed in one transaction, so the mailer
    sees them all at once; it must claim and send the confirmation first
    (its sent_at no later than any bulk row's, and earlier than the last
    batch's), record every row sent with its own Message-ID, and leave one
    copy of each in the Maildir. Without the priority the confirmation,
    last by id, would be sent last."""

    BASE = fo.NOTIFICATIONS
    BULK = 300  # three batches of the mailer's claim
    WAIT = 180.0

    def test_confirmation_ahead_of_bulk_and_each_mailed_once(self):
        (user, _, _), = fo.new_users(1)
        tag = fo.unique("order")
        fo.psql("flightops_notifications",
                "INSERT INTO notifications (user_id, type, message, event_id) "
                "SELECT %d, 'hold_expired', 'bulk mail ' || g, 'test:%s:' || g "
                "FROM generate_series(1, %d) g; "
                "INSERT INTO notifications (user_id, booking_id, type, message, event_id) "
                "VALUES (%d, 7, 'booking_confirmation', 'confirmed', 'test:%s:confirmation'); "
                "NOTIFY mail_queued" % (user["id"], tag, self.BULK, user["id"], tag))
        mine = "event_id LIKE 'test:%s:%%'" % tag

        def sent():
            return int(fo.psql("flightops_notifications",
                               "SELECT count(*) FROM notifications WHERE %s AND status = 'sent'"
                               % mine))
        fo.wait_for(lambda: sent() == self.BULK + 1, self.WAIT, 0.5,
                    "%d notifications sent" % (self.BULK + 1))
        order = fo.psql("flightops_notifications",
                        "SELECT c.sent_at <= min(b.sent_at), c.sent_at < max(b.sent_at) "
                        "FROM notifications c, notifications b "
                        "WHERE c.event_id = 'test:%s:confirmation' AND b.%s "
                        "AND b.type = 'hold_expired' GROUP BY c.sent_at" % (tag, mine)).strip()
        self.assertEqual(order, "t|t", "the confirmation sent before the bulk queued ahead of it")
        wrong = fo.psql("flightops_notifications",
                        "SELECT count(*) FROM notifications WHERE %s AND (message_id IS NULL "
                        "OR message_id <> '<notification-' || id || '@flightops.local>' "
                        "OR sent_at IS NULL OR lease_until IS NOT NULL)" % mine).strip()
        self.assertEqual(wrong, "0", "rows recorded sent with their own Message-ID")
        ids = [int(x) for x in fo.psql("flightops_notifications",
                                       "SELECT id FROM notifications WHERE %s" % mine).split()]
        copies = {}
        for _, msg in fo.maildir(headers_only=True):
            if user["email"].lower() in (msg.get("To") or "").lower():
                mid = (msg.get("Message-ID") or "").strip()
                copies[mid] = copies.get(mid, 0) + 1
        self.assertEqual(sorted(copies), sorted(fo.message_id_of(i) for i in ids))
        self.assertEqual([m for m, n in copies.items() if n != 1], [], "one copy of each")


class OutboxOrderTest(NotificationsBase, unittest.TestCase):
    """The bookings pool's outbox sends a confirmation ahead of a wave of
    expiry notices (priority 0 before OUTBOX_BULK) and drains the wave
    without waiting a tick per claim: BULK hold_expired events and then
    one booking_confirmation, in the receivers' format, are committed in
    one transaction to the outbox; the confirmation must be delivered no
    later than any of them, and all reach the notifications pool."""

    BASE = fo.NOTIFICATIONS
    BULK = 300  # six claims of the relay's 50
    WAIT = 120.0

    def test_confirmation_ahead_of_expiries(self):
        (user, _, _), = fo.new_users(1)
        tag = fo.unique("outbox").replace("_", "-")
        bulk = ("json_build_object('event_id', 'test-%(t)s-' || g, 'type', 'hold_expired', "
                "'user_id', %(u)d, 'booking_id', g, 'data', json_build_object("
                "'seat', '1A', 'flight', 'FO1', 'reference', 'TEST01'))::text")
        confirm = ("json_build_object('event_id', 'test-%(t)s-confirm', 'type', "
                   "'booking_confirmation', 'user_id', %(u)d, 'booking_id', 7, 'data', "
                   "json_build_object('reference', 'TEST02', 'flight', 'FO2', 'origin', 'JFK', "
                   "'destination', 'LAX', 'departure', '2030-01-01 10:00', 'seat', '2B', "
                   "'passengers', NULL, 'total', '99.00'))::text")
        args = {"t": tag, "u": user["id"]}
        start = time.monotonic()
        fo.psql("flightops_bookings",
                "BEGIN; INSERT INTO outbox (event_id, service, path, payload, priority) "
                "SELECT 'test-%(t)s-' || g, 'notifications', '/notifications', " % args +
                bulk % args + ", 1 FROM generate_series(1, %d) g; " % self.BULK +
                "INSERT INTO outbox (event_id, service, path, payload) VALUES "
                "('test-%(t)s-confirm', 'notifications', '/notifications', " % args +
                confirm % args + "); COMMIT")
        mine = "event_id LIKE 'test-%s-%%'" % tag

        def delivered():
            return int(fo.psql("flightops_bookings",
                               "SELECT count(*) FROM outbox WHERE %s AND delivered_at IS NOT NULL"
                               % mine))
        fo.wait_for(lambda: delivered() == self.BULK + 1, self.WAIT, 0.2,
                    "%d outbox events delivered" % (self.BULK + 1))
        print("\n  outbox: %d events delivered in %.1f s" % (self.BULK + 1,
                                                         time.monotonic() - start))
        order = fo.psql("flightops_bookings",
                        "SELECT c.delivered_at <= min(b.delivered_at) FROM outbox c, outbox b "
                        "WHERE c.event_id = 'test-%s-confirm' AND b.%s AND b.priority = 1 "
                        "GROUP BY c.delivered_at" % (tag, mine)).strip()
        self.assertEqual(order, "t", "the confirmation delivered before the expiries")
        statuses = fo.psql("flightops_bookings",
                           "SELECT DISTINCT last_status FROM outbox WHERE %s" % mine).split()
        self.assertEqual(statuses, ["201"], "every event accepted by the notifications pool")


class RefusedMailTest(NotificationsBase, unittest.TestCase):
    """A 5xx answer from the SMTP server fails a notification at once: the
    mailer is restarted against a server that refuses every recipient,
    then put back on the stack's sink."""

    BASE = fo.NOTIFICATIONS
    PORT = fo.PORT_BASE + 900  # below the ephemeral range, clear of the stack's ports

    @classmethod
    def setUpClass(cls):
        from aiosmtpd.controller import Controller

        class Refuse:
            async def handle_RCPT(self, server, session, envelope, address, options):
                return "550 5.1.1 No such mailbox"

        super().setUpClass()
        cls.smtp = Controller(Refuse(), hostname="127.0.0.1", port=cls.PORT)
        cls.smtp.start()
        fo.restart_pool("mailer", fo.MAILER, {"FO_SMTP_PORT": str(cls.PORT)})

    @classmethod
    def tearDownClass(cls):
        try:
            fo.restart_pool("mailer", fo.MAILER)
        finally:
            cls.smtp.stop()
        super().tearDownClass()

    def test_refused_recipient_fails_without_retries(self):
        n = self.created(self.alice_token, self.body(self.alice))
        # A retried failure would stay queued for minutes (back-off); a
        # refusal is final on the first attempt.
        got = self.wait_status(self.alice_token, n["id"], ("sent", "failed"))
        self.assertEqual(got["status"], "failed", got)
        self.assertIsNone(got["sent_at"], got)


if __name__ == "__main__":
    unittest.main()
