/* Host unit tests for vmm/core/dr_match.c: data and I/O breakpoints of emulated accesses (SDM Vol. 3B 18.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/dr_match.h"

#define HIT(n) (DR6_B(n) | PENDING_DBG_ENABLED_BP)
#define BUF    0x10000ull

static uint64_t dr7_one(unsigned n, enum dr7_rw rw, enum dr7_len len)
{
	return DR7_FIXED_ONE | DR7_L(n) | DR7_RW(n, rw) | DR7_LEN(n, len);
}

static void test_len_field(void **state)
{
	(void)state;
	assert_int_equal(dr7_len_bytes(dr7_one(0, DR7_RW_WRITE, DR7_LEN_1), 0), 1);
	assert_int_equal(dr7_len_bytes(dr7_one(1, DR7_RW_WRITE, DR7_LEN_2), 1), 2);
	assert_int_equal(dr7_len_bytes(dr7_one(2, DR7_RW_WRITE, DR7_LEN_4), 2), 4);
	assert_int_equal(dr7_len_bytes(dr7_one(3, DR7_RW_WRITE, DR7_LEN_8), 3), 8);
}

/* SGDT in 64-bit mode writes 10 bytes: any overlap fires, the byte just past does not. */
static void test_write_overlap(void **state)
{
	(void)state;
	uint64_t dr[4] = { BUF + 4, BUF + 9, BUF + 10, BUF - 1 };
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_4), BUF, 10, true), HIT(0));
	assert_int_equal(dr_match_data(dr, dr7_one(1, DR7_RW_WRITE, DR7_LEN_1), BUF, 10, true), HIT(1));
	assert_int_equal(dr_match_data(dr, dr7_one(2, DR7_RW_WRITE, DR7_LEN_2), BUF, 10, true), 0);
	assert_int_equal(dr_match_data(dr, dr7_one(3, DR7_RW_WRITE, DR7_LEN_1), BUF, 10, true), 0);
}

/* The CPU aligns a breakpoint address down to its length (SDM Vol. 3B 18.2.5). */
static void test_unaligned_breakpoint_is_aligned_down(void **state)
{
	(void)state;
	uint64_t dr[4] = { BUF + 13, 0, 0, 0 }; /* LEN 8: watches BUF+8 .. BUF+15 */
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_8), BUF + 8, 1, true), HIT(0));
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_8), BUF + 16, 1, true), 0);
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_8), BUF + 7, 1, true), 0);
}

/* R/W = 01b: writes only; 11b: reads and writes; 00b (execute) and 10b (I/O) never match data. */
static void test_rw_kinds(void **state)
{
	(void)state;
	uint64_t dr[4] = { BUF, BUF, BUF, BUF };
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_4), BUF, 4, false), 0);
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_READ_WRITE, DR7_LEN_4), BUF, 4, false), HIT(0));
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_READ_WRITE, DR7_LEN_4), BUF, 4, true), HIT(0));
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_EXECUTE, DR7_LEN_1), BUF, 4, false), 0);
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_IO, DR7_LEN_4), BUF, 4, true), 0);
}

/* Only enabled breakpoints (L or G) fire; several may fire at once. */
static void test_enables(void **state)
{
	(void)state;
	uint64_t dr[4] = { BUF, BUF + 2, BUF, BUF };
	const uint64_t fields = DR7_RW(0, DR7_RW_WRITE) | DR7_LEN(0, DR7_LEN_4) | DR7_RW(1, DR7_RW_WRITE) |
				DR7_LEN(1, DR7_LEN_2) | DR7_RW(2, DR7_RW_WRITE);
	assert_int_equal(dr_match_data(dr, DR7_FIXED_ONE | fields, BUF, 4, true), 0);
	assert_int_equal(dr_match_data(dr, DR7_FIXED_ONE | fields | DR7_G(1), BUF, 4, true), HIT(1));
	assert_int_equal(dr_match_data(dr, DR7_FIXED_ONE | fields | DR7_L(0) | DR7_G(1), BUF, 4, true),
			 DR6_B(0) | DR6_B(1) | PENDING_DBG_ENABLED_BP);
	assert_false(dr7_any_enabled(DR7_FIXED_ONE | fields));
}

/* An access at the very top of the address space does not wrap around to 0. */
static void test_no_wrap(void **state)
{
	(void)state;
	uint64_t dr[4] = { 0, 0, 0, 0 };
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_1), ~0ull - 3, 4, true), 0);
	dr[0] = ~0ull;
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_1), ~0ull - 3, 4, true), HIT(0));
	assert_int_equal(dr_match_data(dr, dr7_one(0, DR7_RW_WRITE, DR7_LEN_1), 0, 0, true), 0);
}

/* I/O breakpoints need CR4.DE = 1 and R/W = 10b; the port range overlaps like memory. */
static void test_io(void **state)
{
	(void)state;
	uint64_t dr[4] = { 0x80, 0x3fe, 0x3f8, 0x3f9 };
	assert_int_equal(dr_match_io(dr, dr7_one(0, DR7_RW_IO, DR7_LEN_1), true, 0x80, 1), HIT(0));
	assert_int_equal(dr_match_io(dr, dr7_one(0, DR7_RW_IO, DR7_LEN_1), false, 0x80, 1), 0);
	assert_int_equal(dr_match_io(dr, dr7_one(0, DR7_RW_IO, DR7_LEN_1), true, 0x81, 1), 0);
	assert_int_equal(dr_match_io(dr, dr7_one(1, DR7_RW_IO, DR7_LEN_2), true, 0x3ff, 1), HIT(1));
	assert_int_equal(dr_match_io(dr, dr7_one(1, DR7_RW_IO, DR7_LEN_2), true, 0x3fc, 4), HIT(1));
	assert_int_equal(dr_match_io(dr, dr7_one(3, DR7_RW_IO, DR7_LEN_1), true, 0x3f8, 2), HIT(3));
	/* A data breakpoint on the same number is no I/O breakpoint. */
	assert_int_equal(dr_match_io(dr, dr7_one(0, DR7_RW_READ_WRITE, DR7_LEN_1), true, 0x80, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len_field),
		cmocka_unit_test(test_write_overlap),
		cmocka_unit_test(test_unaligned_breakpoint_is_aligned_down),
		cmocka_unit_test(test_rw_kinds),
		cmocka_unit_test(test_enables),
		cmocka_unit_test(test_no_wrap),
		cmocka_unit_test(test_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
