/* db.c - one PostgreSQL connection per process. Statements are prepared
 * once per connection (keyed by the address of their constant text) and
 * run with text parameters. When the server has gone away (restart,
 * failover) the connection is re-established and the statement retried
 * once, unless a transaction was open: then the caller sees the error.
 * Behind a transaction pooler (PgBouncer, pool_mode = transaction) the
 * server connection may change between transactions, so nothing of ours
 * lives in the session: a statement outside a transaction is named after
 * its text (see run_pooled), one inside goes unnamed (parse, bind,
 * execute in one round trip), and the statement timeout is the role's,
 * not a startup option (which PgBouncer refuses). */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "db.h"
#include "hash.h"
#include "log.h"
#include "mem.h"

#define PREPARED_MAX 64
#define MIGRATE_LOCK "4242001"

struct db {
	PGconn *conn;
	char *url;
	int timeout_ms;
	int in_tx;
	int pooled; /* behind a transaction pooler: no session state */
	char sqlstate[6];
	int nprepared;
	const char *prepared[PREPARED_MAX];
};

struct db *db_new(const char *url, int timeout_ms)
{
	struct db *d = xcalloc(1, sizeof(*d));

	d->url = xstrdup(url);
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	return d;
}

void db_set_pooled(struct db *d, int pooled)
{
	d->pooled = pooled;
}

int db_pooled(const struct db *d)
{
	return d->pooled;
}

void db_free(struct db *d)
{
	if (d == NULL)
		return;
	if (d->conn)
		PQfinish(d->conn);
	free(d->url);
	free(d);
}

static void drop(struct db *d)
{
	if (d->conn)
		PQfinish(d->conn);
	d->conn = NULL;
	d->nprepared = 0;
	d->in_tx = 0;
}

static int connect_now(struct db *d)
{
	char timeout[16], options[96];
	const char *keys[] = {"dbname",           "connect_timeout", "keepalives",
	                      "application_name", "options",         NULL};
	const char *vals[] = {d->url, timeout, "1", "flightops", options, NULL};

	snprintf(timeout, sizeof(timeout), "%d", d->timeout_ms < 2000 ? 2 : d->timeout_ms / 1000);
	snprintf(options, sizeof(options), "-c statement_timeout=%d -c client_min_messages=warning",
	         d->timeout_ms);
	if (d->pooled) /* PgBouncer: "unsupported startup parameter: options" */
		keys[4] = vals[4] = NULL;
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (d->conn && PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	log_warn("database connect failed", "error",
	         d->conn ? PQerrorMessage(d->conn) : "out of memory");
	drop(d);
	return -1;
}

static int ready(struct db *d)
{
	if (d->conn && PQstatus(d->conn) == CONNECTION_OK)
		return 0;
	drop(d);
	return connect_now(d);
}

/* The statement name for sql on this connection, preparing it first;
 * NULL when the cache is full (run it unnamed then). */
static const char *statement(struct db *d, const char *sql, int n, char *name, size_t namelen)
{
	for (int i = 0; i < d->nprepared; i++) {
		if (d->prepared[i] == sql) {
			snprintf(name, namelen, "s%d", i);
			return name;
		}
	}
	if (d->nprepared == PREPARED_MAX || d->pooled)
		return NULL;
	snprintf(name, namelen, "s%d", d->nprepared);
	PGresult *res = PQprepare(d->conn, name, sql, n, NULL);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok)
		return NULL;
	d->prepared[d->nprepared++] = sql;
	return name;
}

/* The SQLSTATE of a failed result, or "". */
static const char *state_of(const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return st ? st : "";
}

#define NO_SUCH_STATEMENT "26000" /* invalid_sql_statement_name */
#define STATEMENT_EXISTS  "42P05" /* duplicate_prepared_statement */

/* The first result of a pipeline's next command (or its sync), the
 * command's other results (none, normally) cleared. */
static PGresult *take(PGconn *c)
{
	PGresult *first = PQgetResult(c), *more;

	if (first == NULL || PQresultStatus(first) == PGRES_PIPELINE_SYNC)
		return first;
	while ((more = PQgetResult(c)) != NULL)
		PQclear(more);
	return first;
}

/* Prepare sql as name and run it in one unit (Parse, Bind, Execute,
 * Sync: a transaction pooler keeps it on one server connection). The
 * run's result, or the prepare's error. */
static PGresult *prepare_and_run(struct db *d, const char *name, const char *sql, int n,
                                 const char *const *params)
{
	PGresult *prep = NULL, *run = NULL;

	if (PQenterPipelineMode(d->conn) != 1)
		return PQexecParams(d->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQsendPrepare(d->conn, name, sql, n, NULL) == 1 &&
	    PQsendQueryPrepared(d->conn, name, n, params, NULL, NULL, 0) == 1 &&
	    PQpipelineSync(d->conn) == 1) {
		prep = take(d->conn);
		run = take(d->conn);
		PQclear(take(d->conn)); /* the sync */
	}
	if (PQexitPipelineMode(d->conn) != 1) {
		/* results left over: this connection is of no more use */
		log_warn("database pipeline left unfinished", "error", PQerrorMessage(d->conn));
		PQclear(run);
		run = NULL;
		drop(d);
	}
	if (prep && PQresultStatus(prep) != PGRES_COMMAND_OK) {
		PQclear(run);
		return prep;
	}
	PQclear(prep);
	return run;
}

/* Behind a transaction pooler, outside a transaction: the statement goes
 * by a name made from a hash of its text, so whichever server connection
 * the pooler picks may already hold it, prepared there by any client of
 * any host (the same text is the same statement); where it does not, it
 * is prepared and run in one unit. Inside a transaction a failure would
 * end it, so there (and for statements without parameters, BEGIN and
 * COMMIT among them) statements go unnamed. */
static PGresult *run_pooled(struct db *d, const char *sql, int n, const char *const *params)
{
	char name[24];

	if (d->in_tx || n == 0)
		return PQexecParams(d->conn, sql, n, NULL, params, NULL, NULL, 0);
	snprintf(name, sizeof(name), "fo_%016" PRIx64, hash_str(HASH_SEED, sql));
	for (int attempt = 0; attempt < 3; attempt++) {
		PGresult *res = PQexecPrepared(d->conn, name, n, params, NULL, NULL, 0);
		if (strcmp(state_of(res), NO_SUCH_STATEMENT) != 0)
			return res;
		PQclear(res);
		res = prepare_and_run(d, name, sql, n, params);
		/* the unit landed where another client had prepared it: again */
		if (strcmp(state_of(res), STATEMENT_EXISTS) != 0)
			return res;
		PQclear(res);
	}
	return PQexecParams(d->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static PGresult *run_once(struct db *d, const char *sql, int n, const char *const *params)
{
	char name[16];

	if (d->pooled)
		return run_pooled(d, sql, n, params);
	const char *stmt = statement(d, sql, n, name, sizeof(name));
	if (stmt)
		return PQexecPrepared(d->conn, stmt, n, params, NULL, NULL, 0);
	return PQexecParams(d->conn, sql, n, NULL, params, NULL, NULL, 0);
}

static int result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

static void record_failure(struct db *d, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(d->sqlstate, sizeof(d->sqlstate), "%s", state ? state : "");
	if (state == NULL || strncmp(state, "23", 2) != 0)
		log_warn("database statement failed", "sqlstate", d->sqlstate, "error",
		         d->conn ? PQerrorMessage(d->conn) : "not connected");
}

PGresult *db_exec(struct db *d, const char *sql, int n, const char *const *params)
{
	d->sqlstate[0] = '\0';
	for (int attempt = 0; attempt < 2; attempt++) {
		int was_tx = d->in_tx;
		if (ready(d) < 0)
			return NULL;
		PGresult *res = run_once(d, sql, n, params);
		if (result_ok(res))
			return res;
		int lost = PQstatus(d->conn) != CONNECTION_OK;
		if (lost && attempt == 0 && !was_tx) {
			PQclear(res);
			drop(d);
			continue;
		}
		record_failure(d, res);
		PQclear(res);
		if (lost)
			drop(d);
		return NULL;
	}
	return NULL;
}

PGresult *db_exec_args(struct db *d, const char *sql, const struct db_arg *args, int n)
{
	char nums[DB_ARGS_MAX][24];
	const char *p[DB_ARGS_MAX];

	if (n > DB_ARGS_MAX)
		abort(); /* a programming error, caught by the first test that runs it */
	for (int i = 0; i < n; i++) {
		p[i] = args[i].kind == DB_ARG_TEXT ? args[i].text : NULL;
		if (args[i].kind == DB_ARG_INT) {
			db_fmt_int(nums[i], sizeof(nums[i]), args[i].num);
			p[i] = nums[i];
		}
	}
	return db_exec(d, sql, n, p);
}

enum store_status db_do(PGresult *res)
{
	PQclear(res);
	return res ? STORE_OK : STORE_ERROR;
}

int db_run(struct db *d, const char *sql)
{
	PGresult *res = db_exec(d, sql, 0, NULL);

	if (strncasecmp(sql, "BEGIN", 5) == 0)
		d->in_tx = res != NULL;
	else if (strncasecmp(sql, "COMMIT", 6) == 0 || strncasecmp(sql, "ROLLBACK", 8) == 0)
		d->in_tx = 0;
	PQclear(res);
	return res ? 0 : -1;
}

const char *db_sqlstate(const struct db *d)
{
	return d->sqlstate;
}

int db_ping(struct db *d)
{
	PGresult *res = db_exec(d, "SELECT 1", 0, NULL);

	PQclear(res);
	return res ? 0 : -1;
}

int64_t db_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void db_text(char *dst, size_t len, const PGresult *res, int row, int col)
{
	snprintf(dst, len, "%s", PQgetvalue(res, row, col));
}

int64_t db_next_int(struct db_row *c)
{
	return db_int(c->res, c->row, c->col++);
}

void db_next_text(struct db_row *c, char *dst, size_t len)
{
	db_text(dst, len, c->res, c->row, c->col++);
}

void db_fmt_int(char *out, size_t len, int64_t v)
{
	snprintf(out, len, "%" PRId64, v);
}

enum store_status db_one(PGresult *res, db_row_fn read, void *out)
{
	if (res == NULL)
		return STORE_ERROR;
	enum store_status st = PQntuples(res) > 0 ? STORE_OK : STORE_NOT_FOUND;
	if (st == STORE_OK)
		read(res, 0, out);
	PQclear(res);
	return st;
}

enum store_status db_all(PGresult *res, db_row_fn read, size_t size, void **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (res == NULL)
		return STORE_ERROR;
	*n = PQntuples(res);
	char *rows = xcalloc((size_t)(*n ? *n : 1), size);
	for (int i = 0; i < *n; i++)
		read(res, i, rows + (size_t)i * size);
	PQclear(res);
	*out = rows;
	return STORE_OK;
}

enum store_status db_page(PGresult *res, db_row_fn read, size_t size, void **out, int *n,
                          int64_t *total)
{
	*total = 0;
	if (res && PQntuples(res) > 0) {
		*total = db_int(res, 0, PQnfields(res) - 1);
		if (PQgetisnull(res, 0, 0)) {
			PQclear(res);
			res = NULL;
			*out = xcalloc(1, size);
			*n = 0;
			return STORE_OK;
		}
	}
	return db_all(res, read, size, out, n);
}

enum store_status db_backlog(PGresult *res, int64_t *count, double *oldest_seconds)
{
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return STORE_ERROR;
	}
	*count = db_int(res, 0, 0);
	*oldest_seconds = strtod(PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return STORE_OK;
}

static int is_migration(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] >= '0' && e->d_name[0] <= '9' && n > 4 &&
	       strcmp(e->d_name + n - 4, ".sql") == 0;
}

static int read_file(const char *path, struct buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	int bad = ferror(f);
	fclose(f);
	return bad ? -1 : 0;
}

static int applied(struct db *d, const char *version)
{
	const char *p[] = {version};
	PGresult *res = db_exec(d, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p);

	if (res == NULL)
		return -1;
	int found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/* Run one migration file and record it as version (inside the
 * transaction of db_migrate_all). */
static int apply(struct db *d, const char *dir, const char *file, const char *version)
{
	struct buf path, sql;
	const char *p[] = {version};
	int rc = -1;

	buf_init(&path);
	buf_init(&sql);
	buf_printf(&path, "%s/%s", dir, file);
	if (read_file(path.data, &sql) < 0) {
		log_error("cannot read migration", "file", path.data);
		goto out;
	}
	PGresult *res = PQexec(d->conn, buf_str(&sql));
	if (!result_ok(res)) {
		log_error("migration failed", "file", file, "error", PQerrorMessage(d->conn));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	res = db_exec(d, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, p);
	if (res == NULL)
		goto out;
	PQclear(res);
	log_info("migration applied", "file", file);
	rc = 1;
out:
	buf_release(&path);
	buf_release(&sql);
	return rc;
}

/* Apply the files of dir not yet recorded; each is recorded as
 * prefix + file name. The number applied, or -1. */
static int apply_dir(struct db *d, const char *dir, const char *prefix)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_migration, alphasort), count = 0;
	struct buf version;

	if (n < 0) {
		log_error("cannot read migrations folder", "dir", dir);
		return -1;
	}
	buf_init(&version);
	for (int i = 0; i < n && count >= 0; i++) {
		buf_reset(&version);
		buf_printf(&version, "%s%s", prefix, list[i]->d_name);
		int done = applied(d, buf_str(&version));
		if (done == 0)
			done = apply(d, dir, list[i]->d_name, buf_str(&version)) < 0 ? -1 : 0;
		count = done < 0 ? -1 : count + (done == 0);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	buf_release(&version);
	return count;
}

/* The shared schemas, then dir: the number applied, or -1. */
static int apply_every(struct db *d, const char *dir, const char *const *schemas)
{
	struct buf path, prefix;
	int count = 0;

	buf_init(&path);
	buf_init(&prefix);
	for (int i = 0; schemas && schemas[i] && count >= 0; i++) {
		buf_reset(&path);
		buf_reset(&prefix);
		buf_printf(&path, "%s/../shared/%s", dir, schemas[i]);
		buf_printf(&prefix, "%s/", schemas[i]);
		int n = apply_dir(d, buf_str(&path), buf_str(&prefix));
		count = n < 0 ? -1 : count + n;
	}
	if (count >= 0) {
		int n = apply_dir(d, dir, "");
		count = n < 0 ? -1 : count + n;
	}
	buf_release(&path);
	buf_release(&prefix);
	return count;
}

int db_migrate_all(struct db *d, const char *dir, const char *const *schemas)
{
	int rc = -1;

	/* One transaction for them all, under a transaction-level lock: a
	 * second host starting at once waits, then finds them applied; a
	 * failure leaves none of this run applied; and a transaction pooler
	 * keeps the whole of it on one server connection. */
	if (db_run(d, "BEGIN") < 0)
		return -1;
	if (db_run(d, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")") == 0 &&
	    db_run(d, "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, "
	              "applied_at timestamptz NOT NULL DEFAULT now())") == 0)
		rc = apply_every(d, dir, schemas);
	if (rc < 0 || db_run(d, "COMMIT") < 0) {
		db_run(d, "ROLLBACK");
		return -1;
	}
	return rc;
}

int db_migrate(struct db *d, const char *dir)
{
	return db_migrate_all(d, dir, NULL);
}

void db_text_array(struct buf *b, const char *const *items, int n)
{
	buf_addc(b, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		buf_addc(b, '"');
		for (const char *s = items[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_addc(b, '\\');
			buf_addc(b, *s);
		}
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

void db_int_array(struct buf *b, const int64_t *items, int n)
{
	buf_addc(b, '{');
	for (int i = 0; i < n; i++)
		buf_printf(b, "%s%" PRId64, i ? "," : "", items[i]);
	buf_addc(b, '}');
}
