/* flight_entry.c - the flight as other services see it: its JSON forms,
 * the parser of the internal form and the Redis entry flight:<id>. One
 * writer (the flights pool) and every reader use this file, so the
 * format has one owner. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "field.h"
#include "flight_entry.h"
#include "kv.h"
#include "log.h"

#define ENTRY_TTL_MS   300000LL
#define ENTRY_JSON_MAX 2048
#define ENTRY_KEY_MAX  40

static void add_time(struct json_object *o, const char *name, int64_t t)
{
	char s[32];

	field_format_time(t, s, sizeof(s));
	json_object_object_add(o, name, json_object_new_string(s));
}

struct json_object *flight_entry_json(const struct flight *f, int available)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(f->id));
	json_object_object_add(o, "flight_number", json_object_new_string(f->flight_number));
	json_object_object_add(o, "airline", json_object_new_string(f->airline));
	json_object_object_add(o, "origin", json_object_new_string(f->origin));
	json_object_object_add(o, "destination", json_object_new_string(f->destination));
	add_time(o, "departure_time", f->departure_time);
	add_time(o, "arrival_time", f->arrival_time);
	json_object_object_add(o, "price", field_json_money(f->price_cents));
	if (available < 0)
		json_object_object_add(o, "price_cents", json_object_new_int64(f->price_cents));
	json_object_object_add(o, "total_seats", json_object_new_int(f->total_seats));
	if (available >= 0)
		json_object_object_add(o, "available_seats", json_object_new_int(available));
	json_object_object_add(o, "is_active", json_object_new_boolean(f->is_active));
	add_time(o, "created_at", f->created_at);
	return o;
}

/* The string members of the internal form into f: 0 or -1. */
static int strings_from_json(struct json_object *o, struct flight *f, struct field_errors *e)
{
	const char *num = NULL, *airline = NULL, *origin = NULL, *dest = NULL;

	field_str(o, "flight_number", 3, FLIGHT_NUMBER_MAX - 1, FIELD_REQUIRED, &num, e);
	field_str(o, "airline", 1, AIRLINE_MAX - 1, FIELD_REQUIRED, &airline, e);
	field_str(o, "origin", 3, 3, FIELD_REQUIRED, &origin, e);
	field_str(o, "destination", 3, 3, FIELD_REQUIRED, &dest, e);
	if (e->count)
		return -1;
	snprintf(f->flight_number, sizeof(f->flight_number), "%s", num);
	snprintf(f->airline, sizeof(f->airline), "%s", airline);
	snprintf(f->origin, sizeof(f->origin), "%s", origin);
	snprintf(f->destination, sizeof(f->destination), "%s", dest);
	return 0;
}

int flight_entry_parse(const char *text, struct flight *f)
{
	struct json_object *o = json_tokener_parse(text);
	struct field_errors e;
	int64_t seats = 0;
	int rc = -1;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	field_errors_init(&e);
	field_int64(o, "id", 1, INT64_MAX, FIELD_REQUIRED, &f->id, &e);
	field_time(o, "departure_time", FIELD_REQUIRED, &f->departure_time, &e);
	field_time(o, "arrival_time", FIELD_REQUIRED, &f->arrival_time, &e);
	field_int64(o, "price_cents", 0, FLIGHT_PRICE_MAX, FIELD_REQUIRED, &f->price_cents, &e);
	field_int64(o, "total_seats", 1, FLIGHT_SEATS_MAX, FIELD_REQUIRED, &seats, &e);
	field_bool(o, "is_active", FIELD_REQUIRED, &f->is_active, &e);
	field_time(o, "created_at", FIELD_REQUIRED, &f->created_at, &e);
	if (strings_from_json(o, f, &e) == 0 && e.count == 0) {
		f->total_seats = (int)seats;
		rc = 0;
	}
	field_errors_release(&e);
	json_object_put(o);
	return rc;
}

static void entry_key(int64_t id, char *key, size_t len)
{
	snprintf(key, len, "flight:%" PRId64, id);
}

int flight_entry_put(struct kv *kv, const struct flight *f, int nx, struct buf *json)
{
	struct json_object *o = flight_entry_json(f, -1);
	char key[ENTRY_KEY_MAX];
	size_t len;
	const char *s = json_object_to_json_string_length(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	entry_key(f->id, key, sizeof(key));
	int rc = kv_set(kv, key, s, len, ENTRY_TTL_MS, nx) < 0 ? -1 : 0;
	if (json)
		buf_add(json, s, len);
	json_object_put(o);
	return rc;
}

int flight_entry_get(struct kv *kv, int64_t id, struct flight *f, struct buf *json)
{
	char key[ENTRY_KEY_MAX], text[ENTRY_JSON_MAX];

	entry_key(id, key, sizeof(key));
	int found = kv_get(kv, key, text, sizeof(text));
	if (found != 1)
		return found;
	if (flight_entry_parse(text, f) == 0 && f->id == id) {
		if (json)
			buf_adds(json, text);
		return 1;
	}
	log_warn("flight cache entry unreadable: dropped", "key", key);
	kv_del(kv, key);
	return 0;
}

int flight_entry_drop(struct kv *kv, int64_t id)
{
	char key[ENTRY_KEY_MAX];

	entry_key(id, key, sizeof(key));
	if (kv_del(kv, key) == 0)
		return 0;
	log_warn("flight cache not invalidated: redis down", "key", key);
	return -1;
}
