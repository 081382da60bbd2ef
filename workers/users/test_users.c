/* test_users.c - the pure input rules of the users service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "users.h"

static void email_rules(void **state)
{
	(void)state;
	assert_true(users_email_valid("a@example.com"));
	assert_true(users_email_valid("first.last+tag@sub.example.co.uk"));
	assert_false(users_email_valid("plain"));
	assert_false(users_email_valid("@example.com"));
	assert_false(users_email_valid("a@"));
	assert_false(users_email_valid("a@localhost"));
	assert_false(users_email_valid("a@@example.com"));
	assert_false(users_email_valid("a b@example.com"));
	assert_false(users_email_valid("a@exa mple.com"));
	assert_false(users_email_valid("a@example..com"));
	assert_false(users_email_valid("a@example.com."));
	assert_false(users_email_valid("a\"b@example.com"));
	assert_false(users_email_valid(
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.io"));
}

static void username_rules(void **state)
{
	(void)state;
	assert_true(users_username_valid("bob"));
	assert_true(users_username_valid("Bob_the.builder-2"));
	assert_true(users_username_valid("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(users_username_valid("ab"));
	assert_false(users_username_valid("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(users_username_valid("bob smith"));
	assert_false(users_username_valid("bob'--"));
	assert_false(users_username_valid("b\xc3\xa9nard"));
	assert_false(users_username_valid(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(email_rules),
	        cmocka_unit_test(username_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
