/* Host unit tests for vmm/mm/guest/ept.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ept.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define PG  EPT_PAGE_SIZE

/*
 * "Host-physical" memory for the tables: an aligned static pool; an HPA is the
 * pool pointer cast to uint64_t.  Mapped HPAs are only numbers: EPT never
 * touches the memory it maps.
 */
#define POOL_PAGES 64
static uint8_t pool[POOL_PAGES][EPT_PAGE_SIZE] __attribute__((aligned(4096)));

struct pool_ctx {
	unsigned used;
	unsigned limit; /* allocations allowed in total */
	unsigned calls;
};

static uint64_t pool_alloc(void *ctx)
{
	struct pool_ctx *c = ctx;
	c->calls++;
	if (c->used >= c->limit || c->used >= POOL_PAGES)
		return 0;
	uint8_t *p = pool[c->used++];
	memset(p, 0xa5, EPT_PAGE_SIZE); /* dirty on purpose: ept must clear what it gets */
	return (uint64_t)(uintptr_t)p;
}

static void *pool_ptr(void *ctx, uint64_t hpa)
{
	(void)ctx;
	return (void *)(uintptr_t)hpa;
}

static struct pool_ctx PC;

static struct ept new_ept(bool allow_2m, bool allow_1g, unsigned limit)
{
	memset(&PC, 0, sizeof(PC));
	PC.limit = limit;
	struct ept e = { 0 };
	e.alloc_table = pool_alloc;
	e.hpa_to_ptr = pool_ptr;
	e.ctx = &PC;
	e.allow_2m = allow_2m;
	e.allow_1g = allow_1g;
	assert_int_equal(ept_init(&e), EPT_OK);
	assert_int_equal(e.table_pages, 1);
	return e;
}

/* One mapped chunk of the test layouts. */
struct chunk {
	uint64_t gpa, hpa, size;
	unsigned perm, memtype;
};

/*
 * The leaf size the builder must pick for the page at gpa in chunk c: the
 * largest allowed size S whose S-aligned block around gpa lies inside the chunk
 * with gpa and hpa congruent modulo S.  Computed independently of ept.c.
 */
static uint64_t expected_leaf(const struct ept *e, const struct chunk *c, uint64_t gpa)
{
	const uint64_t sizes[] = { EPT_PAGE_SIZE_1G, EPT_PAGE_SIZE_2M };
	const bool allowed[] = { e->allow_1g, e->allow_2m };
	for (unsigned i = 0; i < 2; i++) {
		const uint64_t s = sizes[i], block = gpa & ~(s - 1);
		const uint64_t hpa = c->hpa + (gpa - c->gpa);
		if (allowed[i] && block >= c->gpa && block + s <= c->gpa + c->size && ((gpa ^ hpa) & (s - 1)) == 0)
			return s;
	}
	return EPT_PAGE_SIZE;
}

/* Walk every 4 KiB page of every chunk and compare. */
static void check_layout(const struct ept *e, const struct chunk *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (uint64_t off = 0; off < c[i].size; off += PG) {
			struct ept_walk w;
			const uint64_t gpa = c[i].gpa + off;
			assert_int_equal(ept_translate(e, gpa + 0x123, &w), EPT_OK);
			assert_int_equal(w.hpa, c[i].hpa + off + 0x123);
			assert_int_equal(w.perm, c[i].perm);
			assert_int_equal(w.memtype, c[i].memtype);
			assert_int_equal(w.page_size, expected_leaf(e, &c[i], gpa));
			assert_int_equal(w.level, w.page_size == EPT_PAGE_SIZE_1G   ? EPT_LEVEL_PDPT
						  : w.page_size == EPT_PAGE_SIZE_2M ? EPT_LEVEL_PD
										: EPT_LEVEL_PT);
			assert_true(((w.entry & EPTE_LARGE_PAGE) != 0) == (w.page_size != EPT_PAGE_SIZE));
			assert_int_equal(*(uint64_t *)(uintptr_t)w.entry_hpa, w.entry);
			assert_false(w.ignore_pat);
		}
	}
}

/*
 * 64 MiB of guest RAM from five host chunks, plus 1 GiB + 4 MiB above 1 GiB:
 *  [0, 2M)          host 4K-aligned only            -> 512 x 4K
 *  [2M, 16M)        host 2M-aligned                 -> 7 x 2M
 *  [16M, 16M+64K)   host 4K-aligned, R only, UC     -> 16 x 4K
 *  [16M+64K, 20M)   congruent mod 2M from 18M       -> 4K up to 18M, then 1 x 2M
 *  [20M, 64M)       host 2M-aligned, R+X            -> 22 x 2M
 *  [1G, 2G+4M)      host 1G-aligned                 -> 1 x 1G, 2 x 2M
 */
static const struct chunk layout[] = {
	{ 0, 0x40001000ull, 2 * MiB, EPT_RWX, EPT_MEMTYPE_WB },
	{ 2 * MiB, 0x200200000ull, 14 * MiB, EPT_RWX, EPT_MEMTYPE_WB },
	{ 16 * MiB, 0x300010000ull, 64 * KiB, EPT_READ, EPT_MEMTYPE_UC },
	{ 16 * MiB + 64 * KiB, 0x501010000ull, 4 * MiB - 64 * KiB, EPT_READ | EPT_WRITE, EPT_MEMTYPE_WT },
	{ 20 * MiB, 0x600400000ull, 44 * MiB, EPT_READ | EPT_EXEC, EPT_MEMTYPE_WB },
	{ 1 * GiB, 0x4040000000ull, 1 * GiB + 4 * MiB, EPT_RWX, EPT_MEMTYPE_WB },
};
#define LAYOUT_N (sizeof(layout) / sizeof(layout[0]))

static void map_layout(struct ept *e)
{
	for (unsigned i = 0; i < LAYOUT_N; i++)
		assert_int_equal(ept_map(e, layout[i].gpa, layout[i].hpa, layout[i].size, layout[i].perm,
					 layout[i].memtype),
				 EPT_OK);
}

static void test_layout_walk_every_page(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	map_layout(&e);
	check_layout(&e, layout, LAYOUT_N);
	/* PML4, PDPT, PD for [0, 1G), 2 PTs (for [0, 2M) and [16M, 18M)), PD for [2G, 3G). */
	assert_int_equal(e.table_pages, 6);
	assert_int_equal(PC.used, 6);

	/* Spot checks of the sizes picked. */
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 17 * MiB, &w), EPT_OK);
	assert_int_equal(w.page_size, PG);
	assert_int_equal(ept_translate(&e, 18 * MiB, &w), EPT_OK);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_2M);
	assert_int_equal(w.hpa, 0x501200000ull);
	assert_int_equal(ept_translate(&e, 1 * GiB + 12345, &w), EPT_OK);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_1G);
	assert_int_equal(w.hpa, 0x4040000000ull + 12345);
	assert_int_equal(ept_translate(&e, 2 * GiB + 2 * MiB, &w), EPT_OK);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_2M);
}

static void test_layout_without_large_pages(void **state)
{
	(void)state;
	/* 4K only: the same 64 MiB need 32 PTs (+ PML4, PDPT, PD). */
	struct ept e = new_ept(false, false, POOL_PAGES);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(ept_map(&e, layout[i].gpa, layout[i].hpa, layout[i].size, layout[i].perm,
					 layout[i].memtype),
				 EPT_OK);
	check_layout(&e, layout, 5);
	assert_int_equal(e.table_pages, 3 + 32);
}

static void test_2m_without_1g(void **state)
{
	(void)state;
	/* A 1G-aligned chunk with only 2M allowed: 2M leaves, no 1G leaf. */
	struct ept e = new_ept(true, false, POOL_PAGES);
	const struct chunk c = { 1 * GiB, 0x4040000000ull, 1 * GiB, EPT_RWX, EPT_MEMTYPE_WB };
	assert_int_equal(ept_map(&e, c.gpa, c.hpa, c.size, c.perm, c.memtype), EPT_OK);
	check_layout(&e, &c, 1);
	assert_int_equal(e.table_pages, 3);
}

static void test_1g_without_2m(void **state)
{
	(void)state;
	/* allow_1g alone: 1G where possible, 4K elsewhere (never 2M). */
	struct ept e = new_ept(false, true, POOL_PAGES);
	const struct chunk c = { 1 * GiB - 4 * MiB, 0x4040000000ull - 4 * MiB, 1 * GiB + 8 * MiB, EPT_RWX,
				 EPT_MEMTYPE_WB };
	assert_int_equal(ept_map(&e, c.gpa, c.hpa, c.size, c.perm, c.memtype), EPT_OK);
	check_layout(&e, &c, 1);
}

static void test_overlap_refused(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	map_layout(&e);
	const unsigned tables = e.table_pages;
	/* Over 4K pages, a 2M leaf, a 1G leaf; partially and entirely. */
	assert_int_equal(ept_map(&e, 1 * MiB, 0x7000000000ull, 2 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_MAPPED);
	assert_int_equal(ept_map(&e, 5 * MiB, 0x7000000000ull, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_MAPPED);
	assert_int_equal(ept_map(&e, 1 * GiB + 4 * MiB, 0x7000000000ull, PG, EPT_RWX, EPT_MEMTYPE_WB),
			 EPT_ERR_MAPPED);
	/* A range that starts in a hole and ends in a mapping: nothing of it gets mapped. */
	assert_int_equal(ept_map(&e, 64 * MiB, 0x7000000000ull, 1 * GiB - 64 * MiB + PG, EPT_RWX, EPT_MEMTYPE_WB),
			 EPT_ERR_MAPPED);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 64 * MiB, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(ept_translate(&e, 1 * GiB - PG, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(e.table_pages, tables);
	check_layout(&e, layout, LAYOUT_N);

	/*
	 * The check comes before any change: a range whose first pages would need
	 * new tables and whose end hits a 2M leaf allocates nothing.
	 */
	struct ept f = new_ept(true, true, POOL_PAGES);
	assert_int_equal(ept_map(&f, 4 * MiB, 0x100400000ull, 2 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	const unsigned before = f.table_pages;
	assert_int_equal(ept_map(&f, 0, 0x200001000ull, 8 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_MAPPED);
	assert_int_equal(f.table_pages, before);
	assert_int_equal(ept_translate(&f, 0, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PD);
}

static void test_not_mapped(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PML4);
	assert_int_equal(w.entry, 0);
	assert_int_equal(w.entry_hpa, e.pml4);

	assert_int_equal(ept_map(&e, 0, 0x100000ull, PG, EPT_READ, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_translate(&e, PG, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PT);
	assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PD);
	assert_int_equal(ept_translate(&e, 1 * GiB, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PDPT);
	assert_int_equal(ept_translate(&e, 1ull << 39, &w), EPT_ERR_NOT_MAPPED);
	assert_int_equal(w.level, EPT_LEVEL_PML4);
	/* Beyond the 48-bit guest-physical space. */
	assert_int_equal(ept_translate(&e, 1ull << 48, &w), EPT_ERR_INVALID);
}

static void test_invalid_arguments(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	const uint64_t h = 0x100000000ull;
	assert_int_equal(ept_map(&e, 0x800, h, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h + 0x800, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG + 1, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, 0, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, (1ull << 48) - PG, h, 2 * PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, ~0ull & ~(PG - 1), 2 * PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, (1ull << 52) - PG, 2 * PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, 0, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_WRITE, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_WRITE | EPT_EXEC, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_EXEC, EPT_MEMTYPE_WB), EPT_ERR_INVALID); /* no exec-only */
	assert_int_equal(ept_map(&e, 0, h, PG, 8, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_RWX, 2), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_RWX, 3), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_RWX, 7), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, h, PG, EPT_RWX, 0x200 | EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	/* A smaller MAXPHYADDR limits the host addresses (the pool's own addresses are below 2^47). */
	e.maxphyaddr = 48;
	assert_int_equal(ept_map(&e, 0, 1ull << 48, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_INVALID);
	assert_int_equal(ept_map(&e, 0, (1ull << 48) - 2 * PG, 2 * PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	e.maxphyaddr = 0;
	/* Execute-only where the CPU supports it. */
	e.allow_exec_only = true;
	assert_int_equal(ept_map(&e, 4 * PG, h, PG, EPT_EXEC, EPT_MEMTYPE_WB), EPT_OK);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 4 * PG, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_EXEC);

	struct ept bad = { 0 };
	assert_int_equal(ept_init(&bad), EPT_ERR_INVALID);
}

static void test_alloc_failure(void **state)
{
	(void)state;
	/* PML4 allocation fails. */
	memset(&PC, 0, sizeof(PC));
	struct ept e0 = { .alloc_table = pool_alloc, .hpa_to_ptr = pool_ptr, .ctx = &PC };
	assert_int_equal(ept_init(&e0), EPT_ERR_NO_MEMORY);

	/*
	 * 4K pages over [0, 4M + 4K) need 3 PTs; with room for PML4, PDPT, PD and
	 * 2 PTs the third PT fails: the error comes back and no page stays mapped.
	 */
	struct ept e = new_ept(true, true, 5);
	const uint64_t h = 0x100001000ull, size = 4 * MiB + PG;
	assert_int_equal(ept_map(&e, 0, h, size, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_NO_MEMORY);
	assert_int_equal(e.table_pages, 5);
	for (uint64_t g = 0; g < size; g += PG) {
		struct ept_walk w;
		assert_int_equal(ept_translate(&e, g, &w), EPT_ERR_NOT_MAPPED);
	}
	/* With more memory the same call succeeds, reusing the tables left behind. */
	PC.limit = 6;
	assert_int_equal(ept_map(&e, 0, h, size, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(e.table_pages, 6);
	const struct chunk c = { 0, h, size, EPT_RWX, EPT_MEMTYPE_WB };
	check_layout(&e, &c, 1);

	/* Failure on the very first table below the PML4. */
	struct ept e2 = new_ept(true, true, 1);
	assert_int_equal(ept_map(&e2, 0, h, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_ERR_NO_MEMORY);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e2, 0, &w), EPT_ERR_NOT_MAPPED);
}

/* Pointer to the entry a successful or failed walk ended at. */
static uint64_t *entry_of(const struct ept *e, uint64_t gpa)
{
	struct ept_walk w;
	(void)ept_translate(e, gpa, &w);
	return (uint64_t *)(uintptr_t)w.entry_hpa;
}

static void test_misconfiguration(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	assert_int_equal(ept_map(&e, 0, 0x100000000ull, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_map(&e, 2 * MiB, 0x100200000ull, 2 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_map(&e, 1 * GiB, 0x140000000ull, 1 * GiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	uint64_t *pte = entry_of(&e, 0), *pde2m = entry_of(&e, 2 * MiB), *pdpte1g = entry_of(&e, 1 * GiB);
	uint64_t *pml4e = (uint64_t *)(uintptr_t)e.pml4;
	const uint64_t pte0 = *pte, pde0 = *pde2m, pdpte0 = *pdpte1g, pml4e0 = *pml4e;
	struct ept_walk w;

	/* Write without read; write+execute without read. */
	*pte = (pte0 & ~EPTE_PERM_MASK) | EPTE_WRITE;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	assert_int_equal(w.level, EPT_LEVEL_PT);
	*pte = (pte0 & ~EPTE_PERM_MASK) | EPTE_WRITE | EPTE_EXEC;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	/* Execute-only without the capability, then with it. */
	*pte = (pte0 & ~EPTE_PERM_MASK) | EPTE_EXEC;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	e.allow_exec_only = true;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_OK);
	e.allow_exec_only = false;
	/* Reserved memory types 2, 3, 7. */
	const unsigned bad_types[] = { 2, 3, 7 };
	for (unsigned i = 0; i < 3; i++) {
		*pte = (pte0 & ~EPTE_MEMTYPE_MASK) | ((uint64_t)bad_types[i] << EPTE_MEMTYPE_SHIFT);
		assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
		*pde2m = (pde0 & ~EPTE_MEMTYPE_MASK) | ((uint64_t)bad_types[i] << EPTE_MEMTYPE_SHIFT);
		assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_ERR_MISCONFIG);
		assert_int_equal(w.level, EPT_LEVEL_PD);
	}
	*pte = pte0;
	*pde2m = pde0;
	/* Every valid type walks fine and is reported. */
	const unsigned good_types[] = { EPT_MEMTYPE_UC, EPT_MEMTYPE_WC, EPT_MEMTYPE_WT, EPT_MEMTYPE_WP, EPT_MEMTYPE_WB };
	for (unsigned i = 0; i < 5; i++) {
		*pte = (pte0 & ~EPTE_MEMTYPE_MASK) | ((uint64_t)good_types[i] << EPTE_MEMTYPE_SHIFT);
		assert_int_equal(ept_translate(&e, 0, &w), EPT_OK);
		assert_int_equal(w.memtype, good_types[i]);
	}
	*pte = pte0;
	/* Address bits above MAXPHYADDR (48 here: the pool's own addresses are below 2^47). */
	e.maxphyaddr = 48;
	*pte = pte0 | (1ull << 50);
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	*pte = pte0;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_OK);
	e.maxphyaddr = 0;
	/* Bits below the address of a large page: 20:12 of a 2M leaf, 29:12 of a 1G leaf. */
	*pde2m = pde0 | (1ull << 12);
	assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_ERR_MISCONFIG);
	*pde2m = pde0;
	*pdpte1g = pdpte0 | (1ull << 29);
	assert_int_equal(ept_translate(&e, 1 * GiB, &w), EPT_ERR_MISCONFIG);
	*pdpte1g = pdpte0;
	/* A 1G leaf where 1G pages are not allowed; a 2M leaf without 2M. */
	e.allow_1g = false;
	assert_int_equal(ept_translate(&e, 1 * GiB, &w), EPT_ERR_MISCONFIG);
	e.allow_1g = true;
	e.allow_2m = false;
	assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_ERR_MISCONFIG);
	e.allow_2m = true;
	/* Reserved bits 7:3 of a PML4E (large page included). */
	*pml4e = pml4e0 | EPTE_LARGE_PAGE;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	assert_int_equal(w.level, EPT_LEVEL_PML4);
	*pml4e = pml4e0 | (1ull << EPTE_MEMTYPE_SHIFT);
	assert_int_equal(ept_translate(&e, 0, &w), EPT_ERR_MISCONFIG);
	*pml4e = pml4e0;
	assert_int_equal(ept_translate(&e, 0, &w), EPT_OK);
	assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_OK);
	assert_int_equal(ept_translate(&e, 1 * GiB, &w), EPT_OK);
}

static void test_walk_details(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	assert_int_equal(ept_map(&e, 0, 0x100000000ull, 2 * MiB, EPT_READ | EPT_EXEC,
				 EPT_MEMTYPE_WT | EPT_MAP_IGNORE_PAT),
			 EPT_OK);
	struct ept_walk w;
	assert_int_equal(ept_translate(&e, 0x1234, &w), EPT_OK);
	assert_int_equal(w.hpa, 0x100001234ull);
	assert_true(w.ignore_pat);
	assert_int_equal(w.memtype, EPT_MEMTYPE_WT);
	assert_int_equal(w.perm, EPT_READ | EPT_EXEC);
	assert_false(w.accessed);
	assert_false(w.dirty);
	/* A/D flags as the CPU would set them are reported. */
	uint64_t *leaf = (uint64_t *)(uintptr_t)w.entry_hpa;
	*leaf |= EPTE_ACCESSED | EPTE_DIRTY;
	assert_int_equal(ept_translate(&e, 0x1234, &w), EPT_OK);
	assert_true(w.accessed && w.dirty);
	/* Rights are the AND of every level (SDM 29.3.3.2). */
	uint64_t *pml4e = (uint64_t *)(uintptr_t)e.pml4;
	*pml4e &= ~EPTE_EXEC;
	assert_int_equal(ept_translate(&e, 0x1234, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_READ);
	assert_int_equal(w.entry, *leaf);
}

static void test_eptp(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	/* WB (6) in bits 2:0, walk length 4 - 1 = 3 in bits 5:3: 0x1e; bit 6 A/D. */
	assert_int_equal(ept_pointer(&e, false), e.pml4 | 0x1e);
	assert_int_equal(ept_pointer(&e, true), e.pml4 | 0x5e);
	assert_int_equal(ept_pointer(&e, true) & ~0xfffull, e.pml4);
	assert_string_equal(ept_memtype_name(EPT_MEMTYPE_WB), "WB");
	assert_string_equal(ept_memtype_name(EPT_MEMTYPE_UC), "UC");
	assert_string_equal(ept_memtype_name(2), "reserved");
}

static void test_set_perm(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	map_layout(&e);
	struct ept_walk w;

	/* 4K leaves of chunk 0 and a 2M leaf of chunk 1. */
	assert_int_equal(ept_set_perm(&e, 1 * MiB, 3 * MiB, EPT_READ), EPT_OK);
	for (uint64_t g = 0; g < 6 * MiB; g += PG) {
		assert_int_equal(ept_translate(&e, g, &w), EPT_OK);
		assert_int_equal(w.perm, (g >= 1 * MiB && g < 4 * MiB) ? EPT_READ : EPT_RWX);
		assert_int_equal(w.hpa, g < 2 * MiB ? 0x40001000ull + g : 0x200200000ull + g - 2 * MiB);
		assert_int_equal(w.memtype, EPT_MEMTYPE_WB);
	}
	/* A 1G leaf as a whole. */
	assert_int_equal(ept_set_perm(&e, 1 * GiB, 1 * GiB, EPT_READ | EPT_EXEC), EPT_OK);
	assert_int_equal(ept_translate(&e, 1 * GiB + 5 * MiB, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_READ | EPT_EXEC);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_1G);

	/* Boundaries inside large leaves: refused, nothing changed. */
	assert_int_equal(ept_set_perm(&e, 3 * MiB, 2 * MiB, EPT_RWX), EPT_ERR_SPLIT);
	assert_int_equal(ept_set_perm(&e, 2 * MiB, 1 * MiB, EPT_RWX), EPT_ERR_SPLIT);
	assert_int_equal(ept_set_perm(&e, 0, 3 * MiB, EPT_RWX), EPT_ERR_SPLIT); /* ends inside the 2M leaf */
	assert_int_equal(ept_translate(&e, 0, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_RWX);
	assert_int_equal(ept_translate(&e, 1 * MiB, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_READ);
	/* A hole in the range: refused, nothing changed. */
	assert_int_equal(ept_set_perm(&e, 60 * MiB, 8 * MiB, EPT_READ), EPT_ERR_NOT_MAPPED);
	assert_int_equal(ept_translate(&e, 60 * MiB, &w), EPT_OK);
	assert_int_equal(w.perm, EPT_READ | EPT_EXEC);
	/* Bad permissions. */
	assert_int_equal(ept_set_perm(&e, 0, PG, EPT_WRITE), EPT_ERR_INVALID);
	assert_int_equal(ept_set_perm(&e, 0, PG, 0), EPT_ERR_INVALID);
	assert_int_equal(ept_set_perm(&e, 0x10, PG, EPT_READ), EPT_ERR_INVALID);
}

static void test_unmap(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	map_layout(&e);
	struct ept_walk w;

	/* Partial large leaves: refused. */
	assert_int_equal(ept_unmap(&e, 3 * MiB, 1 * MiB), EPT_ERR_SPLIT);
	assert_int_equal(ept_unmap(&e, 1 * GiB, 2 * MiB), EPT_ERR_SPLIT);
	assert_int_equal(ept_translate(&e, 3 * MiB, &w), EPT_OK);
	/* 4K leaves and whole 2M leaves, with a hole in the range. */
	assert_int_equal(ept_unmap(&e, 1 * MiB, 5 * MiB), EPT_OK);
	for (uint64_t g = 0; g < 8 * MiB; g += PG)
		assert_int_equal(ept_translate(&e, g, &w), (g >= 1 * MiB && g < 6 * MiB) ? EPT_ERR_NOT_MAPPED : EPT_OK);
	assert_int_equal(ept_unmap(&e, 100 * MiB, 4 * MiB), EPT_OK); /* a hole only */
	assert_int_equal(ept_unmap(&e, 0, 0), EPT_ERR_INVALID);

	/*
	 * Remap [2M, 4M) 2M-aligned: its PD slot is empty again, so a 2M leaf.
	 * Remap [1M, 2M): 4K leaves in the existing PT.  No new table.
	 */
	const unsigned tables = e.table_pages;
	assert_int_equal(ept_map(&e, 2 * MiB, 0x900000000ull, 2 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_translate(&e, 2 * MiB, &w), EPT_OK);
	assert_int_equal(w.page_size, EPT_PAGE_SIZE_2M);
	assert_int_equal(ept_map(&e, 1 * MiB, 0x900100000ull, 1 * MiB, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(e.table_pages, tables);
}

static void test_existing_table_forces_small_leaves(void **state)
{
	(void)state;
	struct ept e = new_ept(true, true, POOL_PAGES);
	assert_int_equal(ept_map(&e, 0, 0x100000000ull, PG, EPT_RWX, EPT_MEMTYPE_WB), EPT_OK);
	assert_int_equal(ept_unmap(&e, 0, PG), EPT_OK);
	/* The PT under PD slot 0 stays: the 2M range is mapped with 4K leaves inside it. */
	const struct chunk c = { 0, 0x200000000ull, 4 * MiB, EPT_RWX, EPT_MEMTYPE_WB };
	assert_int_equal(ept_map(&e, c.gpa, c.hpa, c.size, c.perm, c.memtype), EPT_OK);
	struct ept_walk w;
	for (uint64_t g = 0; g < c.size; g += PG) {
		assert_int_equal(ept_translate(&e, g, &w), EPT_OK);
		assert_int_equal(w.hpa, c.hpa + g);
		assert_int_equal(w.page_size, g < 2 * MiB ? EPT_PAGE_SIZE : EPT_PAGE_SIZE_2M);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_walk_every_page),
		cmocka_unit_test(test_layout_without_large_pages),
		cmocka_unit_test(test_2m_without_1g),
		cmocka_unit_test(test_1g_without_2m),
		cmocka_unit_test(test_overlap_refused),
		cmocka_unit_test(test_not_mapped),
		cmocka_unit_test(test_invalid_arguments),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_misconfiguration),
		cmocka_unit_test(test_walk_details),
		cmocka_unit_test(test_eptp),
		cmocka_unit_test(test_set_perm),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_existing_table_forces_small_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
