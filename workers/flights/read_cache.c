/* read_cache.c - purging the gateway's read cache (read_cache.h). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gateways.h"
#include "read_cache.h"

static int iata(const char *s)
{
	return s && strlen(s) == 3 && isupper((unsigned char)s[0]) &&
	       isupper((unsigned char)s[1]) && isupper((unsigned char)s[2]);
}

static int ymd(const char *s)
{
	static const char shape[] = "dddd-dd-dd";

	if (s == NULL)
		return 0;
	for (int i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return 0;
	return 1;
}

void read_cache_purge(struct gateways *g, const char *urls, int64_t flight_id, const char *origin,
                      const char *destination, const char *date)
{
	char id[24], route[24], dated[40];
	const char *keys[3] = {id, route, dated};
	int n = 1;

	if (urls == NULL || !*urls)
		return;
	snprintf(id, sizeof(id), "%" PRId64, flight_id);
	if (iata(origin) && iata(destination)) {
		snprintf(route, sizeof(route), "search/%s/%s/", origin, destination);
		n = 2;
		if (ymd(date)) {
			snprintf(dated, sizeof(dated), "search/%s/%s/%.10s", origin, destination,
			         date);
			n = 3;
		}
	}
	gateways_purge(g, urls, keys, n);
}
