/* test_metrics.c - metrics.h: counters shared across fork, the
 * Prometheus text rendering (counters, cumulative histogram buckets,
 * _sum, _count), a full table that drops series without crashing, and
 * the gauges services read at scrape time (metrics_gauge). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"

#define GET_X "method=\"GET\",route=\"/x\",status=\"200\""

static void wait_child(pid_t pid)
{
	int st = 0;
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The value at the end of the first line that starts with prefix, or -1. */
static double line_value(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, prefix, n) != 0)
			continue;
		const char *end = strchr(l, '\n');
		const char *sp = end ? end : l + strlen(l);
		while (sp > l && sp[-1] != ' ')
			sp--;
		return strtod(sp, NULL);
	}
	return -1;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, line, n) == 0 && (l[n] == '\n' || l[n] == '\0'))
			return 1;
	return 0;
}

/* A series without labels: "name value" (or "name{} value"). */
static int has_plain(const char *text, const char *name, const char *value)
{
	char a[256];
	char b[256];
	snprintf(a, sizeof(a), "%s %s", name, value);
	snprintf(b, sizeof(b), "%s{} %s", name, value);
	return has_line(text, a) || has_line(text, b);
}

/* A new table of at most max series (metrics_free it). */
static struct metrics *new_table(size_t max)
{
	struct metrics *m = metrics_new(max);

	assert_non_null(m);
	return m;
}

/* The text of m into out (to release); returns it. */
static const char *render(struct metrics *m, struct buf *out)
{
	buf_init(out);
	metrics_render(m, out);
	return buf_str(out);
}

static void release(struct metrics *m, struct buf *out)
{
	buf_release(out);
	metrics_free(m);
}

static void test_inc_get(void **state)
{
	(void)state;
	struct metrics *m = new_table(64);
	assert_int_equal(metrics_get(m, "bookings_total", "status=\"confirmed\""), 0);
	metrics_inc(m, "bookings_total", "status=\"confirmed\"");
	metrics_inc(m, "bookings_total", "status=\"confirmed\"");
	metrics_inc(m, "bookings_total", "status=\"cancelled\"");
	metrics_inc(m, "plain_total", "");
	assert_int_equal(metrics_get(m, "bookings_total", "status=\"confirmed\""), 2);
	assert_int_equal(metrics_get(m, "bookings_total", "status=\"cancelled\""), 1);
	assert_int_equal(metrics_get(m, "bookings_total", "status=\"expired\""), 0);
	assert_int_equal(metrics_get(m, "plain_total", ""), 1);
	assert_int_equal(metrics_get(m, "other_total", ""), 0);
	metrics_free(m);
}

static void test_survives_fork(void **state)
{
	(void)state;
	struct metrics *m = new_table(64);
	metrics_inc(m, "shared_total", "");
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 1000; i++)
			metrics_inc(m, "shared_total", "");
		/* a series first created in the child */
		metrics_inc(m, "child_only_total", "k=\"v\"");
		metrics_http(m, "POST", "/child", 201, 0.01);
		_exit(0);
	}
	wait_child(pid);
	assert_int_equal(metrics_get(m, "shared_total", ""), 1001);
	assert_int_equal(metrics_get(m, "child_only_total", "k=\"v\""), 1);
	assert_int_equal(metrics_get(m, "http_requests_total",
	                             "method=\"POST\",route=\"/child\",status=\"201\""),
	                 1);
	struct buf out;
	assert_true(has_plain(render(m, &out), "shared_total", "1001"));
	release(m, &out);
}

static void test_concurrent_children(void **state)
{
	(void)state;
	enum { KIDS = 4, N = 20000 };
	struct metrics *m = new_table(64);
	/* create the series first: only the increments race */
	metrics_inc(m, "race_total", "");
	metrics_http(m, "GET", "/x", 200, 0.001);
	pid_t pids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			for (int i = 0; i < N; i++) {
				metrics_inc(m, "race_total", "");
				metrics_http(m, "GET", "/x", 200, 0.001);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++)
		wait_child(pids[k]);
	assert_int_equal(metrics_get(m, "race_total", ""), 1 + KIDS * N);
	assert_int_equal(metrics_get(m, "http_requests_total", GET_X), 1 + KIDS * N);
	metrics_free(m);
}

static void test_render_counter(void **state)
{
	(void)state;
	struct metrics *m = new_table(64);
	for (int i = 0; i < 3; i++)
		metrics_http(m, "GET", "/x", 200, 0.002);
	metrics_http(m, "GET", "/x", 404, 0.002);
	metrics_inc(m, "bookings_total", "status=\"confirmed\"");
	struct buf out;
	const char *t = render(m, &out);
	assert_true(has_line(t, "# TYPE http_requests_total counter"));
	assert_true(has_line(t, "http_requests_total{" GET_X "} 3"));
	assert_true(
	        has_line(t, "http_requests_total{method=\"GET\",route=\"/x\",status=\"404\"} 1"));
	assert_true(has_line(t, "# TYPE bookings_total counter"));
	assert_true(has_line(t, "bookings_total{status=\"confirmed\"} 1"));
	/* one TYPE line per metric name, however many series */
	const char *first = strstr(t, "# TYPE http_requests_total ");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE http_requests_total "));
	/* the text ends with a newline */
	assert_int_equal(t[strlen(t) - 1], '\n');
	release(m, &out);
}

struct bucket {
	double le; /* INFINITY for +Inf */
	double count;
};

/* Collect the buckets of http_request_duration_seconds for GET /x. */
static int collect_buckets(const char *t, struct bucket *b, int max)
{
	int n = 0;
	const char *pre = "http_request_duration_seconds_bucket{";
	for (const char *l = t; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, pre, strlen(pre)) != 0)
			continue;
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[512];
		assert_true(len < sizeof(line));
		memcpy(line, l, len);
		line[len] = '\0';
		if (!strstr(line, "method=\"GET\"") || !strstr(line, "route=\"/x\""))
			continue;
		char *le = strstr(line, "le=\"");
		assert_non_null(le);
		le += 4;
		assert_true(n < max);
		b[n].le = strncmp(le, "+Inf\"", 5) == 0 ? INFINITY : strtod(le, NULL);
		b[n].count = strtod(strrchr(line, ' ') + 1, NULL);
		n++;
	}
	return n;
}

static void test_render_histogram(void **state)
{
	(void)state;
	struct metrics *m = new_table(64);
	double d[] = {0.0004, 0.003, 0.02, 0.2, 1.5, 30.0};
	double sum = 0;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		metrics_http(m, "GET", "/x", 200, d[i]);
		sum += d[i];
	}
	struct buf out;
	const char *t = render(m, &out);
	assert_true(has_line(t, "# TYPE http_request_duration_seconds histogram"));
	struct bucket b[64];
	int n = collect_buckets(t, b, 64);
	assert_true(n >= 2);
	for (int i = 1; i < n; i++) {
		assert_true(b[i].le > b[i - 1].le);        /* sorted */
		assert_true(b[i].count >= b[i - 1].count); /* cumulative */
	}
	assert_true(isinf(b[n - 1].le));
	assert_float_equal(b[n - 1].count, 6, 0);
	/* every observation counted in each bucket at or above it */
	for (int i = 0; i < n; i++) {
		int expect = 0;
		for (size_t j = 0; j < sizeof(d) / sizeof(d[0]); j++)
			expect += d[j] <= b[i].le;
		assert_float_equal(b[i].count, expect, 0);
	}
	double count = line_value(t, "http_request_duration_seconds_count{");
	assert_float_equal(count, 6, 0);
	double s = line_value(t, "http_request_duration_seconds_sum{");
	assert_float_equal(s, sum, 0.01);
	/* _count and _sum carry the same labels as the buckets (no le) */
	const char *c = strstr(t, "http_request_duration_seconds_count{");
	assert_non_null(c);
	assert_non_null(strstr(c, "method=\"GET\""));
	assert_true(strstr(c, "le=") == NULL || strstr(c, "le=") > strchr(c, '\n'));
	release(m, &out);
}

static void test_full_table(void **state)
{
	(void)state;
	struct metrics *m = new_table(8);
	metrics_inc(m, "kept_total", "");
	char labels[64];
	char route[64];
	for (int i = 0; i < 500; i++) {
		snprintf(labels, sizeof(labels), "n=\"%d\"", i);
		metrics_inc(m, "many_total", labels);
		snprintf(route, sizeof(route), "/r%d", i);
		metrics_http(m, "GET", route, 200, 0.01);
	}
	/* existing series still count */
	metrics_inc(m, "kept_total", "");
	assert_int_equal(metrics_get(m, "kept_total", ""), 2);
	struct buf out;
	const char *t = render(m, &out);
	double dropped = line_value(t, "metrics_dropped_series_total");
	assert_true(dropped > 0);
	assert_true(has_plain(t, "kept_total", "2"));
	release(m, &out);
}

static void test_long_names_do_not_overflow(void **state)
{
	(void)state;
	struct metrics *m = new_table(16);
	char name[600];
	char labels[2000];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(labels, 'l', sizeof(labels) - 1);
	labels[sizeof(labels) - 1] = '\0';
	metrics_inc(m, name, labels);
	metrics_http(m, "GET", labels, 200, 0.1);
	(void)metrics_get(m, name, labels);
	struct buf out;
	render(m, &out);
	release(m, &out);
}

static void test_render_empty(void **state)
{
	(void)state;
	struct metrics *m = new_table(4);
	struct buf out;
	/* nothing but comments and well-formed lines */
	const char *t = render(m, &out);
	for (const char *l = t; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		assert_true(*l == '#' || *l == '\n' || strchr(l, ' ') != NULL);
	release(m, &out);
}

/* A gauge is HELP, TYPE and one sample; counts print as integers,
 * fractions without float noise, NaN and infinities as Prometheus
 * spells them. */
static void test_gauge(void **state)
{
	(void)state;
	struct buf out;

	buf_init(&out);
	metrics_gauge(&out, "queue_items", "items waiting", 1234567890123.0);
	metrics_gauge(&out, "queue_age_seconds", "oldest item", 12.25);
	metrics_gauge(&out, "queue_zero", "none", 0);
	metrics_gauge(&out, "queue_nan", "unknown", NAN);
	metrics_gauge(&out, "queue_inf", "unbounded", INFINITY);
	assert_string_equal(buf_str(&out), "# HELP queue_items items waiting\n"
	                                   "# TYPE queue_items gauge\n"
	                                   "queue_items 1234567890123\n"
	                                   "# HELP queue_age_seconds oldest item\n"
	                                   "# TYPE queue_age_seconds gauge\n"
	                                   "queue_age_seconds 12.25\n"
	                                   "# HELP queue_zero none\n"
	                                   "# TYPE queue_zero gauge\n"
	                                   "queue_zero 0\n"
	                                   "# HELP queue_nan unknown\n"
	                                   "# TYPE queue_nan gauge\n"
	                                   "queue_nan NaN\n"
	                                   "# HELP queue_inf unbounded\n"
	                                   "# TYPE queue_inf gauge\n"
	                                   "queue_inf +Inf\n");
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_inc_get),
	        cmocka_unit_test(test_survives_fork),
	        cmocka_unit_test(test_concurrent_children),
	        cmocka_unit_test(test_render_counter),
	        cmocka_unit_test(test_render_histogram),
	        cmocka_unit_test(test_full_table),
	        cmocka_unit_test(test_long_names_do_not_overflow),
	        cmocka_unit_test(test_render_empty),
	        cmocka_unit_test(test_gauge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
