/* db.h - one PostgreSQL connection per process, parameterised SQL only.
 * A lost connection is reset and the statement retried once, so a server
 * restart costs no request. Stores include libpq to read results. */
#ifndef FO_DB_H
#define FO_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store_status.h"

struct db;

/* A handle for url; connects lazily, so a server that is down now is
 * not an error here. timeout_ms bounds connect and each statement. */
struct db *db_new(const char *url, int timeout_ms);
void db_free(struct db *d);

/* Run sql with n text parameters (NULL = SQL NULL). sql must be a string
 * constant: its address names the statement prepared for it. Returns a result of
 * status PGRES_TUPLES_OK or PGRES_COMMAND_OK, to PQclear; or NULL on error,
 * with db_sqlstate() telling why ("" when the server was unreachable). */
PGresult *db_exec(struct db *d, const char *sql, int n, const char *const *params);
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

/* Copy row `row` of res into the struct at out. */
typedef void (*db_row_fn)(const PGresult *res, int row, void *out);
/* The first row of res read into out: STORE_OK, STORE_NOT_FOUND (no row)
 * or STORE_ERROR (res NULL: the statement failed). Clears res. */
enum store_status db_one(PGresult *res, db_row_fn read, void *out);
/* Every row of res read into a malloc'd array (*out, to free) of *n
 * structs of size bytes: STORE_OK or STORE_ERROR. Clears res. */
enum store_status db_all(PGresult *res, db_row_fn read, size_t size, void **out, int *n);

/* Apply sql/<service>/NNN_*.sql files not yet in schema_migrations, in
 * name order, each in its own transaction, under an advisory lock.
 * Returns the number applied, or -1 (logged). */
int db_migrate(struct db *d, const char *dir);

#endif
