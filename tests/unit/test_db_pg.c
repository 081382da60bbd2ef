/* test_db_pg.c - db.h against a real PostgreSQL (tests/unit/pg.sh): what
 * a connection keeps in its session with and without a transaction
 * pooler in front (db_set_pooled), and migrations applied all or none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "harness.h"
#include "log.h"

static const char *url_file;

static struct db *connect_as(int pooled)
{
	struct db *db = harness_pg_connect(url_file, 3000, NULL);
	db_set_pooled(db, pooled);
	return db;
}

static int64_t prepared_here(struct db *db)
{
	return harness_pg_count(db, "SELECT count(*) FROM pg_prepared_statements");
}

static void show_timeout(struct db *db, char *out, size_t len)
{
	PGresult *res = db_exec(db, "SHOW statement_timeout", 0, NULL);
	assert_non_null(res);
	db_text(out, len, res, 0, 0);
	PQclear(res);
}

/* Direct, statements stay prepared and the timeout is the session's. */
static void test_direct_keeps_session_state(void **state)
{
	(void)state;
	char timeout[32];
	struct db *db = connect_as(0);

	assert_false(db_pooled(db));
	for (int i = 0; i < 3; i++)
		assert_int_equal(db_do(db_query(db, "SELECT $1::int", DB_INT(i))), STORE_OK);
	assert_true(prepared_here(db) > 0);
	show_timeout(db, timeout, sizeof(timeout));
	assert_string_equal(timeout, "3s");
	db_free(db);
}

static int64_t fetch_int(struct db *db, int64_t v)
{
	PGresult *res = db_query(db, "SELECT $1::bigint + 1", DB_INT(v));
	assert_non_null(res);
	int64_t got = db_int(res, 0, 0);
	PQclear(res);
	return got;
}

/* Behind a transaction pooler nothing of this client's is left in the
 * session: outside a transaction a statement goes by its text's hash
 * (prepared on the first miss, in the same unit as its run), inside one
 * unnamed; and no startup option is sent (PgBouncer refuses "options"). */
static void test_pooled_keeps_nothing(void **state)
{
	(void)state;
	char timeout[32];
	struct db *db = connect_as(1);

	assert_true(db_pooled(db));
	for (int i = 0; i < 3; i++)
		assert_int_equal(fetch_int(db, i), i + 1);
	assert_int_equal(harness_pg_count(db, "SELECT count(*) FROM pg_prepared_statements "
	                                      "WHERE name LIKE 'fo\\_%'"),
	                 1);
	assert_int_equal(prepared_here(db), 1);
	assert_int_equal(db_run(db, "BEGIN"), 0);
	assert_int_equal(db_do(db_query(db, "SELECT $1::text", DB_TEXT("in a transaction"))),
	                 STORE_OK);
	assert_int_equal(fetch_int(db, 41), 42);
	assert_int_equal(db_run(db, "COMMIT"), 0);
	assert_int_equal(prepared_here(db), 1);
	/* a server connection that lost it (the pooler opened a new one) */
	assert_int_equal(db_run(db, "DEALLOCATE ALL"), 0);
	assert_int_equal(fetch_int(db, 1), 2);
	assert_int_equal(prepared_here(db), 1);
	show_timeout(db, timeout, sizeof(timeout));
	assert_string_equal(timeout, "0"); /* the server's (a role's, in production) */
	db_free(db);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A failing file leaves none of that run's files applied; fixed, they
 * all apply, once, and no lock is left. In a schema of its own: the
 * other modules of the unit PostgreSQL run beside this one. */
static void test_migrations_all_or_none(void **state)
{
	(void)state;
	char dir[] = "/tmp/fo-migrate-XXXXXX", path[512];
	struct db *db = connect_as(0);

	assert_non_null(mkdtemp(dir));
	assert_int_equal(db_run(db, "DROP SCHEMA IF EXISTS fo_mig_test CASCADE"), 0);
	assert_int_equal(db_run(db, "CREATE SCHEMA fo_mig_test"), 0);
	assert_int_equal(db_run(db, "SET search_path = fo_mig_test"), 0);
	write_file(dir, "001_a.sql", "CREATE TABLE mig_a (id int);");
	write_file(dir, "002_b.sql", "CREATE TABLE mig_b (id int) oops;");
	assert_int_equal(db_migrate(db, dir), -1);
	assert_int_equal(harness_pg_count(db, "SELECT count(*) FROM pg_tables "
	                                      "WHERE schemaname = 'fo_mig_test'"),
	                 0);
	write_file(dir, "002_b.sql", "CREATE TABLE mig_b (id int);");
	assert_int_equal(db_migrate(db, dir), 2);
	assert_int_equal(db_migrate(db, dir), 0);
	assert_int_equal(harness_pg_count(db, "SELECT count(*) FROM schema_migrations"), 2);
	/* the migration lock (4242001): a bigint key is (classid, objid) */
	assert_int_equal(harness_pg_count(db, "SELECT count(*) FROM pg_locks WHERE locktype = "
	                                      "'advisory' AND classid = 0 AND objid = 4242001"),
	                 0);
	assert_int_equal(db_run(db, "DROP SCHEMA fo_mig_test CASCADE"), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, i ? "002_b.sql" : "001_a.sql");
		unlink(path);
	}
	rmdir(dir);
	db_free(db);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_direct_keeps_session_state),
	        cmocka_unit_test(test_pooled_keeps_nothing),
	        cmocka_unit_test(test_migrations_all_or_none),
	};
	url_file = argc > 1 ? argv[1] : NULL;
	harness_log_quiet(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
