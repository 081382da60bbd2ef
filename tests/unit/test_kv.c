/* test_kv.c - kv.h without a real server: URL parsing; with nothing
 * listening (port 1 refuses) every call returns -1 at once, repeatedly;
 * and against a fake one that closes each connection after one answer
 * (as a Redis restart does to every client), the next command goes on a
 * new connection instead of failing. Behaviour against a real Redis is
 * covered by integration tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "kv.h"

static void parse_ok(const char *url, const char *host, int port, const char *pw, int db)
{
	struct kv_url u;
	memset(&u, 0x5a, sizeof(u));
	if (kv_parse_url(url, &u) != 0)
		fail_msg("kv_parse_url rejected '%s'", url);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_string_equal(u.password, pw);
	assert_int_equal(u.db, db);
}

static void test_parse_good(void **state)
{
	(void)state;
	parse_ok("redis://127.0.0.1:6380/0", "127.0.0.1", 6380, "", 0);
	parse_ok("redis://:s3cret@127.0.0.1:16380/2", "127.0.0.1", 16380, "s3cret", 2);
	parse_ok("redis://localhost", "localhost", 6379, "", 0);
	parse_ok("redis://localhost:7000", "localhost", 7000, "", 0);
	parse_ok("redis://localhost/3", "localhost", 6379, "", 3);
	parse_ok("redis://:pw@host", "host", 6379, "pw", 0);
	parse_ok("redis://127.0.0.1:65535/15", "127.0.0.1", 65535, "", 15);
}

static void test_parse_bad(void **state)
{
	(void)state;
	char name[251];
	char longhost[300];
	char longpw[300];
	memset(name, 'h', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(longhost, sizeof(longhost), "redis://%s:6379/0", name);
	snprintf(longpw, sizeof(longpw), "redis://:%.200s@h:1/0", name);
	const char *bad[] = {"",
	                     "http://127.0.0.1:6379/0",
	                     "redis:/127.0.0.1",
	                     "127.0.0.1:6379",
	                     "redis://",
	                     "redis://:pw@",
	                     "redis://h:0/0",
	                     "redis://h:65536/0",
	                     "redis://h:-1/0",
	                     "redis://h:abc/0",
	                     "redis://h:12x/0",
	                     "redis://h:1/x",
	                     "redis://h:1/-1",
	                     "redis://h:1/1x",
	                     longhost,
	                     longpw};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kv_url u;
		if (kv_parse_url(bad[i], &u) != -1)
			fail_msg("kv_parse_url accepted '%s'", bad[i]);
	}
}

static void test_new_bad_url(void **state)
{
	(void)state;
	assert_null(kv_new("not a url", 100));
	assert_null(kv_new("http://127.0.0.1:6379", 100));
}

static void test_unreachable(void **state)
{
	(void)state;
	struct kv *k = kv_new("redis://:pw@127.0.0.1:1/0", 200);
	assert_non_null(k);
	for (int i = 0; i < 3; i++) {
		long long v = 99;
		char out[32];
		assert_int_equal(kv_ping(k), -1);
		assert_int_equal(kv_incr_window(k, "fail:alice", 300, &v), -1);
		assert_int_equal(kv_get_int(k, "fail:alice", &v), -1);
		assert_int_equal(kv_ttl(k, "fail:alice", &v), -1);
		assert_int_equal(kv_del(k, "fail:alice"), -1);
		assert_int_equal(kv_get(k, "x", out, sizeof(out)), -1);
		assert_int_equal(kv_set(k, "x", "v", 1, 1000, 1), -1);
		assert_int_equal(kv_set(k, "x", "v", 1, 0, 0), -1);
		const char *keys[] = {"x"};
		assert_int_equal(kv_del_if_all(k, keys, 1, "v"), -1);
	}
	kv_free(k);
}

/* The fake: every connection gets one "+PONG" and is closed; closed
 * counts them (posted after each close). */
static sem_t closed;

static void *one_answer_each(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char in[256];
		if (fd < 0)
			return NULL;
		if (read(fd, in, sizeof(in)) > 0)
			(void)!write(fd, "+PONG\r\n", 7);
		close(fd);
		sem_post(&closed);
	}
}

static void test_closed_by_server_reconnects(void **state)
{
	(void)state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char url[64];
	pthread_t t;

	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	sem_init(&closed, 0, 0);
	pthread_create(&t, NULL, one_answer_each, (void *)(intptr_t)lfd);
	pthread_detach(t);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", ntohs(a.sin_port));
	struct kv *k = kv_new(url, 1000);
	assert_non_null(k);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(kv_ping(k), 0);
		sem_wait(&closed); /* the server's end is closed before the next */
	}
	kv_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_good),
	        cmocka_unit_test(test_parse_bad),
	        cmocka_unit_test(test_new_bad_url),
	        cmocka_unit_test(test_unreachable),
	        cmocka_unit_test(test_closed_by_server_reconnects),
	};
	return cmocka_run_group_tests(tests, harness_quiet, NULL);
}
