/* metrics.c - a fixed table of series in shared anonymous memory. A slot
 * is claimed once with a compare-and-swap and never freed, so readers and
 * writers in any process of the pool need no lock. It does not expire
 * series: keep label values bounded (route patterns, not raw paths). */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"
#include "metrics.h"

#define NBUCKETS   12
#define NAME_MAX_  48
#define LABELS_MAX 176
#define SPIN_MAX   100000

enum slot_state { SLOT_FREE, SLOT_CLAIMING, SLOT_READY };
enum slot_kind { KIND_COUNTER = 1, KIND_HTTP = 2 };

static const double bucket_bounds[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
static const char *const bucket_labels[NBUCKETS] = {
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"};

struct slot {
	_Atomic uint32_t state;
	uint32_t kind;
	uint64_t hash;
	char name[NAME_MAX_];
	char labels[LABELS_MAX];
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
	_Atomic uint64_t buckets[NBUCKETS];
};

struct metrics {
	size_t size; /* bytes mapped */
	size_t nslots;
	_Atomic uint64_t dropped;
	struct slot slots[];
};

struct metrics *metrics_new(size_t slots)
{
	size_t size = sizeof(struct metrics) + slots * sizeof(struct slot);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || slots == 0)
		return NULL;
	struct metrics *m = p;
	m->size = size;
	m->nslots = slots;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m)
		munmap(m, m->size);
}

static uint64_t hash_series(const char *name, const char *labels)
{
	return hash_str(hash_bytes(hash_str(HASH_SEED, name), "{", 1), labels);
}

static int slot_is(struct slot *s, uint32_t kind, uint64_t h, const char *name, const char *labels)
{
	return s->kind == kind && s->hash == h && strcmp(s->name, name) == 0 &&
	       strcmp(s->labels, labels) == 0;
}

/* Wait for a slot another process is filling; SLOT_CLAIMING if it never
 * finished (its process died), and the caller moves on. */
static uint32_t settle(struct slot *s)
{
	uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

	for (int i = 0; st == SLOT_CLAIMING && i < SPIN_MAX; i++) {
		sched_yield();
		st = atomic_load_explicit(&s->state, memory_order_acquire);
	}
	return st;
}

static int claim(struct slot *s, uint32_t kind, uint64_t h, const char *name, const char *labels)
{
	uint32_t expect = SLOT_FREE;

	if (!atomic_compare_exchange_strong(&s->state, &expect, SLOT_CLAIMING))
		return 0;
	s->kind = kind;
	s->hash = h;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->labels, sizeof(s->labels), "%s", labels);
	atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
	return 1;
}

static struct slot *find(struct metrics *m, uint32_t kind, const char *name, const char *labels,
                         int create)
{
	if (m == NULL || strlen(name) >= NAME_MAX_ || strlen(labels) >= LABELS_MAX)
		return NULL;
	uint64_t h = hash_series(name, labels);
	for (size_t probe = 0; probe < m->nslots; probe++) {
		struct slot *s = &m->slots[(h + probe) % m->nslots];
		uint32_t st = settle(s);
		if (st == SLOT_FREE) {
			if (!create)
				return NULL;
			if (claim(s, kind, h, name, labels))
				return s;
			st = settle(s);
		}
		if (st == SLOT_READY && slot_is(s, kind, h, name, labels))
			return s;
	}
	if (create)
		atomic_fetch_add(&m->dropped, 1);
	return NULL;
}

static void add_label_value(char *out, size_t outlen, const char *v)
{
	size_t n = 0;

	for (; *v && n + 2 < outlen; v++) {
		if (*v == '"' || *v == '\\' || *v == '\n') {
			out[n++] = '\\';
			out[n++] = *v == '\n' ? 'n' : *v;
		} else {
			out[n++] = *v;
		}
	}
	out[n] = '\0';
}

void metrics_http(struct metrics *m, const char *method, const char *route, int status,
                  double seconds)
{
	char lm[16], lr[128], labels[LABELS_MAX];

	add_label_value(lm, sizeof(lm), method);
	add_label_value(lr, sizeof(lr), route);
	snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",status=\"%d\"", lm, lr,
	         status);
	struct slot *s = find(m, KIND_HTTP, "http", labels, 1);
	if (s == NULL)
		return;
	atomic_fetch_add(&s->count, 1);
	atomic_fetch_add(&s->sum_ns, (uint64_t)(seconds > 0 ? seconds * 1e9 : 0));
	for (int i = 0; i < NBUCKETS; i++)
		if (seconds <= bucket_bounds[i])
			atomic_fetch_add(&s->buckets[i], 1);
}

void metrics_inc(struct metrics *m, const char *name, const char *labels)
{
	struct slot *s = find(m, KIND_COUNTER, name, labels, 1);

	if (s)
		atomic_fetch_add(&s->count, 1);
}

uint64_t metrics_get(struct metrics *m, const char *name, const char *labels)
{
	/* http_requests_total lives in the request series, not a plain counter */
	struct slot *s = strcmp(name, "http_requests_total") == 0
	                         ? find(m, KIND_HTTP, "http", labels, 0)
	                         : find(m, KIND_COUNTER, name, labels, 0);

	return s ? atomic_load(&s->count) : 0;
}

static void render_series(struct buf *out, const char *name, const char *labels, uint64_t v)
{
	if (*labels)
		buf_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
	else
		buf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void render_http(struct metrics *m, struct buf *out)
{
	buf_adds(out, "# HELP http_requests_total HTTP requests served by the pool.\n"
	              "# TYPE http_requests_total counter\n");
	for (size_t i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		if (atomic_load(&s->state) == SLOT_READY && s->kind == KIND_HTTP)
			render_series(out, "http_requests_total", s->labels,
			              atomic_load(&s->count));
	}
	buf_adds(out, "# HELP http_request_duration_seconds Time from request to response.\n"
	              "# TYPE http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		if (atomic_load(&s->state) != SLOT_READY || s->kind != KIND_HTTP)
			continue;
		uint64_t count = atomic_load(&s->count);
		for (int b = 0; b < NBUCKETS; b++)
			buf_printf(out, "http_request_duration_seconds_bucket{%s,le=\"%s\"} %llu\n",
			           s->labels, bucket_labels[b],
			           (unsigned long long)atomic_load(&s->buckets[b]));
		buf_printf(out, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
		           s->labels, (unsigned long long)count);
		buf_printf(out, "http_request_duration_seconds_sum{%s} %.6f\n", s->labels,
		           (double)atomic_load(&s->sum_ns) / 1e9);
		buf_printf(out, "http_request_duration_seconds_count{%s} %llu\n", s->labels,
		           (unsigned long long)count);
	}
}

static int name_seen_before(struct metrics *m, size_t upto, const char *name)
{
	for (size_t j = 0; j < upto; j++) {
		struct slot *s = &m->slots[j];
		if (atomic_load(&s->state) == SLOT_READY && s->kind == KIND_COUNTER &&
		    strcmp(s->name, name) == 0)
			return 1;
	}
	return 0;
}

static void render_counters(struct metrics *m, struct buf *out)
{
	for (size_t i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		if (atomic_load(&s->state) != SLOT_READY || s->kind != KIND_COUNTER ||
		    name_seen_before(m, i, s->name))
			continue;
		buf_printf(out, "# TYPE %s counter\n", s->name);
		for (size_t j = i; j < m->nslots; j++) {
			struct slot *t = &m->slots[j];
			if (atomic_load(&t->state) == SLOT_READY && t->kind == KIND_COUNTER &&
			    strcmp(t->name, s->name) == 0)
				render_series(out, t->name, t->labels, atomic_load(&t->count));
		}
	}
}

void metrics_render(struct metrics *m, struct buf *out)
{
	if (m == NULL)
		return;
	render_http(m, out);
	render_counters(m, out);
	buf_adds(out, "# TYPE metrics_dropped_series_total counter\n");
	render_series(out, "metrics_dropped_series_total", "", atomic_load(&m->dropped));
}

void metrics_gauge(struct buf *out, const char *name, const char *help, double value)
{
	/* %.15g: counts exact below 10^15, seconds without float noise;
	 * NaN and infinities in Prometheus's own spelling */
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	if (isnan(value))
		buf_printf(out, "%s NaN\n", name);
	else if (isinf(value))
		buf_printf(out, "%s %s\n", name, value > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(out, "%s %.15g\n", name, value);
}
