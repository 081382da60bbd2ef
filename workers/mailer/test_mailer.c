/* test_mailer.c - the pure parts of the mailer: Subject by type,
 * Message-ID, Date, header values stripped of CR/LF, body line ends and
 * folding, addresses, the composed message, the back-off, and the array
 * literal that carries a group's Message-IDs to one UPDATE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "db.h"
#include "mailer.h"
#include "message.h"
#include "store.h"

static void subjects(void **state)
{
	(void)state;
	assert_string_equal(message_subject("booking_confirmation"), "Your booking is confirmed");
	assert_string_equal(message_subject("booking_cancellation"), "Your booking was cancelled");
	assert_string_equal(message_subject("payment_failed"), "Your payment failed");
	assert_string_equal(message_subject("hold_expired"), "Your seat hold expired");
	assert_string_equal(message_subject("flight_update"), "Flight update");
	assert_string_equal(message_subject("custom"), "FlightOps notification");
	assert_string_equal(message_subject(""), "FlightOps notification");
	assert_string_equal(message_subject("booking_confirmation "), "FlightOps notification");
}

static void ids_and_dates(void **state)
{
	char out[64];

	(void)state;
	message_id(42, out, sizeof(out));
	assert_string_equal(out, "<notification-42@flightops.local>");
	message_id(INT64_MAX, out, sizeof(out));
	assert_string_equal(out, "<notification-9223372036854775807@flightops.local>");
	message_date(0, out, sizeof(out));
	assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 +0000");
	message_date(1796119200, out, sizeof(out)); /* 2026-12-01T10:00:00Z */
	assert_string_equal(out, "Tue, 01 Dec 2026 10:00:00 +0000");
	message_date(951782400, out, sizeof(out)); /* a leap day */
	assert_string_equal(out, "Tue, 29 Feb 2000 00:00:00 +0000");
}

static void header_values(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	message_add_header(&b, "To", "a@b.example\r\nBcc: victim@example.com");
	assert_string_equal(buf_str(&b), "To: a@b.exampleBcc: victim@example.com\r\n");
	buf_reset(&b);
	message_add_header(&b, "Subject", "x\ny\rz\t\177!");
	assert_string_equal(buf_str(&b), "Subject: xyz!\r\n");
	buf_reset(&b);
	message_add_header(&b, "X", "");
	assert_string_equal(buf_str(&b), "X: \r\n");
	buf_release(&b);
}

static void text_line_ends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	message_add_text(&b, "a\nb\r\nc\rd\n\ne");
	assert_string_equal(buf_str(&b), "a\r\nb\r\nc\r\nd\r\n\r\ne");
	buf_reset(&b);
	message_add_text(&b, "");
	assert_string_equal(buf_str(&b), "");
	buf_reset(&b);
	message_add_text(&b, "\r\n.\r\n");
	assert_string_equal(buf_str(&b), "\r\n.\r\n"); /* libcurl dot-stuffs it */
	buf_release(&b);
}

/* Every line of s (CRLF-separated) is at most MESSAGE_LINE_MAX octets and
 * no CR or LF stands alone. */
static void assert_lines_ok(const char *s)
{
	size_t col = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '\r') {
			assert_int_equal(p[1], '\n');
			p++;
			col = 0;
			continue;
		}
		assert_int_not_equal(*p, '\n');
		col++;
		assert_true(col <= MESSAGE_LINE_MAX);
	}
}

static void text_folding(void **state)
{
	char text[2001];
	struct buf b;

	(void)state;
	buf_init(&b);
	memset(text, 'x', 2000);
	text[2000] = '\0';
	message_add_text(&b, text);
	assert_lines_ok(buf_str(&b));
	assert_int_equal(b.len, 2000 + 2 * 2);
	/* a two-byte character is never split across the fold */
	buf_reset(&b);
	memset(text, 'y', 997);
	memcpy(text + 997, "\303\251zz", 5);
	message_add_text(&b, text);
	assert_lines_ok(buf_str(&b));
	assert_memory_equal(b.data + 997, "\r\n\303\251zz", 6);
	buf_release(&b);
}

static void addresses(void **state)
{
	const char *good[] = {"a@b.example", "first.last+tag@sub.example.com", "x@y"};
	const char *bad[] = {"",
	                     "@b.example",
	                     "a@",
	                     "a@@b",
	                     "a@b@c",
	                     "a b@c.example",
	                     "a@b.example\r\nBcc: x@y",
	                     "<a@b.c>",
	                     "a@b.c>",
	                     "\"a\"@b.c",
	                     "a,b@c.d",
	                     "a@b;c.d",
	                     "a@b\tc"};
	char longest[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(message_address_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(message_address_valid(bad[i]));
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 240, "@example.com", 13);
	assert_true(message_address_valid(longest));
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 250, "@example.com", 13);
	assert_false(message_address_valid(longest));
}

static const char *header_of(const char *msg, const char *line)
{
	const char *end = strstr(msg, "\r\n\r\n");
	const char *hit = strstr(msg, line);

	return hit && hit < end ? hit : NULL;
}

static void compose(void **state)
{
	struct message_input in = {7,
	                           "booking_confirmation",
	                           "no-reply@flightops.local",
	                           "jane@example.com",
	                           "Jane\r\nBcc: x@y Doe",
	                           "Flight AA100 JFK-LAX\nSeat 12A, reference ABC234",
	                           1796119200};
	struct buf b;

	(void)state;
	buf_init(&b);
	message_compose(&in, &b);
	const char *m = buf_str(&b);
	assert_lines_ok(m);
	assert_non_null(header_of(m, "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"));
	assert_non_null(header_of(m, "From: FlightOps <no-reply@flightops.local>\r\n"));
	assert_non_null(header_of(m, "To: jane@example.com\r\n"));
	assert_non_null(header_of(m, "Subject: Your booking is confirmed\r\n"));
	assert_non_null(header_of(m, "Message-ID: <notification-7@flightops.local>\r\n"));
	assert_non_null(header_of(m, "MIME-Version: 1.0\r\n"));
	assert_non_null(header_of(m, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_null(header_of(m, "Bcc"));
	const char *body = strstr(m, "\r\n\r\n") + 4;
	assert_string_equal(body, "Dear Jane  Bcc: x@y Doe,\r\n\r\n"
	                          "Flight AA100 JFK-LAX\r\nSeat 12A, reference ABC234\r\n\r\n"
	                          "Passenger: Jane  Bcc: x@y Doe\r\n\r\n"
	                          "-- FlightOps\r\n");
	buf_release(&b);
}

static void compose_other_types(void **state)
{
	struct message_input in = {8, "custom", "ops@example.com", "bob@example.com", "", "Hi", 0};
	struct buf b;

	(void)state;
	buf_init(&b);
	message_compose(&in, &b);
	const char *m = buf_str(&b);
	assert_non_null(header_of(m, "Subject: FlightOps notification\r\n"));
	assert_string_equal(strstr(m, "\r\n\r\n") + 4,
	                    "Dear customer,\r\n\r\nHi\r\n\r\n-- FlightOps\r\n");
	assert_null(strstr(m, "Passenger:"));
	buf_release(&b);
}

static void backoff(void **state)
{
	(void)state;
	assert_int_equal(mailer_backoff_seconds(-5), 1);
	assert_int_equal(mailer_backoff_seconds(0), 1);
	assert_int_equal(mailer_backoff_seconds(1), 2);
	assert_int_equal(mailer_backoff_seconds(2), 4);
	assert_int_equal(mailer_backoff_seconds(7), 128);
	assert_int_equal(mailer_backoff_seconds(8), 256);
	assert_int_equal(mailer_backoff_seconds(9), 300);
	assert_int_equal(mailer_backoff_seconds(31), 300);
	assert_int_equal(mailer_backoff_seconds(1000), 300);
	for (int a = 1; a < 100; a++)
		assert_true(mailer_backoff_seconds(a) >= mailer_backoff_seconds(a - 1));
}

static void text_arrays(void **state)
{
	struct buf b;
	const char *none[] = {NULL};
	const char *ids[] = {"<notification-1@flightops.local>",
	                     "<notification-22@flightops.local>"};
	const char *odd[] = {"", "a,b", "say \"hi\"", "back\\slash", "{x}", "NULL"};

	(void)state;
	buf_init(&b);
	db_text_array(&b, none, 0);
	assert_string_equal(buf_str(&b), "{}");
	buf_reset(&b);
	db_text_array(&b, ids, 1);
	assert_string_equal(buf_str(&b), "{\"<notification-1@flightops.local>\"}");
	buf_reset(&b);
	db_text_array(&b, ids, 2);
	assert_string_equal(buf_str(&b), "{\"<notification-1@flightops.local>\","
	                                 "\"<notification-22@flightops.local>\"}");
	buf_reset(&b);
	/* quoted, so commas, braces and the word NULL stay text; quotes and
	 * backslashes escaped */
	db_text_array(&b, odd, 6);
	assert_string_equal(buf_str(&b),
	                    "{\"\",\"a,b\",\"say \\\"hi\\\"\",\"back\\\\slash\",\"{x}\",\"NULL\"}");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(subjects),      cmocka_unit_test(ids_and_dates),
	        cmocka_unit_test(header_values), cmocka_unit_test(text_line_ends),
	        cmocka_unit_test(text_folding),  cmocka_unit_test(addresses),
	        cmocka_unit_test(compose),       cmocka_unit_test(compose_other_types),
	        cmocka_unit_test(backoff),       cmocka_unit_test(text_arrays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
