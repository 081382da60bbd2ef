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
#define ENTRY_JSON_MAX 4096
#define ENTRY_KEY_MAX  40

static void add_time(struct json_object *o, const char *name, int64_t t)
{
	char s[32];

	field_format_time(t, s, sizeof(s));
	json_object_object_add(o, name, json_object_new_string(s));
}

static const char *const cabin_names[] = {"first", "business", "premium_economy", "economy"};

const char *flight_cabin_name(int kind)
{
	return kind >= 0 && kind < FLIGHT_CABINS_MAX ? cabin_names[kind] : NULL;
}

int flight_cabin_kind(const char *name)
{
	for (int k = 0; k < FLIGHT_CABINS_MAX; k++)
		if (strcmp(cabin_names[k], name) == 0)
			return k;
	return -1;
}

int flight_cabins(const struct flight *f, struct cabin *out)
{
	if (f->ncabins > 0) {
		memcpy(out, f->cabins, (size_t)f->ncabins * sizeof(*out));
		return f->ncabins;
	}
	/* the last row may be short: total_seats need not be a multiple of 6 */
	out[0] = (struct cabin){.kind = CABIN_ECONOMY,
	                        .first_row = 1,
	                        .last_row =
	                                (f->total_seats + FLIGHT_ROW_SEATS - 1) / FLIGHT_ROW_SEATS,
	                        .price_cents = f->price_cents};
	return 1;
}

int flight_seat_cabin(const struct flight *f, int64_t i, struct cabin *out)
{
	struct cabin c[FLIGHT_CABINS_MAX];
	int n = flight_cabins(f, c);
	int64_t row = i / FLIGHT_ROW_SEATS + 1;

	if (i < 0 || i >= f->total_seats)
		return -1;
	for (int k = 0; k < n; k++)
		if (row >= c[k].first_row && row <= c[k].last_row) {
			*out = c[k];
			return 0;
		}
	return -1;
}

static struct json_object *cabin_json(const struct cabin *c, int internal, int available)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "cabin", json_object_new_string(flight_cabin_name(c->kind)));
	json_object_object_add(o, "first_row", json_object_new_int(c->first_row));
	json_object_object_add(o, "last_row", json_object_new_int(c->last_row));
	if (internal)
		json_object_object_add(o, "price_cents", json_object_new_int64(c->price_cents));
	else
		json_object_object_add(o, "price", field_json_money(c->price_cents));
	if (available >= 0)
		json_object_object_add(o, "available_seats", json_object_new_int(available));
	return o;
}

struct json_object *flight_cabins_json(const struct flight *f)
{
	if (f->ncabins == 0)
		return NULL;
	struct json_object *a = json_object_new_array_ext(f->ncabins);
	for (int k = 0; k < f->ncabins; k++)
		json_object_array_add(a, cabin_json(&f->cabins[k], 1, -1));
	return a;
}

/* One internal cabin object into c: 0 or -1. */
static int cabin_from_json(struct json_object *o, struct cabin *c)
{
	struct field_errors e;
	const char *name = NULL;
	int64_t first = 0, last = 0;

	field_errors_init(&e);
	field_str(o, "cabin", 1, 32, FIELD_REQUIRED, &name, &e);
	field_int64(o, "first_row", 1, FLIGHT_ROWS_MAX, FIELD_REQUIRED, &first, &e);
	field_int64(o, "last_row", 1, FLIGHT_ROWS_MAX, FIELD_REQUIRED, &last, &e);
	field_int64(o, "price_cents", 0, FLIGHT_PRICE_MAX, FIELD_REQUIRED, &c->price_cents, &e);
	int bad = e.count > 0 || (c->kind = flight_cabin_kind(name)) < 0 || last < first;
	c->first_row = (int)first;
	c->last_row = (int)last;
	field_errors_release(&e);
	return bad ? -1 : 0;
}

/* The internal cabins array a (NULL: none) into f: 0 or -1. */
static int cabins_from_json(struct json_object *a, struct flight *f)
{
	f->ncabins = 0;
	if (a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) > FLIGHT_CABINS_MAX)
		return -1;
	for (size_t k = 0; k < json_object_array_length(a); k++)
		if (cabin_from_json(json_object_array_get_idx(a, k), &f->cabins[k]) < 0)
			return -1;
	f->ncabins = (int)json_object_array_length(a);
	return 0;
}

int flight_cabins_parse(const char *text, struct flight *f)
{
	struct json_object *a = json_tokener_parse(text);
	int rc = a == NULL ? -1 : cabins_from_json(a, f);

	json_object_put(a);
	return rc;
}

struct json_object *flight_entry_json(const struct flight *f, int available,
                                      const int *cabin_available)
{
	struct json_object *o = json_object_new_object();
	struct cabin c[FLIGHT_CABINS_MAX];
	int n = flight_cabins(f, c);

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
	if (available < 0) {
		/* internal: the cabins as given, so a reader tells "none" apart */
		struct json_object *a = flight_cabins_json(f);
		if (a)
			json_object_object_add(o, "cabins", a);
		return o;
	}
	struct json_object *a = json_object_new_array_ext(n);
	for (int k = 0; k < n; k++)
		json_object_array_add(
		        a, cabin_json(&c[k], 0, cabin_available ? cabin_available[k] : available));
	json_object_object_add(o, "cabins", a);
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
	struct json_object *cabins = NULL;
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
	json_object_object_get_ex(o, "cabins", &cabins);
	if (strings_from_json(o, f, &e) == 0 && e.count == 0 && cabins_from_json(cabins, f) == 0) {
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
	struct json_object *o = flight_entry_json(f, -1, NULL);
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
