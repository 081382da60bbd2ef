/* event.h - the notification request other services send, owned by the
 * notifications service: POST /notifications with the service credential
 * and {"event_id", "type", "user_id", "booking_id", "data": {...}}. The
 * words of the e-mail are the notifications service's templates
 * (template.h): a sender gives only the facts, as display text, under the
 * keys of its type:
 *   booking_confirmation  reference flight origin destination departure seat total
 *                         [passengers: "Ada Lovelace, seat 12A (business); ..." when
 *                         the booking has more than one; else absent or null]
 *   booking_cancellation  reference seat flight [refund: "yes" when paid]
 *   hold_expired          reference seat flight
 * (seat: every seat of the booking, "12A, 12B", for the last two)
 *   payment_failed        booking amount
 * A sender writes the event with NOTIFICATION_EVENT_SQL (in the statement
 * of the change it announces); the handler reads it with the same names. */
#ifndef NOTIFICATIONS_EVENT_H
#define NOTIFICATIONS_EVENT_H

#include "outbox.h"

#define NOTIFICATION_PEER "notifications"
#define NOTIFICATION_PATH "/notifications"

/* Queue, for each row of from, the notification of type (a bare word)
 * for user_id and booking_id (SQL expressions), event_id (an SQL text
 * expression, unique per event), data a json_build_object(...) of the
 * type's keys, under request_id (SQL text: the request the change is
 * part of; the notification and its mail keep it). */
#define NOTIFICATION_EVENT_SQL(event_id, type, user_id, booking_id, data, request_id, from)        \
	NOTIFICATION_EVENT_SQL_AT("0", event_id, type, user_id, booking_id, data, request_id, from)
/* The same at an outbox priority (OUTBOX_BULK for notices that can wait
 * behind confirmations: a hold's expiry). */
#define NOTIFICATION_EVENT_SQL_AT(priority, event_id, type, user_id, booking_id, data, request_id, \
                                  from)                                                            \
	OUTBOX_INSERT_SELECT_AT(                                                                   \
	        priority, event_id, "'" NOTIFICATION_PEER "'", "'" NOTIFICATION_PATH "'",          \
	        "json_build_object('event_id', " event_id ", 'type', '" type                       \
	        "', 'user_id', " user_id ", 'booking_id', " booking_id ", 'data', " data ")",      \
	        request_id, from)

#endif
