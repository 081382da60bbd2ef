/* test_prefork.c - prefork.h, the pure part: prefork_parse_listen on good
 * and bad LISTEN values. (The master loop is exercised by the integration
 * tests against a running pool.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "prefork.h"

struct parsed {
	char path[108];
	char host[64];
	int port;
};

static int parse(const char *listen, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	p->port = -7;
	return prefork_parse_listen(listen, p->path, sizeof(p->path), p->host, sizeof(p->host),
	                            &p->port);
}

static void test_unix(void **state)
{
	(void)state;
	struct parsed p;
	assert_int_equal(parse("unix:/tmp/users.sock", &p), 0);
	assert_string_equal(p.path, "/tmp/users.sock");
	assert_int_equal(parse("unix:/work/main/var/run/users.sock", &p), 0);
	assert_string_equal(p.path, "/work/main/var/run/users.sock");
}

static void test_tcp(void **state)
{
	(void)state;
	struct parsed p;
	assert_int_equal(parse("127.0.0.1:9000", &p), 0);
	assert_string_equal(p.host, "127.0.0.1");
	assert_int_equal(p.port, 9000);
	assert_int_equal(parse("localhost:1", &p), 0);
	assert_string_equal(p.host, "localhost");
	assert_int_equal(p.port, 1);
	assert_int_equal(parse("127.0.0.1:65535", &p), 0);
	assert_int_equal(p.port, 65535);
}

static void test_bad(void **state)
{
	(void)state;
	struct parsed p;
	const char *bad[] = {"",
	                     "unix:",
	                     "unix:relative.sock",
	                     "unix:./x.sock",
	                     ":9000",
	                     "127.0.0.1",
	                     "127.0.0.1:",
	                     "127.0.0.1:0",
	                     "127.0.0.1:65536",
	                     "127.0.0.1:-1",
	                     "127.0.0.1:abc",
	                     "127.0.0.1:80x",
	                     "127.0.0.1:99999999999999999999",
	                     "/tmp/x.sock"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &p) != -1)
			fail_msg("prefork_parse_listen accepted '%s'", bad[i]);
}

static void test_too_long(void **state)
{
	(void)state;
	struct parsed p;
	char listen[512];
	char name[300];
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	/* a path longer than the caller's buffer */
	snprintf(listen, sizeof(listen), "unix:/%s", name);
	assert_int_equal(parse(listen, &p), -1);
	/* exactly fills it (107 bytes + NUL) */
	snprintf(listen, sizeof(listen), "unix:/%.*s", (int)sizeof(p.path) - 2, name);
	assert_int_equal(parse(listen, &p), 0);
	assert_int_equal(strlen(p.path), sizeof(p.path) - 1);
	/* a host longer than the caller's buffer */
	snprintf(listen, sizeof(listen), "%.100s:8000", name);
	assert_int_equal(parse(listen, &p), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_unix),
	        cmocka_unit_test(test_tcp),
	        cmocka_unit_test(test_bad),
	        cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
