/* test_payments_handlers.c - the payments handlers through the real
 * route table (tests/harness), with the store and the gateway ledger in
 * memory (fake_store.c) and the bookings pool played by a stub server:
 * booking 10 is bob's (user 7) and pending at 299.99, 11 is carol's
 * (user 8), 12 is bob's but confirmed, 13 does not exist, the bookings
 * pool fails on 14 and is too slow for 15 (SERVICE_TIMEOUT_MS is 200).
 * Also the backlog gauges of /metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_store.h"
#include "harness.h"
#include "payments.h"
#include "service.h"
#include "stub.h"

#define BOOKING(id, user, status)                                                                  \
	"{\"id\": " #id ", \"user_id\": " #user ", \"status\": \"" status                          \
	"\", \"total_amount\": 299.99}"

static const struct stub_route bookings[] = {
        {"GET", "/internal/bookings/10", 200, BOOKING(10, 7, "pending"), 0},
        {"GET", "/internal/bookings/11", 200, BOOKING(11, 8, "pending"), 0},
        {"GET", "/internal/bookings/12", 200, BOOKING(12, 7, "confirmed"), 0},
        {"GET", "/internal/bookings/13", 404, "{\"detail\": \"Booking not found\"}", 0},
        {"GET", "/internal/bookings/14", 500, "{\"detail\": \"boom\"}", 0},
        {"GET", "/internal/bookings/15", 200, BOOKING(15, 7, "pending"), 400},
        {"GET", "/internal/bookings/16", 200,
         "{\"id\": 16, \"user_id\": 7, \"status\": \"pending\", \"total_amount\": 299.99, "
         "\"flight_departed\": true}",
         0},
        {NULL, NULL, 0, NULL, 0},
};

#define CARD     "4242424242424242"
#define DECLINED "4000000000000002"
#define PAY(booking, amount, card)                                                                 \
	"{\"booking_id\": " #booking ", \"amount\": " #amount                                      \
	", \"payment_method\": \"credit_card\", \"card_number\": \"" card "\"}"

static struct worker w;
static struct conf conf;
static const char *admin, *bob, *carol;
/* The harness's current response (harness_call), by a short name. */
static const struct harness_response *const res = &harness_res;

static int start(void **state)
{
	char url[64];

	(void)state;
	snprintf(url, sizeof(url), "BOOKINGS_URL=http://127.0.0.1:%d", stub_start(bookings));
	const char *const extra[] = {url, "PAYMENT_GATEWAY=simulator", "GATEWAY_LATENCY_MS=0",
	                             NULL};
	harness_worker_init(&w, &conf, &payments_service, extra);
	admin = harness_token(1, "admin", 1);
	bob = harness_token(7, "bob", 0);
	carol = harness_token(8, "carol", 0);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &payments_service);
	stub_stop();
	return 0;
}

/* A stored payment id of user for booking, in status. */
static void seed(int64_t id, int64_t booking, int64_t user, const char *status)
{
	struct payment p = {
	        .id = id, .booking_id = booking, .user_id = user, .amount_cents = 29999};

	snprintf(p.payment_method, sizeof(p.payment_method), "credit_card");
	snprintf(p.card_last4, sizeof(p.card_last4), "4242");
	snprintf(p.card_brand, sizeof(p.card_brand), "visa");
	snprintf(p.gateway_token, sizeof(p.gateway_token), "tok_sim_ok_seeded");
	snprintf(p.status, sizeof(p.status), "%s", status);
	snprintf(p.created_at, sizeof(p.created_at), "2026-11-30T12:00:00Z");
	fake_payment_put(&p);
}

/* Before each test: bob's payment 1 (booking 20) succeeded, 2 (booking
 * 21) pending; carol's 3 (booking 22) succeeded. */
static int reset(void **state)
{
	(void)state;
	fake_store_reset();
	seed(1, 20, 7, "succeeded");
	seed(2, 21, 7, "pending");
	seed(3, 22, 8, "succeeded");
	return 0;
}

/* The id of element i of an array body. */
static int64_t id_at(size_t i)
{
	return json_object_get_int64(harness_item(i, "id"));
}

/* 1 when the bytes at p (n of them) hold s. */
static int holds(const void *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* ---- POST /payments -------------------------------------------------- */

static void pay_accepted(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, "4242 4242-4242 4242"));
	assert_int_equal(res->status, 202);
	assert_int_equal(harness_int(res, "id"), FAKE_FIRST_ID);
	assert_int_equal(harness_int(res, "booking_id"), 10);
	assert_int_equal(harness_int(res, "user_id"), 7);
	assert_string_equal(harness_str(res, "amount"), "299.99");
	assert_string_equal(harness_str(res, "payment_method"), "credit_card");
	assert_string_equal(harness_str(res, "card_last4"), "4242");
	assert_string_equal(harness_str(res, "card_brand"), "visa");
	assert_string_equal(harness_str(res, "status"), "pending");
	assert_null(json_object_object_get(res->json, "failure_reason"));
	assert_null(json_object_object_get(res->json, "gateway_token"));
	assert_string_equal(stub_last_path(), "/internal/bookings/10");
	assert_string_equal(stub_last_header("X-Service-Key"), HARNESS_SVC_KEY);
	/* the card number is in neither the reply nor the store */
	assert_false(holds(res->body, res->body_len, CARD));
	assert_false(holds(res->body, res->body_len, "4242 4242"));
	const struct payment *p = fake_payment(FAKE_FIRST_ID);
	assert_non_null(p);
	assert_int_equal(p->amount_cents, 29999);
	assert_string_equal(p->card_last4, "4242");
	assert_false(holds(p, sizeof(*p), CARD));
	assert_false(holds(p, sizeof(*p), "42424242"));
	assert_int_equal(strncmp(p->gateway_token, "tok_sim_ok_", 11), 0);
}

static void pay_as_admin_for_anyone(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", admin, PAY(11, 299.99, CARD));
	assert_int_equal(res->status, 202);
	assert_int_equal(harness_int(res, "user_id"), 8); /* the booking's owner */
}

static void pay_booking_not_found(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(13, 299.99, CARD));
	harness_expect_error(404, "Booking not found");
	/* someone else's booking is not found either */
	harness_call(&w, "POST", "/payments", bob, PAY(11, 299.99, CARD));
	harness_expect_error(404, "Booking not found");
	assert_int_equal(fake_store_calls("create"), 0);
}

static void pay_booking_not_pending(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(12, 299.99, CARD));
	harness_expect_error(409, "Booking is confirmed");
	assert_int_equal(fake_store_calls("create"), 0);
}

/* A hold whose flight has left cannot be paid for (bookings tells so);
 * someone else's is still just not found. */
static void pay_booking_of_a_departed_flight(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(16, 299.99, CARD));
	harness_expect_error(409, "Flight has already departed");
	harness_call(&w, "POST", "/payments", carol, PAY(16, 299.99, CARD));
	harness_expect_error(404, "Booking not found");
	assert_int_equal(fake_store_calls("create"), 0);
}

static void pay_amount_mismatch(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.98, CARD));
	assert_string_equal(harness_invalid("amount", "value_error"),
	                    "Amount must equal the booking total (299.99)");
	assert_int_equal(fake_store_calls("create"), 0);
}

static void pay_invalid(void **state)
{
	int before = stub_count();

	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, "4242424242424241"));
	assert_non_null(harness_invalid("card_number", "value_error"));
	assert_false(holds(res->body, res->body_len, "4242424242424241"));
	harness_call(&w, "POST", "/payments", bob,
	             "{\"booking_id\": 10, \"amount\": 299.999, \"payment_method\": \"cash\", "
	             "\"card_number\": \"" CARD "\"}");
	assert_string_equal(harness_invalid("payment_method", "enum"),
	                    "Input should be 'credit_card' or 'debit_card'");
	assert_non_null(harness_invalid("amount", "decimal_max_places"));
	harness_call(&w, "POST", "/payments", bob, "{}");
	assert_non_null(harness_invalid("booking_id", "missing"));
	assert_non_null(harness_invalid("amount", "missing"));
	assert_non_null(harness_invalid("payment_method", "missing"));
	assert_non_null(harness_invalid("card_number", "missing"));
	assert_int_equal(stub_count(), before); /* refused before asking bookings */
	harness_call(&w, "POST", "/payments", NULL, PAY(10, 299.99, CARD));
	assert_int_equal(res->status, 401);
}

static void pay_twice(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, CARD));
	assert_int_equal(res->status, 202);
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, "5555555555554444"));
	harness_expect_error(409, "This booking already has a payment in progress or completed");
}

static void pay_store_down(void **state)
{
	(void)state;
	fake_store_fail("create", STORE_ERROR);
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, CARD));
	harness_expect_error(503, "Database unavailable");
}

static void pay_bookings_down(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(14, 299.99, CARD));
	harness_expect_error(503, "Booking service unavailable");
	int answered = stub_count();
	harness_call(&w, "POST", "/payments", bob, PAY(15, 299.99, CARD));
	harness_expect_error(503, "Booking service unavailable");
	assert_int_equal(fake_store_calls("create"), 0);
	/* the stub serves one connection at a time: let it finish the slow
	 * answer before the next test calls it */
	for (int i = 0; i < 100 && stub_count() == answered; i++)
		usleep(10000);
}

/* ---- the tick child: charge, settle ----------------------------------- */

static void tick_charges(void **state)
{
	int refunded = -1;

	(void)state;
	harness_call(&w, "POST", "/payments", bob, PAY(10, 299.99, CARD));
	assert_int_equal(res->status, 202);
	harness_call(&w, "POST", "/payments", admin, PAY(11, 299.99, DECLINED));
	assert_int_equal(res->status, 202);
	seed(2, 21, 7, "failed"); /* only the two new ones are pending */
	payments_tick(&w);
	assert_string_equal(fake_payment(FAKE_FIRST_ID)->status, "succeeded");
	assert_string_equal(fake_payment(FAKE_FIRST_ID + 1)->status, "failed");
	assert_string_equal(fake_payment(FAKE_FIRST_ID + 1)->failure_reason, "card declined");
	assert_true(fake_gateway_charged("payment-100", &refunded));
	assert_int_equal(refunded, 0);
	assert_true(fake_gateway_charged("payment-101", NULL));
	/* a gateway that does not answer leaves the payment pending */
	seed(4, 23, 7, "pending");
	fake_store_fail("gateway_charge", STORE_ERROR);
	payments_tick(&w);
	assert_string_equal(fake_payment(4)->status, "pending");
	assert_int_equal(fake_store_calls("settle"), 2);
}

/* ---- GET /payments/:id and /payments ---------------------------------- */

static void get_own(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/payments/1", bob, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "id"), 1);
	assert_string_equal(harness_str(res, "status"), "succeeded");
	assert_string_equal(harness_str(res, "created_at"), "2026-11-30T12:00:00Z");
	assert_null(json_object_object_get(res->json, "refunded_at"));
	harness_call(&w, "GET", "/payments/3", admin, NULL);
	assert_int_equal(res->status, 200);
}

static void get_not_found(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/payments/3", bob, NULL); /* carol's */
	harness_expect_error(404, "Payment not found");
	harness_call(&w, "GET", "/payments/999", bob, NULL);
	harness_expect_error(404, "Payment not found");
	harness_call(&w, "GET", "/payments/x", bob, NULL);
	harness_expect_error(404, "Not Found");
	fake_store_fail("get", STORE_ERROR);
	harness_call(&w, "GET", "/payments/1", bob, NULL);
	harness_expect_error(503, "Database unavailable");
}

static void list(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/payments", bob, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(json_object_array_length(res->json), 2);
	assert_int_equal(id_at(0), 2); /* newest first */
	assert_int_equal(id_at(1), 1);
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	harness_call(&w, "GET", "/payments?booking_id=20", bob, NULL);
	assert_int_equal(json_object_array_length(res->json), 1);
	assert_int_equal(id_at(0), 1);
	harness_call(&w, "GET", "/payments?booking_id=22", bob, NULL); /* carol's */
	assert_int_equal(json_object_array_length(res->json), 0);
	assert_string_equal(harness_res_header("X-Total-Count"), "0");
	harness_call(&w, "GET", "/payments?limit=1&offset=1", admin, NULL);
	assert_int_equal(json_object_array_length(res->json), 1);
	assert_int_equal(id_at(0), 2);
	assert_string_equal(harness_res_header("X-Total-Count"), "3");
	harness_call(&w, "GET", "/payments?skip=5", admin, NULL);
	assert_int_equal(json_object_array_length(res->json), 0);
	assert_string_equal(harness_res_header("X-Total-Count"), "3");
}

static void list_refused(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/payments?booking_id=x&limit=0", bob, NULL);
	assert_non_null(harness_invalid("booking_id", "int_parsing"));
	assert_non_null(harness_invalid("limit", "greater_than_equal"));
	fake_store_fail("list", STORE_ERROR);
	harness_call(&w, "GET", "/payments", bob, NULL);
	harness_expect_error(503, "Database unavailable");
}

/* ---- refunds ------------------------------------------------------------ */

static void refund_by_admin(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments/1/refund", admin, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "status"), "refunded");
	assert_string_equal(harness_str(res, "refunded_at"), FAKE_NOW);
	assert_int_equal(fake_store_calls("gateway_refund"), 1);
	assert_string_equal(fake_payment(1)->status, "refunded");
	/* a second time: no longer succeeded */
	harness_call(&w, "POST", "/payments/1/refund", admin, NULL);
	harness_expect_error(409, "Only a succeeded payment can be refunded");
}

static void refund_refused(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/payments/2/refund", admin, NULL); /* pending */
	harness_expect_error(409, "Only a succeeded payment can be refunded");
	harness_call(&w, "POST", "/payments/999/refund", admin, NULL);
	harness_expect_error(404, "Payment not found");
	harness_call(&w, "POST", "/payments/1/refund", bob, NULL);
	harness_expect_error(403, "Not enough permissions");
	fake_store_fail("gateway_refund", STORE_ERROR);
	harness_call(&w, "POST", "/payments/1/refund", admin, NULL);
	harness_expect_error(503, "Payment gateway or database unavailable");
	assert_string_equal(fake_payment(1)->status, "succeeded");
	assert_int_equal(fake_store_calls("refunded"), 0);
	fake_store_fail(NULL, STORE_OK);
	fake_store_fail("get", STORE_ERROR);
	harness_call(&w, "POST", "/payments/1/refund", admin, NULL);
	harness_expect_error(503, "Payment gateway or database unavailable");
}

static void internal_refund(void **state)
{
	(void)state;
	harness_call_service(&w, "POST", "/internal/payments/refund",
	                     "{\"booking_id\": 20, \"event_id\": \"e\"}");
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "booking_id"), 20);
	assert_true(json_object_get_boolean(json_object_object_get(res->json, "refunded")));
	assert_string_equal(fake_payment(1)->status, "refunded");
	/* nothing succeeded (any more): fine, nothing refunded */
	harness_call_service(&w, "POST", "/internal/payments/refund", "{\"booking_id\": 20}");
	assert_int_equal(res->status, 200);
	assert_false(json_object_get_boolean(json_object_object_get(res->json, "refunded")));
	harness_call_service(&w, "POST", "/internal/payments/refund", "{}");
	assert_non_null(harness_invalid("booking_id", "missing"));
	harness_call(&w, "POST", "/internal/payments/refund", admin, "{\"booking_id\": 22}");
	assert_int_equal(res->status, 403);
	fake_store_fail("succeeded_for", STORE_ERROR);
	harness_call_service(&w, "POST", "/internal/payments/refund", "{\"booking_id\": 22}");
	harness_expect_error(503, "Payment gateway or database unavailable");
}

/* ---- GET /metrics ---------------------------------------------------- */

/* The processing backlog is read at scrape time; the outbox's needs
 * PostgreSQL, which the harness does not have: those gauges are left out
 * and the scrape says so, with a 200 all the same. */
static void metrics_gauges(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_non_null(strstr(res->body, "# TYPE payments_pending gauge\npayments_pending 1\n"));
	assert_non_null(strstr(res->body, "\npayments_oldest_pending_seconds 42.5\n"));
	assert_null(strstr(res->body, "\noutbox_undelivered "));
	assert_non_null(strstr(res->body, "\nmetrics_gauges_ok 0\n"));

	seed(2, 21, 7, "succeeded");
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_non_null(strstr(res->body, "\npayments_pending 0\n"));
	assert_non_null(strstr(res->body, "\npayments_oldest_pending_seconds 0\n"));

	fake_store_fail("backlog", STORE_ERROR);
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_null(strstr(res->body, "payments_pending"));
	assert_non_null(strstr(res->body, "# TYPE http_requests_total counter\n"));
	assert_non_null(strstr(res->body, "\nmetrics_gauges_ok 0\n"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, harness_done)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(pay_accepted),
	        TEST(pay_as_admin_for_anyone),
	        TEST(pay_booking_not_found),
	        TEST(pay_booking_not_pending),
	        TEST(pay_booking_of_a_departed_flight),
	        TEST(pay_amount_mismatch),
	        TEST(pay_invalid),
	        TEST(pay_twice),
	        TEST(pay_store_down),
	        TEST(pay_bookings_down),
	        TEST(tick_charges),
	        TEST(get_own),
	        TEST(get_not_found),
	        TEST(list),
	        TEST(list_refused),
	        TEST(refund_by_admin),
	        TEST(refund_refused),
	        TEST(internal_refund),
	        TEST(metrics_gauges),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
