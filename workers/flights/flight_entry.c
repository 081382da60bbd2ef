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
#define ENTRY_KEY_MAX  FLIGHT_ENTRY_KEY_MAX

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

/* s as a JSON string, quotes included, escaped as json-c escapes it
 * (JSON_C_TO_STRING_NOSLASHESCAPE): byte for byte, so a reply written
 * here equals the one the object tree gave. buf_add_json_str differs
 * (it also replaces invalid UTF-8 and escapes DEL). */
static void add_str(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	buf_addc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		char u[7];
		switch (*p) {
		case '\b':
			esc = "\\b";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		default:
			if (*p < 0x20) {
				snprintf(u, sizeof(u), "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
				esc = u;
			}
		}
		if (esc == NULL)
			continue;
		buf_add(out, run, (size_t)((const char *)p - run));
		buf_adds(out, esc);
		run = (const char *)p + 1;
	}
	buf_adds(out, run);
	buf_addc(out, '"');
}

/* v in decimal, without printf (a page is some 30 numbers a row). */
static void add_num(struct buf *out, int64_t v)
{
	char text[24];
	int n = sizeof(text);
	uint64_t a = v < 0 ? 0ULL - (uint64_t)v : (uint64_t)v;

	do
		text[--n] = (char)('0' + a % 10);
	while ((a /= 10) > 0);
	if (v < 0)
		text[--n] = '-';
	buf_add(out, text + n, sizeof(text) - (size_t)n);
}

/* ,"name":v */
static void add_int(struct buf *out, const char *name, int64_t v)
{
	buf_addc(out, ',');
	buf_addc(out, '"');
	buf_adds(out, name);
	buf_add(out, "\":", 2);
	add_num(out, v);
}

/* ,"name":<cents as field_format_money writes them> */
static void add_money(struct buf *out, const char *name, int64_t cents)
{
	uint64_t a = cents < 0 ? 0ULL - (uint64_t)cents : (uint64_t)cents;
	char frac[3] = {(char)('0' + a % 100 / 10), (char)('0' + a % 10), '\0'};

	buf_addc(out, ',');
	buf_addc(out, '"');
	buf_adds(out, name);
	buf_add(out, "\":", 2);
	if (cents < 0)
		buf_addc(out, '-');
	/* a / 100 fits: |INT64_MIN| / 100 is below INT64_MAX */
	add_num(out, (int64_t)(a / 100));
	buf_addc(out, '.');
	buf_add(out, frac, 2);
}

static void two(char *at, int v)
{
	at[0] = (char)('0' + v / 10);
	at[1] = (char)('0' + v % 10);
}

/* ,"name":"YYYY-MM-DDTHH:MM:SSZ" as field_format_time writes it; the
 * date from the day number (H. Hinnant's civil_from_days), not strftime. */
static void add_time_text(struct buf *out, const char *name, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), secs = t - days * 86400;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	char s[32];

	if (y < 1000 || y > 9999) {
		/* strftime's own width for such years */
		field_format_time(t, s, sizeof(s));
	} else {
		memcpy(s, "0000-00-00T00:00:00Z", 21);
		two(s, (int)(y / 100));
		two(s + 2, (int)(y % 100));
		two(s + 5, (int)m);
		two(s + 8, (int)d);
		two(s + 11, (int)(secs / 3600));
		two(s + 14, (int)(secs / 60 % 60));
		two(s + 17, (int)(secs % 60));
	}
	buf_addc(out, ',');
	buf_addc(out, '"');
	buf_adds(out, name);
	buf_add(out, "\":", 2);
	add_str(out, s);
}

void flight_entry_public(struct buf *out, const struct flight *f, int available,
                         const int *cabin_available)
{
	struct cabin c[FLIGHT_CABINS_MAX];
	int n = flight_cabins(f, c);

	buf_adds(out, "{\"id\":");
	add_num(out, f->id);
	buf_adds(out, ",\"flight_number\":");
	add_str(out, f->flight_number);
	buf_adds(out, ",\"airline\":");
	add_str(out, f->airline);
	buf_adds(out, ",\"origin\":");
	add_str(out, f->origin);
	buf_adds(out, ",\"destination\":");
	add_str(out, f->destination);
	add_time_text(out, "departure_time", f->departure_time);
	add_time_text(out, "arrival_time", f->arrival_time);
	add_money(out, "price", f->price_cents);
	add_int(out, "total_seats", f->total_seats);
	add_int(out, "available_seats", available);
	buf_adds(out, f->is_active ? ",\"is_active\":true" : ",\"is_active\":false");
	add_time_text(out, "created_at", f->created_at);
	buf_adds(out, ",\"cabins\":[");
	for (int k = 0; k < n; k++) {
		buf_adds(out, k ? ",{\"cabin\":\"" : "{\"cabin\":\"");
		buf_adds(out, flight_cabin_name(c[k].kind));
		buf_addc(out, '"');
		add_int(out, "first_row", c[k].first_row);
		add_int(out, "last_row", c[k].last_row);
		add_money(out, "price", c[k].price_cents);
		add_int(out, "available_seats", cabin_available ? cabin_available[k] : available);
		buf_addc(out, '}');
	}
	buf_adds(out, "]}");
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

void flight_entry_key(int64_t id, char *key, size_t len)
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

	flight_entry_key(f->id, key, sizeof(key));
	int rc = kv_set(kv, key, s, len, ENTRY_TTL_MS, nx) < 0 ? -1 : 0;
	if (json)
		buf_add(json, s, len);
	json_object_put(o);
	return rc;
}

int flight_entry_get(struct kv *kv, int64_t id, struct flight *f, struct buf *json)
{
	char key[ENTRY_KEY_MAX], text[ENTRY_JSON_MAX];

	flight_entry_key(id, key, sizeof(key));
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

	flight_entry_key(id, key, sizeof(key));
	if (kv_del(kv, key) == 0)
		return 0;
	log_warn("flight cache not invalidated: redis down", "key", key);
	return -1;
}
