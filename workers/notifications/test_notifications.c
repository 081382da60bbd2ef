/* test_notifications.c - the pure input rules of the notifications
 * service: types, event ids, message characters, event key scoping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "notifications.h"

static void types(void **state)
{
	const char *good[] = {"booking_confirmation", "booking_cancellation", "payment_failed",
	                      "hold_expired",         "flight_update",        "custom"};
	const char *bad[] = {"", "Custom", "custom ", "email", "booking", "booking_confirmation\n"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(notifications_type_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(notifications_type_valid(bad[i]));
}

static void event_ids(void **state)
{
	char longest[NOTIFICATIONS_EVENT_ID_MAX + 2];

	(void)state;
	assert_true(notifications_event_id_valid("booking:12:confirmed"));
	assert_true(notifications_event_id_valid("x"));
	assert_true(notifications_event_id_valid("~!@#$%^&*()_+{}|:\"<>?"));
	assert_false(notifications_event_id_valid(""));
	assert_false(notifications_event_id_valid("has space"));
	assert_false(notifications_event_id_valid("tab\there"));
	assert_false(notifications_event_id_valid("line\nbreak"));
	assert_false(notifications_event_id_valid("caf\303\251"));
	assert_false(notifications_event_id_valid("del\177"));
	memset(longest, 'a', sizeof(longest));
	longest[NOTIFICATIONS_EVENT_ID_MAX] = '\0';
	assert_true(notifications_event_id_valid(longest));
	longest[NOTIFICATIONS_EVENT_ID_MAX] = 'a';
	longest[NOTIFICATIONS_EVENT_ID_MAX + 1] = '\0';
	assert_false(notifications_event_id_valid(longest));
}

static void messages(void **state)
{
	(void)state;
	assert_true(notifications_message_valid("Your flight AA100 JFK-LAX departs at 10:00."));
	assert_true(notifications_message_valid("line one\nline two\r\n\tindented"));
	assert_true(notifications_message_valid("Grüße, ✈"));
	assert_true(notifications_message_valid(""));
	assert_false(notifications_message_valid("bell\a"));
	assert_false(notifications_message_valid("escape \033[31mred"));
	assert_false(notifications_message_valid("del\177"));
	assert_false(notifications_message_valid("\f"));
}

static void event_keys(void **state)
{
	char out[NOTIFICATIONS_EVENT_KEY_MAX], small[8];
	char longest[NOTIFICATIONS_EVENT_ID_MAX + 1];

	(void)state;
	assert_int_equal(notifications_event_key(0, "booking:1:confirmed", out, sizeof(out)), 0);
	assert_string_equal(out, "svc:booking:1:confirmed");
	assert_int_equal(notifications_event_key(42, "booking:1:confirmed", out, sizeof(out)), 0);
	assert_string_equal(out, "user:42:booking:1:confirmed");
	/* a user cannot name a service's key */
	assert_int_equal(notifications_event_key(7, "svc:x", out, sizeof(out)), 0);
	assert_string_equal(out, "user:7:svc:x");
	memset(longest, 'z', NOTIFICATIONS_EVENT_ID_MAX);
	longest[NOTIFICATIONS_EVENT_ID_MAX] = '\0';
	assert_int_equal(notifications_event_key(INT64_MAX, longest, out, sizeof(out)), 0);
	assert_int_equal(notifications_event_key(1, "abcdef", small, sizeof(small)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(types),
	        cmocka_unit_test(event_ids),
	        cmocka_unit_test(messages),
	        cmocka_unit_test(event_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
