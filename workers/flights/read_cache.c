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

void read_cache_purge(const char *urls, int64_t flight_id, const char *origin,
                      const char *destination, const char *date)
{
	char key[40];

	if (urls == NULL || !*urls)
		return;
	snprintf(key, sizeof(key), "%" PRId64, flight_id);
	gateways_add(urls, "PURGE", key, NULL);
	snprintf(key, sizeof(key), "seats/%" PRId64, flight_id);
	gateways_add(urls, "PURGE", key, NULL);
	if (!iata(origin) || !iata(destination))
		return;
	snprintf(key, sizeof(key), "search/%s/%s/", origin, destination);
	gateways_add(urls, "PURGE", key, NULL);
	if (ymd(date)) {
		snprintf(key, sizeof(key), "search/%s/%s/%.10s", origin, destination, date);
		gateways_add(urls, "PURGE", key, NULL);
	}
}
