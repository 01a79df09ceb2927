/*
 * Host unit tests for vmm/lib/elf_rela.c: R_X86_64_RELATIVE relocations
 * (x86-64 psABI 4.4) checked and applied to an image in a buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/elf_rela.h"

#define IMAGE_SIZE   0x100u
#define LINK_ZERO    0x0ull
#define LINK_HIGH    0x200000ull        /* an image linked elsewhere than 0 */
#define LOAD_ADDRESS 0x7fe45000ull      /* where the "loader" put it */
#define FILL_BYTE    0xa5
#define R_X86_64_64  1                   /* psABI Table 4.9: S + A, needs a symbol */
#define R_X86_64_PC32 2
#define SYMBOL_INDEX 3

static uint8_t image[IMAGE_SIZE];
static uint8_t pristine[IMAGE_SIZE];
static struct elf_rela_error err;

static struct elf64_rela relative(uint64_t offset, int64_t addend)
{
	return (struct elf64_rela){ offset, ELF64_R_INFO(0, R_X86_64_RELATIVE), addend };
}

static uint64_t field_at(uint64_t offset)
{
	uint64_t v;
	memcpy(&v, image + offset, sizeof(v));
	return v;
}

static int setup(void **state)
{
	(void)state;
	memset(image, FILL_BYTE, sizeof(image));
	memcpy(pristine, image, sizeof(image));
	memset(&err, 0, sizeof(err));
	return 0;
}

static void image_untouched(void)
{
	assert_memory_equal(image, pristine, sizeof(image));
}

static void test_relative_is_base_plus_addend(void **state)
{
	const struct elf64_rela r[] = { relative(0x10, 0x1234), relative(0x20, 0), relative(0x28, 0xf0) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 3, &err), 0);
	assert_int_equal(field_at(0x10), LOAD_ADDRESS + 0x1234);
	assert_int_equal(field_at(0x20), LOAD_ADDRESS);
	assert_int_equal(field_at(0x28), LOAD_ADDRESS + 0xf0);
	/* Nothing else changed. */
	assert_int_equal(image[0x0f], FILL_BYTE);
	assert_int_equal(image[0x18], FILL_BYTE);
	assert_int_equal(image[0x30], FILL_BYTE);
}

static void test_nonzero_link_base(void **state)
{
	/* Linked at 2 MiB: the field at link address 0x200040 is image[0x40]; B = load - link. */
	const struct elf64_rela r[] = { relative(LINK_HIGH + 0x40, (int64_t)(LINK_HIGH + 0x80)) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_HIGH, LOAD_ADDRESS, IMAGE_SIZE, r, 1, &err), 0);
	assert_int_equal(field_at(0x40), LOAD_ADDRESS + 0x80);
}

static void test_load_below_link_wraps_correctly(void **state)
{
	/* Loaded below its link address: B is "negative", modulo 2^64. */
	const struct elf64_rela r[] = { relative(LINK_HIGH + 0x8, (int64_t)(LINK_HIGH + 0x10)) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_HIGH, 0x100000, IMAGE_SIZE, r, 1, &err), 0);
	assert_int_equal(field_at(0x8), 0x100010);
}

static void test_applying_twice_gives_the_same_image(void **state)
{
	const struct elf64_rela r[] = { relative(0x10, 0x40), relative(0x18, 0x48) };
	uint8_t once[IMAGE_SIZE];
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 2, &err), 0);
	memcpy(once, image, sizeof(once));
	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 2, &err), 0);
	assert_memory_equal(image, once, sizeof(once));
}

static void test_unaligned_field(void **state)
{
	const struct elf64_rela r[] = { relative(0x13, 0x5) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 1, &err), 0);
	assert_int_equal(field_at(0x13), LOAD_ADDRESS + 0x5);
	assert_int_equal(image[0x12], FILL_BYTE);
	assert_int_equal(image[0x1b], FILL_BYTE);
}

static void test_none_is_skipped(void **state)
{
	const struct elf64_rela r[] = { { 0x7777777, ELF64_R_INFO(0, R_X86_64_NONE), 1 }, relative(0x0, 0x8) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 2, &err), 0);
	assert_int_equal(field_at(0x0), LOAD_ADDRESS + 0x8);
}

static void test_empty_table(void **state)
{
	(void)state;
	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, NULL, 0, &err), 0);
	image_untouched();
}

static void test_last_field_fits_exactly(void **state)
{
	const struct elf64_rela r[] = { relative(IMAGE_SIZE - ELF_RELA_FIELD_SIZE, 0) };
	(void)state;

	assert_int_equal(elf_rela_apply(image, LINK_ZERO, LOAD_ADDRESS, IMAGE_SIZE, r, 1, &err), 0);
	assert_int_equal(field_at(IMAGE_SIZE - ELF_RELA_FIELD_SIZE), LOAD_ADDRESS);
}

/* A refused entry anywhere in the table leaves the whole image untouched, and err names it. */
static void refused(const struct elf64_rela *r, uint64_t count, uint64_t link_base, enum elf_rela_status status,
		    uint64_t index)
{
	assert_int_equal(elf_rela_check(link_base, IMAGE_SIZE, r, count, &err), -1);
	assert_int_equal(err.status, status);
	assert_int_equal(err.index, index);
	assert_int_equal(err.offset, r[index].r_offset);
	assert_int_equal(err.type, ELF64_R_TYPE(r[index].r_info));
	memset(&err, 0, sizeof(err));
	assert_int_equal(elf_rela_apply(image, link_base, LOAD_ADDRESS, IMAGE_SIZE, r, count, &err), -1);
	assert_int_equal(err.status, status);
	assert_int_equal(err.index, index);
	image_untouched();
}

static void test_refuses_other_types(void **state)
{
	const struct elf64_rela r64[] = { relative(0x0, 1), { 0x8, ELF64_R_INFO(SYMBOL_INDEX, R_X86_64_64), 0 } };
	const struct elf64_rela pc32[] = { { 0x8, ELF64_R_INFO(0, R_X86_64_PC32), 0 }, relative(0x0, 1) };
	(void)state;

	refused(r64, 2, LINK_ZERO, ELF_RELA_BAD_TYPE, 1);
	refused(pc32, 2, LINK_ZERO, ELF_RELA_BAD_TYPE, 0);
}

static void test_refuses_relative_with_symbol(void **state)
{
	const struct elf64_rela r[] = { relative(0x0, 1), { 0x8, ELF64_R_INFO(SYMBOL_INDEX, R_X86_64_RELATIVE), 0 } };
	(void)state;

	refused(r, 2, LINK_ZERO, ELF_RELA_BAD_SYMBOL, 1);
}

static void test_refuses_fields_outside_the_image(void **state)
{
	const struct elf64_rela past_end[] = { relative(0x0, 0), relative(IMAGE_SIZE - ELF_RELA_FIELD_SIZE + 1, 0) };
	const struct elf64_rela at_end[] = { relative(IMAGE_SIZE, 0) };
	const struct elf64_rela huge[] = { relative(UINT64_MAX - 3, 0) };
	const struct elf64_rela below_link[] = { relative(LINK_HIGH - ELF_RELA_FIELD_SIZE, 0) };
	const struct elf64_rela wrap[] = { relative(LINK_HIGH - 1 + (UINT64_MAX - LINK_HIGH + 1), 0) };
	(void)state;

	refused(past_end, 2, LINK_ZERO, ELF_RELA_OUT_OF_BOUNDS, 1);
	refused(at_end, 1, LINK_ZERO, ELF_RELA_OUT_OF_BOUNDS, 0);
	refused(huge, 1, LINK_ZERO, ELF_RELA_OUT_OF_BOUNDS, 0);
	refused(below_link, 1, LINK_HIGH, ELF_RELA_OUT_OF_BOUNDS, 0);
	refused(huge, 1, LINK_HIGH, ELF_RELA_OUT_OF_BOUNDS, 0);
	refused(wrap, 1, LINK_HIGH, ELF_RELA_OUT_OF_BOUNDS, 0);
}

static void test_image_smaller_than_a_field(void **state)
{
	const struct elf64_rela r[] = { relative(0x0, 0) };
	(void)state;

	assert_int_equal(elf_rela_check(LINK_ZERO, ELF_RELA_FIELD_SIZE - 1, r, 1, &err), -1);
	assert_int_equal(err.status, ELF_RELA_OUT_OF_BOUNDS);
	assert_int_equal(elf_rela_check(LINK_ZERO, 0, r, 1, &err), -1);
	assert_int_equal(elf_rela_check(LINK_ZERO, ELF_RELA_FIELD_SIZE, r, 1, &err), 0);
}

static void test_status_texts(void **state)
{
	(void)state;
	assert_non_null(strstr(elf_rela_status_text(ELF_RELA_BAD_TYPE), "R_X86_64_RELATIVE"));
	assert_non_null(strstr(elf_rela_status_text(ELF_RELA_BAD_SYMBOL), "symbol"));
	assert_non_null(strstr(elf_rela_status_text(ELF_RELA_OUT_OF_BOUNDS), "inside the image"));
	assert_non_null(elf_rela_status_text((enum elf_rela_status)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_relative_is_base_plus_addend, setup),
		cmocka_unit_test_setup(test_nonzero_link_base, setup),
		cmocka_unit_test_setup(test_load_below_link_wraps_correctly, setup),
		cmocka_unit_test_setup(test_applying_twice_gives_the_same_image, setup),
		cmocka_unit_test_setup(test_unaligned_field, setup),
		cmocka_unit_test_setup(test_none_is_skipped, setup),
		cmocka_unit_test_setup(test_empty_table, setup),
		cmocka_unit_test_setup(test_last_field_fits_exactly, setup),
		cmocka_unit_test_setup(test_refuses_other_types, setup),
		cmocka_unit_test_setup(test_refuses_relative_with_symbol, setup),
		cmocka_unit_test_setup(test_refuses_fields_outside_the_image, setup),
		cmocka_unit_test_setup(test_image_smaller_than_a_field, setup),
		cmocka_unit_test(test_status_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
