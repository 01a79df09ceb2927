/* Host unit tests for vmm/dev/io_ledger.c: the unclaimed-port ledger. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/io_ledger.h"

static struct io_ledger ledger;

static int setup(void **s)
{
	(void)s;
	memset(&ledger, 0, sizeof(ledger));
	return 0;
}

static void test_counts_reads_and_writes_per_port(void **s)
{
	(void)s;
	assert_null(io_ledger_find(&ledger, 0x300));
	io_ledger_note(&ledger, 0x300, false);
	io_ledger_note(&ledger, 0x300, false);
	io_ledger_note(&ledger, 0xe9, true);
	io_ledger_note(&ledger, 0x300, true);
	assert_int_equal(ledger.used, 2);
	const struct io_ledger_entry *e = io_ledger_find(&ledger, 0x300);
	assert_non_null(e);
	assert_int_equal(e->reads, 2);
	assert_int_equal(e->writes, 1);
	e = io_ledger_find(&ledger, 0xe9);
	assert_non_null(e);
	assert_int_equal(e->reads, 0);
	assert_int_equal(e->writes, 1);
	/* In the order first seen. */
	assert_int_equal(ledger.entry[0].port, 0x300);
	assert_int_equal(ledger.entry[1].port, 0xe9);
	assert_int_equal(io_ledger_total(&ledger), 4);
	assert_int_equal(ledger.overflow_reads + ledger.overflow_writes, 0);
}

static void test_port_zero_and_ffff_are_ports_like_any(void **s)
{
	(void)s;
	io_ledger_note(&ledger, 0, true);
	io_ledger_note(&ledger, 0xffff, false);
	assert_int_equal(io_ledger_find(&ledger, 0)->writes, 1);
	assert_int_equal(io_ledger_find(&ledger, 0xffff)->reads, 1);
	assert_int_equal(ledger.used, 2);
}

static void test_a_full_table_counts_the_rest_as_overflow(void **s)
{
	(void)s;
	for (unsigned i = 0; i < IO_LEDGER_SLOTS; i++)
		io_ledger_note(&ledger, (uint16_t)(0x1000 + i), false);
	assert_int_equal(ledger.used, IO_LEDGER_SLOTS);
	/* A new port: counted, not itemised; a port already in the table still is. */
	io_ledger_note(&ledger, 0x2000, false);
	io_ledger_note(&ledger, 0x2001, true);
	io_ledger_note(&ledger, 0x2001, true);
	io_ledger_note(&ledger, 0x1000, true);
	assert_int_equal(ledger.used, IO_LEDGER_SLOTS);
	assert_null(io_ledger_find(&ledger, 0x2000));
	assert_int_equal(ledger.overflow_reads, 1);
	assert_int_equal(ledger.overflow_writes, 2);
	assert_int_equal(io_ledger_find(&ledger, 0x1000)->writes, 1);
	assert_int_equal(io_ledger_total(&ledger), IO_LEDGER_SLOTS + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_counts_reads_and_writes_per_port, setup),
		cmocka_unit_test_setup(test_port_zero_and_ffff_are_ports_like_any, setup),
		cmocka_unit_test_setup(test_a_full_table_counts_the_rest_as_overflow, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
