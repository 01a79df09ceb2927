/* Host unit tests for vmm/mm/host/pmm.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/memmap.h"
#include "vmm/pmm.h"

#define PG  PMM_PAGE_SIZE
#define KiB 1024ull
#define MiB (1024ull * KiB)

static struct bootinfo_mem_range rng(uint64_t base, uint64_t length, uint32_t type)
{
	struct bootinfo_mem_range r = { base, length, type, 0 };
	return r;
}

/* struct pmm is large: keep it off the stack. */
static struct pmm P;

/* Free-list invariants from pmm.h: sorted, disjoint, non-adjacent, page aligned, non-empty. */
static void check_invariants(const struct pmm *p)
{
	uint64_t sum = 0;
	assert_true(p->count <= PMM_MAX_EXTENTS);
	for (unsigned i = 0; i < p->count; i++) {
		assert_int_equal(p->free[i].base % PG, 0);
		assert_int_equal(p->free[i].end % PG, 0);
		assert_true(p->free[i].base < p->free[i].end);
		if (i)
			assert_true(p->free[i - 1].end < p->free[i].base);
		sum += (p->free[i].end - p->free[i].base) / PG;
	}
	assert_int_equal(sum, p->free_pages);
	assert_true(p->free_pages <= p->total_pages);
}

/*
 * A small machine: low memory, a hole, usable RAM split by a reserved range,
 * an unaligned usable tail, and ACPI memory.
 */
static const struct bootinfo_mem_range small_map[] = {
	{ 0x0, 0x9f000, BI_MEM_USABLE, 0 },
	{ 0x9f000, 0x61000, BI_MEM_RESERVED, 0 },
	{ 0x100000, 0x100000, BI_MEM_USABLE, 0 },       /* 1 MiB .. 2 MiB */
	{ 0x200000, 0x10000, BI_MEM_RESERVED, 0 },
	{ 0x210000, 0xf0000, BI_MEM_USABLE, 0 },        /* .. 3 MiB */
	{ 0x300000, 0x20000, BI_MEM_ACPI_RECLAIM, 0 },
	{ 0x320000, 0x20000, BI_MEM_USABLE, 0 },        /* .. 0x340000 */
};
#define SMALL_COUNT (sizeof(small_map) / sizeof(small_map[0]))

/* Monitor image with an unaligned end, a guest image with an unaligned start. */
static const struct pmm_exclusion small_excl[] = {
	{ 0x150000, 0x160800, "monitor" },  /* widened to [0x150000, 0x161000) */
	{ 0x2ff123, 0x300000, "guest" },    /* widened to [0x2ff000, 0x300000) */
	{ 0x338000, 0x338001, "bootinfo" }, /* one byte: one whole page */
};
#define SMALL_NEXCL (sizeof(small_excl) / sizeof(small_excl[0]))

/* Is the page at a expected to be handed out from the small machine? */
static bool small_page_allowed(uint64_t a)
{
	if (a < MiB)
		return false;
	bool usable = false;
	for (unsigned i = 0; i < SMALL_COUNT; i++)
		if (small_map[i].type == BI_MEM_USABLE && a >= small_map[i].base &&
		    a + PG <= small_map[i].base + small_map[i].length)
			usable = true;
	if (!usable)
		return false;
	for (unsigned i = 0; i < SMALL_NEXCL; i++) {
		uint64_t b = small_excl[i].base & ~(PG - 1);
		uint64_t e = (small_excl[i].end + PG - 1) & ~(PG - 1);
		if (a >= b && a < e)
			return false;
	}
	return true;
}

#define SPACE_PAGES (0x400000 / PG) /* the small machine lies below 4 MiB */

static uint64_t expected_small_pages(void)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < SPACE_PAGES; i++)
		n += small_page_allowed(i * PG);
	return n;
}

static void init_small(void)
{
	assert_int_equal(pmm_init(&P, small_map, SMALL_COUNT, small_excl, SMALL_NEXCL, MiB), 0);
	check_invariants(&P);
}

static void test_init_counts(void **state)
{
	(void)state;
	init_small();
	/* 256 + 240 + 32 pages above 1 MiB, minus 17 + 1 + 1 excluded. */
	assert_int_equal(expected_small_pages(), 256 + 240 + 32 - 17 - 1 - 1);
	assert_int_equal(P.total_pages, expected_small_pages());
	assert_int_equal(P.free_pages, P.total_pages);
	/* Largest extent: [0x210000, 0x2ff000) = 239 pages. */
	assert_int_equal(pmm_largest_free(&P), 239);
}

static void test_allocate_everything_only_allowed_frames(void **state)
{
	(void)state;
	static bool seen[SPACE_PAGES];
	memset(seen, 0, sizeof(seen));
	init_small();

	uint64_t got = 0, prev = 0;
	for (;;) {
		uint64_t a = pmm_alloc(&P, 1, 0);
		if (a == PMM_NO_MEMORY)
			break;
		assert_int_equal(a % PG, 0);
		assert_true(a < SPACE_PAGES * PG);
		assert_true(small_page_allowed(a)); /* never excluded, below 1 MiB or non-usable */
		assert_false(seen[a / PG]);         /* never twice */
		seen[a / PG] = true;
		assert_true(a > prev);              /* first fit: lowest address first */
		prev = a;
		got++;
		check_invariants(&P);
	}
	/* Every allowed page was handed out. */
	assert_int_equal(got, expected_small_pages());
	for (uint64_t i = 0; i < SPACE_PAGES; i++)
		assert_int_equal(seen[i], small_page_allowed(i * PG));
	assert_int_equal(P.free_pages, 0);
	assert_int_equal(P.count, 0);
	assert_int_equal(pmm_largest_free(&P), 0);
	assert_int_equal(pmm_alloc(&P, 1, 0), PMM_NO_MEMORY);
}

static void test_multi_page_allocations_stay_inside_extents(void **state)
{
	(void)state;
	init_small();
	/* 64 pages: the first fit is at 1 MiB ([0x100000, 0x150000) has 80 pages). */
	assert_int_equal(pmm_alloc(&P, 64, 0), 0x100000);
	/* 32 more do not fit in the 16 left below the monitor: next is [0x161000, 0x200000). */
	assert_int_equal(pmm_alloc(&P, 32, 0), 0x161000);
	/* Larger than any extent. */
	assert_int_equal(pmm_alloc(&P, 240, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, 239, 0), 0x210000);
	check_invariants(&P);
}

static void test_alignment(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = { rng(MiB + PG, 15 * MiB - PG, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, m, 1, NULL, 0, MiB), 0);
	assert_int_equal(P.total_pages, (15 * MiB - PG) / PG);

	uint64_t a = pmm_alloc(&P, 1, 2 * MiB);
	assert_int_equal(a, 2 * MiB);
	uint64_t b = pmm_alloc(&P, 512, 2 * MiB);
	assert_int_equal(b, 4 * MiB);
	uint64_t c = pmm_alloc(&P, 512, 2 * MiB);
	assert_int_equal(c, 6 * MiB);
	/* Every 2 MiB-aligned allocation really is aligned. */
	for (uint64_t x; (x = pmm_alloc(&P, 1, 2 * MiB)) != PMM_NO_MEMORY;)
		assert_int_equal(x % (2 * MiB), 0);
	check_invariants(&P);

	/* The gaps left by alignment are still there for 4 KiB allocations, lowest first. */
	assert_int_equal(pmm_alloc(&P, 1, 0), MiB + PG);
	assert_int_equal(pmm_alloc(&P, 1, PG), MiB + 2 * PG);
	/* 64 KiB alignment. */
	uint64_t d = pmm_alloc(&P, 3, 64 * KiB);
	assert_int_equal(d, MiB + 64 * KiB);
	check_invariants(&P);
}

static void test_bad_requests(void **state)
{
	(void)state;
	init_small();
	uint64_t before = P.free_pages;
	assert_int_equal(pmm_alloc(&P, 0, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, 1, 3 * PG), PMM_NO_MEMORY);  /* not a power of two */
	assert_int_equal(pmm_alloc(&P, 1, 2048), PMM_NO_MEMORY);    /* below a page */
	assert_int_equal(pmm_alloc(&P, UINT64_MAX, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, UINT64_MAX / PG + 1, 0), PMM_NO_MEMORY);
	/* An alignment larger than memory finds nothing. */
	assert_int_equal(pmm_alloc(&P, 1, 1ull << 40), PMM_NO_MEMORY);
	assert_int_equal(P.free_pages, before);
	check_invariants(&P);
}

static void test_free_coalesces_to_full_extent(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = { rng(MiB, MiB, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, m, 1, NULL, 0, MiB), 0);
	assert_int_equal(P.count, 1);

	uint64_t blocks[16];
	for (int i = 0; i < 16; i++) {
		blocks[i] = pmm_alloc(&P, 16, 0);
		assert_int_equal(blocks[i], MiB + (uint64_t)i * 16 * PG);
	}
	assert_int_equal(P.free_pages, 0);

	/* Free in a scrambled order: 5, 3, 4 (joins both sides), 0, 15, ... */
	static const int order[16] = { 5, 3, 4, 0, 15, 1, 2, 9, 7, 8, 12, 14, 13, 6, 10, 11 };
	for (int i = 0; i < 16; i++) {
		assert_int_equal(pmm_free(&P, blocks[order[i]], 16), 0);
		check_invariants(&P);
	}
	assert_int_equal(P.count, 1);
	assert_int_equal(P.free[0].base, MiB);
	assert_int_equal(P.free[0].end, 2 * MiB);
	assert_int_equal(P.free_pages, P.total_pages);
	assert_int_equal(pmm_largest_free(&P), 256);

	/* The whole MiB can be allocated in one piece again. */
	assert_int_equal(pmm_alloc(&P, 256, 0), MiB);
}

static void test_free_reuses_lowest(void **state)
{
	(void)state;
	init_small();
	uint64_t a = pmm_alloc(&P, 1, 0);
	uint64_t b = pmm_alloc(&P, 1, 0);
	assert_int_equal(a, 0x100000);
	assert_int_equal(b, 0x101000);
	assert_int_equal(pmm_free(&P, a, 1), 0);
	assert_int_equal(pmm_alloc(&P, 1, 0), a);
}

static void test_double_free_and_bad_free(void **state)
{
	(void)state;
	init_small();
	uint64_t a = pmm_alloc(&P, 4, 0);
	uint64_t c = pmm_alloc(&P, 60, 0); /* keeps plenty allocated, so only overlap can tell */
	assert_int_equal(a, 0x100000);
	assert_int_equal(c, 0x104000);
	assert_int_equal(pmm_free(&P, a, 4), 0);

	static struct pmm snapshot;
	memcpy(&snapshot, &P, sizeof(P));
	assert_int_equal(pmm_free(&P, a, 4), -1);          /* double free */
	assert_int_equal(pmm_free(&P, a + PG, 1), -1);     /* inside a free extent */
	assert_int_equal(pmm_free(&P, 0x180000, 1), -1);   /* never allocated (free) */
	assert_int_equal(pmm_free(&P, 0x103000, 2), -1);   /* last free page + first allocated */
	snapshot.lock = P.lock; /* the lock's tickets move with every call */
	assert_int_equal(memcmp(&snapshot, &P, sizeof(P)), 0); /* unchanged */

	/* Partly free: b is allocated, the page after it is not. */
	uint64_t b = pmm_alloc(&P, 1, 0);
	assert_int_equal(b, 0x100000);
	memcpy(&snapshot, &P, sizeof(P));
	assert_int_equal(pmm_free(&P, b, 2), -1);
	/* Allocated block plus the free page before it. */
	assert_int_equal(pmm_free(&P, c - PG, 61), -1);
	snapshot.lock = P.lock; /* the lock's tickets move with every call */
	assert_int_equal(memcmp(&snapshot, &P, sizeof(P)), 0);

	/*
	 * Starts right where a free extent ends and runs into the next free
	 * extent ([0x140000, 0x150000)).  Enough else is allocated that only the
	 * overlap check can catch it.
	 */
	assert_int_equal(pmm_alloc(&P, 100, 0), 0x161000);
	assert_int_equal(P.free[0].end, 0x104000);
	memcpy(&snapshot, &P, sizeof(P));
	assert_int_equal(pmm_free(&P, 0x104000, 61), -1);
	snapshot.lock = P.lock; /* the lock's tickets move with every call */
	assert_int_equal(memcmp(&snapshot, &P, sizeof(P)), 0);
	assert_int_equal(pmm_free(&P, 0x161000, 100), 0);
	memcpy(&snapshot, &P, sizeof(P));

	/* Malformed requests. */
	assert_int_equal(pmm_free(&P, b + 1, 1), -1);       /* unaligned */
	assert_int_equal(pmm_free(&P, b, 0), -1);           /* empty */
	assert_int_equal(pmm_free(&P, 0, 1), -1);           /* page 0 is never managed */
	assert_int_equal(pmm_free(&P, UINT64_MAX & ~(PG - 1), 1), -1); /* past the top */
	assert_int_equal(pmm_free(&P, c, 62), -1);          /* more than is allocated */
	snapshot.lock = P.lock; /* the lock's tickets move with every call */
	assert_int_equal(memcmp(&snapshot, &P, sizeof(P)), 0);

	assert_int_equal(pmm_free(&P, b, 1), 0);
	assert_int_equal(pmm_free(&P, c, 60), 0);
	assert_int_equal(P.free_pages, P.total_pages);
	assert_int_equal(pmm_largest_free(&P), 239);
	check_invariants(&P);
}

static void test_no_usable_ram_above_min(void **state)
{
	(void)state;
	/* Usable memory only below 1 MiB. */
	struct bootinfo_mem_range low[] = {
		rng(0x0, 0x9f000, BI_MEM_USABLE),
		rng(0x9f000, 0x61000, BI_MEM_RESERVED),
		rng(0x100000, 0x1000000, BI_MEM_RESERVED),
		rng(0x1100000, 0x100000, BI_MEM_ACPI_NVS),
	};
	assert_int_equal(pmm_init(&P, low, 4, NULL, 0, MiB), -1);
	assert_int_equal(P.free_pages, 0);
	assert_int_equal(pmm_alloc(&P, 1, 0), PMM_NO_MEMORY);

	/* Usable memory above 1 MiB, but all of it excluded. */
	struct bootinfo_mem_range some[] = { rng(0x100000, 0x100000, BI_MEM_USABLE) };
	struct pmm_exclusion all[] = { { 0xff800, 0x200001, "everything" } };
	assert_int_equal(pmm_init(&P, some, 1, all, 1, MiB), -1);

	/* Usable memory above 1 MiB, smaller than a page once aligned. */
	struct bootinfo_mem_range sliver[] = { rng(0x100800, 0x1000, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, sliver, 1, NULL, 0, MiB), -1);

	/* Empty map. */
	assert_int_equal(pmm_init(&P, NULL, 0, NULL, 0, MiB), -1);
}

static void test_min_addr_rounded_up(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = { rng(0x0, 0x200000, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, m, 1, NULL, 0, 0x100001), 0);
	assert_int_equal(P.free[0].base, 0x101000);
	assert_int_equal(P.total_pages, (0x200000 - 0x101000) / PG);
	assert_int_equal(pmm_alloc(&P, 1, 0), 0x101000);

	/* min_addr 0: page 0 is still never handed out (it would read as PMM_NO_MEMORY). */
	assert_int_equal(pmm_init(&P, m, 1, NULL, 0, 0), 0);
	assert_int_equal(P.total_pages, 0x200000 / PG - 1);
	uint64_t a = pmm_alloc(&P, 1, 0);
	assert_int_equal(a, PG);
}

static void test_exhaustion(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[] = { rng(MiB, 8 * PG, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, m, 1, NULL, 0, MiB), 0);
	assert_int_equal(pmm_alloc(&P, 9, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, 5, 0), MiB);
	assert_int_equal(pmm_alloc(&P, 4, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, 3, 0), MiB + 5 * PG);
	assert_int_equal(P.free_pages, 0);
	assert_int_equal(pmm_alloc(&P, 1, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_free(&P, MiB + 2 * PG, 2), 0);
	assert_int_equal(pmm_alloc(&P, 3, 0), PMM_NO_MEMORY);
	assert_int_equal(pmm_alloc(&P, 2, 0), MiB + 2 * PG);
}

static void test_unnormalised_map_and_many_extents(void **state)
{
	(void)state;
	/* Overlapping usable ranges in reverse order are merged; non-usable ignored. */
	struct bootinfo_mem_range m[] = {
		rng(0x300000, 0x100000, BI_MEM_USABLE),
		rng(0x180000, 0x200000, BI_MEM_USABLE),
		rng(0x100000, 0x80000, BI_MEM_USABLE),
		rng(0x100000, 0x400000, BI_MEM_LOADER),
	};
	assert_int_equal(pmm_init(&P, m, 4, NULL, 0, MiB), 0);
	assert_int_equal(P.count, 1);
	assert_int_equal(P.total_pages, 0x300000 / PG);

	/* Freeing every other page fills the extent table exactly; freeing the rest joins them. */
	struct bootinfo_mem_range big[] = { rng(MiB, 1026 * PG, BI_MEM_USABLE) };
	assert_int_equal(pmm_init(&P, big, 1, NULL, 0, MiB), 0);
	static uint64_t pages[1026];
	for (int i = 0; i < 1026; i++)
		assert_int_equal(pages[i] = pmm_alloc(&P, 1, 0), MiB + (uint64_t)i * PG);
	for (int i = 0; i < 1024; i += 2)
		assert_int_equal(pmm_free(&P, pages[i], 1), 0);
	assert_int_equal(P.count, PMM_MAX_EXTENTS);
	check_invariants(&P);
	/* A 2-page request cannot be met by 1-page holes. */
	assert_int_equal(pmm_alloc(&P, 2, 0), PMM_NO_MEMORY);
	/* A 513th extent does not fit: the free is refused and nothing changes. */
	uint64_t before = P.free_pages;
	assert_int_equal(pmm_free(&P, pages[1024], 1), -1);
	assert_int_equal(P.free_pages, before);
	assert_int_equal(P.count, PMM_MAX_EXTENTS);
	for (int i = 1; i < 1026; i += 2)
		assert_int_equal(pmm_free(&P, pages[i], 1), 0);
	assert_int_equal(pmm_free(&P, pages[1024], 1), 0);
	assert_int_equal(P.count, 1);
	assert_int_equal(P.free_pages, 1026);
	check_invariants(&P);
}

/* Normalise a firmware-style map, then build the allocator from it. */
static void test_with_normalised_map(void **state)
{
	(void)state;
	struct bootinfo_mem_range m[8] = {
		rng(0x100000, 0x7f00000, BI_MEM_USABLE),
		rng(0x0, 0xa0000, BI_MEM_USABLE),
		rng(0x4000000, 0x1000, BI_MEM_RESERVED), /* a hole in the middle */
		rng(0xa0000, 0x60000, BI_MEM_RESERVED),
	};
	unsigned n = 4;
	assert_int_equal(memmap_normalize(m, &n, 8), 0);
	assert_int_equal(pmm_init(&P, m, n, NULL, 0, MiB), 0);
	assert_int_equal(P.count, 2);
	assert_int_equal(P.total_pages, (0x7f00000 - 0x1000) / PG);
	assert_int_equal(P.total_pages * PG, memmap_usable_bytes(m, n, MiB));
	/* 63 MiB + 4 KiB does not fit below the hole ([1 MiB, 64 MiB)); it comes from above it. */
	assert_int_equal(pmm_alloc(&P, (63 * MiB + PG) / PG, 0), 0x4001000);
	assert_int_equal(pmm_alloc(&P, 61 * MiB / PG, 2 * MiB), 2 * MiB);
	check_invariants(&P);
}

/* Found by fuzzing (tests/fuzz/fuzz_pmm.c): frames the allocator never managed were taken "back". */
static void test_free_of_unmanaged_frames_refused(void **state)
{
	(void)state;
	init_small();
	assert_int_equal(pmm_alloc(&P, 64, 0), 0x100000); /* plenty allocated: only the range can tell */
	static struct pmm snapshot;
	memcpy(&snapshot, &P, sizeof(P));
	assert_int_equal(pmm_free(&P, 0x150000, 1), -1);   /* the monitor image (an exclusion) */
	assert_int_equal(pmm_free(&P, 0x2ff000, 1), -1);   /* the guest image (an exclusion) */
	assert_int_equal(pmm_free(&P, 0x200000, 4), -1);   /* reserved memory */
	assert_int_equal(pmm_free(&P, 0x300000, 1), -1);   /* ACPI memory */
	assert_int_equal(pmm_free(&P, 0x80000, 1), -1);    /* usable, but below min_addr */
	assert_int_equal(pmm_free(&P, 0x1000000, 2), -1);  /* beyond the RAM */
	snapshot.lock = P.lock; /* the lock's tickets move with every call */
	assert_int_equal(memcmp(&snapshot, &P, sizeof(P)), 0);
	assert_int_equal(pmm_free(&P, 0x100000, 64), 0);
	assert_int_equal(P.free_pages, P.total_pages);
	check_invariants(&P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_counts),
		cmocka_unit_test(test_allocate_everything_only_allowed_frames),
		cmocka_unit_test(test_multi_page_allocations_stay_inside_extents),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_free_coalesces_to_full_extent),
		cmocka_unit_test(test_free_reuses_lowest),
		cmocka_unit_test(test_double_free_and_bad_free),
		cmocka_unit_test(test_no_usable_ram_above_min),
		cmocka_unit_test(test_min_addr_rounded_up),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_unnormalised_map_and_many_extents),
		cmocka_unit_test(test_with_normalised_map),
		cmocka_unit_test(test_free_of_unmanaged_frames_refused),
	};
	return cmocka_run_group_tests_name("pmm", tests, NULL, NULL);
}
