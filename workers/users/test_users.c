/* test_users.c - the pure input rules of the users service and the
 * rules across its settings (users_check_settings), alone and as
 * conf_load applies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "service.h"
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

#define NEED_PASSWORD "ADMIN_PASSWORD: is required when ADMIN_USERNAME is set\n"
#define BAD_LENGTH    "ADMIN_PASSWORD: must be 8 to 72 bytes\n"

/* What users_check_settings appends for the admin name and password. */
static void check_is(const char *username, const char *password, const char *want)
{
	struct users_settings s = {.access_token_minutes = 30,
	                           .admin_username = (char *)username,
	                           .admin_password = (char *)password,
	                           .admin_email = (char *)"admin@example.com"};
	struct buf errors;

	buf_init(&errors);
	users_check_settings(&s, &errors);
	assert_string_equal(buf_str(&errors), want);
	buf_release(&errors);
}

static void admin_settings(void **state)
{
	char pw72[73], pw73[74];

	(void)state;
	memset(pw72, 'p', sizeof(pw72) - 1);
	pw72[72] = '\0';
	memset(pw73, 'p', sizeof(pw73) - 1);
	pw73[73] = '\0';
	check_is(NULL, NULL, ""); /* no admin to create */
	check_is("admin", "12345678", "");
	check_is("admin", pw72, "");
	check_is("admin", NULL, NEED_PASSWORD);
	check_is("admin", "1234567", BAD_LENGTH);
	check_is("admin", "", BAD_LENGTH);
	check_is("admin", pw73, BAD_LENGTH);
	/* a password alone is unused, but still checked */
	check_is(NULL, "short", BAD_LENGTH);
	check_is(NULL, "12345678", "");
}

static void check_appends(void **state)
{
	struct users_settings s = {.admin_username = (char *)"admin"};
	struct buf errors;

	(void)state;
	buf_init(&errors);
	buf_adds(&errors, "DATABASE_URL: is required\n");
	users_check_settings(&s, &errors);
	assert_string_equal(buf_str(&errors), "DATABASE_URL: is required\n" NEED_PASSWORD);
	buf_release(&errors);
}

/* The environment conf_load reads in load(): base plus extra. */
static const char *const *test_env;

static const char *env_get(const char *name)
{
	static const char *const base[] = {
	        "DATABASE_URL=postgresql://u:pw@127.0.0.1:1/users",
	        "SECRET_KEY=0123456789abcdef0123456789abcdefS",
	        "SERVICE_KEY=fedcba9876543210fedcba9876543210K",
	        NULL,
	};
	size_t n = strlen(name);

	for (int i = 0; test_env && test_env[i]; i++)
		if (strncmp(test_env[i], name, n) == 0 && test_env[i][n] == '=')
			return test_env[i] + n + 1;
	for (int i = 0; base[i]; i++)
		if (strncmp(base[i], name, n) == 0 && base[i][n] == '=')
			return base[i] + n + 1;
	return NULL;
}

/* conf_load of the users pool with extra settings: its result, and
 * its errors in errors (to release). */
static int load(const char *const *extra, struct buf *errors)
{
	struct conf c;

	test_env = extra;
	buf_init(errors);
	int rc = conf_load(&c, &users_service, env_get, errors);
	conf_release(&c, &users_service); /* what was read, even when refused */
	test_env = NULL;
	return rc;
}

static void pool_refuses_bad_admin(void **state)
{
	const char *const no_password[] = {"ADMIN_USERNAME=admin", NULL};
	const char *const short_password[] = {"ADMIN_USERNAME=admin", "ADMIN_PASSWORD=short", NULL};
	const char *const good[] = {"ADMIN_USERNAME=admin", "ADMIN_PASSWORD=long enough", NULL};
	struct buf errors;

	(void)state;
	assert_int_equal(load(no_password, &errors), -1);
	assert_non_null(strstr(buf_str(&errors), NEED_PASSWORD));
	buf_release(&errors);
	assert_int_equal(load(short_password, &errors), -1);
	assert_non_null(strstr(buf_str(&errors), BAD_LENGTH));
	buf_release(&errors);
	assert_int_equal(load(good, &errors), 0);
	assert_string_equal(buf_str(&errors), "");
	buf_release(&errors);
	assert_int_equal(load(NULL, &errors), 0); /* no admin at all */
	buf_release(&errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(email_rules),
	        cmocka_unit_test(username_rules),
	        cmocka_unit_test(admin_settings),
	        cmocka_unit_test(check_appends),
	        cmocka_unit_test(pool_refuses_bad_admin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
