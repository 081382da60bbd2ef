/* test_notifications.c - the pure input rules of the notifications
 * service: types, event ids, message characters, event key scoping; and
 * the templates, word for word the texts senders used to build in SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "notifications.h"
#include "template.h"

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

/* The message of type from data (JSON text), or NULL with the reason in
 * why when it does not render. Caller frees. */
static char *rendered(const char *type, const char *data, char *why, size_t len)
{
	struct json_object *o = json_tokener_parse(data);
	struct buf out;
	char *s = NULL;

	assert_non_null(o);
	buf_init(&out);
	if (template_render(type, o, &out) == 0)
		s = strdup(buf_str(&out));
	else
		snprintf(why, len, "%s", buf_str(&out));
	buf_release(&out);
	json_object_put(o);
	return s;
}

static void expect(const char *type, const char *data, const char *text)
{
	char why[128] = "";
	char *s = rendered(type, data, why, sizeof(why));

	if (s == NULL)
		fail_msg("%s did not render: %s", type, why);
	assert_string_equal(s, text);
	free(s);
}

static void templates(void **state)
{
	(void)state;
	expect("booking_confirmation",
	       "{\"reference\": \"K7QX2M\", \"flight\": \"AA100\", \"origin\": \"JFK\", "
	       "\"destination\": \"LAX\", \"departure\": \"2026-12-01 10:00\", \"seat\": \"12A\", "
	       "\"total\": \"299.99\"}",
	       "Your booking K7QX2M is confirmed. Flight AA100 from JFK to LAX, departing "
	       "2026-12-01 10:00 UTC. Seat 12A. Total paid: 299.99.");
	/* several passengers: each named with seat and cabin; a null or
	 * empty list (one passenger) reads as before */
	expect("booking_confirmation",
	       "{\"reference\": \"K7QX2M\", \"flight\": \"AA100\", \"origin\": \"JFK\", "
	       "\"destination\": \"LAX\", \"departure\": \"2026-12-01 10:00\", \"seat\": \"2A\", "
	       "\"passengers\": \"Ada Lovelace, seat 2A (business); Alan Turing, seat 2B "
	       "(business)\", \"total\": \"2598.00\"}",
	       "Your booking K7QX2M is confirmed. Flight AA100 from JFK to LAX, departing "
	       "2026-12-01 10:00 UTC. Passengers: Ada Lovelace, seat 2A (business); Alan Turing, "
	       "seat 2B (business). Total paid: 2598.00.");
	expect("booking_confirmation",
	       "{\"reference\": \"K7QX2M\", \"flight\": \"AA100\", \"origin\": \"JFK\", "
	       "\"destination\": \"LAX\", \"departure\": \"2026-12-01 10:00\", \"seat\": \"12A\", "
	       "\"passengers\": null, \"total\": \"299.99\"}",
	       "Your booking K7QX2M is confirmed. Flight AA100 from JFK to LAX, departing "
	       "2026-12-01 10:00 UTC. Seat 12A. Total paid: 299.99.");
	expect("booking_cancellation",
	       "{\"reference\": \"K7QX2M\", \"seat\": \"12A\", \"flight\": \"AA100\"}",
	       "Your booking K7QX2M (seat 12A on AA100) has been cancelled.");
	expect("booking_cancellation",
	       "{\"reference\": \"K7QX2M\", \"seat\": \"12A\", \"flight\": \"AA100\", "
	       "\"refund\": \"yes\"}",
	       "Your booking K7QX2M (seat 12A on AA100) has been cancelled. Your payment will be "
	       "refunded.");
	expect("booking_cancellation",
	       "{\"reference\": \"K7QX2M\", \"seat\": \"12A\", \"flight\": \"flight 7\", "
	       "\"refund\": \"no\"}",
	       "Your booking K7QX2M (seat 12A on flight 7) has been cancelled.");
	expect("hold_expired",
	       "{\"reference\": \"K7QX2M\", \"seat\": \"3C\", \"flight\": \"AA100\"}",
	       "Your hold on seat 3C of AA100 (booking K7QX2M) expired before payment, and the "
	       "seat "
	       "was released.");
	expect("payment_failed", "{\"booking\": \"42\", \"amount\": \"5.00\"}",
	       "Your payment of 5.00 for booking 42 was declined. The seat stays held until the "
	       "hold "
	       "ends; you may pay with another card.");
	/* numbers and null, as SQL format() rendered them; a value is not
	 * a template */
	expect("payment_failed", "{\"booking\": 42, \"amount\": null}",
	       "Your payment of  for booking 42 was declined. The seat stays held until the hold "
	       "ends; you may pay with another card.");
	expect("payment_failed", "{\"booking\": \"{amount}\", \"amount\": \"1.00\"}",
	       "Your payment of 1.00 for booking {amount} was declined. The seat stays held until "
	       "the hold ends; you may pay with another card.");
}

static void templates_refused(void **state)
{
	char why[128];

	(void)state;
	assert_null(rendered("custom", "{}", why, sizeof(why)));
	assert_non_null(strstr(why, "custom"));
	assert_null(rendered("flight_update", "{\"flight\": \"AA100\"}", why, sizeof(why)));
	assert_null(rendered("nonsense", "{}", why, sizeof(why)));
	assert_null(rendered("payment_failed", "{\"booking\": \"42\"}", why, sizeof(why)));
	assert_non_null(strstr(why, "amount"));
	assert_null(rendered("hold_expired",
	                     "{\"reference\": \"K\", \"seat\": [\"3C\"], "
	                     "\"flight\": \"AA100\"}",
	                     why, sizeof(why)));
	assert_non_null(strstr(why, "seat"));
	assert_null(rendered("booking_cancellation",
	                     "{\"reference\": \"K\", \"seat\": {}, "
	                     "\"flight\": \"AA100\"}",
	                     why, sizeof(why)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(types),     cmocka_unit_test(event_ids),
	        cmocka_unit_test(messages),  cmocka_unit_test(event_keys),
	        cmocka_unit_test(templates), cmocka_unit_test(templates_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
