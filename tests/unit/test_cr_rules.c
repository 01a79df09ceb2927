/* Host unit tests for vmm/exit/cr_rules.c: the architectural checks of MOV to CR0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/cr.h"
#include "arch/msr.h"
#include "vmm/cr_rules.h"

#define CR0_LONG_MODE (CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG)
#define CR0_BIT_6     (1ull << 6)  /* reserved (SDM Vol. 3A Figure 2-7) */
#define CR0_BIT_17    (1ull << 17) /* reserved */
#define CR0_BIT_32    (1ull << 32)

/* A 64-bit kernel: paging, PAE, long mode. */
static struct cr0_write_ctx long_mode(void)
{
	return (struct cr0_write_ctx){ CR0_LONG_MODE, CR4_PAE, EFER_LME | EFER_LMA, true };
}

static void test_valid_write_kept(void **state)
{
	(void)state;
	struct cr0_write_ctx c = long_mode();
	uint64_t v = CR0_LONG_MODE | CR0_AM | CR0_MP;
	assert_true(cr0_write_check(&c, &v));
	assert_int_equal(v, CR0_LONG_MODE | CR0_AM | CR0_MP);
	/* ET is hard-wired to 1. */
	v = CR0_LONG_MODE & ~CR0_ET;
	assert_true(cr0_write_check(&c, &v));
	assert_int_equal(v, CR0_LONG_MODE);
}

/* SDM Vol. 2A MOV-CR: only CR0[63:32] faults; reserved bits in 31:0 are ignored (they read as 0). */
static void test_reserved_low_bits_ignored(void **state)
{
	(void)state;
	struct cr0_write_ctx c = long_mode();
	uint64_t v = CR0_LONG_MODE | CR0_BIT_6 | CR0_BIT_17;
	assert_true(cr0_write_check(&c, &v));
	assert_int_equal(v, CR0_LONG_MODE);
	v = CR0_LONG_MODE | CR0_BIT_32;
	assert_false(cr0_write_check(&c, &v));
	v = CR0_LONG_MODE | (1ull << 63);
	assert_false(cr0_write_check(&c, &v));
}

/* PG with PE clear is an invalid combination: #GP, whatever the mode (SDM Vol. 2A MOV-CR). */
static void test_pg_without_pe(void **state)
{
	(void)state;
	struct cr0_write_ctx c = long_mode();
	uint64_t v = CR0_LONG_MODE & ~CR0_PE;
	assert_false(cr0_write_check(&c, &v));
	assert_int_equal(v, CR0_LONG_MODE & ~CR0_PE); /* left as it was */
	/* From 32-bit protected mode with paging off, too. */
	c = (struct cr0_write_ctx){ CR0_PE | CR0_ET, 0, 0, false };
	v = CR0_PG | CR0_ET;
	assert_false(cr0_write_check(&c, &v));
	/* PE and PG both clear: real mode, allowed (the CPU's rule; the monitor's shadow mode stops there). */
	c = (struct cr0_write_ctx){ CR0_PE | CR0_ET, 0, 0, false };
	v = CR0_ET;
	assert_true(cr0_write_check(&c, &v));
}

static void test_nw_without_cd(void **state)
{
	(void)state;
	struct cr0_write_ctx c = long_mode();
	uint64_t v = CR0_LONG_MODE | CR0_NW;
	assert_false(cr0_write_check(&c, &v));
	v = CR0_LONG_MODE | CR0_NW | CR0_CD;
	assert_true(cr0_write_check(&c, &v));
}

/* Clearing PG: not in 64-bit mode, nor with CR4.PCIDE (SDM Vol. 3A 2.5); fine in compatibility mode. */
static void test_clear_pg(void **state)
{
	(void)state;
	struct cr0_write_ctx c = long_mode();
	uint64_t v = CR0_LONG_MODE & ~CR0_PG;
	assert_false(cr0_write_check(&c, &v));
	c.in_64bit_mode = false;
	v = CR0_LONG_MODE & ~CR0_PG;
	assert_true(cr0_write_check(&c, &v));
	c.cr4 |= CR4_PCIDE;
	v = CR0_LONG_MODE & ~CR0_PG;
	assert_false(cr0_write_check(&c, &v));
}

/* Setting PG with EFER.LME needs CR4.PAE (SDM Vol. 3A 10.8.5). */
static void test_long_mode_needs_pae(void **state)
{
	(void)state;
	struct cr0_write_ctx c = { CR0_PE | CR0_ET, 0, EFER_LME, false };
	uint64_t v = CR0_PE | CR0_ET | CR0_PG;
	assert_false(cr0_write_check(&c, &v));
	c.cr4 = CR4_PAE;
	v = CR0_PE | CR0_ET | CR0_PG;
	assert_true(cr0_write_check(&c, &v));
	/* Without LME, 32-bit paging needs no PAE. */
	c = (struct cr0_write_ctx){ CR0_PE | CR0_ET, 0, 0, false };
	v = CR0_PE | CR0_ET | CR0_PG;
	assert_true(cr0_write_check(&c, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_write_kept),
		cmocka_unit_test(test_reserved_low_bits_ignored),
		cmocka_unit_test(test_pg_without_pe),
		cmocka_unit_test(test_nw_without_cd),
		cmocka_unit_test(test_clear_pg),
		cmocka_unit_test(test_long_mode_needs_pae),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
