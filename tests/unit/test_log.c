/* test_log.c - log.h: every line is one JSON object with ts, level, svc,
 * pid, request_id, msg and the fields; values are escaped; levels below
 * the minimum are not written; log_level_parse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"

#define MAX_LINES 16

struct capture {
	FILE *f;
	char *text; /* everything written */
	int nlines;
	struct json_object *line[MAX_LINES];
};

/* Log as "unitsvc" from level min on, into c. */
static void capture_begin(struct capture *c, enum log_level min)
{
	log_init("unitsvc", min);
	memset(c, 0, sizeof(*c));
	c->f = tmpfile();
	assert_non_null(c->f);
	log_set_stream(c->f);
}

/* Read back what was written; every line must parse as a JSON object. */
static void capture_end(struct capture *c)
{
	log_set_stream(stderr);
	fflush(c->f);
	fseek(c->f, 0, SEEK_END);
	long n = ftell(c->f);
	assert_true(n >= 0);
	rewind(c->f);
	c->text = calloc(1, (size_t)n + 1);
	assert_non_null(c->text);
	assert_int_equal(fread(c->text, 1, (size_t)n, c->f), (size_t)n);
	fclose(c->f);
	c->f = NULL;
	if (n > 0)
		assert_int_equal(c->text[n - 1], '\n');
	char *save = NULL;
	char *copy = strdup(c->text);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(c->nlines < MAX_LINES);
		struct json_tokener *tok = json_tokener_new();
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		struct json_object *o = json_tokener_parse_ex(tok, l, (int)strlen(l));
		if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
			fail_msg("log line is not valid JSON: %s", l);
		json_tokener_free(tok);
		assert_true(json_object_is_type(o, json_type_object));
		c->line[c->nlines++] = o;
	}
	free(copy);
}

static void capture_free(struct capture *c)
{
	for (int i = 0; i < c->nlines; i++)
		json_object_put(c->line[i]);
	free(c->text);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("key '%s' missing in %s", key, json_object_to_json_string(o));
	if (!json_object_is_type(v, json_type_string))
		fail_msg("key '%s' is not a string in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

static void check_common_keys(struct json_object *o, const char *svc)
{
	assert_true(strlen(get_str(o, "ts")) > 0);
	assert_true(strlen(get_str(o, "level")) > 0);
	assert_string_equal(get_str(o, "svc"), svc);
	struct json_object *pid = NULL;
	assert_true(json_object_object_get_ex(o, "pid", &pid));
	if (json_object_is_type(pid, json_type_int))
		assert_int_equal(json_object_get_int64(pid), getpid());
	else
		assert_int_equal(strtol(json_object_get_string(pid), NULL, 10), getpid());
	assert_true(json_object_object_get_ex(o, "request_id", NULL));
	(void)get_str(o, "msg");
}

/* capture_begin, one line of each level ("d", "i", "w" and "e"), then
 * capture_end. */
static void capture_each_level(struct capture *c, enum log_level min)
{
	capture_begin(c, min);
	log_debug("d");
	log_info("i");
	log_warn("w");
	log_error("e");
	capture_end(c);
}

static void test_line_shape(void **state)
{
	(void)state;
	struct capture c;
	capture_begin(&c, LOG_LVL_DEBUG);
	log_info("user created", "user_id", "17", "route", "/register");
	capture_end(&c);
	assert_int_equal(c.nlines, 1);
	check_common_keys(c.line[0], "unitsvc");
	assert_string_equal(get_str(c.line[0], "msg"), "user created");
	assert_string_equal(get_str(c.line[0], "user_id"), "17");
	assert_string_equal(get_str(c.line[0], "route"), "/register");
	capture_free(&c);
}

static void test_no_fields(void **state)
{
	(void)state;
	struct capture c;
	capture_begin(&c, LOG_LVL_DEBUG);
	log_error("plain");
	capture_end(&c);
	assert_int_equal(c.nlines, 1);
	check_common_keys(c.line[0], "unitsvc");
	assert_string_equal(get_str(c.line[0], "msg"), "plain");
	capture_free(&c);
}

static void test_escaping(void **state)
{
	(void)state;
	struct capture c;
	const char *nasty = "a \"quoted\" value\nsecond line\\ \r\t\x01 caf\xc3\xa9";
	capture_begin(&c, LOG_LVL_DEBUG);
	log_warn("bad \"input\"\nhere", "value", nasty, "k\"ey", "v");
	capture_end(&c);
	/* exactly one physical line despite the newlines in the values */
	assert_int_equal(c.nlines, 1);
	assert_string_equal(get_str(c.line[0], "msg"), "bad \"input\"\nhere");
	assert_string_equal(get_str(c.line[0], "value"), nasty);
	assert_string_equal(get_str(c.line[0], "k\"ey"), "v");
	capture_free(&c);
}

static void test_long_value_stays_json(void **state)
{
	(void)state;
	struct capture c;
	size_t n = 20000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 100 == 0) ? '"' : 'x';
	big[n] = '\0';
	capture_begin(&c, LOG_LVL_DEBUG);
	log_info("long", "big", big);
	log_info("after");
	capture_end(&c);
	assert_int_equal(c.nlines, 2);
	check_common_keys(c.line[0], "unitsvc");
	assert_string_equal(get_str(c.line[1], "msg"), "after");
	free(big);
	capture_free(&c);
}

static void test_request_id(void **state)
{
	(void)state;
	struct capture c;
	capture_begin(&c, LOG_LVL_DEBUG);
	log_set_request_id("req-abc-123");
	log_info("one");
	log_set_request_id(NULL);
	log_info("two");
	capture_end(&c);
	assert_int_equal(c.nlines, 2);
	assert_string_equal(get_str(c.line[0], "request_id"), "req-abc-123");
	struct json_object *v = NULL;
	assert_true(json_object_object_get_ex(c.line[1], "request_id", &v));
	if (v != NULL && json_object_is_type(v, json_type_string))
		assert_string_not_equal(json_object_get_string(v), "req-abc-123");
	capture_free(&c);
}

static void test_request_id_escaped(void **state)
{
	(void)state;
	struct capture c;
	capture_begin(&c, LOG_LVL_DEBUG);
	log_set_request_id("evil\"\n}");
	log_info("x");
	log_set_request_id(NULL);
	capture_end(&c);
	assert_int_equal(c.nlines, 1);
	check_common_keys(c.line[0], "unitsvc");
	capture_free(&c);
}

static void test_level_filter(void **state)
{
	(void)state;
	struct capture c;
	capture_each_level(&c, LOG_LVL_WARN);
	assert_int_equal(c.nlines, 2);
	assert_string_equal(get_str(c.line[0], "msg"), "w");
	assert_string_equal(get_str(c.line[1], "msg"), "e");
	capture_free(&c);

	capture_begin(&c, LOG_LVL_ERROR);
	log_warn("w");
	log_error("e");
	capture_end(&c);
	assert_int_equal(c.nlines, 1);
	assert_string_equal(get_str(c.line[0], "msg"), "e");
	capture_free(&c);
}

static void test_levels_distinct(void **state)
{
	(void)state;
	struct capture c;
	capture_each_level(&c, LOG_LVL_DEBUG);
	assert_int_equal(c.nlines, 4);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_string_not_equal(get_str(c.line[i], "level"),
			                        get_str(c.line[j], "level"));
	capture_free(&c);
}

static void test_level_parse(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("warn"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERROR);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse("verbose"), -1);
	assert_int_equal(log_level_parse("info "), -1);
	assert_int_equal(log_level_parse("inf"), -1);
	assert_int_equal(log_level_parse("errors"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_line_shape),   cmocka_unit_test(test_no_fields),
	        cmocka_unit_test(test_escaping),     cmocka_unit_test(test_long_value_stays_json),
	        cmocka_unit_test(test_request_id),   cmocka_unit_test(test_request_id_escaped),
	        cmocka_unit_test(test_level_filter), cmocka_unit_test(test_levels_distinct),
	        cmocka_unit_test(test_level_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
