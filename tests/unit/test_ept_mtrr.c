/*
 * Host unit tests for vmm/mm/guest/ept_mtrr.c: guest RAM mapped with the memory types of the
 * host's MTRRs, checked page by page against mtrr_type_of_range() (SDM Vol. 3A 12.11).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ept_mtrr.h"

#define MiB (1024ull * 1024)
#define PG  EPT_PAGE_SIZE

/* Tables come from an aligned static pool; an HPA of a table is its pointer. */
#define POOL_PAGES 64
static uint8_t pool[POOL_PAGES][EPT_PAGE_SIZE] __attribute__((aligned(4096)));
static unsigned pool_used;

static uint64_t pool_alloc(void *ctx)
{
	(void)ctx;
	if (pool_used >= POOL_PAGES)
		return 0;
	memset(pool[pool_used], 0, EPT_PAGE_SIZE);
	return (uint64_t)(uintptr_t)pool[pool_used++];
}

static void *pool_ptr(void *ctx, uint64_t hpa)
{
	(void)ctx;
	return (void *)(uintptr_t)hpa;
}

static struct ept new_ept(void)
{
	pool_used = 0;
	struct ept e = { .alloc_table = pool_alloc, .hpa_to_ptr = pool_ptr, .allow_2m = true, .allow_1g = true };
	assert_int_equal(ept_init(&e), EPT_OK);
	return e;
}

/* A PC-like host: WB by default, fixed ranges with UC from 0xA0000 (VGA, ROMs) and a variable UC range. */
static struct mtrr_state host_mtrrs(uint64_t uc_base, uint64_t uc_size)
{
	struct mtrr_state s;
	memset(&s, 0, sizeof(s));
	s.enabled = s.fixed_supported = s.fixed_enabled = true;
	s.default_type = MTRR_TYPE_WB;
	s.phys_bits = 36;
	for (unsigned i = 0; i < MTRR_FIXED_RANGES; i++)
		s.fixed[i] = MTRR_TYPE_WB;
	for (unsigned i = 16; i < 24; i++) /* the 16 KiB ranges from 0xA0000 to 0xBFFFF */
		s.fixed[i] = MTRR_TYPE_UC;
	s.var_count = 1;
	s.var[0] = (struct mtrr_variable){ .base = uc_base, .mask = ~(uc_size - 1) & ((1ull << 36) - 1),
					   .type = MTRR_TYPE_UC, .valid = true };
	return s;
}

/* Every page of the run translates to its host page with the MTRR type of that host page. */
static void check_run(const struct ept *e, const struct mtrr_state *s, uint64_t gpa, uint64_t hpa, uint64_t len,
		      unsigned *leaves_2m, unsigned *leaves_4k)
{
	for (uint64_t off = 0; off < len; off += PG) {
		struct ept_walk w;
		assert_int_equal(ept_translate(e, gpa + off, &w), EPT_OK);
		assert_int_equal(w.hpa, hpa + off);
		const int want = s ? mtrr_type_of_range(s, hpa + off, PG) : (int)MTRR_TYPE_WB;
		if ((int)w.memtype != want)
			print_message("gpa %#llx (hpa %#llx): type %u, MTRRs say %d\n", (unsigned long long)(gpa + off),
				      (unsigned long long)(hpa + off), w.memtype, want);
		assert_int_equal(w.memtype, want);
		assert_int_equal(w.perm, EPT_RWX);
		/* A large leaf never spans two types. */
		if (w.page_size > PG) {
			const uint64_t base = (hpa + off) & ~(w.page_size - 1);
			assert_true(!s || mtrr_type_of_range(s, base, w.page_size) >= 0);
		}
		if ((gpa + off) % w.page_size == 0) {
			if (w.page_size == EPT_PAGE_SIZE_2M)
				++*leaves_2m;
			else if (w.page_size == PG)
				++*leaves_4k;
		}
	}
}

static void test_uniform_run_gets_large_pages(void **state)
{
	(void)state;
	struct ept e = new_ept();
	struct mtrr_state s = host_mtrrs(0xe0000000ull, 256 * MiB);
	unsigned l2m = 0, l4k = 0;
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 8 * MiB, EPT_RWX), EPT_OK);
	check_run(&e, &s, 0, 64 * MiB, 8 * MiB, &l2m, &l4k);
	assert_int_equal(l2m, 4);
	assert_int_equal(l4k, 0);
}

static void test_uc_hole_splits_only_its_2m_block(void **state)
{
	(void)state;
	struct ept e = new_ept();
	/* A 4 KiB UC page (an MMIO window, say) at host 66 MiB + 12 KiB, inside an 8 MiB run at host 64 MiB. */
	struct mtrr_state s = host_mtrrs(66 * MiB + 3 * PG, PG);
	unsigned l2m = 0, l4k = 0;
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 8 * MiB, EPT_RWX), EPT_OK);
	check_run(&e, &s, 0, 64 * MiB, 8 * MiB, &l2m, &l4k);
	assert_int_equal(l2m, 3);   /* the three uniform 2 MiB blocks */
	assert_int_equal(l4k, 512); /* the block with the hole, page by page */
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 2 * MiB + 3 * PG, &w), EPT_OK);
	assert_int_equal(w.memtype, MTRR_TYPE_UC);
	assert_int_equal(ept_translate(&e, 2 * MiB + 4 * PG, &w), EPT_OK);
	assert_int_equal(w.memtype, MTRR_TYPE_WB);
}

static void test_low_memory_follows_fixed_ranges(void **state)
{
	(void)state;
	struct ept e = new_ept();
	struct mtrr_state s = host_mtrrs(0xe0000000ull, 256 * MiB);
	unsigned l2m = 0, l4k = 0;
	/* Host [0, 2 MiB) mapped at guest 4 MiB: the VGA/ROM window is UC, the rest WB. */
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 4 * MiB, 0, 2 * MiB, EPT_RWX), EPT_OK);
	check_run(&e, &s, 4 * MiB, 0, 2 * MiB, &l2m, &l4k);
	assert_int_equal(l2m, 0);
	assert_int_equal(l4k, 512);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 4 * MiB + 0xa0000, &w), EPT_OK);
	assert_int_equal(w.memtype, MTRR_TYPE_UC);
}

static void test_unaligned_run_and_no_mtrrs(void **state)
{
	(void)state;
	struct ept e = new_ept();
	unsigned l2m = 0, l4k = 0;
	/* No MTRRs (CPUID says none): write-back throughout, and a run not 2 MiB aligned on the host. */
	assert_int_equal(ept_map_with_mtrr_types(&e, NULL, 0, 64 * MiB + PG, 3 * MiB, EPT_RWX), EPT_OK);
	check_run(&e, NULL, 0, 64 * MiB + PG, 3 * MiB, &l2m, &l4k);
	assert_int_equal(l2m, 0); /* gpa and hpa disagree modulo 2 MiB: 4 KiB leaves only */
	/* MTRRs disabled: everything is UC. */
	struct mtrr_state off = host_mtrrs(0xe0000000ull, 256 * MiB);
	off.enabled = false;
	assert_int_equal(ept_map_with_mtrr_types(&e, &off, 64 * MiB, 128 * MiB, 2 * MiB, EPT_RWX), EPT_OK);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 65 * MiB, &w), EPT_OK);
	assert_int_equal(w.memtype, MTRR_TYPE_UC);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_2M);
}

static void test_errors_pass_through(void **state)
{
	(void)state;
	struct ept e = new_ept();
	struct mtrr_state s = host_mtrrs(66 * MiB, PG);
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 4 * MiB, EPT_RWX), EPT_OK);
	/* Mapping it again: the split path reports the first clash. */
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 4 * MiB, EPT_RWX), EPT_ERR_MAPPED);
	/* Out of table memory. */
	pool_used = POOL_PAGES;
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 1ull << 40, 64 * MiB, 4 * MiB, EPT_RWX), EPT_ERR_NO_MEMORY);
}

/* Found by fuzzing (tests/fuzz/fuzz_ept.c): a host range beyond the MTRRs' MAXPHYADDR has no type
 * at any size, and the split recursed until the stack overflowed. */
static void test_range_beyond_maxphyaddr_refused(void **state)
{
	(void)state;
	struct ept e = new_ept();
	struct mtrr_state s = host_mtrrs(66 * MiB, PG); /* 36-bit MAXPHYADDR */
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 1ull << 36, PG, EPT_RWX), EPT_ERR_INVALID);
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, (1ull << 36) - 2 * MiB, 4 * MiB, EPT_RWX),
			 EPT_ERR_INVALID);
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 0, EPT_RWX), EPT_ERR_INVALID);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_NOT_MAPPED); /* the first 2 MiB were mapped, then removed */
}

/* Found by fuzzing: a run that fails half way (here: its second 2 MiB piece is already mapped)
 * left its first pieces mapped although the error says nothing was. */
static void test_failure_leaves_nothing_mapped(void **state)
{
	(void)state;
	struct ept e = new_ept();
	struct mtrr_state s = host_mtrrs(66 * MiB, PG); /* a UC page at 66 MiB: the run is split */
	assert_int_equal(ept_map(&e, 3 * MiB, 512 * MiB, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_map_with_mtrr_types(&e, &s, 0, 64 * MiB, 4 * MiB, EPT_RWX), EPT_ERR_MAPPED);
	struct ept_walk w;
	for (uint64_t gpa = 0; gpa < 4 * MiB; gpa += PG)
		assert_int_equal(ept_translate(&e, gpa, &w), gpa == 3 * MiB ? EPT_OK : EPT_ERR_NOT_MAPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform_run_gets_large_pages),
		cmocka_unit_test(test_uc_hole_splits_only_its_2m_block),
		cmocka_unit_test(test_low_memory_follows_fixed_ranges),
		cmocka_unit_test(test_unaligned_run_and_no_mtrrs),
		cmocka_unit_test(test_errors_pass_through),
		cmocka_unit_test(test_range_beyond_maxphyaddr_refused),
		cmocka_unit_test(test_failure_leaves_nothing_mapped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
