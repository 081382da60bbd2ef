/* metrics.h - Prometheus counters and histograms in MAP_SHARED memory,
 * mapped by the master before it forks, so /metrics counts every process
 * of the pool. Updates are lock-free atomics; a full table drops new
 * series (and counts them in metrics_dropped_series_total). */
#ifndef FO_METRICS_H
#define FO_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct metrics;

/* Map a shared table with room for slots series. NULL if mmap fails. */
struct metrics *metrics_new(size_t slots);
void metrics_free(struct metrics *m);

/* Count one HTTP request: http_requests_total{method,route,status} and
 * http_request_duration_seconds{method,route,status} histogram. */
void metrics_http(struct metrics *m, const char *method, const char *route, int status,
                  double seconds);
/* Add 1 to counter name{labels}; labels is the inside of the braces,
 * e.g. "status=\"confirmed\"", or "" for none. */
void metrics_inc(struct metrics *m, const char *name, const char *labels);
/* Current value of counter name{labels}; 0 when absent. */
uint64_t metrics_get(struct metrics *m, const char *name, const char *labels);
/* Append the whole table in Prometheus text format 0.0.4. */
void metrics_render(struct metrics *m, struct buf *out);
/* Append one unlabelled gauge (# HELP, # TYPE and its sample) to out,
 * for values read at scrape time rather than kept in the table. */
void metrics_gauge(struct buf *out, const char *name, const char *help, double value);

#endif
