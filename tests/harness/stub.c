/* stub.c - the peer stand-in: accept, then in a thread per connection
 * read one request (headers and a Content-Length body), answer from the
 * table, close. A slow answer a caller gave up on thus never holds up
 * the next request. Test code only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stub.h"

#define REQ_MAX 65536

static const struct stub_route *table;
static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd = -1, stop_pipe[2] = {-1, -1};
static int served;
static int in_flight; /* connections being answered */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static char last[REQ_MAX + 1], last_path[1024], last_body[REQ_MAX + 1], header_value[1024];

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Read headers and body into buf: the length read, or -1. */
static int read_request(int fd, char *buf, size_t size)
{
	size_t got = 0, want = 0;
	char *end = NULL;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (end && got >= want)
			return (int)got;
	}
	return -1;
}

static int matches(const struct stub_route *r, const char *method, const char *path)
{
	size_t n = strlen(r->path);

	if (strcmp(r->method, method) != 0)
		return 0;
	if (n > 0 && r->path[n - 1] == '*')
		return strncmp(path, r->path, n - 1) == 0;
	return strcmp(path, r->path) == 0;
}

static void answer(int fd, const char *req)
{
	char method[16] = "", path[1024] = "", head[256];
	const struct stub_route *r = NULL;
	const char *body = "{\"detail\": \"Not Found\"}";
	int status = 404;

	sscanf(req, "%15s %1023s", method, path);
	for (const struct stub_route *t = table; t && t->method && r == NULL; t++)
		if (matches(t, method, path))
			r = t;
	pthread_mutex_lock(&lock);
	snprintf(last, sizeof(last), "%s", req);
	snprintf(last_path, sizeof(last_path), "%s", path);
	const char *b = strstr(req, "\r\n\r\n");
	snprintf(last_body, sizeof(last_body), "%s", b ? b + 4 : "");
	pthread_mutex_unlock(&lock);
	if (r) {
		if (r->delay_ms > 0)
			pause_ms(r->delay_ms);
		status = r->status;
		body = r->body ? r->body : "";
	}
	/* counted once the delay is over (a test waits on it for the stub to
	 * be free again) and before the answer (so a caller that has it sees
	 * the count) */
	pthread_mutex_lock(&lock);
	served++;
	pthread_mutex_unlock(&lock);
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d Stub\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                 status, strlen(body));
	/* MSG_NOSIGNAL: a caller that gave up (timeout) must not SIGPIPE the test */
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
	    send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
		return;
}

/* One connection, in a detached thread of its own. */
static void *answer_connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *req = malloc(REQ_MAX + 1);

	if (req && read_request(fd, req, REQ_MAX) > 0)
		answer(fd, req);
	free(req);
	close(fd);
	pthread_mutex_lock(&lock);
	in_flight--;
	pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *serve(void *arg)
{
	struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
	                      {.fd = stop_pipe[0], .events = POLLIN}};
	pthread_attr_t detached;
	pthread_t t;

	(void)arg;
	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN))
			break;
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&lock);
		in_flight++;
		pthread_mutex_unlock(&lock);
		if (pthread_create(&t, &detached, answer_connection, (void *)(intptr_t)fd) != 0)
			answer_connection((void *)(intptr_t)fd);
	}
	pthread_attr_destroy(&detached);
	return NULL;
}

int stub_start(const struct stub_route *routes)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1;

	table = routes;
	served = 0;
	last[0] = last_path[0] = last_body[0] = '\0';
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(listen_fd >= 0);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(listen_fd, 16), 0);
	assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(pipe(stop_pipe), 0);
	assert_int_equal(pthread_create(&thread, NULL, serve, NULL), 0);
	return ntohs(a.sin_port);
}

void stub_stop(void)
{
	if (listen_fd < 0)
		return;
	if (write(stop_pipe[1], "x", 1) < 0)
		abort();
	pthread_join(thread, NULL);
	/* let answers still being delayed finish: they use the table */
	pthread_mutex_lock(&lock);
	while (in_flight > 0)
		pthread_cond_wait(&idle, &lock);
	pthread_mutex_unlock(&lock);
	close(listen_fd);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
	table = NULL;
}

int stub_count(void)
{
	pthread_mutex_lock(&lock);
	int n = served;
	pthread_mutex_unlock(&lock);
	return n;
}

const char *stub_last_path(void)
{
	return last_path;
}

const char *stub_last_body(void)
{
	return last_body;
}

const char *stub_last_header(const char *name)
{
	size_t n = strlen(name);

	header_value[0] = '\0';
	for (const char *l = strstr(last, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			while (*v == ' ')
				v++;
			snprintf(header_value, sizeof(header_value), "%.*s",
			         (int)strcspn(v, "\r\n"), v);
			break;
		}
	}
	return header_value;
}
