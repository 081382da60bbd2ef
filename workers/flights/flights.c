/* flights.c - flight handlers: parse -> validate -> store -> reply.
 * Single flights are read through the Redis cache flight:<id>, which holds
 * the internal JSON (the bookings pool reads it too): readers fill it only
 * when absent, writers overwrite it with the row they wrote before they
 * reply, so a reader that saw the old row cannot put it back afterwards.
 * available_seats is computed (occupancy.c), never taken from input.
 * With Redis down everything works from PostgreSQL, minus the cache. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "flights.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "occupancy.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "worker.h"

#define LIST_KEY_MAX  128
#define LIST_TTL_MS   30000LL
#define LIST_JSON_MAX (256 * 1024)
#define LIST_GEN_KEY  "flights:gen"
#define INPUT_MAX     64 /* longest code or number looked at */

static const char not_found[] = "Flight not found";
static const char seats_down[] = "Seat availability unavailable";
static const char bookings_down[] = "Booking service unavailable";
static const char duplicate[] = "Flight number already exists on that date";
static const char iata_msg[] = "Must be a 3-letter IATA airport code";
static const char number_msg[] =
        "Flight number must be 2 letters or digits, 1-4 digits and an optional letter "
        "(e.g. AA100)";

/* ---- input rules ---------------------------------------------------- */

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int flights_number_normalize(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i = 2, digits = 0;

	if (n < 3 || n > 7 || outlen <= n)
		return -1;
	for (size_t k = 0; k <= n; k++)
		out[k] = upper(s[k]);
	if (!(is_upper(out[0]) || is_digit(out[0])) || !(is_upper(out[1]) || is_digit(out[1])))
		return -1;
	for (; is_digit(out[i]); i++)
		digits++;
	if (digits < 1 || digits > 4)
		return -1;
	if (is_upper(out[i]))
		i++;
	return i == n ? 0 : -1;
}

int flights_iata_normalize(const char *s, char *out)
{
	for (int i = 0; i < 3; i++) {
		out[i] = upper(s[i]);
		if (!is_upper(out[i]))
			return -1;
	}
	out[3] = '\0';
	return s[3] == '\0' ? 0 : -1;
}

/* ---- the flight:<id> cache (flight_entry.h) ------------------------ */

/* Every cached list names the generation it was read in: a new one
 * makes them all unreachable at once. */
static void lists_stale(struct worker *w)
{
	long long gen;

	if (kv_incr(w->kv, LIST_GEN_KEY, &gen) < 0)
		log_warn("flight lists not invalidated: redis down");
}

static void cache_drop(struct worker *w, int64_t id)
{
	flight_entry_drop(w->kv, id);
	lists_stale(w);
}

/* After a write: the cache holds f as written, or nothing. */
static void cache_refresh(struct worker *w, const struct flight *f)
{
	if (flight_entry_put(w->kv, f, 0, NULL) < 0)
		cache_drop(w, f->id);
	else
		lists_stale(w);
}

/* Flight id, active or not, from the cache or else PostgreSQL (then
 * cached). With json, its internal JSON is appended there. */
static enum store_status flight_load(struct worker *w, int64_t id, struct flight *f,
                                     struct buf *json)
{
	if (flight_entry_get(w->kv, id, f, json) == 1)
		return STORE_OK;
	enum store_status st = store_flight_by_id(w->db, id, f);
	if (st == STORE_OK)
		flight_entry_put(w->kv, f, 1, json);
	return st;
}

/* ---- handlers ------------------------------------------------------- */

/* The route's :id as a flight id: 0, or -1 after replying 404 (an id
 * that does not parse names no flight). */
static int flight_id_or_reply(struct req *r, int64_t *id)
{
	return req_param_id_or_reply(r, "id", not_found, id);
}

static void reply_flight(struct req *r, int status, const struct flight *f, long long live)
{
	reply_json(r, status, flight_entry_json(f, occupancy_available(f->total_seats, live)));
}

void flights_get(struct req *r)
{
	struct flight f;
	int64_t id;
	long long live;

	if (flight_id_or_reply(r, &id) < 0 ||
	    reply_unless_ok(r, flight_load(r->w, id, &f, NULL), not_found, NULL) < 0)
		return;
	if (!f.is_active) {
		reply_error(r, 404, not_found);
	} else if (occupancy_live(r->w, r->request_id, &f.id, 1, &live) < 0) {
		reply_error(r, 503, seats_down);
	} else {
		reply_flight(r, 200, &f, live);
	}
}

void flights_internal_get(struct req *r)
{
	struct flight f;
	struct buf json;
	int64_t id;

	if (flight_id_or_reply(r, &id) < 0)
		return;
	buf_init(&json);
	if (reply_unless_ok(r, flight_load(r->w, id, &f, &json), not_found, NULL) == 0)
		reply_raw(r, 200, "application/json", buf_str(&json), json.len);
	buf_release(&json);
}

/* An optional IATA code in the query into out ("" when absent). */
static void query_iata(const char *query, const char *name, char *out, struct field_errors *e)
{
	char v[8];

	out[0] = '\0';
	if (field_query_str(query, name, 3, 3, v, sizeof(v), FIELD_OPTIONAL, e) > 0 &&
	    flights_iata_normalize(v, out) < 0) {
		out[0] = '\0';
		field_error_add(e, "query", name, iata_msg, "string_pattern_mismatch");
	}
}

/* An optional date YYYY-MM-DD in the query as Unix seconds (kept when absent). */
static void query_date(const char *query, const char *name, int64_t *date, struct field_errors *e)
{
	char v[16];

	if (field_query_str(query, name, 10, 10, v, sizeof(v), FIELD_OPTIONAL, e) > 0 &&
	    field_parse_date(v, date) < 0)
		field_error_add(e, "query", name, "Input should be a valid date (YYYY-MM-DD)",
		                "date_parsing");
}

/* A row of the public list: the flight and its seats left. */
struct listed {
	const struct flight *f;
	int available;
};

static struct json_object *listed_json(const void *row)
{
	const struct listed *l = row;

	return flight_entry_json(l->f, l->available);
}

/* Reply the page l with each flight's seats left and the total count. */
static void reply_list(struct req *r, const struct flight_list *l)
{
	int64_t *ids = xcalloc((size_t)l->count + 1, sizeof(*ids));
	long long *live = xcalloc((size_t)l->count + 1, sizeof(*live));
	struct listed *rows = xcalloc((size_t)l->count + 1, sizeof(*rows));

	for (int i = 0; i < l->count; i++)
		ids[i] = l->rows[i].id;
	if (occupancy_live(r->w, r->request_id, ids, l->count, live) < 0) {
		reply_error(r, 503, seats_down);
		goto out;
	}
	for (int i = 0; i < l->count; i++) {
		rows[i].f = &l->rows[i];
		rows[i].available = occupancy_available(l->rows[i].total_seats, live[i]);
	}
	reply_rows(r, rows, l->count, sizeof(*rows), listed_json, l->total);
out:
	free(rows);
	free(live);
	free(ids);
}

/* The cache key of the page q in the current list generation; -1 when
 * Redis is down (then lists come from PostgreSQL alone). */
static int list_key(struct worker *w, const struct flight_filter *q, char *key, size_t len)
{
	char gen[24] = "0";

	if (kv_get(w->kv, LIST_GEN_KEY, gen, sizeof(gen)) < 0)
		return -1;
	snprintf(key, len, "flights:list:%s:%s:%s:%" PRId64 ":%" PRId64 ":%" PRId64, gen, q->origin,
	         q->destination, q->date, q->limit, q->offset);
	return 0;
}

/* The page under key into l: 0, or -1 when absent or unreadable. */
static int list_cached(struct worker *w, const char *key, struct flight_list *l)
{
	static char text[LIST_JSON_MAX];
	struct json_object *o, *rows = NULL, *total = NULL;
	int rc = -1;

	memset(l, 0, sizeof(*l));
	if (kv_get(w->kv, key, text, sizeof(text)) != 1 || (o = json_tokener_parse(text)) == NULL)
		return -1;
	if (json_object_object_get_ex(o, "rows", &rows) &&
	    json_object_object_get_ex(o, "total", &total) &&
	    json_object_is_type(rows, json_type_array)) {
		l->count = (int)json_object_array_length(rows);
		l->total = json_object_get_int64(total);
		l->rows = xcalloc((size_t)l->count + 1, sizeof(*l->rows));
		rc = 0;
		for (int i = 0; i < l->count && rc == 0; i++)
			rc = flight_entry_parse(json_object_to_json_string(
			                                json_object_array_get_idx(rows, (size_t)i)),
			                        &l->rows[i]);
	}
	json_object_put(o);
	if (rc < 0)
		store_flight_list_release(l);
	return rc;
}

static void list_put(struct worker *w, const char *key, const struct flight_list *l)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rows = json_object_new_array_ext(l->count);
	size_t len;

	for (int i = 0; i < l->count; i++)
		json_object_array_add(rows, flight_entry_json(&l->rows[i], -1));
	json_object_object_add(o, "total", json_object_new_int64(l->total));
	json_object_object_add(o, "rows", rows);
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	kv_set(w->kv, key, s, len, LIST_TTL_MS, 0);
	json_object_put(o);
}

/* The page q from the list cache, else from PostgreSQL (then cached). */
static enum store_status list_load(struct worker *w, const struct flight_filter *q,
                                   struct flight_list *l)
{
	char key[LIST_KEY_MAX];
	int cacheable = list_key(w, q, key, sizeof(key)) == 0;

	if (cacheable && list_cached(w, key, l) == 0)
		return STORE_OK;
	enum store_status st = store_flight_list(w->db, q, l);
	if (st == STORE_OK && cacheable)
		list_put(w, key, l);
	return st;
}

/* GET /flights and its alias: the date filter is called date_name. */
static void list(struct req *r, const char *date_name)
{
	struct flight_filter q = {.date = -1};
	struct field_errors e;
	struct flight_list l;

	field_errors_init(&e);
	query_iata(r->query, "origin", q.origin, &e);
	query_iata(r->query, "destination", q.destination, &e);
	query_date(r->query, date_name, &q.date, &e);
	field_query_paging(r->query, &q.limit, &q.offset, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return;
	}
	field_errors_release(&e);
	if (reply_unless_ok(r, list_load(r->w, &q, &l), NULL, NULL) < 0)
		return;
	reply_list(r, &l);
	store_flight_list_release(&l);
}

void flights_list(struct req *r)
{
	list(r, "date");
}

void flights_search(struct req *r)
{
	list(r, "departure_date");
}

/* A flight number or IATA code member, checked and upper-cased into out
 * (outlen bytes) by normalize. */
static void read_code(struct json_object *body, const char *name, enum field_need need, char *out,
                      size_t outlen, int (*normalize)(const char *, char *, size_t),
                      const char *msg, struct field_errors *e)
{
	char v[INPUT_MAX + 1];
	const char *s;

	if (field_str(body, name, 1, INPUT_MAX, need, &s, e) <= 0)
		return;
	if (normalize(s, v, sizeof(v)) < 0 || strlen(v) >= outlen) {
		field_error_add(e, "body", name, msg, "string_pattern_mismatch");
		return;
	}
	memcpy(out, v, strlen(v) + 1);
}

static int iata(const char *s, char *out, size_t outlen)
{
	return outlen < 4 ? -1 : flights_iata_normalize(s, out);
}

/* Read the body's flight fields over f: each one present is checked and
 * stored; need says whether an absent one is an error. */
static void read_fields(struct json_object *body, enum field_need need, struct flight *f,
                        struct field_errors *e)
{
	const char *s;
	int64_t seats;

	read_code(body, "flight_number", need, f->flight_number, sizeof(f->flight_number),
	          flights_number_normalize, number_msg, e);
	if (field_str(body, "airline", 1, AIRLINE_MAX - 1, FIELD_OPTIONAL, &s, e) > 0)
		snprintf(f->airline, sizeof(f->airline), "%s", s);
	read_code(body, "origin", need, f->origin, sizeof(f->origin), iata, iata_msg, e);
	read_code(body, "destination", need, f->destination, sizeof(f->destination), iata, iata_msg,
	          e);
	field_time(body, "departure_time", need, &f->departure_time, e);
	field_time(body, "arrival_time", need, &f->arrival_time, e);
	field_money(body, "price", FLIGHT_PRICE_MAX, need, &f->price_cents, e);
	if (field_int64(body, "total_seats", 1, FLIGHT_SEATS_MAX, need, &seats, e) > 0)
		f->total_seats = (int)seats;
}

/* Check f as a whole once its fields are valid: 0, or -1 after replying
 * 422. e is released either way. */
static int finish_or_reply(struct req *r, const struct flight *f, struct field_errors *e)
{
	if (e->count == 0 && strcmp(f->origin, f->destination) == 0)
		field_error_add(e, "body", "destination", "Destination must differ from origin",
		                "value_error");
	if (e->count == 0 && f->arrival_time <= f->departure_time)
		field_error_add(e, "body", "arrival_time",
		                "Arrival time must be after departure time", "value_error");
	if (e->count) {
		reply_invalid(r, e);
		return -1;
	}
	field_errors_release(e);
	return 0;
}

void flights_create(struct req *r)
{
	struct json_object *body = req_json_or_reply(r);
	struct flight f = {0}, out;
	struct field_errors e;

	if (body == NULL)
		return;
	field_errors_init(&e);
	read_fields(body, FIELD_REQUIRED, &f, &e);
	if (f.airline[0] == '\0')
		snprintf(f.airline, sizeof(f.airline), "%.2s", f.flight_number);
	if (finish_or_reply(r, &f, &e) < 0 ||
	    reply_unless_ok(r, store_flight_create(r->w->db, &f, &out), NULL, duplicate) < 0)
		return;
	lists_stale(r->w);
	reply_flight(r, 201, &out, 0); /* a new flight has no bookings */
}

/* Load flight id from PostgreSQL (not the cache) for a change: 0, or
 * -1 after replying. */
static int load_for_change_or_reply(struct req *r, int64_t id, struct flight *f)
{
	return reply_unless_ok(r, store_flight_by_id(r->w->db, id, f), not_found, NULL);
}

/* Write the merged flight f (live bookings now) and reply either way. */
static void update_and_reply(struct req *r, const struct flight *f, long long live)
{
	struct flight out;

	if (reply_unless_ok(r, store_flight_update(r->w->db, f, &out), not_found, duplicate) < 0)
		return;
	cache_refresh(r->w, &out);
	reply_flight(r, 200, &out, live);
}

void flights_update(struct req *r)
{
	struct flight old, f;
	struct json_object *body;
	struct field_errors e;
	int64_t id;
	long long live;

	if (flight_id_or_reply(r, &id) < 0 || (body = req_json_or_reply(r)) == NULL ||
	    load_for_change_or_reply(r, id, &old) < 0)
		return;
	f = old;
	field_errors_init(&e);
	read_fields(body, FIELD_OPTIONAL, &f, &e);
	field_bool(body, "is_active", FIELD_OPTIONAL, &f.is_active, &e);
	if (finish_or_reply(r, &f, &e) < 0)
		return;
	if (occupancy_live(r->w, r->request_id, &id, 1, &live) < 0) {
		reply_error(r, 503, bookings_down);
		return;
	}
	if (f.total_seats < old.total_seats && live > 0) {
		reply_error(r, 409, "Cannot reduce seats while the flight has live bookings");
		return;
	}
	update_and_reply(r, &f, live);
}

/* Set is_active of flight id in PostgreSQL, then in the cache. */
static enum store_status set_active(struct worker *w, int64_t id, int active)
{
	struct flight now;
	enum store_status st = store_flight_set_active(w->db, id, active, &now);

	if (st == STORE_OK)
		cache_refresh(w, &now);
	return st;
}

/* Put is_active back as it was and reply status with detail. */
static void undo_deactivate(struct req *r, const struct flight *f, int status, const char *detail)
{
	if (f->is_active && set_active(r->w, f->id, 1) == STORE_ERROR)
		log_error("flight left inactive after a refused delete", "flight_id",
		          route_param(&r->match, "id"));
	reply_error(r, status, detail);
}

/* Deactivated first, so no booking starts while the live ones are counted;
 * deleted only when there are none. */
void flights_delete(struct req *r)
{
	struct flight f;
	int64_t id;
	long long live;

	if (flight_id_or_reply(r, &id) < 0 || load_for_change_or_reply(r, id, &f) < 0 ||
	    reply_unless_ok(r, set_active(r->w, id, 0), not_found, NULL) < 0)
		return;
	if (occupancy_live(r->w, r->request_id, &id, 1, &live) < 0) {
		undo_deactivate(r, &f, 503, bookings_down);
		return;
	}
	if (live > 0) {
		undo_deactivate(r, &f, 409, "Flight has live bookings");
		return;
	}
	enum store_status st = store_flight_delete(r->w->db, id);
	if (st == STORE_ERROR) {
		undo_deactivate(r, &f, 503, REPLY_DB_DOWN);
		return;
	}
	cache_drop(r->w, id);
	if (st == STORE_OK)
		reply_empty(r, 204);
	else
		reply_error(r, 404, not_found);
}
