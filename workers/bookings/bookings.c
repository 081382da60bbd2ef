/* bookings.c - seat holds, bookings and the seat map: parse -> validate
 * -> store -> reply. PostgreSQL decides who gets a seat (store.c);
 * Redis is only the fast "no" (a lock per seat with an owner token) and
 * the live-seat sets the flights pool counts; when Redis is down every
 * path still works from PostgreSQL alone. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bookings.h"
#include "field.h"
#include "form.h"
#include "http.h"
#include "idem.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "outbox.h"
#include "reply.h"
#include "req.h"
#include "store.h"
#include "worker.h"

#define SEAT_MAX      8
#define FLIGHT_JSON   4096
#define OCCUPANCY_MAX 200
#define SEATS_TTL     300 /* a rebuilt set is rebuilt again at least this often */

struct flight_info {
	int64_t id;
	int64_t price_cents;
	int64_t total_seats;
	int is_active;
	char flight_number[8];
	char origin[4];
	char destination[4];
	char departure_time[24];
};

/* ---- seats ---- */

int bookings_seat_index(const char *seat, int64_t total_seats, char *out, size_t outlen)
{
	int64_t row = 0;
	size_t n = 0;

	if (seat[0] < '1' || seat[0] > '9')
		return -1;
	for (; seat[n] >= '0' && seat[n] <= '9' && n < 3; n++)
		row = row * 10 + (seat[n] - '0');
	char col = seat[n] >= 'a' && seat[n] <= 'f' ? (char)(seat[n] - 'a' + 'A') : seat[n];
	if (col < 'A' || col > 'F' || seat[n + 1] != '\0')
		return -1;
	int64_t index = (row - 1) * 6 + (col - 'A');
	if (index >= total_seats)
		return -1;
	char name[32];
	int len = snprintf(name, sizeof(name), "%" PRId64 "%c", row, col);
	if (len < 0 || (size_t)len >= outlen)
		return -1;
	memcpy(out, name, (size_t)len + 1);
	return (int)index;
}

void bookings_seat_name(int64_t i, char *out, size_t outlen)
{
	char name[32];

	snprintf(name, sizeof(name), "%" PRId64 "%c", i / 6 + 1, (char)('A' + i % 6));
	snprintf(out, outlen, "%.*s", (int)(outlen - 1), name);
}

static void seat_key(char *out, size_t len, const char *prefix, int64_t flight, const char *seat)
{
	if (seat)
		snprintf(out, len, "%s:%" PRId64 ":%s", prefix, flight, seat);
	else
		snprintf(out, len, "%s:%" PRId64, prefix, flight);
}

/* Give back our lock on a seat (compare-and-delete by owner token). */
static void unlock_seat(struct worker *w, const struct booking *b)
{
	char key[64];

	seat_key(key, sizeof(key), "lock", b->flight_id, b->seat_number);
	kv_del_if(w->kv, key, b->lock_token);
}

/* Forget a seat in Redis: its lock (if ours) and its place in the set. A
 * set we could not update is dropped, to be rebuilt from PostgreSQL. */
static void release_seat(struct worker *w, const struct booking *b)
{
	char key[48];

	if (b->lock_token[0])
		unlock_seat(w, b);
	seat_key(key, sizeof(key), "seats", b->flight_id, NULL);
	if (kv_srem(w->kv, key, b->seat_number) < 0)
		kv_del(w->kv, key);
}

static void count(struct worker *w, const char *status)
{
	char labels[48];

	snprintf(labels, sizeof(labels), "status=\"%s\"", status);
	metrics_inc(w->metrics, "bookings_total", labels);
}

/* ---- JSON ---- */

static struct json_object *nullable_time(const char *t)
{
	return *t ? json_object_new_string(t) : NULL;
}

static struct json_object *booking_json(const struct booking *b)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(b->id));
	json_object_object_add(o, "reference", json_object_new_string(b->reference));
	json_object_object_add(o, "user_id", json_object_new_int64(b->user_id));
	json_object_object_add(o, "flight_id", json_object_new_int64(b->flight_id));
	json_object_object_add(o, "seat_number", json_object_new_string(b->seat_number));
	json_object_object_add(o, "status", json_object_new_string(b->status));
	json_object_object_add(o, "total_amount", field_json_money(b->total_cents));
	json_object_object_add(o, "hold_expires_at", json_object_new_string(b->hold_expires_at));
	json_object_object_add(o, "payment_id",
	                       b->payment_id ? json_object_new_int64(b->payment_id) : NULL);
	json_object_object_add(o, "created_at", json_object_new_string(b->created_at));
	json_object_object_add(o, "cancelled_at", nullable_time(b->cancelled_at));
	return o;
}

/* ---- the flight, from the shared cache or the flights pool ---- */

/* Copy string member name of o into out ("" when absent). */
static void copy_member(struct json_object *o, const char *name, char *out, size_t len)
{
	struct json_object *v;

	out[0] = '\0';
	if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(v));
}

static int flight_from_json(struct json_object *o, struct flight_info *f)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, "price_cents", &v))
		return -1;
	f->price_cents = json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "total_seats", &v))
		return -1;
	f->total_seats = json_object_get_int64(v);
	f->is_active = !json_object_object_get_ex(o, "is_active", &v) || json_object_get_boolean(v);
	copy_member(o, "flight_number", f->flight_number, sizeof(f->flight_number));
	copy_member(o, "origin", f->origin, sizeof(f->origin));
	copy_member(o, "destination", f->destination, sizeof(f->destination));
	copy_member(o, "departure_time", f->departure_time, sizeof(f->departure_time));
	return f->total_seats > 0 && f->price_cents >= 0 ? 0 : -1;
}

static int flight_cached(struct worker *w, int64_t id, struct flight_info *f)
{
	char key[40], text[FLIGHT_JSON];

	snprintf(key, sizeof(key), "flight:%" PRId64, id);
	if (kv_get(w->kv, key, text, sizeof(text)) != 1)
		return -1;
	struct json_object *o = json_tokener_parse(text);
	int rc = flight_from_json(o, f);
	json_object_put(o);
	return rc;
}

/* The flight id into f: 0, or -1 after replying 404 or 503. */
static int flight_get(struct req *r, int64_t id, struct flight_info *f)
{
	const struct conf *c = r->w->conf;
	struct http_response resp;
	char url[512];

	f->id = id;
	if (flight_cached(r->w, id, f) == 0)
		return 0;
	snprintf(url, sizeof(url), "%s/internal/flights/%" PRId64, c->flights_url, id);
	int rc = http_call("GET", url, c->service_key, r->request_id, NULL, c->service_timeout_ms,
	                   &resp);
	if (rc == 0 && resp.status == 404) {
		reply_error(r, 404, "Flight not found");
		rc = -1;
	} else if (rc < 0 || resp.status != 200) {
		reply_error(r, 503, "Flight service unavailable");
		rc = -1;
	} else {
		struct json_object *o = http_response_json(&resp);
		rc = flight_from_json(o, f);
		json_object_put(o);
		if (rc < 0)
			reply_error(r, 503, "Flight service unavailable");
	}
	http_response_release(&resp);
	return rc;
}

/* ---- create ---- */

struct booking_input {
	int64_t flight_id;
	int64_t user_id;
	const char *seat;
};

/* Read and check the body; 0, or -1 after replying 400/403/422. */
static int read_booking(struct req *r, struct booking_input *in)
{
	struct json_object *body = req_json(r);
	struct field_errors e;
	int64_t uid = 0;

	if (body == NULL)
		return -1;
	field_errors_init(&e);
	field_int64(body, "flight_id", 1, INT64_MAX, FIELD_REQUIRED, &in->flight_id, &e);
	field_str(body, "seat_number", 1, SEAT_MAX, FIELD_REQUIRED, &in->seat, &e);
	int has_uid = field_int64(body, "user_id", 1, INT64_MAX, FIELD_OPTIONAL, &uid, &e) > 0;
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	in->user_id = has_uid ? uid : r->user.uid;
	return req_check_user(r, in->user_id);
}

static void seat_invalid(struct req *r)
{
	struct field_errors e;

	field_errors_init(&e);
	field_error_add(&e, "body", "seat_number", "Seat does not exist on this flight",
	                "value_error");
	reply_invalid(r, &e);
}

static void new_token(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		abort();
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < len; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
		out[2 * i + 2] = '\0';
	}
}

/* Take the Redis lock on the seat: 1 taken (or Redis down: the database
 * decides alone), 0 someone else holds it. */
static int lock_seat(struct worker *w, const struct booking *b)
{
	char key[64];

	seat_key(key, sizeof(key), "lock", b->flight_id, b->seat_number);
	int rc = kv_set(w->kv, key, b->lock_token, strlen(b->lock_token),
	                (long long)w->conf->booking_hold_seconds * 1000, 1);
	return rc != 0;
}

static void reply_created(struct req *r, struct booking *out)
{
	char key[48];

	seat_key(key, sizeof(key), "seats", out->flight_id, NULL);
	if (kv_sadd_existing(r->w->kv, key, out->seat_number) < 0)
		kv_del(r->w->kv, key);
	count(r->w, "pending");
	reply_json(r, 201, booking_json(out));
}

static void create(struct req *r)
{
	const struct conf *c = r->w->conf;
	struct booking_input in;
	struct flight_info f;
	struct booking b = {0}, out;

	if (read_booking(r, &in) < 0 || flight_get(r, in.flight_id, &f) < 0)
		return;
	if (bookings_seat_index(in.seat, f.total_seats, b.seat_number, sizeof(b.seat_number)) < 0) {
		seat_invalid(r);
		return;
	}
	if (!f.is_active) {
		reply_error(r, 409, "Flight is not available for booking");
		return;
	}
	b.user_id = in.user_id;
	b.flight_id = in.flight_id;
	b.total_cents = f.price_cents;
	snprintf(b.flight_number, sizeof(b.flight_number), "%s", f.flight_number);
	snprintf(b.origin, sizeof(b.origin), "%s", f.origin);
	snprintf(b.destination, sizeof(b.destination), "%s", f.destination);
	snprintf(b.departure_time, sizeof(b.departure_time), "%s", f.departure_time);
	new_token(b.lock_token, sizeof(b.lock_token));
	if (!lock_seat(r->w, &b)) {
		count(r->w, "rejected");
		reply_error(r, 409, "Seat is already locked or booked");
		return;
	}
	enum create_result rc = store_booking_create(r->w->db, &b, c->max_active_holds,
	                                             c->booking_hold_seconds, &out);
	if (rc == CREATE_OK) {
		reply_created(r, &out);
		return;
	}
	unlock_seat(r->w, &b);
	if (rc == CREATE_SEAT_TAKEN) {
		count(r->w, "rejected");
		reply_error(r, 409, "Seat is already locked or booked");
	} else if (rc == CREATE_TOO_MANY_HOLDS) {
		reply_error(r, 409,
		            "Too many active holds: pay for or cancel a pending booking first");
	} else {
		reply_error(r, 503, "Database unavailable");
	}
}

void bookings_create(struct req *r)
{
	char hash[48];

	idem_hash(r->body, r->body_len, hash, sizeof(hash));
	idem_run(r, hash, create);
}

/* ---- reads ---- */

static const char *const statuses[] = {"pending", "confirmed", "expired", "cancelled", NULL};

static int status_valid(const char *s)
{
	for (int i = 0; statuses[i]; i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

/* Read the list filters; 0, or -1 after replying 403/422. */
static int read_filter(struct req *r, struct booking_filter *f, char *status, size_t len)
{
	struct field_errors e;

	memset(f, 0, sizeof(*f));
	field_errors_init(&e);
	field_query_int64(r->query, "user_id", 1, INT64_MAX, FIELD_OPTIONAL, &f->user_id, &e);
	field_query_int64(r->query, "flight_id", 1, INT64_MAX, FIELD_OPTIONAL, &f->flight_id, &e);
	if (field_query_str(r->query, "status", 1, 16, status, len, FIELD_OPTIONAL, &e) > 0) {
		if (status_valid(status))
			f->status = status;
		else
			field_error_add(
			        &e, "query", "status",
			        "Input should be 'pending', 'confirmed', 'expired' or 'cancelled'",
			        "enum");
	}
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

void bookings_list(struct req *r)
{
	struct booking_filter f;
	struct booking *rows = NULL;
	char status[24], total_text[24];
	int n = 0;
	int64_t total = 0;

	if (read_filter(r, &f, status, sizeof(status)) < 0)
		return;
	if (store_booking_list(r->w->db, &f, &rows, &n, &total) != STORE_OK) {
		reply_error(r, 503, "Database unavailable");
		return;
	}
	struct json_object *list = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(list, booking_json(&rows[i]));
	free(rows);
	snprintf(total_text, sizeof(total_text), "%" PRId64, total);
	reply_header(r, "X-Total-Count", total_text);
	reply_json(r, 200, list);
}

/* The caller's booking (any, for admins): 0, or -1 after replying. */
static int own_booking(struct req *r, struct booking *b)
{
	int64_t id;

	if (req_param_id(r, "id", &id) < 0)
		return -1;
	int64_t owner = req_owner(r);
	switch (store_booking_get(r->w->db, id, owner, b)) {
	case STORE_OK:
		return 0;
	case STORE_NOT_FOUND:
		reply_error(r, 404, "Booking not found");
		return -1;
	default:
		reply_error(r, 503, "Database unavailable");
		return -1;
	}
}

void bookings_get(struct req *r)
{
	struct booking b;

	if (own_booking(r, &b) == 0)
		reply_json(r, 200, booking_json(&b));
}

void bookings_status(struct req *r)
{
	struct booking b;

	if (own_booking(r, &b) < 0)
		return;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "booking_id", json_object_new_int64(b.id));
	json_object_object_add(o, "status", json_object_new_string(b.status));
	reply_json(r, 200, o);
}

void bookings_cancel(struct req *r)
{
	struct booking b;
	char was[16] = "", detail[64];
	int64_t id;

	if (req_param_id(r, "id", &id) < 0)
		return;
	int64_t owner = req_owner(r);
	switch (store_booking_cancel(r->w->db, id, owner, &b, was, sizeof(was))) {
	case STORE_OK:
		release_seat(r->w, &b);
		count(r->w, "cancelled");
		reply_json(r, 200, booking_json(&b));
		return;
	case STORE_CONFLICT:
		snprintf(detail, sizeof(detail), "Booking is already %s", b.status);
		reply_error(r, 409, detail);
		return;
	case STORE_NOT_FOUND:
		reply_error(r, 404, "Booking not found");
		return;
	default:
		reply_error(r, 503, "Database unavailable");
	}
}

static const char *seat_status(const struct booking *live, int n, const char *seat)
{
	for (int i = 0; i < n; i++)
		if (strcmp(live[i].seat_number, seat) == 0)
			return strcmp(live[i].status, "confirmed") == 0 ? "booked" : "held";
	return "available";
}

void bookings_seat_map(struct req *r)
{
	struct flight_info f;
	struct booking *live = NULL;
	char seat[SEAT_MAX];
	int64_t id;
	int n = 0;

	if (req_param_id(r, "id", &id) < 0 || flight_get(r, id, &f) < 0)
		return;
	if (store_live_seats(r->w->db, id, &live, &n) != STORE_OK) {
		reply_error(r, 503, "Database unavailable");
		return;
	}
	struct json_object *list = json_object_new_array_ext((int)f.total_seats);
	for (int64_t i = 0; i < f.total_seats; i++) {
		struct json_object *o = json_object_new_object();
		bookings_seat_name(i, seat, sizeof(seat));
		json_object_object_add(o, "seat_number", json_object_new_string(seat));
		json_object_object_add(o, "status",
		                       json_object_new_string(seat_status(live, n, seat)));
		json_object_array_add(list, o);
	}
	free(live);
	reply_json(r, 200, list);
}

/* ---- internal: occupancy, lookup, confirmation (service credential) ---- */

/* Parse "1,2,3" into ids (at most OCCUPANCY_MAX) and an array literal. */
static int parse_ids(const char *text, int64_t *ids, int *n, struct buf *literal)
{
	char one[24];

	*n = 0;
	buf_addc(literal, '{');
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(one) || *n == OCCUPANCY_MAX)
			return -1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (field_parse_int64(one, 1, INT64_MAX, &ids[*n]) < 0)
			return -1;
		buf_printf(literal, "%s%s", *n ? "," : "", one);
		(*n)++;
		p += len + (p[len] == ',');
	}
	buf_addc(literal, '}');
	return *n > 0 ? 0 : -1;
}

/* Rebuild seats:<id> from rows and return its live count. */
static int64_t rebuild_set(struct worker *w, int64_t id, const struct booking *rows, int n)
{
	const char **members = xcalloc((size_t)n + 1, sizeof(*members));
	char key[48];
	int m = 0;

	members[m++] = "_";
	for (int i = 0; i < n; i++)
		if (rows[i].flight_id == id)
			members[m++] = rows[i].seat_number;
	seat_key(key, sizeof(key), "seats", id, NULL);
	kv_set_replace(w->kv, key, members, m, SEATS_TTL);
	free(members);
	return m - 1;
}

void bookings_internal_occupancy(struct req *r)
{
	char text[OCCUPANCY_MAX * 21], key[24];
	int64_t ids[OCCUPANCY_MAX];
	struct booking *rows = NULL;
	struct buf literal;
	int n = 0, nrows = 0;

	buf_init(&literal);
	if (form_get(r->query, strlen(r->query), "flight_ids", text, sizeof(text)) <= 0 ||
	    parse_ids(text, ids, &n, &literal) < 0) {
		struct field_errors e;
		buf_release(&literal);
		field_errors_init(&e);
		field_error_add(&e, "query", "flight_ids",
		                "flight_ids must be 1 to 200 comma-separated flight ids",
		                "value_error");
		reply_invalid(r, &e);
		return;
	}
	enum store_status st = store_occupancy(r->w->db, literal.data, &rows, &nrows);
	buf_release(&literal);
	if (st != STORE_OK) {
		reply_error(r, 503, "Database unavailable");
		return;
	}
	struct json_object *o = json_object_new_object();
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%" PRId64, ids[i]);
		json_object_object_add(
		        o, key, json_object_new_int64(rebuild_set(r->w, ids[i], rows, nrows)));
	}
	free(rows);
	reply_json(r, 200, o);
}

void bookings_internal_get(struct req *r)
{
	struct booking b;

	if (own_booking(r, &b) == 0)
		reply_json(r, 200, booking_json(&b));
}

void bookings_internal_confirm(struct req *r)
{
	struct json_object *body;
	struct field_errors e;
	struct booking b;
	int64_t id, payment_id = 0;
	char detail[64];

	if (req_param_id(r, "id", &id) < 0 || (body = req_json(r)) == NULL)
		return;
	field_errors_init(&e);
	if (field_int64(body, "payment_id", 1, INT64_MAX, FIELD_REQUIRED, &payment_id, &e) < 0) {
		reply_invalid(r, &e);
		return;
	}
	field_errors_release(&e);
	switch (store_booking_confirm(r->w->db, id, payment_id, &b)) {
	case STORE_OK:
		count(r->w, "confirmed");
		reply_json(r, 200, booking_json(&b));
		return;
	case STORE_CONFLICT:
		snprintf(detail, sizeof(detail), "Booking is %s", b.status);
		reply_error(r, 409, detail);
		return;
	case STORE_NOT_FOUND:
		reply_error(r, 404, "Booking not found");
		return;
	default:
		reply_error(r, 503, "Database unavailable");
	}
}

/* ---- background ---- */

void bookings_tick(struct worker *w)
{
	static unsigned ticks;
	struct booking *rows = NULL;
	int n = 0;

	if (store_expire_holds(w->db, 500, &rows, &n) == STORE_OK) {
		for (int i = 0; i < n; i++) {
			release_seat(w, &rows[i]);
			count(w, "expired");
		}
		if (n) {
			char text[16];
			snprintf(text, sizeof(text), "%d", n);
			log_info("holds expired", "count", text);
		}
	}
	free(rows);
	outbox_relay(w, 50, NULL);
	if (ticks++ % 60 == 0)
		idem_prune(w->db);
}
