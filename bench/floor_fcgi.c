/* floor_fcgi.c - benchmark floor: the least a FastCGI pool can do.
 * A master opens a unix socket, forks N children that answer every request
 * with the same small JSON, and on SIGTERM/SIGINT stops them and removes
 * the socket. No routing, no parsing, no logging: what nginx -> libfcgi
 * costs on its own. Not part of the product; built by bench/run.
 * Usage: floor_fcgi SOCKET_PATH [CHILDREN] */
#include <stdio.h>
#include <stdlib.h>

#include <fcgiapp.h>

#include "fcgi_finish.h"
#include "floor_pool.h"

static const char reply[] = "Status: 200 OK\r\n"
                            "Content-Type: application/json\r\n"
                            "\r\n"
                            "{\"status\":\"ok\",\"floor\":\"fcgi\"}";

static void serve(int sock, void *arg)
{
	FCGX_Request r;

	(void)arg;
	FCGX_InitRequest(&r, sock, 0);
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, r.out);
		fcgi_finish(&r);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SOCKET_PATH [CHILDREN]\n", argv[0]);
		return 2;
	}
	return floor_pool_run(argv[1], argc > 2 ? atoi(argv[2]) : 4, NULL, serve, NULL);
}
