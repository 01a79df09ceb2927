/* Host unit tests for vmm/dev/mmio_decode.c: the MOV forms that touch the xAPIC page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/mmio_decode.h"

#define DECODE(bytes, lm, out) mmio_decode((const uint8_t[])bytes, sizeof((const uint8_t[])bytes), (lm), (out))
#define B(...) { __VA_ARGS__ }

static void expect(enum mmio_decode_result r, const struct mmio_insn *i, enum mmio_op op, unsigned len, unsigned reg)
{
	assert_int_equal(r, MMIO_DECODE_OK);
	assert_int_equal(i->op, op);
	assert_int_equal(i->len, len);
	assert_int_equal(i->reg, reg);
	assert_int_equal(i->size, 4);
}

static void test_loads(void **s)
{
	(void)s;
	struct mmio_insn i;
	expect(DECODE(B(0x8b, 0x05, 0x00, 0x01, 0x00, 0x00), true, &i), &i, MMIO_LOAD, 6, 0);   /* mov eax, [rip+0x100] */
	expect(DECODE(B(0x44, 0x8b, 0x0b), true, &i), &i, MMIO_LOAD, 3, 9);                     /* mov r9d, [rbx] */
	expect(DECODE(B(0x8b, 0x04, 0x8d, 0x00, 0x00, 0xe0, 0xfe), true, &i), &i, MMIO_LOAD, 7, 0); /* [rcx*4+disp32] */
	expect(DECODE(B(0x64, 0x8b, 0x10), true, &i), &i, MMIO_LOAD, 3, 2);                     /* fs: mov edx, [rax] */
	expect(DECODE(B(0x67, 0x8b, 0x00), true, &i), &i, MMIO_LOAD, 3, 0);                     /* mov eax, [eax] */
	expect(DECODE(B(0x8b, 0x05, 0x20, 0x00, 0xe0, 0xfe), false, &i), &i, MMIO_LOAD, 6, 0);  /* 32-bit: [disp32] */
}

static void test_stores(void **s)
{
	(void)s;
	struct mmio_insn i;
	expect(DECODE(B(0x89, 0x8f, 0x00, 0x03, 0x00, 0x00), true, &i), &i, MMIO_STORE_REG, 6, 1); /* mov [rdi+0x300], ecx */
	expect(DECODE(B(0x89, 0x44, 0x24, 0x08), true, &i), &i, MMIO_STORE_REG, 4, 0);             /* mov [rsp+8], eax */
	expect(DECODE(B(0x45, 0x89, 0x38), true, &i), &i, MMIO_STORE_REG, 3, 15);                  /* mov [r8], r15d */
	expect(DECODE(B(0xc7, 0x80, 0xb0, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12), true, &i), &i, MMIO_STORE_IMM, 10, 0);
	assert_int_equal(i.imm, 0x12345678u);
	expect(DECODE(B(0xc7, 0x40, 0x10, 0xff, 0x01, 0x00, 0x00), true, &i), &i, MMIO_STORE_IMM, 7, 0);
	assert_int_equal(i.imm, 0x1ffu);
}

static void test_unsupported(void **s)
{
	(void)s;
	struct mmio_insn i;
	assert_int_equal(DECODE(B(0x66, 0x89, 0x00), true, &i), MMIO_DECODE_UNSUPPORTED);       /* 16-bit operand */
	assert_int_equal(DECODE(B(0x48, 0x8b, 0x00), true, &i), MMIO_DECODE_UNSUPPORTED);       /* REX.W: 64-bit */
	assert_int_equal(DECODE(B(0x89, 0xc0), true, &i), MMIO_DECODE_UNSUPPORTED);             /* register form */
	assert_int_equal(DECODE(B(0xc7, 0x48, 0x10, 0, 0, 0, 0), true, &i), MMIO_DECODE_UNSUPPORTED); /* C7 /1 */
	assert_int_equal(DECODE(B(0x0f, 0xb6, 0x00), true, &i), MMIO_DECODE_UNSUPPORTED);       /* MOVZX */
	assert_int_equal(DECODE(B(0xf0, 0x01, 0x00), true, &i), MMIO_DECODE_UNSUPPORTED);       /* LOCK ADD */
	assert_int_equal(DECODE(B(0x67, 0x8b, 0x00), false, &i), MMIO_DECODE_UNSUPPORTED);      /* 16-bit addressing */
	assert_int_equal(DECODE(B(0x41, 0x8b, 0x00), false, &i), MMIO_DECODE_UNSUPPORTED);      /* INC ECX in 32-bit code */
}

static void test_truncated(void **s)
{
	(void)s;
	struct mmio_insn i;
	assert_int_equal(DECODE(B(0x8b, 0x05, 0x00), true, &i), MMIO_DECODE_TRUNCATED);
	assert_int_equal(DECODE(B(0xc7, 0x00, 0x01, 0x02), true, &i), MMIO_DECODE_TRUNCATED);
	assert_int_equal(DECODE(B(0x44), true, &i), MMIO_DECODE_TRUNCATED);
	assert_int_equal(DECODE(B(0x8b, 0x04), true, &i), MMIO_DECODE_TRUNCATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_stores),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
