/* store.h - the notifications table as the mailer sees it: claim due
 * rows under a lease, then mark each one sent, retried or failed; and a
 * connection that LISTENs for mail_queued so new work wakes the mailer at
 * once. Knows SQL, not SMTP. */
#ifndef MAILER_STORE_H
#define MAILER_STORE_H

#include <stdint.h>

#include "store_status.h"

#define STORE_TEXT_MAX 2000 /* the notifications pool's message limit */

struct buf;
struct db;

struct mail_job {
	int64_t id;
	int64_t user_id;
	int64_t booking_id; /* 0 = none */
	char type[24];
	char message[STORE_TEXT_MAX + 1];
	int attempts;        /* including this one */
	int priority;        /* 0: a traveller waits for it; 1: bulk (003_priority.sql) */
	char request_id[72]; /* of the request that queued it; "" = unknown */
};

/* Claim up to limit queued rows that are due and not leased, the most
 * urgent first (priority, then id): lease them for lease_seconds and
 * count the attempt, in one statement (FOR UPDATE SKIP LOCKED, so
 * mailers never share a row). *out (malloc'd, to free) holds *n of them
 * in (priority, id) order. STORE_OK or STORE_ERROR. */
enum store_status store_claim(struct db *db, int limit, int lease_seconds, struct mail_job **out,
                              int *n);
/* Mark n claimed rows sent now, ids[i] with message_ids[i], and end
 * their leases, in one statement (one commit for a group of mails).
 * STORE_OK (also for rows no longer queued) or STORE_ERROR. */
enum store_status store_mark_sent(struct db *db, const int64_t *ids, const char *const *message_ids,
                                  int n);
/* End the lease and try again in delay_seconds, noting error. */
enum store_status store_mark_retry(struct db *db, int64_t id, int delay_seconds, const char *error);
/* Give up on a row: status failed, lease ended, error noted. */
enum store_status store_mark_failed(struct db *db, int64_t id, const char *error);
/* Hand a claimed row back untried: lease ended, the attempt uncounted. */
enum store_status store_release(struct db *db, int64_t id);

struct store_listener;

/* A LISTEN mail_queued connection to url (connects lazily; NULL: none, poll). */
struct store_listener *store_listener_new(const char *url, int timeout_ms);
void store_listener_free(struct store_listener *l);
/* Connect and LISTEN if not yet done, and drop the wake-ups already
 * received (the caller is about to look for work anyway). 0, or -1 when
 * there is no connection (logged once per outage). */
int store_listener_ready(struct store_listener *l);
/* Wait up to timeout_ms for a NOTIFY. 1 when one arrived; 0 on timeout,
 * on a signal, or with no connection (then after sleeping timeout_ms, so
 * the caller falls back to polling). A broken connection is dropped. */
int store_listener_wait(struct store_listener *l, int timeout_ms);

#endif
