/* test_bookings_handlers.c - the bookings handlers through the real
 * route table (tests/harness), with the store in memory (fake_store.c),
 * Redis unreachable (so the flight comes from the flights pool and seat
 * locks give way to the store) and the flights pool played by a stub
 * server: flight 1 (150 seats) and 4 (inactive) exist, 2 does not, the
 * pool fails for 3, is too slow for 5 and answers nonsense for 6. The
 * same stub plays the users pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "bookings.h"
#include "fake_store.h"
#include "harness.h"
#include "service.h"
#include "stub.h"

#define FLIGHT_JSON(id, active)                                                                    \
	"{\"id\": " #id ", \"flight_number\": \"FO101\", \"airline\": \"FlightOps Air\", "         \
	"\"origin\": \"JFK\", \"destination\": \"LAX\", "                                          \
	"\"departure_time\": \"2030-01-02T03:04:05Z\", \"arrival_time\": "                         \
	"\"2030-01-02T09:04:05Z\", \"price\": 123.45, \"price_cents\": 12345, "                    \
	"\"total_seats\": 150, \"is_active\": " active                                             \
	", \"created_at\": \"2025-01-01T00:00:00Z\"}"

static const struct stub_route flights[] = {
        {"GET", "/internal/flights/1", 200, FLIGHT_JSON(1, "true"), 0},
        {"GET", "/internal/flights/3", 503, "{\"detail\": \"down\"}", 0},
        {"GET", "/internal/flights/4", 200, FLIGHT_JSON(4, "false"), 0},
        {"GET", "/internal/flights/5", 200, FLIGHT_JSON(5, "true"), 500},
        {"GET", "/internal/flights/6", 200, "{\"id\": 6}", 0},
        {"GET", "/internal/flights/7", 200,
         "{\"id\": 7, \"flight_number\": \"FO107\", \"airline\": \"FlightOps Air\", "
         "\"origin\": \"JFK\", \"destination\": \"LAX\", "
         "\"departure_time\": \"2020-01-02T03:04:05Z\", \"arrival_time\": "
         "\"2020-01-02T09:04:05Z\", \"price\": 123.45, \"price_cents\": 12345, "
         "\"total_seats\": 150, \"is_active\": true, \"created_at\": \"2019-01-01T00:00:00Z\"}",
         0},
        /* with cabins: business rows 1-2 at 1299.00, economy 3-10 at 299.00 */
        {"GET", "/internal/flights/8", 200,
         "{\"id\": 8, \"flight_number\": \"FO108\", \"airline\": \"FlightOps Air\", "
         "\"origin\": \"JFK\", \"destination\": \"LHR\", "
         "\"departure_time\": \"2030-01-02T03:04:05Z\", \"arrival_time\": "
         "\"2030-01-02T10:04:05Z\", \"price\": 299.00, \"price_cents\": 29900, "
         "\"total_seats\": 60, \"is_active\": true, \"created_at\": \"2025-01-01T00:00:00Z\", "
         "\"cabins\": [{\"cabin\": \"business\", \"first_row\": 1, \"last_row\": 2, "
         "\"price_cents\": 129900}, {\"cabin\": \"economy\", \"first_row\": 3, "
         "\"last_row\": 10, \"price_cents\": 29900}]}",
         0},
        /* the users pool, for the seed body's passenger name (and the
         * token check): alice and the admin; bob's answer has no name */
        {"GET", "/internal/users/7", 200,
         "{\"id\": 7, \"username\": \"alice\", \"full_name\": \"Alice Example\", "
         "\"is_active\": true}",
         0},
        {"GET", "/internal/users/8", 200, "{\"id\": 8, \"is_active\": true}", 0},
        {"GET", "/internal/users/1", 200,
         "{\"id\": 1, \"full_name\": \"Admin\", \"is_active\": true}", 0},
        {NULL, NULL, 0, NULL, 0},
};

#define ALICE 7
#define BOB   8

static struct worker w;
static struct conf conf;
static const char *admin, *alice, *bob;
/* The harness's current response (harness_call), by a short name. */
static const struct harness_response *const res = &harness_res;

static int start(void **state)
{
	char url[64], users[64];

	(void)state;
	int port = stub_start(flights);
	snprintf(url, sizeof(url), "FLIGHTS_URL=http://127.0.0.1:%d", port);
	snprintf(users, sizeof(users), "USERS_URL=http://127.0.0.1:%d", port);
	const char *const extra[] = {url, users, NULL};
	harness_worker_init(&w, &conf, &bookings_service, extra);
	admin = harness_token(1, "admin", 1);
	alice = harness_token(ALICE, "alice", 0);
	bob = harness_token(BOB, "bob", 0);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &bookings_service);
	stub_stop();
	return 0;
}

static int fresh(void **state)
{
	(void)state;
	fake_store_reset();
	return 0;
}

/* A booking of user on flight 1, seat, status; its id. */
static int64_t seed(int64_t user, const char *seat, const char *status)
{
	struct booking b = {.user_id = user, .flight_id = 1, .total_cents = 12345};

	snprintf(b.seat_number, sizeof(b.seat_number), "%s", seat);
	snprintf(b.status, sizeof(b.status), "%s", status);
	return fake_store_add(&b);
}

/* Member name of the i-th validation error of a 422. */
static const char *invalid(int i, const char *name)
{
	struct json_object *list, *v;

	assert_int_equal(res->status, 422);
	assert_true(json_object_object_get_ex(res->json, "detail", &list));
	assert_true(i < (int)json_object_array_length(list));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(list, i), name, &v));
	return json_object_get_string(v);
}

/* ---- create ---- */

/* Member name of passenger i of the response's booking. */
static struct json_object *passenger(size_t i, const char *name)
{
	struct json_object *list, *v;

	assert_true(json_object_object_get_ex(res->json, "passengers", &list));
	assert_true(i < json_object_array_length(list));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(list, i), name, &v));
	return v;
}

static void create_holds_the_seat(void **state)
{
	(void)state;
	int before = stub_count();
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 1, \"seat_number\": \"12b\"}");
	assert_int_equal(res->status, 201);
	assert_int_equal(harness_int(res, "user_id"), ALICE);
	assert_int_equal(harness_int(res, "flight_id"), 1);
	assert_string_equal(harness_str(res, "seat_number"), "12B");
	assert_string_equal(harness_str(res, "status"), "pending");
	assert_string_equal(harness_str(res, "total_amount"), "123.45");
	assert_non_null(fake_store_find(harness_int(res, "id")));
	/* the flight came from the flights pool (FO101 below), then the
	 * passenger's name from the users pool, with the service credential */
	assert_true(stub_count() >= before + 2);
	assert_string_equal(stub_last_path(), "/internal/users/7");
	assert_string_equal(stub_last_header("X-Service-Key"), HARNESS_SVC_KEY);
	assert_string_equal(json_object_get_string(passenger(0, "full_name")), "Alice Example");
	/* what a notification will need was copied from the flight */
	const struct fake_store_args *c = fake_store_args();
	assert_string_equal(c->created.flight_number, "FO101");
	assert_string_equal(c->created.origin, "JFK");
	assert_string_equal(c->created.destination, "LAX");
	assert_string_equal(c->created.departure_time, "2030-01-02T03:04:05Z");
	assert_int_equal(c->created.total_cents, 12345);
	assert_int_equal(strlen(c->created.lock_token), 32);
	assert_int_equal(c->max_holds, 9);
	assert_int_equal(c->hold_seconds, 600);
}

static void create_for_another_user(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/bookings", admin,
	             "{\"flight_id\": 1, \"seat_number\": \"1A\", \"user_id\": 8}");
	assert_int_equal(res->status, 201);
	assert_int_equal(harness_int(res, "user_id"), BOB);
	int calls = stub_count();
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 1, \"seat_number\": \"2A\", \"user_id\": 8}");
	harness_expect_error(403, "Not enough permissions");
	assert_int_equal(fake_store_calls(NULL), 1); /* only the admin's create */
	assert_int_equal(stub_count(), calls);       /* refused before the flight was asked */
}

static void create_needs_a_token(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/bookings", NULL, "{\"flight_id\": 1, \"seat_number\": \"1A\"}");
	harness_expect_error(401, "Not authenticated");
	assert_string_equal(harness_res_header("WWW-Authenticate"), "Bearer");
	assert_int_equal(fake_store_calls(NULL), 0);
}

static void create_rejects_bad_input(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/bookings", alice, "{}");
	assert_string_equal(invalid(0, "msg"), "Field required");
	assert_string_equal(invalid(1, "msg"), "Field required");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 1");
	assert_int_equal(res->status, 400);
	assert_int_equal(fake_store_calls(NULL), 0);
}

static void create_rejects_a_seat_not_on_the_flight(void **state)
{
	const char *const seats[] = {"1G", "26A", "0A", "A1"};

	(void)state;
	for (size_t i = 0; i < sizeof(seats) / sizeof(seats[0]); i++) {
		char body[96];
		snprintf(body, sizeof(body), "{\"flight_id\": 1, \"seat_number\": \"%s\"}",
		         seats[i]);
		harness_call(&w, "POST", "/bookings", alice, body);
		assert_string_equal(invalid(0, "msg"), "Seat does not exist on this flight");
		assert_string_equal(invalid(0, "type"), "value_error");
	}
	assert_int_equal(fake_store_calls(NULL), 0);
}

static void create_when_the_flight_is_missing_or_unknown(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 2, \"seat_number\": \"1A\"}");
	harness_expect_error(404, "Flight not found");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 3, \"seat_number\": \"1A\"}");
	harness_expect_error(503, "Flight service unavailable");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 5, \"seat_number\": \"1A\"}");
	harness_expect_error(503,
	                     "Flight service unavailable"); /* slower than SERVICE_TIMEOUT_MS */
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 6, \"seat_number\": \"1A\"}");
	harness_expect_error(503, "Flight service unavailable"); /* not a flight */
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 4, \"seat_number\": \"1A\"}");
	harness_expect_error(409, "Flight is not available for booking");
	/* flight 7 left in 2020 */
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 7, \"seat_number\": \"1A\"}");
	harness_expect_error(409, "Flight has already departed");
	assert_int_equal(fake_store_calls(NULL), 0);
}

static void create_when_the_seat_is_taken(void **state)
{
	(void)state;
	seed(BOB, "1A", "confirmed");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 1, \"seat_number\": \"1a\"}");
	harness_expect_error(409, "Seat is already locked or booked");
	fake_store_fail_next(STORE_CONFLICT);
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 1, \"seat_number\": \"2A\"}");
	harness_expect_error(409, "Seat is already locked or booked");
}

static void create_with_too_many_holds(void **state)
{
	char seat[8];

	(void)state;
	for (int i = 0; i < 9; i++) {
		snprintf(seat, sizeof(seat), "%dB", i + 1);
		seed(ALICE, seat, "pending");
	}
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 1, \"seat_number\": \"1A\"}");
	harness_expect_error(409,
	                     "Too many active holds: pay for or cancel a pending booking first");
	harness_call(&w, "POST", "/bookings", bob, "{\"flight_id\": 1, \"seat_number\": \"1A\"}");
	assert_int_equal(res->status, 201);
}

static void create_when_the_database_is_down(void **state)
{
	(void)state;
	fake_store_fail_next(STORE_ERROR);
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 1, \"seat_number\": \"1A\"}");
	harness_expect_error(503, "Database unavailable");
}

/* ---- cancel ---- */

static void cancel_own_booking(void **state)
{
	(void)state;
	int64_t id = seed(ALICE, "1A", "confirmed");
	harness_call(&w, "PUT", "/bookings/1/cancel", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "id"), id);
	assert_string_equal(harness_str(res, "status"), "cancelled");
	assert_non_null(harness_str(res, "cancelled_at"));
	assert_int_equal(fake_store_args()->owner, ALICE);
	assert_string_equal(fake_store_find(id)->status, "cancelled");
}

static void cancel_as_admin(void **state)
{
	(void)state;
	seed(BOB, "1A", "pending");
	harness_call(&w, "PUT", "/bookings/1/cancel", admin, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(fake_store_args()->owner, 0);
}

static void cancel_what_is_not_yours_or_not_there(void **state)
{
	(void)state;
	int64_t id = seed(BOB, "1A", "pending");
	harness_call(&w, "PUT", "/bookings/1/cancel", alice, NULL);
	harness_expect_error(404, "Booking not found");
	assert_int_equal(fake_store_args()->owner, ALICE);
	assert_string_equal(fake_store_find(id)->status, "pending");
	harness_call(&w, "PUT", "/bookings/99/cancel", alice, NULL);
	harness_expect_error(404, "Booking not found");
	harness_call(&w, "PUT", "/bookings/x1/cancel", alice, NULL);
	harness_expect_error(404, "Not Found");
}

static void cancel_twice(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	seed(ALICE, "2A", "expired");
	harness_call(&w, "PUT", "/bookings/1/cancel", alice, NULL);
	assert_int_equal(res->status, 200);
	harness_call(&w, "PUT", "/bookings/1/cancel", alice, NULL);
	harness_expect_error(409, "Booking is already cancelled");
	harness_call(&w, "PUT", "/bookings/2/cancel", alice, NULL);
	harness_expect_error(409, "Booking is already expired");
}

static void cancel_when_the_database_is_down(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	fake_store_fail_next(STORE_ERROR);
	harness_call(&w, "PUT", "/bookings/1/cancel", alice, NULL);
	harness_expect_error(503, "Database unavailable");
	assert_string_equal(fake_store_find(1)->status, "pending");
}

/* ---- reads ---- */

static void get_own_booking(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	harness_call(&w, "GET", "/bookings/1", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "user_id"), ALICE);
	assert_string_equal(harness_str(res, "seat_number"), "1A");
	assert_string_equal(harness_str(res, "reference"), "BK0001");
	assert_string_equal(harness_str(res, "hold_expires_at"), "2030-01-01T00:10:00Z");
	assert_int_equal(fake_store_args()->owner, ALICE);
	harness_call(&w, "GET", "/bookings/1/status", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "booking_id"), 1);
	assert_string_equal(harness_str(res, "status"), "pending");
}

/* flight_departed of the current response: 0, 1, or -1 when absent. */
static int departed_flag(void)
{
	struct json_object *v;

	if (!json_object_object_get_ex(res->json, "flight_departed", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v);
}

/* The payments pool's look-up says whether the flight has left. */
static void internal_get_tells_departure(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	struct booking b = {.user_id = ALICE, .flight_id = 1, .total_cents = 12345, .departed = 1};
	snprintf(b.seat_number, sizeof(b.seat_number), "2A");
	fake_store_add(&b);
	harness_call_service(&w, "GET", "/internal/bookings/1", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(departed_flag(), 0);
	harness_call_service(&w, "GET", "/internal/bookings/2", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(departed_flag(), 1);
	/* the public read carries no such field */
	harness_call(&w, "GET", "/bookings/2", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(departed_flag(), -1);
}

static void get_someone_elses_booking(void **state)
{
	(void)state;
	seed(BOB, "1A", "pending");
	harness_call(&w, "GET", "/bookings/1", alice, NULL);
	harness_expect_error(404, "Booking not found");
	assert_int_equal(fake_store_args()->owner, ALICE);
	harness_call(&w, "GET", "/bookings/1/status", alice, NULL);
	harness_expect_error(404, "Booking not found");
	harness_call(&w, "GET", "/bookings/1", admin, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(fake_store_args()->owner, 0);
	fake_store_fail_next(STORE_ERROR);
	harness_call(&w, "GET", "/bookings/1", bob, NULL);
	harness_expect_error(503, "Database unavailable");
}

static void list_own_bookings(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	seed(BOB, "2A", "pending");
	seed(ALICE, "3A", "confirmed");
	seed(ALICE, "4A", "cancelled");
	harness_call(&w, "GET", "/bookings?limit=2", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(json_object_array_length(res->json), 2);
	assert_string_equal(harness_res_header("X-Total-Count"), "3");
	int64_t first = json_object_get_int64(harness_item(0, "id"));
	assert_int_equal(first, 4); /* newest first */
	const struct fake_store_args *c = fake_store_args();
	assert_int_equal(c->filter.user_id, ALICE); /* the owner rule */
	assert_int_equal(c->filter.limit, 2);
	assert_null(c->filter.status);
	harness_call(&w, "GET", "/bookings?status=confirmed&flight_id=1&offset=0", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "1");
	assert_string_equal(c->filter.status, "confirmed");
	assert_int_equal(c->filter.flight_id, 1);
	harness_call(&w, "GET", "/bookings", admin, NULL);
	assert_string_equal(harness_res_header("X-Total-Count"), "4");
	assert_int_equal(c->filter.user_id, 0);
}

static void list_rejects_bad_filters(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/bookings?status=bogus", alice, NULL);
	assert_string_equal(invalid(0, "msg"),
	                    "Input should be 'pending', 'confirmed', 'expired' or 'cancelled'");
	assert_string_equal(invalid(0, "type"), "enum");
	harness_call(&w, "GET", "/bookings?flight_id=x&limit=0", alice, NULL);
	assert_string_equal(invalid(0, "msg"), "Input should be a valid integer");
	assert_string_equal(invalid(1, "type"), "greater_than_equal");
	harness_call(&w, "GET", "/bookings?user_id=8", alice, NULL);
	harness_expect_error(403, "Not enough permissions");
	assert_int_equal(fake_store_calls(NULL), 0);
	fake_store_fail_next(STORE_ERROR);
	harness_call(&w, "GET", "/bookings", alice, NULL);
	harness_expect_error(503, "Database unavailable");
}

static void seat_map_and_occupancy(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	seed(BOB, "1B", "confirmed");
	seed(BOB, "1C", "cancelled");
	harness_call(&w, "GET", "/flights/1/seats", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(json_object_array_length(res->json), 150);
	const char *expect[] = {"held", "booked", "available"};
	for (int i = 0; i < 3; i++) {
		assert_string_equal(json_object_get_string(harness_item((size_t)i, "status")),
		                    expect[i]);
	}
	/* written straight, byte for byte what json-c wrote for the objects */
	static const char head[] =
	        "[{\"seat_number\":\"1A\",\"cabin\":\"economy\",\"price\":123.45,\"status\":"
	        "\"held\"},{\"seat_number\":\"1B\",\"cabin\":\"economy\",\"price\":123.45,"
	        "\"status\":\"booked\"},{\"seat_number\":\"1C\",\"cabin\":\"economy\",\"price\":"
	        "123.45,\"status\":\"available\"},";
	static const char tail[] =
	        ",{\"seat_number\":\"25F\",\"cabin\":\"economy\",\"price\":123.45,\"status\":"
	        "\"available\"}]";
	assert_memory_equal(res->body, head, sizeof(head) - 1);
	assert_true(res->body_len > sizeof(tail));
	assert_string_equal(res->body + res->body_len - (sizeof(tail) - 1), tail);
	assert_string_equal(
	        json_object_to_json_string_ext(res->json, JSON_C_TO_STRING_PLAIN |
	                                                          JSON_C_TO_STRING_NOSLASHESCAPE),
	        res->body);
	harness_call_service(&w, "GET", "/internal/occupancy?flight_ids=1,2", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "1"), 2);
	assert_int_equal(harness_int(res, "2"), 0);
	harness_call_service(&w, "GET", "/internal/occupancy?flight_ids=1,,2", NULL);
	assert_string_equal(invalid(0, "msg"),
	                    "flight_ids must be 1 to 200 comma-separated flight ids");
	fake_store_fail_next(STORE_ERROR);
	harness_call_service(&w, "GET", "/internal/occupancy?flight_ids=1", NULL);
	harness_expect_error(503, "Database unavailable");
}

/* Cabins (the flights pool's format): the seat map names each seat's
 * cabin and price, a one-seat booking costs its seat's cabin price, and
 * the occupancy answer carries the live seats per row. */
static void cabins_price_seats(void **state)
{
	struct json_object *rows, *v;

	(void)state;
	harness_call(&w, "GET", "/flights/8/seats", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(json_object_array_length(res->json), 60);
	assert_string_equal(json_object_get_string(harness_item(0, "cabin")), "business");
	assert_string_equal(json_object_to_json_string(harness_item(0, "price")), "1299.00");
	assert_string_equal(json_object_get_string(harness_item(11, "seat_number")), "2F");
	assert_string_equal(json_object_get_string(harness_item(11, "cabin")), "business");
	assert_string_equal(json_object_get_string(harness_item(12, "cabin")), "economy");
	assert_string_equal(json_object_to_json_string(harness_item(12, "price")), "299.00");
	harness_call(&w, "GET", "/flights/1/seats", NULL, NULL); /* no cabins: economy */
	assert_string_equal(json_object_get_string(harness_item(149, "cabin")), "economy");
	assert_string_equal(json_object_to_json_string(harness_item(149, "price")), "123.45");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"seat_number\": \"2C\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "total_amount"), "1299.00");
	harness_call(&w, "POST", "/bookings", bob, "{\"flight_id\": 8, \"seat_number\": \"3A\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "total_amount"), "299.00");
	harness_call(&w, "POST", "/bookings", bob, "{\"flight_id\": 8, \"seat_number\": \"11A\"}");
	assert_int_equal(res->status, 422);
	harness_call_service(&w, "GET", "/internal/occupancy?flight_ids=8,1", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "8"), 2);
	assert_true(json_object_object_get_ex(res->json, "rows", &rows));
	assert_true(json_object_object_get_ex(rows, "8", &v));
	assert_string_equal(json_object_get_string(v), "2:1,3:1");
	assert_true(json_object_object_get_ex(rows, "1", &v));
	assert_string_equal(json_object_get_string(v), "");
}

/* ---- several passengers ---- */

/* The loc of the i-th validation error of a 422, as JSON text. */
static const char *loc(int i)
{
	struct json_object *list, *v;

	assert_int_equal(res->status, 422);
	assert_true(json_object_object_get_ex(res->json, "detail", &list));
	assert_true(i < (int)json_object_array_length(list));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(list, i), "loc", &v));
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void create_with_passengers(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"Ada Lovelace\", "
	             "\"seat_number\": \"3a\"}, {\"full_name\": \"Alan Turing\", "
	             "\"seat_number\": \"2C\"}]}");
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "seat_number"), "3A"); /* the first passenger's */
	assert_string_equal(harness_str(res, "total_amount"), "1598.00");
	assert_string_equal(json_object_get_string(passenger(0, "full_name")), "Ada Lovelace");
	assert_string_equal(json_object_get_string(passenger(0, "cabin")), "economy");
	assert_string_equal(json_object_to_json_string(passenger(0, "price")), "299.00");
	assert_string_equal(json_object_get_string(passenger(1, "seat_number")), "2C");
	assert_string_equal(json_object_get_string(passenger(1, "cabin")), "business");
	const struct booking *given = &fake_store_args()->created;
	assert_int_equal(given->npassengers, 2);
	assert_int_equal(given->passengers[0].seat_index, 12); /* 3A: lock and insert order */
	assert_int_equal(given->passengers[1].seat_index, 8);  /* 2C */
	assert_int_equal(given->total_cents, 159800);
	/* every seat is on the map and counted in its row */
	harness_call(&w, "GET", "/flights/8/seats", NULL, NULL);
	assert_string_equal(json_object_get_string(harness_item(8, "status")), "held");
	assert_string_equal(json_object_get_string(harness_item(12, "status")), "held");
	assert_string_equal(json_object_get_string(harness_item(13, "status")), "available");
	harness_call_service(&w, "GET", "/internal/occupancy?flight_ids=8", NULL);
	assert_int_equal(harness_int(res, "8"), 2);
	/* the seed's body: one passenger, the account's name */
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"seat_number\": \"4B\"}");
	assert_int_equal(res->status, 201);
	assert_string_equal(json_object_get_string(passenger(0, "full_name")), "Alice Example");
	/* no name from the users pool: not known, the seat held anyway */
	harness_call(&w, "POST", "/bookings", bob, "{\"flight_id\": 8, \"seat_number\": \"4C\"}");
	assert_int_equal(res->status, 201);
	assert_null(passenger(0, "full_name"));
}

static void create_with_passengers_rejects_bad_input(void **state)
{
	char body[2048];

	(void)state;
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"seat_number\": \"1A\", \"passengers\": []}");
	assert_string_equal(loc(0), "[\"body\",\"passengers\"]");
	assert_string_equal(invalid(0, "msg"),
	                    "Give either seat_number (one passenger) or passengers, not both");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"passengers\": []}");
	assert_string_equal(invalid(0, "type"), "too_short");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"passengers\": {}}");
	assert_string_equal(invalid(0, "type"), "list_type");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"passengers\": [1]}");
	assert_string_equal(loc(0), "[\"body\",\"passengers\",0,\"full_name\"]");
	/* ten passengers */
	int at = snprintf(body, sizeof(body), "{\"flight_id\": 8, \"passengers\": [");
	for (int i = 0; i < 10; i++)
		at += snprintf(body + at, sizeof(body) - (size_t)at,
		               "%s{\"full_name\": \"P%d\", \"seat_number\": \"5%c\"}", i ? "," : "",
		               i, "ABCDEFABCD"[i]);
	snprintf(body + at, sizeof(body) - (size_t)at, "]}");
	harness_call(&w, "POST", "/bookings", alice, body);
	assert_string_equal(invalid(0, "type"), "too_long");
	/* names: missing, empty, 129 characters, a control character */
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", \"seat_number\": "
	             "\"5A\"}, {\"seat_number\": \"5B\"}, {\"full_name\": \"\", \"seat_number\": "
	             "\"5C\"}, {\"full_name\": \"a\\nb\", \"seat_number\": \"5D\"}]}");
	assert_string_equal(loc(0), "[\"body\",\"passengers\",1,\"full_name\"]");
	assert_string_equal(invalid(0, "type"), "missing");
	assert_string_equal(loc(1), "[\"body\",\"passengers\",2,\"full_name\"]");
	assert_string_equal(loc(2), "[\"body\",\"passengers\",3,\"full_name\"]");
	at = snprintf(body, sizeof(body),
	              "{\"flight_id\": 8, \"passengers\": [{\"seat_number\": \"5A\", "
	              "\"full_name\": \"");
	for (int i = 0; i < 129; i++)
		at += snprintf(body + at, sizeof(body) - (size_t)at, "\xc3\xa9"); /* é */
	snprintf(body + at, sizeof(body) - (size_t)at, "\"}]}");
	harness_call(&w, "POST", "/bookings", alice, body);
	assert_string_equal(invalid(0, "type"), "string_too_long");
	/* the same seat twice, as the seat map names it */
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", \"seat_number\": "
	             "\"5a\"}, {\"full_name\": \"B\", \"seat_number\": \"5A\"}]}");
	assert_string_equal(loc(0), "[\"body\",\"passengers\",1,\"seat_number\"]");
	assert_string_equal(invalid(0, "msg"), "Seat 5A is given for more than one passenger");
	assert_int_equal(fake_store_calls(NULL), 0);
	/* a seat not on the flight, told by its place */
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", \"seat_number\": "
	             "\"5A\"}, {\"full_name\": \"B\", \"seat_number\": \"11A\"}]}");
	assert_string_equal(loc(0), "[\"body\",\"passengers\",1,\"seat_number\"]");
	assert_string_equal(invalid(0, "msg"), "Seat does not exist on this flight");
	assert_int_equal(fake_store_calls("create"), 0);
	/* 128 characters of two bytes each is a name */
	body[at - 2] = '\0';
	snprintf(body + at - 2, sizeof(body) - (size_t)at + 2, "\"}]}");
	harness_call(&w, "POST", "/bookings", alice, body);
	assert_int_equal(res->status, 201);
}

static void create_with_passengers_when_seats_are_taken(void **state)
{
	(void)state;
	struct booking b = {.user_id = BOB, .flight_id = 8, .total_cents = 29900};
	snprintf(b.seat_number, sizeof(b.seat_number), "3B");
	fake_store_add(&b);
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", \"seat_number\": "
	             "\"3A\"}, {\"full_name\": \"B\", \"seat_number\": \"3b\"}]}");
	harness_expect_error(409, "Seats already taken: 3B");
	harness_call(&w, "GET", "/bookings", alice, NULL);
	assert_int_equal(json_object_array_length(res->json), 0); /* nothing held */
	/* the hold cap counts seats: 9 by default, 8 held, 2 more refused */
	for (int i = 0; i < 4; i++) {
		char body[160];
		snprintf(body, sizeof(body),
		         "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", "
		         "\"seat_number\": \"%dA\"}, {\"full_name\": \"B\", \"seat_number\": "
		         "\"%dB\"}]}",
		         i + 4, i + 4);
		harness_call(&w, "POST", "/bookings", alice, body);
		assert_int_equal(res->status, 201);
	}
	harness_call(&w, "POST", "/bookings", alice,
	             "{\"flight_id\": 8, \"passengers\": [{\"full_name\": \"A\", \"seat_number\": "
	             "\"9A\"}, {\"full_name\": \"B\", \"seat_number\": \"9B\"}]}");
	harness_expect_error(409,
	                     "Too many active holds: pay for or cancel a pending booking first");
	harness_call(&w, "POST", "/bookings", alice, "{\"flight_id\": 8, \"seat_number\": \"9A\"}");
	assert_int_equal(res->status, 201);
}

static void list_by_reference(void **state)
{
	(void)state;
	struct booking b = {.user_id = ALICE, .flight_id = 1, .total_cents = 100};
	snprintf(b.seat_number, sizeof(b.seat_number), "1A");
	snprintf(b.reference, sizeof(b.reference), "K7QX2M");
	fake_store_add(&b);
	harness_call(&w, "GET", "/bookings?reference=k7qx2m", alice, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(json_object_array_length(res->json), 1);
	assert_string_equal(fake_store_args()->reference, "K7QX2M");
	assert_int_equal(fake_store_args()->filter.user_id, ALICE); /* own only */
	harness_call(&w, "GET", "/bookings?reference=K7QX2M", bob, NULL);
	assert_int_equal(json_object_array_length(res->json), 0);
	harness_call(&w, "GET", "/bookings?reference=K7QX2M", admin, NULL);
	assert_int_equal(json_object_array_length(res->json), 1);
	harness_call(&w, "GET", "/bookings?reference=K7QX20", alice, NULL); /* 0 is never used */
	assert_string_equal(loc(0), "[\"query\",\"reference\"]");
	harness_call(&w, "GET", "/bookings?reference=K7QX2", alice, NULL);
	assert_string_equal(invalid(0, "type"), "value_error");
	harness_call(&w, "GET", "/bookings?reference=", alice, NULL); /* empty: no filter */
	assert_int_equal(res->status, 200);
	assert_string_equal(fake_store_args()->reference, "");
}

/* ---- internal: confirmation ---- */

static void confirm_needs_the_service_key(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	harness_call(&w, "POST", "/internal/bookings/1/confirm", NULL, "{\"payment_id\": 5}");
	harness_expect_error(401, "Not authenticated");
	harness_call(&w, "POST", "/internal/bookings/1/confirm", alice, "{\"payment_id\": 5}");
	harness_expect_error(403, "Not enough permissions");
	assert_int_equal(fake_store_calls(NULL), 0);
	assert_string_equal(fake_store_find(1)->status, "pending");
}

static void confirm_a_pending_booking(void **state)
{
	(void)state;
	seed(ALICE, "1A", "pending");
	harness_call_service(&w, "POST", "/internal/bookings/1/confirm", "{\"payment_id\": 5}");
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "status"), "confirmed");
	assert_int_equal(harness_int(res, "payment_id"), 5);
	harness_call_service(&w, "POST", "/internal/bookings/1/confirm", "{\"payment_id\": 5}");
	assert_int_equal(res->status, 200); /* the same payment again */
	harness_call_service(&w, "GET", "/internal/bookings/1", NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(fake_store_args()->owner, 0);
}

static void confirm_conflicts_and_misses(void **state)
{
	(void)state;
	seed(ALICE, "1A", "cancelled");
	seed(ALICE, "2A", "confirmed");
	harness_call_service(&w, "POST", "/internal/bookings/1/confirm", "{\"payment_id\": 5}");
	harness_expect_error(409, "Booking is cancelled");
	harness_call_service(&w, "POST", "/internal/bookings/2/confirm", "{\"payment_id\": 6}");
	harness_expect_error(409, "Booking is confirmed"); /* by another payment */
	harness_call_service(&w, "POST", "/internal/bookings/99/confirm", "{\"payment_id\": 5}");
	harness_expect_error(404, "Booking not found");
	harness_call_service(&w, "POST", "/internal/bookings/1/confirm", "{}");
	assert_string_equal(invalid(0, "msg"), "Field required");
	fake_store_fail_next(STORE_ERROR);
	harness_call_service(&w, "POST", "/internal/bookings/1/confirm", "{\"payment_id\": 5}");
	harness_expect_error(503, "Database unavailable");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, fresh, harness_done)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(create_holds_the_seat),
	        TEST(create_for_another_user),
	        TEST(create_needs_a_token),
	        TEST(create_rejects_bad_input),
	        TEST(create_rejects_a_seat_not_on_the_flight),
	        TEST(create_when_the_flight_is_missing_or_unknown),
	        TEST(create_when_the_seat_is_taken),
	        TEST(create_with_too_many_holds),
	        TEST(create_when_the_database_is_down),
	        TEST(create_with_passengers),
	        TEST(create_with_passengers_rejects_bad_input),
	        TEST(create_with_passengers_when_seats_are_taken),
	        TEST(list_by_reference),
	        TEST(cancel_own_booking),
	        TEST(cancel_as_admin),
	        TEST(cancel_what_is_not_yours_or_not_there),
	        TEST(cancel_twice),
	        TEST(cancel_when_the_database_is_down),
	        TEST(get_own_booking),
	        TEST(internal_get_tells_departure),
	        TEST(get_someone_elses_booking),
	        TEST(list_own_bookings),
	        TEST(list_rejects_bad_filters),
	        TEST(seat_map_and_occupancy),
	        TEST(cabins_price_seats),
	        TEST(confirm_needs_the_service_key),
	        TEST(confirm_a_pending_booking),
	        TEST(confirm_conflicts_and_misses),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
