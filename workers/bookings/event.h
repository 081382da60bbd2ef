/* event.h - the confirmation other services send to bookings, owned by
 * the bookings service: POST /internal/bookings/{id}/confirm with the
 * service credential and {"payment_id", "event_id"}. The payments service
 * writes it with BOOKING_CONFIRM_EVENT_SQL; the handler reads the member
 * BOOKING_CONFIRM_PAYMENT. */
#ifndef BOOKINGS_EVENT_H
#define BOOKINGS_EVENT_H

#include "outbox.h"

#define BOOKING_PEER            "bookings"
#define BOOKING_CONFIRM_PAYMENT "payment_id"
#define BOOKING_CONFIRM_SUFFIX  "/confirm"

/* Queue, for each row of from, the confirmation of booking_id by
 * payment_id (SQL expressions), as event event_id (SQL text), under
 * request_id (SQL text: the payment's request). */
#define BOOKING_CONFIRM_EVENT_SQL(event_id, booking_id, payment_id, request_id, from)              \
	OUTBOX_INSERT_SELECT(event_id, "'" BOOKING_PEER "'",                                       \
	                     "'/internal/bookings/' || " booking_id " || '" BOOKING_CONFIRM_SUFFIX \
	                     "'",                                                                  \
	                     "json_build_object('" BOOKING_CONFIRM_PAYMENT "', " payment_id        \
	                     ", 'event_id', " event_id ")",                                        \
	                     request_id, from)

#endif
