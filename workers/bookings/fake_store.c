/* fake_store.c - store.h over an array, for the handler tests: the same
 * answers store.c gives (STORE_OK, NOT_FOUND, CONFLICT, ERROR and the
 * create results) from a few bookings in memory. Not thread-safe, no
 * clock, no SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"
#include "mem.h"

#define HOLD_UNTIL "2030-01-01T00:10:00Z"
#define CREATED_AT "2030-01-01T00:00:00Z"

enum op {
	OP_CREATE,
	OP_GET,
	OP_LIST,
	OP_CANCEL,
	OP_CONFIRM,
	OP_LIVE_SEATS,
	OP_OCCUPANCY,
	OP_EXPIRE_HOLDS,
	OP_COUNT
};

/* The names tests give the store functions (fake_ops.h), NULL-terminated. */
static const char *const op_names[OP_COUNT + 1] = {
        "create", "get", "list", "cancel", "confirm", "live_seats", "occupancy", "expire_holds"};

static struct booking rows[FAKE_STORE_MAX];
static int count;
static int64_t next_id = 1;
static struct fake_store_args args;

void fake_store_reset(void)
{
	memset(rows, 0, sizeof(rows));
	memset(&args, 0, sizeof(args));
	count = 0;
	next_id = 1;
	fake_ops_reset(op_names);
}

int64_t fake_store_add(const struct booking *b)
{
	if (count == FAKE_STORE_MAX)
		abort();
	struct booking *row = &rows[count++];
	*row = *b;
	row->id = next_id++;
	if (row->reference[0] == '\0')
		snprintf(row->reference, sizeof(row->reference), "BK%04d", (int)(row->id % 10000));
	if (row->status[0] == '\0')
		snprintf(row->status, sizeof(row->status), "pending");
	if (row->hold_expires_at[0] == '\0')
		snprintf(row->hold_expires_at, sizeof(row->hold_expires_at), HOLD_UNTIL);
	if (row->created_at[0] == '\0')
		snprintf(row->created_at, sizeof(row->created_at), CREATED_AT);
	return row->id;
}

static struct booking *find(int64_t id, int64_t owner)
{
	for (int i = 0; i < count; i++)
		if (rows[i].id == id && (owner == 0 || rows[i].user_id == owner))
			return &rows[i];
	return NULL;
}

const struct booking *fake_store_find(int64_t id)
{
	return find(id, 0);
}

const struct fake_store_args *fake_store_args(void)
{
	return &args;
}

static int live(const struct booking *b)
{
	return strcmp(b->status, "pending") == 0 || strcmp(b->status, "confirmed") == 0;
}

/* The seats of b (its own seat_number when it lists no passengers, as
 * the tests' fake_store_add rows may). */
static int seats_of(const struct booking *b)
{
	return b->npassengers ? b->npassengers : 1;
}

static const char *seat_of(const struct booking *b, int i)
{
	return b->npassengers ? b->passengers[i].seat_number : b->seat_number;
}

/* The seats the user's pending bookings hold. */
static int holds_of(int64_t user_id)
{
	int n = 0;

	for (int i = 0; i < count; i++)
		if (rows[i].user_id == user_id && strcmp(rows[i].status, "pending") == 0)
			n += seats_of(&rows[i]);
	return n;
}

/* 1 when a live booking of flight holds seat. */
static int seat_taken(int64_t flight_id, const char *seat)
{
	for (int i = 0; i < count; i++)
		if (rows[i].flight_id == flight_id && live(&rows[i]))
			for (int k = 0; k < seats_of(&rows[i]); k++)
				if (strcmp(seat_of(&rows[i], k), seat) == 0)
					return 1;
	return 0;
}

enum create_result store_booking_create(struct db *db, const struct booking *b, int max_holds,
                                        int hold_seconds, store_before_commit before_commit,
                                        void *ctx, struct booking *out, char *taken,
                                        size_t takenlen)
{
	enum store_status st;
	size_t at = 0;

	(void)db;
	taken[0] = '\0';
	args.created = *b;
	args.max_holds = max_holds;
	args.hold_seconds = hold_seconds;
	st = fake_op(OP_CREATE);
	if (st != STORE_OK)
		return st == STORE_CONFLICT ? CREATE_SEAT_TAKEN : CREATE_ERROR;
	for (int i = 0; i < seats_of(b); i++)
		if (seat_taken(b->flight_id, seat_of(b, i)) && at < takenlen)
			at += (size_t)snprintf(taken + at, takenlen - at, "%s%s", at ? ", " : "",
			                       seat_of(b, i));
	if (at)
		return CREATE_SEAT_TAKEN;
	if (holds_of(b->user_id) + seats_of(b) > max_holds)
		return CREATE_TOO_MANY_HOLDS;
	struct booking row = *b;
	snprintf(row.status, sizeof(row.status), "pending");
	struct booking *added = find(fake_store_add(&row), 0);
	if (before_commit && before_commit(db, added, ctx) < 0) {
		/* rolled back: the row never was */
		count--;
		next_id--;
		return CREATE_ERROR;
	}
	*out = *added;
	return CREATE_OK;
}

enum store_status store_booking_by_key(struct db *db, int64_t user_id, const char *key,
                                       struct booking *out, char *hash, size_t hashlen)
{
	(void)db;
	for (int i = count - 1; i >= 0; i--)
		if (rows[i].user_id == user_id && rows[i].idempotency_key[0] &&
		    strcmp(rows[i].idempotency_key, key) == 0) {
			*out = rows[i];
			snprintf(hash, hashlen, "%s", rows[i].request_hash);
			return STORE_OK;
		}
	return STORE_NOT_FOUND;
}

enum store_status store_booking_get(struct db *db, int64_t id, int64_t owner, struct booking *out)
{
	enum store_status st;

	(void)db;
	args.owner = owner;
	st = fake_op(OP_GET);
	if (st != STORE_OK)
		return st;
	const struct booking *b = find(id, owner);
	if (b == NULL)
		return STORE_NOT_FOUND;
	*out = *b;
	return STORE_OK;
}

static int matches(const struct booking *b, const struct booking_filter *f)
{
	return (f->user_id == 0 || b->user_id == f->user_id) &&
	       (f->flight_id == 0 || b->flight_id == f->flight_id) &&
	       (f->reference == NULL || strcmp(b->reference, f->reference) == 0) &&
	       (f->status == NULL || strcmp(b->status, f->status) == 0);
}

enum store_status store_booking_list(struct db *db, const struct booking_filter *f,
                                     struct booking **out, int *n, int64_t *total)
{
	enum store_status st;

	(void)db;
	args.filter = *f;
	snprintf(args.reference, sizeof(args.reference), "%s", f->reference ? f->reference : "");
	args.filter.reference = NULL; /* the caller's buffer is gone after the call */
	*out = NULL;
	*n = 0;
	*total = 0;
	st = fake_op(OP_LIST);
	if (st != STORE_OK)
		return st;
	*out = xcalloc(FAKE_STORE_MAX, sizeof(**out));
	for (int i = count - 1; i >= 0; i--) { /* newest first */
		if (!matches(&rows[i], f))
			continue;
		if (*total >= f->offset && *n < f->limit)
			(*out)[(*n)++] = rows[i];
		(*total)++;
	}
	return STORE_OK;
}

enum store_status store_booking_cancel(struct db *db, int64_t id, int64_t owner,
                                       const char *request_id, struct booking *out, char *was,
                                       size_t waslen)
{
	enum store_status st;

	(void)db;
	args.owner = owner;
	st = fake_op(OP_CANCEL);
	if (st != STORE_OK)
		return st;
	struct booking *b = find(id, owner);
	if (b == NULL)
		return STORE_NOT_FOUND;
	if (!live(b)) {
		*out = *b;
		return STORE_CONFLICT;
	}
	snprintf(was, waslen, "%s", b->status);
	snprintf(b->status, sizeof(b->status), "cancelled");
	snprintf(b->cancelled_at, sizeof(b->cancelled_at), CREATED_AT);
	snprintf(b->request_id, sizeof(b->request_id), "%s", request_id);
	*out = *b;
	return STORE_OK;
}

enum store_status store_booking_confirm(struct db *db, int64_t id, int64_t payment_id,
                                        const char *request_id, struct booking *out)
{
	enum store_status st = fake_op(OP_CONFIRM);

	(void)db;
	if (st != STORE_OK)
		return st;
	struct booking *b = find(id, 0);
	if (b == NULL)
		return STORE_NOT_FOUND;
	if (strcmp(b->status, "pending") == 0) {
		snprintf(b->status, sizeof(b->status), "confirmed");
		b->payment_id = payment_id;
		snprintf(b->request_id, sizeof(b->request_id), "%s", request_id);
	}
	*out = *b;
	return strcmp(b->status, "confirmed") == 0 && b->payment_id == payment_id ? STORE_OK
	                                                                          : STORE_CONFLICT;
}

/* The live seats of the flights for which want says yes, for op: a row
 * per seat, as seat_bookings gives them. */
static enum store_status live_of(enum op op, int (*want)(int64_t, const void *), const void *arg,
                                 struct seat_row **out, int *n)
{
	enum store_status st = fake_op(op);

	*out = NULL;
	*n = 0;
	if (st != STORE_OK)
		return st;
	*out = xcalloc(FAKE_STORE_MAX * BOOKING_PASSENGERS_MAX, sizeof(**out));
	for (int i = 0; i < count; i++)
		if (live(&rows[i]) && want(rows[i].flight_id, arg))
			for (int k = 0; k < seats_of(&rows[i]); k++) {
				struct seat_row *seat = &(*out)[(*n)++];
				seat->booking_id = rows[i].id;
				seat->flight_id = rows[i].flight_id;
				snprintf(seat->seat_number, sizeof(seat->seat_number), "%s",
				         seat_of(&rows[i], k));
				snprintf(seat->status, sizeof(seat->status), "%s", rows[i].status);
			}
	return STORE_OK;
}

static int same_flight(int64_t flight_id, const void *arg)
{
	return flight_id == *(const int64_t *)arg;
}

/* flight_id is in the array literal arg ("{1,2}"). */
static int listed(int64_t flight_id, const void *arg)
{
	for (const char *p = (const char *)arg + 1; *p && *p != '}';) {
		char *end;
		long long id = strtoll(p, &end, 10);
		if (end == p)
			break;
		if (id == flight_id)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

enum store_status store_live_seats(struct db *db, int64_t flight_id, struct seat_row **seats,
                                   int *n)
{
	(void)db;
	return live_of(OP_LIVE_SEATS, same_flight, &flight_id, seats, n);
}

enum store_status store_occupancy(struct db *db, const char *ids, struct seat_row **out, int *n)
{
	(void)db;
	return live_of(OP_OCCUPANCY, listed, ids, out, n);
}

enum store_status store_expire_holds(struct db *db, int limit, struct booking **out, int *n)
{
	enum store_status st = fake_op(OP_EXPIRE_HOLDS);

	(void)db;
	(void)limit;
	*out = NULL;
	*n = 0;
	if (st != STORE_OK)
		return st;
	*out = xcalloc(1, sizeof(**out)); /* no clock: nothing is overdue */
	return STORE_OK;
}

enum store_status store_seats_changed(struct db *db, char *since, size_t sincelen,
                                      struct seat_row **out, int *n)
{
	(void)db;
	(void)since;
	(void)sincelen;
	/* the handler tests publish nowhere: nothing to publish again */
	*out = NULL;
	*n = 0;
	return STORE_OK;
}

enum store_status store_flight_routes(struct db *db, const int64_t *ids, int n,
                                      struct flight_route **out, int *nout)
{
	(void)db;
	(void)ids;
	(void)n;
	*out = NULL;
	*nout = 0;
	return STORE_OK;
}
