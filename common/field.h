/* field.h - typed, bounded readers for JSON bodies and query strings.
 * Each reader either stores a checked value or appends an error in the
 * contract's 422 shape: {"loc": [where, name], "msg": ..., "type": ...}. */
#ifndef FO_FIELD_H
#define FO_FIELD_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

struct field_errors {
	struct json_object *list; /* array of error objects; owned */
	int count;
};

void field_errors_init(struct field_errors *e);
void field_errors_release(struct field_errors *e);
/* Append one error: where is "body" or "query". */
void field_error_add(struct field_errors *e, const char *where, const char *name, const char *msg,
                     const char *type);
/* Move the errors of one item of a list, read as if it were the body
 * (loc [where, name]), into e at loc [where, list, i, name], and release
 * one: how the items of "passengers" or "cabins" report. */
void field_errors_nest(struct field_errors *e, struct field_errors *one, const char *list, int i);

enum field_need { FIELD_OPTIONAL, FIELD_REQUIRED };

/* The readers return 1 when the value was present and valid, 0 when it
 * was absent (an error is added only if required), -1 when an error was
 * added. Strings are counted in bytes and must be valid UTF-8 without
 * NUL; *out points into obj and lives as long as obj. */
int field_str(struct json_object *obj, const char *name, size_t min, size_t max,
              enum field_need need, const char **out, struct field_errors *e);
int field_int64(struct json_object *obj, const char *name, int64_t min, int64_t max,
                enum field_need need, int64_t *out, struct field_errors *e);
int field_bool(struct json_object *obj, const char *name, enum field_need need, int *out,
               struct field_errors *e);
/* 1 when text[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * surrogates or code points above U+10FFFF), else 0. */
int field_utf8_valid(const char *text, size_t len);
/* A JSON number >= 0 with at most two decimals, as integer cents. */
int field_money(struct json_object *obj, const char *name, int64_t max_cents, enum field_need need,
                int64_t *cents, struct field_errors *e);

/* An ISO 8601 date-time ("2026-12-01T10:00:00Z", "...10:00:00.5+02:00",
 * or with no zone, taken as UTC) as Unix seconds (fraction dropped). */
int field_time(struct json_object *obj, const char *name, enum field_need need, int64_t *out,
               struct field_errors *e);

/* Query-string readers: the same contract, loc ["query", name]. */
int field_query_str(const char *query, const char *name, size_t min, size_t max, char *out,
                    size_t outlen, enum field_need need, struct field_errors *e);
int field_query_int64(const char *query, const char *name, int64_t min, int64_t max,
                      enum field_need need, int64_t *out, struct field_errors *e);

/* A string that must be one of values (NULL-terminated): *index is its
 * position. Anything else is the contract's "enum" error ("Input should
 * be 'a', 'b' or 'c'"). */
int field_enum(struct json_object *obj, const char *name, const char *const *values,
               enum field_need need, int *index, struct field_errors *e);
int field_query_enum(const char *query, const char *name, const char *const *values,
                     enum field_need need, int *index, struct field_errors *e);

/* Paging: limit (default 50, 1..200) and offset (alias skip, >= 0). */
int field_query_paging(const char *query, int64_t *limit, int64_t *offset, struct field_errors *e);

/* Parse a whole string as a decimal int64 in [min, max]: 0 or -1. */
int field_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parse an ISO 8601 date-time as field_time does: 0 or -1. */
int field_parse_time(const char *s, int64_t *out);
/* Parse a calendar date YYYY-MM-DD as Unix seconds of its 00:00 UTC. */
int field_parse_date(const char *s, int64_t *out);
/* Format Unix seconds as "2026-12-01T10:00:00Z" into out (>= 21 bytes). */
void field_format_time(int64_t t, char *out, size_t outlen);
/* Cents as a JSON number whose text is exact ("299.99"); caller owns it. */
struct json_object *field_json_money(int64_t cents);
/* Format cents as JSON number text with two decimals ("299.99", "5.00")
 * into out (>= 24 bytes). */
void field_format_money(int64_t cents, char *out, size_t outlen);

#endif
