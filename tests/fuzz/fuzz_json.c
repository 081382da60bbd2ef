/* fuzz_json.c - a JSON body through req_json and every field reader. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "field.h"
#include "mem.h"
#include "req.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct worker w = {0};
	struct req r;
	struct field_errors e;
	const char *s;
	int64_t n;
	int b;

	req_init(&r, &w);
	r.body = xmalloc(size + 1);
	memcpy(r.body, data, size);
	r.body[size] = '\0';
	r.body_len = size;
	struct json_object *obj = req_json_or_reply(&r);
	if (obj) {
		field_errors_init(&e);
		field_str(obj, "email", 3, 254, FIELD_REQUIRED, &s, &e);
		field_int64(obj, "flight_id", 1, INT64_MAX, FIELD_REQUIRED, &n, &e);
		field_money(obj, "amount", 100000000, FIELD_OPTIONAL, &n, &e);
		field_bool(obj, "is_active", FIELD_OPTIONAL, &b, &e);
		field_query_paging(r.body, &n, &n, &e);
		field_errors_release(&e);
	}
	req_release(&r);
	return 0;
}
