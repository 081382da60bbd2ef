/* fuzz_route.c - the route matcher against arbitrary methods and paths. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void nop(struct req *r)
{
	(void)r;
}

static const struct route table[] = {
	{"POST", "/bookings", nop, 0},
	{"GET", "/bookings/:id", nop, 0},
	{"GET", "/bookings/:id/status", nop, 0},
	{"PUT", "/bookings/:id/cancel", nop, 0},
	{"GET", "/flights/:flight/seats/:seat", nop, 0},
	{"GET", "/users/me", nop, 0},
	{NULL, NULL, NULL, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[512];
	struct route_match m;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *path = strchr(buf, ' ');
	const char *method = buf;
	if (path)
		*path++ = '\0';
	else
		path = buf, method = "GET";
	if (route_find(table, method, path, &m) == ROUTE_FOUND) {
		for (int i = 0; i < m.nparams; i++)
			if (strlen(m.params[i].value) >= ROUTE_PARAM_MAX)
				__builtin_trap();
	}
	return 0;
}
