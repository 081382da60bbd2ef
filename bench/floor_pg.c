/* floor_pg.c - benchmark floor: FastCGI plus one PostgreSQL round trip.
 * Like floor_fcgi, but each child holds one libpq connection with a
 * prepared statement and answers every request with the first row of
 * SQL (one $1 parameter, bound to ID) as a JSON object of strings.
 * No routing, no auth, no logging. Not part of the product.
 * Usage: floor_pg SOCKET_PATH CHILDREN DATABASE_URL SQL ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

#include "fcgi_finish.h"
#include "floor_pool.h"

struct floor_pg {
	const char *url;
	const char *sql;
	const char *id;
	PGconn *conn;
};

static int connect_db(void *arg)
{
	struct floor_pg *f = arg;
	PGresult *res;
	int ok;

	f->conn = PQconnectdb(f->url);
	if (PQstatus(f->conn) != CONNECTION_OK) {
		fprintf(stderr, "floor_pg: connect: %s", PQerrorMessage(f->conn));
		return -1;
	}
	res = PQprepare(f->conn, "q", f->sql, 1, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "floor_pg: prepare: %s", PQerrorMessage(f->conn));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Append s as a JSON string body; the floor's values are plain text. */
static int add_str(char *out, size_t cap, size_t len, const char *s)
{
	for (; *s && len + 7 < cap; s++) {
		if (*s == '"' || *s == '\\')
			out[len++] = '\\';
		out[len++] = *s;
	}
	return (int)len;
}

static int row_json(PGresult *res, char *out, size_t cap)
{
	int len = 0, i;

	len += snprintf(out, cap, "{");
	for (i = 0; i < PQnfields(res) && (size_t)len + 64 < cap; i++) {
		len += snprintf(out + len, cap - len, "%s\"%s\":\"", i ? "," : "", PQfname(res, i));
		len = add_str(out, cap, (size_t)len, PQgetvalue(res, 0, i));
		len += snprintf(out + len, cap - len, "\"");
	}
	len += snprintf(out + len, cap - len, "}");
	return len;
}

static void serve(int sock, void *arg)
{
	struct floor_pg *f = arg;
	const char *params[1] = {f->id};
	char body[4096], head[128];
	FCGX_Request r;
	PGresult *res;
	int n, status;

	FCGX_InitRequest(&r, sock, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		res = PQexecPrepared(f->conn, "q", 1, params, NULL, NULL, 0);
		status = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? 200 : 500;
		n = status == 200
		            ? row_json(res, body, sizeof(body))
		            : snprintf(body, sizeof(body), "{\"detail\":\"floor query failed\"}");
		PQclear(res);
		snprintf(head, sizeof(head), "Status: %d\r\nContent-Type: application/json\r\n\r\n",
		         status);
		FCGX_PutS(head, r.out);
		FCGX_PutStr(body, n, r.out);
		fcgi_finish(&r);
	}
}

int main(int argc, char **argv)
{
	struct floor_pg f = {0};

	if (argc != 6) {
		fprintf(stderr, "usage: %s SOCKET_PATH CHILDREN DATABASE_URL SQL ID\n", argv[0]);
		return 2;
	}
	f.url = argv[3];
	f.sql = argv[4];
	f.id = argv[5];
	return floor_pool_run(argv[1], atoi(argv[2]), connect_db, serve, &f);
}
