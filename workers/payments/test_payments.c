/* test_payments.c - the pure card rules of the payments service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "payments.h"

static void luhn(void **state)
{
	(void)state;
	assert_true(payments_luhn("4242424242424242"));
	assert_true(payments_luhn("4000000000000002"));
	assert_true(payments_luhn("5555555555554444"));
	assert_true(payments_luhn("378282246310005"));
	assert_false(payments_luhn("4242424242424241"));
	assert_false(payments_luhn(""));
}

static void card_numbers(void **state)
{
	char out[20];

	(void)state;
	assert_int_equal(payments_card_number("4242 4242 4242 4242", out, sizeof(out)), 0);
	assert_string_equal(out, "4242424242424242");
	assert_int_equal(payments_card_number("4242-4242-4242-4242", out, sizeof(out)), 0);
	assert_int_equal(payments_card_number("4242424242424241", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(payments_card_number("42424242424", out, sizeof(out)), -1);
	assert_int_equal(payments_card_number("42424242424242424242", out, sizeof(out)), -1);
	assert_int_equal(payments_card_number("4242x42424242424", out, sizeof(out)), -1);
	assert_int_equal(payments_card_number("", out, sizeof(out)), -1);
	/* 12 and 19 digits, both Luhn-valid */
	assert_int_equal(payments_card_number("000000000000", out, sizeof(out)), 0);
	assert_int_equal(payments_card_number("4000000000000000006", out, sizeof(out)), 0);
}

static void brands(void **state)
{
	(void)state;
	assert_string_equal(payments_card_brand("4242424242424242"), "visa");
	assert_string_equal(payments_card_brand("5555555555554444"), "mastercard");
	assert_string_equal(payments_card_brand("2221000000000009"), "mastercard");
	assert_string_equal(payments_card_brand("378282246310005"), "amex");
	assert_string_equal(payments_card_brand("6011111111111117"), "discover");
	assert_string_equal(payments_card_brand("000000000000"), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(luhn),
	        cmocka_unit_test(card_numbers),
	        cmocka_unit_test(brands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
