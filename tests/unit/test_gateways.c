/* test_gateways.c - gateways.h against a scripted HTTP/1.1 server on
 * loopback: the list check, every queued request in one exchange per
 * address (two lists naming one gateway share it), a kept connection the
 * server closed meanwhile, "Connection: close" in the middle of a batch,
 * answers that are not fine, and the backoff after a gateway that does
 * not answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateways.h"
#include "harness.h"

/* What the server does with each connection. */
static struct {
	int close_after;    /* answer this many, then close (0: keep open) */
	int close_header;   /* send "Connection: close" on the close_after'th */
	int silent;         /* read, never answer */
	int status;         /* of every answer (0: 404 for PURGE, 201 else) */
	int accepts;        /* connections accepted */
	int requests;       /* requests read, on every connection */
	char lines[64][80]; /* their request lines, in order */
} srv;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;
static char url[64];

static void answer(int fd, const char *line, int closing)
{
	char out[256];
	int status = srv.status ? srv.status : strncmp(line, "PURGE", 5) == 0 ? 404 : 201;
	int n = snprintf(
	        out, sizeof(out),
	        "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n%s\r\nok",
	        status, closing ? "Connection: close\r\n" : "");
	(void)!write(fd, out, (size_t)n);
}

static void *serve(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&lock);
		srv.accepts++;
		pthread_mutex_unlock(&lock);
		char in[16384];
		size_t len = 0;
		int answered = 0, open = 1;
		while (open) {
			ssize_t r = read(fd, in + len, sizeof(in) - len - 1);
			if (r <= 0)
				break;
			len += (size_t)r;
			in[len] = '\0';
			/* each request: its head, then Content-Length bytes */
			char *end;
			while (open && (end = strstr(in, "\r\n\r\n")) != NULL) {
				char *cl = strstr(in, "Content-Length: ");
				size_t body = cl && cl < end ? (size_t)atoi(cl + 16) : 0;
				size_t total = (size_t)(end + 4 - in) + body;
				if (total > len)
					break;
				char line[80];
				snprintf(line, sizeof(line), "%.*s", (int)strcspn(in, "\r"), in);
				pthread_mutex_lock(&lock);
				if (srv.requests < 64)
					snprintf(srv.lines[srv.requests], sizeof(srv.lines[0]),
					         "%s", line);
				srv.requests++;
				pthread_mutex_unlock(&lock);
				memmove(in, in + total, len - total + 1);
				len -= total;
				if (srv.silent)
					continue;
				answered++;
				int last = srv.close_after && answered == srv.close_after;
				answer(fd, line, last && srv.close_header);
				if (last)
					open = 0;
			}
		}
		close(fd);
	}
}

/* A new server (its own address, so no connection is shared with an
 * earlier test's) answering as script says. */
static void server(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	pthread_t t;

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(listen_fd, 16), 0);
	getsockname(listen_fd, (struct sockaddr *)&a, &alen);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/flights", ntohs(a.sin_port));
	pthread_create(&t, NULL, serve, (void *)(intptr_t)listen_fd);
	pthread_detach(t);
}

static int setup(void **state)
{
	(void)state;
	harness_log_quiet(LOG_LVL_ERROR);
	return 0;
}

/* Each test starts with a fresh script and counts. */
static void script(int close_after, int close_header, int silent, int status)
{
	pthread_mutex_lock(&lock);
	memset(&srv, 0, sizeof(srv));
	srv.close_after = close_after;
	srv.close_header = close_header;
	srv.silent = silent;
	srv.status = status;
	pthread_mutex_unlock(&lock);
	server();
}

static int seen(int *accepts)
{
	pthread_mutex_lock(&lock);
	int n = srv.requests;
	if (accepts)
		*accepts = srv.accepts;
	pthread_mutex_unlock(&lock);
	return n;
}

static void test_check(void **state)
{
	(void)state;
	assert_null(gateways_check("http://a:8090/flights http://b:8090/flights,http://c/x"));
	assert_null(gateways_check(""));
	assert_non_null(gateways_check("https://a:8090/flights"));
	assert_non_null(gateways_check("ftp://a/x"));
	assert_non_null(gateways_check("http:///x"));
}

static void test_one_exchange_for_every_request(void **state)
{
	(void)state;
	char cache[80];
	int accepts;

	script(0, 0, 0, 0);
	snprintf(cache, sizeof(cache), "%s/cache", url);
	gateways_add(cache, "PURGE", "7", NULL);
	gateways_add(cache, "PURGE", "search/JFK/LAX/", NULL);
	gateways_add(url, "POST", "7", "{\"seat_number\":\"1A\",\"status\":\"held\"}");
	gateways_add(url, "POST", "7", "{\"seat_number\":\"1B\",\"status\":\"held\"}");
	/* 404 is fine for a PURGE (nothing kept), 201 for a publish */
	assert_int_equal(gateways_send(), 0);
	assert_int_equal(seen(&accepts), 4);
	assert_int_equal(accepts, 1);
	assert_string_equal(srv.lines[0], "PURGE /flights/cache/7 HTTP/1.1");
	assert_string_equal(srv.lines[1], "PURGE /flights/cache/search/JFK/LAX/ HTTP/1.1");
	assert_string_equal(srv.lines[3], "POST /flights/7 HTTP/1.1");
	/* the connection is kept for the next change */
	gateways_add(url, "POST", "8", "{}");
	assert_int_equal(gateways_send(), 0);
	assert_int_equal(seen(&accepts), 5);
	assert_int_equal(accepts, 1);
	/* nothing queued: nothing sent */
	assert_int_equal(gateways_send(), 0);
	assert_int_equal(seen(NULL), 5);
}

static void test_kept_connection_closed_meanwhile(void **state)
{
	(void)state;
	int accepts;

	/* the server closes each connection after one answer (as nginx does
	 * after keepalive_timeout): the next exchange goes on a new one */
	script(1, 0, 0, 0);
	gateways_add(url, "POST", "1", "{}");
	assert_int_equal(gateways_send(), 0);
	gateways_add(url, "POST", "2", "{}");
	assert_int_equal(gateways_send(), 0);
	assert_int_equal(seen(&accepts), 2);
	assert_int_equal(accepts, 2);
}

static void test_connection_close_in_a_batch(void **state)
{
	(void)state;
	int accepts;

	/* "Connection: close" on the second answer of four: the last two go
	 * again on a new connection (and are answered there, two by two) */
	script(2, 1, 0, 0);
	for (int i = 0; i < 4; i++)
		gateways_add(url, "POST", "9", "{}");
	assert_int_equal(gateways_send(), 0);
	assert_int_equal(seen(&accepts), 4); /* two read on each */
	assert_int_equal(accepts, 2);
}

static void test_bad_answers_are_counted(void **state)
{
	(void)state;

	script(0, 0, 0, 500);
	gateways_add(url, "POST", "3", "{}");
	gateways_add(url, "PURGE", "3", NULL);
	assert_int_equal(gateways_send(), 2);
}

static void test_silent_gateway_backs_off(void **state)
{
	(void)state;
	int accepts;

	script(0, 0, 1, 0);
	gateways_add(url, "POST", "4", "{}");
	assert_int_equal(gateways_send(), 1); /* timed out */
	/* skipped for GATEWAY_BACKOFF_MS: not even sent */
	int requests = seen(NULL);
	gateways_add(url, "POST", "5", "{}");
	assert_int_equal(gateways_send(), 1);
	assert_int_equal(seen(&accepts), requests);
	assert_int_equal(accepts, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_one_exchange_for_every_request),
	        cmocka_unit_test(test_kept_connection_closed_meanwhile),
	        cmocka_unit_test(test_connection_close_in_a_batch),
	        cmocka_unit_test(test_bad_answers_are_counted),
	        cmocka_unit_test(test_silent_gateway_backs_off),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
