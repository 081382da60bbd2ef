/* conf.c - read and check the environment once, at start-up, reporting
 * every problem at once. The shared settings are a table like any
 * service's; one reader handles every table. Only this module calls
 * getenv (through the function it is given). */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "cors.h"
#include "field.h"
#include "log.h"
#include "mem.h"
#include "service.h"

#define SEED_PLACEHOLDER "your-secret-key-here"
#define KEY_MIN          32
#define LANE_PORT_OFFSET 100 /* a lane on TCP listens this many ports above LISTEN */
#define LANE_NAME_MAX    48

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const poolers[] = {"none", "transaction", NULL};

#define SHARED(member) offsetof(struct conf, member)

/* The settings of every pool. LISTEN, WORKERS and MIGRATIONS_DIR get
 * defaults that depend on the service and the machine (see defaults). */
/* clang-format off */
static const struct conf_setting shared[] = {
	{.name = "LISTEN", .type = CONF_TEXT, .offset = SHARED(listen),
	 .help = "unix:/abs/path or host:port"},
	{.name = "WORKERS", .type = CONF_INT, .min = 1, .max = 256, .offset = SHARED(workers),
	 .help = "request children (default 2 per core)"},
	{.name = "MAX_REQUESTS", .type = CONF_INT, .def = "10000", .min = 1, .max = INT_MAX,
	 .offset = SHARED(max_requests), .help = "requests a child serves before it is replaced"},
	{.name = "DATABASE_URL", .type = CONF_TEXT, .flags = CONF_REQUIRED | CONF_SECRET,
	 .offset = SHARED(database_url), .help = "the service's PostgreSQL database"},
	{.name = "REDIS_URL", .type = CONF_TEXT, .flags = CONF_SECRET,
	 .def = "redis://127.0.0.1:6379/0", .offset = SHARED(redis_url),
	 .help = "redis://[:password@]host[:port][/db]"},
	{.name = "MIGRATIONS_DIR", .type = CONF_TEXT, .offset = SHARED(migrations_dir),
	 .help = "the service's migrations (default sql/<service>)"},
	{.name = "LOG_LEVEL", .type = CONF_ENUM, .def = "info", .values = log_levels,
	 .offset = SHARED(log_level), .help = "debug, info, warn or error"},
	{.name = "BODY_MAX", .type = CONF_INT, .def = "65536", .min = 1024, .max = 16 << 20,
	 .offset = SHARED(body_max), .help = "largest request body in bytes"},
	{.name = "DATABASE_POOLER", .type = CONF_ENUM, .def = "none", .values = poolers,
	 .offset = SHARED(db_pooler),
	 .help = "none, or transaction: DATABASE_URL is a PgBouncer in transaction mode"},
	{.name = "DB_TIMEOUT_MS", .type = CONF_INT, .def = "5000", .min = 100, .max = 600000,
	 .offset = SHARED(db_timeout_ms), .help = "PostgreSQL connect and statement timeout"},
	{.name = "CORS_ORIGINS", .type = CONF_TEXT, .offset = SHARED(cors_origins),
	 .check = cors_check_origins,
	 .help = "browser origins allowed to call the API, comma-separated (none: no CORS)"},
	{.name = "SOCKET_GROUP", .type = CONF_TEXT, .max = 64, .offset = SHARED(socket_group),
	 .help = "group given a unix LISTEN socket, mode 0660: nginx's (none: the pool's own)"},
	{.name = NULL},
};

static const struct conf_setting secret_key = {
	.name = "SECRET_KEY", .type = CONF_KEY, .flags = CONF_REQUIRED | CONF_SECRET,
	.offset = SHARED(secret_key), .help = "signs user tokens (HS256)"};
static const struct conf_setting service_key = {
	.name = "SERVICE_KEY", .type = CONF_KEY, .flags = CONF_REQUIRED | CONF_SECRET,
	.offset = SHARED(service_key), .help = "X-Service-Key of calls between services"};
/* Rotation: a key that is also accepted, so pools can be restarted one by
 * one onto a new key without refusing tokens or calls made with the other. */
static const struct conf_setting secret_key_accepted = {
	.name = "SECRET_KEY_ACCEPTED", .type = CONF_KEY, .flags = CONF_SECRET,
	.offset = SHARED(secret_key_accepted),
	.help = "during a rotation: tokens signed with this key are accepted too"};
static const struct conf_setting service_key_accepted = {
	.name = "SERVICE_KEY_ACCEPTED", .type = CONF_KEY, .flags = CONF_SECRET,
	.offset = SHARED(service_key_accepted),
	.help = "during a rotation: this X-Service-Key is accepted too"};
static const struct conf_setting service_timeout = {
	.name = "SERVICE_TIMEOUT_MS", .type = CONF_INT, .def = "2000", .min = 50, .max = 60000,
	.offset = SHARED(service_timeout_ms), .help = "hard timeout of a call to a peer"};
/* clang-format on */

/* The settings of a service's lane (service.h), named after it. */
struct lane_table {
	char names[3][LANE_NAME_MAX];
	char help[160];
	struct conf_setting s[4];
};

struct reader {
	conf_getenv_fn get;
	struct buf *errors;
	int bad;
};

const char *conf_getenv(const char *name)
{
	return getenv(name);
}

static void problem(struct reader *rd, const char *name, const char *why)
{
	buf_printf(rd->errors, "%s: %s\n", name, why);
	rd->bad = 1;
}

static const char *raw(struct reader *rd, const char *name)
{
	const char *v = rd->get(name);
	return v && *v ? v : NULL;
}

static int *int_at(void *base, const struct conf_setting *s)
{
	return (int *)((char *)base + s->offset);
}

static char **text_at(void *base, const struct conf_setting *s)
{
	return (char **)((char *)base + s->offset);
}

static void read_int(struct reader *rd, const struct conf_setting *s, const char *v, void *base)
{
	int64_t n;
	char why[96];

	if (field_parse_int64(v, s->min, s->max, &n) == 0) {
		*int_at(base, s) = (int)n;
		return;
	}
	snprintf(why, sizeof(why), "must be a whole number from %lld to %lld", (long long)s->min,
	         (long long)s->max);
	problem(rd, s->name, why);
}

static void read_enum(struct reader *rd, const struct conf_setting *s, const char *v, void *base)
{
	struct buf why;

	for (int i = 0; s->values[i]; i++)
		if (strcasecmp(v, s->values[i]) == 0) {
			*int_at(base, s) = i;
			return;
		}
	buf_init(&why);
	buf_adds(&why, "must be ");
	for (int i = 0; s->values[i]; i++)
		buf_printf(&why, "%s%s",
		           i == 0             ? ""
		           : s->values[i + 1] ? ", "
		                              : " or ",
		           s->values[i]);
	problem(rd, s->name, buf_str(&why));
	buf_release(&why);
}

static const char *text_problem(const struct conf_setting *s, const char *v)
{
	size_t n = strlen(v);

	if (s->type == CONF_URL && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return "must start with http:// or https://";
	if (s->type == CONF_KEY && n < KEY_MIN)
		return "must be at least 32 bytes";
	if (s->type == CONF_KEY && strcmp(v, SEED_PLACEHOLDER) == 0)
		return "is the published placeholder; generate a secret";
	if (s->max > 0 && ((int64_t)n < s->min || (int64_t)n > s->max))
		return "has the wrong length";
	return NULL;
}

static void read_text(struct reader *rd, const struct conf_setting *s, const char *v, void *base)
{
	const char *why = text_problem(s, v);

	if (why == NULL && s->check)
		why = s->check(v);
	if (why)
		problem(rd, s->name, why);
	free(*text_at(base, s));
	*text_at(base, s) = xstrdup(v);
}

/* Read one setting into base; its default when unset. */
static void read_setting(struct reader *rd, const struct conf_setting *s, void *base)
{
	const char *v = raw(rd, s->name);

	if (v == NULL && (s->flags & CONF_REQUIRED))
		problem(rd, s->name, "is required");
	if (v == NULL)
		v = s->def;
	if (v == NULL)
		return;
	switch (s->type) {
	case CONF_INT:
		read_int(rd, s, v, base);
		break;
	case CONF_ENUM:
		read_enum(rd, s, v, base);
		break;
	default:
		read_text(rd, s, v, base);
	}
}

static void read_table(struct reader *rd, const struct conf_setting *t, void *base)
{
	for (; t && t->name; t++)
		read_setting(rd, t, base);
}

static int route_flags(const struct service *svc)
{
	int flags = 0;

	for (const struct route *r = svc->routes; r && r->method; r++)
		flags |= r->flags;
	return flags;
}

static int needs_secret_key(const struct service *svc)
{
	return (route_flags(svc) & (ROUTE_USER | ROUTE_ADMIN)) != 0;
}

static int has_peers(const struct service *svc)
{
	return svc->peers && svc->peers[0].name;
}

static int needs_service_key(const struct service *svc)
{
	return (route_flags(svc) & ROUTE_SERVICE) || has_peers(svc);
}

static void defaults(struct conf *c, const struct service *svc)
{
	char text[256];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(text, sizeof(text), "unix:/run/flightops/%s.sock", svc->name);
	c->listen = xstrdup(text);
	snprintf(text, sizeof(text), "sql/%s", svc->name);
	c->migrations_dir = xstrdup(text);
	c->workers = cores > 0 ? (int)(cores * 2) : 4;
}

static void read_peers(struct reader *rd, struct conf *c, const struct service *svc)
{
	int n = 0;

	while (svc->peers[n].name)
		n++;
	c->peers = svc->peers;
	c->peer_urls = xcalloc((size_t)n + 1, sizeof(*c->peer_urls));
	for (int i = 0; i < n; i++) {
		struct conf_setting s = {
		        .name = svc->peers[i].setting, .type = CONF_URL, .def = svc->peers[i].def};
		char *url = NULL;
		read_setting(rd, &s, &url);
		c->peer_urls[i] = url;
	}
}

static void lane_setting_name(char *out, const char *lane, const char *suffix)
{
	size_t i = 0;

	for (; lane[i] && i < LANE_NAME_MAX - 16; i++)
		out[i] = (char)toupper((unsigned char)lane[i]);
	snprintf(out + i, LANE_NAME_MAX - i, "_%s", suffix);
}

/* <LANE>_LISTEN and <LANE>_WORKERS have no fixed default: conf_load
 * derives them from LISTEN and the machine before reading (as defaults()
 * does for LISTEN and WORKERS), so --settings shows none. */
static void lane_table(const struct service *svc, struct lane_table *t)
{
	const char *lane = svc->lane->name;

	memset(t, 0, sizeof(*t));
	lane_setting_name(t->names[0], lane, "LISTEN");
	lane_setting_name(t->names[1], lane, "WORKERS");
	lane_setting_name(t->names[2], lane, "NICE");
	snprintf(t->help, sizeof(t->help),
	         "socket of the %s lane's children (default: LISTEN's with -%s.sock, or its "
	         "port + %d)",
	         lane, lane, LANE_PORT_OFFSET);
	t->s[0] = (struct conf_setting){.name = t->names[0],
	                                .type = CONF_TEXT,
	                                .offset = SHARED(lane_listen),
	                                .help = t->help};
	t->s[1] = (struct conf_setting){.name = t->names[1],
	                                .type = CONF_INT,
	                                .min = 1,
	                                .max = 256,
	                                .offset = SHARED(lane_workers),
	                                .help = "children of that lane (default one per core)"};
	t->s[2] = (struct conf_setting){
	        .name = t->names[2],
	        .type = CONF_INT,
	        .def = "10",
	        .min = 0,
	        .max = 19,
	        .offset = SHARED(lane_nice),
	        .help = "nice value of that lane's children: the other children win the CPU"};
}

int conf_lane_listen(const char *listen, const char *lane, char *out, size_t outlen)
{
	size_t n = strlen(listen);
	int len;

	if (strncmp(listen, "unix:", 5) == 0) {
		int sock = n > 10 && strcmp(listen + n - 5, ".sock") == 0;
		len = snprintf(out, outlen, "%.*s-%s%s", (int)(sock ? n - 5 : n), listen, lane,
		               sock ? ".sock" : "");
	} else {
		const char *colon = strrchr(listen, ':');
		int64_t port;
		if (colon == NULL || colon == listen ||
		    field_parse_int64(colon + 1, 1, 65535 - LANE_PORT_OFFSET, &port) < 0)
			return -1;
		len = snprintf(out, outlen, "%.*s:%lld", (int)(colon - listen), listen,
		               (long long)(port + LANE_PORT_OFFSET));
	}
	return len < 0 || (size_t)len >= outlen ? -1 : 0;
}

static void read_lane(struct reader *rd, struct conf *c, const struct service *svc)
{
	struct lane_table t;
	char derived[256];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	lane_table(svc, &t);
	if (conf_lane_listen(c->listen, svc->lane->name, derived, sizeof(derived)) == 0)
		c->lane_listen = xstrdup(derived);
	c->lane_workers = cores > 0 ? (int)cores : 2;
	read_table(rd, t.s, c);
	if (c->lane_listen == NULL)
		problem(rd, t.names[0], "has no default beside this LISTEN: set it");
	else if (strcmp(c->lane_listen, c->listen) == 0)
		problem(rd, t.names[0], "must differ from LISTEN");
}

int conf_load(struct conf *c, const struct service *svc, conf_getenv_fn get, struct buf *errors)
{
	struct reader rd = {get, errors, 0};

	memset(c, 0, sizeof(*c));
	c->service = svc->name;
	defaults(c, svc);
	read_table(&rd, shared, c);
	if (svc->lane)
		read_lane(&rd, c, svc);
	if (needs_secret_key(svc)) {
		read_setting(&rd, &secret_key, c);
		read_setting(&rd, &secret_key_accepted, c);
	}
	if (needs_service_key(svc)) {
		read_setting(&rd, &service_key, c);
		read_setting(&rd, &service_key_accepted, c);
	}
	if (c->secret_key && c->service_key && strcmp(c->secret_key, c->service_key) == 0)
		problem(&rd, "SERVICE_KEY", "must differ from SECRET_KEY");
	if (has_peers(svc)) {
		read_setting(&rd, &service_timeout, c);
		read_peers(&rd, c, svc);
	}
	read_table(&rd, svc->settings, svc->settings_data);
	if (svc->check && svc->settings_data) {
		size_t before = errors->len;
		svc->check(svc->settings_data, errors);
		rd.bad |= errors->len != before;
	}
	return rd.bad ? -1 : 0;
}

static void release_table(const struct conf_setting *t, void *base)
{
	for (; base && t && t->name; t++) {
		if (t->type == CONF_INT || t->type == CONF_ENUM) {
			*int_at(base, t) = 0;
			continue;
		}
		free(*text_at(base, t));
		*text_at(base, t) = NULL;
	}
}

void conf_release(struct conf *c, const struct service *svc)
{
	release_table(shared, c);
	free(c->lane_listen);
	free(c->secret_key);
	free(c->service_key);
	free(c->secret_key_accepted);
	free(c->service_key_accepted);
	for (int i = 0; c->peer_urls && c->peers[i].name; i++)
		free(c->peer_urls[i]);
	free(c->peer_urls);
	if (svc)
		release_table(svc->settings, svc->settings_data);
	memset(c, 0, sizeof(*c));
}

static void describe_one(struct buf *out, const struct conf_setting *s)
{
	buf_printf(out, "%s\t%s\t%s\t%s\t%s\n", s->name,
	           s->flags & CONF_SECRET ? "secret" : "plain",
	           s->flags & CONF_REQUIRED ? "required" : "optional", s->def ? s->def : "-",
	           s->help ? s->help : "");
}

void conf_describe(const struct service *svc, struct buf *out)
{
	for (const struct conf_setting *s = shared; s->name; s++)
		describe_one(out, s);
	if (svc->lane) {
		struct lane_table t;
		lane_table(svc, &t);
		for (const struct conf_setting *s = t.s; s->name; s++)
			describe_one(out, s);
	}
	if (needs_secret_key(svc)) {
		describe_one(out, &secret_key);
		describe_one(out, &secret_key_accepted);
	}
	if (needs_service_key(svc)) {
		describe_one(out, &service_key);
		describe_one(out, &service_key_accepted);
	}
	if (has_peers(svc)) {
		describe_one(out, &service_timeout);
		for (const struct conf_peer *p = svc->peers; p->name; p++)
			buf_printf(out, "%s\tplain\toptional\t%s\twhere the %s service answers\n",
			           p->setting, p->def ? p->def : "-", p->name);
	}
	for (const struct conf_setting *s = svc->settings; s && s->name; s++)
		describe_one(out, s);
}

const char *conf_peer_url(const struct conf *c, const char *name)
{
	for (int i = 0; c->peers && c->peers[i].name; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return c->peer_urls[i];
	return NULL;
}

const char *conf_check_address(const char *value)
{
	if (strchr(value, '@') == NULL || strpbrk(value, "\r\n<> "))
		return "must be a bare address like no-reply@example.com";
	return NULL;
}
