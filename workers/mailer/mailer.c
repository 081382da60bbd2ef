/* mailer.c - the mailer's tick: claim due notifications under a lease,
 * find each recipient (Redis user:<id>, else the users pool), send, and
 * record each outcome right after its send; then wait for NOTIFY
 * mail_queued or the poll interval. Delivery is at least once: a process
 * killed between the server's acceptance and the mark sends that one
 * message again when the lease ends, under the same Message-ID. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "mailer.h"
#include "message.h"
#include "metrics.h"
#include "peer.h"
#include "smtp.h"
#include "store.h"
#include "worker.h"

#define CLAIM_MAX       20
#define LEASE_SECONDS   60
#define BATCH_BUDGET_MS 25000 /* start no send later than this into the lease */
#define MARK_BUDGET_MS  50000 /* keep trying to record a sent mail this long */
#define MARK_PAUSE_MS   200
#define SMTP_TIMEOUT_MS 30000
#define USER_TTL_MS     300000
#define USER_JSON_MAX   4096
#define BACKOFF_MAX     300
#define ERROR_MAX       256

struct recipient {
	char email[256];
	char full_name[512];
	int active; /* the account may still receive mail */
};

enum lookup { LOOKUP_OK, LOOKUP_GONE, LOOKUP_ERROR };

static const struct mailer_settings *settings(const struct worker *w)
{
	return w->settings;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&pause, NULL);
}

int mailer_backoff_seconds(int attempts)
{
	if (attempts < 1)
		return 1;
	if (attempts > 8) /* 2^9 is past the cap already */
		return BACKOFF_MAX;
	return (1 << attempts) < BACKOFF_MAX ? 1 << attempts : BACKOFF_MAX;
}

static void count(struct worker *w, const char *type, const char *status)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "type=\"%s\",status=\"%s\"", type, status);
	metrics_inc(w->metrics, "notifications_total", labels);
}

/* ---- the recipient: Redis user:<id>, else the users pool ---- */

/* The address and name in a user's JSON: 0, or -1 when it has no usable
 * address. */
static int recipient_parse(const char *text, struct recipient *to)
{
	struct json_object *o = json_tokener_parse(text), *v;
	int rc = -1;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "email", &v) || !json_object_is_type(v, json_type_string))
		goto out;
	if ((size_t)snprintf(to->email, sizeof(to->email), "%s", json_object_get_string(v)) >=
	            sizeof(to->email) ||
	    !message_address_valid(to->email))
		goto out;
	to->active = !json_object_object_get_ex(o, "is_active", &v) || json_object_get_boolean(v);
	to->full_name[0] = '\0';
	if (json_object_object_get_ex(o, "full_name", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(to->full_name, sizeof(to->full_name), "%s", json_object_get_string(v));
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static void user_key(char *out, size_t len, int64_t user_id)
{
	snprintf(out, len, "user:%" PRId64, user_id);
}

static int recipient_cached(struct worker *w, int64_t user_id, struct recipient *to)
{
	char key[40], text[USER_JSON_MAX];

	user_key(key, sizeof(key), user_id);
	if (kv_get(w->kv, key, text, sizeof(text)) != 1)
		return -1;
	return recipient_parse(text, to);
}

/* A 404 that is the users pool's own answer, not a routing mistake. */
static int user_unknown(const struct http_response *resp)
{
	struct json_object *o = http_response_json(resp), *v;
	int unknown = o && json_object_object_get_ex(o, "detail", &v) &&
	              json_object_is_type(v, json_type_string) &&
	              strcmp(json_object_get_string(v), "User not found") == 0;

	json_object_put(o);
	return unknown;
}

static enum lookup recipient_fetch(struct worker *w, const struct mail_job *j, struct recipient *to,
                                   char *err, size_t errlen)
{
	struct http_response resp;
	char path[64], key[40], request_id[40];
	enum lookup rc = LOOKUP_ERROR;

	snprintf(path, sizeof(path), "/internal/users/%" PRId64, j->user_id);
	snprintf(request_id, sizeof(request_id), "mail-%" PRId64, j->id);
	if (peer_call(w, "users", "GET", path, *j->request_id ? j->request_id : request_id, NULL,
	              &resp) < 0) {
		snprintf(err, errlen, "users service unavailable");
	} else if (resp.status == 404 && user_unknown(&resp)) {
		snprintf(err, errlen, "user not found");
		rc = LOOKUP_GONE;
	} else if (resp.status != 200) {
		snprintf(err, errlen, "users service answered %d", resp.status);
	} else if (recipient_parse(buf_str(&resp.body), to) < 0) {
		snprintf(err, errlen, "user has no usable email address");
		rc = LOOKUP_GONE;
	} else {
		user_key(key, sizeof(key), j->user_id);
		kv_set(w->kv, key, resp.body.data, resp.body.len, USER_TTL_MS, 0);
		rc = LOOKUP_OK;
	}
	http_response_release(&resp);
	return rc;
}

static enum lookup recipient_get(struct worker *w, const struct mail_job *j, struct recipient *to,
                                 char *err, size_t errlen)
{
	enum lookup rc = recipient_cached(w, j->user_id, to) == 0
	                         ? LOOKUP_OK
	                         : recipient_fetch(w, j, to, err, errlen);

	if (rc == LOOKUP_OK && !to->active) {
		snprintf(err, errlen, "user account is deactivated");
		return LOOKUP_GONE;
	}
	return rc;
}

/* ---- outcomes: each is recorded right after its send ---- */

/* 0, or -1 when the database could not be told (the batch stops). */
static int mark_sent(struct worker *w, const struct mail_job *j, const char *message_id,
                     long long deadline)
{
	char id[24];
	enum store_status st;

	snprintf(id, sizeof(id), "%" PRId64, j->id);
	while ((st = store_mark_sent(w->db, j->id, message_id)) != STORE_OK && now_ms() < deadline)
		sleep_ms(MARK_PAUSE_MS);
	if (st != STORE_OK) {
		log_error("cannot record a sent mail; it will be sent again", "id", id);
		return -1;
	}
	count(w, j->type, "sent");
	return 0;
}

static int mark_unsent(struct worker *w, const struct mail_job *j, const char *error, int permanent)
{
	char id[24], attempt[16], delay_text[16];

	snprintf(id, sizeof(id), "%" PRId64, j->id);
	snprintf(attempt, sizeof(attempt), "%d", j->attempts);
	if (permanent || j->attempts >= settings(w)->mail_max_attempts) {
		if (store_mark_failed(w->db, j->id, error) != STORE_OK)
			return -1;
		count(w, j->type, "failed");
		log_warn("mail failed", "id", id, "attempts", attempt, "error", error);
		return 0;
	}
	int delay = mailer_backoff_seconds(j->attempts);
	if (store_mark_retry(w->db, j->id, delay, error) != STORE_OK)
		return -1;
	snprintf(delay_text, sizeof(delay_text), "%d", delay);
	log_warn("mail not sent; will retry", "id", id, "attempt", attempt, "retry_in_s",
	         delay_text, "error", error);
	return 0;
}

static int send_one(struct worker *w, const struct mail_job *j, const struct recipient *to,
                    long long claimed)
{
	struct message_input in = {j->id,         j->type,    settings(w)->smtp_from, to->email,
	                           to->full_name, j->message, (int64_t)time(NULL)};
	char mid[64], err[ERROR_MAX], id[24];
	struct buf msg;

	buf_init(&msg);
	message_compose(&in, &msg);
	message_id(j->id, mid, sizeof(mid));
	int rc = smtp_send(settings(w), to->email, msg.data, msg.len, SMTP_TIMEOUT_MS, err,
	                   sizeof(err));
	if (rc < 0)
		rc = mark_unsent(w, j, err, rc == -2);
	else if ((rc = mark_sent(w, j, mid, claimed + MARK_BUDGET_MS)) == 0) {
		snprintf(id, sizeof(id), "%" PRId64, j->id);
		log_info("mail sent", "id", id, "to", to->email, "message_id", mid);
	}
	buf_release(&msg);
	return rc;
}

static int deliver_one(struct worker *w, const struct mail_job *j, long long claimed)
{
	struct recipient to;
	char err[ERROR_MAX] = "";

	/* attempts that never came back (a crash while sending this row) */
	if (j->attempts > settings(w)->mail_max_attempts)
		return mark_unsent(w, j, "gave up: earlier attempts never finished", 1);
	enum lookup found = recipient_get(w, j, &to, err, sizeof(err));
	if (found != LOOKUP_OK)
		return mark_unsent(w, j, err, found == LOOKUP_GONE);
	return send_one(w, j, &to, claimed);
}

/* Send one claimed row and record the outcome, logging under the id of
 * the request that queued it: 0, or -1 to stop. */
static int deliver(struct worker *w, const struct mail_job *j, long long claimed)
{
	log_set_request_id(j->request_id);
	int rc = deliver_one(w, j, claimed);
	log_set_request_id(NULL);
	return rc;
}

/* Claim one batch and work through it: the number claimed, or -1. Rows
 * not started inside the budget are handed back untried; after a
 * database failure the rest keep their lease and come back when it ends. */
static int send_due(struct worker *w)
{
	struct mail_job *jobs = NULL;
	int n = 0, i = 0, ok = 1;

	if (store_claim(w->db, CLAIM_MAX, LEASE_SECONDS, &jobs, &n) != STORE_OK)
		return -1;
	long long claimed = now_ms();
	for (; i < n && ok && now_ms() - claimed < BATCH_BUDGET_MS; i++)
		ok = deliver(w, &jobs[i], claimed) == 0;
	for (; ok && i < n; i++)
		store_release(w->db, jobs[i].id);
	free(jobs);
	return n;
}

void mailer_tick(struct worker *w)
{
	static struct store_listener *listener;

	if (listener == NULL)
		listener = store_listener_new(w->conf->database_url, w->conf->db_timeout_ms);
	/* listen before claiming, so work queued meanwhile still wakes us */
	store_listener_ready(listener);
	if (send_due(w) == CLAIM_MAX)
		return; /* more may be due: claim again after tick_ms */
	store_listener_wait(listener, settings(w)->poll_ms);
}
