/* test_notifications_handlers.c - the notifications handlers through the
 * real route table (tests/harness), with the store in memory
 * (fake_store.c): users queue for themselves, admins and services for
 * anyone; a service may send the facts (data) of a system notification
 * and gets the message rendered from the templates, or still a message
 * (events already queued in outboxes); lists and reads are the caller's
 * own; /metrics has the mail queue's gauges. Users: admin 1, alice 7,
 * bob 8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fake_store.h"
#include "harness.h"
#include "notifications.h"
#include "service.h"

static struct worker w;
static struct conf conf;
static const char *admin, *alice, *bob;
/* The harness's current response (harness_call), by a short name. */
static const struct harness_response *const res = &harness_res;

static int start(void **state)
{
	(void)state;
	harness_worker_init(&w, &conf, &notifications_service, NULL);
	admin = harness_token(1, "admin", 1);
	alice = harness_token(7, "alice", 0);
	bob = harness_token(8, "bob", 0);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &notifications_service);
	return 0;
}

static void seed(int64_t id, int64_t user, const char *type, const char *status)
{
	struct notification n = {.id = id, .user_id = user};

	snprintf(n.type, sizeof(n.type), "%s", type);
	snprintf(n.message, sizeof(n.message), "message %lld", (long long)id);
	snprintf(n.status, sizeof(n.status), "%s", status);
	snprintf(n.created_at, sizeof(n.created_at), "2026-11-30T12:00:0%lldZ", (long long)id);
	if (strcmp(status, "sent") == 0)
		snprintf(n.sent_at, sizeof(n.sent_at), "2026-11-30T12:01:00Z");
	fake_notification_put(&n, NULL);
}

/* Before each test, in id order: alice's 1 (custom, sent) and 2
 * (hold_expired, queued), bob's 3 (custom, queued). */
static int reset(void **state)
{
	(void)state;
	fake_store_reset();
	seed(1, 7, "custom", "sent");
	seed(2, 7, "hold_expired", "queued");
	seed(3, 8, "custom", "queued");
	return 0;
}

/* The ids of an array body, as "3,2,1". */
static const char *ids(void)
{
	static char out[256];
	size_t len = 0;

	out[0] = '\0';
	assert_true(json_object_is_type(res->json, json_type_array));
	for (size_t i = 0; i < json_object_array_length(res->json); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%lld", i ? "," : "",
		                        (long long)json_object_get_int64(harness_item(i, "id")));
	return out;
}

/* ---- POST /notifications as a user ---------------------------------- */

static void create_for_self(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"custom\", \"message\": \"Hello\"}");
	assert_int_equal(res->status, 201);
	assert_int_equal(harness_int(res, "id"), FAKE_FIRST_ID);
	assert_int_equal(harness_int(res, "user_id"), 7);
	assert_null(json_object_object_get(res->json, "booking_id"));
	assert_string_equal(harness_str(res, "type"), "custom");
	assert_string_equal(harness_str(res, "message"), "Hello");
	assert_string_equal(harness_str(res, "status"), "queued");
	assert_string_equal(harness_str(res, "created_at"), FAKE_NOW);
	assert_null(json_object_object_get(res->json, "sent_at"));
	assert_string_equal(fake_notification(FAKE_FIRST_ID)->message, "Hello");
}

static void create_for_another(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 8, \"type\": \"custom\", \"message\": \"Hello\"}");
	harness_expect_error(403, "Not enough permissions");
	assert_int_equal(fake_store_calls("create"), 0);
	harness_call(&w, "POST", "/notifications", admin,
	             "{\"user_id\": 8, \"type\": \"custom\", \"message\": \"Hello\", "
	             "\"booking_id\": 5}");
	assert_int_equal(res->status, 201);
	assert_int_equal(harness_int(res, "booking_id"), 5);
}

static void create_idempotent(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"custom\", \"message\": \"Hi\", \"event_id\": "
	             "\"e-1\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(fake_event_key(FAKE_FIRST_ID), "user:7:e-1");
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"custom\", \"message\": \"Again\", \"event_id\": "
	             "\"e-1\"}");
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "id"), FAKE_FIRST_ID);
	assert_string_equal(harness_str(res, "message"), "Hi");
	/* a service's event of the same name is another event */
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"user_id\": 7, \"type\": \"custom\", \"message\": \"Hi\", \"event_id\": "
	        "\"e-1\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(fake_event_key(FAKE_FIRST_ID + 1), "svc:e-1");
}

static void create_invalid(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"sms\", \"message\": \"bell \\u0007\", "
	             "\"event_id\": \"a "
	             "b\"}");
	assert_string_equal(harness_invalid("type", "enum"),
	                    "Input should be 'booking_confirmation', 'booking_cancellation', "
	                    "'payment_failed', 'hold_expired', 'flight_update' or 'custom'");
	assert_string_equal(
	        harness_invalid("message", "value_error"),
	        "Message must not contain control characters other than tab and newline");
	assert_non_null(harness_invalid("event_id", "value_error"));
	harness_call(&w, "POST", "/notifications", alice, "{}");
	assert_non_null(harness_invalid("user_id", "missing"));
	assert_non_null(harness_invalid("type", "missing"));
	assert_non_null(harness_invalid("message", "missing"));
	/* only services send facts: for a user data is no message */
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"payment_failed\", "
	             "\"data\": {\"booking\": \"42\", \"amount\": \"5.00\"}}");
	assert_non_null(harness_invalid("message", "missing"));
	harness_call(&w, "POST", "/notifications", admin,
	             "{\"user_id\": 7, \"type\": \"payment_failed\", "
	             "\"data\": {\"booking\": \"42\", \"amount\": \"5.00\"}}");
	assert_non_null(harness_invalid("message", "missing"));
	assert_int_equal(fake_store_calls("create"), 0);
	harness_call(&w, "POST", "/notifications", NULL, "{}");
	assert_int_equal(res->status, 401);
}

static void create_db_down(void **state)
{
	(void)state;
	fake_store_fail("create", STORE_ERROR);
	harness_call(&w, "POST", "/notifications", alice,
	             "{\"user_id\": 7, \"type\": \"custom\", \"message\": \"Hello\"}");
	harness_expect_error(503, "Database unavailable");
}

/* ---- POST /notifications as a service: facts -> message --------------- */

static void service_renders_data(void **state)
{
	(void)state;
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"event_id\": \"booking-confirmed-10\", \"type\": \"booking_confirmation\", "
	        "\"user_id\": 7, \"booking_id\": 10, \"data\": {\"reference\": \"K7QX2M\", "
	        "\"flight\": \"AA100\", \"origin\": \"JFK\", \"destination\": \"LAX\", "
	        "\"departure\": \"2026-12-01 10:00\", \"seat\": \"12A\", \"total\": \"299.99\"}}");
	assert_int_equal(res->status, 201);
	const char *text = "Your booking K7QX2M is confirmed. Flight AA100 from JFK to LAX, "
	                   "departing 2026-12-01 10:00 UTC. Seat 12A. Total paid: 299.99.";
	assert_string_equal(harness_str(res, "message"), text);
	assert_string_equal(fake_notification(FAKE_FIRST_ID)->message, text);
	assert_string_equal(fake_event_key(FAKE_FIRST_ID), "svc:booking-confirmed-10");
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"event_id\": \"booking-cancelled-10\", \"type\": \"booking_cancellation\", "
	        "\"user_id\": 7, \"booking_id\": 10, \"data\": {\"reference\": \"K7QX2M\", "
	        "\"seat\": \"12A\", \"flight\": \"AA100\", \"refund\": \"yes\"}}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "message"),
	                    "Your booking K7QX2M (seat 12A on AA100) has been cancelled. Your "
	                    "payment will be refunded.");
	harness_call_service(&w, "POST", "/notifications",
	                     "{\"event_id\": \"payment-failed-5\", \"type\": \"payment_failed\", "
	                     "\"user_id\": 7, \"booking_id\": 10, "
	                     "\"data\": {\"booking\": \"10\", \"amount\": \"299.99\"}}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "message"),
	                    "Your payment of 299.99 for booking 10 was declined. The seat stays "
	                    "held until the hold ends; you may pay with another card.");
}

/* Events queued in outboxes before the templates carry the message. */
/* A service's own text only for a type without a template; a templated
 * one is built from data, never from a message. */
static void service_sends_message(void **state)
{
	(void)state;
	harness_call_service(&w, "POST", "/notifications",
	                     "{\"type\": \"flight_update\", \"user_id\": 8, "
	                     "\"message\": \"Gate B7.\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "message"), "Gate B7.");
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"event_id\": \"hold-expired-9\", \"type\": \"hold_expired\", "
	        "\"user_id\": 8, \"booking_id\": 9, \"message\": \"Your hold ended.\", "
	        "\"data\": {\"ignored\": true}}");
	assert_non_null(harness_invalid("data", "missing"));
	assert_null(fake_notification(FAKE_FIRST_ID + 1));
}

/* A user token, admin or not, queues only custom notifications: the mailer
 * sends as FlightOps, so no user text may pass for a system mail. */
static void users_send_only_custom(void **state)
{
	(void)state;
	static const char *const system[] = {"booking_confirmation", "booking_cancellation",
	                                     "payment_failed", "hold_expired", "flight_update"};
	for (size_t i = 0; i < sizeof(system) / sizeof(system[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body),
		         "{\"user_id\": 7, \"type\": \"%s\", \"message\": \"Pay at "
		         "http://evil.example/pay\"}",
		         system[i]);
		harness_call(&w, "POST", "/notifications", alice, body);
		harness_expect_error(403, "Users may only send custom notifications");
		harness_call(&w, "POST", "/notifications", admin, body);
		harness_expect_error(403, "Users may only send custom notifications");
	}
	assert_null(fake_notification(FAKE_FIRST_ID));
}

static void service_data_refused(void **state)
{
	(void)state;
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"user_id\": 7, \"type\": \"custom\", \"data\": {\"text\": \"hi\"}}");
	assert_non_null(strstr(harness_invalid("data", "value_error"), "custom"));
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"user_id\": 7, \"type\": \"payment_failed\", \"data\": {\"booking\": \"4\"}}");
	assert_non_null(strstr(harness_invalid("data", "value_error"), "amount"));
	harness_call_service(
	        &w, "POST", "/notifications",
	        "{\"user_id\": 7, \"type\": \"payment_failed\", \"data\": [\"4\", \"5.00\"]}");
	assert_non_null(harness_invalid("data", "dict_type"));
	harness_call_service(&w, "POST", "/notifications",
	                     "{\"user_id\": 7, \"type\": \"sms\", \"data\": {\"booking\": \"4\"}}");
	assert_non_null(harness_invalid("type", "enum"));
	harness_call_service(&w, "POST", "/notifications",
	                     "{\"user_id\": 7, \"type\": \"custom\"}");
	assert_non_null(harness_invalid("message", "missing"));
	assert_int_equal(fake_store_calls("create"), 0);
}

/* ---- GET /notifications ------------------------------------------------ */

static void list_own(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/notifications", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(ids(), "2,1");
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	harness_call(&w, "GET", "/notifications?user_id=7&limit=1", alice, NULL);
	assert_string_equal(ids(), "2");
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	harness_call(&w, "GET", "/notifications?offset=1", alice, NULL);
	assert_string_equal(ids(), "1");
	harness_call(&w, "GET", "/notifications?skip=5", alice, NULL);
	assert_string_equal(ids(), "");
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
}

static void list_filters(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/notifications?type=custom", alice, NULL);
	assert_string_equal(ids(), "1");
	harness_call(&w, "GET", "/notifications?status=queued", alice, NULL);
	assert_string_equal(ids(), "2");
	harness_call(&w, "GET", "/notifications?type=custom&status=queued", admin, NULL);
	assert_string_equal(ids(), "3");
	harness_call(&w, "GET", "/notifications?user_id=8", admin, NULL);
	assert_string_equal(ids(), "3");
	harness_call_service(&w, "GET", "/notifications", NULL);
	assert_string_equal(ids(), "3,2,1");
	assert_string_equal(harness_res_header("X-Total-Count"), "3");
}

static void list_refused(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/notifications?user_id=8", alice, NULL);
	harness_expect_error(403, "Not enough permissions");
	harness_call(&w, "GET", "/notifications?type=sms&status=read&user_id=0&limit=201", alice,
	             NULL);
	assert_non_null(harness_invalid("type", "enum"));
	assert_string_equal(harness_invalid("status", "enum"),
	                    "Input should be 'queued', 'sent' or 'failed'");
	assert_non_null(harness_invalid("user_id", "greater_than_equal"));
	assert_non_null(harness_invalid("limit", "less_than_equal"));
	assert_int_equal(fake_store_calls("list"), 0);
	fake_store_fail("list", STORE_ERROR);
	harness_call(&w, "GET", "/notifications", alice, NULL);
	harness_expect_error(503, "Database unavailable");
}

/* ---- GET /notifications/:id -------------------------------------------- */

static void get_own(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/notifications/1", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "message"), "message 1");
	assert_string_equal(harness_str(res, "status"), "sent");
	assert_string_equal(harness_str(res, "sent_at"), "2026-11-30T12:01:00Z");
	harness_call(&w, "GET", "/notifications/3", admin, NULL);
	assert_int_equal(res->status, 200);
	harness_call_service(&w, "GET", "/notifications/3", NULL);
	assert_int_equal(res->status, 200);
}

static void get_not_found(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/notifications/3", alice, NULL); /* bob's */
	harness_expect_error(404, "Notification not found");
	harness_call(&w, "GET", "/notifications/999", alice, NULL);
	harness_expect_error(404, "Notification not found");
	harness_call(&w, "GET", "/notifications/x", alice, NULL);
	harness_expect_error(404, "Notification not found");
	fake_store_fail("get", STORE_ERROR);
	harness_call(&w, "GET", "/notifications/1", alice, NULL);
	harness_expect_error(503, "Database unavailable");
}

/* The mail queue is read at scrape time: queued rows only; a store that
 * fails costs the gauges, not the scrape. */
static void metrics_gauges(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_non_null(strstr(res->body, "# TYPE mail_queued gauge\nmail_queued 2\n"));
	assert_non_null(strstr(res->body, "\nmail_oldest_queued_seconds 42.5\n"));
	assert_non_null(strstr(res->body, "\nmetrics_gauges_ok 1\n"));

	fake_store_reset();
	seed(1, 7, "custom", "sent");
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_non_null(strstr(res->body, "\nmail_queued 0\n"));
	assert_non_null(strstr(res->body, "\nmail_oldest_queued_seconds 0\n"));

	fake_store_fail("backlog", STORE_ERROR);
	harness_call(&w, "GET", "/metrics", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_null(strstr(res->body, "mail_queued"));
	assert_non_null(strstr(res->body, "\nmetrics_gauges_ok 0\n"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, harness_done)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(create_for_self),
	        TEST(create_for_another),
	        TEST(create_idempotent),
	        TEST(create_invalid),
	        TEST(create_db_down),
	        TEST(service_renders_data),
	        TEST(service_sends_message),
	        TEST(users_send_only_custom),
	        TEST(service_data_refused),
	        TEST(list_own),
	        TEST(list_filters),
	        TEST(list_refused),
	        TEST(get_own),
	        TEST(get_not_found),
	        TEST(metrics_gauges),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
