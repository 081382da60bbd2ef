/* reply.c - set the status, headers and body of a response. Nothing is
 * written here: serve.c sends the response once the handler returns. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "field.h"
#include "log.h"
#include "reply.h"
#include "req.h"

static const struct {
	int status;
	const char *reason;
} reasons[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {413, "Content Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
};

const char *reply_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

void reply_raw(struct req *r, int status, const char *ctype, const char *body, size_t len)
{
	r->status = status;
	r->out_type = ctype;
	buf_reset(&r->out);
	buf_add(&r->out, body, len);
}

struct buf *reply_body(struct req *r, int status, const char *ctype)
{
	r->status = status;
	r->out_type = ctype;
	buf_reset(&r->out);
	return &r->out;
}

const char *reply_json_text(struct json_object *obj, size_t *len)
{
	return json_object_to_json_string_length(
	        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

void reply_json(struct req *r, int status, struct json_object *obj)
{
	size_t len;
	const char *s = reply_json_text(obj, &len);

	reply_raw(r, status, "application/json", s, len);
	json_object_put(obj);
}

void reply_error(struct req *r, int status, const char *detail)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "detail", json_object_new_string(detail));
	reply_json(r, status, obj);
}

void reply_invalid(struct req *r, struct field_errors *e)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "detail", json_object_get(e->list));
	field_errors_release(e);
	reply_json(r, 422, obj);
}

void reply_empty(struct req *r, int status)
{
	r->status = status;
	r->out_type = NULL;
	buf_reset(&r->out);
}

void reply_header(struct req *r, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
		log_warn("response header dropped", "name", name);
		return;
	}
	buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

int reply_unless_ok(struct req *r, enum store_status st, const char *not_found,
                    const char *conflict)
{
	switch (st) {
	case STORE_OK:
		return 0;
	case STORE_NOT_FOUND:
		reply_error(r, 404, not_found ? not_found : reply_reason(404));
		break;
	case STORE_CONFLICT:
		reply_error(r, 409, conflict ? conflict : reply_reason(409));
		break;
	default:
		reply_error(r, 503, REPLY_DB_DOWN);
	}
	return -1;
}

void reply_rows(struct req *r, const void *rows, int n, size_t size, reply_row_fn to_json,
                int64_t total)
{
	struct json_object *list = json_object_new_array_ext(n);
	char text[24];

	for (int i = 0; i < n; i++)
		json_object_array_add(list, to_json((const char *)rows + (size_t)i * size));
	snprintf(text, sizeof(text), "%" PRId64, total);
	reply_header(r, "X-Total-Count", text);
	reply_json(r, 200, list);
}
