/* req.c - the request as handlers see it, and the helpers that turn its
 * raw parts (captures, body) into checked values or a 4xx reply. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "field.h"
#include "reply.h"
#include "req.h"

#define JSON_DEPTH 32

void req_init(struct req *r, struct worker *w)
{
	memset(r, 0, sizeof(*r));
	r->w = w;
	r->method = r->path = r->query = r->content_type = "";
	r->authorization = r->service_key = r->idempotency_key = "";
	buf_init(&r->headers);
	buf_init(&r->out);
}

void req_release(struct req *r)
{
	free(r->body);
	json_object_put(r->json);
	buf_release(&r->headers);
	buf_release(&r->out);
	r->body = NULL;
	r->json = NULL;
}

int req_param_id_or_reply(struct req *r, const char *name, const char *not_found, int64_t *id)
{
	const char *v = route_param(&r->match, name);

	if (v && field_parse_int64(v, 1, INT64_MAX, id) == 0)
		return 0;
	reply_error(r, 404, not_found ? not_found : "Not Found");
	return -1;
}

static int hex4(const char *s, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		*out = *out * 16 + d;
	}
	return 0;
}

/* The string of s[0..len) opening at s[*i] (a '"'), skipped: *i is left
 * on its closing quote. -1 on a raw control character or a lone UTF-16
 * surrogate escape, which json-c would take (a lone one as U+FFFD). */
static int skip_string(const char *s, size_t len, size_t *i)
{
	unsigned u, lo;

	for (size_t k = *i + 1; k < len; k++) {
		if (s[k] == '"') {
			*i = k;
			return 0;
		}
		if ((unsigned char)s[k] < 0x20)
			return -1;
		if (s[k] != '\\' || k + 1 >= len || s[++k] != 'u')
			continue;
		if (k + 4 >= len || hex4(s + k + 1, &u) < 0)
			return -1;
		k += 4;
		if (u >= 0xDC00 && u <= 0xDFFF)
			return -1;
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (k + 6 >= len || s[k + 1] != '\\' || s[k + 2] != 'u' ||
			    hex4(s + k + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
				return -1;
			k += 6;
		}
	}
	return -1;
}

/* Members of every object in o, nested ones included. */
static size_t members(struct json_object *o)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			n += 1 + members(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);
		for (size_t i = 0; i < len; i++)
			n += members(json_object_array_get_idx(o, i));
	}
	return n;
}

/* What json-c 0.16 takes even with JSON_TOKENER_STRICT and RFC 8259 does
 * not: single-quoted strings, NaN and Infinity, raw control characters
 * and lone surrogates in strings, bytes that are not UTF-8 (it checks
 * lead and continuation bytes only, not overlong forms or surrogates),
 * and a repeated member name, of which the last wins: a proxy or another
 * reader may act on the first, so the body is refused instead. s is text
 * json-c parsed into o; 0 when it is plain JSON, else -1. */
static int strict_text(const char *s, size_t len, struct json_object *o)
{
	size_t colons = 0;

	if (!field_utf8_valid(s, len))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			if (skip_string(s, len, &i) < 0)
				return -1;
		} else if (c == ':') {
			colons++; /* outside strings, one per member */
		} else if (c == '\'' || (c >= 'A' && c <= 'Z' && c != 'E')) {
			return -1;
		}
	}
	return colons == members(o) ? 0 : -1;
}

/* Parse the whole body strictly: 0 with *obj (NULL for JSON null) when
 * it is one JSON value followed by optional whitespace, else -1. */
static int parse(const char *s, size_t len, struct json_object **obj)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	int rc = -1;

	*obj = NULL;
	if (tok == NULL)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* s[len] is the body's NUL: counting it ends a top-level number or
	 * literal, which json-c otherwise waits on as incomplete */
	*obj = json_tokener_parse_ex(tok, s, (int)len + 1);
	if (json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);
		while (end < len && s[end] != '\0' && strchr(" \t\r\n", s[end]))
			end++;
		rc = end == len && strict_text(s, len, *obj) == 0 ? 0 : -1;
	}
	if (rc < 0) {
		json_object_put(*obj);
		*obj = NULL;
	}
	json_tokener_free(tok);
	return rc;
}

struct json_object *req_json_or_reply(struct req *r)
{
	if (r->json)
		return r->json;
	if (r->body_len == 0 || r->body == NULL) {
		reply_error(r, 400, "Request body must be a JSON object");
		return NULL;
	}
	if (parse(r->body, r->body_len, &r->json) < 0) {
		reply_error(r, 400, "Malformed JSON body");
		return NULL;
	}
	if (r->json == NULL || !json_object_is_type(r->json, json_type_object)) {
		struct field_errors e;
		field_errors_init(&e);
		field_error_add(&e, "body", "", "Input should be a JSON object", "model_type");
		reply_invalid(r, &e);
		return NULL;
	}
	return r->json;
}

int req_is_form(const struct req *r)
{
	static const char form[] = "application/x-www-form-urlencoded";
	return strncasecmp(r->content_type, form, sizeof(form) - 1) == 0;
}

int64_t req_owner(const struct req *r)
{
	return req_is_privileged(r) ? 0 : r->user.uid;
}

int req_check_user_or_reply(struct req *r, int64_t user_id)
{
	if (user_id == 0 || user_id == r->user.uid || req_is_privileged(r))
		return 0;
	reply_error(r, 403, "Not enough permissions");
	return -1;
}

int req_is_privileged(const struct req *r)
{
	return r->caller == CALLER_SERVICE || (r->caller == CALLER_USER && r->user.admin);
}

/* Read one filter into its out. */
static void read_filter(const struct req *r, const struct req_filter *f, struct field_errors *e)
{
	int i;

	switch (f->kind) {
	case REQ_FILTER_ID:
	case REQ_FILTER_USER:
		field_query_int64(r->query, f->name, 1, INT64_MAX, FIELD_OPTIONAL, f->out, e);
		break;
	case REQ_FILTER_ENUM:
		if (field_query_enum(r->query, f->name, f->values, FIELD_OPTIONAL, &i, e) > 0)
			*(const char **)f->out = f->values[i];
		break;
	}
}

int req_list_or_reply(struct req *r, const struct req_filter *filters, int64_t *limit,
                      int64_t *offset)
{
	struct field_errors e;

	field_errors_init(&e);
	for (const struct req_filter *f = filters; f && f->name; f++)
		read_filter(r, f, &e);
	field_query_paging(r->query, limit, offset, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	for (const struct req_filter *f = filters; f && f->name; f++) {
		if (f->kind != REQ_FILTER_USER)
			continue;
		int64_t *user = f->out;
		if (req_check_user_or_reply(r, *user) < 0)
			return -1;
		if (*user == 0)
			*user = req_owner(r);
	}
	return 0;
}
