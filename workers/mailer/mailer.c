/* mailer.c - the mailer's tick: claim due notifications under a lease,
 * the most urgent first, find each recipient (Redis user:<id>, else the
 * users pool; once per user per batch), send them one after another over
 * one kept SMTP connection, and record bulk mail sent a small group at a
 * time (one commit per group instead of one per mail); then claim again
 * at once while batches come back full, else wait for NOTIFY mail_queued
 * or the poll interval. Delivery is at least once: a mail is marked sent
 * only after the server accepted it, and a process killed before its
 * group was recorded sends that group again (at most MARK_GROUP bulk
 * mails, or one urgent one) when the lease ends, under the same
 * Message-IDs. */
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "buf.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "mailer.h"
#include "mem.h"
#include "message.h"
#include "metrics.h"
#include "peer.h"
#include "smtp.h"
#include "store.h"
#include "worker.h"

/* A batch: a confirmation queued behind bulk mail waits at most for the
 * batch being sent (100 mails, a fraction of a second at the sink's pace)
 * before the next claim takes it first. */
#define CLAIM_MAX 100
/* Bulk mail is recorded sent in groups, one commit each instead of one
 * per mail: a group is recorded when it holds MARK_GROUP mails, before
 * the next send once its first is MARK_DELAY_MS old, and at the end of a
 * batch. A mail a traveller waits for (priority 0) is recorded right
 * after its send, with the group before it: those are few, and a second
 * copy of a confirmation is the duplicate that matters. So a crash sends
 * again at most one urgent mail, or at most MARK_GROUP bulk ones. */
#define MARK_GROUP      25
#define MARK_DELAY_MS   50
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

/* ---- a batch: its recipients, and the sent mails not yet recorded ---- */

struct known {
	int64_t user_id;
	enum lookup found;
	struct recipient to;
	char err[ERROR_MAX];
};

struct pending {
	const struct mail_job *job;
	const char *to; /* in the batch's known recipients */
	char message_id[64];
};

struct batch {
	long long claimed;
	struct known users[CLAIM_MAX];
	int nusers;
	struct pending sent[MARK_GROUP];
	int nsent;
	long long first_sent; /* when sent[0] was accepted */
};

/* The recipient of j, asked for once per user per batch: a bulk of mail
 * to one user costs one lookup per batch, not one per mail. */
static const struct known *recipient_of(struct worker *w, struct batch *b, const struct mail_job *j)
{
	for (int i = 0; i < b->nusers; i++)
		if (b->users[i].user_id == j->user_id)
			return &b->users[i];
	struct known *k = &b->users[b->nusers++]; /* at most one per claimed row */
	k->user_id = j->user_id;
	k->err[0] = '\0';
	k->found = recipient_get(w, j, &k->to, k->err, sizeof(k->err));
	return k;
}

/* ---- outcomes ---- */

/* Record the group of sent mails in one statement, then count and log
 * each under its own request id (then logging goes on under resume):
 * 0, or -1 when the database could not be told (the batch stops; the
 * group keeps its lease and is sent again when it ends). */
static int flush_sent(struct worker *w, struct batch *b, const char *resume)
{
	int64_t ids[MARK_GROUP];
	const char *mids[MARK_GROUP];
	long long deadline = b->claimed + MARK_BUDGET_MS;
	enum store_status st;
	char id[24];

	if (b->nsent == 0)
		return 0;
	for (int i = 0; i < b->nsent; i++) {
		ids[i] = b->sent[i].job->id;
		mids[i] = b->sent[i].message_id;
	}
	while ((st = store_mark_sent(w->db, ids, mids, b->nsent)) != STORE_OK &&
	       clock_ms() < deadline)
		sleep_ms(MARK_PAUSE_MS);
	for (int i = 0; i < b->nsent; i++) {
		const struct pending *p = &b->sent[i];

		snprintf(id, sizeof(id), "%" PRId64, p->job->id);
		log_set_request_id(p->job->request_id);
		if (st != STORE_OK) {
			log_error("cannot record a sent mail; it will be sent again", "id", id);
		} else {
			count(w, p->job->type, "sent");
			log_info("mail sent", "id", id, "to", p->to, "message_id", p->message_id);
		}
	}
	log_set_request_id(resume);
	b->nsent = 0;
	return st == STORE_OK ? 0 : -1;
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

/* Send one mail; once accepted it joins the group to record (recorded
 * at once for an urgent one). A group that is old already is recorded
 * first, so a slow send (up to SMTP_TIMEOUT_MS) does not hold it
 * unrecorded. */
static int send_one(struct worker *w, struct batch *b, const struct mail_job *j,
                    const struct recipient *to)
{
	struct message_input in = {j->id,         j->type,    settings(w)->smtp_from, to->email,
	                           to->full_name, j->message, (int64_t)time(NULL)};
	char err[ERROR_MAX];
	struct buf msg;

	if (b->nsent > 0 && clock_ms() - b->first_sent >= MARK_DELAY_MS &&
	    flush_sent(w, b, j->request_id) < 0)
		return -1;
	buf_init(&msg);
	message_compose(&in, &msg);
	int rc = smtp_send(settings(w), to->email, msg.data, msg.len, SMTP_TIMEOUT_MS, err,
	                   sizeof(err));
	buf_release(&msg);
	if (rc < 0)
		return mark_unsent(w, j, err, rc == -2);
	struct pending *p = &b->sent[b->nsent];
	p->job = j;
	p->to = to->email;
	message_id(j->id, p->message_id, sizeof(p->message_id));
	if (b->nsent++ == 0)
		b->first_sent = clock_ms();
	if (b->nsent == MARK_GROUP || j->priority == 0)
		return flush_sent(w, b, j->request_id);
	return 0;
}

static int deliver_one(struct worker *w, struct batch *b, const struct mail_job *j)
{
	/* attempts that never came back (a crash while sending this row) */
	if (j->attempts > settings(w)->mail_max_attempts)
		return mark_unsent(w, j, "gave up: earlier attempts never finished", 1);
	const struct known *k = recipient_of(w, b, j);
	if (k->found != LOOKUP_OK)
		return mark_unsent(w, j, k->err, k->found == LOOKUP_GONE);
	return send_one(w, b, j, &k->to);
}

/* Send one claimed row and record the outcome, logging under the id of
 * the request that queued it: 0, or -1 to stop. */
static int deliver(struct worker *w, struct batch *b, const struct mail_job *j)
{
	log_set_request_id(j->request_id);
	int rc = deliver_one(w, b, j);
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
	struct batch *b = xcalloc(1, sizeof(*b));
	b->claimed = clock_ms();
	for (; i < n && ok && clock_ms() - b->claimed < BATCH_BUDGET_MS; i++)
		ok = deliver(w, b, &jobs[i]) == 0;
	/* even after a failure: what the server accepted is recorded if the
	 * database lets us, rather than sent again */
	if (flush_sent(w, b, NULL) < 0)
		ok = 0;
	for (; ok && i < n; i++)
		store_release(w->db, jobs[i].id);
	free(b);
	free(jobs);
	return n;
}

/* SIGTERM and SIGINT stay blocked while the tick runs (prefork delivers
 * them between ticks): one pending means the pool is stopping. */
static int stop_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 &&
	       (sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1);
}

void mailer_tick(struct worker *w)
{
	static struct store_listener *listener;

	/* LISTEN needs a session of its own: through a transaction pooler it
	 * would land on a server connection that others then use */
	if (listener == NULL)
		listener = store_listener_new(settings(w)->listen_url ? settings(w)->listen_url
		                              : w->conf->db_pooler    ? NULL
		                                                      : w->conf->database_url,
		                              w->conf->db_timeout_ms);
	/* listen before claiming, so work queued meanwhile still wakes us */
	store_listener_ready(listener);
	int n;
	/* a full batch: more may be due, so claim again at once (not after
	 * tick_ms: 100 ms between batches was most of a bulk's time) */
	while ((n = send_due(w)) == CLAIM_MAX && !stop_pending())
		store_listener_ready(listener);
	if (n == CLAIM_MAX)
		return;
	store_listener_wait(listener, settings(w)->poll_ms);
}
