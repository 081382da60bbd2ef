/* notifications.c - the notification queue's API: parse -> validate ->
 * store -> reply. A notification is only queued here; the mailer pool
 * sends it. A user token may queue only `custom` notifications, users
 * for themselves and admins for anyone: the mailer sends every message as
 * FlightOps, so a user's text must never look like a system mail. The
 * system types come from services (X-Service-Key), and those with a
 * template (template.h) only as its facts (data, event.h), never as a
 * message text: their words are always ours. An event_id makes a create
 * idempotent: the same event returns the notification stored first. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "field.h"
#include "metrics.h"
#include "notifications.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "template.h"
#include "worker.h"

#define NOT_FOUND "Notification not found"

static const char *const types[] = {"booking_confirmation",
                                    "booking_cancellation",
                                    "payment_failed",
                                    "hold_expired",
                                    "flight_update",
                                    "custom",
                                    NULL};
static const char *const statuses[] = {"queued", "sent", "failed", NULL};

/* ---- input rules ---- */

static int one_of(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int notifications_type_valid(const char *type)
{
	return one_of(type, types);
}

int notifications_event_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > NOTIFICATIONS_EVENT_ID_MAX)
		return 0;
	for (; *id; id++)
		if (*id < 0x21 || *id > 0x7e)
			return 0;
	return 1;
}

int notifications_message_valid(const char *message)
{
	for (const unsigned char *p = (const unsigned char *)message; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			return 0;
	return 1;
}

int notifications_event_key(int64_t uid, const char *event_id, char *out, size_t outlen)
{
	int n = uid > 0 ? snprintf(out, outlen, "user:%" PRId64 ":%s", uid, event_id)
	                : snprintf(out, outlen, "svc:%s", event_id);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- JSON and metrics ---- */

static struct json_object *notification_json(const void *row)
{
	const struct notification *n = row;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(n->id));
	json_object_object_add(o, "user_id", json_object_new_int64(n->user_id));
	json_object_object_add(o, "booking_id",
	                       n->booking_id ? json_object_new_int64(n->booking_id) : NULL);
	json_object_object_add(o, "type", json_object_new_string(n->type));
	json_object_object_add(o, "message", json_object_new_string(n->message));
	json_object_object_add(o, "status", json_object_new_string(n->status));
	json_object_object_add(o, "created_at", json_object_new_string(n->created_at));
	json_object_object_add(o, "sent_at",
	                       n->sent_at[0] ? json_object_new_string(n->sent_at) : NULL);
	return o;
}

static void count(struct worker *w, const char *type, const char *status)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "type=\"%s\",status=\"%s\"", type, status);
	metrics_inc(w->metrics, "notifications_total", labels);
}

/* ---- create ---- */

struct notification_input {
	int64_t user_id;
	int64_t booking_id; /* 0 = none */
	int type;           /* index in types */
	const char *message;
	struct json_object *data; /* a service's facts to render instead of a message */
	const char *event_id;     /* NULL = none */
	char event_key[NOTIFICATIONS_EVENT_KEY_MAX];
	struct buf text; /* the rendered message */
};

#define MESSAGE_CHARS_MSG "Message must not contain control characters other than tab and newline"

/* Who may send what (see the top of this file): 0, or -1 after replying
 * 403 (a user token and a system type) or 422 (a service's message text
 * for a type that has a template). */
static int check_sender_or_reply(struct req *r, const struct notification_input *in)
{
	const char *type = types[in->type];

	if (r->caller == CALLER_USER && strcmp(type, "custom") != 0) {
		reply_error(r, 403, "Users may only send custom notifications");
		return -1;
	}
	if (r->caller == CALLER_SERVICE && in->data == NULL && template_exists(type)) {
		struct field_errors e;
		field_errors_init(&e);
		field_error_add(&e, "body", "data",
		                "A system notification is built from its template: send data, "
		                "not a message",
		                "missing");
		reply_invalid(r, &e);
		return -1;
	}
	return 0;
}

/* The rules beyond type and length: characters. */
static void check_values(const struct notification_input *in, struct field_errors *e)
{
	if (in->message && !notifications_message_valid(in->message))
		field_error_add(e, "body", "message", MESSAGE_CHARS_MSG, "value_error");
	if (in->event_id && !notifications_event_id_valid(in->event_id))
		field_error_add(e, "body", "event_id",
		                "event_id must be 1 to 128 printable ASCII characters",
		                "value_error");
}

/* The message text, or for a service the facts (data) of a system
 * notification instead: the words are our templates (template.h). */
static void read_message(struct req *r, struct json_object *body, struct notification_input *in,
                         struct field_errors *e)
{
	struct json_object *data;

	if (r->caller != CALLER_SERVICE || json_object_object_get_ex(body, "message", NULL) ||
	    !json_object_object_get_ex(body, "data", &data)) {
		field_str(body, "message", 1, NOTIFICATIONS_MESSAGE_MAX, FIELD_REQUIRED,
		          &in->message, e);
		return;
	}
	if (json_object_is_type(data, json_type_object))
		in->data = data;
	else
		field_error_add(e, "body", "data", "Input should be a valid dictionary",
		                "dict_type");
}

/* The message of in->data from the template of in->type, held by in. */
static void render(struct notification_input *in, struct field_errors *e)
{
	if (template_render(types[in->type], in->data, &in->text) < 0)
		field_error_add(e, "body", "data", buf_str(&in->text), "value_error");
	else if (in->text.len > NOTIFICATIONS_MESSAGE_MAX)
		field_error_add(e, "body", "data", "The rendered message is over 2000 bytes",
		                "value_error");
	else if (!notifications_message_valid(buf_str(&in->text)))
		field_error_add(e, "body", "data", MESSAGE_CHARS_MSG, "value_error");
	else
		in->message = buf_str(&in->text);
}

/* The stored key of the event id; services call with uid 0, so their keys
 * share one namespace and users each have their own. */
static void event_key(struct req *r, struct notification_input *in, struct field_errors *e)
{
	int64_t scope = r->caller == CALLER_USER ? r->user.uid : 0;

	if (in->event_id &&
	    notifications_event_key(scope, in->event_id, in->event_key, sizeof(in->event_key)) < 0)
		field_error_add(e, "body", "event_id", "event_id is too long", "value_error");
}

/* Read and check the body into in (initialised here; release in->text);
 * 0, or -1 after replying 400/403/422. */
static int read_input_or_reply(struct req *r, struct notification_input *in)
{
	struct json_object *body = req_json_or_reply(r);
	struct field_errors e;

	memset(in, 0, sizeof(*in));
	buf_init(&in->text);
	if (body == NULL)
		return -1;
	field_errors_init(&e);
	field_int64(body, "user_id", 1, INT64_MAX, FIELD_REQUIRED, &in->user_id, &e);
	int typed = field_enum(body, "type", types, FIELD_REQUIRED, &in->type, &e) > 0;
	read_message(r, body, in, &e);
	field_int64(body, "booking_id", 1, INT64_MAX, FIELD_OPTIONAL, &in->booking_id, &e);
	field_str(body, "event_id", 1, 1024, FIELD_OPTIONAL, &in->event_id, &e);
	check_values(in, &e);
	if (typed && in->data)
		render(in, &e);
	if (e.count == 0)
		event_key(r, in, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	if (check_sender_or_reply(r, in) < 0)
		return -1;
	return req_check_user_or_reply(r, in->user_id);
}

static void create(struct req *r, const struct notification_input *in)
{
	struct notification n = {0}, out;
	int created = 0;

	n.user_id = in->user_id;
	n.booking_id = in->booking_id;
	snprintf(n.type, sizeof(n.type), "%s", types[in->type]);
	snprintf(n.message, sizeof(n.message), "%s", in->message);
	snprintf(n.request_id, sizeof(n.request_id), "%s", r->request_id);
	enum store_status st = store_notification_create(
	        r->w->db, &n, in->event_id ? in->event_key : NULL, &out, &created);
	if (reply_unless_ok(r, st, NOT_FOUND, NULL) < 0)
		return;
	if (created)
		count(r->w, out.type, "queued");
	reply_json(r, created ? 201 : 200, notification_json(&out));
}

void notifications_create(struct req *r)
{
	struct notification_input in;

	if (read_input_or_reply(r, &in) == 0)
		create(r, &in);
	buf_release(&in.text);
}

/* ---- reads ---- */

void notifications_list(struct req *r)
{
	struct notification_filter f = {0};
	const struct req_filter filters[] = {
	        {"user_id", REQ_FILTER_USER, NULL, &f.user_id},
	        {"type", REQ_FILTER_ENUM, types, &f.type},
	        {"status", REQ_FILTER_ENUM, statuses, &f.status},
	        {.name = NULL},
	};
	struct notification *rows = NULL;
	int64_t total = 0;
	int n = 0;

	if (req_list_or_reply(r, filters, &f.limit, &f.offset) < 0)
		return;
	enum store_status st = store_notification_list(r->w->db, &f, &rows, &n, &total);
	if (reply_unless_ok(r, st, NOT_FOUND, NULL) == 0)
		reply_rows(r, rows, n, sizeof(*rows), notification_json, total);
	free(rows);
}

void notifications_get(struct req *r)
{
	struct notification n;
	int64_t id;

	if (req_param_id_or_reply(r, "id", NOT_FOUND, &id) < 0)
		return;
	enum store_status st = store_notification_get(r->w->db, id, req_owner(r), &n);
	if (reply_unless_ok(r, st, NOT_FOUND, NULL) == 0)
		reply_json(r, 200, notification_json(&n));
}

int notifications_gauges(struct worker *w, struct buf *out)
{
	int64_t queued;
	double oldest;

	if (store_mail_backlog(w->db, &queued, &oldest) != STORE_OK)
		return -1;
	metrics_gauge(out, "mail_queued", "notifications queued for the mailer", (double)queued);
	metrics_gauge(out, "mail_oldest_queued_seconds",
	              "age of the oldest queued notification (0: none)", oldest);
	return 0;
}
