/* kv.c - Redis access for caches, locks and rate limits. Every call has
 * a timeout; after a failure the connection is dropped and not retried
 * for a short while, so a Redis outage costs callers one fast error each,
 * never a hang. Callers decide what a failure means (fail open for a
 * cache, fall back to PostgreSQL for a lock). */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "kv.h"
#include "log.h"
#include "mem.h"

#define RETRY_MS 500

struct kv {
	redisContext *c;
	struct kv_url url;
	int timeout_ms;
	long long retry_at; /* monotonic ms before which we do not reconnect */
};

static int parse_auth(const char **p, struct kv_url *out)
{
	const char *at = strchr(*p, '@');

	if (at == NULL)
		return 0;
	const char *colon = memchr(*p, ':', (size_t)(at - *p));
	const char *pw = colon ? colon + 1 : *p;
	size_t len = (size_t)(at - pw);
	if (len >= sizeof(out->password))
		return -1;
	memcpy(out->password, pw, len);
	out->password[len] = '\0';
	*p = at + 1;
	return 0;
}

int kv_parse_url(const char *url, struct kv_url *out)
{
	const char *p = url;
	char *end;

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (url == NULL || strncmp(p, "redis://", 8) != 0)
		return -1;
	p += 8;
	if (parse_auth(&p, out) < 0)
		return -1;
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof(out->host))
		return -1;
	memcpy(out->host, p, hl);
	out->host[hl] = '\0';
	p += hl;
	if (*p == ':') {
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return -1;
		out->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		long db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0' || db < 0 || db > 15)
			return -1;
		out->db = (int)db;
		p = end;
	} else if (*p == '/') {
		p++;
	}
	return *p == '\0' ? 0 : -1;
}

struct kv *kv_new(const char *url, int timeout_ms)
{
	struct kv *k = xcalloc(1, sizeof(*k));

	if (kv_parse_url(url, &k->url) < 0) {
		free(k);
		return NULL;
	}
	k->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
	return k;
}

static void drop(struct kv *k)
{
	if (k->c)
		redisFree(k->c);
	k->c = NULL;
	k->retry_at = clock_ms() + RETRY_MS;
}

void kv_free(struct kv *k)
{
	if (k == NULL)
		return;
	if (k->c)
		redisFree(k->c);
	free(k);
}

static int handshake(struct kv *k)
{
	redisReply *r;

	if (k->url.password[0]) {
		r = redisCommand(k->c, "AUTH %s", k->url.password);
		int ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!ok)
			return -1;
	}
	if (k->url.db) {
		r = redisCommand(k->c, "SELECT %d", k->url.db);
		int ok = r && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (!ok)
			return -1;
	}
	return 0;
}

/* Whether Redis closed the kept connection meanwhile (a restart, its
 * timeout): its end of file is waiting to be read. Checked before each
 * command, so that the command goes on a new connection instead of
 * failing on the old one (a poll that finds nothing costs about a
 * microsecond). */
static int closed_by_server(const redisContext *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	char byte;

	return poll(&p, 1, 0) == 1 && ((p.revents & (POLLERR | POLLHUP)) ||
	                               recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0);
}

static int ready(struct kv *k)
{
	struct timeval tv = {k->timeout_ms / 1000, (k->timeout_ms % 1000) * 1000};

	if (k->c && closed_by_server(k->c)) {
		redisFree(k->c);
		k->c = NULL;
	}
	if (k->c)
		return 0;
	if (clock_ms() < k->retry_at)
		return -1;
	k->c = redisConnectWithTimeout(k->url.host, k->url.port, tv);
	if (k->c == NULL || k->c->err || redisSetTimeout(k->c, tv) != REDIS_OK ||
	    handshake(k) < 0) {
		log_warn("redis connect failed", "error", k->c ? k->c->errstr : "out of memory");
		drop(k);
		return -1;
	}
	return 0;
}

/* A reply as commands give it: r, or NULL (logged) when the command
 * failed (the connection is dropped) or Redis answered an error. */
static redisReply *checked(struct kv *k, redisReply *r)
{
	if (r == NULL) {
		log_warn("redis command failed", "error", k->c->errstr);
		drop(k);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("redis error reply", "error", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Run a command; the reply (to freeReplyObject) or NULL on any error. */
static redisReply *command(struct kv *k, const char *fmt, ...)
{
	va_list ap;

	if (ready(k) < 0)
		return NULL;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(k->c, fmt, ap);
	va_end(ap);
	return checked(k, r);
}

int kv_ping(struct kv *k)
{
	redisReply *r = command(k, "PING");
	int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

	freeReplyObject(r);
	return ok ? 0 : -1;
}

static int integer_reply(redisReply *r, long long *value)
{
	int ok = r && r->type == REDIS_REPLY_INTEGER;

	if (ok)
		*value = r->integer;
	freeReplyObject(r);
	return ok ? 0 : -1;
}

int kv_incr_window(struct kv *k, const char *key, int ttl, long long *value)
{
	static const char script[] = "local v = redis.call('INCR', KEYS[1]) "
	                             "if v == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
	                             "return v";

	return integer_reply(command(k, "EVAL %s 1 %s %d", script, key, ttl), value);
}

int kv_set_many(struct kv *k, const char *const *keys, const char *const *values, int n,
                long long ms)
{
	int rc = 0, sent = 0;

	if (n <= 0)
		return 0;
	if (ready(k) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (redisAppendCommand(k->c, "SET %s %s PX %lld", keys[i], values[i], ms) !=
		    REDIS_OK)
			rc = -1;
		else
			sent++;
	}
	/* every reply is read, so the connection stays in step */
	for (int i = 0; i < sent; i++) {
		redisReply *r = NULL;
		if (k->c == NULL || redisGetReply(k->c, (void **)&r) != REDIS_OK || r == NULL) {
			log_warn("redis command failed", "error", k->c ? k->c->errstr : "");
			drop(k);
			return -1;
		}
		if (r->type != REDIS_REPLY_STATUS)
			rc = -1;
		freeReplyObject(r);
	}
	return rc;
}

int kv_del_set(struct kv *k, const char *del_key, const char *set_key, const char *value,
               long long ms)
{
	static const char script[] = "redis.call('DEL', KEYS[1]) "
	                             "redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) "
	                             "return 1";
	long long n;

	return integer_reply(
	        command(k, "EVAL %s 2 %s %s %s %lld", script, del_key, set_key, value, ms), &n);
}

int kv_get_int(struct kv *k, const char *key, long long *value)
{
	redisReply *r = command(k, "GET %s", key);
	int rc = -1;

	if (r && r->type == REDIS_REPLY_NIL) {
		*value = 0;
		rc = 0;
	} else if (r && r->type == REDIS_REPLY_STRING) {
		char *end;
		*value = strtoll(r->str, &end, 10);
		rc = *end == '\0' ? 0 : -1;
	}
	freeReplyObject(r);
	return rc;
}

int kv_ttl(struct kv *k, const char *key, long long *ttl)
{
	return integer_reply(command(k, "TTL %s", key), ttl);
}

int kv_del(struct kv *k, const char *key)
{
	long long n;
	return integer_reply(command(k, "DEL %s", key), &n);
}

int kv_get(struct kv *k, const char *key, char *out, size_t outlen)
{
	redisReply *r = command(k, "GET %s", key);
	int rc = -1;

	if (r && r->type == REDIS_REPLY_NIL) {
		rc = 0;
	} else if (r && r->type == REDIS_REPLY_STRING && r->len < outlen) {
		memcpy(out, r->str, r->len);
		out[r->len] = '\0';
		rc = 1;
	}
	freeReplyObject(r);
	return rc;
}

int kv_set(struct kv *k, const char *key, const char *value, size_t len, long long ms, int nx)
{
	redisReply *r;

	if (ms > 0 && nx)
		r = command(k, "SET %s %b PX %lld NX", key, value, len, ms);
	else if (ms > 0)
		r = command(k, "SET %s %b PX %lld", key, value, len, ms);
	else if (nx)
		r = command(k, "SET %s %b NX", key, value, len);
	else
		r = command(k, "SET %s %b", key, value, len);
	if (r == NULL)
		return -1;
	int rc = r->type == REDIS_REPLY_STATUS ? 1 : r->type == REDIS_REPLY_NIL ? 0 : -1;
	freeReplyObject(r);
	return rc;
}

int kv_incr(struct kv *k, const char *key, long long *value)
{
	return integer_reply(command(k, "INCR %s", key), value);
}

int kv_sadd(struct kv *k, const char *key, const char *member)
{
	long long n;
	return integer_reply(command(k, "SADD %s %s", key, member), &n);
}

int kv_sadd_existing(struct kv *k, const char *key, const char *member)
{
	static const char script[] = "if redis.call('EXISTS', KEYS[1]) == 1 then "
	                             "return redis.call('SADD', KEYS[1], ARGV[1]) end return 0";
	long long n;

	return integer_reply(command(k, "EVAL %s 1 %s %s", script, key, member), &n);
}

int kv_srem(struct kv *k, const char *key, const char *member)
{
	long long n;
	return integer_reply(command(k, "SREM %s %s", key, member), &n);
}

int kv_scard_many(struct kv *k, const char *const *keys, int n, long long *out)
{
	redisReply *r;
	int rc = 0;

	if (ready(k) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		redisAppendCommand(k->c, "SCARD %s", keys[i]);
	for (int i = 0; i < n; i++) {
		if (redisGetReply(k->c, (void **)&r) != REDIS_OK || r == NULL) {
			drop(k);
			return -1;
		}
		if (r->type == REDIS_REPLY_INTEGER)
			out[i] = r->integer;
		else
			rc = -1;
		freeReplyObject(r);
	}
	return rc;
}

int kv_set_replace(struct kv *k, const char *key, const char *const *members, int n, int ttl)
{
	redisReply *r;
	int rc = 0;

	if (ready(k) < 0)
		return -1;
	redisAppendCommand(k->c, "MULTI");
	redisAppendCommand(k->c, "DEL %s", key);
	for (int i = 0; i < n; i++)
		redisAppendCommand(k->c, "SADD %s %s", key, members[i]);
	if (ttl > 0)
		redisAppendCommand(k->c, "EXPIRE %s %d", key, ttl);
	redisAppendCommand(k->c, "EXEC");
	for (int i = 0; i < n + 3 + (ttl > 0); i++) {
		if (redisGetReply(k->c, (void **)&r) != REDIS_OK || r == NULL) {
			drop(k);
			return -1;
		}
		if (r->type == REDIS_REPLY_ERROR)
			rc = -1;
		freeReplyObject(r);
	}
	return rc;
}

int kv_mget(struct kv *k, const char *const *keys, int n, char **out)
{
	const char **argv = xcalloc((size_t)n + 1, sizeof(*argv));
	int rc = -1;

	for (int i = 0; i < n; i++)
		out[i] = NULL;
	if (ready(k) < 0) {
		free(argv);
		return -1;
	}
	argv[0] = "MGET";
	for (int i = 0; i < n; i++)
		argv[i + 1] = keys[i];
	redisReply *r = checked(k, redisCommandArgv(k->c, n + 1, argv, NULL));
	free(argv);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n) {
		for (int i = 0; i < n; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING)
				out[i] = xstrdup(r->element[i]->str);
		rc = 0;
	}
	freeReplyObject(r);
	return rc;
}

/* EVAL script over n keys and one or two arguments: the reply (to
 * freeReplyObject) or NULL, as command() gives. */
#define KEYS_MAX 16
static redisReply *eval_keys(struct kv *k, const char *script, const char *const *keys, int n,
                             const char *arg1, const char *arg2)
{
	const char *argv[KEYS_MAX + 5];
	char count[8];
	int argc = 0;

	if (n < 1 || n > KEYS_MAX || ready(k) < 0)
		return NULL;
	snprintf(count, sizeof(count), "%d", n);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = count;
	for (int i = 0; i < n; i++)
		argv[argc++] = keys[i];
	argv[argc++] = arg1;
	if (arg2)
		argv[argc++] = arg2;
	return checked(k, redisCommandArgv(k->c, argc, argv, NULL));
}

int kv_lock_all(struct kv *k, const char *const *keys, int n, const char *owner, long long ms,
                int *busy)
{
	/* For each key: SET NX, or take a lock that would outlive ms
	 * (kv.h); when one is held, none is kept. The answer: the 1-based
	 * place of each held key, and minus the place of each overruled one. */
	static const char script[] =
	        "local held, got, out = false, {}, {} "
	        "for i, key in ipairs(KEYS) do "
	        "  if redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'NX') then got[#got + 1] = "
	        "key "
	        "  else "
	        "    local left = redis.call('PTTL', key) "
	        "    if left == -1 or left > tonumber(ARGV[2]) then "
	        "      redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) got[#got + 1] = key "
	        "      out[#out + 1] = -i "
	        "    else held = true out[#out + 1] = i end "
	        "  end "
	        "end "
	        "if held then for _, key in ipairs(got) do redis.call('DEL', key) end end "
	        "return out";
	char ttl[24];
	int all = 1;

	snprintf(ttl, sizeof(ttl), "%lld", ms);
	redisReply *r = eval_keys(k, script, keys, n, owner, ttl);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	for (int i = 0; i < n; i++)
		busy[i] = 0;
	for (size_t j = 0; j < r->elements; j++) {
		long long at =
		        r->element[j]->type == REDIS_REPLY_INTEGER ? r->element[j]->integer : 0;
		if (at > 0 && at <= n) {
			busy[at - 1] = 1;
			all = 0;
		} else if (at < 0 && -at <= n) {
			log_warn("lock overruled", "key", keys[-at - 1], "reason",
			         "it outlived any request");
		}
	}
	freeReplyObject(r);
	return all;
}

int kv_del_if_all(struct kv *k, const char *const *keys, int n, const char *owner)
{
	static const char script[] = "local n = 0 "
	                             "for _, key in ipairs(KEYS) do "
	                             "  if redis.call('GET', key) == ARGV[1] then "
	                             "    n = n + redis.call('DEL', key) end "
	                             "end "
	                             "return n";
	long long n_deleted;

	if (integer_reply(eval_keys(k, script, keys, n, owner, NULL), &n_deleted) < 0)
		return -1;
	return (int)n_deleted;
}

int kv_run_id(struct kv *k, char *out, size_t outlen)
{
	redisReply *r = command(k, "INFO server");
	int rc = -1;

	if (r && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "run_id:");
		if (p) {
			p += 7;
			size_t len = strcspn(p, "\r\n");
			if (len > 0 && len < outlen) {
				memcpy(out, p, len);
				out[len] = '\0';
				rc = 0;
			}
		}
	}
	freeReplyObject(r);
	return rc;
}

int kv_del_match(struct kv *k, const char *pattern, long long *n)
{
	char cursor[32] = "0";

	*n = 0;
	/* bounded: a keyspace this loop cannot walk in 1000 pages is not ours */
	for (int page = 0; page < 1000; page++) {
		redisReply *r = command(k, "SCAN %s MATCH %s COUNT 500", cursor, pattern);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		redisReply *keys = r->element[1];
		for (size_t i = 0; i < keys->elements; i++) {
			long long d;
			if (keys->element[i]->type == REDIS_REPLY_STRING &&
			    integer_reply(command(k, "DEL %s", keys->element[i]->str), &d) == 0)
				*n += d;
		}
		freeReplyObject(r);
		if (strcmp(cursor, "0") == 0)
			return 0;
	}
	return 0;
}
