/* reply.h - build the response of a request; serve.c writes it once,
 * after the handler returns. The last reply_* call wins. */
#ifndef FO_REPLY_H
#define FO_REPLY_H

#include <stddef.h>

struct req;
struct json_object;
struct field_errors;

/* Reply status with obj serialised; takes ownership of obj (may be NULL
 * for "null"). */
void reply_json(struct req *r, int status, struct json_object *obj);
/* Reply status with {"detail": detail}. */
void reply_error(struct req *r, int status, const char *detail);
/* Reply 422 with {"detail": [errors...]}; e is released. */
void reply_invalid(struct req *r, struct field_errors *e);
/* Reply status with no body (204). */
void reply_empty(struct req *r, int status);
/* Reply status with a body of type ctype, copied. */
void reply_raw(struct req *r, int status, const char *ctype, const char *body, size_t len);
/* Add a response header. name and value must not contain CR or LF (the
 * header is dropped and logged if they do). */
void reply_header(struct req *r, const char *name, const char *value);
/* The reason phrase of status ("Unprocessable Entity"). */
const char *reply_reason(int status);

#endif
