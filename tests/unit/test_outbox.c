/* test_outbox.c - outbox.h against a real PostgreSQL (tests/unit/pg.sh)
 * and the peer stub: an event is queued once, delivered to a declared
 * peer with the service credential, retried with back-off on 5xx, 408,
 * 429 or no answer, finished by other 4xx, never claimed twice under a
 * live lease, claimed again after one expires, kept when its peer is not
 * declared, and judged by the sender's function when it has one; and
 * the backlog gauges (outbox_gauges). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "harness.h"
#include "log.h"
#include "outbox.h"
#include "stub.h"
#include "worker.h"

#define KEY "fedcba9876543210fedcba9876543210K"

static const struct stub_route routes[] = {
        {"POST", "/ok", 200, "{\"ok\": true}", 0},
        {"POST", "/down", 503, "{\"detail\": \"down\"}", 0},
        {"POST", "/busy", 429, "{\"detail\": \"slow down\"}", 0},
        {"POST", "/timeout", 408, NULL, 0},
        {"POST", "/bad", 422, "{\"detail\": \"no such booking\"}", 0},
        {"POST", "/slow", 200, "{}", 600},
        {NULL, NULL, 0, NULL, 0},
};

static const char *url_file;
static char key[] = KEY;
static char peer_url[64];
static char *peer_urls[] = {peer_url, NULL};
static const struct conf_peer peers[] = {
        {"flights", "FLIGHTS_URL", "http://127.0.0.1:1"},
        {NULL, NULL, NULL},
};
static struct conf conf;
static struct worker w;  /* the relay under test */
static struct worker w2; /* a second relay, its own connection */

static int setup_group(void **state)
{
	(void)state;
	harness_log_quiet(LOG_LVL_ERROR);
	conf.service_key = key;
	conf.service_timeout_ms = 3000;
	conf.peers = peers;
	conf.peer_urls = peer_urls;
	snprintf(peer_url, sizeof(peer_url), "http://127.0.0.1:%d", stub_start(routes));
	w.conf = w2.conf = &conf;
	w.db = harness_pg_connect(url_file, 3000, FO_SOURCE_DIR "/sql/shared/outbox");
	w2.db = harness_pg_connect(url_file, 3000, NULL);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	stub_stop();
	db_free(w.db);
	db_free(w2.db);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(db_run(w.db, "TRUNCATE outbox"), 0);
	conf.service_timeout_ms = 3000;
	return 0;
}

/* Queue a POST of json to path on the stub's peer. */
static void add(const char *event_id, const char *path, const char *json)
{
	assert_int_equal(outbox_add(w.db, event_id, "flights", path, json, NULL), 0);
}

static int64_t count_rows(void)
{
	return harness_pg_count(w.db, "SELECT count(*) FROM outbox");
}

/* An event's row as the relay left it. */
struct row {
	int64_t attempts;
	int64_t last_status; /* -1: NULL */
	int64_t leased;
	int64_t delivered;
	int64_t due_in_ms; /* next_attempt_at - now() */
	char payload[256];
};

static void get_row(const char *event_id, struct row *r)
{
	/* clang-format off */
	PGresult *res = db_query(w.db,
		"SELECT attempts, coalesce(last_status, -1), "
		"       (lease_until IS NOT NULL)::int, (delivered_at IS NOT NULL)::int, "
		"       (extract(epoch FROM next_attempt_at - now()) * 1000)::bigint, payload "
		"FROM outbox "
		"WHERE event_id = $1",
		DB_TEXT(event_id));
	/* clang-format on */
	assert_non_null(res);
	assert_int_equal(PQntuples(res), 1);
	struct db_row c = DB_ROW(res, 0);
	r->attempts = db_next_int(&c);
	r->last_status = db_next_int(&c);
	r->leased = db_next_int(&c);
	r->delivered = db_next_int(&c);
	r->due_in_ms = db_next_int(&c);
	DB_NEXT_TEXT(&c, r->payload);
	PQclear(res);
}

/* The row was tried attempts times, got status, is not leased and is
 * delivered or not; into r. */
static void expect_row(const char *event_id, int attempts, int status, int delivered, struct row *r)
{
	get_row(event_id, r);
	assert_int_equal(r->attempts, attempts);
	assert_int_equal(r->last_status, status);
	assert_int_equal(r->leased, 0);
	assert_int_equal(r->delivered, delivered);
}

/* The row was tried attempts times, got status and waits its back-off. */
static void expect_retry(const char *event_id, int attempts, int status)
{
	struct row r;

	expect_row(event_id, attempts, status, 0, &r);
	int64_t wait = outbox_backoff(attempts) * 1000;
	if (r.due_in_ms > wait || r.due_in_ms < wait - 1000)
		fail_msg("%s: next attempt in %lld ms, want about %lld", event_id,
		         (long long)r.due_in_ms, (long long)wait);
}

static void expect_done(const char *event_id, int attempts, int status)
{
	struct row r;

	expect_row(event_id, attempts, status, 1, &r);
}

static void make_due(void)
{
	assert_int_equal(db_run(w.db, "UPDATE outbox SET next_attempt_at = now()"), 0);
}

static void test_add_once(void **state)
{
	(void)state;
	add("confirm-1", "/ok", "{\"id\": 1}");
	add("confirm-1", "/ok", "{\"id\": 2}");
	assert_int_equal(count_rows(), 1);
	struct row r;
	get_row("confirm-1", &r);
	assert_string_equal(r.payload, "{\"id\": 1}");
	assert_int_equal(r.attempts, 0);
	assert_int_equal(r.delivered, 0);
	/* the same through the SQL macro, from a CTE */
	for (int i = 0; i < 2; i++) {
		/* clang-format off */
		PGresult *res = db_query(w.db,
			"WITH c AS (SELECT $1::bigint AS id) "
			OUTBOX_INSERT_SELECT("'refund-' || c.id", "'flights'", "'/ok'",
			                     "json_build_object('booking_id', c.id)", "'req-7'", "c"),
			DB_INT(7));
		/* clang-format on */
		assert_int_equal(db_do(res), STORE_OK);
	}
	assert_int_equal(count_rows(), 2);
	get_row("refund-7", &r);
	assert_string_equal(r.payload, "{\"booking_id\" : 7}");
	assert_int_equal(harness_pg_count(w.db,
	                                  "SELECT count(*) FROM outbox "
	                                  "WHERE event_id = 'refund-7' AND request_id = 'req-7'"),
	                 1);
}

static void test_deliver(void **state)
{
	(void)state;
	int before = stub_count();
	add("confirm-2", "/ok", "{\"booking_id\": 2}");
	assert_int_equal(outbox_relay(&w, 10, NULL), 1);
	assert_int_equal(stub_count(), before + 1);
	assert_string_equal(stub_last_path(), "/ok");
	assert_string_equal(stub_last_body(), "{\"booking_id\": 2}");
	assert_string_equal(stub_last_header("X-Service-Key"), KEY);
	assert_string_equal(stub_last_header("X-Request-ID"), "confirm-2");
	assert_string_equal(stub_last_header("Content-Type"), "application/json");
	expect_done("confirm-2", 1, 200);
	/* delivered events are not sent again */
	make_due();
	assert_int_equal(outbox_relay(&w, 10, NULL), 0);
	assert_int_equal(stub_count(), before + 1);
}

/* An event with the id of the request that started its flow is sent with
 * it as X-Request-ID and logged under it; the log's id is cleared after. */
static void test_request_id(void **state)
{
	(void)state;
	FILE *log = harness_log_quiet(LOG_LVL_INFO);
	char text[4096];

	assert_int_equal(outbox_add(w.db, "confirm-r1", "flights", "/ok", "{}", "pay-req-1"), 0);
	assert_int_equal(outbox_relay(&w, 10, NULL), 1);
	assert_string_equal(stub_last_header("X-Request-ID"), "pay-req-1");
	log_info("after the relay");
	fflush(log);
	rewind(log);
	size_t n = fread(text, 1, sizeof(text) - 1, log);
	text[n] = '\0';
	harness_log_quiet(LOG_LVL_ERROR);
	const char *line = strstr(text, "outbox event delivered");
	assert_non_null(line);
	assert_non_null(
	        strstr(text, "\"request_id\":\"pay-req-1\",\"msg\":\"outbox event delivered\""));
	assert_non_null(strstr(text, "\"request_id\":\"\",\"msg\":\"after the relay\""));
}

/* A claim takes at most limit rows; a full claim is followed by another
 * in the same call, so a backlog drains in one tick. */
static void test_limit(void **state)
{
	(void)state;
	add("e-1", "/ok", "{}");
	add("e-2", "/ok", "{}");
	add("e-3", "/ok", "{}");
	assert_int_equal(outbox_relay(&w, 2, NULL), 3);
	expect_done("e-1", 1, 200);
	expect_done("e-2", 1, 200);
	expect_done("e-3", 1, 200);
	assert_int_equal(outbox_relay(&w, 2, NULL), 0);
}

/* Priority 0 goes before OUTBOX_BULK, whatever was queued first. */
static void test_priority(void **state)
{
	(void)state;
	add("bulk-1", "/ok", "{}");
	add("bulk-2", "/ok", "{}");
	add("urgent", "/ok", "{}");
	assert_int_equal(db_run(w.db, "UPDATE outbox SET priority = " OUTBOX_BULK
	                              " WHERE event_id LIKE 'bulk-%'"),
	                 0);
	/* one row a claim: the order of the claims is the order of sending */
	assert_int_equal(outbox_relay(&w, 1, NULL), 3);
	assert_int_equal(harness_pg_count(w.db,
	                                  "SELECT count(*) FROM outbox u, outbox b "
	                                  "WHERE u.event_id = 'urgent' AND b.event_id "
	                                  "LIKE 'bulk-%' AND u.delivered_at < b.delivered_at"),
	                 2);
}

/* 5xx, 408 and 429: tried again later, each time waiting longer. */
static void test_retried(void **state)
{
	(void)state;
	const char *paths[] = {"/down", "/timeout", "/busy"};
	const int status[] = {503, 408, 429};
	char id[32];

	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "retry-%d", i);
		add(id, paths[i], "{}");
		assert_int_equal(outbox_relay(&w, 10, NULL), 0);
		expect_retry(id, 1, status[i]);
		/* not due yet: nothing sent */
		int sent = stub_count();
		assert_int_equal(outbox_relay(&w, 10, NULL), 0);
		assert_int_equal(stub_count(), sent);
		make_due();
		assert_int_equal(outbox_relay(&w, 10, NULL), 0);
		assert_int_equal(stub_count(), sent + 1);
		expect_retry(id, 2, status[i]);
		assert_int_equal(db_run(w.db, "UPDATE outbox SET delivered_at = now()"), 0);
	}
}

static void test_no_answer_retried(void **state)
{
	(void)state;
	conf.service_timeout_ms = 150; /* the stub waits 600 ms */
	add("slow-1", "/slow", "{}");
	assert_int_equal(outbox_relay(&w, 10, NULL), 0);
	expect_retry("slow-1", 1, 0);
}

/* A refusal (4xx other than 408/429) is final: retrying cannot help. */
static void test_4xx_done(void **state)
{
	(void)state;
	add("bad-1", "/bad", "{}");
	add("bad-2", "/no-such-route", "{}");
	assert_int_equal(outbox_relay(&w, 10, NULL), 2); /* done, if not accepted */
	expect_done("bad-1", 1, 422);
	expect_done("bad-2", 1, 404);
	make_due();
	int sent = stub_count();
	assert_int_equal(outbox_relay(&w, 10, NULL), 0);
	assert_int_equal(stub_count(), sent);
}

static int nested_claimed = -2;

/* Runs while the relay under test holds the lease on the event. */
static enum outbox_verdict judge_run_second_relay(struct worker *wk, const char *event_id,
                                                  const char *path, int status,
                                                  const struct buf *body)
{
	(void)wk;
	(void)event_id;
	(void)path;
	(void)body;
	nested_claimed = outbox_relay(&w2, 10, NULL);
	return outbox_default_verdict(status);
}

static void test_live_lease_not_claimed(void **state)
{
	(void)state;
	/* a relay mid-send: its lease is live */
	add("leased-1", "/ok", "{}");
	assert_int_equal(db_run(w.db, "UPDATE outbox SET lease_until = now() + interval '30 s'"),
	                 0);
	int sent = stub_count();
	assert_int_equal(outbox_relay(&w2, 10, NULL), 0);
	assert_int_equal(stub_count(), sent);
	struct row r;
	get_row("leased-1", &r);
	assert_int_equal(r.attempts, 0);
	assert_int_equal(r.leased, 1);
	/* and while the relay under test sends, a second one claims nothing */
	assert_int_equal(db_run(w.db, "TRUNCATE outbox"), 0);
	add("leased-2", "/ok", "{}");
	nested_claimed = -2;
	assert_int_equal(outbox_relay(&w, 10, judge_run_second_relay), 1);
	assert_int_equal(nested_claimed, 0);
	assert_int_equal(stub_count(), sent + 1);
	expect_done("leased-2", 1, 200);
}

/* A relay that died mid-send: when its lease ends, another sends it. */
static void test_expired_lease_claimed(void **state)
{
	(void)state;
	add("died-1", "/ok", "{}");
	/* clang-format off */
	assert_int_equal(db_run(w.db,
		"UPDATE outbox "
		"SET lease_until = now() - interval '1 second', attempts = 1"), 0);
	/* clang-format on */
	assert_int_equal(outbox_relay(&w2, 10, NULL), 1);
	expect_done("died-1", 2, 200);
}

/* An event for a peer the service does not declare (a removed peer,
 * a typo in a deployment) is kept and retried, never dropped. */
static void test_undeclared_peer_kept(void **state)
{
	(void)state;
	int sent = stub_count();
	assert_int_equal(outbox_add(w.db, "ghost-1", "ghosts", "/ok", "{}", NULL), 0);
	assert_int_equal(outbox_relay(&w, 10, NULL), 0);
	expect_retry("ghost-1", 1, 0);
	make_due();
	assert_int_equal(outbox_relay(&w, 10, NULL), 0);
	expect_retry("ghost-1", 2, 0);
	assert_int_equal(stub_count(), sent);
	assert_int_equal(count_rows(), 1);
}

static struct {
	int calls, status;
	char event_id[64], path[64], body[128];
	enum outbox_verdict verdict;
} judged;

static enum outbox_verdict judge_record(struct worker *wk, const char *event_id, const char *path,
                                        int status, const struct buf *body)
{
	assert_ptr_equal(wk, &w);
	judged.calls++;
	judged.status = status;
	snprintf(judged.event_id, sizeof(judged.event_id), "%s", event_id);
	snprintf(judged.path, sizeof(judged.path), "%s", path);
	snprintf(judged.body, sizeof(judged.body), "%s", buf_str(body));
	return judged.verdict;
}

static void test_judge(void **state)
{
	(void)state;
	/* a 200 the sender does not accept: the event is kept */
	memset(&judged, 0, sizeof(judged));
	judged.verdict = OUTBOX_RETRY;
	add("judged-1", "/ok", "{}");
	assert_int_equal(outbox_relay(&w, 10, judge_record), 0);
	assert_int_equal(judged.calls, 1);
	assert_int_equal(judged.status, 200);
	assert_string_equal(judged.event_id, "judged-1");
	assert_string_equal(judged.path, "/ok");
	assert_string_equal(judged.body, "{\"ok\": true}");
	expect_retry("judged-1", 1, 200);
	/* a 503 it takes as final */
	assert_int_equal(db_run(w.db, "TRUNCATE outbox"), 0);
	memset(&judged, 0, sizeof(judged));
	judged.verdict = OUTBOX_DONE;
	add("judged-2", "/down", "{}");
	assert_int_equal(outbox_relay(&w, 10, judge_record), 1);
	assert_int_equal(judged.status, 503);
	expect_done("judged-2", 1, 503);
	/* no answer reaches the judge as status 0 */
	assert_int_equal(db_run(w.db, "TRUNCATE outbox"), 0);
	memset(&judged, 0, sizeof(judged));
	judged.verdict = OUTBOX_RETRY;
	conf.service_timeout_ms = 150;
	add("judged-3", "/slow", "{}");
	assert_int_equal(outbox_relay(&w, 10, judge_record), 0);
	assert_int_equal(judged.calls, 1);
	assert_int_equal(judged.status, 0);
	assert_string_equal(judged.body, "");
}

static void test_backoff(void **state)
{
	(void)state;
	const int want[][2] = {{-1, 1}, {0, 1},  {1, 1},  {2, 2},    {3, 4},
	                       {6, 32}, {7, 60}, {8, 60}, {1000, 60}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (outbox_backoff(want[i][0]) != want[i][1])
			fail_msg("outbox_backoff(%d) = %d, want %d", want[i][0],
			         outbox_backoff(want[i][0]), want[i][1]);
	const int done[] = {200, 201, 204, 400, 401, 403, 404, 409, 410, 422};
	const int retry[] = {0, 100, 301, 304, 408, 429, 500, 502, 503, 504};
	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		assert_int_equal(outbox_default_verdict(done[i]), OUTBOX_DONE);
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_int_equal(outbox_default_verdict(retry[i]), OUTBOX_RETRY);
}

static void test_database_down(void **state)
{
	(void)state;
	struct worker dead = {.conf = &conf};
	struct buf b;
	dead.db = db_new("postgresql://x:pw@127.0.0.1:1/db", 500);
	assert_int_equal(outbox_add(dead.db, "x-1", "flights", "/ok", "{}", NULL), -1);
	assert_int_equal(outbox_relay(&dead, 10, NULL), -1);
	/* no gauges rather than made-up ones */
	buf_init(&b);
	assert_int_equal(outbox_gauges(&dead, &b), -1);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	db_free(dead.db);
}

/* The value of the sample "name value" in text (fails when absent). */
static double gauge_value(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			return strtod(l + n + 1, NULL);
		if (strchr(l, '\n') == NULL)
			break;
	}
	fail_msg("no sample %s in:\n%s", name, text);
	return 0;
}

/* Gauges of the backlog: undelivered events (delivered and refused ones
 * are not) and the age of the oldest, 0 when there is none. */
static void test_gauges(void **state)
{
	(void)state;
	struct buf b;

	buf_init(&b);
	assert_int_equal(outbox_gauges(&w, &b), 0);
	assert_non_null(strstr(buf_str(&b), "# TYPE outbox_undelivered gauge\n"));
	assert_non_null(strstr(buf_str(&b), "# TYPE outbox_oldest_undelivered_seconds gauge\n"));
	assert_true(gauge_value(buf_str(&b), "outbox_undelivered") == 0);
	assert_true(gauge_value(buf_str(&b), "outbox_oldest_undelivered_seconds") == 0);
	buf_release(&b);

	add("g-old", "/ok", "{}");
	add("g-new", "/ok", "{}");
	add("g-done", "/ok", "{}");
	assert_int_equal(db_run(w.db, "UPDATE outbox SET created_at = now() - interval '1 hour' "
	                              "WHERE event_id = 'g-old'"),
	                 0);
	assert_int_equal(db_run(w.db, "UPDATE outbox SET created_at = now() - interval '2 hours', "
	                              "delivered_at = now() WHERE event_id = 'g-done'"),
	                 0);
	buf_init(&b);
	assert_int_equal(outbox_gauges(&w, &b), 0);
	assert_true(gauge_value(buf_str(&b), "outbox_undelivered") == 2);
	double age = gauge_value(buf_str(&b), "outbox_oldest_undelivered_seconds");
	if (age < 3600 || age > 3660)
		fail_msg("oldest undelivered event %.3f s old, want about 3600", age);
	buf_release(&b);
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        TEST(test_add_once),
	        TEST(test_deliver),
	        TEST(test_request_id),
	        TEST(test_limit),
	        TEST(test_priority),
	        TEST(test_retried),
	        TEST(test_4xx_done),
	        TEST(test_live_lease_not_claimed),
	        TEST(test_expired_lease_claimed),
	        TEST(test_undeclared_peer_kept),
	        TEST(test_backoff),
	        TEST(test_database_down),
	        TEST(test_gauges),
	        /* last: the stub is still busy with the slow call afterwards */
	        TEST(test_judge),
	        TEST(test_no_answer_retried),
	};
	url_file = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
