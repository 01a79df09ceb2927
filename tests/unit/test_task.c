/*
 * Host unit tests for vmm/exit/task_check.c: the pure rules of hardware task
 * switches (SDM Vol. 3A 7.3, Table 7-1): descriptor decoding, the checks on
 * the new TSS before the commit point, the privilege rule, and the checks on
 * the segments the new task loads.  Descriptors are built by hand as SDM
 * Vol. 3A Figure 3-8 lays them out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/task.h"

/* Flags nibble (bits 55:52): AVL, L, D/B, G. */
enum { F_DB = 0x4, F_G = 0x8 };
enum { S_SYSTEM = 0, S_CODE_DATA = 1 };

static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl, bool p, unsigned flags)
{
	uint64_t d = (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16);
	d |= (uint64_t)(type | s << 4 | dpl << 5 | (p ? 1u << 7 : 0)) << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
	return d;
}

#define TSS32(type, limit, p) desc(0x12345678, (limit), (type), S_SYSTEM, 0, (p), 0)
#define CODE(type, dpl)       desc(0, 0xfffff, SEG_TYPE_CODE | (type), S_CODE_DATA, (dpl), true, F_G | F_DB)
#define DATA(type, dpl)       desc(0, 0xfffff, (type), S_CODE_DATA, (dpl), true, F_G | F_DB)
#define GDT_LIMIT 0xffu       /* 32 descriptors */

static const uint64_t flat_code = 0x00CF9A000000FFFFull, flat_data = 0x00CF92000000FFFFull;

static void expect_fault(bool ok, const struct task_fault *f, unsigned vector, uint32_t error_code)
{
	assert_false(ok);
	assert_true(f->raised);
	assert_int_equal(f->vector, vector);
	assert_int_equal(f->error_code, error_code);
}

static void expect_ok(bool ok, const struct task_fault *f)
{
	assert_true(ok);
	assert_false(f->raised);
}

/* ---- decoding ---- */

static void test_decode_flat_code(void **state)
{
	(void)state;
	struct seg_desc d;
	desc_decode(flat_code, &d);
	assert_int_equal(d.base, 0);
	assert_int_equal(d.limit, 0xffffffffu); /* G: 4-KiB units, low 12 bits filled */
	assert_int_equal(d.type, 0xa);
	assert_true(d.s && d.p && d.g && d.db);
	assert_false(d.l || d.avl);
	assert_int_equal(d.dpl, 0);
	assert_int_equal(desc_vmx_ar(flat_code), 0xc09a); /* access byte, then flags at bits 15:12 */
}

static void test_decode_tss(void **state)
{
	(void)state;
	struct seg_desc d;
	uint64_t raw = desc(0xfedcba98, 0x67, SEG_TYPE_TSS_AVAILABLE, S_SYSTEM, 3, true, 0);
	desc_decode(raw, &d);
	assert_int_equal(d.base, 0xfedcba98);
	assert_int_equal(d.limit, 0x67); /* byte granular */
	assert_int_equal(d.type, SEG_TYPE_TSS_AVAILABLE);
	assert_false(d.s);
	assert_int_equal(d.dpl, 3);
	assert_true(task_tss_is_32bit(d.type));
	assert_false(task_tss_is_32bit(SEG_TYPE_TSS16_BUSY));
}

static void test_selector_helpers(void **state)
{
	(void)state;
	assert_int_equal(task_selector_error_code(0x23, false), 0x20); /* RPL dropped */
	assert_int_equal(task_selector_error_code(0x2f, false), 0x2c); /* TI kept */
	assert_int_equal(task_selector_error_code(0x20, true), 0x21);  /* EXT */
	assert_true(task_selector_in_table(0x18, 0x1f));
	assert_false(task_selector_in_table(0x18, 0x1e));
	assert_true(task_selector_in_table(0xfff8, 0xffff));
}

static void test_privilege_rule(void **state)
{
	(void)state;
	assert_true(task_privilege_ok(0, 0, 0));
	assert_true(task_privilege_ok(2, 1, 3));
	assert_true(task_privilege_ok(3, 3, 3));
	assert_false(task_privilege_ok(3, 0, 0)); /* CPL above DPL */
	assert_false(task_privilege_ok(0, 3, 2)); /* RPL above DPL */
	assert_false(task_privilege_ok(1, 0, 0));
}

/* ---- the new TSS (Table 7-1 rows 1-3) ---- */

static void test_new_tss_accepted(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t avail = TSS32(SEG_TYPE_TSS_AVAILABLE, 0x67, true), busy = TSS32(SEG_TYPE_TSS_BUSY, 0x67, true);
	expect_ok(task_check_new_tss(0x20, avail, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f);
	expect_ok(task_check_new_tss(0x20, avail, GDT_LIMIT, TASK_SRC_CALL, false, &f), &f);
	expect_ok(task_check_new_tss(0x20, avail, GDT_LIMIT, TASK_SRC_IDT_GATE, true, &f), &f);
	expect_ok(task_check_new_tss(0x20, busy, GDT_LIMIT, TASK_SRC_IRET, false, &f), &f);
	expect_ok(task_check_new_tss(0x23, avail, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f); /* RPL is not checked here */
	/* A larger limit, and a 16-bit TSS at its own minimum. */
	expect_ok(task_check_new_tss(0x20, TSS32(SEG_TYPE_TSS_AVAILABLE, 0x2000, true), GDT_LIMIT, TASK_SRC_JMP, false, &f),
		  &f);
	expect_ok(task_check_new_tss(0x20, TSS32(SEG_TYPE_TSS16_AVAILABLE, 0x2b, true), GDT_LIMIT, TASK_SRC_JMP, false, &f),
		  &f);
}

static void test_new_tss_not_present(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t np = TSS32(SEG_TYPE_TSS_AVAILABLE, 0x67, false);
	expect_fault(task_check_new_tss(0x30, np, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f, VECTOR_NP, 0x30);
	expect_fault(task_check_new_tss(0x30, np, GDT_LIMIT, TASK_SRC_IDT_GATE, true, &f), &f, VECTOR_NP, 0x31);
	expect_fault(task_check_new_tss(0x30, TSS32(SEG_TYPE_TSS_BUSY, 0x67, false), GDT_LIMIT, TASK_SRC_IRET, false, &f),
		     &f, VECTOR_NP, 0x30);
}

static void test_new_tss_busy_flag(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t avail = TSS32(SEG_TYPE_TSS_AVAILABLE, 0x67, true), busy = TSS32(SEG_TYPE_TSS_BUSY, 0x67, true);
	expect_fault(task_check_new_tss(0x18, busy, GDT_LIMIT, TASK_SRC_CALL, false, &f), &f, VECTOR_GP, 0x18);
	expect_fault(task_check_new_tss(0x18, busy, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f, VECTOR_GP, 0x18);
	expect_fault(task_check_new_tss(0x18, busy, GDT_LIMIT, TASK_SRC_IDT_GATE, true, &f), &f, VECTOR_GP, 0x19);
	/* IRET returns to a busy task only: an available one is #TS. */
	expect_fault(task_check_new_tss(0x18, avail, GDT_LIMIT, TASK_SRC_IRET, false, &f), &f, VECTOR_TS, 0x18);
}

static void test_new_tss_limit(void **state)
{
	(void)state;
	struct task_fault f;
	expect_fault(task_check_new_tss(0x38, TSS32(SEG_TYPE_TSS_AVAILABLE, 0x66, true), GDT_LIMIT, TASK_SRC_JMP, false, &f),
		     &f, VECTOR_TS, 0x38);
	expect_fault(task_check_new_tss(0x38, TSS32(SEG_TYPE_TSS_AVAILABLE, 0x40, true), GDT_LIMIT, TASK_SRC_CALL, false, &f),
		     &f, VECTOR_TS, 0x38);
	expect_fault(task_check_new_tss(0x38, TSS32(SEG_TYPE_TSS_BUSY, 0x2b, true), GDT_LIMIT, TASK_SRC_IRET, false, &f),
		     &f, VECTOR_TS, 0x38);
	expect_fault(task_check_new_tss(0x38, TSS32(SEG_TYPE_TSS16_AVAILABLE, 0x2a, true), GDT_LIMIT, TASK_SRC_JMP, false,
					&f),
		     &f, VECTOR_TS, 0x38);
}

static void test_new_tss_bad_selector_or_type(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t avail = TSS32(SEG_TYPE_TSS_AVAILABLE, 0x67, true);
	/* The LDT, the null selector, beyond the GDT limit: #GP for JMP/CALL, #TS for IRET. */
	expect_fault(task_check_new_tss(0x24, avail, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f, VECTOR_GP, 0x24);
	expect_fault(task_check_new_tss(0x24, avail, GDT_LIMIT, TASK_SRC_IRET, false, &f), &f, VECTOR_TS, 0x24);
	expect_fault(task_check_new_tss(0x0, avail, GDT_LIMIT, TASK_SRC_CALL, false, &f), &f, VECTOR_GP, 0);
	expect_fault(task_check_new_tss(0x100, avail, GDT_LIMIT, TASK_SRC_CALL, false, &f), &f, VECTOR_GP, 0x100);
	/* Not a TSS: a code segment, an LDT, a task gate. */
	expect_fault(task_check_new_tss(0x20, flat_code, GDT_LIMIT, TASK_SRC_JMP, false, &f), &f, VECTOR_GP, 0x20);
	expect_fault(task_check_new_tss(0x20, desc(0, 0x67, SEG_TYPE_LDT, S_SYSTEM, 0, true, 0), GDT_LIMIT, TASK_SRC_IRET,
					false, &f),
		     &f, VECTOR_TS, 0x20);
	expect_fault(task_check_new_tss(0x20, desc(0, 0, SEG_TYPE_TASK_GATE, S_SYSTEM, 0, true, 0), GDT_LIMIT,
					TASK_SRC_CALL, false, &f),
		     &f, VECTOR_GP, 0x20);
	/* A TSS type with S = 1 is a data segment. */
	expect_fault(task_check_new_tss(0x20, desc(0, 0x67, SEG_TYPE_TSS_AVAILABLE, S_CODE_DATA, 0, true, 0), GDT_LIMIT,
					TASK_SRC_JMP, false, &f),
		     &f, VECTOR_GP, 0x20);
}

/* ---- the new task's segments (Table 7-1 rows 4-17) ---- */

static void test_ldtr(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t ldt = desc(0x5000, 0xff, SEG_TYPE_LDT, S_SYSTEM, 0, true, 0);
	const uint64_t ldt_np = desc(0x5000, 0xff, SEG_TYPE_LDT, S_SYSTEM, 0, false, 0);
	expect_ok(task_check_segment(TASK_SEG_LDTR, 0, NULL, 0, false, &f), &f); /* null: unusable */
	expect_ok(task_check_segment(TASK_SEG_LDTR, 0x28, &ldt, 0, false, &f), &f);
	expect_fault(task_check_segment(TASK_SEG_LDTR, 0x2c, &ldt, 0, false, &f), &f, VECTOR_TS, 0x2c); /* TI */
	expect_fault(task_check_segment(TASK_SEG_LDTR, 0x4, NULL, 0, false, &f), &f, VECTOR_TS, 0x4);
	expect_fault(task_check_segment(TASK_SEG_LDTR, 0x28, NULL, 0, false, &f), &f, VECTOR_TS, 0x28);  /* limit */
	expect_fault(task_check_segment(TASK_SEG_LDTR, 0x28, &flat_data, 0, false, &f), &f, VECTOR_TS, 0x28);
	expect_fault(task_check_segment(TASK_SEG_LDTR, 0x28, &ldt_np, 0, false, &f), &f, VECTOR_TS, 0x28);
}

static void test_cs(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t code3 = CODE(SEG_TYPE_CODE_READABLE, 3), conforming0 = CODE(SEG_TYPE_CONFORMING, 0);
	const uint64_t conforming3 = CODE(SEG_TYPE_CONFORMING, 3);
	uint64_t np = flat_code & ~DESC_PRESENT;
	expect_ok(task_check_segment(TASK_SEG_CS, 0x08, &flat_code, 0, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_CS, 0x1b, &code3, 3, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_CS, 0x0b, &conforming0, 3, false, &f), &f); /* DPL <= RPL */
	expect_fault(task_check_segment(TASK_SEG_CS, 0x08, &conforming3, 0, false, &f), &f, VECTOR_TS, 0x08);
	expect_fault(task_check_segment(TASK_SEG_CS, 0x0b, &flat_code, 3, false, &f), &f, VECTOR_TS, 0x08); /* DPL != RPL */
	expect_fault(task_check_segment(TASK_SEG_CS, 0x10, &flat_data, 0, false, &f), &f, VECTOR_TS, 0x10); /* data */
	expect_fault(task_check_segment(TASK_SEG_CS, 0, NULL, 0, false, &f), &f, VECTOR_TS, 0);             /* null */
	expect_fault(task_check_segment(TASK_SEG_CS, 0x08, NULL, 0, true, &f), &f, VECTOR_TS, 0x09);        /* limit, EXT */
	expect_fault(task_check_segment(TASK_SEG_CS, 0x08, &np, 0, false, &f), &f, VECTOR_NP, 0x08);
}

static void test_ss(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t data3 = DATA(SEG_TYPE_DATA_WRITABLE, 3), read_only = DATA(0, 0);
	const uint64_t np = flat_data & ~DESC_PRESENT;
	expect_ok(task_check_segment(TASK_SEG_SS, 0x10, &flat_data, 0, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_SS, 0x23, &data3, 3, false, &f), &f);
	expect_fault(task_check_segment(TASK_SEG_SS, 0x13, &flat_data, 0, false, &f), &f, VECTOR_TS, 0x10); /* RPL != CPL */
	expect_fault(task_check_segment(TASK_SEG_SS, 0x23, &flat_data, 3, false, &f), &f, VECTOR_TS, 0x20); /* DPL != CPL */
	expect_fault(task_check_segment(TASK_SEG_SS, 0x10, &read_only, 0, false, &f), &f, VECTOR_TS, 0x10);
	expect_fault(task_check_segment(TASK_SEG_SS, 0x08, &flat_code, 0, false, &f), &f, VECTOR_TS, 0x08);
	expect_fault(task_check_segment(TASK_SEG_SS, 0, NULL, 0, false, &f), &f, VECTOR_TS, 0);
	expect_fault(task_check_segment(TASK_SEG_SS, 0x10, &np, 0, false, &f), &f, VECTOR_SS, 0x10);
}

static void test_data_segments(void **state)
{
	(void)state;
	struct task_fault f;
	const uint64_t exec_only = CODE(0, 0), readable_code = CODE(SEG_TYPE_CODE_READABLE, 0);
	const uint64_t conforming_readable = CODE(SEG_TYPE_CONFORMING | SEG_TYPE_CODE_READABLE, 0);
	const uint64_t data3 = DATA(SEG_TYPE_DATA_WRITABLE, 3), np = flat_data & ~DESC_PRESENT;
	expect_ok(task_check_segment(TASK_SEG_DATA, 0, NULL, 3, false, &f), &f); /* null: unusable */
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x3, NULL, 3, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x10, &flat_data, 0, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x08, &readable_code, 0, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x23, &data3, 3, false, &f), &f);
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x0b, &conforming_readable, 3, false, &f), &f); /* no DPL check */
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x08, &exec_only, 0, false, &f), &f, VECTOR_TS, 0x08);
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x13, &flat_data, 3, false, &f), &f, VECTOR_TS, 0x10); /* DPL < CPL */
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x13, &flat_data, 0, false, &f), &f, VECTOR_TS, 0x10); /* DPL < RPL */
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x28, NULL, 0, false, &f), &f, VECTOR_TS, 0x28);
	/* TI = 1 with index 0 is the LDT's first entry, not a null selector. */
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x4, NULL, 0, false, &f), &f, VECTOR_TS, 0x4);
	expect_ok(task_check_segment(TASK_SEG_DATA, 0x4, &flat_data, 0, false, &f), &f);
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x10, &np, 0, false, &f), &f, VECTOR_NP, 0x10);
	/* A system descriptor in a data segment register. */
	const uint64_t tss = TSS32(SEG_TYPE_TSS_AVAILABLE, 0x67, true);
	expect_fault(task_check_segment(TASK_SEG_DATA, 0x20, &tss, 0, false, &f), &f, VECTOR_TS, 0x20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_flat_code),
		cmocka_unit_test(test_decode_tss),
		cmocka_unit_test(test_selector_helpers),
		cmocka_unit_test(test_privilege_rule),
		cmocka_unit_test(test_new_tss_accepted),
		cmocka_unit_test(test_new_tss_not_present),
		cmocka_unit_test(test_new_tss_busy_flag),
		cmocka_unit_test(test_new_tss_limit),
		cmocka_unit_test(test_new_tss_bad_selector_or_type),
		cmocka_unit_test(test_ldtr),
		cmocka_unit_test(test_cs),
		cmocka_unit_test(test_ss),
		cmocka_unit_test(test_data_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
