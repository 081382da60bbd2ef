/* reply.h - build the response of a request; serve.c writes it once,
 * after the handler returns. The last reply_* call wins. */
#ifndef FO_REPLY_H
#define FO_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "store_status.h"

struct req;
struct json_object;
struct field_errors;

/* Reply status with obj serialised; takes ownership of obj (may be NULL
 * for "null"). */
void reply_json(struct req *r, int status, struct json_object *obj);
/* The bytes reply_json sends for obj (owned by obj), their length in *len. */
const char *reply_json_text(struct json_object *obj, size_t *len);
/* Reply status with {"detail": detail}. */
void reply_error(struct req *r, int status, const char *detail);
/* Reply 422 with {"detail": [errors...]}; e is released. */
void reply_invalid(struct req *r, struct field_errors *e);
/* Reply status with no body (204). */
void reply_empty(struct req *r, int status);
/* Reply status with a body of type ctype, copied. */
void reply_raw(struct req *r, int status, const char *ctype, const char *body, size_t len);
/* Reply status with a body of type ctype that the caller then writes
 * into the buffer returned (emptied): a large body built piece by piece
 * (a seat map, a list page) goes out without a copy. */
struct buf *reply_body(struct req *r, int status, const char *ctype);
/* Add a response header. name and value must not contain CR or LF (the
 * header is dropped and logged if they do). */
void reply_header(struct req *r, const char *name, const char *value);
/* The one mapping from a store's answer to a reply: 0 when st is
 * STORE_OK (nothing replied); else -1 after replying 404 not_found
 * (STORE_NOT_FOUND), 409 conflict (STORE_CONFLICT) or 503 "Database
 * unavailable" (STORE_ERROR). A NULL detail is the status's reason. */
int reply_unless_ok(struct req *r, enum store_status st, const char *not_found,
                    const char *conflict);
/* The detail of a 503 for a database that did not answer. */
#define REPLY_DB_DOWN "Database unavailable"

/* Turns one stored row into its JSON (caller of reply_rows owns none of it). */
typedef struct json_object *(*reply_row_fn)(const void *row);
/* Reply 200 with a JSON array of the n rows (each size bytes, at rows)
 * made by to_json, and X-Total-Count: total. */
void reply_rows(struct req *r, const void *rows, int n, size_t size, reply_row_fn to_json,
                int64_t total);

/* The reason phrase of status ("Unprocessable Entity"). */
const char *reply_reason(int status);

#endif
