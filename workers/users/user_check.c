/* user_check.c - is a token's user still there and active, asked of the
 * users pool (see user_check.h). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>

#include "peer.h"
#include "user_check.h"

int user_check_active(struct worker *w, int64_t uid, const char *request_id)
{
	char path[64];
	struct http_response resp;
	int active = -1;

	snprintf(path, sizeof(path), "/internal/users/%" PRId64, uid);
	if (peer_call(w, "users", "GET", path, request_id, NULL, &resp) == 0) {
		if (resp.status == 404) {
			active = 0;
		} else if (resp.status == 200) {
			struct json_object *o = http_response_json(&resp), *v;
			if (o && json_object_object_get_ex(o, "is_active", &v) &&
			    json_object_is_type(v, json_type_boolean))
				active = json_object_get_boolean(v) ? 1 : 0;
			json_object_put(o);
		}
	}
	http_response_release(&resp);
	return active;
}
