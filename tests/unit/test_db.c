/* test_db.c - db.h without a server: a handle is lazy, and with nothing
 * listening every call fails at once with SQLSTATE "" (port 1 refuses).
 * Behaviour against a real PostgreSQL is covered by integration tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "harness.h"

#define DEAD_URL "postgresql://x:sekritpw@127.0.0.1:1/db"

static FILE *log_file;

static int setup(void **state)
{
	(void)state;
	log_file = harness_log_quiet(LOG_LVL_DEBUG);
	return 0;
}

/* Everything logged so far (malloc'd). */
static char *logged(void)
{
	fflush(log_file);
	fseek(log_file, 0, SEEK_END);
	long n = ftell(log_file);
	rewind(log_file);
	char *s = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, log_file), (size_t)n);
	fseek(log_file, 0, SEEK_END);
	return s;
}

static void test_lazy_handle(void **state)
{
	(void)state;
	struct db *d = db_new(DEAD_URL, 1000);
	assert_non_null(d);
	assert_string_equal(db_sqlstate(d), "");
	db_free(d);
}

static void test_unreachable(void **state)
{
	(void)state;
	struct db *d = db_new(DEAD_URL, 1000);
	assert_non_null(d);
	for (int i = 0; i < 3; i++) {
		PGresult *r = db_exec(d, "SELECT 1", 0, NULL);
		assert_null(r);
		assert_string_equal(db_sqlstate(d), "");
		const char *p[] = {"42", NULL};
		assert_null(db_exec(d, "SELECT $1::int, $2::text", 2, p));
		assert_string_equal(db_sqlstate(d), "");
		assert_int_equal(db_ping(d), -1);
		assert_int_equal(db_run(d, "BEGIN"), -1);
		assert_string_equal(db_sqlstate(d), "");
	}
	db_free(d);
}

static void test_migrate_unreachable(void **state)
{
	(void)state;
	char dir[] = "/tmp/fo-unit-db-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/001_init.sql", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("CREATE TABLE t (id int);\n", f);
	fclose(f);
	struct db *d = db_new(DEAD_URL, 1000);
	assert_int_equal(db_migrate(d, dir), -1);
	db_free(d);
	unlink(path);
	rmdir(dir);
}

static void test_password_not_logged(void **state)
{
	(void)state;
	struct db *d = db_new(DEAD_URL, 1000);
	assert_null(db_exec(d, "SELECT 1", 0, NULL));
	assert_int_equal(db_ping(d), -1);
	db_free(d);
	char *s = logged();
	assert_null(strstr(s, "sekritpw"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lazy_handle),
	        cmocka_unit_test(test_unreachable),
	        cmocka_unit_test(test_migrate_unreachable),
	        cmocka_unit_test(test_password_not_logged),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
