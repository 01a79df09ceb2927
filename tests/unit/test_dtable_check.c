/* Host unit tests for vmm/exit/dtable_check.c: LLDT/LTR checks (SDM Vol. 2A LLDT, LTR; Vol. 3A 3.5.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/segment.h"
#include "vmm/dtable_check.h"

#define GDT_LIMIT 0x5fu /* 12 slots */
#define TYPE_SHIFT 40
#define DESC(type) (((uint64_t)(type) << TYPE_SHIFT) | DESC_PRESENT | 0x67u)
#define TSS_AVAILABLE 0x9u
#define TSS_BUSY      0xbu
#define LDT           0x2u

static enum dt_verdict sel_check(enum dt_load op, uint16_t sel, struct dt_fault *f)
{
	return dt_check_selector(op, sel, GDT_LIMIT, true, f);
}

static void expect_fault(enum dt_verdict v, const struct dt_fault *f, unsigned vector, uint32_t error)
{
	assert_int_equal(v, DT_FAULT);
	assert_int_equal(f->vector, vector);
	assert_int_equal(f->error_code, error);
}

/* Null is index 0 with TI = 0 (0-3): LLDT loads an unusable LDTR, LTR raises #GP(0). */
static void test_null_selectors(void **state)
{
	(void)state;
	struct dt_fault f;
	for (uint16_t sel = 0; sel < 4; sel++) {
		assert_int_equal(sel_check(DT_LOAD_LLDT, sel, &f), DT_NULL_LDT);
		expect_fault(sel_check(DT_LOAD_LTR, sel, &f), &f, VECTOR_GP, 0);
	}
}

/* 4-7 are index 0 in the LDT: not null, and TI = 1 is #GP(selector with RPL cleared). */
static void test_ti_selectors(void **state)
{
	(void)state;
	struct dt_fault f;
	for (uint16_t sel = 4; sel < 8; sel++) {
		expect_fault(sel_check(DT_LOAD_LLDT, sel, &f), &f, VECTOR_GP, 4);
		expect_fault(sel_check(DT_LOAD_LTR, sel, &f), &f, VECTOR_GP, 4);
	}
	expect_fault(sel_check(DT_LOAD_LTR, 0x2f, &f), &f, VECTOR_GP, 0x2c); /* TI kept, RPL cleared */
}

/* A 16-byte descriptor must lie wholly within the GDT limit. */
static void test_limit(void **state)
{
	(void)state;
	struct dt_fault f;
	assert_int_equal(sel_check(DT_LOAD_LTR, 0x50, &f), DT_OK);       /* bytes 0x50..0x5f */
	expect_fault(sel_check(DT_LOAD_LTR, 0x58, &f), &f, VECTOR_GP, 0x58); /* bytes 0x58..0x67 */
	expect_fault(sel_check(DT_LOAD_LTR, 0x5b, &f), &f, VECTOR_GP, 0x58);
	assert_int_equal(dt_check_selector(DT_LOAD_LTR, 0x58, GDT_LIMIT, false, &f), DT_OK); /* 8 bytes */
}

static void test_descriptor_types(void **state)
{
	(void)state;
	struct dt_fault f;
	uint64_t tss[2] = { DESC(TSS_AVAILABLE), 0 }, busy[2] = { DESC(TSS_BUSY), 0 }, ldt[2] = { DESC(LDT), 0 };
	assert_int_equal(dt_check_descriptor(DT_LOAD_LTR, 0x28, tss, true, &f), DT_OK);
	assert_int_equal(dt_check_descriptor(DT_LOAD_LLDT, 0x38, ldt, true, &f), DT_OK);
	expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x2b, busy, true, &f), &f, VECTOR_GP, 0x28);
	expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x28, ldt, true, &f), &f, VECTOR_GP, 0x28);
	expect_fault(dt_check_descriptor(DT_LOAD_LLDT, 0x28, tss, true, &f), &f, VECTOR_GP, 0x28);
	uint64_t code[2] = { DESC(TSS_AVAILABLE) | DESC_S, 0 }; /* S = 1: not a system descriptor */
	expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x28, code, true, &f), &f, VECTOR_GP, 0x28);
	uint64_t absent[2] = { DESC(TSS_AVAILABLE) & ~DESC_PRESENT, 0 };
	expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x28, absent, true, &f), &f, VECTOR_NP, 0x28);
}

/* IA-32e mode: the upper half's type bits 12:8 must be 0 (SDM Vol. 3A 8.2.3, Figure 8-4). */
static void test_upper_half_type(void **state)
{
	(void)state;
	struct dt_fault f;
	for (unsigned bit = 40; bit <= 44; bit++) {
		uint64_t tss[2] = { DESC(TSS_AVAILABLE), 1ull << bit }, ldt[2] = { DESC(LDT), 1ull << bit };
		expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x28, tss, true, &f), &f, VECTOR_GP, 0x28);
		expect_fault(dt_check_descriptor(DT_LOAD_LLDT, 0x38, ldt, true, &f), &f, VECTOR_GP, 0x38);
	}
	/* Other bits of the upper half are no type: base 63:32 and the reserved bits outside 12:8. */
	uint64_t ok[2] = { DESC(TSS_AVAILABLE), 0x7fffull | (1ull << 39) | (1ull << 45) };
	assert_int_equal(dt_check_descriptor(DT_LOAD_LTR, 0x28, ok, true, &f), DT_OK);
	/* Outside IA-32e mode descriptors have 8 bytes: there is no upper half. */
	uint64_t legacy[2] = { DESC(TSS_AVAILABLE), 0x1full << 40 };
	assert_int_equal(dt_check_descriptor(DT_LOAD_LTR, 0x28, legacy, false, &f), DT_OK);
}

static void test_base(void **state)
{
	(void)state;
	struct dt_fault f;
	uint64_t d[2] = { DESC(TSS_AVAILABLE) | (0x123456ull << 16) | (0x78ull << 56), 0xffff8000ull };
	assert_int_equal(dt_descriptor_base(d, true), 0xffff800078123456ull);
	assert_int_equal(dt_descriptor_base(d, false), 0x78123456ull);
	assert_int_equal(dt_check_descriptor(DT_LOAD_LTR, 0x28, d, true, &f), DT_OK);
	d[1] = 0x00008000ull; /* base 0x0000800078123456: not canonical */
	expect_fault(dt_check_descriptor(DT_LOAD_LTR, 0x28, d, true, &f), &f, VECTOR_GP, 0x28);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_selectors),
		cmocka_unit_test(test_ti_selectors),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_descriptor_types),
		cmocka_unit_test(test_upper_half_type),
		cmocka_unit_test(test_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
