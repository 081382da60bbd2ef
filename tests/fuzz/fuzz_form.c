/* fuzz_form.c - form and query-string decoding of untrusted bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	const char *s = (const char *)data;

	if (form_get(s, size, "username", out, sizeof(out)) > 0 && strlen(out) >= sizeof(out))
		__builtin_trap();
	form_get(s, size, "password", out, sizeof(out));
	long n = form_decode(s, size, out, sizeof(out));
	if (n >= (long)sizeof(out))
		__builtin_trap();
	return 0;
}
