"""End to end: the whole booking journey through the gateway (register ->
login -> search -> book -> pay -> succeeded -> confirmed -> seat booked ->
confirmation email -> cancel -> refunded -> cancellation email); the seed
README's payment and notification examples on the payments and
notifications ports with a Bearer token; and the chaos test: 200 bookings
paid at once while the payments pool's background child ("payments:tick")
and the mailer's ("mailer:tick") are killed with SIGKILL again and again
(their masters start them again). Afterwards every payment is final and
succeeded, charged once, every booking confirmed with exactly one
succeeded payment, one confirmation notification each, and every
confirmation email arrived (copies of one Message-ID are counted and
reported: a mailer killed between the SMTP server's acceptance and its
"sent" mark sends that one message again, so copies may not exceed the
mailer kills).

Emails are read from the SMTP sink's Maildir ($FO_VAR/mail/new). Every
wait is bounded; nothing asserts on timing.
"""

import os
import signal
import sys
import threading
import time
import unittest

import fo

WAIT = 30.0            # a payment to settle, a booking to follow, an email to land
CHAOS_USERS = 25       # x CHAOS_PER_USER bookings; MAX_ACTIVE_HOLDS (9) per user
CHAOS_PER_USER = 8
CHAOS_SEATS = 300
KILL_INTERVAL = 0.5    # seconds between kills
KILL_ROUNDS = 50       # the bound: at most this many kill attempts per child
CHAOS_WAIT = 300.0     # everything final after the last kill (leases are 30-60 s)


def log(text):
    sys.stderr.write("\n[journey] %s\n" % text)
    sys.stderr.flush()


class JourneyBase:

    @classmethod
    def setUpClass(cls):
        for base in (fo.USERS, fo.FLIGHTS, fo.BOOKINGS, fo.PAYMENTS, fo.NOTIFICATIONS,
                     fo.MAILER):
            fo.wait_healthy(base)
        cls.admin = fo.admin_token()

    def assertJSON(self, r, status, body=None):
        self.assertEqual(r.status, status, fo.describe(r))
        self.assertIn("application/json", r.headers.get("Content-Type", ""), fo.describe(r))
        if body is not None:
            self.assertEqual(r.body, body, fo.describe(r))


class JourneyTest(JourneyBase, unittest.TestCase):

    def test_full_journey_through_the_gateway(self):
        gw = fo.GATEWAY
        admin = fo.admin_token(gw)
        # An admin publishes a flight; its route is the test's own.
        f = fo.create_flight(admin, gw, price=349.9, total_seats=30, airline="Journey Air")
        day = f["departure_time"][:10]

        # Register and log in.
        r, sent = fo.register(gw, full_name="Ada Journey " + fo.unique("n")[-6:])
        self.assertJSON(r, 201)
        user = r.body
        r = fo.login(gw, sent["username"], sent["password"])
        self.assertJSON(r, 200)
        token = r.body["access_token"]
        r = fo.get(gw + "/users/me", token=token)
        self.assertJSON(r, 200, user)

        # Search (the seed alias and the list filter) finds it.
        r = fo.get("%s/flights/search?origin=%s&destination=%s&departure_date=%s"
                   % (gw, f["origin"], f["destination"], day))
        self.assertJSON(r, 200)
        self.assertEqual([x["id"] for x in r.body], [f["id"]])
        self.assertEqual(r.body[0]["available_seats"], 30)
        r = fo.get("%s/flights?origin=%s&date=%s" % (gw, f["origin"].lower(), day))
        self.assertJSON(r, 200)
        self.assertIn(f["id"], [x["id"] for x in r.body])

        # Book a seat: held.
        r = fo.book(token, f["id"], "3C", base=gw)
        self.assertJSON(r, 201)
        b = r.body
        self.assertEqual((b["status"], b["seat_number"], b["total_amount"]),
                         ("pending", "3C", 349.9))
        self.assertRegex(b["reference"], fo.REFERENCE)
        self.assertEqual(fo.seat_map(f["id"], gw)["3C"], "held")

        # Pay: accepted, then succeeded in the background.
        started = time.monotonic()
        r = fo.pay(token, b, fo.CARD_VISA, base=gw)
        self.assertJSON(r, 202)
        p = r.body
        self.assertEqual((p["status"], p["booking_id"], p["amount"], p["card_last4"]),
                         ("pending", b["id"], 349.9, "4242"))
        p = fo.wait_payment(token, p["id"], ("succeeded", "failed"), WAIT, gw)
        log("payment %d %s after %.2f s (the issue asks for <= 2 s; not asserted)"
            % (p["id"], p["status"], time.monotonic() - started))
        self.assertEqual(p["status"], "succeeded", p)

        # The booking is confirmed and the seat sold.
        confirmed = fo.wait_booking(token, b["id"], "confirmed", WAIT, gw)
        self.assertEqual(confirmed["payment_id"], p["id"])
        r = fo.get("%s/bookings/%d/status" % (gw, b["id"]), token=token)
        self.assertJSON(r, 200, {"booking_id": b["id"], "status": "confirmed"})
        self.assertEqual(fo.seat_map(f["id"], gw)["3C"], "booked")
        self.assertEqual(fo.get_flight(f["id"], gw)["available_seats"], 29)

        # The confirmation email.
        n = fo.wait_notification(token, b["id"], "booking_confirmation", WAIT, gw)
        self.assertEqual(n["user_id"], user["id"])
        self.assertIn(b["reference"], n["message"])
        mails = fo.wait_mail(n["id"], user["email"], WAIT)
        self.assertEqual(len(mails), 1, "one confirmation email")
        msg = mails[0]
        self.assertEqual(msg["Subject"], "Your booking is confirmed")
        self.assertIn(user["email"], msg["To"])
        text = fo.mail_text(msg)
        for part in (b["reference"], f["flight_number"], "3C", user["full_name"],
                     "Passenger: " + user["full_name"], f["origin"], f["destination"],
                     f["departure_time"][:10]):
            self.assertIn(part, text, "confirmation email lacks %r:\n%s" % (part, text))
        fo.wait_for(lambda: fo.get("%s/notifications/%d" % (gw, n["id"]), token=token)
                    .body.get("status") == "sent", WAIT, 0.2, "notification marked sent")

        # Cancel: the payment is refunded, the seat free, another email.
        r = fo.put("%s/bookings/%d/cancel" % (gw, b["id"]), token=token)
        self.assertJSON(r, 200)
        self.assertEqual(r.body["status"], "cancelled")
        refunded = fo.wait_payment(token, p["id"], ("refunded",), WAIT, gw)
        self.assertRegex(refunded["refunded_at"], fo.ISO_UTC)
        self.assertEqual(fo.seat_map(f["id"], gw)["3C"], "available")
        c = fo.wait_notification(token, b["id"], "booking_cancellation", WAIT, gw)
        self.assertIn(b["reference"], c["message"])
        mails = fo.wait_mail(c["id"], user["email"], WAIT)
        self.assertEqual(len(mails), 1, "one cancellation email")
        self.assertEqual(mails[0]["Subject"], "Your booking was cancelled")
        self.assertIn(b["reference"], fo.mail_text(mails[0]))
        # Her notifications: the confirmation and the cancellation, newest first.
        rows, total = fo.notifications(token, gw)
        self.assertEqual(([x["id"] for x in rows], total), ([c["id"], n["id"]], 2))

    def test_declined_then_paid_through_the_gateway(self):
        gw = fo.GATEWAY
        f = fo.create_flight(fo.admin_token(gw), gw, total_seats=12)
        user, _, token = fo.new_user(gw)
        b = fo.book(token, f["id"], "1A", base=gw).body
        p = fo.pay(token, b, fo.CARD_DECLINED, base=gw).body
        p = fo.wait_payment(token, p["id"], ("succeeded", "failed"), WAIT, gw)
        self.assertEqual(p["status"], "failed")
        self.assertEqual(fo.get_booking(token, b["id"], gw).body["status"], "pending")
        n = fo.wait_notification(token, b["id"], "payment_failed", WAIT, gw)
        mails = fo.wait_mail(n["id"], user["email"], WAIT)
        self.assertEqual(mails[0]["Subject"], "Your payment failed")
        self.assertNotIn(fo.CARD_DECLINED, mails[0].as_string())
        p2 = fo.pay(token, b, fo.CARD_MASTERCARD, base=gw).body
        self.assertEqual(fo.wait_payment(token, p2["id"], timeout=WAIT, base=gw)["status"],
                         "succeeded")
        fo.wait_booking(token, b["id"], "confirmed", WAIT, gw)


class SeedReadmeExamplesTest(JourneyBase, unittest.TestCase):
    """The seed README's payment and notification requests, as curl sends
    them (JSON text, Content-Type: application/json), to the payments
    (:PORT_BASE+3) and notifications (:PORT_BASE+4) ports with a Bearer
    token. Its booking id and user id are this test's own."""

    def curl(self, method, url, token, data=None):
        headers = {"Content-Type": "application/json"} if data is not None else {}
        return fo.request(method, url, body=data, token=token, headers=headers)

    def test_payment_and_notification_examples(self):
        f = fo.create_flight(self.admin, price=299.99, total_seats=180)
        user, _, token = fo.new_user()
        b = fo.book(token, f["id"], "12A").body
        data = ('{"booking_id": %d, "amount": 299.99, "payment_method": "credit_card", '
                '"card_number": "4111111111111111"}' % b["id"])
        r = self.curl("POST", fo.PAYMENTS + "/payments", token, data)
        self.assertJSON(r, 202)
        self.assertEqual((r.body["status"], r.body["amount"], r.body["card_last4"]),
                         ("pending", 299.99, "1111"))
        self.assertNotIn(b"4111111111111111", r.raw)
        pid = r.body["id"]
        r = self.curl("GET", "%s/payments/%d" % (fo.PAYMENTS, pid), token)
        self.assertJSON(r, 200)
        r = self.curl("GET", "%s/payments?booking_id=%d" % (fo.PAYMENTS, b["id"]), token)
        self.assertJSON(r, 200)
        self.assertEqual([x["id"] for x in r.body], [pid])
        self.assertEqual(fo.wait_payment(token, pid, timeout=WAIT)["status"], "succeeded")
        fo.wait_booking(token, b["id"], "confirmed", WAIT)

        # The seed's example queued a booking_confirmation with the user's
        # own text: since issue 9 a user token sends only `custom` (403),
        # system mails come from services, from templates.
        data = ('{"user_id": %d, "type": "booking_confirmation", '
                '"message": "Your flight booking is confirmed!"}' % user["id"])
        r = self.curl("POST", fo.NOTIFICATIONS + "/notifications", token, data)
        self.assertJSON(r, 403)
        data = ('{"user_id": %d, "type": "custom", '
                '"message": "Your flight booking is confirmed!"}' % user["id"])
        r = self.curl("POST", fo.NOTIFICATIONS + "/notifications", token, data)
        self.assertJSON(r, 201)
        self.assertEqual((r.body["user_id"], r.body["type"], r.body["status"]),
                         (user["id"], "custom", "queued"))
        nid = r.body["id"]
        r = self.curl("GET", "%s/notifications/%d" % (fo.NOTIFICATIONS, nid), token)
        self.assertJSON(r, 200)
        r = self.curl("GET", "%s/notifications?user_id=%d" % (fo.NOTIFICATIONS, user["id"]),
                      token)
        self.assertJSON(r, 200)
        self.assertIn(nid, [x["id"] for x in r.body])
        mails = fo.wait_mail(nid, user["email"], WAIT)
        self.assertIn("Your flight booking is confirmed!", fo.mail_text(mails[0]))


# ---------------------------------------------------------------- chaos

class Killer:
    """SIGKILL the payments pool's and the mailer's background children
    over and over, each on its own thread, at most `rounds` times each (or
    until stop()). The payments child every `interval` seconds; the mailer
    child once per round too, but at the moment an email lands in the
    Maildir when one does within the round (the mailer is then busy with a
    batch), else at the round's end. kills[pool] lists the pids killed."""

    POOLS = ("payments", "mailer")

    def __init__(self, rounds=KILL_ROUNDS, interval=KILL_INTERVAL):
        self.rounds, self.interval = rounds, interval
        self.kills = {p: [] for p in self.POOLS}
        self.misses = {p: 0 for p in self.POOLS}
        self.while_mailing = 0  # mailer kills right after an email landed
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._payments, daemon=True),
                         threading.Thread(target=self._mailer, daemon=True)]

    def _kill(self, pool):
        pid = fo.tick_child(pool)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
                self.kills[pool].append(pid)
                return True
            except ProcessLookupError:
                pass
        self.misses[pool] += 1  # its master is starting it again
        return False

    def _payments(self):
        for _ in range(self.rounds):
            if self._stop.wait(self.interval):
                return
            self._kill("payments")

    @staticmethod
    def _maildir_stamp():
        try:
            return os.stat(fo.MAILDIR_NEW).st_mtime_ns
        except OSError:
            return None

    def _mailer(self):
        for _ in range(self.rounds):
            if self._stop.wait(self.interval):
                return
            stamp = self._maildir_stamp()
            until = time.monotonic() + self.interval
            mailing = False
            while not mailing and time.monotonic() < until and not self._stop.is_set():
                mailing = self._maildir_stamp() != stamp
                if not mailing:
                    time.sleep(0.002)
            if self._kill("mailer") and mailing:
                self.while_mailing += 1

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def join(self):
        for t in self._threads:
            t.join(self.rounds * self.interval * 2 + 30)

    def stop(self):
        self._stop.set()
        self.join()


class ChaosTest(JourneyBase, unittest.TestCase):

    def test_200_payments_while_processors_are_killed(self):
        for pool in ("payments", "mailer"):
            fo.wait_for(lambda: fo.tick_child(pool), 30, 0.2, "%s:tick running" % pool)
        f = fo.create_flight(self.admin, total_seats=CHAOS_SEATS, price=150.0)
        users = fo.new_users(CHAOS_USERS, workers=10)
        seats = fo.seat_names(CHAOS_SEATS)

        def book_all(i):
            token = users[i][2]
            out = []
            for seat in seats[i * CHAOS_PER_USER:(i + 1) * CHAOS_PER_USER]:
                r = fo.book(token, f["id"], seat)
                if r.status != 201:
                    raise AssertionError("booking %s: %s" % (seat, fo.describe(r)))
                out.append(r.body)
            return out

        booked = fo.parallel(book_all, range(CHAOS_USERS), workers=CHAOS_USERS)
        for item in booked:
            if isinstance(item, Exception):
                raise item
        jobs = [(i, b) for i, bs in enumerate(booked) for b in bs]
        self.assertEqual(len(jobs), CHAOS_USERS * CHAOS_PER_USER)
        owner = {b["id"]: i for i, b in jobs}

        killer = Killer().start()
        try:
            def pay(job):
                i, b = job
                card = (fo.CARD_VISA, fo.CARD_MASTERCARD)[b["id"] % 2]
                return fo.pay(users[i][2], b, card,
                              headers={"Idempotency-Key": "chaos-%d" % b["id"]})
            answers = fo.parallel(pay, jobs, workers=20)
            errors = [a for a in answers if isinstance(a, Exception)]
            self.assertEqual(errors, [], "payment requests failed")
            odd = [fo.describe(a) for a in answers if a.status != 202][:5]
            self.assertEqual(odd, [], "every payment is accepted")
            killer.join()  # all its rounds: kills go on while payments are charged
        finally:
            killer.stop()
        kills = {p: len(k) for p, k in killer.kills.items()}
        log("chaos: killed %r, %d of the mailer's right after an email landed (child "
            "absent, being restarted, at %r rounds)" % (kills, killer.while_mailing,
                                                        killer.misses))
        self.assertGreater(kills["payments"], 0, "no payments:tick was ever killed")
        self.assertGreater(kills["mailer"], 0, "no mailer:tick was ever killed")
        payment_of = {a.body["booking_id"]: a.body["id"] for a in answers}
        deadline = time.monotonic() + CHAOS_WAIT

        def left():
            return max(1.0, deadline - time.monotonic())

        # 1. Every payment final (and, with these cards, succeeded).
        def payments_final():
            final = {}
            for _, _, token in users:
                rows, _ = self._all(fo.PAYMENTS + "/payments", token)
                for p in rows:
                    if p["booking_id"] in payment_of:
                        final[p["id"]] = p
            pending = [p for p in final.values() if p["status"] not in fo.FINAL_PAYMENT]
            return final if len(final) == len(jobs) and not pending else None
        final = fo.wait_for(payments_final, left(), 1.0, "all %d payments final" % len(jobs))
        self.assertEqual({p["status"] for p in final.values()}, {"succeeded"})
        self.assertEqual(set(final), set(payment_of.values()))

        # 2. Each booking confirmed, by its own payment; one succeeded
        #    payment per booking and one gateway charge per payment.
        def bookings_confirmed():
            rows = []
            for _, _, token in users:
                got, _ = self._all(fo.BOOKINGS + "/bookings?flight_id=%d" % f["id"], token)
                rows += got
            return rows if sorted(x["status"] for x in rows) == ["confirmed"] * len(jobs) \
                else None
        rows = fo.wait_for(bookings_confirmed, left(), 1.0, "all bookings confirmed")
        self.assertEqual({b["id"]: b["payment_id"] for b in rows}, payment_of)
        ids = ",".join(str(b) for b in payment_of)
        out = fo.psql("flightops_payments",
                      "SELECT booking_id, count(*) FILTER (WHERE status = 'succeeded'), "
                      "count(*) FROM payments WHERE booking_id IN (%s) GROUP BY 1" % ids)
        per_booking = {}
        for line in out.split():
            bid, ok, total = (int(x) for x in line.split("|"))
            per_booking[bid] = (ok, total)
        self.assertEqual(per_booking, {b: (1, 1) for b in payment_of})
        keys = ",".join("'payment-%d'" % p for p in payment_of.values())
        out = fo.psql("flightops_payments",
                      "SELECT count(*), count(DISTINCT idempotency_key), bool_and(approved) "
                      "FROM gateway_charges WHERE idempotency_key IN (%s)" % keys)
        self.assertEqual(out.strip(), "%d|%d|t" % (len(jobs), len(jobs)), "one charge each")
        self.assertEqual(fo.seat_map(f["id"])[seats[0]], "booked")
        self.assertEqual(fo.get_flight(f["id"])["available_seats"], CHAOS_SEATS - len(jobs))

        # 3. One confirmation notification per booking, all sent.
        def notifications_sent():
            found = {}
            for _, _, token in users:
                got, _ = self._all(fo.NOTIFICATIONS + "/notifications?type=booking_confirmation",
                                   token)
                for n in got:
                    if n["booking_id"] in payment_of:
                        found.setdefault(n["booking_id"], []).append(n)
            done = len(found) == len(jobs) and \
                all(n["status"] != "queued" for ns in found.values() for n in ns)
            return found if done else None
        found = fo.wait_for(notifications_sent, left(), 1.0,
                            "a sent confirmation for each of %d bookings" % len(jobs))
        self.assertEqual({b: len(ns) for b, ns in found.items()},
                         {b: 1 for b in payment_of}, "one confirmation notification each")
        self.assertEqual({ns[0]["status"] for ns in found.values()}, {"sent"})

        # 4. Every confirmation email arrived; count copies.
        want = {}
        for bid, ns in found.items():
            want[fo.message_id_of(ns[0]["id"])] = users[owner[bid]][0]["email"].lower()

        def mails_arrived():
            copies = {mid: 0 for mid in want}
            for _, msg in fo.maildir(headers_only=True):
                mid = (msg.get("Message-ID") or "").strip()
                if mid in want and want[mid] in (msg.get("To") or "").lower():
                    copies[mid] += 1
            return copies if all(copies.values()) else None
        copies = fo.wait_for(mails_arrived, left(), 1.0, "every confirmation email")
        duplicates = sum(c - 1 for c in copies.values())
        log("chaos: %d confirmation emails, %d duplicate copies (Message-IDs sent twice: %r)"
            % (len(copies), duplicates, sorted(m for m, c in copies.items() if c > 1)))
        self.assertEqual(len(copies), len(jobs))
        # What the kills did (reported, not asserted: it depends on timing).
        again = fo.psql("flightops_payments", "SELECT count(*) FROM payments WHERE attempts > 1 "
                        "AND booking_id IN (%s)" % ids).strip()
        nids = ",".join(str(ns[0]["id"]) for ns in found.values())
        resent = fo.psql("flightops_notifications", "SELECT count(*) FROM notifications "
                         "WHERE attempts > 1 AND id IN (%s)" % nids).strip()
        log("chaos: payments claimed again after a kill: %s; confirmation notifications "
            "claimed again: %s" % (again, resent))
        # A copy is the one message in flight when a mailer:tick died
        # between the server's acceptance and the "sent" mark: at most one
        # per kill.
        self.assertLessEqual(duplicates, kills["mailer"])

        # The masters run their background children again.
        for pool in ("payments", "mailer"):
            fo.wait_for(lambda: fo.tick_child(pool), 30, 0.2, "%s:tick running again" % pool)

    def _all(self, url, token):
        """Every row of a list endpoint (pages of 200)."""
        rows, offset = [], 0
        sep = "&" if "?" in url else "?"
        while True:
            r = fo.get("%s%slimit=200&offset=%d" % (url, sep, offset), token=token)
            if r.status != 200:
                raise AssertionError(fo.describe(r))
            rows += r.body
            total = int(r.headers.get("X-Total-Count", "0"))
            offset += 200
            if offset >= total or not r.body:
                return rows, total


if __name__ == "__main__":
    unittest.main()
