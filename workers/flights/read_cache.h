/* read_cache.h - the gateway's cache of anonymous flight reads, whose keys
 * the flights service owns (nginx/site.conf.in, $fo_read_key):
 * GET /flights/{id} is kept as "<id>", its seat map as "seats/<id>", a
 * search by origin and destination as "search/<O>/<D>/", with a date as
 * "search/<O>/<D>/<YYYY-MM-DD>". Whoever changes what such a read shows
 * (flights: the flight and its seat layout; bookings: its seats, so its
 * available_seats and seat map) purges the flight's entries on every
 * gateway of CACHE_PURGE_URL after committing and before answering, so the
 * writer's next read shows the change (docs/ARCHITECTURE.md, "Read
 * cache"). */
#ifndef FLIGHTS_READ_CACHE_H
#define FLIGHTS_READ_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "gateways.h"

/* The CACHE_PURGE_URL setting (conf.h) of a pool that purges, read into
 * member of its settings_type: by default this host's gateway
 * publisher port. */
#define CACHE_PURGE_URL_SETTING(settings_type, member)                                             \
	{                                                                                          \
		.name = "CACHE_PURGE_URL", .type = CONF_TEXT,                                      \
		.def = "http://127.0.0.1:8090/flights/cache", .check = gateways_check,             \
		.offset = offsetof(settings_type, member),                                         \
		.help = "where the gateways' read cache of flight reads is purged after a "        \
		        "change: each gateway's publisher port, separated by spaces (the key "     \
		        "is appended)"                                                             \
	}

/* Queue the purges (gateways.h: gateways_send sends them) of flight_id's
 * entry, its seat map's and those of the searches that list it: by origin and
 * destination, with and without the UTC date of departure (date:
 * "YYYY-MM-DD...", only its first 10 characters are read; NULL or
 * malformed: the dated entry is left to its short lifetime). urls: the
 * CACHE_PURGE_URL list (NULL or empty: nothing to purge). */
void read_cache_purge(const char *urls, int64_t flight_id, const char *origin,
                      const char *destination, const char *date);

#endif
