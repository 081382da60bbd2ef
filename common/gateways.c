/* gateways.c - calls to every gateway of a list, pipelined on one kept
 * connection per gateway address (gateways.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "gateways.h"
#include "log.h"

static const char SEPARATORS[] = " \t,";
/* Queued requests per gateway before a send is forced (a republish of a
 * whole flight's seats is 853 of them). */
#define QUEUE_MAX 256

const char *gateways_check(const char *value)
{
	int n = 0;

	for (const char *p = value + strspn(value, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		size_t len = strcspn(p, SEPARATORS);
		/* the gateways' publisher ports speak plain HTTP (site.conf.in):
		 * they are reachable from the pools' hosts only */
		if (strncmp(p, "http://", 7) != 0)
			return "must be http:// URLs, separated by spaces or commas";
		if (len > GATEWAY_URL_MAX)
			return "has a URL that is too long";
		const char *host = p + 7;
		size_t hostlen = strcspn(host, "/ \t,");
		if (hostlen == 0 || hostlen > 255)
			return "has a URL without a host";
		if (++n > GATEWAYS_MAX)
			return "lists more than 16 gateways";
		p += len;
	}
	return NULL;
}

/* One gateway address: its kept connection and what is queued for it. */
struct conn {
	char host[256]; /* as written, without [] around an IPv6 address */
	char port[8];
	int fd; /* -1: none */
	int64_t retry_at;
	struct buf out;           /* the queued requests, as sent */
	size_t starts[QUEUE_MAX]; /* where each begins in out (its request line) */
	int n;
};

static struct conn conns[GATEWAYS_MAX];
static int nconns;

/* The connection of the address that url (http://host[:port]/path)
 * names, made on first use; *path the URL's path. NULL when full. */
static struct conn *conn_of(const char *url, size_t len, const char **path)
{
	const char *h = url + 7, *end = url + len;
	const char *hostend, *portp = NULL;
	char host[256], port[8] = "80";

	if (*h == '[') {
		hostend = memchr(h, ']', (size_t)(end - h));
		if (hostend == NULL)
			return NULL;
		h++;
		portp = hostend + 1;
	} else {
		hostend = h + strcspn(h, ":/");
		if (hostend > end)
			hostend = end;
		portp = hostend;
	}
	*path = portp + strcspn(portp, "/");
	if (*path > end)
		*path = end;
	if (portp < end && *portp == ':')
		snprintf(port, sizeof(port), "%.*s", (int)(*path - portp - 1), portp + 1);
	snprintf(host, sizeof(host), "%.*s", (int)(hostend - h), h);
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].host, host) == 0 && strcmp(conns[i].port, port) == 0)
			return &conns[i];
	if (nconns == GATEWAYS_MAX)
		return NULL;
	struct conn *c = &conns[nconns++];
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%s", port);
	c->fd = -1;
	buf_init(&c->out);
	return c;
}

/* Request i's method and path ("POST /flights/7"), for the log. */
static void name_of(const struct conn *c, int i, char *out, size_t outlen)
{
	const char *line = c->out.data + c->starts[i];

	snprintf(out, outlen, "%.*s", (int)(strstr(line, " HTTP/1.1\r\n") - line), line);
}

/* Whether a 404 is a fine answer to request i: a PURGE of nothing kept. */
static int may_404(const struct conn *c, int i)
{
	return strncmp(c->out.data + c->starts[i], "PURGE ", 6) == 0;
}

static void drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Wait until fd is ready for events or the deadline: 1, or 0 on timeout
 * or error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - clock_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 1;
		if (rc == 0 || errno != EINTR)
			return 0;
	}
}

/* A new non-blocking connection to c: 0, or -1 with *why. */
static int connect_to(struct conn *c, int64_t deadline, const char **why)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;

	if (getaddrinfo(c->host, c->port, &hints, &ai) != 0) {
		*why = "unknown host";
		return -1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && fd >= 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
		int err = 0;
		socklen_t len = sizeof(err);
		rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
	}
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		*why = "cannot connect";
		return -1;
	}
	c->fd = fd;
	return 0;
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			if (!wait_fd(fd, POLLOUT, deadline))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* One answer at the start of in (len bytes): its length (head and body),
 * 0 when incomplete, -1 when it cannot be read (chunked, malformed). Its
 * status into *status, whether it closes the connection into *closes. */
static long answer(const char *in, size_t len, int *status, int *closes)
{
	const char *end = memmem(in, len, "\r\n\r\n", 4);

	if (end == NULL)
		return len > 16384 ? -1 : 0;
	if (len < 12 || strncmp(in, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(in + 9);
	*closes = in[7] == '0';
	long body = -1;
	for (const char *l = memchr(in, '\n', (size_t)(end - in)); l && l < end;
	     l = memchr(l + 1, '\n', (size_t)(end - l))) {
		const char *h = l + 1;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			body = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "Connection:", 11) == 0)
			*closes = strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0;
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
			return -1;
	}
	if (body < 0)
		return -1;
	size_t total = (size_t)(end + 4 - in) + (size_t)body;
	return total <= len ? (long)total : 0;
}

/* Send c's requests from the first'th on and read their answers: the
 * index of the first request not answered (c->n when all were), with
 * *why set when the exchange broke off. Failed answers are logged. */
static int exchange(struct conn *c, int first, int64_t deadline, const char **why, int *bad)
{
	struct buf in;
	int done = first;

	if (write_all(c->fd, c->out.data + c->starts[first], c->out.len - c->starts[first],
	              deadline) < 0) {
		*why = "cannot send";
		return first;
	}
	buf_init(&in);
	size_t at = 0;
	while (done < c->n) {
		int status = 0, closes = 0;
		long got = in.len > at ? answer(in.data + at, in.len - at, &status, &closes) : 0;
		if (got < 0) {
			*why = "unreadable answer";
			break;
		}
		if (got > 0) {
			if (!((status >= 200 && status <= 299) ||
			      (status == 404 && may_404(c, done)))) {
				char code[16], name[GATEWAY_URL_MAX];
				snprintf(code, sizeof(code), "%d", status);
				name_of(c, done, name, sizeof(name));
				log_warn("gateway call failed", "gateway", c->host, "port", c->port,
				         "request", name, "http_status", code);
				(*bad)++;
			}
			at += (size_t)got;
			done++;
			if (closes) {
				/* keepalive_requests reached: what is left goes again */
				if (done < c->n)
					*why = "closed by the gateway";
				else
					drop(c);
				break;
			}
			continue;
		}
		char chunk[4096];
		ssize_t r = recv(c->fd, chunk, sizeof(chunk), 0);
		if (r > 0) {
			buf_add(&in, chunk, (size_t)r);
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno == EAGAIN) {
			if (!wait_fd(c->fd, POLLIN, deadline)) {
				*why = "timed out";
				break;
			}
		} else {
			*why = "closed by the gateway";
			break;
		}
	}
	if (done == c->n && at < in.len && *why == NULL)
		*why = "answered more than asked"; /* out of step: start afresh */
	buf_release(&in);
	return done;
}

/* Send c's queue: how many of its requests were not answered fine. */
static int send_conn(struct conn *c)
{
	int64_t now = clock_ms(), deadline = now + GATEWAY_TIMEOUT_MS;
	const char *why = NULL;
	int done = 0, bad = 0;

	if (c->retry_at > now) {
		bad = c->n;
		goto out;
	}
	/* A kept connection the gateway closed meanwhile (keepalive_timeout)
	 * fails at once, and one may be closed after some answers
	 * (keepalive_requests): the unanswered requests go again on a new
	 * connection, once. A publish or a purge sent twice does no harm. */
	for (int tries = 0; tries < 2 && done < c->n; tries++) {
		int fresh = c->fd < 0, before = done;
		why = NULL;
		if (fresh && connect_to(c, deadline, &why) < 0)
			break;
		done = exchange(c, done, deadline, &why, &bad);
		if (why)
			drop(c);
		if (why == NULL || (fresh && done == before))
			break;
	}
	if (why) {
		char name[GATEWAY_URL_MAX];
		name_of(c, done < c->n ? done : c->n - 1, name, sizeof(name));
		log_warn("gateway call failed", "gateway", c->host, "port", c->port, "request",
		         name, "error", why);
		if (done < c->n)
			c->retry_at = now + GATEWAY_BACKOFF_MS;
		bad += c->n - done;
	}
out:
	buf_reset(&c->out);
	c->n = 0;
	return bad;
}

void gateways_add(const char *urls, const char *method, const char *suffix, const char *body)
{
	const char *p = urls;

	if (p == NULL)
		return;
	for (int i = 0; i < GATEWAYS_MAX && *(p += strspn(p, SEPARATORS)); i++) {
		size_t len = strcspn(p, SEPARATORS);
		const char *path;
		struct conn *c = strncmp(p, "http://", 7) == 0 ? conn_of(p, len, &path) : NULL;
		if (c != NULL) {
			if (c->n == QUEUE_MAX)
				(void)send_conn(c);
			int pathlen = (int)(p + len - path);
			size_t bodylen = body ? strlen(body) : 0;
			c->starts[c->n] = c->out.len;
			int v6 = strchr(c->host, ':') != NULL;
			buf_printf(&c->out, "%s %.*s/%s HTTP/1.1\r\nHost: %s%s%s\r\n", method,
			           pathlen, path, suffix, v6 ? "[" : "", c->host, v6 ? "]" : "");
			if (body)
				buf_printf(&c->out,
				           "Content-Type: application/json\r\nContent-Length: "
				           "%zu\r\n\r\n",
				           bodylen);
			else
				buf_adds(&c->out, "Content-Length: 0\r\n\r\n");
			buf_add(&c->out, body ? body : "", bodylen);
			c->n++;
		}
		p += len;
	}
}

int gateways_send(void)
{
	int bad = 0;

	for (int i = 0; i < nconns; i++)
		if (conns[i].n)
			bad += send_conn(&conns[i]);
	return bad;
}
