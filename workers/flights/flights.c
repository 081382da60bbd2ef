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
#include <time.h>

#include "field.h"
#include "flights.h"
#include "gateways.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "occupancy.h"
#include "read_cache.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "worker.h"

#define LIST_KEY_MAX  128
#define LIST_TTL_MS   30000LL
#define LIST_JSON_MAX (256 * 1024)
#define LIST_GEN_KEY  "flights:gen"
#define LOCAL_PAGES   16 /* pages a child keeps (list_local) */
#define INPUT_MAX     64 /* longest code or number looked at */

static const char not_found[] = "Flight not found";
static const char seats_down[] = "Seat availability unavailable";
static const char bookings_down[] = "Booking service unavailable";
static const char duplicate[] = "Flight number already exists on that date";
/* The cabin= query values, as flight_entry.h names them. */
static const char *const cabin_names[] = {"first", "business", "premium_economy", "economy", NULL};
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

/* Queue the purge of f's cached reads at the gateways (read_cache.h). */
static void queue_purge(const struct flights_settings *s, const struct flight *f)
{
	struct tm tm;
	time_t t = (time_t)f->departure_time;
	char date[16] = "";

	if (gmtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	read_cache_purge(s->cache_purge_url, f->id, f->origin, f->destination, date);
}

/* After a write that changed flight f: the gateways' cached reads of it
 * go, in one exchange per gateway; with before (f as it was), those of
 * the searches it left too, when its route or day changed. */
static void gateway_purge(struct worker *w, const struct flight *f, const struct flight *before)
{
	const struct flights_settings *s = w->settings;

	if (s == NULL)
		return; /* unit tests: no gateway */
	if (before && (strcmp(before->origin, f->origin) != 0 ||
	               strcmp(before->destination, f->destination) != 0 ||
	               before->departure_time / 86400 != f->departure_time / 86400))
		queue_purge(s, before);
	queue_purge(s, f);
	gateways_send();
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

/* f as the public Flight JSON onto out, with its seats left and each
 * cabin's. */
static void add_public(struct buf *out, const struct flight *f, long long live,
                       const struct occupancy_rows *rows)
{
	int cabins[FLIGHT_CABINS_MAX];

	occupancy_cabins(f, live, rows, cabins);
	flight_entry_public(out, f, occupancy_available(f->total_seats, live), cabins);
}

static void reply_flight(struct req *r, int status, const struct flight *f, long long live,
                         const struct occupancy_rows *rows)
{
	add_public(reply_body(r, status, "application/json"), f, live, rows);
}

void flights_get(struct req *r)
{
	char entry[FLIGHT_ENTRY_KEY_MAX], seats[SEAT_SET_KEY_MAX];
	const char *keys[] = {entry, seats};
	char *cached[2] = {NULL, NULL};
	struct occupancy_rows rows;
	struct flight f;
	int64_t id;
	long long live;

	if (flight_id_or_reply(r, &id) < 0)
		return;
	/* the flight's entry and its seat count in one round trip */
	flight_entry_key(id, entry, sizeof(entry));
	seat_set_key(id, seats, sizeof(seats));
	kv_mget(r->w->kv, keys, 2, cached);
	int hit = cached[0] && flight_entry_parse(cached[0], &f) == 0 && f.id == id;
	free(cached[0]);
	if (!hit && reply_unless_ok(r, flight_load(r->w, id, &f, NULL), not_found, NULL) < 0) {
		free(cached[1]);
		return;
	}
	if (!f.is_active) {
		free(cached[1]);
		reply_error(r, 404, not_found);
	} else if (occupancy_live_from(r->w, r->request_id, &f.id, 1, &cached[1], &live, &rows) <
	           0) {
		reply_error(r, 503, seats_down);
	} else {
		reply_flight(r, 200, &f, live, &rows);
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

/* 1 when f has a seat left in the cabin named cabin. */
static int cabin_left(const struct flight *f, long long live, const struct occupancy_rows *rows,
                      const char *cabin)
{
	struct cabin c[FLIGHT_CABINS_MAX];
	int available[FLIGHT_CABINS_MAX], n = flight_cabins(f, c);

	occupancy_cabins(f, live, rows, available);
	for (int k = 0; k < n; k++)
		if (strcmp(flight_cabin_name(c[k].kind), cabin) == 0)
			return available[k] > 0;
	return 0;
}

/* Reply the page l with each flight's seats left and the total count.
 * With a cabin asked for, the store gave the flights that have it; those
 * with that cabin full are left out here (and out of the total). */
static void reply_list(struct req *r, const struct flight_list *l, const char *cabin, char **counts)
{
	int64_t *ids = xcalloc((size_t)l->count + 1, sizeof(*ids));
	long long *live = xcalloc((size_t)l->count + 1, sizeof(*live));
	struct occupancy_rows *taken = xcalloc((size_t)l->count + 1, sizeof(*taken));
	struct buf *json;
	char total[24];
	int n = 0;

	for (int i = 0; i < l->count; i++)
		ids[i] = l->rows[i].id;
	/* counts: the seats:<id> values already read with the list generation */
	if ((counts ? occupancy_live_from(r->w, r->request_id, ids, l->count, counts, live, taken)
	            : occupancy_live(r->w, r->request_id, ids, l->count, live, taken)) < 0) {
		reply_error(r, 503, seats_down);
		goto out;
	}
	/* the page written straight into the reply, as reply_rows would */
	json = reply_body(r, 200, "application/json");
	buf_addc(json, '[');
	for (int i = 0; i < l->count; i++) {
		if (cabin[0] && !cabin_left(&l->rows[i], live[i], &taken[i], cabin))
			continue;
		if (n++)
			buf_addc(json, ',');
		add_public(json, &l->rows[i], live[i], &taken[i]);
	}
	buf_addc(json, ']');
	snprintf(total, sizeof(total), "%" PRId64, l->total - (l->count - n));
	reply_header(r, "X-Total-Count", total);
out:
	free(taken);
	free(live);
	free(ids);
}

/* The cache key of the page q in the current list generation; -1 when
 * Redis is down (then lists come from PostgreSQL alone). */
static void list_key_of(const char *gen, const struct flight_filter *q, char *key, size_t len)
{
	snprintf(key, len, "flights:list:%s:%s:%s:%" PRId64 ":%" PRId64 ":%" PRId64 ":%s", gen,
	         q->origin, q->destination, q->date, q->limit, q->offset, q->cabin);
}

static int list_key(struct worker *w, const struct flight_filter *q, char *key, size_t len)
{
	char gen[24] = "0";

	if (kv_get(w->kv, LIST_GEN_KEY, gen, sizeof(gen)) < 0)
		return -1;
	list_key_of(gen, q, key, len);
	return 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per child: the pages last read, by their cache key (which names the
 * list generation, so a write anywhere makes them unreachable as it does
 * the Redis entries), each until the Redis entry it was read from or
 * written as expires. A hit costs the generation's GET, not the page's
 * GET and two JSON parses of every row (most of a search's time). */
struct local_page {
	char key[LIST_KEY_MAX];
	int64_t until_ms; /* wall clock: the Redis entry's own end */
	struct flight_list l;
};
static struct local_page local_pages[LOCAL_PAGES];
static unsigned local_next;

static void list_copy(const struct flight_list *from, struct flight_list *to)
{
	*to = *from;
	to->rows = xcalloc((size_t)from->count + 1, sizeof(*to->rows));
	memcpy(to->rows, from->rows, (size_t)from->count * sizeof(*to->rows));
}

/* The page under key from this child's pages into l: 0, or -1. */
static int list_local(const char *key, struct flight_list *l)
{
	int64_t now = wall_ms();

	for (int i = 0; i < LOCAL_PAGES; i++) {
		struct local_page *p = &local_pages[i];
		if (p->l.rows && now < p->until_ms && strcmp(p->key, key) == 0) {
			list_copy(&p->l, l);
			return 0;
		}
	}
	return -1;
}

/* Keep l as the page under key until until_ms (in the oldest slot). */
static void list_keep(const char *key, const struct flight_list *l, int64_t until_ms)
{
	struct local_page *p = &local_pages[local_next++ % LOCAL_PAGES];

	if (until_ms <= wall_ms() || strlen(key) >= sizeof(p->key))
		return;
	store_flight_list_release(&p->l);
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->until_ms = until_ms;
	list_copy(l, &p->l);
}

/* The page q when this child keeps it for the current generation, with
 * its flights' seat counts read in the same round trip as the
 * generation (MGET flights:gen seats:<id>...): 1 replied, 0 not kept (or
 * the generation moved on: then the usual path reads it again). */
static int list_kept(struct req *r, const struct flight_filter *q)
{
	char key[LIST_KEY_MAX], any[LIST_KEY_MAX];
	int64_t now = wall_ms();
	const struct local_page *p = NULL;

	/* the newest page kept for q, whatever its generation */
	list_key_of("", q, any, sizeof(any));
	size_t tail = strlen("flights:list:");
	for (int i = 0; i < LOCAL_PAGES; i++) {
		const struct local_page *c = &local_pages[i];
		const char *gen_end = c->l.rows ? strchr(c->key + tail, ':') : NULL;
		if (gen_end && now < c->until_ms && strcmp(gen_end, any + tail) == 0 &&
		    (p == NULL || c->until_ms > p->until_ms))
			p = c;
	}
	if (p == NULL)
		return 0;
	int n = p->l.count;
	char(*names)[SEAT_SET_KEY_MAX] = xcalloc((size_t)n + 1, sizeof(*names));
	const char **keys = xcalloc((size_t)n + 1, sizeof(*keys));
	char **values = xcalloc((size_t)n + 1, sizeof(*values));
	int done = 0;
	keys[0] = LIST_GEN_KEY;
	for (int i = 0; i < n; i++) {
		seat_set_key(p->l.rows[i].id, names[i], sizeof(names[i]));
		keys[i + 1] = names[i];
	}
	if (kv_mget(r->w->kv, keys, n + 1, values) == 0) {
		list_key_of(values[0] ? values[0] : "0", q, key, sizeof(key));
		if (strcmp(key, p->key) == 0) {
			struct flight_list l;
			list_copy(&p->l, &l);
			reply_list(r, &l, q->cabin, values + 1);
			store_flight_list_release(&l);
			done = 1;
		}
	}
	for (int i = 0; i <= n; i++)
		free(values[i]);
	free(values);
	free(keys);
	free(names);
	return done;
}

/* The page under key into l: 0, or -1 when absent or unreadable. With
 * *until_ms when the entry tells when it was written (else 0). */
static int list_cached(struct worker *w, const char *key, struct flight_list *l, int64_t *until_ms)
{
	static char text[LIST_JSON_MAX];
	struct json_object *o, *rows = NULL, *total = NULL, *at = NULL;
	int rc = -1;

	memset(l, 0, sizeof(*l));
	*until_ms = 0;
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
	if (rc == 0 && json_object_object_get_ex(o, "at", &at) &&
	    json_object_is_type(at, json_type_int))
		*until_ms = json_object_get_int64(at) + LIST_TTL_MS;
	json_object_put(o);
	if (rc < 0)
		store_flight_list_release(l);
	return rc;
}

/* Cache l under key; "at" (when written) lets each child keep it in
 * memory exactly as long as Redis does. 0, or -1 when not stored. */
static int list_put(struct worker *w, const char *key, const struct flight_list *l, int64_t at)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rows = json_object_new_array_ext(l->count);
	size_t len;

	for (int i = 0; i < l->count; i++)
		json_object_array_add(rows, flight_entry_json(&l->rows[i], -1, NULL));
	json_object_object_add(o, "total", json_object_new_int64(l->total));
	json_object_object_add(o, "at", json_object_new_int64(at));
	json_object_object_add(o, "rows", rows);
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	int rc = kv_set(w->kv, key, s, len, LIST_TTL_MS, 0) == 1 ? 0 : -1;
	json_object_put(o);
	return rc;
}

/* The page q from this child's pages, else the list cache, else from
 * PostgreSQL (then cached in both). */
static enum store_status list_load(struct worker *w, const struct flight_filter *q,
                                   struct flight_list *l)
{
	char key[LIST_KEY_MAX];
	int64_t until;
	int cacheable = list_key(w, q, key, sizeof(key)) == 0;

	if (cacheable && list_local(key, l) == 0)
		return STORE_OK;
	if (cacheable && list_cached(w, key, l, &until) == 0) {
		if (until)
			list_keep(key, l, until);
		return STORE_OK;
	}
	int64_t at = wall_ms();
	enum store_status st = store_flight_list(w->db, q, l);
	if (st == STORE_OK && cacheable && list_put(w, key, l, at) == 0)
		list_keep(key, l, at + LIST_TTL_MS);
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
	int cabin = -1;
	if (field_query_enum(r->query, "cabin", cabin_names, FIELD_OPTIONAL, &cabin, &e) > 0)
		snprintf(q.cabin, sizeof(q.cabin), "%s", cabin_names[cabin]);
	field_query_paging(r->query, &q.limit, &q.offset, &e);
	if (e.count) {
		reply_invalid(r, &e);
		return;
	}
	field_errors_release(&e);
	if (list_kept(r, &q))
		return;
	if (reply_unless_ok(r, list_load(r->w, &q, &l), NULL, NULL) < 0)
		return;
	reply_list(r, &l, q.cabin, NULL);
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

/* 1 when body has member name, not null. */
static int has_member(struct json_object *body, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(body, name, &v) && v != NULL;
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
	/* with cabins, price and total_seats follow from them */
	enum field_need fare_need = has_member(body, "cabins") ? FIELD_OPTIONAL : need;
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
	field_money(body, "price", FLIGHT_PRICE_MAX, fare_need, &f->price_cents, e);
	if (field_int64(body, "total_seats", 1, FLIGHT_SEATS_MAX, fare_need, &seats, e) > 0)
		f->total_seats = (int)seats;
}

/* ---- cabins ---------------------------------------------------------- */

/* Append an error at loc ["body", "cabins", i, name] (name NULL: the
 * cabin itself; i < 0: the list). */
static void cabin_error(struct field_errors *e, int i, const char *name, const char *msg,
                        const char *type)
{
	struct json_object *err = json_object_new_object(), *loc = json_object_new_array();

	json_object_array_add(loc, json_object_new_string("body"));
	json_object_array_add(loc, json_object_new_string("cabins"));
	if (i >= 0)
		json_object_array_add(loc, json_object_new_int(i));
	if (name)
		json_object_array_add(loc, json_object_new_string(name));
	json_object_object_add(err, "loc", loc);
	json_object_object_add(err, "msg", json_object_new_string(msg));
	json_object_object_add(err, "type", json_object_new_string(type));
	json_object_array_add(e->list, err);
	e->count++;
}

/* Cabin i of the body into c, after cabins[i - 1] (prev, NULL for the
 * first): 0, or -1 with errors added. */
static int read_cabin(struct json_object *o, int i, const struct cabin *prev, struct cabin *c,
                      struct field_errors *e)
{
	struct field_errors one;
	int64_t first = 0, last = 0;
	int before = e->count;

	if (!json_object_is_type(o, json_type_object)) {
		cabin_error(e, i, NULL, "Input should be a valid dictionary", "dict_type");
		return -1;
	}
	field_errors_init(&one);
	field_enum(o, "cabin", cabin_names, FIELD_REQUIRED, &c->kind, &one);
	field_int64(o, "first_row", 1, FLIGHT_ROWS_MAX, FIELD_REQUIRED, &first, &one);
	field_int64(o, "last_row", 1, FLIGHT_ROWS_MAX, FIELD_REQUIRED, &last, &one);
	field_money(o, "price", FLIGHT_PRICE_MAX, FIELD_REQUIRED, &c->price_cents, &one);
	int bad = one.count > 0;
	field_errors_nest(e, &one, "cabins", i);
	if (bad)
		return -1;
	c->first_row = (int)first;
	c->last_row = (int)last;
	if (prev && c->kind <= prev->kind)
		cabin_error(e, i, "cabin",
		            "Cabins must go first, business, premium_economy, economy (front to "
		            "back), each at most once",
		            "value_error");
	if (c->first_row != (prev ? prev->last_row + 1 : 1))
		cabin_error(
		        e, i, "first_row",
		        prev ? "Cabin must start on the row after the previous cabin's last row "
		               "(no gap or overlap)"
		             : "The first cabin must start at row 1",
		        "value_error");
	if (c->last_row < c->first_row)
		cabin_error(e, i, "last_row", "last_row must not be before first_row",
		            "value_error");
	return e->count > before ? -1 : 0;
}

/* The body's cabins over f (price and total_seats follow from them): 1
 * when given and valid, 0 when absent (or null), -1 with errors added. */
static int read_cabins(struct json_object *body, struct flight *f, struct field_errors *e)
{
	struct json_object *a;
	struct cabin c[FLIGHT_CABINS_MAX];

	if (!json_object_object_get_ex(body, "cabins", &a) || a == NULL)
		return 0;
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	if (n < 1 || n > FLIGHT_CABINS_MAX) {
		cabin_error(e, -1, NULL, "Input should be a list of 1 to 4 cabins", "list_type");
		return -1;
	}
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		/* after a bad cabin, order and contiguity cannot be judged */
		if (read_cabin(json_object_array_get_idx(a, i), (int)i,
		               i && !bad ? &c[i - 1] : NULL, &c[i], e) < 0 ||
		    bad)
			bad = 1;
	if (bad)
		return -1;
	memcpy(f->cabins, c, n * sizeof(c[0]));
	f->ncabins = (int)n;
	return 1;
}

/* With cabins, price is the lowest cabin price and total_seats six a row
 * over every row: set them, and refuse a body that says otherwise. */
static void fares_from_cabins(struct json_object *body, struct flight *f, struct field_errors *e)
{
	char msg[128], money[32];

	if (f->ncabins == 0)
		return;
	int64_t lowest = f->cabins[0].price_cents;
	for (int k = 1; k < f->ncabins; k++)
		if (f->cabins[k].price_cents < lowest)
			lowest = f->cabins[k].price_cents;
	int seats = f->cabins[f->ncabins - 1].last_row * FLIGHT_ROW_SEATS;
	if (has_member(body, "price") && f->price_cents != lowest) {
		field_format_money(lowest, money, sizeof(money));
		snprintf(msg, sizeof(msg), "price must be the lowest cabin price (%s)", money);
		field_error_add(e, "body", "price", msg, "value_error");
	}
	if (has_member(body, "total_seats") && f->total_seats != seats) {
		snprintf(msg, sizeof(msg),
		         "total_seats must be 6 seats a row over the cabins' rows (%d)", seats);
		field_error_add(e, "body", "total_seats", msg, "value_error");
	}
	f->price_cents = lowest;
	f->total_seats = seats;
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
	if (read_cabins(body, &f, &e) > 0)
		fares_from_cabins(body, &f, &e);
	if (f.airline[0] == '\0')
		snprintf(f.airline, sizeof(f.airline), "%.2s", f.flight_number);
	if (finish_or_reply(r, &f, &e) < 0 ||
	    reply_unless_ok(r, store_flight_create(r->w->db, &f, &out), NULL, duplicate) < 0)
		return;
	lists_stale(r->w);
	gateway_purge(r->w, &out, NULL); /* the searches that now list it */
	struct occupancy_rows none = {0};
	reply_flight(r, 201, &out, 0, &none); /* a new flight has no bookings */
}

/* Load flight id from PostgreSQL (not the cache) for a change: 0, or
 * -1 after replying. */
static int load_for_change_or_reply(struct req *r, int64_t id, struct flight *f)
{
	return reply_unless_ok(r, store_flight_by_id(r->w->db, id, f), not_found, NULL);
}

/* Write the merged flight f (live bookings now) and reply either way. */
static void update_and_reply(struct req *r, const struct flight *old, const struct flight *f,
                             long long live, const struct occupancy_rows *rows)
{
	struct flight out;

	if (reply_unless_ok(r, store_flight_update(r->w->db, f, &out), not_found, duplicate) < 0)
		return;
	cache_refresh(r->w, &out);
	gateway_purge(r->w, &out, old);
	reply_flight(r, 200, &out, live, rows);
}

void flights_update(struct req *r)
{
	struct occupancy_rows rows;
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
	if (read_cabins(body, &f, &e) >= 0)
		fares_from_cabins(body, &f, &e);
	field_bool(body, "is_active", FIELD_OPTIONAL, &f.is_active, &e);
	if (finish_or_reply(r, &f, &e) < 0)
		return;
	if (occupancy_live(r->w, r->request_id, &id, 1, &live, &rows) < 0) {
		reply_error(r, 503, bookings_down);
		return;
	}
	if (f.total_seats < old.total_seats && live > 0) {
		reply_error(r, 409, "Cannot reduce seats while the flight has live bookings");
		return;
	}
	update_and_reply(r, &old, &f, live, &rows);
}

/* Set is_active of flight id in PostgreSQL, then in the cache. */
static enum store_status set_active(struct worker *w, int64_t id, int active)
{
	struct flight now;
	enum store_status st = store_flight_set_active(w->db, id, active, &now);

	if (st == STORE_OK) {
		cache_refresh(w, &now);
		gateway_purge(w, &now, NULL);
	}
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
	if (occupancy_live(r->w, r->request_id, &id, 1, &live, NULL) < 0) {
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
	gateway_purge(r->w, &f, NULL);
	if (st == STORE_OK)
		reply_empty(r, 204);
	else
		reply_error(r, 404, not_found);
}
