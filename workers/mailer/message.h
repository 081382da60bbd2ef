/* message.h - the email of a notification as RFC 5322 text: the headers
 * (Date, From, To, Subject, Message-ID, MIME) and a plain-text UTF-8 body,
 * every line ended by CRLF and at most 998 octets. Pure: no I/O. Header
 * values never carry a CR or LF taken from data. */
#ifndef MAILER_MESSAGE_H
#define MAILER_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MESSAGE_LINE_MAX 998 /* octets per line, CRLF excluded (RFC 5322 2.1.1) */

struct message_input {
	int64_t id;            /* notification id: names the Message-ID */
	const char *type;      /* notification type: picks the Subject */
	const char *from;      /* bare sender address (SMTP_FROM) */
	const char *to;        /* bare recipient address */
	const char *full_name; /* the recipient's name, "" when unknown */
	const char *text;      /* the notification message */
	int64_t date;          /* Unix seconds, for the Date header */
};

/* The Subject of a notification type; "FlightOps notification" for
 * custom and anything unknown. A constant string. */
const char *message_subject(const char *type);
/* "<notification-<id>@flightops.local>" into out (size >= 64): the same
 * for every attempt, so a resend after a crash is recognisably a copy. */
void message_id(int64_t id, char *out, size_t outlen);
/* An RFC 5322 date in UTC, "Tue, 01 Dec 2026 10:00:00 +0000", into out
 * (size >= 32). */
void message_date(int64_t t, char *out, size_t outlen);
/* Append "Name: value\r\n" with every control character (CR and LF
 * included) removed from value. */
void message_add_header(struct buf *out, const char *name, const char *value);
/* Append text with its line ends (CRLF, LF or CR) made CRLF and lines
 * longer than MESSAGE_LINE_MAX octets broken between characters. */
void message_add_text(struct buf *out, const char *text);
/* 1 when addr can be used as a bare address in a header and in RCPT TO:
 * one '@' with text on both sides, no control characters, spaces, or
 * any of <>(),;:"\ and at most 254 octets. Else 0. */
int message_address_valid(const char *addr);
/* Append the whole message of in to out. */
void message_compose(const struct message_input *in, struct buf *out);

#endif
