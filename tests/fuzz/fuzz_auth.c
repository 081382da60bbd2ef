/* fuzz_auth.c - the Authorization header and token verification. No
 * input may verify: the fuzzer does not know the key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "fuzzing-key-0123456789abcdef0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_claims c;
	char *header = xstrndup((const char *)data, size);
	const char *token = auth_bearer(header);

	if (auth_token_verify(key, token ? token : header, 1800000000, &c) == 0)
		__builtin_trap();
	free(header);
	return 0;
}
