"""Prometheus against the test stack: `./flightops component start
prometheus` renders prometheus/prometheus.yml.in for this stack (every
pool's service port, scraped every 2 s, the rules of prometheus/alerts.yml)
and starts Debian's prometheus on FO_PROMETHEUS_PORT. Its API must show
every pool's target up; the backlog gauges each pool reads at scrape time
(outbox, payments, mail queue) must be there and sane after a paid booking;
work left stuck in each database (an outbox event, a queued mail, a payment
under a hung processor's lease, all an hour old) must raise the matching
alert, and a stopped pool FlightOpsPoolDown. With PostgreSQL stopped,
/metrics still answers 200, without the gauges and with metrics_gauges_ok 0.
`component stop prometheus` stops it again.

Waits are bounded and generous (scrapes and rule evaluations every 2 s);
nothing asserts on timing.
"""

import math
import os
import unittest
import urllib.parse

import fo

PORT = int(os.environ.get("FO_PROMETHEUS_PORT") or 9090)
PROMETHEUS = "http://%s:%d" % (fo.HOST, PORT)
# Port order of ./flightops's POOLS: FO_PORT_BASE + index.
POOLS = ("users", "flights", "bookings", "payments", "notifications", "mailer")
# Pools with gauges read from their database, and the gauges.
GAUGES = {
    "bookings": ("outbox_undelivered", "outbox_oldest_undelivered_seconds"),
    "payments": ("payments_pending", "payments_oldest_pending_seconds",
                 "outbox_undelivered", "outbox_oldest_undelivered_seconds"),
    "notifications": ("mail_queued", "mail_oldest_queued_seconds"),
}
START_WAIT = 120.0   # every target up (the first scrape comes within 2 s)
SERIES_WAIT = 60.0   # a value reaches Prometheus, an alert is evaluated
HOUR = 3600
# A booking id no real booking has: the stuck payment must not collide.
STUCK_BOOKING = 9_000_000_000_000_000_000 + os.getpid()


def pool_url(pool):
    return "http://%s:%d" % (fo.HOST, fo.PORT_BASE + POOLS.index(pool))


def api(path, **query):
    """GET /api/v1/<path>: its data (asserts status success)."""
    url = "%s/api/v1/%s" % (PROMETHEUS, path)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    r = fo.get(url)
    if r.status != 200 or not isinstance(r.body, dict) or r.body.get("status") != "success":
        raise AssertionError("prometheus: %s" % fo.describe(r))
    return r.body["data"]


def targets():
    """{pool: (health, scrapeUrl, lastError)} of the flightops job."""
    out = {}
    for t in api("targets", state="active")["activeTargets"]:
        if t["labels"].get("job") == "flightops":
            out[t["labels"].get("pool")] = (t["health"], t["scrapeUrl"], t.get("lastError"))
    return out


def query(expr):
    """The instant vector of expr: {pool: value}."""
    data = api("query", query=expr)
    assert data["resultType"] == "vector", data
    return {s["metric"].get("pool"): float(s["value"][1]) for s in data["result"]}


def alerts(name):
    """{pool: state} of the active alerts called name."""
    return {a["labels"].get("pool"): a["state"] for a in api("alerts")["alerts"]
            if a["labels"].get("alertname") == name}


def gauge(samples, name):
    """The one sample called name (asserts there is one)."""
    values = [v for n, _, v in samples if n == name]
    if len(values) != 1:
        raise AssertionError("want one sample %s, got %r" % (name, values))
    return values[0]


def stop_prometheus():
    fo.component("stop", "prometheus")


class PrometheusTest(fo.ApiAsserts, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for pool in POOLS:
            fo.wait_healthy(pool_url(pool))
        fo.component("start", "prometheus")
        cls.addClassCleanup(stop_prometheus)
        fo.wait_for(lambda: api("status/runtimeinfo"), 30, 0.5, "the Prometheus API")

    @classmethod
    def tearDownClass(cls):
        stop_prometheus()
        # down: no pid file, nothing on its port
        if os.path.exists(os.path.join(fo.VAR, "run", "prometheus.pid")):
            raise AssertionError("prometheus.pid still there after component stop")
        try:
            fo.get(PROMETHEUS + "/-/ready", timeout=2)
        except OSError:
            return
        raise AssertionError("prometheus still answers on %s after component stop" % PROMETHEUS)

    def wait_targets_up(self):
        def all_up():
            t = targets()
            return t if set(t) == set(POOLS) and all(h == "up" for h, _, _ in t.values()) \
                else None
        try:
            return fo.wait_for(all_up, START_WAIT, 0.5, "every pool's target up")
        except AssertionError as e:
            raise AssertionError("%s; targets: %r" % (e, targets())) from None

    def test_every_pool_target_up(self):
        t = self.wait_targets_up()
        for i, pool in enumerate(POOLS):
            self.assertEqual(t[pool][1], "http://127.0.0.1:%d/metrics" % (fo.PORT_BASE + i),
                             pool)
        self.assertEqual(query('up{job="flightops"}'), {p: 1.0 for p in POOLS})
        # the rules of prometheus/alerts.yml are loaded
        names = {r["name"] for g in api("rules")["groups"] for r in g["rules"]}
        for name in ("FlightOpsPoolDown", "FlightOpsHigh5xxRate", "FlightOpsOutboxLag",
                     "FlightOpsPaymentProcessingLag", "FlightOpsMailQueueAge"):
            self.assertIn(name, names)

    def test_gauges_after_paid_booking(self):
        self.wait_targets_up()
        admin = fo.admin_token()
        _, _, token = fo.new_user()
        flight = fo.create_flight(admin, total_seats=6)
        r = fo.book(token, flight["id"], "1A")
        self.assertEqual(r.status, 201, fo.describe(r))
        booking = r.body
        r = fo.pay(token, booking)
        self.assertEqual(r.status, 202, fo.describe(r))
        self.assertEqual(fo.wait_payment(token, r.body["id"])["status"], "succeeded")
        fo.wait_booking(token, booking["id"], "confirmed", timeout=60)

        for pool in POOLS:
            samples = fo.scrape(pool_url(pool))
            names = {n for n, _, _ in samples}
            if pool not in GAUGES:
                self.assertNotIn("metrics_gauges_ok", names, pool)
                continue
            self.assertEqual(gauge(samples, "metrics_gauges_ok"), 1.0, pool)
            for name in GAUGES[pool]:
                v = gauge(samples, name)
                self.assertTrue(math.isfinite(v) and v >= 0, "%s %s = %r" % (pool, name, v))
                if name.endswith("_seconds"):
                    # nothing in a fresh test stack is a day old
                    self.assertLess(v, 86400, "%s %s" % (pool, name))
                else:
                    self.assertEqual(v, int(v), "%s %s is a count" % (pool, name))
        # the payment is charged: nothing of ours is pending (others' may be, briefly)
        fo.wait_for(lambda: gauge(fo.scrape(fo.PAYMENTS), "payments_pending") == 0,
                    SERIES_WAIT, 0.5, "payments_pending 0 after the payment settled")
        # and Prometheus has every gauge of every pool that has them
        for pool, names in GAUGES.items():
            for name in names + ("metrics_gauges_ok",):
                fo.wait_for(lambda: pool in query('%s{job="flightops"}' % name), SERIES_WAIT,
                            0.5, "%s of %s in Prometheus" % (name, pool))

    def stuck(self, database, insert, delete):
        fo.psql(database, insert)
        self.addCleanup(fo.psql, database, delete)

    def test_stuck_work_raises_alerts(self):
        self.wait_targets_up()
        # an event for a peer nobody declared, not due for a day: no relay takes it
        self.stuck("flightops_bookings",
                   "INSERT INTO outbox (event_id, service, path, payload, next_attempt_at, "
                   "created_at) VALUES ('prometheus-test-%d', 'nobody', '/x', '{}', "
                   "now() + interval '1 day', now() - interval '1 hour')" % os.getpid(),
                   "DELETE FROM outbox WHERE event_id = 'prometheus-test-%d'" % os.getpid())
        # a mail waiting for a retry tomorrow
        self.stuck("flightops_notifications",
                   "INSERT INTO notifications (user_id, type, message, event_id, "
                   "next_attempt_at, created_at) VALUES (1, 'custom', 'stuck', "
                   "'prometheus-test-%d', now() + interval '1 day', "
                   "now() - interval '1 hour')" % os.getpid(),
                   "DELETE FROM notifications WHERE event_id = 'prometheus-test-%d'"
                   % os.getpid())
        # a payment under the lease of a processor that hung
        self.stuck("flightops_payments",
                   "INSERT INTO payments (booking_id, user_id, amount_cents, payment_method, "
                   "card_last4, card_brand, gateway_token, lease_until, created_at) VALUES "
                   "(%d, 1, 100, 'credit_card', '0000', 'visa', 'tok_prometheus_test', "
                   "now() + interval '1 hour', now() - interval '1 hour')" % STUCK_BOOKING,
                   "DELETE FROM payments WHERE booking_id = %d" % STUCK_BOOKING)

        for pool, name in (("bookings", "outbox_oldest_undelivered_seconds"),
                           ("payments", "payments_oldest_pending_seconds"),
                           ("notifications", "mail_oldest_queued_seconds")):
            v = gauge(fo.scrape(pool_url(pool)), name)
            self.assertTrue(HOUR <= v < HOUR + 600, "%s %s = %r" % (pool, name, v))
        for pool, name in (("bookings", "outbox_undelivered"), ("payments", "payments_pending"),
                           ("notifications", "mail_queued")):
            self.assertGreaterEqual(gauge(fo.scrape(pool_url(pool)), name), 1, pool)

        # each alert is at least pending (its `for` has not passed yet)
        for name, pool in (("FlightOpsOutboxLag", "bookings"),
                           ("FlightOpsPaymentProcessingLag", "payments"),
                           ("FlightOpsMailQueueAge", "notifications")):
            fo.wait_for(lambda: alerts(name).get(pool) in ("pending", "firing"), SERIES_WAIT,
                        0.5, "alert %s for %s" % (name, pool))

    def test_database_down_metrics_still_answer(self):
        self.wait_targets_up()
        fo.component("stop", "postgres")
        try:
            for pool, names in GAUGES.items():
                r = fo.get(pool_url(pool) + "/metrics")
                self.assertEqual(r.status, 200, fo.describe(r))
                samples = fo.parse_prometheus(r.raw.decode())
                self.assertEqual(gauge(samples, "metrics_gauges_ok"), 0.0, pool)
                got = {n for n, _, _ in samples}
                self.assertFalse(got & set(names), "%s: %s with no database" % (pool, names))
                self.assertIn("http_requests_total", got, pool)
            # a pool whose database is down is up for Prometheus, and says so
            fo.wait_for(lambda: query('metrics_gauges_ok{job="flightops"} == 0').keys()
                        == set(GAUGES), SERIES_WAIT, 0.5, "metrics_gauges_ok 0 in Prometheus")
            self.assertEqual(targets()["payments"][0], "up")
        finally:
            fo.component("start", "postgres")
        for pool in POOLS:
            fo.wait_healthy(pool_url(pool), 60)
        for pool in GAUGES:
            fo.wait_for(lambda: gauge(fo.scrape(pool_url(pool)), "metrics_gauges_ok") == 1,
                        SERIES_WAIT, 0.5, "%s gauges back after PostgreSQL" % pool)

    def test_stopped_pool_alert(self):
        self.wait_targets_up()
        # the mailer: no request waits on it
        fo.component("stop", "mailer")
        self.addCleanup(fo.restart_pool, "mailer", pool_url("mailer"))
        fo.wait_for(lambda: targets()["mailer"][0] == "down", SERIES_WAIT, 0.5,
                    "the mailer's target down")
        fo.wait_for(lambda: alerts("FlightOpsPoolDown").get("mailer") in ("pending", "firing"),
                    SERIES_WAIT, 0.5, "alert FlightOpsPoolDown for the mailer")
        self.assertEqual(set(alerts("FlightOpsPoolDown")), {"mailer"})


if __name__ == "__main__":
    unittest.main()
