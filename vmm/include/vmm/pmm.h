/*
 * Physical frame allocator.  Keeps a sorted list of free extents built from
 * the normalised memory map, minus everything that must never be handed out
 * (the first MiB, the monitor image, loader data, modules such as the guest image).
 * It never touches the memory it manages, so it is unit-tested on the host.
 */
#ifndef VMM_PMM_H
#define VMM_PMM_H

#include <stdint.h>
#include "vmm/spinlock.h"
#include "vmm/bootinfo.h"

#define PMM_PAGE_SIZE     4096ull
#define PMM_MAX_EXTENTS   512
#define PMM_NO_MEMORY     0ull   /* returned by pmm_alloc on failure */

struct pmm_extent {
	uint64_t base; /* page aligned */
	uint64_t end;  /* exclusive, page aligned */
};

/* A range the allocator must never hand out, with a name for the report. */
struct pmm_exclusion {
	uint64_t base;
	uint64_t end;  /* exclusive; need not be aligned (it is widened to pages) */
	const char *what;
};

struct pmm {
	struct pmm_extent free[PMM_MAX_EXTENTS]; /* sorted by base, disjoint, non-adjacent */
	unsigned count;
	/* The free list as pmm_init left it: the only frames pmm_free takes back. */
	struct pmm_extent managed[PMM_MAX_EXTENTS];
	unsigned managed_count;
	uint64_t total_pages; /* managed at init */
	uint64_t free_pages;
	struct spinlock lock; /* every CPU allocates from the one allocator */
};

/*
 * Build the allocator from a normalised map: every BI_MEM_USABLE range at or
 * above `min_addr`, minus the exclusions.  Returns 0, or -1 when no usable page
 * remains (the caller reports "no usable RAM above 1 MiB").
 */
int pmm_init(struct pmm *p, const struct bootinfo_mem_range *map, unsigned count,
	     const struct pmm_exclusion *excl, unsigned nexcl, uint64_t min_addr);

/*
 * Allocate `pages` contiguous 4 KiB frames whose base is aligned to `align`
 * bytes (a power of two >= 4096; 0 means 4096).  First fit from the lowest
 * address.  Returns the physical base, or PMM_NO_MEMORY.
 */
uint64_t pmm_alloc(struct pmm *p, uint64_t pages, uint64_t align);

/*
 * Return frames to the allocator, coalescing with neighbours.  Returns 0, or
 * -1 (and changes nothing) if any part of the range is already free or was never managed
 * (outside the usable memory pmm_init took, or in an exclusion such as the monitor image).
 */
int pmm_free(struct pmm *p, uint64_t base, uint64_t pages);

/* Size in pages of the largest free extent. */
uint64_t pmm_largest_free(const struct pmm *p);

#endif
