/* test_idem.c - idem.h against a real PostgreSQL (tests/unit/pg.sh): a
 * request without a key just runs; the first answer under a key is kept
 * and replayed to repeats with the same hash (other hash: 422; first
 * still running, i.e. its session holds the key's advisory lock: 409);
 * two requests claiming one key at once run once; a claim whose request
 * died (no session holds its lock) is taken over at once; an answer
 * recorded in the handler's own transaction (idem_record) is the one
 * replayed, and rolls back with it; 5xx answers are not kept; bad keys
 * are 422; old keys are pruned; no database is 503. The requests are
 * built by hand (req_init), as serve.c would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "harness.h"
#include "idem.h"
#include "log.h"
#include "reply.h"
#include "req.h"
#include "worker.h"

static const char *url_file;
static struct worker w;

static int runs;                /* handler calls */
static int answer_status = 201; /* what the handler replies */

static void h_create(struct req *r)
{
	char body[64];

	runs++;
	if (answer_status == 0)
		return; /* never replies: the dispatcher's 500 */
	int n = snprintf(body, sizeof(body), "{\"id\": 7, \"run\": %d}", runs);
	reply_raw(r, answer_status, "application/json", body, (size_t)n);
}

static int setup_group(void **state)
{
	(void)state;
	harness_log_quiet(LOG_LVL_ERROR);
	w.db = harness_pg_connect(url_file, 3000, FO_SOURCE_DIR "/sql/shared/idempotency");
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	db_free(w.db);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	db_set_pooled(w.db, 0);
	assert_int_equal(db_run(w.db, "TRUNCATE idempotency_keys"), 0);
	runs = 0;
	answer_status = 201;
	return 0;
}

/* idem_run of h_create for user uid with key, through worker wk; the
 * answer stays in r (req_release it). */
static void call_on(struct worker *wk, struct req *r, int64_t uid, const char *key,
                    const char *hash)
{
	req_init(r, wk);
	r->method = "POST";
	r->path = "/bookings";
	r->caller = CALLER_USER;
	r->user.uid = uid;
	r->idempotency_key = key;
	idem_run(r, hash, h_create);
}

static void call(struct req *r, int64_t uid, const char *key, const char *hash)
{
	call_on(&w, r, uid, key, hash);
}

static int replayed(const struct req *r)
{
	return strstr(buf_str(&r->headers), "Idempotent-Replayed: true\r\n") != NULL;
}

static int64_t count_keys(void)
{
	return harness_pg_count(w.db, "SELECT count(*) FROM idempotency_keys");
}

/* A claim as a request leaves it (running when a session holds its lock,
 * see hold_key; dead when none does). */
static void insert_claim(int64_t uid, const char *key, const char *hash)
{
	/* clang-format off */
	PGresult *res = db_query(w.db,
		"INSERT INTO idempotency_keys (user_id, key, request_hash) "
		"VALUES ($1, $2, $3)",
		DB_INT(uid), DB_TEXT(key), DB_TEXT(hash));
	/* clang-format on */
	assert_int_equal(db_do(res), STORE_OK);
}

/* A second session holding the advisory lock of (uid, key), as the
 * request running it would (db_free it to let go, as its death would). */
static struct db *hold_key(int64_t uid, const char *key)
{
	struct db *db = harness_pg_connect(url_file, 3000, NULL);
	/* clang-format off */
	PGresult *res = db_query(db,
		"SELECT pg_advisory_lock(hashtextextended('idem:' || $1::bigint || ':' || $2::text, 0))",
		DB_INT(uid), DB_TEXT(key));
	/* clang-format on */
	assert_int_equal(db_do(res), STORE_OK);
	return db;
}

/* Close a hold_key session and wait (at most 5 s) until its server
 * process is gone and its lock with it, as after a request's death. */
static void let_go(struct db *db)
{
	struct timespec pause = {0, 10 * 1000000L};

	db_free(db);
	for (int i = 0; i < 500; i++) {
		if (harness_pg_count(
		            w.db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0)
			return;
		nanosleep(&pause, NULL);
	}
	fail_msg("a closed session kept its advisory lock");
}

/* Move every key's created_at back by seconds. */
static void age_keys(int seconds)
{
	/* clang-format off */
	PGresult *res = db_query(w.db,
		"UPDATE idempotency_keys "
		"SET created_at = created_at - make_interval(secs => $1::int)",
		DB_INT(seconds));
	/* clang-format on */
	assert_int_equal(db_do(res), STORE_OK);
}

static void test_no_key_runs(void **state)
{
	(void)state;
	struct req r;
	for (int i = 1; i <= 2; i++) {
		call(&r, 5, "", "h1");
		assert_int_equal(runs, i);
		assert_int_equal(r.status, 201);
		assert_false(replayed(&r));
		req_release(&r);
	}
	assert_int_equal(count_keys(), 0);
}

static void test_first_run_kept(void **state)
{
	(void)state;
	struct req r;
	call(&r, 5, "key-1", "h1");
	assert_int_equal(runs, 1);
	assert_int_equal(r.status, 201);
	assert_string_equal(buf_str(&r.out), "{\"id\": 7, \"run\": 1}");
	assert_false(replayed(&r));
	req_release(&r);
	/* clang-format off */
	PGresult *res = db_query(w.db,
		"SELECT request_hash, status, body "
		"FROM idempotency_keys "
		"WHERE user_id = $1 AND key = $2",
		DB_INT(5), DB_TEXT("key-1"));
	/* clang-format on */
	assert_non_null(res);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), "h1");
	assert_string_equal(PQgetvalue(res, 0, 1), "201");
	assert_string_equal(PQgetvalue(res, 0, 2), "{\"id\": 7, \"run\": 1}");
	PQclear(res);
}

static void test_replay(void **state)
{
	(void)state;
	struct req r;
	call(&r, 5, "key-1", "h1");
	req_release(&r);
	for (int i = 0; i < 2; i++) {
		call(&r, 5, "key-1", "h1");
		assert_int_equal(runs, 1);
		assert_int_equal(r.status, 201);
		assert_string_equal(buf_str(&r.out), "{\"id\": 7, \"run\": 1}");
		assert_string_equal(r.out_type, "application/json");
		assert_true(replayed(&r));
		req_release(&r);
	}
	/* a key belongs to its user: another one's runs */
	call(&r, 6, "key-1", "h1");
	assert_int_equal(runs, 2);
	assert_false(replayed(&r));
	req_release(&r);
}

static void test_other_request_422(void **state)
{
	(void)state;
	struct req r;
	call(&r, 5, "key-1", "h1");
	req_release(&r);
	call(&r, 5, "key-1", "h2");
	assert_int_equal(runs, 1);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(buf_str(&r.out),
	                       "Idempotency-Key was already used with a different request"));
	assert_false(replayed(&r));
	req_release(&r);
}

static void test_in_flight_409(void **state)
{
	(void)state;
	struct req r;
	struct db *running = hold_key(5, "key-1");
	insert_claim(5, "key-1", "h1");
	call(&r, 5, "key-1", "h1");
	assert_int_equal(runs, 0);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(buf_str(&r.out), "still being processed"));
	req_release(&r);
	/* however old, a claim whose request still runs is not given up */
	age_keys(3600);
	call(&r, 5, "key-1", "h1");
	assert_int_equal(r.status, 409);
	req_release(&r);
	/* another request under the key is told so, running or not */
	call(&r, 5, "key-1", "h2");
	assert_int_equal(r.status, 422);
	req_release(&r);
	assert_int_equal(runs, 0);
	/* running before its claim is even written: still 409 */
	struct db *other = hold_key(5, "key-2");
	call(&r, 5, "key-2", "h1");
	assert_int_equal(r.status, 409);
	req_release(&r);
	db_free(other);
	db_free(running);
}

/* A claim whose request died (its session, and so its lock, is gone) is
 * taken over at once by a repeat of that request, not by another one. */
static void test_stale_claim_taken_over(void **state)
{
	(void)state;
	struct req r;
	let_go(hold_key(5, "key-1")); /* the request ran, then died */
	insert_claim(5, "key-1", "h1");
	call(&r, 5, "key-1", "h2");
	assert_int_equal(r.status, 422);
	req_release(&r);
	call(&r, 5, "key-1", "h1");
	assert_int_equal(runs, 1);
	assert_int_equal(r.status, 201);
	assert_false(replayed(&r));
	req_release(&r);
	call(&r, 5, "key-1", "h1");
	assert_true(replayed(&r));
	req_release(&r);
	assert_int_equal(runs, 1);
}

/* Behind a transaction pooler no session lock is taken: the claim's
 * lease stands for its running request, and a claim left unanswered is
 * taken over once the lease has run out. */
static void test_pooled_claim_leased(void **state)
{
	(void)state;
	struct req r;
	db_set_pooled(w.db, 1);
	call(&r, 5, "key-1", "h1");
	assert_int_equal(runs, 1);
	assert_int_equal(r.status, 201);
	req_release(&r);
	call(&r, 5, "key-1", "h1");
	assert_true(replayed(&r));
	req_release(&r);
	assert_int_equal(harness_pg_count(w.db, "SELECT count(*) FROM pg_locks "
	                                        "WHERE locktype = 'advisory'"),
	                 0);
	/* a running claim (its lease ahead): 409, and 422 for another body */
	/* clang-format off */
	PGresult *res = db_query(w.db,
		"INSERT INTO idempotency_keys (user_id, key, request_hash, lease_until) "
		"VALUES ($1, $2, $3, now() + interval '60 seconds')",
		DB_INT(5), DB_TEXT("key-2"), DB_TEXT("h1"));
	/* clang-format on */
	assert_int_equal(db_do(res), STORE_OK);
	call(&r, 5, "key-2", "h1");
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(buf_str(&r.out), "still being processed"));
	req_release(&r);
	call(&r, 5, "key-2", "h2");
	assert_int_equal(r.status, 422);
	req_release(&r);
	assert_int_equal(runs, 1);
	/* its request died: once the lease is out, a repeat takes it over */
	assert_int_equal(db_run(w.db, "UPDATE idempotency_keys SET lease_until = now() - "
	                              "interval '1 second' WHERE key = 'key-2'"),
	                 0);
	call(&r, 5, "key-2", "h1");
	assert_int_equal(runs, 2);
	assert_int_equal(r.status, 201);
	assert_false(replayed(&r));
	req_release(&r);
	call(&r, 5, "key-2", "h1");
	assert_true(replayed(&r));
	req_release(&r);
	assert_int_equal(runs, 2);
}

/* After 24 h a key is free again, for any request. */
static void test_aged_out_key_reused(void **state)
{
	(void)state;
	struct req r;
	call(&r, 5, "key-1", "h1");
	req_release(&r);
	age_keys(25 * 3600);
	call(&r, 5, "key-1", "h2");
	assert_int_equal(runs, 2);
	assert_int_equal(r.status, 201);
	assert_false(replayed(&r));
	req_release(&r);
}

static void test_5xx_not_kept(void **state)
{
	(void)state;
	struct req r;
	answer_status = 503;
	call(&r, 5, "key-1", "h1");
	assert_int_equal(r.status, 503);
	req_release(&r);
	assert_int_equal(count_keys(), 0);
	/* a handler that never replies (the dispatcher's 500) neither */
	answer_status = 0;
	call(&r, 5, "key-1", "h1");
	assert_int_equal(r.status, 0);
	req_release(&r);
	assert_int_equal(count_keys(), 0);
	/* the retry runs again, and that answer is kept */
	answer_status = 201;
	call(&r, 5, "key-1", "h1");
	assert_int_equal(runs, 3);
	assert_int_equal(r.status, 201);
	assert_false(replayed(&r));
	req_release(&r);
	assert_int_equal(count_keys(), 1);
	/* a 4xx is an answer like any other */
	answer_status = 409;
	call(&r, 5, "key-2", "h1");
	req_release(&r);
	call(&r, 5, "key-2", "h1");
	assert_int_equal(r.status, 409);
	assert_true(replayed(&r));
	req_release(&r);
	assert_int_equal(runs, 4);
}

static void expect_invalid(const char *key)
{
	struct req r;
	call(&r, 5, key, "h1");
	if (r.status != 422)
		fail_msg("key '%s': status %d", key, r.status);
	assert_non_null(strstr(buf_str(&r.out), "Idempotency-Key"));
	req_release(&r);
	assert_int_equal(runs, 0);
}

static void test_invalid_key(void **state)
{
	(void)state;
	char long_key[300];
	memset(long_key, 'k', sizeof(long_key));
	long_key[256] = '\0';
	expect_invalid("a b");
	expect_invalid("tab\there");
	expect_invalid("caf\xc3\xa9");
	expect_invalid(long_key);
	assert_int_equal(count_keys(), 0);
	/* 255 printable bytes are fine */
	long_key[255] = '\0';
	struct req r;
	call(&r, 5, long_key, "h1");
	assert_int_equal(r.status, 201);
	assert_int_equal(runs, 1);
	req_release(&r);
}

static void test_prune(void **state)
{
	(void)state;
	struct req r;
	call(&r, 5, "old", "h1");
	req_release(&r);
	age_keys(24 * 3600 + 60);
	call(&r, 5, "new", "h1");
	req_release(&r);
	assert_int_equal(count_keys(), 2);
	idem_prune(w.db);
	assert_int_equal(count_keys(), 1);
	call(&r, 5, "new", "h1");
	assert_true(replayed(&r));
	req_release(&r);
}

static void test_database_down(void **state)
{
	(void)state;
	struct worker dead = {.db = db_new("postgresql://x:pw@127.0.0.1:1/db", 500)};
	struct req r;
	call_on(&dead, &r, 5, "key-1", "h1");
	assert_int_equal(runs, 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(buf_str(&r.out), "Database unavailable"));
	req_release(&r);
	db_free(dead.db);
}

static void test_hash(void **state)
{
	(void)state;
	char a[40], b[40], c[40];
	idem_hash("{\"x\": 1}", 8, a, sizeof(a));
	idem_hash("{\"x\": 1}", 8, b, sizeof(b));
	idem_hash("{\"x\": 2}", 8, c, sizeof(c));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* 16 hex digits, then the length */
	assert_int_equal(strlen(a), 18);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_equal(a + 16, ":8");
	idem_hash("", 0, c, sizeof(c));
	assert_string_equal(c + 16, ":0");
}

/* ---- two requests claiming one key at once ---- */

struct race_result {
	int runs, status, replayed;
};

/* In a child: one request on a connection of its own; the result goes
 * to fd. Never returns. */
static void race_child(int fd)
{
	struct worker cw = {.db = harness_pg_connect(url_file, 5000, NULL)};
	struct race_result out;
	struct req r;

	runs = 0;
	call_on(&cw, &r, 9, "race", "h1");
	out.runs = runs;
	out.status = r.status;
	out.replayed = replayed(&r);
	if (write(fd, &out, sizeof(out)) != (ssize_t)sizeof(out))
		_exit(1);
	_exit(0);
}

/* Wait (at most 5 s) until n claims of this database wait on a lock. */
static void wait_for_lock_waiters(int n)
{
	struct timespec pause = {0, 10 * 1000000L};

	for (int i = 0; i < 500; i++) {
		/* clang-format off */
		PGresult *res = db_exec(w.db,
			"SELECT count(*) FROM pg_stat_activity "
			"WHERE datname = current_database() "
			"  AND wait_event_type = 'Lock' "
			"  AND query LIKE 'INSERT INTO idempotency_keys%'",
			0, NULL);
		/* clang-format on */
		assert_non_null(res);
		int64_t waiting = db_int(res, 0, 0);
		PQclear(res);
		if (waiting >= n)
			return;
		nanosleep(&pause, NULL);
	}
	fail_msg("the racing requests never reached the claim");
}

/* A transaction holds the key's row while two processes claim it; when
 * it rolls back they race for real, and exactly one runs. The other sees
 * the claim running (409) or, if the winner already finished, its
 * answer replayed. */
static void test_concurrent_claims_run_once(void **state)
{
	(void)state;
	struct db *holder = harness_pg_connect(url_file, 5000, NULL);
	struct race_result res[2];
	int fds[2][2];
	pid_t kids[2];

	assert_int_equal(db_run(holder, "BEGIN"), 0);
	/* clang-format off */
	assert_int_equal(db_do(db_query(holder,
		"INSERT INTO idempotency_keys (user_id, key, request_hash) "
		"VALUES ($1, $2, $3)",
		DB_INT(9), DB_TEXT("race"), DB_TEXT("h1"))), STORE_OK);
	/* clang-format on */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0)
			race_child(fds[i][1]);
		close(fds[i][1]);
	}
	/* one child has the key's advisory lock and waits on the row; the
	 * other finds the lock taken and answers 409 at once (or, later, the
	 * replay) */
	wait_for_lock_waiters(1);
	assert_int_equal(db_run(holder, "ROLLBACK"), 0);
	for (int i = 0; i < 2; i++) {
		int st;
		assert_int_equal(read(fds[i][0], &res[i], sizeof(res[i])), sizeof(res[i]));
		close(fds[i][0]);
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	db_free(holder);
	assert_int_equal(res[0].runs + res[1].runs, 1);
	const struct race_result *loser = res[0].runs ? &res[1] : &res[0];
	const struct race_result *winner = res[0].runs ? &res[0] : &res[1];
	assert_int_equal(winner->status, 201);
	assert_false(winner->replayed);
	if (!(loser->status == 409 || (loser->status == 201 && loser->replayed)))
		fail_msg("the second claim got %d (replayed %d)", loser->status, loser->replayed);
	assert_int_equal(count_keys(), 1);
}

/* ---- the answer recorded in the handler's own transaction ---- */

static int record_rollback; /* h_in_tx rolls its transaction back */

/* A handler whose change and answer commit together (like a booking). */
static void h_in_tx(struct req *r)
{
	static const char body[] = "{\"id\": 42, \"from\": \"tx\"}";

	runs++;
	assert_int_equal(db_run(r->w->db, "BEGIN"), 0);
	assert_int_equal(idem_record(r->w->db, r, 201, body), 0);
	assert_int_equal(db_run(r->w->db, record_rollback ? "ROLLBACK" : "COMMIT"), 0);
	if (record_rollback) {
		reply_raw(r, 503, "application/json", "{}", 2);
		return;
	}
	/* what the request says after COMMIT is not what is kept: the
	 * committed answer is */
	reply_raw(r, 201, "application/json", body, sizeof(body) - 1);
}

static void call_tx(struct req *r, const char *key)
{
	req_init(r, &w);
	r->method = "POST";
	r->path = "/bookings";
	r->caller = CALLER_USER;
	r->user.uid = 5;
	r->idempotency_key = key;
	idem_run(r, "h1", h_in_tx);
}

static void test_recorded_in_transaction(void **state)
{
	(void)state;
	struct req r;
	record_rollback = 0;
	call_tx(&r, "tx-1");
	assert_int_equal(r.status, 201);
	req_release(&r);
	/* the answer committed with the change; a repeat replays it */
	call(&r, 5, "tx-1", "h1");
	assert_int_equal(runs, 1);
	assert_true(replayed(&r));
	assert_non_null(strstr(buf_str(&r.out), "\"from\": \"tx\""));
	req_release(&r);
	/* rolled back: no answer kept, the repeat runs again at once */
	record_rollback = 1;
	call_tx(&r, "tx-2");
	assert_int_equal(r.status, 503);
	req_release(&r);
	record_rollback = 0;
	call_tx(&r, "tx-2");
	assert_int_equal(r.status, 201);
	assert_int_equal(runs, 3);
	req_release(&r);
	/* without a key nothing is recorded */
	req_init(&r, &w);
	r.idempotency_key = "";
	assert_int_equal(idem_record(w.db, &r, 201, "{}"), 0);
	req_release(&r);
	assert_int_equal(count_keys(), 2);
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        TEST(test_no_key_runs),
	        TEST(test_first_run_kept),
	        TEST(test_replay),
	        TEST(test_other_request_422),
	        TEST(test_in_flight_409),
	        TEST(test_stale_claim_taken_over),
	        TEST(test_pooled_claim_leased),
	        TEST(test_recorded_in_transaction),
	        TEST(test_aged_out_key_reused),
	        TEST(test_5xx_not_kept),
	        TEST(test_invalid_key),
	        TEST(test_prune),
	        TEST(test_database_down),
	        TEST(test_hash),
	        TEST(test_concurrent_claims_run_once),
	};
	url_file = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
