/* db.h - one PostgreSQL connection per process, parameterised SQL only.
 * A lost connection is reset and the statement retried once, so a server
 * restart costs no request. Stores include libpq to read results. */
#ifndef FO_DB_H
#define FO_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store_status.h"

struct buf;
struct db;

/* Append items[0..n) as a PostgreSQL array literal for a ::text[]
 * parameter: every element quoted, " and backslash escaped ("{}" when n
 * is 0). One parameter carries a whole list (= ANY($1::text[]), unnest). */
void db_text_array(struct buf *b, const char *const *items, int n);
/* The same for a ::bigint[] parameter. */
void db_int_array(struct buf *b, const int64_t *items, int n);

/* A handle for url; connects lazily, so a server that is down now is
 * not an error here. timeout_ms bounds connect and each statement. */
struct db *db_new(const char *url, int timeout_ms);
void db_free(struct db *d);
/* Whether the connection goes through a transaction pooler (PgBouncer in
 * transaction mode, DATABASE_POOLER=transaction): then no statement is
 * kept prepared and nothing may outlive a transaction (no session
 * advisory lock, no SET, no LISTEN). Set before the first statement. */
void db_set_pooled(struct db *d, int pooled);
int db_pooled(const struct db *d);

/* Run sql with n text parameters (NULL = SQL NULL). sql must be a string
 * constant: its address names the statement prepared for it. Returns a result of
 * status PGRES_TUPLES_OK or PGRES_COMMAND_OK, to PQclear; or NULL on error,
 * with db_sqlstate() telling why ("" when the server was unreachable). */
PGresult *db_exec(struct db *d, const char *sql, int n, const char *const *params);
/* A typed parameter of db_query: its value as text, an integer (sent
 * as text), or SQL NULL. */
struct db_arg {
	enum { DB_ARG_TEXT, DB_ARG_INT, DB_ARG_NULL } kind;
	const char *text;
	int64_t num;
};
#define DB_TEXT(v) ((struct db_arg){.kind = DB_ARG_TEXT, .text = (v)}) /* NULL: SQL NULL */
#define DB_INT(v)  ((struct db_arg){.kind = DB_ARG_INT, .num = (int64_t)(v)})
/* An id that may be absent: 0 is SQL NULL. */
#define DB_ID(v)    ((v) ? DB_INT(v) : (struct db_arg){.kind = DB_ARG_NULL})
#define DB_ARGS_MAX 16

/* db_exec with typed parameters: a store states its SQL and its values,
 *   db_query(db, "SELECT ... WHERE id = $1 AND owner = $2", DB_INT(id), DB_INT(owner))
 * At least one parameter, at most DB_ARGS_MAX; use db_exec for none. */
#define db_query(db, sql, ...)                                                                     \
	db_exec_args(db, sql, (const struct db_arg[]){__VA_ARGS__},                                \
	             (int)(sizeof((const struct db_arg[]){__VA_ARGS__}) / sizeof(struct db_arg)))
PGresult *db_exec_args(struct db *d, const char *sql, const struct db_arg *args, int n);
/* Run a statement whose rows do not matter: STORE_OK or STORE_ERROR. */
enum store_status db_do(PGresult *res);

/* Run constant sql (no parameters); 0 or -1. For BEGIN/COMMIT/ROLLBACK:
 * while a transaction is open a lost connection is not retried. */
int db_run(struct db *d, const char *sql);
/* SQLSTATE of the last failure, "" when none or not from the server. */
const char *db_sqlstate(const struct db *d);
/* 0 when "SELECT 1" succeeds, else -1. */
int db_ping(struct db *d);

/* Reading results and writing parameters (text format). */
/* The value at row, col as an int64 (0 when NULL or not a number). */
int64_t db_int(const PGresult *res, int row, int col);
/* Copy the value at row, col into dst (size len, truncated, "" when NULL). */
void db_text(char *dst, size_t len, const PGresult *res, int row, int col);
/* Format v as a parameter into out (>= 21 bytes). */
void db_fmt_int(char *out, size_t len, int64_t v);

/* Reading a row column after column, so a row reader names fields, not
 * column numbers:
 *   struct db_row c = DB_ROW(res, row);
 *   b->id = db_next_int(&c);
 *   DB_NEXT_TEXT(&c, b->reference);                                    */
struct db_row {
	const PGresult *res;
	int row, col;
};
#define DB_ROW(res, row) ((struct db_row){(res), (row), 0})
/* The next column as an int64 (0 when NULL or not a number). */
int64_t db_next_int(struct db_row *c);
/* The next column copied into dst (size len, truncated, "" when NULL). */
void db_next_text(struct db_row *c, char *dst, size_t len);
#define DB_NEXT_TEXT(c, array) db_next_text((c), (array), sizeof(array))

/* Copy row `row` of res into the struct at out. */
typedef void (*db_row_fn)(const PGresult *res, int row, void *out);
/* The first row of res read into out: STORE_OK, STORE_NOT_FOUND (no row)
 * or STORE_ERROR (res NULL: the statement failed). Clears res. */
enum store_status db_one(PGresult *res, db_row_fn read, void *out);
/* Every row of res read into a malloc'd array (*out, to free) of *n
 * structs of size bytes: STORE_OK or STORE_ERROR. Clears res. */
enum store_status db_all(PGresult *res, db_row_fn read, size_t size, void **out, int *n);

/* A page of a list and the count of every matching row, in one
 * statement. cte is "SELECT <columns, id first> FROM ... WHERE ...",
 * order its ORDER BY, limit and offset the parameters ("$4", "$5"). The
 * statement always answers one row at least: the total is its last
 * column; a page with no rows has NULL in the first column. */
#define DB_PAGE_SQL(cte, order, limit, offset)                                                     \
	"WITH m AS (" cte ") SELECT p.*, t.total FROM (SELECT count(*) AS total FROM m) t "        \
	"LEFT JOIN LATERAL (SELECT * FROM m " order " LIMIT " limit " OFFSET " offset ") p "       \
	"ON true"
/* The rows of a DB_PAGE_SQL result read like db_all, and the total:
 * STORE_OK or STORE_ERROR. Clears res. */
enum store_status db_page(PGresult *res, db_row_fn read, size_t size, void **out, int *n,
                          int64_t *total);

/* A backlog: how many rows of from_where ("table WHERE condition", a
 * constant) and the age in seconds of the oldest by created_at (0: none).
 * Read with db_backlog: STORE_OK or STORE_ERROR; clears res. */
#define DB_BACKLOG_SQL(from_where)                                                                 \
	"SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 "       \
	"FROM " from_where
enum store_status db_backlog(PGresult *res, int64_t *count, double *oldest_seconds);

/* Apply sql/<service>/NNN_*.sql files not yet in schema_migrations, in
 * name order, all in one transaction under a transaction-level advisory
 * lock (all or none of them; a pooler keeps it on one connection).
 * Returns the number applied, or -1 (logged). */
int db_migrate(struct db *d, const char *dir);
/* Apply the shared schemas named in schemas (NULL-terminated, may be
 * NULL), each from sql/shared/<name>/ next to dir, then dir itself, as
 * db_migrate does. A shared file is recorded as "<name>/<file>". */
int db_migrate_all(struct db *d, const char *dir, const char *const *schemas);

#endif
