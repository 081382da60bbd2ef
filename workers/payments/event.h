/* event.h - the refund request other services send to payments, owned
 * by the payments service: POST /internal/payments/refund with the
 * service credential and {"booking_id", "event_id"}. The bookings service
 * writes it with PAYMENT_REFUND_EVENT_SQL; the handler reads the member
 * PAYMENT_REFUND_BOOKING. */
#ifndef PAYMENTS_EVENT_H
#define PAYMENTS_EVENT_H

#include "outbox.h"

#define PAYMENT_PEER           "payments"
#define PAYMENT_REFUND_PATH    "/internal/payments/refund"
#define PAYMENT_REFUND_BOOKING "booking_id"

/* Queue, for each row of from, the refund of booking_id (SQL
 * expression) as event event_id (SQL text), under request_id (SQL text:
 * the request that cancelled the booking). */
#define PAYMENT_REFUND_EVENT_SQL(event_id, booking_id, request_id, from)                           \
	OUTBOX_INSERT_SELECT(event_id, "'" PAYMENT_PEER "'", "'" PAYMENT_REFUND_PATH "'",          \
	                     "json_build_object('" PAYMENT_REFUND_BOOKING "', " booking_id         \
	                     ", 'event_id', " event_id ")",                                        \
	                     request_id, from)

#endif
