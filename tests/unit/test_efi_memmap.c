/*
 * Host unit tests for the UEFI loader's memory-map translation (boot/efi/memmap.c),
 * compiled as is over the host stand-ins of tests/efi_host/efi_host.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "efi_host.h"
#include "../../boot/efi/memmap.c"

#define DESC_SIZE 48u /* what OVMF reports: sizeof(EFI_MEMORY_DESCRIPTOR) + 8 */
#define MAP_CAP   8

static _Alignas(8) UINT8 map[MAP_CAP * DESC_SIZE];
static struct bootinfo bi;

static void put(unsigned i, UINT32 type, UINT64 start, UINT64 pages)
{
	EFI_MEMORY_DESCRIPTOR d = { type, 0, start, 0, pages, 0 };
	memset(map + i * DESC_SIZE, 0xcc, DESC_SIZE);
	memcpy(map + i * DESC_SIZE, &d, sizeof(d));
}

static void test_adjacent_same_type_merged(void **state)
{
	(void)state;
	UINTN needed;
	put(0, EfiConventionalMemory, 0x100000, 16);
	put(1, EfiBootServicesData, 0x110000, 16); /* usable too, and adjacent */
	put(2, EfiACPIMemoryNVS, 0x120000, 1);
	assert_true(memmap_to_bootinfo(map, 3 * DESC_SIZE, DESC_SIZE, &bi, &needed));
	assert_int_equal(needed, 2);
	assert_int_equal(bi.mem_count, 2);
	assert_int_equal(bi.mem[0].base, 0x100000);
	assert_int_equal(bi.mem[0].length, 32 * EFI_PAGE_SIZE);
	assert_int_equal(bi.mem[0].type, BI_MEM_USABLE);
	assert_int_equal(bi.mem[1].type, BI_MEM_ACPI_NVS);
}

/* Found by fuzzing (tests/fuzz/fuzz_efi_memmap.c): a DescriptorSize of 0 never advanced (the loop
 * spun for ever, and main.c divided by it), one below sizeof(EFI_MEMORY_DESCRIPTOR) read past the
 * map, and one that is not a multiple of 8 misaligned the 64-bit fields. */
static void test_unusable_descriptor_sizes_refused(void **state)
{
	(void)state;
	UINTN needed = 99;
	put(0, EfiConventionalMemory, 0x100000, 16);
	assert_false(memmap_desc_size_ok(0));
	assert_false(memmap_desc_size_ok(sizeof(EFI_MEMORY_DESCRIPTOR) - 8));
	assert_false(memmap_desc_size_ok(sizeof(EFI_MEMORY_DESCRIPTOR) + 4));
	assert_true(memmap_desc_size_ok(sizeof(EFI_MEMORY_DESCRIPTOR)));
	assert_true(memmap_desc_size_ok(DESC_SIZE));
	assert_true(memmap_to_bootinfo(map, DESC_SIZE, 0, &bi, &needed)); /* returns at once: nothing read */
	assert_int_equal(needed, 0);
	assert_int_equal(bi.mem_count, 0);
}

/* Found by fuzzing: a descriptor whose page count overflows, or whose range runs past 2^64, came
 * out as a range with a wrapped length (and could be merged into its neighbour). */
static void test_wrapping_descriptors_skipped(void **state)
{
	(void)state;
	UINTN needed;
	put(0, EfiConventionalMemory, 0x100000, 16);
	put(1, EfiConventionalMemory, 0x110000, (UINT64)-1 / EFI_PAGE_SIZE + 2); /* pages * 4K overflows */
	put(2, EfiConventionalMemory, 0xfffffffffff00000ull, 0x200);             /* runs past 2^64 */
	put(3, EfiReservedMemoryType, 0x200000, 1);
	assert_true(memmap_to_bootinfo(map, 4 * DESC_SIZE, DESC_SIZE, &bi, &needed));
	assert_int_equal(needed, 2);
	assert_int_equal(bi.mem[0].base, 0x100000);
	assert_int_equal(bi.mem[0].length, 16 * EFI_PAGE_SIZE);
	assert_int_equal(bi.mem[1].base, 0x200000);
	assert_int_equal(bi.mem[1].type, BI_MEM_RESERVED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjacent_same_type_merged),
		cmocka_unit_test(test_unusable_descriptor_sizes_refused),
		cmocka_unit_test(test_wrapping_descriptors_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
