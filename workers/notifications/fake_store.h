/* fake_store.h - the notifications store (store.h) in memory, for the
 * handler tests: a table of notifications the test fills and inspects,
 * and failures it can ask for. Test code only; linked instead of
 * store.c. */
#ifndef NOTIFICATIONS_FAKE_STORE_H
#define NOTIFICATIONS_FAKE_STORE_H

#include <stdint.h>

#include "fake_ops.h"
#include "store.h"

/* Ids store_notification_create gives start here, above seeded ones. */
#define FAKE_FIRST_ID 100
/* created_at of every notification store_notification_create adds. */
#define FAKE_NOW "2026-12-01T09:00:00Z"
/* The age store_mail_backlog gives the oldest queued notification. */
#define FAKE_OLDEST_SECONDS 42.5

/* Empty the table, forget failures and calls; the next id
 * is FAKE_FIRST_ID. */
void fake_store_reset(void);
/* Put n in the table as it is (replacing a notification with its id),
 * stored under event_key (NULL: none). */
void fake_notification_put(const struct notification *n, const char *event_key);
/* The stored notification id, or NULL when there is none. */
const struct notification *fake_notification(int64_t id);
/* The event key notification id was stored under ("" when none). */
const char *fake_event_key(int64_t id);
/* fake_store_fail, fake_store_fail_next and fake_store_calls (fake_ops.h)
 * name the store functions "create", "get", "list" and "backlog". */

#endif
