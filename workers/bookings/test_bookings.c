/* test_bookings.c - the pure seat rules of the bookings service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bookings.h"

static void seat_index(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(bookings_seat_index("1A", 150, out, sizeof(out)), 0);
	assert_string_equal(out, "1A");
	assert_int_equal(bookings_seat_index("25F", 150, out, sizeof(out)), 149);
	assert_int_equal(bookings_seat_index("12b", 150, out, sizeof(out)), 67);
	assert_string_equal(out, "12B");
	assert_int_equal(bookings_seat_index("26A", 152, out, sizeof(out)), 150);
	assert_int_equal(bookings_seat_index("26B", 152, out, sizeof(out)), 151);
}

static void seat_rejects(void **state)
{
	char out[8];
	const char *bad[] = {"",    "0A",    "01A", "1G",  "A1",  "1",           "1AA",       "26A",
	                     "99A", "1000A", "-1A", " 1A", "1A ", "1' OR 1=1--", "\303\2511A"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bookings_seat_index(bad[i], 150, out, sizeof(out)), -1);
	assert_int_equal(bookings_seat_index("1C", 2, out, sizeof(out)), -1);
	assert_int_equal(bookings_seat_index("142F", 853, out, sizeof(out)), 851);
	assert_int_equal(bookings_seat_index("143A", 853, out, sizeof(out)), 852);
	assert_int_equal(bookings_seat_index("143B", 853, out, sizeof(out)), -1);
}

static void seat_names(void **state)
{
	char out[8], back[8];

	(void)state;
	for (int64_t i = 0; i < 853; i++) {
		bookings_seat_name(i, out, sizeof(out));
		assert_int_equal(bookings_seat_index(out, 853, back, sizeof(back)), i);
		assert_string_equal(out, back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(seat_index),
	        cmocka_unit_test(seat_rejects),
	        cmocka_unit_test(seat_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
