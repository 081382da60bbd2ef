/* bookings.c - seat holds, bookings and the seat map: parse -> validate
 * -> store -> reply. PostgreSQL decides who gets a seat (store.c);
 * Redis is only the fast "no" (a lock per seat with an owner token, held
 * for one request and a few seconds at most) and the short-lived seat
 * counts the flights pool reads (seat_set.h); when Redis is down, stale,
 * flushed or frozen every path still works from PostgreSQL alone
 * (docs/ARCHITECTURE.md, "Redis never decides"). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "bookings.h"
#include "event.h"
#include "flights/flight_entry.h"
#include "field.h"
#include "form.h"
#include "http.h"
#include "idem.h"
#include "kv.h"
#include "live.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "outbox.h"
#include "peer.h"
#include "reply.h"
#include "req.h"
#include "seat_set.h"
#include "store.h"
#include "worker.h"

#define SEAT_MAX      8
#define OCCUPANCY_MAX 200
/* A seat lock lives for one request: long enough to turn away the
 * clients racing a transaction in flight, short enough that a child
 * killed between SET and COMMIT blocks a free seat for at most this. */
#define LOCK_MS 1000

#define NOT_FOUND  "Booking not found"
#define SEAT_TAKEN "Seat is already locked or booked"
/* passengers[]: followed by the seats, "Seats already taken: 12A, 12C" */
#define SEATS_TAKEN "Seats already taken"
#define DEPARTED    "Flight has already departed"

static const struct bookings_settings *settings(const struct worker *w)
{
	return w->settings;
}

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

/* The flight's live seats changed: drop its cached count and mark its
 * cached seat map changed (seat_set.h), in one round trip, so the next
 * reads go to PostgreSQL (a failure is healed by their expiry). */
static void seats_changed(struct worker *w, int64_t flight_id)
{
	char key[SEAT_SET_KEY_MAX], map[SEAT_SET_KEY_MAX];

	seat_set_key(flight_id, key, sizeof(key));
	seat_map_key(flight_id, map, sizeof(map));
	kv_del_set(w->kv, key, map, SEAT_MAP_CHANGED, SEAT_COUNT_TTL_MS);
}

/* A seat went from held to booked: the count stands, the map does not. */
static void seat_map_changed(struct worker *w, int64_t flight_id)
{
	char map[SEAT_SET_KEY_MAX];

	seat_map_key(flight_id, map, sizeof(map));
	kv_set(w->kv, map, SEAT_MAP_CHANGED, strlen(SEAT_MAP_CHANGED), SEAT_COUNT_TTL_MS, 0);
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
	struct json_object *list = json_object_new_array_ext(b->npassengers);
	for (int i = 0; i < b->npassengers; i++) {
		const struct passenger *p = &b->passengers[i];
		struct json_object *one = json_object_new_object();
		json_object_object_add(one, "full_name",
		                       *p->full_name ? json_object_new_string(p->full_name) : NULL);
		json_object_object_add(one, "seat_number", json_object_new_string(p->seat_number));
		json_object_object_add(one, "cabin",
		                       *p->cabin ? json_object_new_string(p->cabin) : NULL);
		json_object_object_add(one, "price", field_json_money(p->price_cents));
		json_object_array_add(list, one);
	}
	json_object_object_add(o, "passengers", list);
	return o;
}

static struct json_object *booking_row_json(const void *row)
{
	return booking_json(row);
}

/* ---- the flight, from the shared cache or the flights pool ---- */

/* The flight id into f (flight_entry.h, the flights service's format):
 * 0, or -1 after replying 404 or 503. */
static int flight_or_reply(struct req *r, int64_t id, struct flight *f)
{
	struct http_response resp;
	char path[48];

	if (flight_entry_get(r->w->kv, id, f, NULL) == 1)
		return 0;
	snprintf(path, sizeof(path), "/internal/flights/%" PRId64, id);
	int rc = peer_call(r->w, "flights", "GET", path, r->request_id, NULL, &resp);
	if (rc == 0 && resp.status == 404) {
		reply_error(r, 404, "Flight not found");
		rc = -1;
	} else if (rc < 0 || resp.status != 200 || flight_entry_parse(buf_str(&resp.body), f) < 0) {
		reply_error(r, 503, "Flight service unavailable");
		rc = -1;
	}
	http_response_release(&resp);
	return rc;
}

/* ---- create ---- */

/* A passenger's name: 1 to 128 characters (code points, not bytes). */
#define NAME_CHARS_MAX 128

struct booking_input {
	int64_t flight_id;
	int64_t user_id;
	/* passengers[] was given; else the seed's one seat_number, whose
	 * passenger is the account holder */
	int listed;
	int npassengers;
	struct {
		const char *name; /* NULL: the account's (seed body) */
		const char *seat;
	} p[BOOKING_PASSENGERS_MAX];
};

/* The characters (code points) of valid UTF-8 s, -1 when one of them is
 * a control character: a name goes into e-mails and onto tickets. */
static long name_chars(const char *s)
{
	long n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		n += (*p & 0xC0) != 0x80;
	}
	return n;
}

/* One element of passengers[] into in->p[i]; errors into e. */
static void read_passenger(struct json_object *o, int i, struct booking_input *in,
                           struct field_errors *e)
{
	struct field_errors one;

	field_errors_init(&one);
	if (!json_object_is_type(o, json_type_object)) {
		field_error_add(&one, "body", "full_name",
		                "Each passenger should be an object with full_name and seat_number",
		                "model_type");
		field_errors_nest(e, &one, "passengers", i);
		return;
	}
	if (field_str(o, "full_name", 1, PASSENGER_NAME_MAX - 1, FIELD_REQUIRED, &in->p[i].name,
	              &one) > 0) {
		long n = name_chars(in->p[i].name);
		if (n < 0)
			field_error_add(&one, "body", "full_name",
			                "String must not contain control characters",
			                "value_error");
		else if (n > NAME_CHARS_MAX)
			field_error_add(&one, "body", "full_name",
			                "String should have at most 128 characters",
			                "string_too_long");
	}
	field_str(o, "seat_number", 1, SEAT_MAX, FIELD_REQUIRED, &in->p[i].seat, &one);
	field_errors_nest(e, &one, "passengers", i);
}

/* passengers[]: 1 to 9, each read, no seat twice (compared canonical,
 * "12a" is "12A"; a malformed seat is told once the flight is known). */
static void read_passengers(struct json_object *list, struct booking_input *in,
                            struct field_errors *e)
{
	if (!json_object_is_type(list, json_type_array)) {
		field_error_add(e, "body", "passengers", "Input should be a valid list",
		                "list_type");
		return;
	}
	size_t n = json_object_array_length(list);
	if (n < 1 || n > BOOKING_PASSENGERS_MAX) {
		field_error_add(e, "body", "passengers",
		                n < 1 ? "List should have at least 1 passenger"
		                      : "List should have at most 9 passengers",
		                n < 1 ? "too_short" : "too_long");
		return;
	}
	in->npassengers = (int)n;
	char canon[BOOKING_PASSENGERS_MAX][SEAT_MAX];
	for (int i = 0; i < in->npassengers; i++) {
		in->p[i].name = in->p[i].seat = NULL;
		read_passenger(json_object_array_get_idx(list, (size_t)i), i, in, e);
		canon[i][0] = '\0';
		if (in->p[i].seat == NULL ||
		    bookings_seat_index(in->p[i].seat, INT64_MAX, canon[i], SEAT_MAX) < 0)
			continue;
		for (int k = 0; k < i; k++)
			if (strcmp(canon[k], canon[i]) == 0) {
				struct field_errors one;
				char msg[64];
				field_errors_init(&one);
				snprintf(msg, sizeof(msg),
				         "Seat %.*s is given for more than one passenger",
				         SEAT_MAX - 1, canon[i]);
				field_error_add(&one, "body", "seat_number", msg, "value_error");
				field_errors_nest(e, &one, "passengers", i);
				break;
			}
	}
}

/* Read and check the body; 0, or -1 after replying 400/403/422. Exactly
 * one of seat_number (the seed's body, one passenger) and passengers. */
static int read_booking_or_reply(struct req *r, struct booking_input *in)
{
	struct json_object *body = req_json_or_reply(r), *list = NULL, *seat = NULL;
	struct field_errors e;
	int64_t uid = 0;

	if (body == NULL)
		return -1;
	memset(in, 0, sizeof(*in));
	field_errors_init(&e);
	field_int64(body, "flight_id", 1, INT64_MAX, FIELD_REQUIRED, &in->flight_id, &e);
	int is_object = json_object_is_type(body, json_type_object);
	in->listed = is_object && json_object_object_get_ex(body, "passengers", &list) && list;
	int has_seat = is_object && json_object_object_get_ex(body, "seat_number", &seat) && seat;
	if (in->listed && has_seat) {
		field_error_add(&e, "body", "passengers",
		                "Give either seat_number (one passenger) or passengers, not both",
		                "value_error");
	} else if (in->listed) {
		read_passengers(list, in, &e);
	} else if (!has_seat) {
		/* the seed's answer, and the other way to say it */
		field_error_add(&e, "body", "seat_number", "Field required", "missing");
		field_error_add(&e, "body", "passengers",
		                "Field required when seat_number is not given", "missing");
	} else if (field_str(body, "seat_number", 1, SEAT_MAX, FIELD_REQUIRED, &in->p[0].seat, &e) >
	           0) {
		in->npassengers = 1;
	}
	int has_uid = field_int64(body, "user_id", 1, INT64_MAX, FIELD_OPTIONAL, &uid, &e) > 0;
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	in->user_id = has_uid ? uid : r->user.uid;
	return req_check_user_or_reply(r, in->user_id);
}

/* 422 for the seats of in that are not seats of f (each named by its
 * place); 0 when all are. The seats, canonical, with their cabin and
 * fare, go into b's passengers. */
static int seats_or_reply(struct req *r, const struct booking_input *in, const struct flight *f,
                          struct booking *b)
{
	struct field_errors e;

	field_errors_init(&e);
	b->npassengers = in->npassengers;
	for (int i = 0; i < in->npassengers; i++) {
		struct passenger *p = &b->passengers[i];
		struct cabin cabin;
		int index = bookings_seat_index(in->p[i].seat, f->total_seats, p->seat_number,
		                                sizeof(p->seat_number));
		if (index < 0 || flight_seat_cabin(f, index, &cabin) < 0) {
			if (!in->listed) {
				field_error_add(&e, "body", "seat_number",
				                "Seat does not exist on this flight",
				                "value_error");
				continue;
			}
			struct field_errors one;
			field_errors_init(&one);
			field_error_add(&one, "body", "seat_number",
			                "Seat does not exist on this flight", "value_error");
			field_errors_nest(&e, &one, "passengers", i);
			continue;
		}
		p->seat_index = index;
		p->price_cents = cabin.price_cents; /* the seat's cabin fare */
		snprintf(p->cabin, sizeof(p->cabin), "%s", flight_cabin_name(cabin.kind));
		if (in->p[i].name)
			snprintf(p->full_name, sizeof(p->full_name), "%s", in->p[i].name);
		b->total_cents += p->price_cents;
	}
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	snprintf(b->seat_number, sizeof(b->seat_number), "%s", b->passengers[0].seat_number);
	return 0;
}

/* Names this process was told, for NAME_CACHE_MS: a seed-body booking
 * asked the users pool every time (a call through nginx to another pool
 * and its database, per booking). A renamed account's next bookings may
 * carry the old name that long; a booking's name is what the traveller
 * was called when they booked, not a live view. */
#define NAME_CACHE_SLOTS 64
#define NAME_CACHE_MS    60000
static struct {
	int64_t uid;
	int64_t until_ms;
	char name[PASSENGER_NAME_MAX];
} names[NAME_CACHE_SLOTS];

/* The full name of account uid (the seed body's passenger) into out, from
 * the users pool (GET /internal/users/{id}, its format): the token does
 * not carry it, and an admin may book for someone else. Without an answer
 * the name stays "" (not known): a name is no reason to refuse a seat. */
static void account_name(struct req *r, int64_t uid, char *out, size_t len)
{
	struct http_response resp;
	char path[64];
	int slot = (int)((uint64_t)uid % NAME_CACHE_SLOTS);
	int64_t now = clock_ms();

	if (names[slot].uid == uid && names[slot].until_ms > now) {
		snprintf(out, len, "%s", names[slot].name);
		return;
	}
	out[0] = '\0';
	snprintf(path, sizeof(path), "/internal/users/%" PRId64, uid);
	if (peer_call(r->w, "users", "GET", path, r->request_id, NULL, &resp) == 0 &&
	    resp.status == 200) {
		struct json_object *o = http_response_json(&resp), *v;
		if (o && json_object_object_get_ex(o, "full_name", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(out, len, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	if (out[0] != '\0' && strlen(out) < sizeof(names[slot].name)) {
		names[slot].uid = uid;
		names[slot].until_ms = now + NAME_CACHE_MS;
		snprintf(names[slot].name, sizeof(names[slot].name), "%s", out);
	}
	if (out[0] == '\0') {
		char id[24];
		snprintf(id, sizeof(id), "%" PRId64, uid);
		log_warn("passenger name unknown", "user_id", id, "source", "users");
	}
	http_response_release(&resp);
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

/* The passengers of b in seat order (indexes into passengers[]). */
static void seat_order(const struct booking *b, int *order)
{
	for (int i = 0; i < b->npassengers; i++) {
		int k = i;
		for (;
		     k > 0 && b->passengers[order[k - 1]].seat_index > b->passengers[i].seat_index;
		     k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
}

/* The Redis lock keys of b's seats, in passenger order, into keys. */
static void lock_keys(const struct booking *b, char (*key)[64], const char **keys)
{
	for (int i = 0; i < b->npassengers; i++) {
		snprintf(key[i], sizeof(key[i]), "lock:%" PRId64 ":%s", b->flight_id,
		         b->passengers[i].seat_number);
		keys[i] = key[i];
	}
}

/* Take the Redis locks on b's seats for this request (LOCK_MS at most),
 * all or none in one round trip: 1 all taken (or Redis down: the
 * database decides alone); 0 when another request is deciding one of
 * them right now, with those seats named in busy ("12A, 12C") and none
 * of ours kept. */
static int lock_seats(struct worker *w, const struct booking *b, char *busy, size_t busylen)
{
	char key[BOOKING_PASSENGERS_MAX][64];
	const char *keys[BOOKING_PASSENGERS_MAX];
	int held[BOOKING_PASSENGERS_MAX] = {0}, order[BOOKING_PASSENGERS_MAX];
	size_t at = 0;

	busy[0] = '\0';
	lock_keys(b, key, keys);
	if (kv_lock_all(w->kv, keys, b->npassengers, b->lock_token, LOCK_MS, held) != 0)
		return 1;
	seat_order(b, order); /* busy seats are named in seat order */
	for (int k = 0; k < b->npassengers; k++)
		if (held[order[k]] && at < busylen)
			at += (size_t)snprintf(busy + at, busylen - at, "%s%s", at ? ", " : "",
			                       b->passengers[order[k]].seat_number);
	return 0;
}

/* Give back our locks on b's seats (compare-and-delete by owner token). */
static void unlock_seats(struct worker *w, const struct booking *b)
{
	char key[BOOKING_PASSENGERS_MAX][64];
	const char *keys[BOOKING_PASSENGERS_MAX];

	lock_keys(b, key, keys);
	kv_del_if_all(w->kv, keys, b->npassengers, b->lock_token);
}

/* The 409 of seats taken: the seed's words for its one-seat body, and
 * for passengers[] the seats by name. */
static void reply_taken(struct req *r, const struct booking_input *in, const char *seats)
{
	char detail[160];

	count(r->w, "rejected");
	if (!in->listed || !*seats) {
		reply_error(r, 409, SEAT_TAKEN);
		return;
	}
	snprintf(detail, sizeof(detail), "%s: %s", SEATS_TAKEN, seats);
	reply_error(r, 409, detail);
}

/* Before COMMIT: the 201 the hold answers, recorded as its
 * Idempotency-Key's answer in the same transaction (idem_record), so a
 * committed hold can never lose its key's answer. */
struct created_answer {
	struct req *r;
	char *body; /* malloc'd: the exact bytes replied */
};

static void created_body(struct created_answer *a, const struct booking *out)
{
	struct json_object *o = booking_json(out);

	free(a->body);
	a->body = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int record_created(struct db *db, const struct booking *out, void *ctx)
{
	struct created_answer *a = ctx;

	created_body(a, out);
	return idem_record(db, a->r, 201, a->body);
}

static void reply_created(struct req *r, struct booking *out, const char *body)
{
	seats_changed(r->w, out->flight_id);
	live_booking(r->w, out);
	count(r->w, "pending");
	reply_raw(r, 201, "application/json", body, strlen(body));
}

/* The key's answer was lost (it is written with the hold, so only by
 * hand): the hold made under the key answers instead, as a replay, rather
 * than the seat its own hold has taken. 1 replied (201 or 422), 0 none. */
static int replayed_from_booking(struct req *r, const char *hash)
{
	struct booking b;
	char was[48] = "";

	if (*r->idempotency_key == '\0' ||
	    store_booking_by_key(r->w->db, r->user.uid, r->idempotency_key, &b, was, sizeof(was)) !=
	            STORE_OK)
		return 0;
	log_warn("idempotency answer rebuilt", "booking", b.reference, "source", "bookings row");
	if (strcmp(was, hash) != 0) {
		reply_error(r, 422, "Idempotency-Key was already used with a different request");
		return 1;
	}
	reply_json(r, 201, booking_json(&b));
	reply_header(r, "Idempotent-Replayed", "true");
	return 1;
}

static void create(struct req *r)
{
	const struct bookings_settings *c = settings(r->w);
	struct booking_input in;
	struct flight f;
	/* two bookings of ~5 KiB: off the stack of a FastCGI child */
	struct booking *b = xcalloc(2, sizeof(*b)), *out = b + 1;
	char hash[48], taken[BOOKING_PASSENGERS_MAX * 8];

	idem_hash(r->body, r->body_len, hash, sizeof(hash));
	if (read_booking_or_reply(r, &in) < 0 || replayed_from_booking(r, hash) ||
	    flight_or_reply(r, in.flight_id, &f) < 0 || seats_or_reply(r, &in, &f, b) < 0)
		goto out;
	if (!f.is_active) {
		reply_error(r, 409, "Flight is not available for booking");
		goto out;
	}
	if (f.departure_time <= (int64_t)time(NULL)) {
		reply_error(r, 409, DEPARTED);
		goto out;
	}
	if (!in.listed)
		account_name(r, in.user_id, b->passengers[0].full_name,
		             sizeof(b->passengers[0].full_name));
	b->user_id = in.user_id;
	b->flight_id = in.flight_id;
	snprintf(b->flight_number, sizeof(b->flight_number), "%s", f.flight_number);
	snprintf(b->origin, sizeof(b->origin), "%s", f.origin);
	snprintf(b->destination, sizeof(b->destination), "%s", f.destination);
	field_format_time(f.departure_time, b->departure_time, sizeof(b->departure_time));
	new_token(b->lock_token, sizeof(b->lock_token));
	snprintf(b->request_id, sizeof(b->request_id), "%s", r->request_id);
	snprintf(b->idempotency_key, sizeof(b->idempotency_key), "%s", r->idempotency_key);
	snprintf(b->request_hash, sizeof(b->request_hash), "%s", hash);
	if (!lock_seats(r->w, b, taken, sizeof(taken))) {
		reply_taken(r, &in, taken);
		goto out;
	}
	struct created_answer answer = {r, NULL};
	taken[0] = '\0';
	/* without a key there is nothing to record: the hold is then one
	 * statement, its own transaction (store.h) */
	enum create_result rc = store_booking_create(
	        r->w->db, b, c->max_active_holds, c->hold_seconds,
	        *r->idempotency_key ? record_created : NULL, &answer, out, taken, sizeof(taken));
	/* the locks were only for deciding: PostgreSQL has decided */
	unlock_seats(r->w, b);
	if (rc == CREATE_OK && answer.body == NULL)
		created_body(&answer, out);
	if (rc == CREATE_OK)
		reply_created(r, out, answer.body);
	else if (rc == CREATE_SEAT_TAKEN)
		reply_taken(r, &in, taken);
	else if (rc == CREATE_TOO_MANY_HOLDS)
		reply_error(r, 409,
		            "Too many active holds: pay for or cancel a pending booking first");
	else
		reply_error(r, 503, REPLY_DB_DOWN);
	free(answer.body);
out:
	free(b);
}

void bookings_create(struct req *r)
{
	char hash[48];

	idem_hash(r->body, r->body_len, hash, sizeof(hash));
	idem_run(r, hash, create);
}

/* ---- reads ---- */

static const char *const statuses[] = {"pending", "confirmed", "expired", "cancelled", NULL};

/* ?reference= (letter case ignored) into out (size >= 8): 0, absent 0
 * with out "", or -1 after replying 422 like the other filters do for a
 * malformed value. */
static int reference_or_reply(struct req *r, char *out, size_t len)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	struct field_errors e;
	char text[16];

	out[0] = '\0';
	field_errors_init(&e);
	int got = field_query_str(r->query, "reference", 1, sizeof(text) - 1, text, sizeof(text),
	                          FIELD_OPTIONAL, &e);
	if (got > 0) {
		size_t n = strlen(text);
		for (size_t i = 0; i < n; i++)
			if (text[i] >= 'a' && text[i] <= 'z')
				text[i] = (char)(text[i] - 'a' + 'A');
		if (n != 6 || strspn(text, alphabet) != n)
			field_error_add(&e, "query", "reference",
			                "reference must be 6 characters of A-Z and 2-9 "
			                "(no 0, O, 1 or I)",
			                "value_error");
		else
			snprintf(out, len, "%s", text);
	}
	if (e.count) {
		reply_invalid(r, &e);
		return -1;
	}
	field_errors_release(&e);
	return 0;
}

void bookings_list(struct req *r)
{
	struct booking_filter f = {0};
	const struct req_filter filters[] = {
	        {"user_id", REQ_FILTER_USER, NULL, &f.user_id},
	        {"flight_id", REQ_FILTER_ID, NULL, &f.flight_id},
	        {"status", REQ_FILTER_ENUM, statuses, &f.status},
	        {NULL, 0, NULL, NULL},
	};
	struct booking *rows = NULL;
	char reference[8];
	int n = 0;
	int64_t total = 0;

	if (req_list_or_reply(r, filters, &f.limit, &f.offset) < 0 ||
	    reference_or_reply(r, reference, sizeof(reference)) < 0)
		return;
	f.reference = *reference ? reference : NULL;
	enum store_status st = store_booking_list(r->w->db, &f, &rows, &n, &total);
	if (reply_unless_ok(r, st, NULL, NULL) == 0)
		reply_rows(r, rows, n, sizeof(*rows), booking_row_json, total);
	free(rows);
}

/* The caller's booking (any, for admins and services): 0, or -1 after
 * replying 404 or 503. */
static int own_booking_or_reply(struct req *r, struct booking *b)
{
	int64_t id;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return -1;
	return reply_unless_ok(r, store_booking_get(r->w->db, id, req_owner(r), b), NOT_FOUND,
	                       NULL);
}

void bookings_get(struct req *r)
{
	struct booking b;

	if (own_booking_or_reply(r, &b) == 0)
		reply_json(r, 200, booking_json(&b));
}

void bookings_status(struct req *r)
{
	struct booking b;

	if (own_booking_or_reply(r, &b) < 0)
		return;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "booking_id", json_object_new_int64(b.id));
	json_object_object_add(o, "status", json_object_new_string(b.status));
	reply_json(r, 200, o);
}

void bookings_cancel(struct req *r)
{
	struct booking b;
	char was[16] = "", detail[64] = "";
	int64_t id;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return;
	enum store_status st = store_booking_cancel(r->w->db, id, req_owner(r), r->request_id, &b,
	                                            was, sizeof(was));
	if (st == STORE_CONFLICT)
		snprintf(detail, sizeof(detail), "Booking is already %s", b.status);
	if (reply_unless_ok(r, st, NOT_FOUND, detail) < 0)
		return;
	seats_changed(r->w, b.flight_id);
	live_booking(r->w, &b);
	count(r->w, "cancelled");
	reply_json(r, 200, booking_json(&b));
}

/* Each seat's status by index: the first live row naming a seat decides
 * it ("booked" when confirmed, else "held"); 0 is available. */
enum { SEAT_AVAILABLE, SEAT_HELD, SEAT_BOOKED };

static void seat_states(const struct seat_row *live, int n, int64_t total, unsigned char *st)
{
	char canon[SEAT_MAX];

	for (int i = 0; i < n; i++) {
		int index = bookings_seat_index(live[i].seat_number, total, canon, sizeof(canon));
		/* a stored name is canonical; one that is not names no seat */
		if (index < 0 || st[index] || strcmp(canon, live[i].seat_number) != 0)
			continue;
		st[index] = strcmp(live[i].status, "confirmed") == 0 ? SEAT_BOOKED : SEAT_HELD;
	}
}

/* The seat map of f as JSON into out, written straight into the buffer:
 * a 300-seat map through json-c was 300 objects, each a hash table, and
 * most of the request's time. The bytes are the ones json-c wrote:
 * [{"seat_number":"1A","cabin":"economy","price":199.00,"status":"held"},...] */
static void seat_map_json(const struct flight *f, const unsigned char *st, struct buf *out)
{
	static const char *const status_text[] = {"available\"}", "held\"}", "booked\"}"};
	static const char open[] = ",{\"seat_number\":\"";
	static const char status[] = ",\"status\":\"";
	struct cabin c[FLIGHT_CABINS_MAX];
	char money[32];
	/* per cabin: ","cabin":"<name>","price":<price>" */
	char fare[FLIGHT_CABINS_MAX + 1][96];
	int ncabins = flight_cabins(f, c);

	for (int k = 0; k < ncabins; k++) {
		field_format_money(c[k].price_cents, money, sizeof(money));
		snprintf(fare[k], sizeof(fare[k]), "\",\"cabin\":\"%s\",\"price\":%s",
		         flight_cabin_name(c[k].kind), money);
	}
	/* a seat outside every cabin has no cabin or price, as before */
	snprintf(fare[ncabins], sizeof(fare[ncabins]), "\"");
	buf_addc(out, '[');
	for (int64_t row = 1, i = 0; i < f->total_seats; row++) {
		char digits[24], name[24];
		int k = 0, len = 0;
		/* the row's number, without a printf per row */
		for (int64_t v = row; v > 0; v /= 10)
			digits[len++] = (char)('0' + v % 10);
		for (int d = 0; d < len; d++)
			name[d] = digits[len - 1 - d];
		while (k < ncabins && !(row >= c[k].first_row && row <= c[k].last_row))
			k++;
		size_t fare_len = strlen(fare[k]);
		for (int col = 0; col < FLIGHT_ROW_SEATS && i < f->total_seats; col++, i++) {
			/* one seat's object: at most 19 + 24 + 96 + 12 + 12 bytes */
			char one[192];
			size_t n = 0;
			const char *tail = status_text[st[i]];
			memcpy(one, open + (i == 0), sizeof(open) - 1 - (i == 0));
			n += sizeof(open) - 1 - (i == 0);
			memcpy(one + n, name, (size_t)len);
			n += (size_t)len;
			one[n++] = (char)('A' + col);
			memcpy(one + n, fare[k], fare_len);
			n += fare_len;
			memcpy(one + n, status, sizeof(status) - 1);
			n += sizeof(status) - 1;
			memcpy(one + n, tail, strlen(tail));
			n += strlen(tail);
			buf_add(out, one, n);
		}
	}
	buf_addc(out, ']');
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char seat_chars[] = {'.', 'h', 'b'}; /* by SEAT_AVAILABLE, ... */

/* A cached seats:map:<id> value read at now_ms into st (total seats): 1
 * when it is a fresh map of exactly that many seats, else 0. */
static int seat_map_parse(const char *value, int64_t now_ms, int64_t total, unsigned char *st)
{
	char *end;

	if (value == NULL || *value < '0' || *value > '9')
		return 0;
	long long at = strtoll(value, &end, 10);
	if (*end != '|' || now_ms - at >= SEAT_COUNT_TTL_MS || at - now_ms > 1000 ||
	    (int64_t)strlen(end + 1) != total)
		return 0;
	for (int64_t i = 0; i < total; i++) {
		const char *c = memchr(seat_chars, end[1 + i], sizeof(seat_chars));
		if (c == NULL)
			return 0;
		st[i] = (unsigned char)(c - seat_chars);
	}
	return 1;
}

/* Offer the map st, read from PostgreSQL from at_ms on, to the cache:
 * only where nothing is, so not over a change's mark (seat_set.h). */
static void seat_map_offer(struct worker *w, int64_t id, int64_t at_ms, const unsigned char *st,
                           int64_t total)
{
	char key[SEAT_SET_KEY_MAX];
	struct buf v;

	buf_init(&v);
	buf_printf(&v, "%" PRId64 "|", at_ms);
	for (int64_t i = 0; i < total; i++)
		buf_addc(&v, seat_chars[st[i]]);
	seat_map_key(id, key, sizeof(key));
	kv_set(w->kv, key, v.data, v.len, SEAT_COUNT_TTL_MS, 1);
	buf_release(&v);
}

void bookings_seat_map(struct req *r)
{
	char entry[FLIGHT_ENTRY_KEY_MAX], map[SEAT_SET_KEY_MAX];
	const char *keys[] = {entry, map};
	char *cached[2] = {NULL, NULL};
	struct seat_row *live = NULL;
	unsigned char *st = NULL;
	struct flight f;
	int64_t id;
	int n = 0;

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0)
		return;
	/* the flight's entry and its seat map in one round trip */
	flight_entry_key(id, entry, sizeof(entry));
	seat_map_key(id, map, sizeof(map));
	int64_t at = wall_ms();
	kv_mget(r->w->kv, keys, 2, cached);
	int hit = cached[0] && flight_entry_parse(cached[0], &f) == 0 && f.id == id;
	if (!hit && flight_or_reply(r, id, &f) < 0)
		goto out;
	st = xcalloc((size_t)f.total_seats + 1, 1);
	if (!seat_map_parse(cached[1], at, f.total_seats, st)) {
		at = wall_ms();
		if (reply_unless_ok(r, store_live_seats(r->w->db, id, &live, &n), NULL, NULL) < 0)
			goto out;
		seat_states(live, n, f.total_seats, st);
		seat_map_offer(r->w, id, at, st, f.total_seats);
	}
	seat_map_json(&f, st, reply_body(r, 200, "application/json"));
out:
	free(st);
	free(live);
	free(cached[1]);
	free(cached[0]);
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

/* Count flight id's live seats in rows: the count, and into text
 * (SEAT_COUNT_TEXT_MAX) the value of seats:<id> with the live seats per
 * row (seat_set.h), which the answer carries too. */
static int64_t count_value(int64_t id, const struct seat_row *rows, int n, char *text)
{
	const char **seats = xcalloc((size_t)n + 1, sizeof(*seats));
	struct timespec ts;
	int64_t live = 0;

	for (int i = 0; i < n; i++)
		if (rows[i].flight_id == id)
			seats[live++] = rows[i].seat_number;
	clock_gettime(CLOCK_REALTIME, &ts);
	seat_count_format(live, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, text,
	                  SEAT_COUNT_TEXT_MAX);
	seat_rows_format(seats, (int)live, text, SEAT_COUNT_TEXT_MAX);
	free(seats);
	return live;
}

void bookings_internal_occupancy(struct req *r)
{
	char text[OCCUPANCY_MAX * 21], key[24];
	int64_t ids[OCCUPANCY_MAX];
	struct seat_row *rows = NULL;
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
	if (reply_unless_ok(r, st, NULL, NULL) < 0)
		return;
	/* {"<id>": count, ..., "rows": {"<id>": "<row>:<n>,...", ...}}: the
	 * live seats per row let the flights pool count each cabin */
	struct json_object *o = json_object_new_object(), *per_row = json_object_new_object();
	char(*values)[SEAT_COUNT_TEXT_MAX] = xcalloc((size_t)n, sizeof(*values));
	char(*keys)[SEAT_SET_KEY_MAX] = xcalloc((size_t)n, sizeof(*keys));
	const char **key_at = xcalloc((size_t)n, sizeof(*key_at));
	const char **value_at = xcalloc((size_t)n, sizeof(*value_at));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%" PRId64, ids[i]);
		json_object_object_add(
		        o, key, json_object_new_int64(count_value(ids[i], rows, nrows, values[i])));
		json_object_object_add(per_row, key,
		                       json_object_new_string(strchr(values[i], '|') + 1));
		seat_set_key(ids[i], keys[i], sizeof(keys[i]));
		key_at[i] = keys[i];
		value_at[i] = values[i];
	}
	/* a page's counts in one round trip, not one SET per flight */
	kv_set_many(r->w->kv, key_at, value_at, n, SEAT_COUNT_TTL_MS);
	free(value_at);
	free(key_at);
	free(keys);
	free(values);
	json_object_object_add(o, "rows", per_row);
	free(rows);
	reply_json(r, 200, o);
}

/* The payments pool's look-up before it charges: the booking plus
 * flight_departed, so a hold whose flight has left is refused there (409)
 * after its owner is checked, and never paid for. */
void bookings_internal_get(struct req *r)
{
	struct booking b;

	if (own_booking_or_reply(r, &b) < 0)
		return;
	struct json_object *o = booking_json(&b);
	json_object_object_add(o, "flight_departed", json_object_new_boolean(b.departed));
	reply_json(r, 200, o);
}

void bookings_internal_confirm(struct req *r)
{
	struct json_object *body;
	struct field_errors e;
	struct booking b;
	int64_t id, payment_id = 0;
	char detail[64] = "";

	if (req_param_id_or_reply(r, "id", NULL, &id) < 0 || (body = req_json_or_reply(r)) == NULL)
		return;
	field_errors_init(&e);
	if (field_int64(body, BOOKING_CONFIRM_PAYMENT, 1, INT64_MAX, FIELD_REQUIRED, &payment_id,
	                &e) < 0) {
		reply_invalid(r, &e);
		return;
	}
	field_errors_release(&e);
	enum store_status st = store_booking_confirm(r->w->db, id, payment_id, r->request_id, &b);
	if (st == STORE_CONFLICT)
		snprintf(detail, sizeof(detail), "Booking is %s", b.status);
	if (reply_unless_ok(r, st, NOT_FOUND, detail) < 0)
		return;
	seat_map_changed(r->w, b.flight_id);
	live_booking(r->w, &b);
	count(r->w, "confirmed");
	reply_json(r, 200, booking_json(&b));
}

/* ---- background ---- */

/* Every tick: has Redis restarted (its run_id changed) or come back after
 * being unreachable? Then the seat locks and counts it held are gone or
 * stale; nothing depends on them for long (locks live LOCK_MS, counts
 * SEAT_COUNT_TTL_MS), but every such repair is logged, and the counts are
 * dropped now rather than at their expiry. */
static void watch_redis(struct worker *w)
{
	static char known[48];
	static int unreachable;
	char now[48];

	if (kv_run_id(w->kv, now, sizeof(now)) < 0) {
		unreachable = 1;
		return;
	}
	const char *reason = NULL;
	if (known[0] && strcmp(known, now) != 0)
		reason = "redis restarted";
	else if (unreachable)
		reason = "redis reachable again";
	unreachable = 0;
	snprintf(known, sizeof(known), "%s", now);
	if (reason == NULL)
		return;
	long long dropped = 0;
	kv_del_match(w->kv, "seats:*", &dropped);
	char n[24];
	snprintf(n, sizeof(n), "%lld", dropped);
	log_warn("seat set rebuilt", "reason", reason, "counts_dropped", n, "source", "postgresql");
}

void bookings_tick(struct worker *w)
{
	static unsigned ticks;
	struct booking *rows = NULL;
	int n = 0;

	if (store_expire_holds(w->db, 500, &rows, &n) == STORE_OK)
		for (int i = 0; i < n; i++) {
			/* under the id of the request that made the hold */
			log_set_request_id(rows[i].request_id);
			seats_changed(w, rows[i].flight_id);
			live_booking(w, &rows[i]); /* every seat: available */
			count(w, "expired");
			log_info("hold expired", "booking", rows[i].reference, "seat",
			         rows[i].seat_number);
		}
	log_set_request_id(NULL);
	free(rows);
	watch_redis(w);
	live_republish(w);
	outbox_relay(w, 50, NULL);
	if (ticks++ % 60 == 0)
		idem_prune(w->db);
}
