/* store.c - SQL of the flights service. Every statement is constant text
 * with $n parameters; times travel as Unix seconds (to_timestamp on the
 * way in, floor(extract(epoch)) on the way out) and rows are copied into
 * struct flight. Knows nothing of HTTP, JSON or Redis. */
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"

/* The columns read_row reads, in its order. Named, so that a list page
 * (DB_PAGE_SQL) can order by them. */
/* clang-format off */
#define FLIGHT_COLUMNS \
	"id, flight_number, airline, origin, destination, " \
	"floor(extract(epoch FROM departure_time))::bigint AS departure_time, " \
	"floor(extract(epoch FROM arrival_time))::bigint AS arrival_time, " \
	"price_cents, total_seats, is_active::int AS is_active, " \
	"floor(extract(epoch FROM created_at))::bigint AS created_at, " \
	"coalesce(cabins::text, '') AS cabins"
/* clang-format on */

#define SQLSTATE_UNIQUE_VIOLATION "23505"
#define CABINS_TEXT_MAX           512

static const char *bool_text(int v)
{
	return v ? "true" : "false";
}

static void read_row(const PGresult *res, int row, void *out)
{
	struct flight *f = out;
	struct db_row c = DB_ROW(res, row);

	memset(f, 0, sizeof(*f));
	f->id = db_next_int(&c);
	DB_NEXT_TEXT(&c, f->flight_number);
	DB_NEXT_TEXT(&c, f->airline);
	DB_NEXT_TEXT(&c, f->origin);
	DB_NEXT_TEXT(&c, f->destination);
	f->departure_time = db_next_int(&c);
	f->arrival_time = db_next_int(&c);
	f->price_cents = db_next_int(&c);
	f->total_seats = (int)db_next_int(&c);
	f->is_active = db_next_int(&c) != 0;
	f->created_at = db_next_int(&c);
	const char *cabins = PQgetvalue(res, row, c.col);
	/* written by this pool only, validated then: a row that does not
	 * parse is left with the default cabin rather than failing reads */
	if (cabins[0] && flight_cabins_parse(cabins, f) < 0)
		f->ncabins = 0;
}

/* f's cabins as the text PostgreSQL stores, NULL for none (into buf). */
static const char *cabins_text(const struct flight *f, char *buf, size_t len)
{
	struct json_object *a = flight_cabins_json(f);

	if (a == NULL)
		return NULL;
	snprintf(buf, len, "%s", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return buf;
}

/* The row a write returned into out: as db_one, but a failed statement
 * that broke the flight number + date rule is a conflict. */
static enum store_status written(struct db *db, PGresult *res, struct flight *out)
{
	if (res == NULL)
		return strcmp(db_sqlstate(db), SQLSTATE_UNIQUE_VIOLATION) == 0 ? STORE_CONFLICT
		                                                               : STORE_ERROR;
	return db_one(res, read_row, out);
}

enum store_status store_flight_create(struct db *db, const struct flight *f, struct flight *out)
{
	char cabins[CABINS_TEXT_MAX];
	/* clang-format off */
	PGresult *res = db_query(db,
		"INSERT INTO flights (flight_number, airline, origin, destination,"
		"                     departure_time, arrival_time, price_cents, total_seats, cabins) "
		"VALUES ($1, $2, $3, $4, to_timestamp($5::bigint), to_timestamp($6::bigint), $7, $8, "
		"        $9::jsonb) "
		"ON CONFLICT DO NOTHING "
		"RETURNING " FLIGHT_COLUMNS,
		DB_TEXT(f->flight_number), DB_TEXT(f->airline), DB_TEXT(f->origin),
		DB_TEXT(f->destination), DB_INT(f->departure_time), DB_INT(f->arrival_time),
		DB_INT(f->price_cents), DB_INT(f->total_seats),
		DB_TEXT(cabins_text(f, cabins, sizeof(cabins))));
	/* clang-format on */
	enum store_status st = written(db, res, out);

	/* no row: ON CONFLICT skipped it */
	return st == STORE_NOT_FOUND ? STORE_CONFLICT : st;
}

enum store_status store_flight_by_id(struct db *db, int64_t id, struct flight *out)
{
	return db_one(
	        db_query(db, "SELECT " FLIGHT_COLUMNS " FROM flights WHERE id = $1", DB_INT(id)),
	        read_row, out);
}

enum store_status store_flight_update(struct db *db, const struct flight *f, struct flight *out)
{
	char cabins[CABINS_TEXT_MAX];
	/* clang-format off */
	PGresult *res = db_query(db,
		"UPDATE flights "
		"SET flight_number = $1, airline = $2, origin = $3, destination = $4, "
		"    departure_time = to_timestamp($5::bigint), "
		"    arrival_time = to_timestamp($6::bigint), "
		"    price_cents = $7, total_seats = $8, is_active = $9, cabins = $11::jsonb, "
		"    updated_at = now() "
		"WHERE id = $10 "
		"RETURNING " FLIGHT_COLUMNS,
		DB_TEXT(f->flight_number), DB_TEXT(f->airline), DB_TEXT(f->origin),
		DB_TEXT(f->destination), DB_INT(f->departure_time), DB_INT(f->arrival_time),
		DB_INT(f->price_cents), DB_INT(f->total_seats), DB_TEXT(bool_text(f->is_active)),
		DB_INT(f->id), DB_TEXT(cabins_text(f, cabins, sizeof(cabins))));
	/* clang-format on */
	return written(db, res, out);
}

enum store_status store_flight_set_active(struct db *db, int64_t id, int active, struct flight *out)
{
	/* clang-format off */
	PGresult *res = db_query(db,
		"UPDATE flights "
		"SET is_active = $2, updated_at = now() "
		"WHERE id = $1 "
		"RETURNING " FLIGHT_COLUMNS,
		DB_INT(id), DB_TEXT(bool_text(active)));
	/* clang-format on */
	return db_one(res, read_row, out);
}

enum store_status store_flight_delete(struct db *db, int64_t id)
{
	PGresult *res = db_query(db, "DELETE FROM flights WHERE id = $1", DB_INT(id));

	if (res == NULL)
		return STORE_ERROR;
	enum store_status st = atoi(PQcmdTuples(res)) > 0 ? STORE_OK : STORE_NOT_FOUND;
	PQclear(res);
	return st;
}

/* Active flights matching $1 origin, $2 destination ('' = any) and $3
 * departure date (Unix seconds of its 00:00 UTC, < 0 = any), by
 * departure then id, $4 rows from row $5, and their total; with $6 a
 * cabin name, only flights that have that cabin. */
/* clang-format off */
static const char list_sql[] = DB_PAGE_SQL(
	"SELECT " FLIGHT_COLUMNS " "
	"FROM flights "
	"WHERE is_active "
	"  AND ($1::text = '' OR origin = $1::text) "
	"  AND ($2::text = '' OR destination = $2::text) "
	"  AND ($3::bigint < 0 "
	"       OR (departure_time >= to_timestamp($3::bigint) "
	"           AND departure_time < to_timestamp($3::bigint + 86400))) "
	"  AND ($6::text = '' "
	"       OR (cabins IS NULL AND $6::text = 'economy') "
	"       OR cabins @> jsonb_build_array(jsonb_build_object('cabin', $6::text)))",
	"ORDER BY departure_time, id", "$4", "$5");
/* clang-format on */

enum store_status store_flight_list(struct db *db, const struct flight_filter *q,
                                    struct flight_list *out)
{
	void *rows;
	PGresult *res =
	        db_query(db, list_sql, DB_TEXT(q->origin), DB_TEXT(q->destination), DB_INT(q->date),
	                 DB_INT(q->limit), DB_INT(q->offset), DB_TEXT(q->cabin));
	enum store_status st =
	        db_page(res, read_row, sizeof(*out->rows), &rows, &out->count, &out->total);

	out->rows = rows;
	if (st != STORE_OK)
		memset(out, 0, sizeof(*out));
	return st;
}

void store_flight_list_release(struct flight_list *l)
{
	free(l->rows);
	memset(l, 0, sizeof(*l));
}
