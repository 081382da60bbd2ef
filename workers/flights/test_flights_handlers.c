/* test_flights_handlers.c - the flights handlers through the real route
 * table (tests/harness), with the store in memory (fake_store.c), Redis
 * unreachable (so every read goes to the store and every seat count to
 * the bookings pool) and the bookings pool played by a stub server:
 * flight 1 has no live bookings, flight 2 has 3, the bookings pool
 * refuses to count flight 9 and is too slow for flight 8. Flight 4 has
 * cabins (first row 1, business 2-3, economy 4-30): its first row is full
 * and one business seat is held. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fake_store.h"
#include "flights.h"
#include "harness.h"
#include "service.h"
#include "stub.h"

#define DEC01_08H 1796112000 /* 2026-12-01T08:00:00Z */
#define DEC01_10H 1796119200 /* 2026-12-01T10:00:00Z */
#define HOUR      3600

static const struct stub_route bookings[] = {
        {"GET", "/internal/occupancy?flight_ids=1", 200, "{\"1\": 0, \"rows\": {\"1\": \"\"}}", 0},
        {"GET", "/internal/occupancy?flight_ids=2", 200, "{\"2\": 3, \"rows\": {\"2\": \"1:3\"}}",
         0},
        {"GET", "/internal/occupancy?flight_ids=2,1", 200,
         "{\"2\": 3, \"1\": 0, \"rows\": {\"2\": \"1:3\", \"1\": \"\"}}", 0},
        {"GET", "/internal/occupancy?flight_ids=4", 200,
         "{\"4\": 7, \"rows\": {\"4\": \"1:6,2:1\"}}", 0},
        {"GET", "/internal/occupancy?flight_ids=9", 503, "{\"detail\": \"down\"}", 0},
        {"GET", "/internal/occupancy?flight_ids=8", 200, "{\"8\": 0}", 400},
        {NULL, NULL, 0, NULL, 0},
};

static struct worker w;
static struct conf conf;
static const char *admin, *user;
/* The harness's current response (harness_call), by a short name. */
static const struct harness_response *const res = &harness_res;

static int start(void **state)
{
	char url[64];

	(void)state;
	snprintf(url, sizeof(url), "BOOKINGS_URL=http://127.0.0.1:%d", stub_start(bookings));
	const char *const extra[] = {url, NULL};
	harness_worker_init(&w, &conf, &flights_service, extra);
	admin = harness_token(1, "admin", 1);
	user = harness_token(7, "bob", 0);
	return 0;
}

static int stop(void **state)
{
	(void)state;
	harness_worker_release(&w, &conf, &flights_service);
	stub_stop();
	return 0;
}

static struct flight seed(int64_t id, const char *number, const char *from, const char *to,
                          int64_t departs, int seats)
{
	struct flight f = {.id = id,
	                   .departure_time = departs,
	                   .arrival_time = departs + 6 * HOUR,
	                   .price_cents = 29999,
	                   .total_seats = seats,
	                   .is_active = 1,
	                   .created_at = FAKE_CREATED_AT};

	snprintf(f.flight_number, sizeof(f.flight_number), "%s", number);
	snprintf(f.airline, sizeof(f.airline), "Airline %s", number);
	snprintf(f.origin, sizeof(f.origin), "%s", from);
	snprintf(f.destination, sizeof(f.destination), "%s", to);
	fake_flight_put(&f);
	return f;
}

/* Before each test: flights 1 and 2 active on 1 December, 3 inactive. */
static int reset(void **state)
{
	(void)state;
	fake_store_reset();
	seed(1, "AA100", "JFK", "LAX", DEC01_10H, 180);
	seed(2, "BA117", "LHR", "JFK", DEC01_08H, 300);
	struct flight f = seed(3, "AF1780", "CDG", "MAD", DEC01_10H, 150);
	f.is_active = 0;
	fake_flight_put(&f);
	return 0;
}

/* Flight 4, with cabins (the cabin tests only). */
static void seed_cabins(void)
{
	struct flight f = seed(4, "EK1", "DXB", "LHR", DEC01_10H, 180);

	f.ncabins = 3;
	f.cabins[0] = (struct cabin){CABIN_FIRST, 1, 1, 450000};
	f.cabins[1] = (struct cabin){CABIN_BUSINESS, 2, 3, 250000};
	f.cabins[2] = (struct cabin){CABIN_ECONOMY, 4, 30, 79900};
	f.price_cents = 79900;
	fake_flight_put(&f);
}

/* 1 when the 422 answer has an error of type at loc (its JSON text, e.g.
 * ["body","cabins",0,"cabin"]). */
static int error_at(const char *loc, const char *type)
{
	struct json_object *list, *l, *t;

	if (res->status != 422 || !json_object_object_get_ex(res->json, "detail", &list))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *err = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(err, "loc", &l) &&
		    json_object_object_get_ex(err, "type", &t) &&
		    strcmp(json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN), loc) == 0 &&
		    strcmp(json_object_get_string(t), type) == 0)
			return 1;
	}
	return 0;
}

/* The member name of cabin k of the answer. */
static struct json_object *cabin_member(size_t k, const char *name)
{
	struct json_object *cabins, *v = NULL;

	assert_true(json_object_object_get_ex(res->json, "cabins", &cabins));
	assert_true(k < json_object_array_length(cabins));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(cabins, k), name, &v));
	return v;
}

/* ---- POST /flights --------------------------------------------------- */

#define NEW_FLIGHT(number, departs)                                                                \
	"{\"flight_number\": \"" number "\", \"origin\": \"jfk\", \"destination\": \"sfo\", "      \
	"\"departure_time\": \"" departs "\", \"arrival_time\": \"2026-12-03T16:00:00Z\", "        \
	"\"price\": 249.99, \"total_seats\": 150}"

static void create_as_admin(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("aa200", "2026-12-01T10:00:00Z"));
	assert_int_equal(res->status, 201);
	assert_int_equal(harness_int(res, "id"), FAKE_FIRST_ID);
	assert_string_equal(harness_str(res, "flight_number"), "AA200");
	assert_string_equal(harness_str(res, "airline"), "AA"); /* from the number */
	assert_string_equal(harness_str(res, "origin"), "JFK");
	assert_string_equal(harness_str(res, "destination"), "SFO");
	assert_string_equal(harness_str(res, "departure_time"), "2026-12-01T10:00:00Z");
	assert_string_equal(harness_str(res, "price"), "249.99");
	assert_int_equal(harness_int(res, "total_seats"), 150);
	assert_int_equal(harness_int(res, "available_seats"), 150);
	assert_true(json_object_get_boolean(json_object_object_get(res->json, "is_active")));
	assert_string_equal(harness_str(res, "created_at"), "2026-01-01T00:00:00Z");
	assert_non_null(fake_flight(FAKE_FIRST_ID));
	assert_int_equal(fake_flight(FAKE_FIRST_ID)->price_cents, 24999);
}

static void create_needs_admin(void **state)
{
	int before = stub_count();

	(void)state;
	harness_call(&w, "POST", "/flights", user, NEW_FLIGHT("AA200", "2026-12-01T10:00:00Z"));
	harness_expect_error(403, "Not enough permissions");
	harness_call(&w, "POST", "/flights", NULL, NEW_FLIGHT("AA200", "2026-12-01T10:00:00Z"));
	assert_int_equal(res->status, 401);
	assert_string_equal(harness_res_header("WWW-Authenticate"), "Bearer");
	assert_int_equal(fake_store_calls("create"), 0);
	assert_int_equal(stub_count(), before);
}

static void create_invalid(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/flights", admin, "{}");
	assert_non_null(harness_invalid("flight_number", "missing"));
	assert_non_null(harness_invalid("origin", "missing"));
	assert_non_null(harness_invalid("total_seats", "missing"));
	assert_null(harness_invalid("airline", "missing")); /* optional */
	harness_call(
	        &w, "POST", "/flights", admin,
	        "{\"flight_number\": \"A-1\", \"origin\": \"JF\", \"destination\": \"J1K\", "
	        "\"departure_time\": \"tomorrow\", \"arrival_time\": \"2026-12-01T16:00:00Z\", "
	        "\"price\": 1.999, \"total_seats\": 854}");
	assert_non_null(harness_invalid("flight_number", "string_pattern_mismatch"));
	assert_non_null(harness_invalid("origin", "string_pattern_mismatch"));
	assert_non_null(harness_invalid("destination", "string_pattern_mismatch"));
	assert_non_null(harness_invalid("departure_time", "datetime_parsing"));
	assert_non_null(harness_invalid("price", "decimal_max_places"));
	assert_non_null(harness_invalid("total_seats", "less_than_equal"));
	assert_int_equal(fake_store_calls("create"), 0);
}

static void create_inconsistent(void **state)
{
	(void)state;
	harness_call(
	        &w, "POST", "/flights", admin,
	        "{\"flight_number\": \"AA200\", \"origin\": \"JFK\", \"destination\": \"jfk\", "
	        "\"departure_time\": \"2026-12-01T10:00:00Z\", \"arrival_time\": "
	        "\"2026-12-01T16:00:00Z\", \"price\": 100, \"total_seats\": 10}");
	assert_non_null(harness_invalid("destination", "value_error"));
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("AA200", "2026-12-03T16:00:00Z"));
	assert_non_null(harness_invalid("arrival_time", "value_error"));
	harness_call(&w, "POST", "/flights", admin, "[1]");
	assert_int_equal(res->status, 422);
	harness_call(&w, "POST", "/flights", admin, "{\"flight_number\": ");
	assert_int_equal(res->status, 400);
	assert_int_equal(fake_store_calls("create"), 0);
}

static void create_duplicate(void **state)
{
	(void)state;
	/* AA100 flies on 1 December already, at another hour */
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("aa100", "2026-12-01T23:00:00Z"));
	harness_expect_error(409, "Flight number already exists on that date");
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("AA100", "2026-12-02T10:00:00Z"));
	assert_int_equal(res->status, 201);
}

static void create_db_down(void **state)
{
	(void)state;
	fake_store_fail("create", STORE_ERROR);
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("AA200", "2026-12-01T10:00:00Z"));
	harness_expect_error(503, "Database unavailable");
}

/* ---- cabins ---------------------------------------------------------- */

#define CABIN_FLIGHT(cabins)                                                                       \
	"{\"flight_number\": \"QF11\", \"origin\": \"SYD\", \"destination\": \"LAX\", "            \
	"\"departure_time\": \"2026-12-01T01:20:00Z\", \"arrival_time\": "                         \
	"\"2026-12-01T15:00:00Z\", "                                                               \
	"\"cabins\": " cabins "}"

static void create_with_cabins(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"business\", \"first_row\": 1, \"last_row\": 4, "
	                          "\"price\": 1299.00}, {\"cabin\": \"premium_economy\", "
	                          "\"first_row\": 5, \"last_row\": 8, \"price\": 599}, "
	                          "{\"cabin\": \"economy\", \"first_row\": 9, \"last_row\": 40, "
	                          "\"price\": 299.00}]"));
	assert_int_equal(res->status, 201);
	assert_string_equal(harness_str(res, "price"), "299.00"); /* the lowest */
	assert_int_equal(harness_int(res, "total_seats"), 240);   /* 40 rows of 6 */
	assert_int_equal(harness_int(res, "available_seats"), 240);
	assert_string_equal(json_object_get_string(cabin_member(0, "cabin")), "business");
	assert_string_equal(json_object_to_json_string(cabin_member(0, "price")), "1299.00");
	assert_int_equal(json_object_get_int(cabin_member(0, "available_seats")), 24);
	assert_int_equal(json_object_get_int(cabin_member(1, "available_seats")), 24);
	assert_int_equal(json_object_get_int(cabin_member(2, "first_row")), 9);
	assert_int_equal(json_object_get_int(cabin_member(2, "available_seats")), 192);
	const struct flight *f = fake_flight(FAKE_FIRST_ID);
	assert_non_null(f);
	assert_int_equal(f->ncabins, 3);
	assert_int_equal(f->price_cents, 29900);
	assert_int_equal(f->cabins[0].price_cents, 129900);
	/* price and total_seats may be sent when they agree */
	harness_call(
	        &w, "POST", "/flights", admin,
	        "{\"flight_number\": \"QF12\", \"origin\": \"SYD\", \"destination\": \"LAX\", "
	        "\"departure_time\": \"2026-12-01T01:20:00Z\", "
	        "\"arrival_time\": \"2026-12-01T15:00:00Z\", \"price\": 100, \"total_seats\": 12, "
	        "\"cabins\": [{\"cabin\": \"economy\", \"first_row\": 1, \"last_row\": 2, "
	        "\"price\": 100}]}");
	assert_int_equal(res->status, 201);
}

static void create_without_cabins_is_economy(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/flights", admin, NEW_FLIGHT("AA200", "2026-12-01T10:00:00Z"));
	assert_int_equal(res->status, 201);
	assert_string_equal(json_object_get_string(cabin_member(0, "cabin")), "economy");
	assert_int_equal(json_object_get_int(cabin_member(0, "first_row")), 1);
	assert_int_equal(json_object_get_int(cabin_member(0, "last_row")), 25);
	assert_string_equal(json_object_to_json_string(cabin_member(0, "price")), "249.99");
	assert_int_equal(json_object_get_int(cabin_member(0, "available_seats")), 150);
	assert_int_equal(fake_flight(FAKE_FIRST_ID)->ncabins, 0);
}

static void cabins_invalid(void **state)
{
	(void)state;
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"coach\", \"first_row\": 0, \"last_row\": 4, "
	                          "\"price\": -1}, 7]"));
	assert_true(error_at("[\"body\",\"cabins\",0,\"cabin\"]", "enum"));
	assert_true(error_at("[\"body\",\"cabins\",0,\"first_row\"]", "greater_than_equal"));
	assert_true(error_at("[\"body\",\"cabins\",1]", "dict_type"));
	harness_call(&w, "POST", "/flights", admin, CABIN_FLIGHT("[]"));
	assert_true(error_at("[\"body\",\"cabins\"]", "list_type"));
	harness_call(&w, "POST", "/flights", admin, CABIN_FLIGHT("{}"));
	assert_true(error_at("[\"body\",\"cabins\"]", "list_type"));
	/* a gap, then an overlap, then out of order, then backwards */
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"business\", \"first_row\": 1, \"last_row\": 4, "
	                          "\"price\": 999}, {\"cabin\": \"economy\", \"first_row\": 6, "
	                          "\"last_row\": 30, \"price\": 99}]"));
	assert_true(error_at("[\"body\",\"cabins\",1,\"first_row\"]", "value_error"));
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"business\", \"first_row\": 1, \"last_row\": 4, "
	                          "\"price\": 999}, {\"cabin\": \"economy\", \"first_row\": 4, "
	                          "\"last_row\": 30, \"price\": 99}]"));
	assert_true(error_at("[\"body\",\"cabins\",1,\"first_row\"]", "value_error"));
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"economy\", \"first_row\": 1, \"last_row\": 4, "
	                          "\"price\": 99}, {\"cabin\": \"business\", \"first_row\": 5, "
	                          "\"last_row\": 30, \"price\": 999}]"));
	assert_true(error_at("[\"body\",\"cabins\",1,\"cabin\"]", "value_error"));
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"first\", \"first_row\": 2, \"last_row\": 1, "
	                          "\"price\": 99}]"));
	assert_true(error_at("[\"body\",\"cabins\",0,\"first_row\"]", "value_error"));
	assert_true(error_at("[\"body\",\"cabins\",0,\"last_row\"]", "value_error"));
	/* more rows than 853 seats allow */
	harness_call(&w, "POST", "/flights", admin,
	             CABIN_FLIGHT("[{\"cabin\": \"economy\", \"first_row\": 1, \"last_row\": 143, "
	                          "\"price\": 99}]"));
	assert_true(error_at("[\"body\",\"cabins\",0,\"last_row\"]", "less_than_equal"));
	/* price and total_seats that disagree with the cabins */
	harness_call(
	        &w, "POST", "/flights", admin,
	        "{\"flight_number\": \"QF12\", \"origin\": \"SYD\", \"destination\": \"LAX\", "
	        "\"departure_time\": \"2026-12-01T01:20:00Z\", "
	        "\"arrival_time\": \"2026-12-01T15:00:00Z\", \"price\": 90, \"total_seats\": 13, "
	        "\"cabins\": [{\"cabin\": \"economy\", \"first_row\": 1, \"last_row\": 2, "
	        "\"price\": 100}]}");
	assert_true(error_at("[\"body\",\"price\"]", "value_error"));
	assert_true(error_at("[\"body\",\"total_seats\"]", "value_error"));
	assert_null(fake_flight(FAKE_FIRST_ID));
}

static void cabins_seats_left(void **state)
{
	(void)state;
	seed_cabins();
	harness_call(&w, "GET", "/flights/4", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "available_seats"), 173);
	assert_string_equal(harness_str(res, "price"), "799.00");
	assert_int_equal(json_object_get_int(cabin_member(0, "available_seats")), 0);
	assert_int_equal(json_object_get_int(cabin_member(1, "available_seats")), 11);
	assert_int_equal(json_object_get_int(cabin_member(2, "available_seats")), 162);
	/* a price of its own is refused while cabins set it; new cabins are taken */
	harness_call(&w, "PUT", "/flights/4", admin, "{\"price\": 10}");
	assert_true(error_at("[\"body\",\"price\"]", "value_error"));
	harness_call(
	        &w, "PUT", "/flights/4", admin,
	        "{\"cabins\": [{\"cabin\": \"business\", \"first_row\": 1, \"last_row\": 3, "
	        "\"price\": 2000}, {\"cabin\": \"economy\", \"first_row\": 4, \"last_row\": 30, "
	        "\"price\": 700}]}");
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "price"), "700.00");
	assert_int_equal(json_object_get_int(cabin_member(0, "available_seats")), 11);
	assert_int_equal(fake_flight(4)->ncabins, 2);
}

static void list_by_cabin(void **state)
{
	(void)state;
	seed_cabins();
	harness_call(&w, "GET", "/flights?origin=DXB&cabin=business", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "1");
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 4);
	harness_call(&w, "GET", "/flights/search?origin=DXB&cabin=first", NULL, NULL); /* full */
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "0");
	assert_int_equal(json_object_array_length(res->json), 0);
	harness_call(&w, "GET", "/flights?origin=DXB&cabin=premium_economy", NULL, NULL); /* none */
	assert_string_equal(harness_res_header("X-Total-Count"), "0");
	harness_call(&w, "GET", "/flights?origin=JFK&cabin=economy", NULL,
	             NULL); /* default cabin */
	assert_string_equal(harness_res_header("X-Total-Count"), "1");
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 1);
	harness_call(&w, "GET", "/flights?cabin=coach", NULL, NULL);
	assert_true(error_at("[\"query\",\"cabin\"]", "enum"));
}

/* ---- GET /flights/:id ------------------------------------------------ */

static void get_with_seats(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/flights/1", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "id"), 1);
	assert_int_equal(harness_int(res, "available_seats"), 180);
	assert_false(json_object_object_get_ex(res->json, "price_cents", NULL));
	harness_call(&w, "GET", "/flights/2", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "available_seats"), 297);
	assert_string_equal(stub_last_path(), "/internal/occupancy?flight_ids=2");
	assert_string_equal(stub_last_header("X-Service-Key"), HARNESS_SVC_KEY);
}

static void get_not_found(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/flights/3", NULL, NULL); /* inactive */
	harness_expect_error(404, "Flight not found");
	harness_call(&w, "GET", "/flights/999", NULL, NULL);
	harness_expect_error(404, "Flight not found");
	harness_call(&w, "GET", "/flights/abc", NULL, NULL);
	harness_expect_error(404, "Flight not found");
	harness_call(&w, "GET", "/flights/0", NULL, NULL);
	harness_expect_error(404, "Flight not found");
	fake_store_fail("by_id", STORE_ERROR);
	harness_call(&w, "GET", "/flights/1", NULL, NULL);
	harness_expect_error(503, "Database unavailable");
}

static void get_seats_unavailable(void **state)
{
	(void)state;
	seed(9, "LH400", "FRA", "JFK", DEC01_10H, 300);
	seed(8, "KL1001", "AMS", "LHR", DEC01_10H, 150);
	harness_call(&w, "GET", "/flights/9", NULL, NULL); /* the bookings pool answers 503 */
	harness_expect_error(503, "Seat availability unavailable");
	harness_call(&w, "GET", "/flights/8", NULL, NULL); /* slower than SERVICE_TIMEOUT_MS */
	harness_expect_error(503, "Seat availability unavailable");
}

static void internal_get(void **state)
{
	(void)state;
	harness_call_service(&w, "GET", "/internal/flights/3", NULL);
	assert_int_equal(res->status, 200); /* inactive flights too */
	assert_int_equal(harness_int(res, "price_cents"), 29999);
	assert_false(json_object_object_get_ex(res->json, "available_seats", NULL));
	harness_call_service(&w, "GET", "/internal/flights/999", NULL);
	harness_expect_error(404, "Flight not found");
	harness_call(&w, "GET", "/internal/flights/1", admin, NULL); /* services only */
	harness_expect_error(403, "Not enough permissions");
}

/* ---- PUT /flights/:id ------------------------------------------------ */

static void update(void **state)
{
	(void)state;
	harness_call(&w, "PUT", "/flights/1", admin,
	             "{\"price\": 199.5, \"airline\": \"American\"}");
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_str(res, "price"), "199.50");
	assert_string_equal(harness_str(res, "airline"), "American");
	assert_string_equal(harness_str(res, "flight_number"), "AA100"); /* kept */
	assert_int_equal(harness_int(res, "available_seats"), 180);
	assert_int_equal(fake_flight(1)->price_cents, 19950);
	harness_call(&w, "PUT", "/flights/2", admin, "{\"total_seats\": 301}");
	assert_int_equal(res->status, 200);
	assert_int_equal(harness_int(res, "available_seats"), 298);
	harness_call(&w, "PUT", "/flights/1", user, "{\"price\": 1}");
	harness_expect_error(403, "Not enough permissions");
}

static void update_refused(void **state)
{
	(void)state;
	harness_call(&w, "PUT", "/flights/2", admin, "{\"total_seats\": 299}");
	harness_expect_error(409, "Cannot reduce seats while the flight has live bookings");
	assert_int_equal(fake_flight(2)->total_seats, 300);
	harness_call(&w, "PUT", "/flights/1", admin,
	             "{\"total_seats\": 10}"); /* no bookings: fine */
	assert_int_equal(res->status, 200);
	harness_call(&w, "PUT", "/flights/2", admin,
	             "{\"flight_number\": \"AA100\"}"); /* same date as 1 */
	harness_expect_error(409, "Flight number already exists on that date");
	harness_call(&w, "PUT", "/flights/1", admin,
	             "{\"arrival_time\": \"2026-12-01T09:00:00Z\"}");
	assert_non_null(harness_invalid("arrival_time", "value_error"));
	harness_call(&w, "PUT", "/flights/999", admin, "{\"price\": 1}");
	harness_expect_error(404, "Flight not found");
	seed(9, "LH400", "FRA", "JFK", DEC01_10H, 300);
	harness_call(&w, "PUT", "/flights/9", admin, "{\"price\": 1}");
	harness_expect_error(503, "Booking service unavailable");
	fake_store_fail("update", STORE_ERROR);
	harness_call(&w, "PUT", "/flights/1", admin, "{\"price\": 1}");
	harness_expect_error(503, "Database unavailable");
}

/* ---- DELETE /flights/:id --------------------------------------------- */

static void delete (void **state)
{
	(void)state;
	harness_call(&w, "DELETE", "/flights/1", user, NULL);
	harness_expect_error(403, "Not enough permissions");
	harness_call(&w, "DELETE", "/flights/1", admin, NULL);
	assert_int_equal(res->status, 204);
	assert_int_equal(res->body_len, 0);
	assert_null(fake_flight(1));
	harness_call(&w, "DELETE", "/flights/1", admin, NULL);
	harness_expect_error(404, "Flight not found");
}

static void delete_refused(void **state)
{
	(void)state;
	harness_call(&w, "DELETE", "/flights/2", admin, NULL);
	harness_expect_error(409, "Flight has live bookings");
	assert_true(fake_flight(2)->is_active); /* put back */
	seed(9, "LH400", "FRA", "JFK", DEC01_10H, 300);
	harness_call(&w, "DELETE", "/flights/9", admin, NULL);
	harness_expect_error(503, "Booking service unavailable");
	assert_true(fake_flight(9)->is_active);
	fake_store_fail("delete", STORE_ERROR);
	harness_call(&w, "DELETE", "/flights/1", admin, NULL);
	harness_expect_error(503, "Database unavailable");
	assert_true(fake_flight(1)->is_active);
	harness_call(&w, "DELETE", "/flights/3", admin, NULL); /* not counted: stays inactive */
	harness_expect_error(503, "Booking service unavailable");
	assert_false(fake_flight(3)->is_active);
	fake_store_fail(NULL, STORE_ERROR);
	harness_call(&w, "DELETE", "/flights/1", admin, NULL);
	harness_expect_error(503, "Database unavailable");
}

/* ---- GET /flights ---------------------------------------------------- */

static void list(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/flights", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	assert_int_equal(json_object_array_length(res->json), 2);
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 2); /* by departure */
	assert_int_equal(json_object_get_int64(harness_item(0, "available_seats")), 297);
	assert_int_equal(json_object_get_int64(harness_item(1, "id")), 1);
	assert_int_equal(json_object_get_int64(harness_item(1, "available_seats")), 180);
	assert_string_equal(stub_last_path(), "/internal/occupancy?flight_ids=2,1");
	harness_call(&w, "GET", "/flights?limit=1&offset=1", NULL, NULL);
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	assert_int_equal(json_object_array_length(res->json), 1);
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 1);
}

static void list_filters(void **state)
{
	int before;

	(void)state;
	harness_call(&w, "GET", "/flights?origin=lhr&date=2026-12-01", NULL, NULL);
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "1");
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 2);
	harness_call(&w, "GET", "/flights/search?destination=LAX&departure_date=2026-12-01", NULL,
	             NULL);
	assert_string_equal(harness_res_header("X-Total-Count"), "1");
	assert_int_equal(json_object_get_int64(harness_item(0, "id")), 1);
	before = stub_count();
	harness_call(&w, "GET", "/flights?offset=5", NULL,
	             NULL); /* past the end: no seats to count */
	assert_int_equal(res->status, 200);
	assert_string_equal(harness_res_header("X-Total-Count"), "2");
	assert_int_equal(json_object_array_length(res->json), 0);
	harness_call(&w, "GET", "/flights?date=2026-12-02", NULL, NULL);
	assert_string_equal(harness_res_header("X-Total-Count"), "0");
	assert_int_equal(stub_count(), before);
}

static void list_refused(void **state)
{
	(void)state;
	harness_call(&w, "GET", "/flights?origin=JF&date=12/01/2026&limit=0", NULL, NULL);
	assert_non_null(harness_invalid("origin", "string_too_short"));
	assert_non_null(harness_invalid("date", "date_parsing"));
	assert_non_null(harness_invalid("limit", "greater_than_equal"));
	seed(9, "LH400", "FRA", "JFK", DEC01_10H, 300);
	harness_call(&w, "GET", "/flights?origin=FRA", NULL, NULL);
	harness_expect_error(503, "Seat availability unavailable");
	fake_store_fail("list", STORE_ERROR);
	harness_call(&w, "GET", "/flights", NULL, NULL);
	harness_expect_error(503, "Database unavailable");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, harness_done)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        TEST(create_as_admin),    TEST(create_needs_admin),
	        TEST(create_invalid),     TEST(create_inconsistent),
	        TEST(create_duplicate),   TEST(create_db_down),
	        TEST(create_with_cabins), TEST(create_without_cabins_is_economy),
	        TEST(cabins_invalid),     TEST(cabins_seats_left),
	        TEST(list_by_cabin),      TEST(get_with_seats),
	        TEST(get_not_found),      TEST(get_seats_unavailable),
	        TEST(internal_get),       TEST(update),
	        TEST(update_refused),     TEST(delete),
	        TEST(delete_refused),     TEST(list),
	        TEST(list_filters),       TEST(list_refused),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
