/* test_flights.c - the pure rules of the flights service: flight number
 * and IATA code input, seat arithmetic, the bookings pool's occupancy
 * answer and the Flight JSON (public, internal, cache round trip), cabins
 * (the default one, seats to cabins, per-row counts and per-cabin seats
 * left). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "flights.h"
#include "bookings/seat_set.h"
#include "occupancy.h"
#include "store.h"

static void number_is(const char *in, const char *want)
{
	char out[FLIGHT_NUMBER_MAX];

	assert_int_equal(flights_number_normalize(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void number_bad(const char *in)
{
	char out[FLIGHT_NUMBER_MAX];

	assert_int_equal(flights_number_normalize(in, out, sizeof(out)), -1);
}

static void flight_numbers(void **state)
{
	(void)state;
	number_is("AA100", "AA100");
	number_is("aa100", "AA100");
	number_is("Ba2490", "BA2490");
	number_is("U21234A", "U21234A");
	number_is("3u8888", "3U8888");
	number_is("12345", "12345");
	number_is("LH1", "LH1");
	number_is("lh1x", "LH1X");
	number_bad("");
	number_bad("AA");
	number_bad("AAA100");
	number_bad("AA12345");
	number_bad("AA100AB");
	number_bad("AA-100");
	number_bad("AA 100");
	number_bad("AAX");
	number_bad("A\303\204100");
	number_bad("AA100 ");
	number_bad("AA1000000000");
}

static void flight_number_buffer(void **state)
{
	char small[4];

	(void)state;
	/* never writes past outlen */
	assert_int_equal(flights_number_normalize("AA100", small, sizeof(small)), -1);
}

static void iata_codes(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(flights_iata_normalize("JFK", out), 0);
	assert_string_equal(out, "JFK");
	assert_int_equal(flights_iata_normalize("lhr", out), 0);
	assert_string_equal(out, "LHR");
	assert_int_equal(flights_iata_normalize("cDg", out), 0);
	assert_string_equal(out, "CDG");
	assert_int_equal(flights_iata_normalize("", out), -1);
	assert_int_equal(flights_iata_normalize("JF", out), -1);
	assert_int_equal(flights_iata_normalize("JFKX", out), -1);
	assert_int_equal(flights_iata_normalize("J1K", out), -1);
	assert_int_equal(flights_iata_normalize("JF ", out), -1);
	assert_int_equal(flights_iata_normalize("\303\204B", out), -1);
}

static void live_from_cached_count(void **state)
{
	long long live = -7;
	char v[48];

	(void)state;
	assert_int_equal(occupancy_from_cache(NULL, 5000, &live), 0); /* missing */
	assert_int_equal(live, -7);
	assert_int_equal(occupancy_from_cache("3", 5000, &live), 0); /* no time: not ours */
	assert_int_equal(occupancy_from_cache("x@5000", 5000, &live), 0);
	assert_int_equal(occupancy_from_cache("3@5000x", 5000, &live), 0);
	assert_int_equal(occupancy_from_cache("-1@5000", 5000, &live), 0);
	assert_int_equal(live, -7);
	seat_count_format(3, 5000, v, sizeof(v));
	assert_string_equal(v, "3@5000");
	assert_int_equal(occupancy_from_cache(v, 5000, &live), 1);
	assert_int_equal(live, 3);
	assert_int_equal(occupancy_from_cache("0@5000", 5999, &live), 1);
	assert_int_equal(live, 0);
	/* too old to trust, whatever its expiry in Redis says */
	assert_int_equal(occupancy_from_cache("4@5000", 5000 + SEAT_COUNT_TTL_MS, &live), 0);
	/* from the future (a skewed clock): not trusted either */
	assert_int_equal(occupancy_from_cache("4@9000", 5000, &live), 0);
	assert_int_equal(live, 0);
}

static void seats_available(void **state)
{
	(void)state;
	assert_int_equal(occupancy_available(150, 0), 150);
	assert_int_equal(occupancy_available(150, 3), 147);
	assert_int_equal(occupancy_available(150, 149), 1);
	assert_int_equal(occupancy_available(150, 150), 0);
	assert_int_equal(occupancy_available(150, 151), 0);
	assert_int_equal(occupancy_available(150, 1LL << 40), 0);
	assert_int_equal(occupancy_available(150, -2), 150);
	assert_int_equal(occupancy_available(1, 1), 0);
	assert_int_equal(occupancy_available(853, 1), 852);
}

static void occupancy_answers(void **state)
{
	const int64_t ids[] = {1, 2, 30};
	long long live[3] = {-1, -1, -1};

	(void)state;
	assert_int_equal(occupancy_parse("{\"1\": 3, \"2\": 0, \"30\": 853}", ids, 3, live, NULL),
	                 0);
	assert_int_equal(live[0], 3);
	assert_int_equal(live[1], 0);
	assert_int_equal(live[2], 853);
	/* extra flights are ignored */
	assert_int_equal(
	        occupancy_parse("{\"30\": 1, \"9\": 4, \"1\": 0, \"2\": 2}", ids, 3, live, NULL),
	        0);
	assert_int_equal(live[0], 0);
	assert_int_equal(live[1], 2);
	assert_int_equal(live[2], 1);
	assert_int_equal(occupancy_parse("{\"1\": 3, \"2\": 0}", ids, 3, live, NULL), -1);
	assert_int_equal(occupancy_parse("{\"1\": 3, \"2\": -1, \"30\": 0}", ids, 3, live, NULL),
	                 -1);
	assert_int_equal(occupancy_parse("{\"1\": \"3\", \"2\": 0, \"30\": 0}", ids, 3, live, NULL),
	                 -1);
	assert_int_equal(occupancy_parse("{\"1\": 2.5, \"2\": 0, \"30\": 0}", ids, 3, live, NULL),
	                 -1);
	assert_int_equal(occupancy_parse("{\"1\": null, \"2\": 0, \"30\": 0}", ids, 3, live, NULL),
	                 -1);
	assert_int_equal(occupancy_parse("[3, 0, 0]", ids, 3, live, NULL), -1);
	assert_int_equal(occupancy_parse("{\"1\": 3,", ids, 3, live, NULL), -1);
	assert_int_equal(occupancy_parse("", ids, 3, live, NULL), -1);
	assert_int_equal(occupancy_parse("{}", ids, 0, live, NULL), 0);
}

static const struct flight sample = {
        .id = 42,
        .flight_number = "AA100",
        .airline = "American Airlines",
        .origin = "JFK",
        .destination = "LAX",
        .departure_time = 1796119200, /* 2026-12-01T10:00:00Z */
        .arrival_time = 1796141700,   /* 2026-12-01T16:15:00Z */
        .price_cents = 29999,
        .total_seats = 180,
        .is_active = 1,
        .created_at = 1767225600, /* 2026-01-01T00:00:00Z */
};

static const char *text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static void public_json(void **state)
{
	struct json_object *o = flight_entry_json(&sample, 177, NULL);

	(void)state;
	assert_string_equal(
	        text(o),
	        "{\"id\":42,\"flight_number\":\"AA100\",\"airline\":\"American Airlines\","
	        "\"origin\":\"JFK\",\"destination\":\"LAX\","
	        "\"departure_time\":\"2026-12-01T10:00:00Z\","
	        "\"arrival_time\":\"2026-12-01T16:15:00Z\",\"price\":299.99,"
	        "\"total_seats\":180,\"available_seats\":177,\"is_active\":true,"
	        "\"created_at\":\"2026-01-01T00:00:00Z\",\"cabins\":[{\"cabin\":\"economy\","
	        "\"first_row\":1,\"last_row\":30,\"price\":299.99,\"available_seats\":177}]}");
	json_object_put(o);
}

/* A long-haul layout: business 1-4, premium economy 5-8, economy 9-40. */
static struct flight long_haul(void)
{
	struct flight f = sample;

	f.ncabins = 3;
	f.cabins[0] = (struct cabin){CABIN_BUSINESS, 1, 4, 129900};
	f.cabins[1] = (struct cabin){CABIN_PREMIUM_ECONOMY, 5, 8, 59900};
	f.cabins[2] = (struct cabin){CABIN_ECONOMY, 9, 40, 29999};
	f.total_seats = 240;
	return f;
}

static void cabins_of_seats(void **state)
{
	struct flight f = long_haul(), plain = sample;
	struct cabin c;

	(void)state;
	assert_int_equal(flight_seat_cabin(&f, 0, &c), 0); /* 1A */
	assert_int_equal(c.kind, CABIN_BUSINESS);
	assert_int_equal(c.price_cents, 129900);
	assert_int_equal(flight_seat_cabin(&f, 23, &c), 0); /* 4F */
	assert_int_equal(c.kind, CABIN_BUSINESS);
	assert_int_equal(flight_seat_cabin(&f, 24, &c), 0); /* 5A */
	assert_int_equal(c.kind, CABIN_PREMIUM_ECONOMY);
	assert_int_equal(flight_seat_cabin(&f, 239, &c), 0); /* 40F */
	assert_int_equal(c.kind, CABIN_ECONOMY);
	assert_int_equal(flight_seat_cabin(&f, 240, &c), -1);
	assert_int_equal(flight_seat_cabin(&f, -1, &c), -1);
	/* without cabins: one economy cabin at the flight's price, even when
	 * the last row is short (220 seats: 37 rows, 36 full) */
	plain.total_seats = 220;
	assert_int_equal(flight_seat_cabin(&plain, 219, &c), 0);
	assert_int_equal(c.kind, CABIN_ECONOMY);
	assert_int_equal(c.first_row, 1);
	assert_int_equal(c.last_row, 37);
	assert_int_equal(c.price_cents, 29999);
	assert_int_equal(flight_seat_cabin(&plain, 220, &c), -1);
	assert_string_equal(flight_cabin_name(CABIN_PREMIUM_ECONOMY), "premium_economy");
	assert_int_equal(flight_cabin_kind("first"), CABIN_FIRST);
	assert_int_equal(flight_cabin_kind("coach"), -1);
}

static void cabins_round_trip(void **state)
{
	struct flight f = long_haul(), back;
	struct json_object *o = flight_entry_json(&f, -1, NULL);

	(void)state;
	assert_int_equal(flight_entry_parse(text(o), &back), 0);
	assert_int_equal(back.ncabins, 3);
	for (int k = 0; k < 3; k++) { /* field by field: struct cabin has padding */
		assert_int_equal(back.cabins[k].kind, f.cabins[k].kind);
		assert_int_equal(back.cabins[k].first_row, f.cabins[k].first_row);
		assert_int_equal(back.cabins[k].last_row, f.cabins[k].last_row);
		assert_int_equal(back.cabins[k].price_cents, f.cabins[k].price_cents);
	}
	assert_int_equal(back.total_seats, 240);
	json_object_put(o);
	/* a cabin the parser cannot read makes the entry unreadable */
	assert_int_equal(flight_cabins_parse("[{\"cabin\":\"coach\",\"first_row\":1,"
	                                     "\"last_row\":2,\"price_cents\":1}]",
	                                     &back),
	                 -1);
	assert_int_equal(flight_cabins_parse("{}", &back), -1);
}

static void rows_of_live_seats(void **state)
{
	const char *seats[] = {"1A", "1B", "12C", "143F", "0A", "x"};
	unsigned short per_row[SEAT_ROWS_MAX + 1];
	char text[SEAT_COUNT_TEXT_MAX] = "4@1700000000000";
	long long live;

	(void)state;
	seat_rows_format(seats, 6, text, sizeof(text));
	assert_string_equal(text, "4@1700000000000|1:2,12:1,143:1");
	assert_int_equal(occupancy_from_cache(text, 1700000000500, &live), 1);
	assert_int_equal(live, 4);
	assert_int_equal(seat_rows_parse(text, per_row), 1);
	assert_int_equal(per_row[1], 2);
	assert_int_equal(per_row[2], 0);
	assert_int_equal(per_row[12], 1);
	assert_int_equal(per_row[143], 1);
	assert_int_equal(seat_rows_parse("4@1700000000000", per_row), 0); /* no rows part */
	assert_int_equal(seat_rows_parse("0@1700000000000|", per_row), 1);
	assert_int_equal(per_row[1], 0);
	assert_int_equal(seat_rows_parse("1@1|1:7", per_row), 0);
	assert_int_equal(seat_rows_parse("1@1|144:1", per_row), 0);
	assert_int_equal(seat_rows_parse("1@1|1;1", per_row), 0);
}

static void seats_left_per_cabin(void **state)
{
	struct flight f = long_haul(), plain = sample;
	struct occupancy_rows rows = {0};
	const int64_t ids[] = {42};
	int available[FLIGHT_CABINS_MAX];
	long long live;

	(void)state;
	rows.taken[1] = 6; /* business row 1 full */
	rows.taken[4] = 1;
	rows.taken[9] = 2;
	occupancy_cabins(&f, 9, &rows, available);
	assert_int_equal(available[0], 24 - 7);
	assert_int_equal(available[1], 24);
	assert_int_equal(available[2], 192 - 2);
	/* the single default cabin is the flight's own count */
	occupancy_cabins(&plain, 9, &rows, available);
	assert_int_equal(available[0], 171);
	/* the bookings pool's answer carries the rows */
	assert_int_equal(occupancy_parse("{\"42\": 3, \"rows\": {\"42\": \"1:2,9:1\"}}", ids, 1,
	                                 &live, &rows),
	                 0);
	assert_int_equal(live, 3);
	assert_int_equal(rows.taken[1], 2);
	assert_int_equal(rows.taken[4], 0);
	assert_int_equal(rows.taken[9], 1);
	assert_int_equal(occupancy_parse("{\"42\": 3}", ids, 1, &live, &rows), -1);
	assert_int_equal(occupancy_parse("{\"42\": 3}", ids, 1, &live, NULL), 0);
}

static void price_text_is_exact(void **state)
{
	const int64_t cents[] = {0, 5, 10, 500, 29999, 100000000, 1999};
	const char *want[] = {"0.00", "0.05", "0.10", "5.00", "299.99", "1000000.00", "19.99"};
	struct flight f = sample;

	(void)state;
	for (size_t i = 0; i < sizeof(cents) / sizeof(cents[0]); i++) {
		f.price_cents = cents[i];
		struct json_object *o = flight_entry_json(&f, 0, NULL);
		struct json_object *price;
		assert_true(json_object_object_get_ex(o, "price", &price));
		assert_string_equal(text(price), want[i]);
		json_object_put(o);
	}
}

static void internal_json_round_trip(void **state)
{
	struct json_object *o = flight_entry_json(&sample, -1, NULL);
	struct json_object *v;
	struct flight back;

	(void)state;
	assert_true(json_object_object_get_ex(o, "price_cents", &v));
	assert_int_equal(json_object_get_int64(v), 29999);
	assert_false(json_object_object_get_ex(o, "available_seats", &v));
	assert_int_equal(flight_entry_parse(text(o), &back), 0);
	assert_memory_equal(&back, &sample, sizeof(back));
	json_object_put(o);
}

static void internal_json_rejects(void **state)
{
	struct flight back;
	struct json_object *o = flight_entry_json(&sample, -1, NULL);

	(void)state;
	assert_int_equal(flight_entry_parse("", &back), -1);
	assert_int_equal(flight_entry_parse("[]", &back), -1);
	assert_int_equal(flight_entry_parse("{\"id\": 1}", &back), -1);
	json_object_object_del(o, "created_at");
	assert_int_equal(flight_entry_parse(text(o), &back), -1);
	json_object_object_add(o, "created_at", json_object_new_string("2026-01-01T00:00:00Z"));
	assert_int_equal(flight_entry_parse(text(o), &back), 0);
	json_object_object_add(o, "origin", json_object_new_string("JFKX"));
	assert_int_equal(flight_entry_parse(text(o), &back), -1);
	json_object_put(o);
}

/* The public form written straight (flight_entry_public) is the bytes
 * json-c writes for the object (reply_json's flags): every escape of a
 * free-text airline, cabins given or not, per-cabin counts or not. */
static void public_written_as_json_c(void **state)
{
	static const char *const airlines[] = {
	        "American Airlines",       "Q\"uote\\Back/slash", "ctl\b\f\n\r\t\001\037\177 end",
	        "\303\204ir \342\202\254", "bad \377\376 utf8",   "x"};
	int per_cabin[FLIGHT_CABINS_MAX] = {3, 0, 7, 11};
	struct flight layouts[] = {sample, long_haul()};

	(void)state;
	layouts[0].is_active = 0;
	layouts[0].price_cents = 5;
	for (size_t a = 0; a < sizeof(airlines) / sizeof(airlines[0]); a++)
		for (size_t k = 0; k < 2; k++)
			for (int with = 0; with < 2; with++) {
				struct flight f = layouts[k];
				struct buf b;
				snprintf(f.airline, sizeof(f.airline), "%s", airlines[a]);
				struct json_object *o =
				        flight_entry_json(&f, 9, with ? per_cabin : NULL);
				buf_init(&b);
				flight_entry_public(&b, &f, 9, with ? per_cabin : NULL);
				assert_string_equal(
				        buf_str(&b),
				        json_object_to_json_string_ext(
				                o, JSON_C_TO_STRING_PLAIN |
				                           JSON_C_TO_STRING_NOSLASHESCAPE));
				buf_release(&b);
				json_object_put(o);
			}
	/* times and numbers written without strftime and printf */
	static const int64_t times[] = {0,
	                                -1,
	                                -86400,
	                                951782400,
	                                4102444800,
	                                1796218865,
	                                253402300799,
	                                253402300800,
	                                -30610224000,
	                                -30610224001,
	                                -62135596800,
	                                86399};
	static const int64_t cents[] = {0, 5, -5, 100, -199, 123456789, INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct flight f = layouts[i % 2];
		struct buf b;
		f.departure_time = f.created_at = times[i];
		f.arrival_time = times[(i + 1) % (sizeof(times) / sizeof(times[0]))];
		f.price_cents = cents[i % (sizeof(cents) / sizeof(cents[0]))];
		f.cabins[0].price_cents = cents[(i + 3) % (sizeof(cents) / sizeof(cents[0]))];
		f.id = i % 2 ? INT64_MAX : (int64_t)i;
		struct json_object *o = flight_entry_json(&f, (int)i * 7, per_cabin);
		buf_init(&b);
		flight_entry_public(&b, &f, (int)i * 7, per_cabin);
		assert_string_equal(
		        buf_str(&b),
		        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
		buf_release(&b);
		json_object_put(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(flight_numbers),
	        cmocka_unit_test(flight_number_buffer),
	        cmocka_unit_test(iata_codes),
	        cmocka_unit_test(live_from_cached_count),
	        cmocka_unit_test(seats_available),
	        cmocka_unit_test(occupancy_answers),
	        cmocka_unit_test(public_json),
	        cmocka_unit_test(public_written_as_json_c),
	        cmocka_unit_test(price_text_is_exact),
	        cmocka_unit_test(internal_json_round_trip),
	        cmocka_unit_test(internal_json_rejects),
	        cmocka_unit_test(cabins_of_seats),
	        cmocka_unit_test(cabins_round_trip),
	        cmocka_unit_test(rows_of_live_seats),
	        cmocka_unit_test(seats_left_per_cabin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
