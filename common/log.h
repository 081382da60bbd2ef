/* log.h - one JSON object per line on stderr:
 * {"ts","level","svc","pid","request_id","msg", fields...}.
 * Never pass a password, token or card number as a field. */
#ifndef FO_LOG_H
#define FO_LOG_H

#include <stdio.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Set the service name and the lowest level written. */
void log_init(const char *svc, enum log_level min);
/* Send lines to f instead of stderr (tests). */
void log_set_stream(FILE *f);
/* The request whose id appears in every line until cleared with NULL. */
void log_set_request_id(const char *id);
/* Parse "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s);
/* Write msg with NULL-terminated key, value string pairs. */
void log_write(enum log_level lvl, const char *msg, ...);

#define log_debug(...) log_write(LOG_LVL_DEBUG, __VA_ARGS__, (const char *)NULL)
#define log_info(...)  log_write(LOG_LVL_INFO, __VA_ARGS__, (const char *)NULL)
#define log_warn(...)  log_write(LOG_LVL_WARN, __VA_ARGS__, (const char *)NULL)
#define log_error(...) log_write(LOG_LVL_ERROR, __VA_ARGS__, (const char *)NULL)

#endif
