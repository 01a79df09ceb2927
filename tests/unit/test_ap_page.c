/*
 * Host unit tests for vmm/platform/ap_page.c: the page below 1 MiB that the application processors'
 * start-up trampoline is copied to (a STARTUP IPI's vector is its page number, SDM Vol. 3A 9.4.4.1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arch/apic.h>
#include "vmm/ap_start.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)

/* A BIOS machine's map: low RAM up to the EBDA at 639 KiB, the ROM hole, RAM from 1 MiB. */
static const struct bootinfo_mem_range bios_map[] = {
	{ 0, 639 * KiB, BI_MEM_USABLE, 0 },
	{ 639 * KiB, 1 * KiB, BI_MEM_RESERVED, 0 },
	{ 960 * KiB, 64 * KiB, BI_MEM_RESERVED, 0 },
	{ 1 * MiB, 255 * MiB, BI_MEM_USABLE, 0 },
};

static void test_highest_whole_page_below_the_ebda(void **state)
{
	(void)state;
	/* 639 KiB = 0x9fc00: the page 0x9f000 is cut by the EBDA, 0x9e000 is whole. */
	assert_int_equal(ap_trampoline_page(bios_map, 4, NULL, 0), 0x9e000);
}

static void test_whole_low_memory_gives_vector_0x9f(void **state)
{
	(void)state;
	const struct bootinfo_mem_range m[] = { { 0, 640 * KiB, BI_MEM_USABLE, 0 } };
	assert_int_equal(ap_trampoline_page(m, 1, NULL, 0), (uint64_t)APIC_SIPI_VECTOR_MAX << APIC_SIPI_PAGE_SHIFT);
}

static void test_exclusions_push_it_lower(void **state)
{
	(void)state;
	const struct ap_exclusion excl[] = { { 0x9d800, 0x9e001 } }; /* touches 0x9d000 and 0x9e000 */
	assert_int_equal(ap_trampoline_page(bios_map, 4, excl, 1), 0x9c000);
}

static void test_exclusion_end_is_exclusive(void **state)
{
	(void)state;
	const struct ap_exclusion excl[] = { { 0x9f000, 0xa0000 } };
	const struct bootinfo_mem_range m[] = { { 0, 640 * KiB, BI_MEM_USABLE, 0 } };
	assert_int_equal(ap_trampoline_page(m, 1, excl, 1), 0x9e000);
}

static void test_never_page_zero_nor_above_640k(void **state)
{
	(void)state;
	/* Usable RAM only at page 0 and in the video/ROM area: no allowed vector. */
	const struct bootinfo_mem_range m[] = {
		{ 0, 4 * KiB, BI_MEM_USABLE, 0 },
		{ 640 * KiB, 384 * KiB, BI_MEM_USABLE, 0 },
		{ 1 * MiB, 64 * MiB, BI_MEM_USABLE, 0 },
	};
	assert_int_equal(ap_trampoline_page(m, 3, NULL, 0), 0);
}

static void test_page_one_is_the_lowest_allowed(void **state)
{
	(void)state;
	const struct bootinfo_mem_range m[] = { { 4 * KiB, 4 * KiB, BI_MEM_USABLE, 0 } };
	assert_int_equal(ap_trampoline_page(m, 1, NULL, 0), 0x1000);
}

static void test_only_usable_ranges_count(void **state)
{
	(void)state;
	const struct bootinfo_mem_range m[] = {
		{ 0x10000, 0x1000, BI_MEM_LOADER, 0 },
		{ 0x20000, 0x1000, BI_MEM_ACPI_RECLAIM, 0 },
		{ 0x30000, 0x1000, BI_MEM_FIRMWARE, 0 },
		{ 0x40000, 0x1000, BI_MEM_USABLE, 0 },
	};
	assert_int_equal(ap_trampoline_page(m, 4, NULL, 0), 0x40000);
}

/* A page must lie inside one range: two adjacent half pages do not make one. */
static void test_page_split_across_ranges_is_refused(void **state)
{
	(void)state;
	const struct bootinfo_mem_range m[] = {
		{ 0x50000, 0x800, BI_MEM_USABLE, 0 },
		{ 0x50800, 0x800, BI_MEM_USABLE, 0 },
	};
	assert_int_equal(ap_trampoline_page(m, 2, NULL, 0), 0);
}

static void test_empty_map(void **state)
{
	(void)state;
	assert_int_equal(ap_trampoline_page(NULL, 0, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_highest_whole_page_below_the_ebda),
		cmocka_unit_test(test_whole_low_memory_gives_vector_0x9f),
		cmocka_unit_test(test_exclusions_push_it_lower),
		cmocka_unit_test(test_exclusion_end_is_exclusive),
		cmocka_unit_test(test_never_page_zero_nor_above_640k),
		cmocka_unit_test(test_page_one_is_the_lowest_allowed),
		cmocka_unit_test(test_only_usable_ranges_count),
		cmocka_unit_test(test_page_split_across_ranges_is_refused),
		cmocka_unit_test(test_empty_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
