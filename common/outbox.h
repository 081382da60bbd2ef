/* outbox.h - messages to other services, written in the same transaction
 * as the state change that causes them and delivered by the service's
 * tick child until the receiver answers; receivers are idempotent by the
 * event id, so a message is delivered at least once and acted on once.
 * This module owns the outbox row: its table (sql/shared/outbox/, used by
 * every database that sends, as the service's `schemas` say) and the two
 * ways to write one (outbox_add, OUTBOX_INSERT_SELECT). What a payload
 * holds is owned by its receiver (workers/<receiver>/event.h). */
#ifndef FO_OUTBOX_H
#define FO_OUTBOX_H

#include "buf.h"

struct db;
struct worker;

/* Queue a POST of json (a JSON object) to path on peer (a name the
 * service declared in its peers). Run it inside the caller's
 * transaction. event_id names the event ("confirm-42"): queuing the same
 * event twice is a no-op. request_id is the id of the request that
 * started the flow (NULL or "": none): the relay logs and sends it. 0 or -1. */
int outbox_add(struct db *db, const char *event_id, const char *peer, const char *path,
               const char *json, const char *request_id);

/* The SQL that queues one event per row of a CTE, so that the state
 * change and its events are one statement: every argument is an SQL
 * expression over the CTE named in from (peer a quoted literal,
 * payload a json value, request_id the text id of the request that
 * started the flow, or NULL).
 *   "WITH c AS (UPDATE ... RETURNING *) "
 *   OUTBOX_INSERT_SELECT("'confirm-' || c.id", "'bookings'", "'/x'", "json_build_object(...)",
 *                        "c.request_id", "c")
 */
#define OUTBOX_INSERT_SELECT(event_id, peer, path, payload, request_id, from)                      \
	OUTBOX_INSERT_SELECT_AT("0", event_id, peer, path, payload, request_id, from)
/* The same for events that can wait behind the others (OUTBOX_BULK: a
 * hold's expiry notice); the relay sends priority 0 first. */
#define OUTBOX_BULK "1"
#define OUTBOX_INSERT_SELECT_AT(priority, event_id, peer, path, payload, request_id, from)         \
	"INSERT INTO outbox (event_id, service, path, payload, request_id, priority) "             \
	"SELECT " event_id ", " peer ", " path ", (" payload ")::text, nullif(" request_id         \
	", ''), " priority " FROM " from " ON CONFLICT (event_id) DO NOTHING"

/* What the sender makes of an answer: OUTBOX_DONE to stop delivering,
 * OUTBOX_RETRY to try again later (with back-off). */
enum outbox_verdict { OUTBOX_DONE, OUTBOX_RETRY };

/* Decide on an answer; status is 0 when nothing answered. NULL uses
 * outbox_default_verdict. */
typedef enum outbox_verdict (*outbox_judge)(struct worker *w, const char *event_id,
                                            const char *path, int status, const struct buf *body);
/* 2xx and 4xx other than 408/429 are final; anything else is retried. */
enum outbox_verdict outbox_default_verdict(int status);

/* Deliver due events, priority 0 first, limit a claim (claimed with a
 * lease, so several relays never send the same one at once), claiming
 * again while a claim comes back full, for at most half a second; the
 * number finished (delivered, or refused for good), or -1 when the
 * database is unreachable. Each event is sent and logged under its request id (its
 * event id when it has none); for background loops, outside a request:
 * the log's request id is cleared afterwards. */
int outbox_relay(struct worker *w, int limit, outbox_judge judge);
/* Seconds before attempt n + 1 of an event: 1, 2, 4 ... capped at 60. */
int outbox_backoff(int attempts);

/* The outbox backlog as gauges, for a service's `gauges` hook: append
 * outbox_undelivered (events not yet delivered nor refused for good) and
 * outbox_oldest_undelivered_seconds (age of the oldest of them, 0 when
 * none) to out. 0, or -1 with nothing appended when the database cannot
 * answer. */
int outbox_gauges(struct worker *w, struct buf *out);

#endif
