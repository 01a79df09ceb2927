/*
 * libFuzzer harness: the frame allocator (vmm/mm/host/pmm.c), fed by
 * memmap_normalize (vmm/mm/host/memmap.c) as the monitor does, or by a raw map.
 * Memory lies in a WINDOW_PAGES window; the harness models every page as
 * unmanaged, free or allocated.
 *
 * Input: a switch (normalise first or not), min_addr, up to MAX_RANGES map
 * ranges and MAX_EXCL exclusions, then a sequence of operations: pmm_alloc
 * (pages, alignment), pmm_free of (part of) an earlier allocation, and
 * pmm_free of an arbitrary range.
 * Properties: the managed pages are exactly the pages wholly inside a usable
 * range, at or above min_addr (and never page 0), and untouched by any
 * exclusion; pmm_alloc hands out only free managed pages, aligned as asked,
 * never one twice, and fails only when no aligned run of free pages exists
 * (first fit: the lowest such run); pmm_free succeeds exactly when every
 * page of the range is allocated; after every operation the free list is
 * sorted, disjoint, non-adjacent and equals the model's free pages, and
 * free_pages, total_pages and pmm_largest_free agree with it.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/memmap.h"
#include "vmm/pmm.h"

#define WINDOW_PAGES 1000u /* < 2 * PMM_MAX_EXTENTS: the free list can never be full */
#define WINDOW_BYTES ((uint64_t)WINDOW_PAGES * PMM_PAGE_SIZE)
#define ADDR_LIMIT   (WINDOW_BYTES * 3 / 4) /* addresses drawn below this; ends stay inside the window */
#define MAX_RANGES   24
#define MAX_EXCL     6
#define MAX_OPS      48
#define MAX_ALLOCS   64
#define MAX_ALIGN_SHIFT 10u /* alignments 4 KiB .. 4 MiB */
#define TYPES        9u

enum page_state { UNMANAGED, FREE, ALLOCATED };
static uint8_t page[WINDOW_PAGES];
static struct pmm pmm;
static struct bootinfo_mem_range map[BOOTINFO_MAX_MEM_RANGES];

static uint64_t addr_in_window(struct fuzz_input *in)
{
	/* Mostly page aligned, sometimes not. */
	const uint64_t a = fuzz_below(in, ADDR_LIMIT);
	return (a & 1) ? a : a & ~(PMM_PAGE_SIZE - 1);
}

static uint64_t up(uint64_t a) { return (a + PMM_PAGE_SIZE - 1) / PMM_PAGE_SIZE; }
static uint64_t down(uint64_t a) { return a / PMM_PAGE_SIZE; }

static void check_state(void)
{
	uint64_t free_model = 0, largest = 0, run = 0;
	for (unsigned i = 0; i < WINDOW_PAGES; i++) {
		free_model += page[i] == FREE;
		run = page[i] == FREE ? run + 1 : 0;
		largest = run > largest ? run : largest;
	}
	FUZZ_CHECK(pmm.free_pages == free_model);
	FUZZ_CHECK(pmm_largest_free(&pmm) == largest);
	uint64_t listed = 0;
	for (unsigned i = 0; i < pmm.count; i++) {
		const struct pmm_extent *x = &pmm.free[i];
		FUZZ_CHECK(x->base < x->end && x->base % PMM_PAGE_SIZE == 0 && x->end % PMM_PAGE_SIZE == 0);
		FUZZ_CHECK(x->end <= WINDOW_BYTES);
		FUZZ_CHECK(i == 0 || pmm.free[i - 1].end < x->base); /* sorted, disjoint, not touching */
		for (uint64_t p = x->base / PMM_PAGE_SIZE; p < x->end / PMM_PAGE_SIZE; p++)
			FUZZ_CHECK(page[p] == FREE);
		listed += (x->end - x->base) / PMM_PAGE_SIZE;
	}
	FUZZ_CHECK(listed == free_model);
}

/* The first run of `pages` free pages whose base is aligned to `align`, or PMM_NO_MEMORY. */
static uint64_t model_first_fit(uint64_t pages, uint64_t align)
{
	const uint64_t step = align / PMM_PAGE_SIZE;
	for (uint64_t p = 0; p + pages <= WINDOW_PAGES; p += step) {
		bool ok = true;
		for (uint64_t k = 0; k < pages && ok; k++)
			ok = page[p + k] == FREE;
		if (ok)
			return p * PMM_PAGE_SIZE;
	}
	return PMM_NO_MEMORY;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const uint8_t sw = fuzz_u8(&in);
	const uint64_t min_addr = addr_in_window(&in) / 4;
	unsigned nmap = fuzz_u8(&in) % (MAX_RANGES + 1);
	for (unsigned i = 0; i < nmap; i++) {
		const uint64_t b = addr_in_window(&in), e = addr_in_window(&in);
		map[i].base = b < e ? b : e;
		map[i].length = b < e ? e - b : b - e;
		map[i].type = fuzz_u8(&in) % 4 ? BI_MEM_USABLE : fuzz_u8(&in) % TYPES;
		map[i].reserved = 0;
	}
	struct pmm_exclusion excl[MAX_EXCL];
	const unsigned nexcl = fuzz_u8(&in) % (MAX_EXCL + 1);
	for (unsigned i = 0; i < nexcl; i++) {
		excl[i].base = addr_in_window(&in);
		excl[i].end = excl[i].base + fuzz_below(&in, WINDOW_BYTES / 8);
		excl[i].what = "fuzz";
	}
	if ((sw & 1) && memmap_normalize(map, &nmap, BOOTINFO_MAX_MEM_RANGES) != 0)
		return 0;

	/* The model of pmm_init: whole pages of each usable range, from max(min_addr, one page) up. */
	memset(page, UNMANAGED, sizeof(page));
	uint64_t floor = up(min_addr) ? up(min_addr) : 1;
	for (unsigned i = 0; i < nmap; i++) {
		if (map[i].type != BI_MEM_USABLE)
			continue;
		uint64_t b = up(map[i].base), e = down(map[i].base + map[i].length);
		for (uint64_t p = b < floor ? floor : b; p < e && p < WINDOW_PAGES; p++)
			page[p] = FREE;
	}
	for (unsigned i = 0; i < nexcl; i++)
		for (uint64_t p = excl[i].end <= excl[i].base ? WINDOW_PAGES : down(excl[i].base); p < up(excl[i].end) && p < WINDOW_PAGES; p++)
			page[p] = UNMANAGED;

	const int rc = pmm_init(&pmm, map, nmap, excl, nexcl, min_addr);
	uint64_t managed = 0;
	for (unsigned i = 0; i < WINDOW_PAGES; i++)
		managed += page[i] == FREE;
	if (rc != 0) {
		/* Only for an empty result (the window needs fewer than PMM_MAX_EXTENTS extents). */
		FUZZ_CHECK(managed == 0);
		FUZZ_CHECK(pmm_alloc(&pmm, 1, 0) == PMM_NO_MEMORY);
		return 0;
	}
	FUZZ_CHECK(pmm.total_pages == managed);
	check_state();

	struct { uint64_t base, pages; } allocs[MAX_ALLOCS];
	unsigned nallocs = 0;
	for (unsigned op = 0; op < MAX_OPS && in.size > 0; op++) {
		const uint8_t kind = fuzz_u8(&in);
		if (kind % 3 == 0) {
			const uint64_t pages = (kind & 0x80) ? fuzz_below(&in, WINDOW_PAGES) : fuzz_below(&in, 16);
			const uint64_t align = PMM_PAGE_SIZE << fuzz_below(&in, MAX_ALIGN_SHIFT + 1);
			const uint64_t expect = pages ? model_first_fit(pages, align) : PMM_NO_MEMORY;
			const uint64_t got = pmm_alloc(&pmm, pages, (kind & 0x40) ? 0 : align);
			const uint64_t expect_any = (kind & 0x40) ? (pages ? model_first_fit(pages, PMM_PAGE_SIZE) : 0)
								  : expect;
			FUZZ_CHECK(got == expect_any);
			if (got != PMM_NO_MEMORY) {
				for (uint64_t p = got / PMM_PAGE_SIZE; p < got / PMM_PAGE_SIZE + pages; p++)
					page[p] = ALLOCATED;
				if (nallocs < MAX_ALLOCS)
					allocs[nallocs++].base = got, allocs[nallocs - 1].pages = pages;
			}
		} else {
			uint64_t base, pages;
			if (kind % 3 == 1 && nallocs > 0) {
				/* (part of) an earlier allocation, maybe already freed */
				const unsigned i = (unsigned)fuzz_below(&in, nallocs);
				const uint64_t skip = fuzz_below(&in, allocs[i].pages);
				base = allocs[i].base + skip * PMM_PAGE_SIZE;
				pages = allocs[i].pages - skip - fuzz_below(&in, allocs[i].pages - skip);
			} else {
				base = addr_in_window(&in);
				pages = fuzz_below(&in, 64);
			}
			bool all_allocated = pages > 0 && base % PMM_PAGE_SIZE == 0 && base != 0;
			for (uint64_t k = 0; k < pages && all_allocated; k++) {
				const uint64_t p = base / PMM_PAGE_SIZE + k;
				all_allocated = p < WINDOW_PAGES && page[p] == ALLOCATED;
			}
			const int frc = pmm_free(&pmm, base, pages);
			if (getenv("FUZZ_VERBOSE"))
				fprintf(stderr, "free %#llx + %llu pages -> %d (model: %s; first page %s)\n",
					(unsigned long long)base, (unsigned long long)pages, frc,
					all_allocated ? "allocated" : "not allocated",
					base / PMM_PAGE_SIZE < WINDOW_PAGES ? (const char *[]){ "unmanaged", "free", "allocated" }[page[base / PMM_PAGE_SIZE]] : "outside");
			FUZZ_CHECK(frc == (all_allocated ? 0 : -1));
			if (frc == 0)
				for (uint64_t k = 0; k < pages; k++)
					page[base / PMM_PAGE_SIZE + k] = FREE;
		}
		FUZZ_CHECK(pmm.total_pages == managed);
		check_state();
	}
	return 0;
}
