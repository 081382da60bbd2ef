/* field.c - typed, bounded readers for untrusted JSON and query values.
 * Every reader either yields a checked value or records an error in the
 * contract's 422 shape; handlers then work with typed values only.
 * Numbers are read from their source text, so 299.99 is exactly 29999
 * cents and an integer that does not fit is an error, never a wrap. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "field.h"
#include "form.h"

void field_errors_init(struct field_errors *e)
{
	e->list = json_object_new_array();
	e->count = 0;
}

void field_errors_release(struct field_errors *e)
{
	json_object_put(e->list);
	e->list = NULL;
	e->count = 0;
}

void field_error_add(struct field_errors *e, const char *where, const char *name, const char *msg,
                     const char *type)
{
	struct json_object *err = json_object_new_object();
	struct json_object *loc = json_object_new_array();

	json_object_array_add(loc, json_object_new_string(where));
	json_object_array_add(loc, json_object_new_string(name));
	json_object_object_add(err, "loc", loc);
	json_object_object_add(err, "msg", json_object_new_string(msg));
	json_object_object_add(err, "type", json_object_new_string(type));
	json_object_array_add(e->list, err);
	e->count++;
}

void field_errors_nest(struct field_errors *e, struct field_errors *one, const char *list, int i)
{
	size_t n = json_object_array_length(one->list);

	for (size_t k = 0; k < n; k++) {
		struct json_object *err = json_object_array_get_idx(one->list, k), *loc = NULL;
		json_object_object_get_ex(err, "loc", &loc);
		struct json_object *deep = json_object_new_array();
		json_object_array_add(deep, json_object_get(json_object_array_get_idx(loc, 0)));
		json_object_array_add(deep, json_object_new_string(list));
		json_object_array_add(deep, json_object_new_int(i));
		json_object_array_add(deep, json_object_get(json_object_array_get_idx(loc, 1)));
		json_object_object_add(err, "loc", deep);
		json_object_array_add(e->list, json_object_get(err));
		e->count++;
	}
	field_errors_release(one);
}

int field_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	const char *p = s[0] == '-' ? s + 1 : s;

	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The member name of obj, or NULL when absent or JSON null. */
static struct json_object *member(struct json_object *obj, const char *name)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, name, &v))
		return NULL;
	return v;
}

static int absent(enum field_need need, const char *where, const char *name, struct field_errors *e)
{
	if (need == FIELD_OPTIONAL)
		return 0;
	field_error_add(e, where, name, "Field required", "missing");
	return -1;
}

static int bad(struct field_errors *e, const char *where, const char *name, const char *msg,
               const char *type)
{
	field_error_add(e, where, name, msg, type);
	return -1;
}

static int check_len(const char *where, const char *name, size_t len, size_t min, size_t max,
                     struct field_errors *e)
{
	char msg[96];

	if (len < min) {
		snprintf(msg, sizeof(msg), "String should have at least %zu characters", min);
		return bad(e, where, name, msg, "string_too_short");
	}
	if (len > max) {
		snprintf(msg, sizeof(msg), "String should have at most %zu characters", max);
		return bad(e, where, name, msg, "string_too_long");
	}
	return 1;
}

int field_utf8_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i], lo = 0x80, hi = 0xBF;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3;
		else
			return 0;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
		i += n + 1;
	}
	return 1;
}

int field_str(struct json_object *obj, const char *name, size_t min, size_t max,
              enum field_need need, const char **out, struct field_errors *e)
{
	struct json_object *v = member(obj, name);

	if (v == NULL)
		return absent(need, "body", name, e);
	if (!json_object_is_type(v, json_type_string))
		return bad(e, "body", name, "Input should be a valid string", "string_type");
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return bad(e, "body", name, "String must not contain NUL characters",
		           "value_error");
	if (!field_utf8_valid(s, len))
		return bad(e, "body", name, "String should be valid UTF-8", "string_unicode");
	if (check_len("body", name, len, min, max, e) < 0)
		return -1;
	*out = s;
	return 1;
}

static int check_range(const char *where, const char *name, int64_t v, int64_t min, int64_t max,
                       struct field_errors *e)
{
	char msg[96];

	if (v < min) {
		snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld",
		         (long long)min);
		return bad(e, where, name, msg, "greater_than_equal");
	}
	if (v > max) {
		snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld",
		         (long long)max);
		return bad(e, where, name, msg, "less_than_equal");
	}
	return 1;
}

int field_int64(struct json_object *obj, const char *name, int64_t min, int64_t max,
                enum field_need need, int64_t *out, struct field_errors *e)
{
	struct json_object *v = member(obj, name);
	int64_t n;

	if (v == NULL)
		return absent(need, "body", name, e);
	if (!json_object_is_type(v, json_type_int))
		return bad(e, "body", name, "Input should be a valid integer", "int_type");
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (field_parse_int64(text, INT64_MIN, INT64_MAX, &n) < 0)
		return bad(e, "body", name, "Input should be a valid integer", "int_parsing");
	if (check_range("body", name, n, min, max, e) < 0)
		return -1;
	*out = n;
	return 1;
}

int field_bool(struct json_object *obj, const char *name, enum field_need need, int *out,
               struct field_errors *e)
{
	struct json_object *v = member(obj, name);

	if (v == NULL)
		return absent(need, "body", name, e);
	if (!json_object_is_type(v, json_type_boolean))
		return bad(e, "body", name, "Input should be a valid boolean", "bool_type");
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 1;
}

/* Parse "123", "123.4", "123.45" into cents; -1 for anything else. */
static int parse_cents(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	int digits = 0, fdigits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (whole > (INT64_MAX / 100 - 9) / 10)
			return -1;
		whole = whole * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, fdigits++) {
			if (fdigits >= 2 && *s != '0')
				return -1;
			if (fdigits < 2)
				frac = frac * 10 + (*s - '0');
		}
		if (fdigits == 0)
			return -1;
	}
	if (*s != '\0')
		return -1;
	*cents = whole * 100 + (fdigits == 1 ? frac * 10 : frac);
	return 0;
}

int field_money(struct json_object *obj, const char *name, int64_t max_cents, enum field_need need,
                int64_t *cents, struct field_errors *e)
{
	struct json_object *v = member(obj, name);
	int64_t c;

	if (v == NULL)
		return absent(need, "body", name, e);
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return bad(e, "body", name, "Input should be a valid number", "float_type");
	const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (text[0] == '-')
		return bad(e, "body", name, "Input should be greater than or equal to 0",
		           "greater_than_equal");
	if (parse_cents(text, &c) < 0)
		return bad(e, "body", name, "Input should have no more than 2 decimal places",
		           "decimal_max_places");
	if (c > max_cents)
		return bad(e, "body", name, "Input is too large", "less_than_equal");
	*cents = c;
	return 1;
}

int field_query_str(const char *query, const char *name, size_t min, size_t max, char *out,
                    size_t outlen, enum field_need need, struct field_errors *e)
{
	int found = form_get(query, query ? strlen(query) : 0, name, out, outlen);

	if (found == 0 || (found == 1 && out[0] == '\0' && need == FIELD_OPTIONAL))
		return absent(need, "query", name, e);
	if (found < 0)
		return bad(e, "query", name, "Value is not valid or too long", "value_error");
	if (!field_utf8_valid(out, strlen(out)))
		return bad(e, "query", name, "String should be valid UTF-8", "string_unicode");
	return check_len("query", name, strlen(out), min, max, e);
}

int field_query_int64(const char *query, const char *name, int64_t min, int64_t max,
                      enum field_need need, int64_t *out, struct field_errors *e)
{
	char text[32];
	int64_t n;
	int found = form_get(query, query ? strlen(query) : 0, name, text, sizeof(text));

	if (found == 0)
		return absent(need, "query", name, e);
	if (found < 0 || field_parse_int64(text, INT64_MIN, INT64_MAX, &n) < 0)
		return bad(e, "query", name, "Input should be a valid integer", "int_parsing");
	if (check_range("query", name, n, min, max, e) < 0)
		return -1;
	*out = n;
	return 1;
}

#define ENUM_INPUT_MAX 64

/* "Input should be 'a', 'b' or 'c'" for values into out. */
static void enum_message(const char *const *values, struct buf *out)
{
	buf_adds(out, "Input should be ");
	for (int i = 0; values[i]; i++)
		buf_printf(out, "%s'%s'", i == 0 ? "" : values[i + 1] ? ", " : " or ", values[i]);
}

/* The index of s in values, or -1 after adding the enum error. */
static int enum_index(const char *s, const char *const *values, const char *where, const char *name,
                      struct field_errors *e)
{
	struct buf msg;

	for (int i = 0; values[i]; i++)
		if (strcmp(s, values[i]) == 0)
			return i;
	buf_init(&msg);
	enum_message(values, &msg);
	field_error_add(e, where, name, buf_str(&msg), "enum");
	buf_release(&msg);
	return -1;
}

int field_enum(struct json_object *obj, const char *name, const char *const *values,
               enum field_need need, int *index, struct field_errors *e)
{
	const char *s = NULL;
	int rc = field_str(obj, name, 1, ENUM_INPUT_MAX, need, &s, e);

	if (rc <= 0)
		return rc;
	int i = enum_index(s, values, "body", name, e);
	if (i < 0)
		return -1;
	*index = i;
	return 1;
}

int field_query_enum(const char *query, const char *name, const char *const *values,
                     enum field_need need, int *index, struct field_errors *e)
{
	char v[ENUM_INPUT_MAX + 1];
	int rc = field_query_str(query, name, 1, ENUM_INPUT_MAX, v, sizeof(v), need, e);

	if (rc <= 0)
		return rc;
	int i = enum_index(v, values, "query", name, e);
	if (i < 0)
		return -1;
	*index = i;
	return 1;
}

int field_query_paging(const char *query, int64_t *limit, int64_t *offset, struct field_errors *e)
{
	int before = e->count;

	*limit = 50;
	*offset = 0;
	field_query_int64(query, "limit", 1, 200, FIELD_OPTIONAL, limit, e);
	if (field_query_int64(query, "offset", 0, INT32_MAX, FIELD_OPTIONAL, offset, e) == 0)
		field_query_int64(query, "skip", 0, INT32_MAX, FIELD_OPTIONAL, offset, e);
	return e->count == before ? 0 : -1;
}

struct json_object *field_json_money(int64_t cents)
{
	char text[32];

	field_format_money(cents, text, sizeof(text));
	return json_object_new_double_s((double)cents / 100.0, text);
}

void field_format_money(int64_t cents, char *out, size_t outlen)
{
	const char *sign = cents < 0 ? "-" : "";
	unsigned long long a =
	        cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;

	snprintf(out, outlen, "%s%llu.%02llu", sign, a / 100, a % 100);
}

/* Read exactly n digits at *p into *v, advancing *p: 0 or -1. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int parse_date_part(const char **p, int64_t *days)
{
	int y, m, d;

	if (digits(p, 4, &y) < 0 || *(*p)++ != '-' || digits(p, 2, &m) < 0 || *(*p)++ != '-' ||
	    digits(p, 2, &d) < 0)
		return -1;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

int field_parse_date(const char *s, int64_t *out)
{
	int64_t days;

	if (parse_date_part(&s, &days) < 0 || *s != '\0')
		return -1;
	*out = days * 86400;
	return 0;
}

/* "Z", "+HH:MM", "-HH:MM" or nothing: the offset east of UTC in seconds. */
static int parse_zone(const char **p, int64_t *offset)
{
	int hh, mm, sign = **p == '-' ? -1 : 1;

	*offset = 0;
	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return 0;
	(*p)++;
	if (digits(p, 2, &hh) < 0 || *(*p)++ != ':' || digits(p, 2, &mm) < 0 || hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

int field_parse_time(const char *s, int64_t *out)
{
	int64_t days, offset;
	int hh, mm, ss = 0;

	if (parse_date_part(&s, &days) < 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if (digits(&s, 2, &hh) < 0 || *s++ != ':' || digits(&s, 2, &mm) < 0)
		return -1;
	if (*s == ':') {
		s++;
		if (digits(&s, 2, &ss) < 0)
			return -1;
		if (*s == '.' && s[1] >= '0' && s[1] <= '9')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
	}
	if (hh > 23 || mm > 59 || ss > 59 || parse_zone(&s, &offset) < 0 || *s != '\0')
		return -1;
	*out = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
	return 0;
}

int field_time(struct json_object *obj, const char *name, enum field_need need, int64_t *out,
               struct field_errors *e)
{
	const char *s = NULL;
	int rc = field_str(obj, name, 1, 64, need, &s, e);

	if (rc <= 0)
		return rc;
	if (field_parse_time(s, out) < 0)
		return bad(e, "body", name,
		           "Input should be a valid datetime (ISO 8601, e.g. 2026-12-01T10:00:00Z)",
		           "datetime_parsing");
	return 1;
}

void field_format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
