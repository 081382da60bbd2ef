/* idem.c - the Idempotency-Key store and the wrapper that uses it. The
 * request running a key holds a session advisory lock on it for as long
 * as it runs, so two concurrent requests with one key never both run; the
 * lock dies with the request's database session, so a claim left without
 * an answer by a request that died (its child killed, its connection
 * lost) is taken over at once by the next retry, and a claim that aged
 * out (24 h) too. A handler whose change commits records the answer in
 * that same transaction (idem_record), so a committed change can never
 * be left without its answer.
 * Behind a transaction pooler (db_pooled) a session lock would stay on
 * whichever server connection took it, so there the claim itself is the
 * lock: it carries a lease (LEASE, longer than nginx waits for an answer)
 * and a claim left unanswered is taken over once its lease has run out,
 * not at once. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "field.h"
#include "hash.h"
#include "idem.h"
#include "mem.h"
#include "reply.h"
#include "req.h"
#include "worker.h"

enum idem_result {
	IDEM_NEW = 0,   /* go ahead, then finish */
	IDEM_REPLAY,    /* *status and *body (malloc'd) are the first answer */
	IDEM_MISMATCH,  /* the key was used with another request */
	IDEM_IN_FLIGHT, /* the first request is still running */
	IDEM_ERROR,
};

void idem_prune(struct db *db)
{
	PQclear(db_exec(
	        db, "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
	        0, NULL));
}

/* The advisory lock of (user, key): one bigint from both. */
#define KEY_LOCK "hashtextextended('idem:' || $1::bigint || ':' || $2::text, 0)"

/* Take the key's session lock, waiting at most LOCK_WAIT_MS (a killed
 * request's session takes a moment to end; a live one's answer may be
 * ready by then): 1 ours, 0 another live request holds it, -1 error. */
#define LOCK_WAIT_MS 300
static int lock_key(struct db *db, int64_t user_id, const char *key)
{
	struct timespec pause = {0, 25 * 1000000L};

	for (int waited = 0;; waited += 25) {
		PGresult *res = db_query(db, "SELECT pg_try_advisory_lock(" KEY_LOCK ")",
		                         DB_INT(user_id), DB_TEXT(key));
		if (res == NULL)
			return -1;
		int ours = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (ours || waited >= LOCK_WAIT_MS)
			return ours;
		nanosleep(&pause, NULL);
	}
}

/* Let go of the key: every session lock, since a worker serves one
 * request at a time and a lock taken twice (try_lock is reentrant) must
 * not outlive its request. */
static void unlock_key(struct db *db)
{
	PQclear(db_exec(db, "SELECT pg_advisory_unlock_all()", 0, NULL));
}

/* How long a claim behind a pooler stands for its running request: more
 * than nginx's fastcgi_read_timeout (30 s), after which nobody waits. */
#define LEASE "interval '60 seconds'"

/* With the key's lock held (locked), or behind a pooler (leased), claim
 * it; else, or when the claim is not ours, read what it holds. */
static enum idem_result begin(struct db *db, int64_t user_id, const char *key, const char *hash,
                              int locked, int *status, char **body)
{
	int leased = db_pooled(db), claim = locked || leased;
	/* a new key, or one whose first run died unanswered (we hold its
	 * lock, so that run is not running anywhere; or its lease ran out),
	 * or one that aged out */
	/* clang-format off */
	PGresult *res = !claim ? NULL : db_query(db,
		"INSERT INTO idempotency_keys (user_id, key, request_hash, lease_until) "
		"VALUES ($1, $2, $3, now() + " LEASE ") "
		"ON CONFLICT (user_id, key) DO UPDATE "
		"  SET request_hash = EXCLUDED.request_hash, status = NULL, body = NULL, "
		"      created_at = now(), lease_until = EXCLUDED.lease_until "
		"  WHERE idempotency_keys.created_at < now() - interval '24 hours' "
		"     OR (idempotency_keys.status IS NULL "
		"         AND idempotency_keys.request_hash = EXCLUDED.request_hash "
		"         AND (NOT $4::boolean OR idempotency_keys.lease_until < now())) "
		"RETURNING 1",
		DB_INT(user_id), DB_TEXT(key), DB_TEXT(hash), DB_TEXT(leased ? "t" : "f"));
	/* clang-format on */
	if (claim && res == NULL)
		return IDEM_ERROR;
	int fresh = res && PQntuples(res) > 0;
	PQclear(res);
	if (fresh)
		return IDEM_NEW;
	res = db_query(db,
	               "SELECT request_hash, status, body FROM idempotency_keys "
	               "WHERE user_id = $1 AND key = $2",
	               DB_INT(user_id), DB_TEXT(key));
	if (res && PQntuples(res) == 0 && !claim) {
		/* the running request has not written its claim yet */
		PQclear(res);
		return IDEM_IN_FLIGHT;
	}
	if (res == NULL || PQntuples(res) == 0) {
		PQclear(res);
		return IDEM_ERROR;
	}
	enum idem_result r = IDEM_REPLAY;
	if (strcmp(PQgetvalue(res, 0, 0), hash) != 0)
		r = IDEM_MISMATCH;
	else if (PQgetisnull(res, 0, 1))
		r = IDEM_IN_FLIGHT;
	else {
		*status = (int)db_int(res, 0, 1);
		*body = xstrdup(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return r;
}

/* After fn: keep its answer, unless fn already recorded one in its own
 * transaction (that one committed with the change and wins). */
static void finish(struct db *db, int64_t user_id, const char *key, int status, const char *body)
{
	if (status >= 500)
		PQclear(db_query(db,
		                 "DELETE FROM idempotency_keys "
		                 "WHERE user_id = $1 AND key = $2 AND status IS NULL",
		                 DB_INT(user_id), DB_TEXT(key)));
	else
		PQclear(db_query(db,
		                 "UPDATE idempotency_keys SET status = $3, body = $4 "
		                 "WHERE user_id = $1 AND key = $2 AND status IS NULL",
		                 DB_INT(user_id), DB_TEXT(key), DB_INT(status), DB_TEXT(body)));
}

/* The hash of the request idem_run is running (workers serve one request
 * at a time), for idem_record. */
static const char *running_hash;

int idem_record(struct db *db, const struct req *r, int status, const char *body)
{
	if (*r->idempotency_key == '\0' || running_hash == NULL)
		return 0;
	/* an upsert: the claim may have been taken from under a request that
	 * lost its connection; the change committing here owns the key */
	/* clang-format off */
	PGresult *res = db_query(db,
		"INSERT INTO idempotency_keys (user_id, key, request_hash, status, body) "
		"VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT (user_id, key) DO UPDATE "
		"  SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, "
		"      body = EXCLUDED.body",
		DB_INT(r->user.uid), DB_TEXT(r->idempotency_key), DB_TEXT(running_hash),
		DB_INT(status), DB_TEXT(body));
	/* clang-format on */
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

void idem_hash(const void *data, size_t len, char *out, size_t outlen)
{
	snprintf(out, outlen, "%016" PRIx64 ":%zu", hash_bytes(HASH_SEED, data, len), len);
}

static int key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > 255)
		return 0;
	for (; *k; k++)
		if (*k < 0x21 || *k > 0x7e)
			return 0;
	return 1;
}

static void key_invalid(struct req *r)
{
	struct field_errors e;

	field_errors_init(&e);
	field_error_add(&e, "header", "Idempotency-Key",
	                "must be 1 to 255 printable ASCII characters", "value_error");
	reply_invalid(r, &e);
}

void idem_run(struct req *r, const char *hash, void (*fn)(struct req *r))
{
	struct db *db = r->w->db;
	int64_t uid = r->user.uid;
	char *body = NULL;
	int status = 0;

	if (*r->idempotency_key == '\0') {
		fn(r);
		return;
	}
	if (!key_ok(r->idempotency_key)) {
		key_invalid(r);
		return;
	}
	int locked = db_pooled(db) ? 0 : lock_key(db, uid, r->idempotency_key);
	if (locked < 0) {
		reply_error(r, 503, REPLY_DB_DOWN);
		return;
	}
	switch (begin(db, uid, r->idempotency_key, hash, locked, &status, &body)) {
	case IDEM_NEW:
		running_hash = hash;
		fn(r);
		running_hash = NULL;
		finish(db, uid, r->idempotency_key, r->status ? r->status : 500, buf_str(&r->out));
		break;
	case IDEM_REPLAY:
		reply_raw(r, status, "application/json", body, strlen(body));
		reply_header(r, "Idempotent-Replayed", "true");
		break;
	case IDEM_MISMATCH:
		reply_error(r, 422, "Idempotency-Key was already used with a different request");
		break;
	case IDEM_IN_FLIGHT:
		reply_error(r, 409, "A request with this Idempotency-Key is still being processed");
		break;
	default:
		reply_error(r, 503, REPLY_DB_DOWN);
	}
	if (locked)
		unlock_key(db);
	free(body);
}
