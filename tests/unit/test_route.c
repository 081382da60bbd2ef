/* test_route.c - route.h: exact matches, :name captures, 404 vs 405 with
 * the Allow list, a trailing slash is 404, overlong segments, empty tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "route.h"

static void h_me(struct req *r)
{
	(void)r;
}

static void h_user(struct req *r)
{
	(void)r;
}

static void h_other(struct req *r)
{
	(void)r;
}

static const struct route table[] = {
        {"GET", "/users/me", h_me, ROUTE_USER},
        {"GET", "/users/:id", h_user, ROUTE_ADMIN | ROUTE_SERVICE},
        {"POST", "/register", h_other, 0},
        {"GET", "/flights/:id", h_other, 0},
        {"PUT", "/flights/:id", h_other, ROUTE_ADMIN},
        {"DELETE", "/flights/:id", h_other, ROUTE_ADMIN},
        {"GET", "/bookings/:id/status", h_other, ROUTE_USER},
        {"PUT", "/bookings/:id/cancel", h_other, ROUTE_USER},
        {"GET", "/a/:w/b/:x/c/:y/d/:z", h_other, 0},
        {"GET", "/health", h_other, 0},
        {NULL, NULL, NULL, 0},
};

static enum route_result find(const char *method, const char *path, struct route_match *m)
{
	memset(m, 0xA5, sizeof(*m)); /* garbage in: route_find must set what it reports */
	return route_find(table, method, path, m);
}

/* method path finds table[i]; the match into m. */
static void expect_route(const char *method, const char *path, int i, struct route_match *m)
{
	assert_int_equal(find(method, path, m), ROUTE_FOUND);
	assert_ptr_equal(m->route, &table[i]);
}

static void test_exact(void **state)
{
	(void)state;
	struct route_match m;
	expect_route("GET", "/users/me", 0, &m);
	assert_int_equal(m.nparams, 0);
	expect_route("POST", "/register", 2, &m);
	expect_route("GET", "/health", 9, &m);
}

static void test_capture(void **state)
{
	(void)state;
	struct route_match m;
	expect_route("GET", "/users/42", 1, &m);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(route_param(&m, "id"), "42");
	assert_null(route_param(&m, "nope"));

	expect_route("GET", "/bookings/7/status", 6, &m);
	assert_string_equal(route_param(&m, "id"), "7");
	expect_route("PUT", "/bookings/abc/cancel", 7, &m);
	assert_string_equal(route_param(&m, "id"), "abc");

	/* the method picks the route among equal patterns */
	expect_route("DELETE", "/flights/9", 5, &m);
	assert_string_equal(route_param(&m, "id"), "9");
}

static void test_four_captures(void **state)
{
	(void)state;
	struct route_match m;
	assert_int_equal(find("GET", "/a/1/b/2/c/3/d/4", &m), ROUTE_FOUND);
	assert_int_equal(m.nparams, 4);
	assert_string_equal(route_param(&m, "w"), "1");
	assert_string_equal(route_param(&m, "x"), "2");
	assert_string_equal(route_param(&m, "y"), "3");
	assert_string_equal(route_param(&m, "z"), "4");
}

static void test_capture_as_sent(void **state)
{
	(void)state;
	struct route_match m;
	assert_int_equal(find("GET", "/users/a%20b", &m), ROUTE_FOUND);
	assert_string_equal(route_param(&m, "id"), "a%20b");
}

static void test_not_found(void **state)
{
	(void)state;
	struct route_match m;
	const char *paths[] = {"/nope",
	                       "/users",
	                       "/users/42/extra",
	                       "/bookings/7",
	                       "/bookings/7/x",
	                       "/registerx",
	                       "/register/x",
	                       "",
	                       "/",
	                       "/USERS/me",
	                       "/healthz",
	                       "/a/1/b/2/c/3/d",
	                       "/bookings//status"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (find("GET", paths[i], &m) != ROUTE_NOT_FOUND)
			fail_msg("'%s' should be 404", paths[i]);
}

static void test_bad_method(void **state)
{
	(void)state;
	struct route_match m;
	assert_int_equal(find("GET", "/register", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "POST");

	assert_int_equal(find("PATCH", "/flights/5", &m), ROUTE_BAD_METHOD);
	assert_non_null(strstr(m.allow, "GET"));
	assert_non_null(strstr(m.allow, "PUT"));
	assert_non_null(strstr(m.allow, "DELETE"));
	assert_null(strstr(m.allow, "POST"));
	assert_null(strstr(m.allow, "PATCH"));
	/* comma-separated */
	assert_non_null(strstr(m.allow, ", "));

	/* two GET patterns match /users/me: GET (and HEAD) are listed, once */
	assert_int_equal(find("POST", "/users/me", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	assert_int_equal(find("DELETE", "/users/5", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
}

/* HEAD is GET without the body: it matches the GET route, and the Allow
 * list names it wherever GET is allowed (and nowhere else). */
static void test_head(void **state)
{
	(void)state;
	struct route_match m;
	assert_int_equal(find("HEAD", "/users/42", &m), ROUTE_FOUND);
	assert_string_equal(m.route->method, "GET");
	assert_string_equal(route_param(&m, "id"), "42");
	assert_int_equal(find("HEAD", "/register", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(find("PATCH", "/flights/5", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, PUT, DELETE");
	assert_int_equal(find("HEAD", "/bookings/5/cancel", &m), ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "PUT");
}

static void test_trailing_slash(void **state)
{
	(void)state;
	struct route_match m;
	assert_int_equal(find("GET", "/users/me/", &m), ROUTE_NOT_FOUND);
	assert_int_equal(find("GET", "/users/42/", &m), ROUTE_NOT_FOUND);
	assert_null(route_param(&m, "id"));
	assert_int_equal(find("POST", "/register/", &m), ROUTE_NOT_FOUND);
	assert_int_equal(find("GET", "/register/", &m), ROUTE_NOT_FOUND);
	/* the exact spelling still matches */
	assert_int_equal(find("POST", "/register", &m), ROUTE_FOUND);
	assert_int_equal(find("GET", "/users/me//", &m), ROUTE_NOT_FOUND);
}

static void test_segment_length(void **state)
{
	(void)state;
	struct route_match m;
	char path[256];
	char seg[ROUTE_PARAM_MAX + 8];

	memset(seg, '7', ROUTE_PARAM_MAX - 1);
	seg[ROUTE_PARAM_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/users/%s", seg);
	assert_int_equal(find("GET", path, &m), ROUTE_FOUND);
	assert_string_equal(route_param(&m, "id"), seg);

	memset(seg, '7', ROUTE_PARAM_MAX);
	seg[ROUTE_PARAM_MAX] = '\0';
	snprintf(path, sizeof(path), "/users/%s", seg);
	assert_int_equal(find("GET", path, &m), ROUTE_NOT_FOUND);
	/* no route matches the path at all, so it is not a 405 either */
	assert_int_equal(find("POST", path, &m), ROUTE_NOT_FOUND);
	snprintf(path, sizeof(path), "/bookings/%s/status", seg);
	assert_int_equal(find("GET", path, &m), ROUTE_NOT_FOUND);
}

static void test_very_long_path(void **state)
{
	(void)state;
	struct route_match m;
	char path[8192];
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(find("GET", path, &m), ROUTE_NOT_FOUND);
	for (size_t i = 0; i < sizeof(path) - 1; i += 2)
		path[i] = '/';
	assert_int_equal(find("GET", path, &m), ROUTE_NOT_FOUND);
}

static void test_empty_table(void **state)
{
	(void)state;
	static const struct route empty[] = {{NULL, NULL, NULL, 0}};
	struct route_match m;
	memset(&m, 0, sizeof(m));
	assert_int_equal(route_find(empty, "GET", "/", &m), ROUTE_NOT_FOUND);
	assert_int_equal(route_find(empty, "GET", "/users/1", &m), ROUTE_NOT_FOUND);
}

static void test_stops_at_null_method(void **state)
{
	(void)state;
	/* entries after the terminator are never looked at */
	static const struct route t[] = {
	        {"GET", "/a", h_other, 0},
	        {NULL, NULL, NULL, 0},
	        {"GET", "/b", h_other, 0},
	};
	struct route_match m;
	memset(&m, 0, sizeof(m));
	assert_int_equal(route_find(t, "GET", "/a", &m), ROUTE_FOUND);
	assert_int_equal(route_find(t, "GET", "/b", &m), ROUTE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exact),          cmocka_unit_test(test_capture),
	        cmocka_unit_test(test_four_captures),  cmocka_unit_test(test_capture_as_sent),
	        cmocka_unit_test(test_not_found),      cmocka_unit_test(test_bad_method),
	        cmocka_unit_test(test_head),           cmocka_unit_test(test_trailing_slash),
	        cmocka_unit_test(test_segment_length), cmocka_unit_test(test_very_long_path),
	        cmocka_unit_test(test_empty_table),    cmocka_unit_test(test_stops_at_null_method),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
