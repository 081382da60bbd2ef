/* message.c - compose the email of a notification. Headers come from
 * constants and checked addresses, and are stripped of control
 * characters anyway; the body is the notification's text between a
 * greeting and a signature, with CRLF line ends. The transfer (envelope,
 * dot-stuffing) is smtp.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "message.h"

#define ADDRESS_MAX 254

static const struct {
	const char *type;
	const char *subject;
} subjects[] = {
        {"booking_confirmation", "Your booking is confirmed"},
        {"booking_cancellation", "Your booking was cancelled"},
        {"payment_failed", "Your payment failed"},
        {"hold_expired", "Your seat hold expired"},
        {"flight_update", "Flight update"},
};

const char *message_subject(const char *type)
{
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
		if (strcmp(type, subjects[i].type) == 0)
			return subjects[i].subject;
	return "FlightOps notification";
}

void message_id(int64_t id, char *out, size_t outlen)
{
	snprintf(out, outlen, "<notification-%" PRId64 "@flightops.local>", id);
}

void message_date(int64_t t, char *out, size_t outlen)
{
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

void message_add_header(struct buf *out, const char *name, const char *value)
{
	buf_adds(out, name);
	buf_adds(out, ": ");
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (!is_control(*p))
			buf_addc(out, (char)*p);
	buf_adds(out, "\r\n");
}

/* Octets of the UTF-8 sequence that starts with c (1 for anything else). */
static size_t char_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

void message_add_text(struct buf *out, const char *text)
{
	size_t col = 0;

	for (const char *p = text; *p;) {
		if (*p == '\r' || *p == '\n') {
			p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
			buf_add(out, "\r\n", 2);
			col = 0;
			continue;
		}
		size_t n = char_len((unsigned char)*p);
		n = strnlen(p, n);
		if (col + n > MESSAGE_LINE_MAX) {
			buf_add(out, "\r\n", 2);
			col = 0;
		}
		buf_add(out, p, n);
		col += n;
		p += n;
	}
}

int message_address_valid(const char *addr)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr);

	if (len == 0 || len > ADDRESS_MAX || at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (is_control(*p) || *p == ' ' || strchr("<>(),;:\"\\", *p))
			return 0;
	return 1;
}

/* One line of data (a name) as text: its line breaks become spaces. */
static void add_line(struct buf *out, const char *s)
{
	struct buf one;

	buf_init(&one);
	for (; *s; s++)
		buf_addc(&one, *s == '\r' || *s == '\n' ? ' ' : *s);
	message_add_text(out, buf_str(&one));
	buf_release(&one);
}

static void add_body(const struct message_input *in, struct buf *out)
{
	const char *name = in->full_name && *in->full_name ? in->full_name : "customer";

	buf_adds(out, "Dear ");
	add_line(out, name);
	buf_adds(out, ",\r\n\r\n");
	message_add_text(out, in->text);
	buf_adds(out, "\r\n\r\n");
	if (strcmp(in->type, "booking_confirmation") == 0) {
		buf_adds(out, "Passenger: ");
		add_line(out, name);
		buf_adds(out, "\r\n\r\n");
	}
	buf_adds(out, "-- FlightOps\r\n");
}

void message_compose(const struct message_input *in, struct buf *out)
{
	char date[40], id[64], from[ADDRESS_MAX + 16];

	message_date(in->date, date, sizeof(date));
	message_id(in->id, id, sizeof(id));
	snprintf(from, sizeof(from), "FlightOps <%s>", in->from);
	message_add_header(out, "Date", date);
	message_add_header(out, "From", from);
	message_add_header(out, "To", in->to);
	message_add_header(out, "Subject", message_subject(in->type));
	message_add_header(out, "Message-ID", id);
	message_add_header(out, "MIME-Version", "1.0");
	message_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	message_add_header(out, "Content-Transfer-Encoding", "8bit");
	message_add_header(out, "Auto-Submitted", "auto-generated");
	buf_adds(out, "\r\n");
	add_body(in, out);
}
