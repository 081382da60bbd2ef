/* test_mem.c - mem.h: allocation wrappers never return NULL; exhaustion
 * aborts the process (checked in a forked child). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem.h"

/* Under AddressSanitizer a huge allocation must return NULL, as glibc's
 * does, so that the wrapper (not ASan) is what ends the child. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void test_xmalloc(void **state)
{
	(void)state;
	char *p = xmalloc(100);
	assert_non_null(p);
	memset(p, 'a', 100);
	free(p);
	/* zero bytes: any non-NULL pointer or a pointer free() accepts */
	free(xmalloc(0));
}

static void test_xcalloc_zeroed(void **state)
{
	(void)state;
	unsigned char *p = xcalloc(64, 16);
	assert_non_null(p);
	for (size_t i = 0; i < 64 * 16; i++)
		assert_int_equal(p[i], 0);
	free(p);
}

static void test_xrealloc_keeps_contents(void **state)
{
	(void)state;
	char *p = xmalloc(4);
	memcpy(p, "abc", 4);
	p = xrealloc(p, 1 << 20);
	assert_non_null(p);
	assert_string_equal(p, "abc");
	p[(1 << 20) - 1] = 'z';
	free(p);
	p = xrealloc(NULL, 8);
	assert_non_null(p);
	free(p);
}

static void test_xstrdup(void **state)
{
	(void)state;
	const char *s = "hello, world";
	char *d = xstrdup(s);
	assert_non_null(d);
	assert_ptr_not_equal(d, s);
	assert_string_equal(d, s);
	free(d);
	d = xstrdup("");
	assert_string_equal(d, "");
	free(d);
}

static void test_xstrndup(void **state)
{
	(void)state;
	char *d = xstrndup("abcdef", 3);
	assert_string_equal(d, "abc");
	free(d);
	d = xstrndup("ab", 10);
	assert_string_equal(d, "ab");
	free(d);
	d = xstrndup("abc", 0);
	assert_string_equal(d, "");
	free(d);
	/* s need not be NUL-terminated beyond n bytes */
	char raw[4] = {'w', 'x', 'y', 'z'};
	d = xstrndup(raw, 4);
	assert_string_equal(d, "wxyz");
	free(d);
}

/* Run fn in a child, which must die of abort(). */
static void expect_child_dies(void (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* "aborts": killed by SIGABRT, not an exit and not another crash */
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void huge_malloc(void)
{
	free(xmalloc(SIZE_MAX - 16));
}

static void huge_calloc(void)
{
	/* n * size overflows: must not succeed with a small block */
	free(xcalloc(SIZE_MAX / 2 + 2, 2));
}

static void huge_realloc(void)
{
	char *p = xmalloc(8);
	free(xrealloc(p, SIZE_MAX - 16));
}

static void test_exhaustion_aborts(void **state)
{
	(void)state;
	expect_child_dies(huge_malloc);
	expect_child_dies(huge_calloc);
	expect_child_dies(huge_realloc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_xmalloc),
	        cmocka_unit_test(test_xcalloc_zeroed),
	        cmocka_unit_test(test_xrealloc_keeps_contents),
	        cmocka_unit_test(test_xstrdup),
	        cmocka_unit_test(test_xstrndup),
	        cmocka_unit_test(test_exhaustion_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
