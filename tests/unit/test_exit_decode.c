/* Host unit tests for vmm/vmx/exit_decode.c and vmm/exit/operand.c: VM-exit qualification and instruction-information decoding (SDM 28.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "exit_decode.h" /* vmm/vmx/: the backend's decoders */
#include "vmm/operand.h"

/* SDM Table 28-5: OUT DX, AL (port 0x3f8); IN EAX, imm8 0x71; REP OUTSW to 0x80; REP on IN is dropped. */
static void test_io(void **s)
{
	(void)s;
	struct io_exit io;
	assert_true(exit_decode_io(0x3f80000ull, &io));
	assert_int_equal(io.port, 0x3f8);
	assert_int_equal(io.size, 1);
	assert_false(io.in);
	assert_false(io.string);
	assert_true(exit_decode_io(0x710000ull | 3 | 1 << 3 | 1 << 6, &io));
	assert_int_equal(io.port, 0x71);
	assert_int_equal(io.size, 4);
	assert_true(io.in);
	assert_true(exit_decode_io(0x800000ull | 1 | 1 << 4 | 1 << 5, &io));
	assert_int_equal(io.size, 2);
	assert_true(io.string && io.rep);
	assert_true(exit_decode_io(0x800000ull | 1 << 5, &io));
	assert_false(io.rep);
	/* Undefined sizes (2, 4-7) and reserved bits 15:7, 63:32 are refused. */
	for (uint64_t size = 0; size < 8; size++)
		assert_int_equal(exit_decode_io(size, &io), size == 0 || size == 1 || size == 3);
	assert_false(exit_decode_io(1ull << 7, &io));
	assert_false(exit_decode_io(1ull << 15, &io));
	assert_false(exit_decode_io(1ull << 32, &io));
}

/* SDM Table 28-3: MOV CR3, R12; MOV RAX, CR8; CLTS; LMSW from memory; undefined CR numbers. */
static void test_cr(void **s)
{
	(void)s;
	struct cr_exit cr;
	assert_true(exit_decode_cr(3 | CR_MOV_TO << 4 | 12 << 8, &cr));
	assert_int_equal(cr.cr, 3);
	assert_int_equal(cr.type, CR_MOV_TO);
	assert_int_equal(cr.gpr, 12);
	assert_true(exit_decode_cr(8 | CR_MOV_FROM << 4, &cr));
	assert_int_equal(cr.cr, 8);
	assert_int_equal(cr.type, CR_MOV_FROM);
	assert_true(exit_decode_cr(CR_CLTS << 4, &cr));
	assert_int_equal(cr.type, CR_CLTS);
	assert_true(exit_decode_cr(CR_LMSW << 4 | 1 << 6 | 0xbeefull << 16, &cr));
	assert_true(cr.lmsw_memory);
	assert_int_equal(cr.lmsw_source, 0xbeef);
	for (unsigned n = 0; n < 16; n++)
		assert_int_equal(exit_decode_cr(n | CR_MOV_TO << 4, &cr), n == 0 || n == 3 || n == 4 || n == 8);
	assert_false(exit_decode_cr(4 | CR_CLTS << 4, &cr)); /* CLTS and LMSW name CR0 */
	assert_false(exit_decode_cr(1ull << 7, &cr));
	assert_false(exit_decode_cr(1ull << 12, &cr));
	assert_false(exit_decode_cr(1ull << 40, &cr));
}

#define II(scale, addr, seg, index, index_bad, base, base_bad, id)                                                 \
	((uint32_t)(scale) | (uint32_t)(addr) << 7 | (uint32_t)(seg) << 15 | (uint32_t)(index) << 18 |               \
	 (uint32_t)(index_bad) << 22 | (uint32_t)(base) << 23 | (uint32_t)(base_bad) << 27 | (uint32_t)(id) << 28)

/* SDM Tables 28-10, 28-11: LIDT [RBX + RSI*8 + disp] in 64-bit mode; LLDT AX; undefined encodings. */
static void test_descriptor_table_info(void **s)
{
	(void)s;
	struct insn_operand op;
	uint64_t gpr[16] = { 0 };
	gpr[3] = 0x1000, gpr[6] = 0x10;
	assert_true(exit_decode_dt_info(II(3, 2, SEG_DS, 6, 0, 3, 0, 3), false, &op));
	assert_int_equal(op.identity, 3);
	assert_int_equal(op.addr_bytes, 8);
	assert_int_equal(op.scale, 8);
	assert_int_equal(op.seg, SEG_DS);
	assert_int_equal(exit_operand_offset(&op, 0x20, gpr), 0x1000 + 0x80 + 0x20);
	/* A negative displacement (sign-extended in the qualification) wraps within 16 bits. */
	assert_true(exit_decode_dt_info(II(0, 0, SEG_SS, 0, 1, 3, 0, 2), false, &op));
	gpr[3] = 0x0004;
	assert_int_equal(exit_operand_offset(&op, (uint64_t)-8, gpr), 0xfffc);
	/* No base, no index: the displacement alone, wrapped to 32 bits. */
	assert_true(exit_decode_dt_info(II(0, 1, SEG_ES, 0, 1, 0, 1, 0), false, &op));
	assert_int_equal(exit_operand_offset(&op, 0x1ffffffffull, gpr), 0xffffffffull);
	/* Register operand of LLDT (reason 47): the memory fields are undefined and not checked. */
	assert_true(exit_decode_dt_info(1u << 10 | 5u << 3 | 7u << 7 | 7u << 15 | 2u << 28, true, &op));
	assert_true(op.is_register);
	assert_int_equal(op.reg, 5);
	assert_int_equal(op.identity, 2);
	/* Undefined address sizes and segments, and a register operand for reason 46, are refused. */
	for (unsigned a = 0; a < 8; a++)
		assert_int_equal(exit_decode_dt_info(II(0, a, SEG_DS, 0, 1, 0, 1, 0), false, &op), a <= 2);
	for (unsigned seg = 0; seg < 8; seg++)
		assert_int_equal(exit_decode_dt_info(II(0, 1, seg, 0, 1, 0, 1, 0), true, &op), seg < SEG_COUNT);
	assert_false(exit_decode_dt_info(II(0, 1, SEG_DS, 0, 1, 0, 1, 0) | 1u << 10, false, &op));
}

/* LGDT/LIDT operand size outside 64-bit mode: CS.D toggled by 0x66, after any legacy prefixes. */
static void test_dt_operand_bytes(void **s)
{
	(void)s;
	static const uint8_t lgdt[] = { 0x0f, 0x01, 0x15, 0, 0, 0, 0 };          /* lgdt [disp32] */
	static const uint8_t o16[] = { 0x66, 0x0f, 0x01, 0x15, 0, 0, 0, 0 };     /* o16 lgdt */
	static const uint8_t seg_o16[] = { 0x2e, 0x66, 0x67, 0x0f, 0x01, 0x17 }; /* cs o16 a16 lgdt [bx] */
	static const uint8_t other[] = { 0x66, 0x0f, 0x00, 0xd0 };               /* o16 lldt ax: not 0F 01 */
	assert_int_equal(exit_dt_operand_bytes(lgdt, sizeof(lgdt), true), 4);
	assert_int_equal(exit_dt_operand_bytes(lgdt, sizeof(lgdt), false), 2);
	assert_int_equal(exit_dt_operand_bytes(o16, sizeof(o16), true), 2);
	assert_int_equal(exit_dt_operand_bytes(o16, sizeof(o16), false), 4);
	assert_int_equal(exit_dt_operand_bytes(seg_o16, sizeof(seg_o16), true), 2);
	assert_int_equal(exit_dt_operand_bytes(other, sizeof(other), true), 0);
	assert_int_equal(exit_dt_operand_bytes(o16, 2, true), 0); /* the bytes end unmapped */
	assert_int_equal(exit_dt_operand_bytes(o16, 0, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_cr),
		cmocka_unit_test(test_descriptor_table_info),
		cmocka_unit_test(test_dt_operand_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
