/* store.h - the notifications table as the notifications pool sees it:
 * create (idempotent by event key, waking the mailer), read and list.
 * Knows SQL, not HTTP. */
#ifndef NOTIFICATIONS_STORE_H
#define NOTIFICATIONS_STORE_H

#include <stdint.h>

#include "notifications.h"
#include "store_status.h"

struct db;

struct notification {
	int64_t id;
	int64_t user_id;
	int64_t booking_id; /* 0 = none */
	char type[24];
	char message[NOTIFICATIONS_MESSAGE_MAX + 1];
	char status[8];
	char created_at[24];
	char sent_at[24];    /* "" = not sent */
	char request_id[72]; /* create only: the request that queued it ("" = none) */
};

/* Insert n (user_id, booking_id, type, message) as queued and NOTIFY
 * mail_queued in the same statement. With event_key (NULL = none) a row
 * already stored under that key is returned instead, with *created = 0.
 * STORE_OK with out, or STORE_ERROR. */
enum store_status store_notification_create(struct db *db, const struct notification *n,
                                            const char *event_key, struct notification *out,
                                            int *created);
/* Notification id, if owner is 0 or its user_id: STORE_OK / NOT_FOUND / ERROR. */
enum store_status store_notification_get(struct db *db, int64_t id, int64_t owner,
                                         struct notification *out);

struct notification_filter {
	int64_t user_id;    /* 0 = any */
	const char *type;   /* NULL = any */
	const char *status; /* NULL = any */
	int64_t limit, offset;
};
/* Up to f->limit notifications (newest first) into *out (malloc'd, to
 * free), *n of them, *total matching. STORE_OK or STORE_ERROR. */
enum store_status store_notification_list(struct db *db, const struct notification_filter *f,
                                          struct notification **out, int *n, int64_t *total);

/* The mail queue, for /metrics: *queued notifications (due, leased or
 * waiting for a retry) and the age in seconds of the oldest (0 when
 * none). STORE_OK or STORE_ERROR. */
enum store_status store_mail_backlog(struct db *db, int64_t *queued, double *oldest_seconds);

#endif
