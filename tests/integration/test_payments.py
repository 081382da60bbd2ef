"""Payments API over HTTP: the payments port (:PORT_BASE+3) and the
gateway. A payment is taken (202 pending) and charged in the background by
the pool's tick child; success confirms the booking, a declined card
(4000000000000002) fails it and leaves the booking pending with a
payment_failed notification; cancelling a confirmed booking refunds it.
Then Idempotency-Key under 100 concurrent identical requests (one payment
row, one gateway charge, read with psql from flightops_payments), and last
the PCI check: no test card number in a pg_dump of any flightops_*
database, in any log file or in any email.

Every test makes its own flights, bookings and (where it matters) users.
Waits are bounded (PAYMENT_WAIT); nothing asserts on timing.
"""

import json
import os
import signal
import threading
import unittest

import fo

FORBIDDEN = {"detail": "Not enough permissions"}
BOOKING_NOT_FOUND = {"detail": "Booking not found"}
PAYMENT_NOT_FOUND = {"detail": "Payment not found"}
PAID_ALREADY = {"detail": "This booking already has a payment in progress or completed"}
NOT_REFUNDABLE = {"detail": "Only a succeeded payment can be refunded"}
IDEM_OTHER_BODY = {"detail": "Idempotency-Key was already used with a different request"}
IDEM_RUNNING = {"detail": "A request with this Idempotency-Key is still being processed"}

PAYMENT_WAIT = 30.0      # seconds for pending -> succeeded/failed (normally about 1 s)
FOLLOW_UP_WAIT = 60.0    # booking confirmed, refund, notification (outbox relays)
CONCURRENT_REQUESTS = 100


def luhn_complete(prefix):
    """prefix plus the check digit that makes it pass the Luhn check."""
    for d in "0123456789":
        digits = prefix + d
        total = 0
        for i, c in enumerate(reversed(digits)):
            n = int(c)
            if i % 2 == 1:
                n *= 2
                if n > 9:
                    n -= 9
            total += n
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


class PaymentsBase(fo.ApiAsserts):
    """BASE serves /payments, BOOKINGS_BASE /bookings and the seat map,
    FLIGHTS_BASE /flights."""

    BASE = None
    BOOKINGS_BASE = None
    FLIGHTS_BASE = None

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS, fo.PAYMENTS):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token()
        (cls.alice, _, cls.alice_token), (cls.bob, _, cls.bob_token) = fo.new_users(2)

    def tearDown(self):
        # Give back what is still held, so nobody reaches MAX_ACTIVE_HOLDS.
        for token in (self.alice_token, self.bob_token):
            r = fo.get(fo.BOOKINGS + "/bookings?status=pending&limit=200", token=token)
            if r.status == 200 and isinstance(r.body, list):
                for b in r.body:
                    fo.put("%s/bookings/%d/cancel" % (fo.BOOKINGS, b["id"]), token=token)

    # ------------------------------------------------------------ helpers

    def flight(self, **over):
        over.setdefault("total_seats", 12)
        return fo.create_flight(self.admin, self.FLIGHTS_BASE, **over)

    def booking(self, token=None, flight=None, seat="1A", **over):
        """A fresh pending booking of token's user (a new flight unless given)."""
        f = flight or self.flight(**over)
        r = fo.book(token or self.alice_token, f["id"], seat, base=self.BOOKINGS_BASE)
        self.assertJSON(r, 201)
        return r.body

    def pay(self, booking, token=None, card=fo.CARD_VISA, headers=None, **over):
        return fo.pay(token or self.alice_token, booking, card, base=self.BASE,
                      headers=headers, **over)

    def paid(self, booking, token=None, card=fo.CARD_VISA, **over):
        """pay() that must be accepted: the payment (pending)."""
        r = self.pay(booking, token, card, **over)
        self.assertJSON(r, 202)
        self.assertPayment(r.body, booking, "pending")
        self.assertNoCard(r)
        return r.body

    def settled(self, payment, token=None, statuses=("succeeded", "failed")):
        return fo.wait_payment(token or self.alice_token, payment["id"], statuses,
                               PAYMENT_WAIT, self.BASE)

    def get(self, path, token=None, **kw):
        return fo.get(self.BASE + path, token=token, **kw)

    def list_payments(self, token, query=""):
        r = self.get("/payments" + ("?" + query if query else ""), token)
        self.assertJSON(r, 200)
        self.assertIsInstance(r.body, list, fo.describe(r))
        total = r.headers.get("X-Total-Count", "")
        self.assertTrue(total.isdigit(), "X-Total-Count: %s" % fo.describe(r))
        return r.body, int(total)

    def booking_now(self, token, booking_id):
        r = fo.get_booking(token, booking_id, self.BOOKINGS_BASE)
        self.assertJSON(r, 200)
        return r.body

    # ------------------------------------------------------------ asserts

    def assertNoCard(self, r):
        for card in fo.TEST_CARDS:
            self.assertNotIn(card.encode(), r.raw, fo.describe(r))

    def assertPayment(self, p, booking=None, status=None):
        self.assertIsInstance(p, dict)
        self.assertEqual(set(p), fo.PAYMENT_KEYS, p)
        for key in ("id", "booking_id", "user_id"):
            self.assertIsInstance(p[key], int, p)
            self.assertNotIsInstance(p[key], bool, p)
        self.assertGreater(p["id"], 0)
        self.assertRegex(p["card_last4"], r"^[0-9]{4}$")
        self.assertIn(p["payment_method"], ("credit_card", "debit_card"))
        self.assertRegex(p["created_at"], fo.ISO_UTC)
        if booking is not None:
            self.assertEqual(p["booking_id"], booking["id"], p)
            self.assertEqual(p["user_id"], booking["user_id"], p)
            self.assertEqual(p["amount"], booking["total_amount"], p)
        if status is not None:
            self.assertEqual(p["status"], status, p)
        if p["status"] == "pending":
            self.assertIsNone(p["processed_at"], p)
            self.assertIsNone(p["failure_reason"], p)
        else:
            self.assertRegex(p["processed_at"] or "", fo.ISO_UTC, p)
        if p["status"] == "failed":
            self.assertIsInstance(p["failure_reason"], str, p)
            self.assertTrue(p["failure_reason"], p)
        if p["status"] == "refunded":
            self.assertRegex(p["refunded_at"] or "", fo.ISO_UTC, p)
        else:
            self.assertIsNone(p["refunded_at"], p)


class PaymentsChecks(PaymentsBase):
    """The API checks; mixed into one TestCase per address."""

    # ------------------------------------------------------------ the flow

    def test_pay_succeeds_and_confirms_the_booking(self):
        f = self.flight(price=249.5, total_seats=12)
        b = self.booking(flight=f, seat="2C")
        r = self.pay(b)
        self.assertJSON(r, 202)
        p = r.body
        self.assertPayment(p, b, "pending")
        self.assertNoCard(r)
        self.assertIn(b'249.50', r.raw)
        self.assertEqual((p["card_last4"], p["card_brand"]), ("4242", "visa"))
        self.assertEqual(p["payment_method"], "credit_card")

        done = self.settled(p)
        self.assertPayment(done, b, "succeeded")
        for key in ("id", "created_at", "card_last4", "card_brand", "amount"):
            self.assertEqual(done[key], p[key], key)
        got = fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT,
                              self.BOOKINGS_BASE)
        self.assertEqual(got["payment_id"], p["id"], got)
        self.assertEqual(fo.seat_map(f["id"], self.BOOKINGS_BASE)["2C"], "booked")

        r = self.get("/payments/%d" % p["id"], self.alice_token)
        self.assertJSON(r, 200, done)
        self.assertNoCard(r)
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([done], 1))

    def test_debit_card_and_brands(self):
        cases = [(fo.CARD_MASTERCARD, "debit_card", "4444", "mastercard"),
                 ("3782 822463 10005", "credit_card", "0005", "amex"),
                 ("6011-1111-1111-1117", "debit_card", "1117", "discover"),
                 ("4012 8888 8888 1881", "credit_card", "1881", "visa")]
        f = self.flight(total_seats=12)
        for i, (card, method, last4, brand) in enumerate(cases):
            with self.subTest(card=card):
                b = self.booking(flight=f, seat=fo.seat_names(12)[i])
                r = self.pay(b, card=card, payment_method=method)
                self.assertJSON(r, 202)
                self.assertNoCard(r)
                self.assertEqual((r.body["card_last4"], r.body["card_brand"],
                                  r.body["payment_method"]), (last4, brand, method))
                self.assertPayment(self.settled(r.body), b, "succeeded")

    def test_declined_card_fails_and_booking_stays_pending(self):
        b = self.booking()
        p = self.paid(b, card=fo.CARD_DECLINED)
        self.assertEqual(p["card_last4"], "0002")
        done = self.settled(p)
        self.assertPayment(done, b, "failed")
        self.assertEqual(self.booking_now(self.alice_token, b["id"])["status"], "pending")
        n = fo.wait_notification(self.alice_token, b["id"], "payment_failed", FOLLOW_UP_WAIT)
        self.assertEqual(set(n), fo.NOTIFICATION_KEYS, n)
        self.assertEqual(n["user_id"], self.alice["id"], n)
        # The booking is still pending: another card may pay for it.
        again = self.paid(b, card=fo.CARD_MASTERCARD)
        self.assertNotEqual(again["id"], p["id"])
        self.assertPayment(self.settled(again), b, "succeeded")
        fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT,
                        self.BOOKINGS_BASE)
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual(total, 2)
        self.assertEqual([x["status"] for x in rows], ["succeeded", "failed"])  # newest first

    def test_paying_twice_409(self):
        b = self.booking()
        p = self.paid(b)
        r = self.pay(b)  # while the first is pending, or after it confirmed the booking
        self.assertJSON(r, 409)
        self.assertIn(r.body, (PAID_ALREADY, {"detail": "Booking is confirmed"}),
                      fo.describe(r))
        self.assertPayment(self.settled(p), b, "succeeded")
        fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT,
                        self.BOOKINGS_BASE)
        r = self.pay(b, card=fo.CARD_MASTERCARD)
        self.assertJSON(r, 409, {"detail": "Booking is confirmed"})
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((total, [x["id"] for x in rows]), (1, [p["id"]]))

    def test_second_payment_while_first_pending_409(self):
        # Straight to the database rule: the first is stored before the
        # second arrives, so the second meets a pending (or succeeded) one.
        b = self.booking()
        self.paid(b)
        r = self.pay(b, card=fo.CARD_MASTERCARD, payment_method="debit_card")
        self.assertJSON(r, 409)

    def test_cancelled_booking_409(self):
        b = self.booking()
        r = fo.put("%s/bookings/%d/cancel" % (self.BOOKINGS_BASE, b["id"]),
                   token=self.alice_token)
        self.assertJSON(r, 200)
        self.assertJSON(self.pay(b), 409, {"detail": "Booking is cancelled"})
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))

    # ------------------------------------------------------------ refusals

    def test_wrong_amount_422(self):
        f = self.flight(price=199.99)
        b = self.booking(flight=f)
        for amount in (200.0, 199.98, 0, 19999, 1.5, 0.01):
            with self.subTest(amount=amount):
                detail = self.assert422(self.pay(b, amount=amount), ["body", "amount"])
                msgs = [d["msg"] for d in detail if d["loc"] == ["body", "amount"]]
                self.assertIn("Amount must equal the booking total (199.99)", msgs)
        for amount in (-1, "199.99", None, 199.999, [199.99], True):
            with self.subTest(amount=amount):
                self.assert422(self.pay(b, amount=amount), ["body", "amount"])  # None: missing
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))
        self.assertEqual(self.booking_now(self.alice_token, b["id"])["status"], "pending")

    def test_bad_card_422(self):
        b = self.booking()
        bad = ["4242424242424241",             # Luhn fails
               "4242 4242 4242 4243",          # Luhn fails, with spaces
               luhn_complete("4242424242"),    # 11 digits, Luhn-valid
               luhn_complete("4" * 19),        # 20 digits
               "4242-4242-4242-424x", "", "    ", "4242424242424242\n",
               "\uff14242424242424242",        # a full-width digit
               "0000000000000000a",
               4242424242424242, None, ["4242424242424242"]]
        for card in bad:
            with self.subTest(card=repr(card)[:30]):
                r = self.pay(b, card=card) if card is not None else \
                    self.pay(b, card_number=None)  # missing
                self.assert422(r, ["body", "card_number"])
                self.assertNoCard(r)
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))

    def test_card_lengths_12_and_19_accepted(self):
        f = self.flight(total_seats=12)
        for i, card in enumerate((luhn_complete("42424242424"), luhn_complete("4" * 18))):
            with self.subTest(digits=len(card)):
                b = self.booking(flight=f, seat=fo.seat_names(12)[i])
                p = self.paid(b, card=card)
                self.assertEqual(p["card_last4"], card[-4:])
                self.assertNotIn(card.encode(), fo.get_payment(self.alice_token, p["id"],
                                                               self.BASE).raw)

    def test_bad_bodies_422_or_400(self):
        b = self.booking()
        cases = [({"booking_id": None}, "booking_id"), ({"booking_id": "x"}, "booking_id"),
                 ({"booking_id": 0}, "booking_id"), ({"booking_id": -2}, "booking_id"),
                 ({"payment_method": "paypal"}, "payment_method"),
                 ({"payment_method": None}, "payment_method"),
                 ({"payment_method": ""}, "payment_method"),
                 ({"payment_method": "CREDIT_CARD"}, "payment_method")]
        for over, field in cases:
            with self.subTest(over=over):
                self.assert422(self.pay(b, **over), ["body", field])
        for raw in ("[]", "null", "7", '{"booking_id": 1'):
            with self.subTest(body=raw):
                r = fo.post(self.BASE + "/payments", body=raw, token=self.alice_token,
                            headers={"Content-Type": "application/json"})
                self.assertIn(r.status, (400, 422), fo.describe(r))
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))

    def test_no_token_401(self):
        b = self.booking()
        self.assert401(fo.pay(None, b, base=self.BASE))
        self.assert401(self.get("/payments"))
        self.assert401(self.get("/payments/1"))
        self.assert401(fo.post(self.BASE + "/payments/1/refund"))
        r = fo.pay("x.y.z", b, base=self.BASE)
        self.assertJSON(r, 401, {"detail": "Could not validate credentials"})

    def test_other_users_booking_404(self):
        b = self.booking()
        r = self.pay(b, token=self.bob_token)
        self.assertJSON(r, 404, BOOKING_NOT_FOUND)
        self.assertNoCard(r)
        r = fo.pay(self.bob_token, {"id": 2000000000, "total_amount": 10.0}, base=self.BASE)
        self.assertJSON(r, 404, BOOKING_NOT_FOUND)
        p = self.paid(b)
        # Her payment is hers alone.
        r = self.get("/payments/%d" % p["id"], self.bob_token)
        self.assertJSON(r, 404, PAYMENT_NOT_FOUND)
        rows, total = self.list_payments(self.bob_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))
        mine, _ = self.list_payments(self.bob_token, "limit=200")
        self.assertNotIn(p["id"], [x["id"] for x in mine])
        # An admin sees it.
        r = self.get("/payments/%d" % p["id"], self.admin)
        self.assertJSON(r, 200)
        self.assertEqual(r.body["id"], p["id"])
        rows, total = self.list_payments(self.admin, "booking_id=%d" % b["id"])
        self.assertEqual((total, [x["id"] for x in rows]), (1, [p["id"]]))

    def test_unknown_payment_404(self):
        r = self.get("/payments/2000000000", self.alice_token)
        self.assertJSON(r, 404, PAYMENT_NOT_FOUND)
        r = self.get("/payments/abc", self.alice_token)
        self.assertJSON(r, 404)

    def test_list_filters_and_paging(self):
        user, _, token = fo.new_user()
        f = self.flight(total_seats=12)
        bookings = [self.booking(token, f, s) for s in ("1A", "1B", "1C")]
        payments = [self.paid(b, token) for b in bookings]
        ids = [p["id"] for p in reversed(payments)]  # newest first
        rows, total = self.list_payments(token)
        self.assertEqual(([x["id"] for x in rows], total), (ids, 3))
        rows, total = self.list_payments(token, "limit=2")
        self.assertEqual(([x["id"] for x in rows], total), (ids[:2], 3))
        rows, total = self.list_payments(token, "limit=2&offset=2")
        self.assertEqual(([x["id"] for x in rows], total), (ids[2:], 3))
        rows, total = self.list_payments(token, "skip=1&limit=1")
        self.assertEqual(([x["id"] for x in rows], total), (ids[1:2], 3))
        rows, total = self.list_payments(token, "offset=10")
        self.assertEqual((rows, total), ([], 3))
        rows, total = self.list_payments(token, "booking_id=%d" % bookings[1]["id"])
        self.assertEqual(([x["id"] for x in rows], total), ([payments[1]["id"]], 1))
        for query in ("limit=0", "limit=201", "limit=x", "offset=-1", "booking_id=abc",
                      "booking_id=0"):
            with self.subTest(query=query):
                self.assert422(self.get("/payments?" + query, token))
        for p in payments:
            self.settled(p, token)

    # ------------------------------------------------------------ refunds

    def test_admin_refund(self):
        b = self.booking()
        p = self.paid(b)
        # Only a succeeded payment can be refunded; only by an admin.
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.alice_token)
        self.assertJSON(r, 403, FORBIDDEN)
        done = self.settled(p)
        self.assertEqual(done["status"], "succeeded")
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.alice_token)
        self.assertJSON(r, 403, FORBIDDEN)
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.admin)
        self.assertJSON(r, 200)
        self.assertPayment(r.body, b, "refunded")
        self.assertEqual(r.body["processed_at"], done["processed_at"])
        self.assertJSON(self.get("/payments/%d" % p["id"], self.alice_token), 200, r.body)
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.admin)
        self.assertJSON(r, 409, NOT_REFUNDABLE)
        r = fo.post("%s/payments/2000000000/refund" % self.BASE, token=self.admin)
        self.assertJSON(r, 404, PAYMENT_NOT_FOUND)

    def test_refund_of_failed_payment_409(self):
        b = self.booking()
        p = self.settled(self.paid(b, card=fo.CARD_DECLINED))
        self.assertEqual(p["status"], "failed")
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.admin)
        self.assertJSON(r, 409, NOT_REFUNDABLE)

    def test_cancel_confirmed_booking_refunds(self):
        f = self.flight(total_seats=12)
        b = self.booking(flight=f, seat="1F")
        p = self.settled(self.paid(b))
        self.assertEqual(p["status"], "succeeded")
        fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT,
                        self.BOOKINGS_BASE)
        r = fo.put("%s/bookings/%d/cancel" % (self.BOOKINGS_BASE, b["id"]),
                   token=self.alice_token)
        self.assertJSON(r, 200)
        self.assertEqual(r.body["status"], "cancelled")
        refunded = fo.wait_payment(self.alice_token, p["id"], ("refunded",), FOLLOW_UP_WAIT,
                                   self.BASE)
        self.assertPayment(refunded, b, "refunded")
        self.assertEqual(fo.seat_map(f["id"], self.BOOKINGS_BASE)["1F"], "available")
        n = fo.wait_notification(self.alice_token, b["id"], "booking_cancellation",
                                 FOLLOW_UP_WAIT)
        self.assertIn(b["reference"], n["message"])
        # The payment no longer blocks a new one, but the booking is over.
        self.assertJSON(self.pay(b), 409, {"detail": "Booking is cancelled"})

    # ------------------------------------------------------------ Idempotency-Key

    def test_idempotency_key_replays_the_answer(self):
        b = self.booking()
        key = {"Idempotency-Key": fo.unique("pay")}
        first = self.pay(b, headers=key)
        self.assertJSON(first, 202)
        again = self.pay(b, headers=key)
        self.assertEqual((again.status, again.body), (first.status, first.body),
                         fo.describe(again))
        self.assertNoCard(again)
        # The same key with another request: 422, nothing new.
        other = self.pay(b, headers=key, payment_method="debit_card")
        self.assertJSON(other, 422, IDEM_OTHER_BODY)
        other = self.pay(b, headers=key, card=fo.CARD_MASTERCARD)
        self.assertJSON(other, 422, IDEM_OTHER_BODY)
        # Another key: the ordinary rule (paid already) applies.
        r = self.pay(b, headers={"Idempotency-Key": fo.unique("pay")})
        self.assertJSON(r, 409)
        # Another user's identical key is theirs alone.
        bb = self.booking(token=self.bob_token)
        r = self.pay(bb, token=self.bob_token, headers=key)
        self.assertJSON(r, 202)
        self.assertNotEqual(r.body["id"], first.body["id"])
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((total, [x["id"] for x in rows]), (1, [first.body["id"]]))
        self.settled(first.body)
        # Replayed even after the payment moved on: the first answer.
        again = self.pay(b, headers=key)
        self.assertEqual((again.status, again.body), (first.status, first.body))

    def test_idempotency_key_of_a_refusal_is_replayed(self):
        b = self.booking()
        key = {"Idempotency-Key": fo.unique("pay")}
        first = self.pay(b, headers=key, amount=1.0)
        self.assert422(first, ["body", "amount"])
        again = self.pay(b, headers=key, amount=1.0)
        self.assertEqual((again.status, again.body), (first.status, first.body))


class PaymentsPortTest(PaymentsChecks, unittest.TestCase):
    BASE = fo.PAYMENTS
    BOOKINGS_BASE = fo.BOOKINGS
    FLIGHTS_BASE = fo.FLIGHTS

    def test_health(self):
        r = self.get("/health")
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "payment-service", fo.describe(r))
        self.assertEqual(r.body.get("status"), "healthy", fo.describe(r))

    def test_metrics_count_payments(self):
        b = self.booking()
        self.settled(self.paid(b))
        samples = fo.scrape(self.BASE)
        self.assertGreaterEqual(fo.metric(samples, "payments_total", status="pending"), 1)
        self.assertGreaterEqual(fo.metric(samples, "payments_total", status="succeeded"), 1)
        self.assertGreaterEqual(
            fo.metric(samples, "http_requests_total", method="POST", route="/payments"), 1)

    def test_internal_refund_needs_the_service_key(self):
        b = self.booking()
        for who, kw in (("user", {"token": self.alice_token}), ("admin", {"token": self.admin}),
                        ("nobody", {}), ("wrong key", {"headers": {"X-Service-Key": "x" * 40}})):
            with self.subTest(caller=who):
                r = fo.post(self.BASE + "/internal/payments/refund",
                            json={"booking_id": b["id"]}, **kw)
                self.assertIn(r.status, (401, 403), fo.describe(r))
        # With it: nothing succeeded for this booking, so nothing to refund.
        r = fo.post(self.BASE + "/internal/payments/refund", json={"booking_id": b["id"]},
                    headers=fo.service_headers())
        self.assertJSON(r, 200, {"booking_id": b["id"], "refunded": False})

    def test_gateway_charges_once_per_payment(self):
        b = self.booking()
        p = self.settled(self.paid(b))
        out = fo.psql("flightops_payments",
                      "SELECT count(*), bool_and(approved), bool_and(refunded_at IS NULL) "
                      "FROM gateway_charges WHERE idempotency_key = 'payment-%d'" % p["id"])
        self.assertEqual(out.strip(), "1|t|t")
        r = fo.post("%s/payments/%d/refund" % (self.BASE, p["id"]), token=self.admin)
        self.assertJSON(r, 200)
        out = fo.psql("flightops_payments",
                      "SELECT count(*), bool_and(refunded_at IS NOT NULL) FROM gateway_charges "
                      "WHERE idempotency_key = 'payment-%d'" % p["id"])
        self.assertEqual(out.strip(), "1|t")

    def test_idempotency_key_100_concurrent_requests(self):
        b = self.booking()
        key = {"Idempotency-Key": fo.unique("pay100")}
        barrier = threading.Barrier(CONCURRENT_REQUESTS, timeout=60)

        def one(_):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            return self.pay(b, headers=key)

        answers = fo.parallel(one, range(CONCURRENT_REQUESTS), workers=CONCURRENT_REQUESTS)
        errors = [a for a in answers if isinstance(a, Exception)]
        self.assertEqual(errors, [], "requests failed")
        statuses = {}
        for a in answers:
            statuses[a.status] = statuses.get(a.status, 0) + 1
        odd = [fo.describe(a) for a in answers if a.status not in (202, 409)][:5]
        self.assertEqual(odd, [], "statuses %r" % statuses)
        accepted = [a for a in answers if a.status == 202]
        self.assertTrue(accepted, "no request was accepted: %r" % statuses)
        self.assertEqual({a.body["id"] for a in accepted}, {accepted[0].body["id"]},
                         "every 202 is the same payment")
        for a in answers:
            self.assertNoCard(a)
            if a.status == 409:
                self.assertEqual(a.body, IDEM_RUNNING, fo.describe(a))
        pid = accepted[0].body["id"]
        self.assertPayment(self.settled(accepted[0].body), b, "succeeded")
        rows, total = self.list_payments(self.admin, "booking_id=%d" % b["id"])
        self.assertEqual((total, [x["id"] for x in rows]), (1, [pid]), statuses)
        out = fo.psql("flightops_payments", "SELECT count(*) FROM payments "
                      "WHERE booking_id = %d" % b["id"])
        self.assertEqual(out.strip(), "1")
        out = fo.psql("flightops_payments", "SELECT count(*) FROM gateway_charges "
                      "WHERE idempotency_key = 'payment-%d'" % pid)
        self.assertEqual(out.strip(), "1")
        fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT)

    def test_concurrent_payments_without_key_one_wins(self):
        b = self.booking()
        barrier = threading.Barrier(20, timeout=60)

        def one(i):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            return self.pay(b, card=(fo.CARD_VISA, fo.CARD_MASTERCARD)[i % 2])

        answers = fo.parallel(one, range(20), workers=20)
        self.assertEqual([a for a in answers if isinstance(a, Exception)], [])
        statuses = sorted(a.status for a in answers)
        self.assertEqual(statuses.count(202), 1, statuses)
        self.assertEqual(statuses.count(409), 19, statuses)
        self.settled([a for a in answers if a.status == 202][0].body)
        rows, total = self.list_payments(self.admin, "booking_id=%d" % b["id"])
        self.assertEqual(total, 1, rows)


class GatewayPaymentsTest(PaymentsChecks, unittest.TestCase):
    BASE = fo.GATEWAY
    BOOKINGS_BASE = fo.GATEWAY
    FLIGHTS_BASE = fo.GATEWAY

    def test_health(self):
        r = self.get("/payments/health")
        self.assertJSON(r, 200)
        self.assertEqual(r.body.get("service"), "payment-service", fo.describe(r))

    def test_internal_not_routed(self):
        r = fo.post(self.BASE + "/internal/payments/refund", json={"booking_id": 1},
                    headers=fo.service_headers())
        self.assertJSON(r, 404)


class HoldEndsTest(fo.RestartedPool, PaymentsBase, unittest.TestCase):
    """A hold that ends: no payment is taken for it, its owner is told
    (hold_expired), and a charge that succeeds only after the hold ended
    is refunded (the booking refuses the confirmation). The bookings pool
    runs with a short hold (BOOKING_HOLD_SECONDS=HOLD) for this class
    only; the payments pool's background child is frozen (SIGSTOP) while
    the hold runs out, then let go (SIGCONT)."""

    BASE = fo.PAYMENTS
    BOOKINGS_BASE = fo.BOOKINGS
    FLIGHTS_BASE = fo.FLIGHTS
    HOLD = 3

    POOL, POOL_URL = "bookings", fo.BOOKINGS
    POOL_ENV = {"BOOKING_HOLD_SECONDS": str(HOLD)}

    def expired(self, b):
        return fo.wait_booking(self.alice_token, b["id"], "expired", self.HOLD + 60)

    def test_expired_hold_is_not_paid_and_is_notified(self):
        b = self.booking()
        self.expired(b)
        self.assertJSON(self.pay(b), 409, {"detail": "Booking is expired"})
        rows, total = self.list_payments(self.alice_token, "booking_id=%d" % b["id"])
        self.assertEqual((rows, total), ([], 0))
        n = fo.wait_notification(self.alice_token, b["id"], "hold_expired", FOLLOW_UP_WAIT)
        self.assertIn(b["reference"], n["message"])
        mails = fo.wait_mail(n["id"], self.alice["email"], FOLLOW_UP_WAIT)
        self.assertEqual(mails[0]["Subject"], "Your seat hold expired")

    def test_charge_after_the_hold_ended_is_refunded(self):
        tick = fo.wait_for(lambda: fo.tick_child("payments"), 30, 0.2, "payments:tick")
        b = self.booking()
        os.kill(tick, signal.SIGSTOP)
        try:
            p = self.paid(b)
            self.expired(b)
            # Still pending: the charge has not happened (its child is frozen).
            r = self.get("/payments/%d" % p["id"], self.alice_token)
            self.assertJSON(r, 200)
            self.assertEqual(r.body["status"], "pending", fo.describe(r))
        finally:
            os.kill(tick, signal.SIGCONT)
        done = fo.wait_payment(self.alice_token, p["id"], ("refunded", "failed"),
                               FOLLOW_UP_WAIT + 30)  # + a lease, if it was mid-claim
        self.assertPayment(done, b, "refunded")
        self.assertEqual(self.booking_now(self.alice_token, b["id"])["status"], "expired")
        out = fo.psql("flightops_payments",
                      "SELECT count(*), bool_and(refunded_at IS NOT NULL) FROM gateway_charges "
                      "WHERE idempotency_key = 'payment-%d'" % p["id"])
        self.assertEqual(out.strip(), "1|t")


class ZCardNumbersNeverKeptTest(PaymentsBase, unittest.TestCase):
    """PCI basics. Named to sort last in this module (unittest runs the
    classes of a module in name order), so the dumps and logs also hold
    what every earlier test did; it pays with each test card itself too."""

    BASE = fo.PAYMENTS
    BOOKINGS_BASE = fo.BOOKINGS
    FLIGHTS_BASE = fo.FLIGHTS

    def test_no_card_number_in_databases_logs_or_mail(self):
        f = self.flight(total_seats=12)
        cards = [fo.CARD_VISA, fo.CARD_MASTERCARD, fo.CARD_DECLINED, fo.CARD_README,
                 "4242-4242-4242-4242", "5555 5555 5555 4444"]
        payments = []
        for i, card in enumerate(cards):
            b = self.booking(flight=f, seat=fo.seat_names(12)[i])
            payments.append(self.paid(b, card=card, headers={"Idempotency-Key":
                                                             fo.unique("pci")}))
        # A refused one (422) and one for someone else's booking (404) too.
        self.assert422(self.pay(b, card="4242424242424241"), ["body", "card_number"])
        self.assertJSON(self.pay(b, token=self.bob_token, card=fo.CARD_VISA), 404)
        unsettled = []
        for p in payments:
            try:
                self.settled(p)
            except AssertionError as e:  # reported after the search
                unsettled.append(str(e))
        needles = [c.encode() for c in fo.TEST_CARDS + ("4242-4242-4242-4242",
                                                         "5555 5555 5555 4444")]
        found = []
        names = fo.databases()
        self.assertIn("flightops_payments", names)
        for db in names:
            dump = fo.pg_dump(db)
            self.assertIn(b"PostgreSQL database dump", dump, db)
            found += ["database %s: %s" % (db, n.decode()) for n in needles if n in dump]
        for folder, label in ((os.path.join(fo.VAR, "log"), "log"),
                              (os.path.join(fo.VAR, "mail"), "mail")):
            for root, _, files in os.walk(folder):
                for name in files:
                    path = os.path.join(root, name)
                    try:
                        with open(path, "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    found += ["%s %s: %s" % (label, path, n.decode())
                              for n in needles if n in data]
        self.assertEqual(found, [], "card numbers kept")
        self.assertEqual(unsettled, [], "payments never processed")


def log_lines(pool, request_id):
    """The JSON log lines of pool (its log and the rotated copy) that carry
    request_id."""
    out = []
    for name in (pool + ".log.1", pool + ".log"):
        path = os.path.join(fo.VAR, "log", name)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if request_id not in line:
                        continue
                    try:
                        o = json.loads(line)
                    except ValueError:
                        continue
                    if o.get("request_id") == request_id:
                        out.append(o)
        except FileNotFoundError:
            pass
    return out


class RequestIdTest(PaymentsBase, unittest.TestCase):
    """The id of the request that made a payment follows it through the
    background: the processor (payments tick), its outbox delivery, the
    bookings confirm it causes, the notification that queues and the
    mailer that sends it all log under it."""

    BASE = fo.PAYMENTS
    BOOKINGS_BASE = fo.BOOKINGS
    FLIGHTS_BASE = fo.FLIGHTS

    def wait_line(self, pool, request_id, match, what):
        def found():
            return [o for o in log_lines(pool, request_id) if match(o)]
        try:
            return fo.wait_for(found, FOLLOW_UP_WAIT, 0.25, what)
        except AssertionError:
            self.fail("%s: no line of %s.log under request id %s; its lines: %r"
                      % (what, pool, request_id, log_lines(pool, request_id)))

    def test_request_id_through_the_payment_flow(self):
        rid = "trace-" + fo.unique("rid").replace("_", "-")
        b = self.booking()
        r = self.pay(b, headers={"X-Request-ID": rid})
        self.assertJSON(r, 202)
        self.assertEqual(r.headers.get("X-Request-ID"), rid)
        self.assertEqual(self.settled(r.body)["status"], "succeeded")
        fo.wait_booking(self.alice_token, b["id"], "confirmed", FOLLOW_UP_WAIT, self.BOOKINGS_BASE)
        n = fo.wait_notification(self.alice_token, b["id"], "booking_confirmation",
                                 FOLLOW_UP_WAIT)
        fo.wait_mail(n["id"], self.alice["email"], FOLLOW_UP_WAIT)

        key = "payment-%d" % r.body["id"]
        self.wait_line("payments", rid, lambda o: o.get("msg") == "request"
                       and o.get("method") == "POST" and o.get("route") == "/payments",
                       "the POST itself")
        self.wait_line("payments", rid, lambda o: o.get("msg") == "payment processed"
                       and o.get("payment") == key, "the processor")
        self.wait_line("payments", rid, lambda o: o.get("msg") == "outbox event delivered"
                       and o.get("path", "").endswith("/confirm"), "the confirm delivery")
        self.wait_line("bookings", rid, lambda o: o.get("msg") == "request"
                       and o.get("route") == "/internal/bookings/:id/confirm"
                       and o.get("status") == "200", "the bookings confirm")
        self.wait_line("bookings", rid, lambda o: o.get("msg") == "outbox event delivered"
                       and o.get("path") == "/notifications", "the notification delivery")
        self.wait_line("notifications", rid, lambda o: o.get("msg") == "request"
                       and o.get("route") == "/notifications", "the notification")
        self.wait_line("mailer", rid, lambda o: o.get("msg") == "mail sent"
                       and o.get("id") == str(n["id"]), "the mailer")


if __name__ == "__main__":
    unittest.main()
