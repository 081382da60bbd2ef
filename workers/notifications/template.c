/* template.c - the texts of system notifications, with {key}
 * placeholders filled from the event's data. The texts are the ones the
 * senders used to build in SQL, word for word: a template changes what
 * users read, so it changes here, with its test. It does not check
 * message rules (length, characters): the handler does, for every message. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "template.h"

struct template
{
	const char *type;
	const char *text;
	/* appended when data[when] is "yes" (NULL: never) */
	const char *when;
	const char *tail;
	/* used instead of text when data[list] is a non-empty text (NULL:
	 * never): a booking of several passengers names each of them */
	const char *list;
	const char *list_text;
};

/* clang-format off */
static const struct template templates[] = {
	{"booking_confirmation",
	 "Your booking {reference} is confirmed. Flight {flight} from {origin} to {destination}, "
	 "departing {departure} UTC. Seat {seat}. Total paid: {total}.", NULL, NULL,
	 "passengers",
	 "Your booking {reference} is confirmed. Flight {flight} from {origin} to {destination}, "
	 "departing {departure} UTC. Passengers: {passengers}. Total paid: {total}."},
	{"booking_cancellation",
	 "Your booking {reference} (seat {seat} on {flight}) has been cancelled.",
	 "refund", " Your payment will be refunded.", NULL, NULL},
	{"hold_expired",
	 "Your hold on seat {seat} of {flight} (booking {reference}) expired before payment, "
	 "and the seat was released.", NULL, NULL, NULL, NULL},
	{"payment_failed",
	 "Your payment of {amount} for booking {booking} was declined. The seat stays held until "
	 "the hold ends; you may pay with another card.", NULL, NULL, NULL, NULL},
	{NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const struct template *find(const char *type)
{
	for (const struct template *t = templates; t->type; t++)
		if (strcmp(t->type, type) == 0)
			return t;
	return NULL;
}

int template_exists(const char *type)
{
	return find(type) != NULL;
}

/* The text of data[key] (len bytes): 0, or -1 when absent or not text. */
static int fact(struct json_object *data, const char *key, size_t len, const char **s, size_t *n)
{
	struct json_object *v;
	char name[32];

	if (len >= sizeof(name))
		return -1;
	memcpy(name, key, len);
	name[len] = '\0';
	if (!json_object_object_get_ex(data, name, &v))
		return -1;
	if (v == NULL) {
		*s = "";
		*n = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
		return -1;
	*s = json_object_get_string(v);
	*n = strlen(*s);
	return 0;
}

/* Append text with its placeholders filled; -1 (out holding the reason)
 * when a fact is missing. */
static int fill(const char *text, struct json_object *data, struct buf *out)
{
	const char *p = text, *open, *s;
	size_t n;

	while ((open = strchr(p, '{')) != NULL) {
		const char *close = strchr(open, '}');
		buf_add(out, p, (size_t)(open - p));
		if (fact(data, open + 1, (size_t)(close - open - 1), &s, &n) < 0) {
			buf_reset(out);
			buf_printf(out, "data must have the text '%.*s'", (int)(close - open - 1),
			           open + 1);
			return -1;
		}
		buf_add(out, s, n);
		p = close + 1;
	}
	buf_adds(out, p);
	return 0;
}

/* 1 when data[key] is the text "yes". */
static int yes(struct json_object *data, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(data, key, &v) &&
	       json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), "yes") == 0;
}

/* 1 when data[key] is a text that is not empty. */
static int given(struct json_object *data, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(data, key, &v) &&
	       json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0;
}

int template_render(const char *type, struct json_object *data, struct buf *out)
{
	const struct template *t = find(type);

	if (t == NULL) {
		buf_reset(out);
		buf_printf(out, "No template for type '%s': send a message", type);
		return -1;
	}
	/* events queued before the list existed have no such key: the text
	 * they were written for */
	const char *text = t->list && given(data, t->list) ? t->list_text : t->text;
	if (fill(text, data, out) < 0)
		return -1;
	if (t->when && yes(data, t->when))
		buf_adds(out, t->tail);
	return 0;
}
