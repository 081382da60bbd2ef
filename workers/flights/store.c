/* store.c - SQL of the flights service. Every statement is constant text
 * with $n parameters; times travel as Unix seconds (to_timestamp on the
 * way in, floor(extract(epoch)) on the way out) and rows are copied into
 * struct flight. Knows nothing of HTTP, JSON or Redis. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mem.h"
#include "store.h"

#define FLIGHT_COLUMNS                                                                             \
	"id, flight_number, airline, origin, destination, "                                        \
	"floor(extract(epoch FROM departure_time))::bigint, "                                      \
	"floor(extract(epoch FROM arrival_time))::bigint, price_cents, total_seats, is_active, "   \
	"floor(extract(epoch FROM created_at))::bigint"
#define FLIGHT_NCOLUMNS 11

/* Active flights matching $1 origin, $2 destination ('' = any) and $3
 * departure date (Unix seconds of its 00:00 UTC, < 0 = any). */
#define LIST_WHERE                                                                                 \
	" FROM flights WHERE is_active "                                                           \
	"AND ($1::text = '' OR origin = $1::text) "                                                \
	"AND ($2::text = '' OR destination = $2::text) "                                           \
	"AND ($3::bigint < 0 OR (departure_time >= to_timestamp($3::bigint) "                      \
	"AND departure_time < to_timestamp($3::bigint + 86400)))"

#define SQLSTATE_UNIQUE_VIOLATION "23505"

static void read_row(const PGresult *res, int row, struct flight *f)
{
	memset(f, 0, sizeof(*f));
	f->id = db_int(res, row, 0);
	db_text(f->flight_number, sizeof(f->flight_number), res, row, 1);
	db_text(f->airline, sizeof(f->airline), res, row, 2);
	db_text(f->origin, sizeof(f->origin), res, row, 3);
	db_text(f->destination, sizeof(f->destination), res, row, 4);
	f->departure_time = db_int(res, row, 5);
	f->arrival_time = db_int(res, row, 6);
	f->price_cents = db_int(res, row, 7);
	f->total_seats = (int)db_int(res, row, 8);
	f->is_active = PQgetvalue(res, row, 9)[0] == 't';
	f->created_at = db_int(res, row, 10);
}

/* The first row of res into out (res is cleared). */
static enum store_status one_flight(PGresult *res, struct flight *out)
{
	if (res == NULL)
		return STORE_ERROR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOT_FOUND;
	}
	read_row(res, 0, out);
	PQclear(res);
	return STORE_OK;
}

/* Status of a failed statement: a unique violation is a conflict. */
static enum store_status failure(struct db *db)
{
	return strcmp(db_sqlstate(db), SQLSTATE_UNIQUE_VIOLATION) == 0 ? STORE_CONFLICT
	                                                               : STORE_ERROR;
}

/* The text parameters of f, in the order the INSERT and UPDATE use after
 * the id: number, airline, origin, destination, departure, arrival,
 * price, seats. nums holds the digits the pointers refer to. */
struct flight_params {
	char nums[4][24];
	const char *p[8];
};

static void flight_params_init(struct flight_params *fp, const struct flight *f)
{
	snprintf(fp->nums[0], sizeof(fp->nums[0]), "%" PRId64, f->departure_time);
	snprintf(fp->nums[1], sizeof(fp->nums[1]), "%" PRId64, f->arrival_time);
	snprintf(fp->nums[2], sizeof(fp->nums[2]), "%" PRId64, f->price_cents);
	snprintf(fp->nums[3], sizeof(fp->nums[3]), "%d", f->total_seats);
	fp->p[0] = f->flight_number;
	fp->p[1] = f->airline;
	fp->p[2] = f->origin;
	fp->p[3] = f->destination;
	for (int i = 0; i < 4; i++)
		fp->p[4 + i] = fp->nums[i];
}

enum store_status store_flight_create(struct db *db, const struct flight *f, struct flight *out)
{
	struct flight_params fp;

	flight_params_init(&fp, f);
	PGresult *res = db_exec(db,
	                        "INSERT INTO flights (flight_number, airline, origin, destination, "
	                        "departure_time, arrival_time, price_cents, total_seats) "
	                        "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), "
	                        "to_timestamp($6::bigint), $7, $8) ON CONFLICT DO NOTHING "
	                        "RETURNING " FLIGHT_COLUMNS,
	                        8, fp.p);
	if (res == NULL)
		return failure(db);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_CONFLICT;
	}
	return one_flight(res, out);
}

enum store_status store_flight_by_id(struct db *db, int64_t id, struct flight *out)
{
	char sid[24];
	const char *p[] = {sid};

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	return one_flight(db_exec(db, "SELECT " FLIGHT_COLUMNS " FROM flights WHERE id = $1", 1, p),
	                  out);
}

enum store_status store_flight_update(struct db *db, const struct flight *f, struct flight *out)
{
	struct flight_params fp;
	char sid[24];
	const char *p[10];

	flight_params_init(&fp, f);
	snprintf(sid, sizeof(sid), "%" PRId64, f->id);
	memcpy(p, fp.p, sizeof(fp.p));
	p[8] = f->is_active ? "true" : "false";
	p[9] = sid;
	PGresult *res = db_exec(db,
	                        "UPDATE flights SET flight_number = $1, airline = $2, origin = $3, "
	                        "destination = $4, departure_time = to_timestamp($5::bigint), "
	                        "arrival_time = to_timestamp($6::bigint), price_cents = $7, "
	                        "total_seats = $8, is_active = $9, updated_at = now() "
	                        "WHERE id = $10 RETURNING " FLIGHT_COLUMNS,
	                        10, p);
	if (res == NULL)
		return failure(db);
	return one_flight(res, out);
}

enum store_status store_flight_set_active(struct db *db, int64_t id, int active, struct flight *out)
{
	char sid[24];
	const char *p[] = {sid, active ? "true" : "false"};

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	return one_flight(db_exec(db,
	                          "UPDATE flights SET is_active = $2, updated_at = now() "
	                          "WHERE id = $1 RETURNING " FLIGHT_COLUMNS,
	                          2, p),
	                  out);
}

enum store_status store_flight_delete(struct db *db, int64_t id)
{
	char sid[24];
	const char *p[] = {sid};

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	PGresult *res = db_exec(db, "DELETE FROM flights WHERE id = $1", 1, p);
	if (res == NULL)
		return STORE_ERROR;
	enum store_status st = atoi(PQcmdTuples(res)) > 0 ? STORE_OK : STORE_NOT_FOUND;
	PQclear(res);
	return st;
}

/* Total for a page that came back empty: the offset may be past the end. */
static enum store_status count_only(struct db *db, const char *const *p, int64_t *total)
{
	PGresult *res = db_exec(db, "SELECT count(*)" LIST_WHERE, 3, p);

	if (res == NULL)
		return STORE_ERROR;
	*total = db_int(res, 0, 0);
	PQclear(res);
	return STORE_OK;
}

enum store_status store_flight_list(struct db *db, const struct flight_filter *q,
                                    struct flight_list *out)
{
	char date[24], limit[24], offset[24];
	const char *p[] = {q->origin, q->destination, date, limit, offset};

	memset(out, 0, sizeof(*out));
	snprintf(date, sizeof(date), "%" PRId64, q->date);
	snprintf(limit, sizeof(limit), "%" PRId64, q->limit);
	snprintf(offset, sizeof(offset), "%" PRId64, q->offset);
	PGresult *res = db_exec(db,
	                        "SELECT " FLIGHT_COLUMNS ", count(*) OVER ()" LIST_WHERE
	                        " ORDER BY departure_time, id LIMIT $4 OFFSET $5",
	                        5, p);
	if (res == NULL)
		return STORE_ERROR;
	out->count = PQntuples(res);
	if (out->count == 0) {
		PQclear(res);
		return q->offset > 0 ? count_only(db, p, &out->total) : STORE_OK;
	}
	out->rows = xcalloc((size_t)out->count, sizeof(*out->rows));
	for (int i = 0; i < out->count; i++)
		read_row(res, i, &out->rows[i]);
	out->total = db_int(res, 0, FLIGHT_NCOLUMNS);
	PQclear(res);
	return STORE_OK;
}

void store_flight_list_release(struct flight_list *l)
{
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
