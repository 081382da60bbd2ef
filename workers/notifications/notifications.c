/* notifications.c - the notification queue's API: parse -> validate ->
 * store -> reply. A notification is only queued here; the mailer pool
 * sends it. Users queue notifications for themselves; admins and other
 * services (X-Service-Key) for anyone. An event_id makes a create
 * idempotent: the same event returns the notification stored first. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "metrics.h"
#include "notifications.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "worker.h"

#define TYPE_MAX  32
#define NOT_FOUND "Notification not found"

static const char *const types[] = {"booking_confirmation",
                                    "booking_cancellation",
                                    "payment_failed",
                                    "hold_expired",
                                    "flight_update",
                                    "custom",
                                    NULL};
static const char *const statuses[] = {"queued", "sent", "failed", NULL};

#define TYPE_ENUM_MSG                                                                              \
	"Input should be 'booking_confirmation', 'booking_cancellation', 'payment_failed', "       \
	"'hold_expired', 'flight_update' or 'custom'"
#define STATUS_ENUM_MSG "Input should be 'queued', 'sent' or 'failed'"

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

static struct json_object *notification_json(const struct notification *n)
{
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
	const char *type;
	const char *message;
	const char *event_id; /* NULL = none */
	char event_key[NOTIFICATIONS_EVENT_KEY_MAX];
};

/* The rules beyond type and length: enum, characters. */
static void check_values(const struct notification_input *in, struct field_errors *e)
{
	if (in->type && !notifications_type_valid(in->type))
		field_error_add(e, "body", "type", TYPE_ENUM_MSG, "enum");
	if (in->message && !notifications_message_valid(in->message))
		field_error_add(e, "body", "message",
		                "Message must not contain control characters other than tab and "
		                "newline",
		                "value_error");
	if (in->event_id && !notifications_event_id_valid(in->event_id))
		field_error_add(e, "body", "event_id",
		                "event_id must be 1 to 128 printable ASCII characters",
		                "value_error");
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

/* Read and check the body; 0, or -1 after replying 400/403/422. */
static int read_input(struct req *r, struct notification_input *in)
{
	struct json_object *body = req_json(r);
	struct field_errors e;

	memset(in, 0, sizeof(*in));
	if (body == NULL)
		return -1;
	field_errors_init(&e);
	field_int64(body, "user_id", 1, INT64_MAX, FIELD_REQUIRED, &in->user_id, &e);
	field_str(body, "type", 1, TYPE_MAX, FIELD_REQUIRED, &in->type, &e);
	field_str(body, "message", 1, NOTIFICATIONS_MESSAGE_MAX, FIELD_REQUIRED, &in->message, &e);
	field_int64(body, "booking_id", 1, INT64_MAX, FIELD_OPTIONAL, &in->booking_id, &e);
	field_str(body, "event_id", 1, 1024, FIELD_OPTIONAL, &in->event_id, &e);
	check_values(in, &e);
	if (e.count == 0)
		event_key(r, in, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	return req_check_user(r, in->user_id);
}

void notifications_create(struct req *r)
{
	struct notification_input in;
	struct notification n = {0}, out;
	int created = 0;

	if (read_input(r, &in) < 0)
		return;
	n.user_id = in.user_id;
	n.booking_id = in.booking_id;
	snprintf(n.type, sizeof(n.type), "%s", in.type);
	snprintf(n.message, sizeof(n.message), "%s", in.message);
	if (store_notification_create(r->w->db, &n, in.event_id ? in.event_key : NULL, &out,
	                              &created) != STORE_OK) {
		reply_error(r, 503, "Database unavailable");
		return;
	}
	if (created)
		count(r->w, out.type, "queued");
	reply_json(r, created ? 201 : 200, notification_json(&out));
}

/* ---- reads ---- */

struct filter_text {
	char type[TYPE_MAX + 1];
	char status[16];
};

static void read_enums(struct req *r, struct notification_filter *f, struct filter_text *t,
                       struct field_errors *e)
{
	if (field_query_str(r->query, "type", 1, TYPE_MAX, t->type, sizeof(t->type), FIELD_OPTIONAL,
	                    e) > 0) {
		if (notifications_type_valid(t->type))
			f->type = t->type;
		else
			field_error_add(e, "query", "type", TYPE_ENUM_MSG, "enum");
	}
	if (field_query_str(r->query, "status", 1, sizeof(t->status) - 1, t->status,
	                    sizeof(t->status), FIELD_OPTIONAL, e) > 0) {
		if (one_of(t->status, statuses))
			f->status = t->status;
		else
			field_error_add(e, "query", "status", STATUS_ENUM_MSG, "enum");
	}
}

/* Read the list filters; 0, or -1 after replying 403/422. */
static int read_filter(struct req *r, struct notification_filter *f, struct filter_text *t)
{
	struct field_errors e;

	memset(f, 0, sizeof(*f));
	field_errors_init(&e);
	field_query_int64(r->query, "user_id", 1, INT64_MAX, FIELD_OPTIONAL, &f->user_id, &e);
	read_enums(r, f, t, &e);
	field_query_paging(r->query, &f->limit, &f->offset, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	if (req_check_user(r, f->user_id) < 0)
		return -1;
	if (f->user_id == 0)
		f->user_id = req_owner(r);
	return 0;
}

void notifications_list(struct req *r)
{
	struct notification_filter f;
	struct notification *rows = NULL;
	struct filter_text t;
	char total_text[24];
	int64_t total = 0;
	int n = 0;

	if (read_filter(r, &f, &t) < 0)
		return;
	if (store_notification_list(r->w->db, &f, &rows, &n, &total) != STORE_OK) {
		reply_error(r, 503, "Database unavailable");
		return;
	}
	struct json_object *list = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(list, notification_json(&rows[i]));
	free(rows);
	snprintf(total_text, sizeof(total_text), "%" PRId64, total);
	reply_header(r, "X-Total-Count", total_text);
	reply_json(r, 200, list);
}

/* The :id of the path; 0, or -1 after replying 404 (an id that does not
 * parse names no notification). */
static int notification_id(struct req *r, int64_t *id)
{
	const char *v = route_param(&r->match, "id");

	if (v && field_parse_int64(v, 1, INT64_MAX, id) == 0)
		return 0;
	reply_error(r, 404, NOT_FOUND);
	return -1;
}

void notifications_get(struct req *r)
{
	struct notification n;
	int64_t id;

	if (notification_id(r, &id) < 0)
		return;
	int64_t owner = req_owner(r);
	switch (store_notification_get(r->w->db, id, owner, &n)) {
	case STORE_OK:
		reply_json(r, 200, notification_json(&n));
		return;
	case STORE_NOT_FOUND:
		reply_error(r, 404, NOT_FOUND);
		return;
	default:
		reply_error(r, 503, "Database unavailable");
	}
}
